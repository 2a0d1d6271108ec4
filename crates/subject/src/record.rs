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

use crate::subject::{Owner, Percent};
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
    "name",
    "birth_year",
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
    "billing_country",
    "billing_region",
    "organization",
    "screening",
    "screened",
    "licences",
];
const PROVENANCE_FIELDS: &[&str] = &["verification", "source", "verified_at", "expires"];
const OWNER_FIELDS: &[&str] = &["name", "percent", "account", "country", "kind"];

/// Earliest and latest `birth_year` accepted: outside these a year is a typo.
const BIRTH_YEARS: std::ops::RangeInclusive<u16> = 1880..=2100;

/// Slack for owner shares that sum to 100 in decimal but not in binary
/// floating point (`33.4 + 33.3 + 33.3`).
const PERCENT_SLACK: f64 = 1e-9;

pub(crate) fn err(field: &str, message: impl Into<String>) -> RecordError {
    RecordError::Field {
        field: field.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
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
            s.kind = subject_kind("kind", v)?;
        }
        if let Some(v) = top.get("name") {
            s.name = Some(attested("name", v, "value", &defaults, name)?);
        }
        if let Some(v) = top.get("birth_year") {
            s.birth_year = Some(attested("birth_year", v, "value", &defaults, birth_year)?);
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
        if let Some(v) = top.get("billing_country") {
            s.billing_country = Some(attested_country(
                "billing_country",
                v,
                "country",
                &defaults,
                j,
            )?);
        }
        if let Some(v) = top.get("billing_region") {
            s.billing_region = Some(attested(
                "billing_region",
                v,
                "region",
                &defaults,
                |f, v| region(f, v, j),
            )?);
        }
        if let (Some(r), Some(c)) = (&s.billing_region, &s.billing_country)
            && r.value.country() != c.value
        {
            return Err(err(
                "billing_region",
                format!(
                    "region `{}` is not in the billing country `{}`",
                    r.value, c.value
                ),
            ));
        }
        if let Some(v) = top.get("us_person") {
            s.us_person = Some(attested("us_person", v, "value", &defaults, boolean)?);
        }
        if let Some(v) = top.get("organization") {
            s.organization = Some(organization(v, &defaults, j)?);
        }
        // As for `permanent_residencies`: a list (even empty) is a screening
        // result, a missing field is unknown (never screened).
        if let Some(v) = top.get("screening") {
            s.screening = Some(
                serde_json::from_value::<Vec<ScreeningHit>>(v.clone()).map_err(|e| {
                    err(
                        "screening",
                        format!("{e} (expected a list of {{\"list\", \"status\", \"entry\"}})"),
                    )
                })?,
            );
        }
        if let Some(v) = top.get("screened") {
            s.screened = Some(
                serde_json::from_value::<crate::Screened>(v.clone()).map_err(|e| {
                    err(
                        "screened",
                        format!("{e} (expected {{\"snapshot\", \"at\"}})"),
                    )
                })?,
            );
        }
        if let Some(v) = top.get("licences") {
            s.licences = crate::licence::licences(v, j)?;
        }
        if let (Some(r), Some(c)) = (&s.residence_region, &s.residence_country)
            && r.value.country() != c.value
        {
            return Err(err(
                "residence_region",
                format!(
                    "region `{}` is not in the residence country `{}`",
                    r.value, c.value
                ),
            ));
        }
        Ok(s)
    }
}

pub(crate) fn reject_unknown(
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

pub(crate) fn string<'v>(field: &str, v: &'v Value) -> Result<&'v str, RecordError> {
    v.as_str()
        .ok_or_else(|| err(field, format!("expected a string, found {}", kind_of(v))))
}

fn subject_kind(field: &str, v: &Value) -> Result<SubjectKind, RecordError> {
    match string(field, v)? {
        "individual" => Ok(SubjectKind::Individual),
        "organization" | "organisation" => Ok(SubjectKind::Organization),
        other => Err(err(
            field,
            format!("unknown kind `{other}`, expected `individual` or `organization`"),
        )),
    }
}

/// A non-empty name, trimmed.
fn name(field: &str, v: &Value) -> Result<String, RecordError> {
    let s = string(field, v)?.trim();
    if s.is_empty() {
        return Err(err(field, "is empty"));
    }
    Ok(s.to_owned())
}

fn birth_year(field: &str, v: &Value) -> Result<u16, RecordError> {
    let year = v
        .as_u64()
        .and_then(|y| u16::try_from(y).ok())
        .filter(|y| BIRTH_YEARS.contains(y));
    year.ok_or_else(|| {
        err(
            field,
            format!(
                "expected a year from {} to {}, found {v}",
                BIRTH_YEARS.start(),
                BIRTH_YEARS.end()
            ),
        )
    })
}

fn boolean(field: &str, v: &Value) -> Result<bool, RecordError> {
    v.as_bool().ok_or_else(|| {
        err(
            field,
            format!("expected true or false, found {}", kind_of(v)),
        )
    })
}

pub(crate) fn country(
    field: &str,
    v: &Value,
    j: &Jurisdictions,
) -> Result<CountryCode, RecordError> {
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

pub(crate) fn timestamp(field: &str, v: &Value) -> Result<Timestamp, RecordError> {
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
    let mut allowed = vec![
        "name",
        "country",
        "region",
        "headquarters",
        "headquarters_region",
        "governments",
        "owners",
    ];
    allowed.extend_from_slice(PROVENANCE_FIELDS);
    reject_unknown("organization", map, &allowed)?;
    let p = provenance("organization", map, defaults)?;
    let org_name = map
        .get("name")
        .ok_or_else(|| err("organization.name", "missing"))?;
    let org_name = name("organization.name", org_name)?;
    let country = match map.get("country") {
        Some(c) => Some(Attested {
            value: country("organization.country", c, j)?,
            provenance: p.clone(),
        }),
        None => None,
    };
    // The organisation's own places share its provenance, as `country` does.
    let region_of = |k: &str| {
        map.get(k)
            .map(|v| {
                region(&format!("organization.{k}"), v, j).map(|value| Attested {
                    value,
                    provenance: p.clone(),
                })
            })
            .transpose()
    };
    let region_registered = region_of("region")?;
    let headquarters_region = region_of("headquarters_region")?;
    let headquarters = map
        .get("headquarters")
        .map(|v| {
            self::country("organization.headquarters", v, j).map(|value| Attested {
                value,
                provenance: p.clone(),
            })
        })
        .transpose()?;
    if let (Some(r), Some(c)) = (&headquarters_region, &headquarters)
        && r.value.country() != c.value
    {
        return Err(err(
            "organization.headquarters_region",
            format!(
                "region `{}` is not in the headquarters country `{}`",
                r.value, c.value
            ),
        ));
    }
    let governments = country_list("organization.governments", map.get("governments"), &p, j)?;
    let owners = match map.get("owners") {
        Some(v) => owners(v, j)?,
        None => Vec::new(),
    };
    Ok(Organization {
        name: Attested {
            value: org_name,
            provenance: p,
        },
        country,
        region: region_registered,
        headquarters,
        headquarters_region,
        governments,
        owners,
    })
}

/// `organization.owners`: each owner checked, no account twice, shares at most 100 in all.
fn owners(v: &Value, j: &Jurisdictions) -> Result<Vec<Owner>, RecordError> {
    const PATH: &str = "organization.owners";
    let Value::Array(items) = v else {
        return Err(err(
            PATH,
            format!(
                "expected a list of {{\"name\", \"percent\"}} objects, found {}",
                kind_of(v)
            ),
        ));
    };
    let mut out: Vec<Owner> = Vec::with_capacity(items.len());
    let mut total = 0.0;
    for (i, item) in items.iter().enumerate() {
        let path = format!("{PATH}[{i}]");
        let o = owner(&path, item, j)?;
        if let Some(a) = &o.account
            && out.iter().any(|x| x.account.as_ref() == Some(a))
        {
            return Err(err(
                &format!("{path}.account"),
                format!("account `{a}` is listed twice"),
            ));
        }
        total += o.percent.get();
        out.push(o);
    }
    if total > 100.0 + PERCENT_SLACK {
        return Err(err(
            PATH,
            format!(
                "the owners' percentages sum to {}, more than 100",
                (total * 1e6).round() / 1e6
            ),
        ));
    }
    Ok(out)
}

fn owner(path: &str, v: &Value, j: &Jurisdictions) -> Result<Owner, RecordError> {
    let Value::Object(map) = v else {
        return Err(err(
            path,
            format!(
                "expected an object with `name` and `percent`, found {}",
                kind_of(v)
            ),
        ));
    };
    reject_unknown(path, map, OWNER_FIELDS)?;
    let field = |k: &str| format!("{path}.{k}");
    let owner_name = map
        .get("name")
        .ok_or_else(|| err(&field("name"), "missing"))?;
    let percent = map
        .get("percent")
        .ok_or_else(|| err(&field("percent"), "missing"))?;
    let percent = percent.as_f64().and_then(Percent::new).ok_or_else(|| {
        err(
            &field("percent"),
            format!("expected a number above 0 and at most 100, found {percent}"),
        )
    })?;
    let account = match map.get("account") {
        Some(a) => Some(name(&field("account"), a)?),
        None => None,
    };
    Ok(Owner {
        name: name(&field("name"), owner_name)?,
        percent,
        account,
        country: map
            .get("country")
            .map(|c| country(&field("country"), c, j))
            .transpose()?,
        kind: map
            .get("kind")
            .map(|k| subject_kind(&field("kind"), k))
            .transpose()?,
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
            s.screening_mask(ScreeningStatus::Pending, jiff::Timestamp::UNIX_EPOCH),
            RestrictedList::Sdn.bit()
        );
        let at = "2026-11-27T00:00:00Z".parse().unwrap();
        assert_eq!(
            s.us_person(VerificationLevel::DocumentVerified, at).truth,
            Truth::True
        );
    }

    #[test]
    fn names_birth_years_and_owners_are_read() {
        let s = parse(
            r#"{"kind": "organization", "verification": "attested",
                "organization": {"name": " Acme Trading ", "country": "CY", "owners": [
                    {"name": "BANK ROSSIYA", "percent": 30, "country": "ru"},
                    {"name": "Acme Holdings", "percent": 33.4, "account": "acme-holdings"},
                    {"name": "Ivan Petrov", "percent": 36.6, "kind": "individual"}]}}"#,
        )
        .unwrap();
        assert_eq!(s.legal_name(), Some("Acme Trading"));
        let owners = &s.organization.as_ref().unwrap().owners;
        assert_eq!(owners.len(), 3);
        assert_eq!(owners[0].percent.get(), 30.0);
        assert_eq!(
            owners[0].country.map(|c| c.to_string()).as_deref(),
            Some("RU")
        );
        assert_eq!(owners[1].account.as_deref(), Some("acme-holdings"));
        assert_eq!(owners[1].kind, None);
        assert_eq!(owners[2].kind, Some(SubjectKind::Individual));

        let p = parse(
            r#"{"name": {"value": "Jane Q. Doe", "verification": "document_verified"},
                "birth_year": 1971, "organization": {"name": "Northwind Labs"}}"#,
        )
        .unwrap();
        assert_eq!(p.legal_name(), Some("Jane Q. Doe"));
        let name = p.name.as_ref().unwrap();
        assert_eq!(name.provenance.level, VerificationLevel::DocumentVerified);
        assert_eq!(p.birth_year.as_ref().map(|y| y.value), Some(1971));
        // An individual's organisation is an employer, not the person's name.
        let employee = parse(r#"{"organization": {"name": "Northwind Labs"}}"#).unwrap();
        assert_eq!(employee.legal_name(), None);
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
            (r#"{"name": "  "}"#, "name", "empty"),
            (r#"{"name": {"value": 7}}"#, "name.value", "string"),
            (r#"{"birth_year": 1850}"#, "birth_year", "1880 to 2100"),
            (r#"{"birth_year": 1970.5}"#, "birth_year", "1970.5"),
            (r#"{"birth_year": "1970"}"#, "birth_year", "a year"),
            (
                r#"{"organization": {"name": "A", "owners": {"name": "B"}}}"#,
                "organization.owners",
                "list",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B"}]}}"#,
                "organization.owners[0].percent",
                "missing",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"percent": 10}]}}"#,
                "organization.owners[0].name",
                "missing",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": 10}, {"name": "C", "percent": 0}]}}"#,
                "organization.owners[1].percent",
                "above 0",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": 100.5}]}}"#,
                "organization.owners[0].percent",
                "at most 100",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": "50%"}]}}"#,
                "organization.owners[0].percent",
                "number",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": 60}, {"name": "C", "percent": 40.5}]}}"#,
                "organization.owners",
                "sum to 100.5",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": 5, "country": "XZ"}]}}"#,
                "organization.owners[0].country",
                "`XZ`",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": 5, "kind": "trust"}]}}"#,
                "organization.owners[0].kind",
                "`trust`",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": 5, "share": 5}]}}"#,
                "organization.owners[0].share",
                "unknown field",
            ),
            (
                r#"{"organization": {"name": "A", "owners": [{"name": "B", "percent": 5, "account": "b"}, {"name": "B2", "percent": 5, "account": "b"}]}}"#,
                "organization.owners[1].account",
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
