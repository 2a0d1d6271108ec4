//! Cordon's own verification event format, for a provider's own KYC
//! pipeline or any source without a vendor adapter.
//!
//! ```json
//! {"type": "verification.completed", "account": "acct_1",
//!  "id": "run-8812", "time": "2026-12-07T10:00:00Z",
//!  "subject": {"verification": "document_verified", "citizenships": ["US"]}}
//! ```
//!
//! `type` is `verification.completed` (record the facts) or
//! `verification.revoked` (withdraw what this source said about the
//! account); `subject` is exactly the subject JSON of docs/subjects.md,
//! provenance included, and is checked as a stored account's record is;
//! `id` (the source's own id of the verification) and `time` (when it
//! happened, which orders events) are optional.

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::SubjectRecord;
use jiff::Timestamp;
use serde_json::Value;

use crate::PayloadError;
use crate::event::{Event, EventKind};
use crate::record;

/// The longest account id an event may name.
const MAX_ACCOUNT_LEN: usize = 64;

/// Parses a Cordon-format event.
///
/// # Errors
/// [`PayloadError`] naming the field that is missing or wrong, or the
/// subject field that does not check.
pub fn parse(body: &[u8], jurisdictions: &Jurisdictions) -> Result<Event, PayloadError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| PayloadError::Json {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    let obj = v.as_object().ok_or(PayloadError::WrongType {
        field: "(body)".into(),
        expected: "a JSON object",
    })?;
    let text = |field: &str| -> Result<Option<&str>, PayloadError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(PayloadError::WrongType {
                field: field.into(),
                expected: "a string",
            }),
        }
    };
    let kind = match text("type")?.ok_or(PayloadError::Missing("type".into()))? {
        "verification.completed" => EventKind::Completed,
        "verification.revoked" => EventKind::Revoked,
        other => {
            return Err(PayloadError::UnknownType {
                found: other.to_owned(),
                expected: "`verification.completed` or `verification.revoked`",
            });
        }
    };
    let account = text("account")?.ok_or(PayloadError::Missing("account".into()))?;
    if account.is_empty() || account.len() > MAX_ACCOUNT_LEN {
        return Err(PayloadError::Invalid {
            field: "account".into(),
            reason: format!("an account id is 1 to {MAX_ACCOUNT_LEN} bytes"),
        });
    }
    let event_time = match text("time")? {
        Some(t) => Some(t.parse::<Timestamp>().map_err(|e| PayloadError::Invalid {
            field: "time".into(),
            reason: format!("not an RFC 3339 time: {e}"),
        })?),
        None => None,
    };
    let object_id = text("id")?.map(str::to_owned);
    let facts = match (kind, obj.get("subject")) {
        (EventKind::Completed, None) => return Err(PayloadError::Missing("subject".into())),
        (EventKind::Completed, Some(subject)) => {
            if !subject.is_object() {
                return Err(PayloadError::WrongType {
                    field: "subject".into(),
                    expected: "a subject object (docs/subjects.md)",
                });
            }
            SubjectRecord::from_value(subject.clone())
                .into_subject(jurisdictions)
                .map_err(|e| PayloadError::Subject(e.to_string()))?;
            let facts: Vec<_> = record::facts(subject).into_iter().map(|f| f.fact).collect();
            if facts.is_empty() {
                return Err(PayloadError::Invalid {
                    field: "subject".into(),
                    reason: "it states no attribute evidence can establish (citizenships, permanent_residencies, residence_country, residence_region, protected_individual, us_person, organization, name, birth_year)".into(),
                });
            }
            facts
        }
        (_, _) => Vec::new(),
    };
    Ok(Event {
        account: account.to_owned(),
        kind,
        facts,
        object_id,
        event_time,
    })
}

#[cfg(test)]
mod tests {
    use cordon_subject::VerificationLevel;
    use serde_json::json;

    use super::*;
    use crate::fact::Attribute;

    fn j() -> &'static Jurisdictions {
        Jurisdictions::embedded().unwrap()
    }

    fn parse_json(v: Value) -> Result<Event, PayloadError> {
        parse(v.to_string().as_bytes(), j())
    }

    #[test]
    fn a_completed_event_states_the_subject_s_facts() {
        let e = parse_json(json!({
            "type": "verification.completed", "account": "acct_1", "id": "run-1",
            "time": "2026-12-07T10:00:00Z",
            "subject": {"verification": "document_verified", "citizenships": ["US", "de"],
                        "permanent_residencies": [], "protected_individual": false}
        }))
        .unwrap();
        assert_eq!(e.kind, EventKind::Completed);
        assert_eq!(e.account, "acct_1");
        assert_eq!(e.object_id.as_deref(), Some("run-1"));
        assert_eq!(e.facts.len(), 3);
        assert_eq!(e.facts[0].attribute, Attribute::Citizenships);
        assert_eq!(e.facts[0].value, json!(["US", "DE"]));
        assert!(
            e.facts
                .iter()
                .all(|f| f.level == VerificationLevel::DocumentVerified)
        );
    }

    #[test]
    fn a_revocation_needs_no_subject() {
        let e = parse_json(json!({"type": "verification.revoked", "account": "a"})).unwrap();
        assert_eq!((e.kind, e.facts.len()), (EventKind::Revoked, 0));
    }

    #[test]
    fn bad_events_name_what_is_wrong() {
        let cases = [
            (json!({"account": "a", "subject": {}}), "`type`"),
            (json!({"type": "x", "account": "a"}), "`x`"),
            (
                json!({"type": "verification.completed", "subject": {"citizenships": ["US"]}}),
                "`account`",
            ),
            (
                json!({"type": "verification.completed", "account": "a"}),
                "`subject`",
            ),
            (
                json!({"type": "verification.completed", "account": "a", "subject": {"citizenships": ["XX"]}}),
                "citizenships[0]",
            ),
            (
                json!({"type": "verification.completed", "account": "a", "subject": {"verification": "document_verified"}}),
                "states no attribute",
            ),
            (
                json!({"type": "verification.completed", "account": 7, "subject": {}}),
                "`account`",
            ),
            (
                json!({"type": "verification.completed", "account": "a", "time": "yesterday", "subject": {"us_person": true}}),
                "`time`",
            ),
        ];
        for (body, needle) in cases {
            let e = parse_json(body.clone()).unwrap_err().to_string();
            assert!(e.contains(needle), "{body}: {e}");
        }
        let e = parse(b"{\"type\": ", j()).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
