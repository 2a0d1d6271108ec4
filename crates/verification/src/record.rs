//! Reading facts out of a subject record (docs/subjects.md) and writing
//! them back with their provenance.

use cordon_subject::VerificationLevel;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::fact::{Attribute, Fact};

/// The provenance fields a value can carry in a subject record.
const PROVENANCE: [&str; 4] = ["verification", "source", "verified_at", "expires"];

/// The provenance a record gives its bare values.
#[derive(Debug, Clone, Default)]
struct Defaults {
    level: VerificationLevel,
    source: Option<String>,
    verified_at: Option<Timestamp>,
    expires: Option<Timestamp>,
}

impl Defaults {
    /// The top-level provenance of `record`, overridden by `obj`'s own.
    fn with(&self, obj: &Map<String, Value>) -> Defaults {
        let mut d = self.clone();
        if let Some(l) = obj
            .get("verification")
            .and_then(Value::as_str)
            .and_then(VerificationLevel::parse)
        {
            d.level = l;
        }
        if let Some(s) = obj.get("source").and_then(Value::as_str) {
            d.source = Some(s.to_owned());
        }
        if let Some(t) = time(obj.get("verified_at")) {
            d.verified_at = Some(t);
        }
        if let Some(t) = time(obj.get("expires")) {
            d.expires = Some(t);
        }
        d
    }
}

fn time(v: Option<&Value>) -> Option<Timestamp> {
    v.and_then(Value::as_str).and_then(|s| s.parse().ok())
}

/// A fact read from a record, with the source the record names for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordFact {
    /// The fact.
    pub fact: Fact,
    /// The `source` the record gives it, if any.
    pub source: Option<String>,
}

/// The facts a subject record states, one per attribute present.
///
/// A list takes the lowest level and the earliest expiry among its
/// elements (it is only as good as its weakest element), and its latest
/// verification time. The record must already be valid
/// ([`cordon_subject::SubjectRecord::into_subject`]); fields that do not
/// read are skipped.
pub fn facts(record: &Value) -> Vec<RecordFact> {
    let Some(obj) = record.as_object() else {
        return Vec::new();
    };
    let top = Defaults::default().with(obj);
    let mut out = Vec::new();
    for attribute in Attribute::ALL {
        let Some(v) = obj.get(attribute.field()) else {
            continue;
        };
        let read = match attribute {
            Attribute::Citizenships | Attribute::PermanentResidencies => list(v, &top),
            Attribute::ResidenceCountry => scalar(v, "country", &top),
            Attribute::ResidenceRegion => scalar(v, "region", &top),
            Attribute::ProtectedIndividual
            | Attribute::UsPerson
            | Attribute::Name
            | Attribute::BirthYear => scalar(v, "value", &top),
            Attribute::Organization => organization(v, &top),
        };
        if let Some((value, d)) = read {
            out.push(RecordFact {
                fact: Fact {
                    verified_at: d.verified_at,
                    expires_at: d.expires,
                    ..Fact::new(attribute, value, d.level)
                },
                source: d.source,
            });
        }
    }
    out
}

/// A scalar, bare or as `{key: value, …provenance}`.
fn scalar(v: &Value, key: &str, top: &Defaults) -> Option<(Value, Defaults)> {
    match v {
        Value::Object(o) => Some((o.get(key)?.clone(), top.with(o))),
        Value::Null => None,
        bare => Some((bare.clone(), top.clone())),
    }
}

fn list(v: &Value, top: &Defaults) -> Option<(Value, Defaults)> {
    let items = v.as_array()?;
    let mut values = Vec::with_capacity(items.len());
    let mut worst: Option<Defaults> = None;
    for item in items {
        let (value, d) = scalar(item, "country", top)?;
        let code = value.as_str()?.to_ascii_uppercase();
        values.push(Value::String(code));
        worst = Some(match worst {
            None => d,
            Some(w) => Defaults {
                level: w.level.min(d.level),
                source: w.source.or(d.source),
                verified_at: w.verified_at.max(d.verified_at),
                expires: match (w.expires, d.expires) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            },
        });
    }
    Some((Value::Array(values), worst.unwrap_or_else(|| top.clone())))
}

fn organization(v: &Value, top: &Defaults) -> Option<(Value, Defaults)> {
    let o = v.as_object()?;
    let d = top.with(o);
    let value: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| !PROVENANCE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some((Value::Object(value), d))
}

/// The provenance written beside a value.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The level.
    pub level: VerificationLevel,
    /// The source's name.
    pub source: Option<String>,
    /// When it was verified.
    pub verified_at: Option<Timestamp>,
    /// When it lapses.
    pub expires: Option<Timestamp>,
}

impl Written {
    fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "verification".into(),
            Value::String(self.level.as_str().into()),
        );
        if let Some(s) = &self.source {
            m.insert("source".into(), Value::String(s.clone()));
        }
        if let Some(t) = self.verified_at {
            m.insert("verified_at".into(), Value::String(t.to_string()));
        }
        if let Some(t) = self.expires {
            m.insert("expires".into(), Value::String(t.to_string()));
        }
        m
    }
}

/// `value` in the object form the subject record gives `attribute`, with
/// its own provenance. List elements are `(value, provenance)` pairs.
pub fn write(attribute: Attribute, value: &Value, provenance: &Written) -> Value {
    let wrap = |key: &str, v: &Value, p: &Written| {
        let mut m = p.fields();
        m.insert(key.into(), v.clone());
        Value::Object(m)
    };
    match attribute {
        Attribute::Citizenships | Attribute::PermanentResidencies => Value::Array(
            value
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|c| wrap("country", c, provenance))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Attribute::ResidenceCountry => wrap("country", value, provenance),
        Attribute::ResidenceRegion => wrap("region", value, provenance),
        Attribute::Organization => {
            let mut m = value.as_object().cloned().unwrap_or_default();
            m.extend(provenance.fields());
            Value::Object(m)
        }
        Attribute::ProtectedIndividual
        | Attribute::UsPerson
        | Attribute::Name
        | Attribute::BirthYear => wrap("value", value, provenance),
    }
}

/// A list attribute whose elements come from different sources, each with
/// its own provenance.
pub fn write_list(items: &[(Value, Written)]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|(c, p)| {
                let mut m = p.fields();
                m.insert("country".into(), c.clone());
                Value::Object(m)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_values_take_the_top_level_provenance_and_objects_their_own() {
        let r = json!({
            "verification": "self_declared", "source": "form",
            "citizenships": ["de", {"country": "US", "verification": "attested"}],
            "residence_country": {"country": "FR", "verification": "document_verified"},
            "us_person": false,
        });
        let f = facts(&r);
        let by = |a| f.iter().find(|x| x.fact.attribute == a).unwrap();
        let c = by(Attribute::Citizenships);
        assert_eq!(c.fact.value, json!(["DE", "US"]));
        // A list is only as good as its weakest element.
        assert_eq!(c.fact.level, VerificationLevel::SelfDeclared);
        let r = by(Attribute::ResidenceCountry);
        assert_eq!(
            (r.fact.value.clone(), r.fact.level),
            (json!("FR"), VerificationLevel::DocumentVerified)
        );
        assert_eq!(r.source.as_deref(), Some("form"));
        assert_eq!(by(Attribute::UsPerson).fact.value, json!(false));
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn written_values_read_back_as_the_same_facts() {
        let p = Written {
            level: VerificationLevel::DocumentVerified,
            source: Some("kyc".into()),
            verified_at: Some("2026-12-01T00:00:00Z".parse().unwrap()),
            expires: Some("2027-12-01T00:00:00Z".parse().unwrap()),
        };
        let cases = [
            (Attribute::Citizenships, json!(["US", "DE"])),
            (Attribute::ResidenceRegion, json!("UA-43")),
            (Attribute::UsPerson, json!(true)),
            (
                Attribute::Organization,
                json!({"name": "Acme", "country": "US"}),
            ),
        ];
        for (a, v) in cases {
            let record = json!({ a.field(): write(a, &v, &p) });
            let back = facts(&record);
            assert_eq!(back.len(), 1, "{record}");
            assert_eq!(back[0].fact.value, v);
            assert_eq!(back[0].fact.level, p.level);
            assert_eq!(back[0].fact.expires_at, p.expires);
            assert_eq!(back[0].source.as_deref(), Some("kyc"));
        }
    }
}
