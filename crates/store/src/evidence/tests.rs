use cordon_subject::VerificationLevel;
use cordon_verification::{Attribute, Event, EventKind, Fact};
use serde_json::json;

use super::*;
use crate::IdentityStore;

fn store() -> SqliteStore {
    let s = SqliteStore::open_in_memory()
        .unwrap()
        .with_clock(|| "2026-12-07T12:00:00Z".parse().unwrap());
    s.add_account("a", json!({"verification": "none", "name": "Ann"}))
        .unwrap();
    s
}

fn completed(account: &str, attribute: Attribute, value: Value, level: VerificationLevel) -> Event {
    Event {
        account: account.into(),
        kind: EventKind::Completed,
        facts: vec![Fact::new(attribute, value, level)],
        object_id: Some("sess_1".into()),
        event_time: Some("2026-12-07T11:00:00Z".parse().unwrap()),
    }
}

const HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn deliver<'a>(event: &'a Event, id: &'a str) -> Delivered<'a> {
    Delivered {
        source: "kyc",
        kind: SourceKind::KycVendor,
        delivery_id: Some(id),
        payload_sha256: HASH,
        event,
    }
}

fn subject(s: &SqliteStore) -> Value {
    s.get("a").unwrap().unwrap().subject
}

#[test]
fn an_accepted_event_changes_the_subject_and_the_version() {
    let s = store();
    let v0 = s.version().unwrap();
    let e = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::DocumentVerified,
    );
    let out = s.record_event(deliver(&e, "d1")).unwrap();
    assert!(
        matches!(
            out,
            Intake::Accepted {
                rows: 1,
                changed: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert!(s.version().unwrap() > v0);
    let sub = subject(&s);
    assert_eq!(sub["citizenships"][0]["country"], "US");
    assert_eq!(sub["citizenships"][0]["verification"], "document_verified");
    assert_eq!(sub["citizenships"][0]["source"], "kyc");
    assert_eq!(sub["name"], "Ann");
    let rows = s.evidence("a").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].object_id.as_deref(), Some("sess_1"));
    assert_eq!(rows[0].delivery_id.as_deref(), Some("d1"));
    assert_eq!(
        rows[0].verified_at,
        Some("2026-12-07T11:00:00Z".parse().unwrap())
    );
}

#[test]
fn a_replayed_delivery_changes_nothing_even_with_another_body() {
    let s = store();
    let e = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::DocumentVerified,
    );
    s.record_event(deliver(&e, "d1")).unwrap();
    let v = s.version().unwrap();
    let other = completed(
        "a",
        Attribute::Citizenships,
        json!(["DE"]),
        VerificationLevel::DocumentVerified,
    );
    let out = s.record_event(deliver(&other, "d1")).unwrap();
    assert_eq!(
        out,
        Intake::Replay {
            first: "accepted".into()
        }
    );
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(subject(&s)["citizenships"][0]["country"], "US");
    assert_eq!(
        s.evidence("a").unwrap().len(),
        1,
        "no evidence row is duplicated"
    );
}

#[test]
fn orphans_and_pending_events_change_no_account() {
    let s = store();
    let e = completed(
        "nobody",
        Attribute::UsPerson,
        json!(true),
        VerificationLevel::DocumentVerified,
    );
    assert_eq!(s.record_event(deliver(&e, "d1")).unwrap(), Intake::Orphan);
    let pending = Event {
        kind: EventKind::Pending,
        facts: Vec::new(),
        ..completed(
            "a",
            Attribute::UsPerson,
            json!(true),
            VerificationLevel::DocumentVerified,
        )
    };
    let before = subject(&s);
    assert_eq!(
        s.record_event(deliver(&pending, "d2")).unwrap(),
        Intake::Pending
    );
    assert_eq!(subject(&s), before);
    // The orphan's account appears; the vendor redelivers: it is taken.
    s.add_account("nobody", json!({})).unwrap();
    assert!(matches!(
        s.record_event(deliver(&e, "d1")).unwrap(),
        Intake::Accepted { .. }
    ));
    let journal = s.pending_changes(100).unwrap();
    let actions: Vec<&str> = journal.iter().map(|c| c.action.as_str()).collect();
    assert!(actions.contains(&"verification.orphan"), "{actions:?}");
    assert!(actions.contains(&"verification.pending"), "{actions:?}");
}

#[test]
fn a_revocation_withdraws_the_source_s_facts_up_to_its_time() {
    let s = store();
    let e = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::DocumentVerified,
    );
    s.record_event(deliver(&e, "d1")).unwrap();
    // A revocation older than the verification arrives late: it withdraws nothing.
    let early = Event {
        kind: EventKind::Revoked,
        facts: Vec::new(),
        event_time: Some("2026-12-07T10:00:00Z".parse().unwrap()),
        ..e.clone()
    };
    assert!(matches!(
        s.record_event(deliver(&early, "d2")).unwrap(),
        Intake::Accepted {
            rows: 0,
            changed: false,
            ..
        }
    ));
    assert_eq!(subject(&s)["citizenships"][0]["country"], "US");
    let late = Event {
        event_time: Some("2026-12-07T11:30:00Z".parse().unwrap()),
        ..early
    };
    assert!(matches!(
        s.record_event(deliver(&late, "d3")).unwrap(),
        Intake::Accepted {
            rows: 1,
            changed: true,
            ..
        }
    ));
    assert!(subject(&s).get("citizenships").is_none(), "back to unknown");
    assert!(s.evidence("a").unwrap()[0].withdrawn_at.is_some());
}

#[test]
fn staff_changes_after_evidence_keep_the_evidence() {
    let s = store();
    let e = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::DocumentVerified,
    );
    s.record_event(deliver(&e, "d1")).unwrap();
    s.set_attributes(
        "a",
        json!({"residence_country": "US", "citizenships": ["FR"]}),
    )
    .unwrap();
    let sub = subject(&s);
    // The record's bare FR is at the record's level, `none`: the evidence wins.
    assert_eq!(sub["citizenships"][0]["country"], "US");
    assert_eq!(sub["residence_country"], "US");
    let (record, derived) = s.derivation("a").unwrap();
    assert_eq!(record["citizenships"], json!(["FR"]));
    let c = derived
        .basis
        .iter()
        .find(|b| b.attribute == Attribute::Citizenships)
        .unwrap();
    assert_eq!(c.evidence.as_ref().map(Vec::len), Some(1));
}

#[test]
fn an_older_event_delivered_late_does_not_override_a_newer_one() {
    let s = store();
    let newer = Event {
        event_time: Some("2026-12-07T11:00:00Z".parse().unwrap()),
        ..completed(
            "a",
            Attribute::ResidenceCountry,
            json!("DE"),
            VerificationLevel::DocumentVerified,
        )
    };
    let older = Event {
        event_time: Some("2026-12-06T11:00:00Z".parse().unwrap()),
        ..completed(
            "a",
            Attribute::ResidenceCountry,
            json!("FR"),
            VerificationLevel::DocumentVerified,
        )
    };
    s.record_event(deliver(&newer, "d1")).unwrap();
    s.record_event(deliver(&older, "d2")).unwrap();
    assert_eq!(subject(&s)["residence_country"]["country"], "DE");
}

#[test]
fn a_batch_shares_one_transaction_and_a_repeat_within_it_is_a_replay() {
    let s = store();
    s.add_account("b", json!({})).unwrap();
    let v0 = s.version().unwrap();
    let ea = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::DocumentVerified,
    );
    let eb = completed(
        "b",
        Attribute::Citizenships,
        json!(["DE"]),
        VerificationLevel::DocumentVerified,
    );
    let out = s
        .record_events(&[deliver(&ea, "d1"), deliver(&eb, "d2"), deliver(&eb, "d1")])
        .unwrap();
    assert!(matches!(out[0], Intake::Accepted { .. }));
    assert!(matches!(out[1], Intake::Accepted { .. }));
    assert_eq!(
        out[2],
        Intake::Replay {
            first: "accepted".into()
        }
    );
    assert_eq!(s.version().unwrap(), v0 + 1, "one change for the batch");
    assert_eq!(subject(&s)["citizenships"][0]["country"], "US");
    assert_eq!(s.evidence("b").unwrap().len(), 1);
}

#[test]
fn a_value_hidden_by_an_expiring_one_counts_again_once_it_expires() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    let now = Arc::new(AtomicI64::new(
        "2026-12-07T12:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_second(),
    ));
    let clock = Arc::clone(&now);
    let s = SqliteStore::open_in_memory()
        .unwrap()
        .with_clock(move || Timestamp::from_second(clock.load(Ordering::SeqCst)).unwrap());
    s.add_account("a", json!({"name": "Ann"})).unwrap();
    let declared = completed(
        "a",
        Attribute::Citizenships,
        json!(["FR"]),
        VerificationLevel::SelfDeclared,
    );
    s.record_event(deliver(&declared, "d-1")).unwrap();
    let mut attested = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::Attested,
    );
    attested.facts[0].expires_at = Some("2026-12-08T00:00:00Z".parse().unwrap());
    s.record_event(deliver(&attested, "d-2")).unwrap();
    let citizenship = |s: &SqliteStore| subject(s)["citizenships"].to_string();
    assert!(citizenship(&s).contains("US"), "{}", citizenship(&s));
    // Nothing is due before the expiry.
    assert_eq!(s.rederive_due(100).unwrap(), Rederived::default());
    let v = s.version().unwrap();
    now.store(
        "2026-12-08T00:00:01Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_second(),
        Ordering::SeqCst,
    );
    let done = s.rederive_due(100).unwrap();
    assert_eq!((done.examined, done.changed), (1, vec!["a".to_owned()]));
    assert!(citizenship(&s).contains("FR"), "{}", citizenship(&s));
    assert!(!citizenship(&s).contains("US"), "{}", citizenship(&s));
    assert!(
        s.version().unwrap() > v,
        "cached principals must be read again"
    );
    let journal = s.pending_changes(100).unwrap();
    assert!(
        journal
            .iter()
            .any(|c| c.action == "account.rederived" && c.subject == "a")
    );
    // Done once: the account is not due again.
    assert_eq!(s.rederive_due(100).unwrap(), Rederived::default());
}

fn revoked(account: &str, object: Option<&str>, at: &str) -> Event {
    Event {
        account: account.into(),
        kind: EventKind::Revoked,
        facts: Vec::new(),
        object_id: object.map(str::to_owned),
        event_time: Some(at.parse().unwrap()),
    }
}

#[test]
fn a_new_session_that_fails_does_not_take_back_an_earlier_sessions_findings() {
    let s = store();
    let mut first = completed(
        "a",
        Attribute::Citizenships,
        json!(["CN"]),
        VerificationLevel::DocumentVerified,
    );
    first.object_id = Some("sess_1".into());
    s.record_event(deliver(&first, "d-1")).unwrap();
    // The customer starts a second session and abandons it.
    let abandoned = revoked("a", Some("sess_2"), "2026-12-07T11:30:00Z");
    s.record_event(deliver(&abandoned, "d-2")).unwrap();
    assert_eq!(
        subject(&s)["citizenships"][0]["country"],
        "CN",
        "{}",
        subject(&s)
    );
    // Revoking the session that found it does withdraw it.
    let withdrawn = revoked("a", Some("sess_1"), "2026-12-07T11:40:00Z");
    s.record_event(deliver(&withdrawn, "d-3")).unwrap();
    assert!(subject(&s).get("citizenships").is_none(), "{}", subject(&s));
}

#[test]
fn a_fact_from_before_a_revocation_that_arrives_after_it_is_withdrawn_from_the_start() {
    let s = store();
    let revocation = revoked("a", Some("sess_1"), "2026-12-07T11:00:00Z");
    s.record_event(deliver(&revocation, "d-1")).unwrap();
    // The vendor retries the completion of 10:00 after its revocation of 11:00.
    let mut late = completed(
        "a",
        Attribute::UsPerson,
        json!(true),
        VerificationLevel::DocumentVerified,
    );
    late.object_id = Some("sess_1".into());
    late.event_time = Some("2026-12-07T10:00:00Z".parse().unwrap());
    s.record_event(deliver(&late, "d-2")).unwrap();
    assert!(subject(&s).get("us_person").is_none(), "{}", subject(&s));
    let rows = s.evidence("a").unwrap();
    assert_eq!(rows.len(), 1, "kept as evidence");
    assert!(rows[0].withdrawn_at.is_some());
    // A finding of a later session counts.
    let mut later = completed(
        "a",
        Attribute::UsPerson,
        json!(true),
        VerificationLevel::DocumentVerified,
    );
    later.object_id = Some("sess_2".into());
    later.event_time = Some("2026-12-07T11:30:00Z".parse().unwrap());
    s.record_event(deliver(&later, "d-3")).unwrap();
    assert!(subject(&s).get("us_person").is_some(), "{}", subject(&s));
}
