//! The JSON form of a subject, as `cordon decide --subject` and imports read it.
//!
//! Every field is optional; a missing field is an unknown attribute, never an
//! error. A value can be bare (`"DE"`) — it then takes the record's top-level
//! `verification` and `source` — or an object carrying its own provenance
//! (`{"country": "DE", "verification": "document_verified", "verified_at": …}`).
//! The full schema is in `docs/subjects.md`.

use cordon_jurisdiction::{CountryCode, Jurisdictions, RegionCode};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::{
    Attested, Organization, Provenance, ScreeningHit, Subject, SubjectKind, VerificationLevel,
};

/// A subject as written in JSON; see the module docs.
#[derive(Debug, Clone)]
pub struct SubjectRecord(Value);

/// A problem in a subject record, naming the field by its path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The text is not JSON.
    #[error("subject is not valid JSON: {0}")]
    Syntax(String),
    /// A field has the wrong shape or value.
    #[error("subject field `{field}`: {message}")]
    Field {
        /// JSON path of the field, e.g. `citizenships[1].country`.
        field: String,
        /// What was wrong and what was expected.
        message: String,
    },
}

const TOP_FIELDS: &[&str] = &[
    "id",
    "kind",
    "verification",
    "source",
    "verified_at",
    "expires",
    "citizenships",
    "permanent_residencies",
    "residence_country",
    "residence_region",
    "protected_individual",
    "us_person",
    "organization",
    "screening",
];
const PROVENANCE_FIELDS: &[&str] = &["verification", "source", "verified_at", "expires"];

fn err(field: &str, message: impl Into<String>) -> RecordError {
    RecordError::Field {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl SubjectRecord {
    /// Parses JSON text.
    ///
    /// # Errors
    /// Returns [`RecordError::Syntax`] with serde_json's line and column.
    pub fn from_json(text: &str) -> Result<Self, RecordError> {
        serde_json::from_str(text)
            .map(SubjectRecord)
            .map_err(|e| RecordError::Syntax(e.to_string()))
    }

    /// Wraps an already-parsed JSON value.
    pub fn from_value(v: Value) -> Self {
        SubjectRecord(v)
    }

    /// Checks every field and builds the [`Subject`].
    ///
    /// # Errors
    /// Returns the first bad field: unknown field names, wrong types, unassigned
    /// country or region codes, unknown verification levels or lists, bad times.
    pub fn into_subject(self, j: &Jurisdictions) -> Result<Subject, RecordError> {
        let Value::Object(top) = self.0 else {
            return Err(err(
                "$",
                format!("expected an object, found {}", kind_of(&self.0)),
            ));
        };
        reject_unknown("", &top, TOP_FIELDS)?;
        let defaults = provenance("", &top, &Provenance::default())?;
        let mut s = Subject {
            verification: defaults.level,
            ..Subject::default()
        };
        if let Some(v) = top.get("id") {
            s.id = Some(string("id", v)?.to_owned());
        }
        if let Some(v) = top.get("kind") {
            s.kind = match string("kind", v)? {
                "individual" => SubjectKind::Individual,
                "organization" | "organisation" => SubjectKind::Organization,
                other => {
                    return Err(err(
                        "kind",
                        format!("unknown kind `{other}`, expected `individual` or `organization`"),
                    ));
                }
            };
        }
        s.citizenships = country_list("citizenships", top.get("citizenships"), &defaults, j)?;
        s.permanent_residencies = country_list(
            "permanent_residencies",
            top.get("permanent_residencies"),
            &defaults,
            j,
        )?;
        if let Some(v) = top.get("residence_country") {
            s.residence_country = Some(attested_country(
                "residence_country",
                v,
                "country",
                &defaults,
                j,
            )?);
        }
        if let Some(v) = top.get("residence_region") {
            s.residence_region = Some(attested(
                "residence_region",
                v,
                "region",
                &defaults,
                |f, v| region(f, v, j),
            )?);
        }
        if let Some(v) = top.get("protected_individual") {
            s.protected_individual = Some(attested(
                "protected_individual",
                v,
                "value",
                &defaults,
                boolean,
            )?);
        }
        if let Some(v) = top.get("us_person") {
            s.us_person = Some(attested("us_person", v, "value", &defaults, boolean)?);
        }
        if let Some(v) = top.get("organization") {
            s.organization = Some(organization(v, &defaults, j)?);
        }
        if let Some(v) = top.get("screening") {
            s.screening = serde_json::from_value::<Vec<ScreeningHit>>(v.clone()).map_err(|e| {
                err(
                    "screening",
                    format!("{e} (expected a list of {{\"list\", \"status\", \"entry\"}})"),
                )
            })?;
        }
        if let (Some(r), Some(c)) = (&s.residence_region, &s.residence_country) {
            if r.value.country() != c.value {
                return Err(err(
                    "residence_region",
                    format!(
                        "region `{}` is not in the residence country `{}`",
                        r.value, c.value
                    ),
                ));
            }
        }
        Ok(s)
    }
}

fn reject_unknown(
    path: &str,
    map: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), RecordError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(err(
            &format!("{path}{}{k}", if path.is_empty() { "" } else { "." }),
            format!("unknown field, expected one of: {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn string<'v>(field: &str, v: &'v Value) -> Result<&'v str, RecordError> {
    v.as_str()
        .ok_or_else(|| err(field, format!("expected a string, found {}", kind_of(v))))
}

fn boolean(field: &str, v: &Value) -> Result<bool, RecordError> {
    v.as_bool().ok_or_else(|| {
        err(
            field,
            format!("expected true or false, found {}", kind_of(v)),
        )
    })
}

fn country(field: &str, v: &Value, j: &Jurisdictions) -> Result<CountryCode, RecordError> {
    let s = string(field, v)?;
    let c = CountryCode::parse(s).map_err(|e| err(field, e.to_string()))?;
    if j.is_country(c) {
        Ok(c)
    } else {
        Err(err(
            field,
            format!("`{c}` is not an assigned ISO 3166-1 country code"),
        ))
    }
}

fn region(field: &str, v: &Value, j: &Jurisdictions) -> Result<RegionCode, RecordError> {
    let s = string(field, v)?;
    let r = RegionCode::parse(s).map_err(|e| err(field, e.to_string()))?;
    if j.is_region(r) {
        Ok(r)
    } else {
        Err(err(
            field,
            format!("`{r}` is not a known ISO 3166-2 region code"),
        ))
    }
}

fn timestamp(field: &str, v: &Value) -> Result<Timestamp, RecordError> {
    let s = string(field, v)?;
    s.parse()
        .map_err(|e| err(field, format!("`{s}` is not an RFC 3339 time ({e})")))
}

/// Reads `verification`, `source`, `verified_at`, `expires` from an object, over defaults.
fn provenance(
    path: &str,
    map: &Map<String, Value>,
    defaults: &Provenance,
) -> Result<Provenance, RecordError> {
    let f = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    let mut p = defaults.clone();
    if let Some(v) = map.get("verification") {
        let s = string(&f("verification"), v)?;
        p.level = VerificationLevel::parse(s).ok_or_else(|| {
            err(
                &f("verification"),
                format!("unknown level `{s}`, expected one of: none, self_declared, document_verified, attested"),
            )
        })?;
    }
    if let Some(v) = map.get("source") {
        p.source = Some(string(&f("source"), v)?.to_owned());
    }
    if let Some(v) = map.get("verified_at") {
        p.verified_at = Some(timestamp(&f("verified_at"), v)?);
    }
    if let Some(v) = map.get("expires") {
        p.expires = Some(timestamp(&f("expires"), v)?);
    }
    Ok(p)
}

/// A bare value, or an object with `key` and provenance fields.
fn attested<T>(
    path: &str,
    v: &Value,
    key: &str,
    defaults: &Provenance,
    read: impl Fn(&str, &Value) -> Result<T, RecordError>,
) -> Result<Attested<T>, RecordError> {
    match v {
        Value::Object(map) => {
            let mut allowed = vec![key];
            allowed.extend_from_slice(PROVENANCE_FIELDS);
            reject_unknown(path, map, &allowed)?;
            let field = format!("{path}.{key}");
            let inner = map.get(key).ok_or_else(|| err(&field, "missing"))?;
            Ok(Attested {
                value: read(&field, inner)?,
                provenance: provenance(path, map, defaults)?,
            })
        }
        other => Ok(Attested {
            value: read(path, other)?,
            provenance: defaults.clone(),
        }),
    }
}

fn attested_country(
    path: &str,
    v: &Value,
    key: &str,
    defaults: &Provenance,
    j: &Jurisdictions,
) -> Result<Attested<CountryCode>, RecordError> {
    attested(path, v, key, defaults, |f, v| country(f, v, j))
}

fn country_list(
    path: &str,
    v: Option<&Value>,
    defaults: &Provenance,
    j: &Jurisdictions,
) -> Result<Option<Vec<Attested<CountryCode>>>, RecordError> {
    let Some(v) = v else { return Ok(None) };
    let Value::Array(items) = v else {
        return Err(err(
            path,
            format!("expected a list of country codes, found {}", kind_of(v)),
        ));
    };
    let mut out: Vec<Attested<CountryCode>> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let a = attested_country(&format!("{path}[{i}]"), item, "country", defaults, j)?;
        if out.iter().any(|o| o.value == a.value) {
            return Err(err(
                &format!("{path}[{i}]"),
                format!("`{}` is listed twice", a.value),
            ));
        }
        out.push(a);
    }
    Ok(Some(out))
}

fn organization(
    v: &Value,
    defaults: &Provenance,
    j: &Jurisdictions,
) -> Result<Organization, RecordError> {
    let Value::Object(map) = v else {
        return Err(err(
            "organization",
            format!("expected an object with `name`, found {}", kind_of(v)),
        ));
    };
    let mut allowed = vec!["name", "country"];
    allowed.extend_from_slice(PROVENANCE_FIELDS);
    reject_unknown("organization", map, &allowed)?;
    let p = provenance("organization", map, defaults)?;
    let name = map
        .get("name")
        .ok_or_else(|| err("organization.name", "missing"))?;
    let name = string("organization.name", name)?.trim();
    if name.is_empty() {
        return Err(err("organization.name", "is empty"));
    }
    let country = match map.get("country") {
        Some(c) => Some(Attested {
            value: country("organization.country", c, j)?,
            provenance: p.clone(),
        }),
        None => None,
    };
    Ok(Organization {
        name: Attested {
            value: name.to_owned(),
            provenance: p,
        },
        country,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RestrictedList, ScreeningStatus, Truth};

    fn parse(text: &str) -> Result<Subject, RecordError> {
        SubjectRecord::from_json(text)?.into_subject(Jurisdictions::embedded().unwrap())
    }

    #[test]
    fn bare_values_take_the_record_level_and_objects_their_own() {
        let s = parse(
            r#"{"verification": "self_declared", "source": "signup",
                "citizenships": ["de", {"country": "US", "verification": "document_verified", "verified_at": "2026-01-02T00:00:00Z"}],
                "screening": [{"list": "SDN", "status": "pending", "entry": "36"}]}"#,
        )
        .unwrap();
        let c = s.citizenships.as_ref().unwrap();
        assert_eq!(c[0].value.as_str(), "DE");
        assert_eq!(c[0].provenance.level, VerificationLevel::SelfDeclared);
        assert_eq!(c[0].provenance.source.as_deref(), Some("signup"));
        assert_eq!(c[1].provenance.level, VerificationLevel::DocumentVerified);
        assert_eq!(
            s.screening_mask(ScreeningStatus::Pending),
            RestrictedList::Sdn.bit()
        );
        let at = "2026-11-27T00:00:00Z".parse().unwrap();
        assert_eq!(
            s.us_person(VerificationLevel::DocumentVerified, at).truth,
            Truth::True
        );
    }

    #[test]
    fn missing_fields_are_unknown_not_errors() {
        let s = parse("{}").unwrap();
        assert!(s.citizenships.is_none() && s.residence_country.is_none());
    }

    #[test]
    fn bad_fields_are_named_by_path() {
        let cases = [
            (
                r#"{"citizenships": ["DE", "XZ"]}"#,
                "citizenships[1]",
                "`XZ`",
            ),
            (r#"{"citizenships": "DE"}"#, "citizenships", "list"),
            (r#"{"citizenship": ["DE"]}"#, "citizenship", "unknown field"),
            (
                r#"{"verification": "passport"}"#,
                "verification",
                "`passport`",
            ),
            (
                r#"{"residence_region": "UA-99"}"#,
                "residence_region",
                "`UA-99`",
            ),
            (
                r#"{"residence_country": "RU", "residence_region": "UA-43"}"#,
                "residence_region",
                "not in",
            ),
            (
                r#"{"organization": {"nam": "x"}}"#,
                "organization.nam",
                "unknown field",
            ),
            (
                r#"{"screening": [{"list": "XYZ", "status": "pending"}]}"#,
                "screening",
                "`XYZ`",
            ),
            (
                r#"{"us_person": {"value": "yes"}}"#,
                "us_person.value",
                "true or false",
            ),
            (
                r#"{"citizenships": [{"country": "DE", "expires": "tomorrow"}]}"#,
                "citizenships[0].expires",
                "RFC 3339",
            ),
            (
                r#"{"citizenships": ["DE", "de"]}"#,
                "citizenships[1]",
                "twice",
            ),
        ];
        for (text, field, needle) in cases {
            match parse(text) {
                Err(RecordError::Field { field: f, message }) => {
                    assert_eq!(f, field, "{text}");
                    assert!(message.contains(needle), "{text}: {message}");
                }
                other => panic!("{text}: expected a field error, got {other:?}"),
            }
        }
        assert!(matches!(parse("{\"a\": "), Err(RecordError::Syntax(_))));
        assert!(matches!(parse("[]"), Err(RecordError::Field { .. })));
    }
}
