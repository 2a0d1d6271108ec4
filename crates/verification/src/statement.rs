//! Statements a party makes for itself: a customer's self-declaration, and
//! an organisation's attestation about its members.
//!
//! Both name the version of the statement the party agreed to (its text is
//! the operator's, versioned so that what was declared can be read later),
//! state facts in the subject JSON of docs/subjects.md, and are recorded at
//! a fixed level: a declaration at `self_declared` (a directive decides
//! whether that suffices), an attestation at `attested` until its expiry.

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::{SubjectRecord, VerificationLevel};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::PayloadError;
use crate::event::{Event, EventKind};
use crate::fact::{Attribute, Fact};
use crate::record;

/// The self-declaration statement this build accepts.
pub const DECLARATION: &str = "cordon-self-declaration/1";
/// The organisation attestation statement this build accepts.
pub const ATTESTATION: &str = "cordon-attestation/1";
/// The most members one attestation may name.
pub const MAX_MEMBERS: usize = 10_000;

fn object(body: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| PayloadError::Json {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(PayloadError::WrongType {
            field: "(body)".into(),
            expected: "a JSON object",
        }),
    }
}

fn statement(obj: &Map<String, Value>, expected: &'static str) -> Result<String, PayloadError> {
    match obj.get("statement") {
        None => Err(PayloadError::Missing("statement".into())),
        Some(Value::String(s)) if s == expected => Ok(s.clone()),
        Some(Value::String(s)) => Err(PayloadError::UnknownType {
            found: s.clone(),
            expected,
        }),
        Some(_) => Err(PayloadError::WrongType {
            field: "statement".into(),
            expected: "a string",
        }),
    }
}

/// The attributes a statement may establish: the facts an export rule
/// turns on. Who the subject is (`name`, `birth_year`) and which
/// organisation it belongs to (`organization`) are not a statement's to
/// say: they decide screening, membership and licences, so a customer
/// renaming itself, or an organisation moving people under another's name,
/// would reach past the facts to the checks on them.
const STATABLE: [Attribute; 6] = [
    Attribute::Citizenships,
    Attribute::PermanentResidencies,
    Attribute::ResidenceCountry,
    Attribute::ResidenceRegion,
    Attribute::ProtectedIndividual,
    Attribute::UsPerson,
];

/// The subject's facts, checked as a stored record is, with every level
/// the subject claims at or below `max`, and only [`STATABLE`] attributes.
fn subject_facts(
    obj: &Map<String, Value>,
    max: VerificationLevel,
    j: &Jurisdictions,
) -> Result<Vec<Fact>, PayloadError> {
    let subject = obj
        .get("subject")
        .ok_or_else(|| PayloadError::Missing("subject".into()))?;
    if !subject.is_object() {
        return Err(PayloadError::WrongType {
            field: "subject".into(),
            expected: "a subject object (docs/subjects.md)",
        });
    }
    SubjectRecord::from_value(subject.clone())
        .into_subject(j)
        .map_err(|e| PayloadError::Subject(e.to_string()))?;
    let facts: Vec<Fact> = record::facts(subject).into_iter().map(|f| f.fact).collect();
    if let Some(f) = facts.iter().find(|f| !STATABLE.contains(&f.attribute)) {
        return Err(PayloadError::Invalid {
            field: format!("subject.{}", f.attribute.field()),
            reason: "a statement cannot establish who the subject is or which organisation it belongs to; staff records and verification sources do".into(),
        });
    }
    if facts.is_empty() {
        return Err(PayloadError::Invalid {
            field: "subject".into(),
            reason: "it states no attribute evidence can establish".into(),
        });
    }
    if let Some(f) = facts.iter().find(|f| f.level > max) {
        return Err(PayloadError::Invalid {
            field: format!("subject.{}", f.attribute.field()),
            reason: format!(
                "it claims `{}`; this statement records values at `{}`",
                f.level.as_str(),
                max.as_str()
            ),
        });
    }
    Ok(facts)
}

/// A customer's declaration about itself: `{"statement":
/// "cordon-self-declaration/1", "subject": {…}}`, recorded at
/// `self_declared`, dated `now`, with the statement version and the
/// country the request came from in its method.
///
/// # Errors
/// [`PayloadError`] naming the field: another statement version, a subject
/// that does not check, a level above `self_declared`.
pub fn declaration(
    body: &[u8],
    account: &str,
    from_country: Option<&str>,
    now: Timestamp,
    j: &Jurisdictions,
) -> Result<Event, PayloadError> {
    let obj = object(body)?;
    let version = statement(&obj, DECLARATION)?;
    let method = match from_country {
        Some(c) => format!("{version}; declared from {c}"),
        None => format!("{version}; declared from an unknown country"),
    };
    let facts = subject_facts(&obj, VerificationLevel::SelfDeclared, j)?
        .into_iter()
        .map(|f| Fact {
            level: VerificationLevel::SelfDeclared,
            verified_at: Some(now),
            method: Some(method.clone()),
            ..f
        })
        .collect();
    Ok(Event {
        account: account.to_owned(),
        kind: EventKind::Completed,
        facts,
        object_id: None,
        event_time: Some(now),
    })
}

/// An organisation's attestation, read: one event per member.
#[derive(Debug, Clone, PartialEq)]
pub struct Attestation {
    /// The organisation's own id of it.
    pub id: String,
    /// Until when it counts.
    pub expires: Timestamp,
    /// One event per member account.
    pub events: Vec<Event>,
}

/// An organisation's attestation about named member accounts:
/// `{"statement": "cordon-attestation/1", "id": "att-7", "members": [ids],
/// "subject": {…}, "expires": RFC 3339}`, recorded at `attested` until
/// `expires`, which must lie in the future.
///
/// # Errors
/// [`PayloadError`] naming the field.
pub fn attestation(
    body: &[u8],
    now: Timestamp,
    j: &Jurisdictions,
) -> Result<Attestation, PayloadError> {
    let obj = object(body)?;
    let version = statement(&obj, ATTESTATION)?;
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 128 => s.clone(),
        Some(_) => {
            return Err(PayloadError::Invalid {
                field: "id".into(),
                reason: "an attestation id is 1 to 128 characters".into(),
            });
        }
        None => return Err(PayloadError::Missing("id".into())),
    };
    let expires: Timestamp = match obj.get("expires") {
        Some(Value::String(s)) => s.parse().map_err(|e| PayloadError::Invalid {
            field: "expires".into(),
            reason: format!("not an RFC 3339 time: {e}"),
        })?,
        Some(_) => {
            return Err(PayloadError::WrongType {
                field: "expires".into(),
                expected: "an RFC 3339 time",
            });
        }
        None => return Err(PayloadError::Missing("expires".into())),
    };
    if expires <= now {
        return Err(PayloadError::Invalid {
            field: "expires".into(),
            reason: format!("{expires} is not in the future"),
        });
    }
    let members = match obj.get("members") {
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_MEMBERS => a,
        Some(Value::Array(_)) => {
            return Err(PayloadError::Invalid {
                field: "members".into(),
                reason: format!("an attestation names 1 to {MAX_MEMBERS} member accounts"),
            });
        }
        Some(_) => {
            return Err(PayloadError::WrongType {
                field: "members".into(),
                expected: "a list of account ids",
            });
        }
        None => return Err(PayloadError::Missing("members".into())),
    };
    let facts: Vec<Fact> = subject_facts(&obj, VerificationLevel::Attested, j)?
        .into_iter()
        .map(|f| Fact {
            level: VerificationLevel::Attested,
            verified_at: Some(now),
            expires_at: Some(f.expires_at.map_or(expires, |e| e.min(expires))),
            method: Some(version.clone()),
            ..f
        })
        .collect();
    let mut events = Vec::with_capacity(members.len());
    for (k, m) in members.iter().enumerate() {
        let Some(account) = m.as_str().filter(|a| !a.is_empty() && a.len() <= 64) else {
            return Err(PayloadError::Invalid {
                field: format!("members[{k}]"),
                reason: "an account id is a string of 1 to 64 bytes".into(),
            });
        };
        events.push(Event {
            account: account.to_owned(),
            kind: EventKind::Completed,
            facts: facts.clone(),
            object_id: Some(id.clone()),
            event_time: Some(now),
        });
    }
    Ok(Attestation {
        id,
        expires,
        events,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn j() -> &'static Jurisdictions {
        Jurisdictions::embedded().unwrap()
    }

    fn now() -> Timestamp {
        "2026-12-07T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_declaration_records_self_declared_values_with_where_it_came_from() {
        let body = json!({"statement": DECLARATION, "subject": {"citizenships": ["DE"], "residence_country": "DE"}});
        let e = declaration(body.to_string().as_bytes(), "a", Some("DE"), now(), j()).unwrap();
        assert_eq!(e.facts.len(), 2);
        assert!(
            e.facts
                .iter()
                .all(|f| f.level == VerificationLevel::SelfDeclared)
        );
        assert_eq!(
            e.facts[0].method.as_deref(),
            Some("cordon-self-declaration/1; declared from DE")
        );
        assert_eq!(e.facts[0].verified_at, Some(now()));
    }

    #[test]
    fn a_statement_cannot_rename_its_subject_or_move_it_to_another_organisation() {
        for subject in [
            json!({"name": "Tailspin Robotics"}),
            json!({"organization": {"name": "Northwind Labs"}}),
            json!({"birth_year": 1980, "citizenships": ["US"]}),
        ] {
            let field = subject.as_object().unwrap().keys().next().unwrap().clone();
            let body = json!({"statement": DECLARATION, "subject": subject});
            let e = declaration(body.to_string().as_bytes(), "a", None, now(), j()).unwrap_err();
            assert!(e.to_string().contains(&format!("subject.{field}")), "{e}");
            let body = json!({"statement": ATTESTATION, "id": "att-1", "members": ["m"],
                "subject": subject, "expires": "2030-01-01T00:00:00Z"});
            let e = attestation(body.to_string().as_bytes(), now(), j()).unwrap_err();
            assert!(e.to_string().contains(&format!("subject.{field}")), "{e}");
        }
    }

    #[test]
    fn a_declaration_cannot_claim_a_document_check() {
        let body = json!({"statement": DECLARATION, "subject": {"verification": "document_verified", "citizenships": ["US"]}});
        let e = declaration(body.to_string().as_bytes(), "a", None, now(), j()).unwrap_err();
        assert!(e.to_string().contains("subject.citizenships"), "{e}");
        assert!(e.to_string().contains("document_verified"), "{e}");
        let old =
            json!({"statement": "cordon-self-declaration/0", "subject": {"citizenships": ["US"]}});
        let e = declaration(old.to_string().as_bytes(), "a", None, now(), j()).unwrap_err();
        assert!(e.to_string().contains("cordon-self-declaration/0"), "{e}");
    }

    #[test]
    fn an_attestation_names_members_and_expires() {
        let body = json!({"statement": ATTESTATION, "id": "att-7", "members": ["m1", "m2"],
                          "subject": {"us_person": true}, "expires": "2027-06-01T00:00:00Z"});
        let a = attestation(body.to_string().as_bytes(), now(), j()).unwrap();
        assert_eq!(a.events.len(), 2);
        let f = &a.events[1].facts[0];
        assert_eq!(
            (f.attribute, f.level),
            (Attribute::UsPerson, VerificationLevel::Attested)
        );
        assert_eq!(f.expires_at, Some("2027-06-01T00:00:00Z".parse().unwrap()));
        assert_eq!(a.events[1].object_id.as_deref(), Some("att-7"));
    }

    #[test]
    fn bad_attestations_name_the_field() {
        let base = json!({"statement": ATTESTATION, "id": "att-7", "members": ["m1"],
                          "subject": {"us_person": true}, "expires": "2027-06-01T00:00:00Z"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let cases = [
            (
                with("expires", json!("2026-01-01T00:00:00Z")),
                "not in the future",
            ),
            (with("members", json!([])), "`members`"),
            (with("members", json!([7])), "members[0]"),
            (with("id", json!("")), "`id`"),
            (with("statement", json!("v0")), "`v0`"),
        ];
        for (body, needle) in cases {
            let e = attestation(body.to_string().as_bytes(), now(), j()).unwrap_err();
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
    }
}
