use serde_json::json;

use super::*;
use crate::IdentityStore;

const NOW: &str = "2026-12-07T10:00:00Z";

fn store() -> SqliteStore {
    let now: Timestamp = NOW.parse().unwrap();
    let s = SqliteStore::open_in_memory()
        .unwrap()
        .with_clock(move || now)
        .with_actor("officer-1");
    s.add_account(
        "acme",
        json!({"kind": "organization", "name": "Acme Labs", "verification": "attested"}),
    )
    .unwrap();
    for (id, org) in [
        ("acme-ana", "Acme Labs"),
        ("acme-bo", "Acme Labs"),
        ("other-cy", "Other Corp"),
    ] {
        s.add_account(
            id,
            json!({"verification": "document_verified", "citizenships": ["DE"],
                   "organization": {"name": org, "verification": "attested"}}),
        )
        .unwrap();
    }
    s.add_account("solo", json!({"name": "Solo Person"}))
        .unwrap();
    s
}

fn licence(edit: impl FnOnce(&mut Value)) -> Licence {
    let mut v = json!({
        "number": "D1234567", "authority": "BIS",
        "directives": ["foreign-national-frontier-2026"],
        "holder": "acme", "individuals": ["acme-ana"],
        "excluded_nationalities": ["CN"], "models": ["fable-5"],
        "conditions": "Not for Dr. Example's lab.",
        "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"
    });
    edit(&mut v);
    Licence::from_value(&v, Jurisdictions::embedded().unwrap(), None).unwrap()
}

fn held(s: &SqliteStore, account: &str) -> Vec<String> {
    s.subject(account)
        .unwrap()
        .unwrap()
        .licences
        .into_iter()
        .map(|l| l.number)
        .collect()
}

#[test]
fn staff_record_active_licences_and_organisations_submit_pending_ones() {
    let s = store();
    let r = s
        .record_licence(&licence(|_| {}), LicenceSource::Staff)
        .unwrap();
    assert_eq!(r.status, LicenceStatus::Active);
    assert_eq!(r.source_kind, LicenceSource::Staff);
    assert_eq!(r.actor, "officer-1");
    assert_eq!(r.recorded_at.to_string(), NOW);
    assert_eq!(r.licence, licence(|_| {}));
    let p = s
        .record_licence(
            &licence(|l| l["number"] = json!("D7654321")),
            LicenceSource::OrgSubmission,
        )
        .unwrap();
    assert_eq!(p.status, LicenceStatus::Pending);
    let numbers: Vec<_> = s
        .licences()
        .unwrap()
        .into_iter()
        .map(|r| (r.licence.number, r.status))
        .collect();
    assert_eq!(
        numbers,
        [
            ("D1234567".to_owned(), LicenceStatus::Active),
            ("D7654321".to_owned(), LicenceStatus::Pending)
        ]
    );
    assert_eq!(s.licence("D7654321").unwrap(), Some(p));
    assert_eq!(s.licence("nope").unwrap(), None);
}

#[test]
fn a_pending_licence_is_approved_then_revoked_once() {
    let s = store();
    s.record_licence(&licence(|_| {}), LicenceSource::OrgSubmission)
        .unwrap();
    assert!(held(&s, "acme-ana").is_empty(), "pending lifts nothing");
    let a = s.approve_licence("D1234567").unwrap();
    assert_eq!(a.status, LicenceStatus::Active);
    assert_eq!(a.approved_by.as_deref(), Some("officer-1"));
    assert_eq!(held(&s, "acme-ana"), ["D1234567"]);
    let e = s.approve_licence("D1234567").unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::LicenceStatus {
                status: "active",
                action: "approved",
                ..
            }
        ),
        "{e}"
    );
    let r = s.revoke_licence("D1234567").unwrap();
    assert_eq!(r.status, LicenceStatus::Revoked);
    assert_eq!(r.revoked_at.map(|t| t.to_string()).as_deref(), Some(NOW));
    assert!(held(&s, "acme-ana").is_empty(), "revoked lifts nothing");
    let e = s.revoke_licence("D1234567").unwrap_err();
    assert!(
        e.to_string()
            .contains("is revoked, so it cannot be revoked"),
        "{e}"
    );
    let e = s.approve_licence("D1234567").unwrap_err();
    assert!(matches!(e, StoreError::LicenceStatus { .. }), "{e}");
    let e = s.revoke_licence("D0").unwrap_err();
    assert!(matches!(e, StoreError::LicenceNotFound { .. }), "{e}");
    // A revoked number is still taken.
    let e = s
        .record_licence(&licence(|_| {}), LicenceSource::Staff)
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::LicenceExists {
                status: "revoked",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_licence_that_does_not_check_against_the_store_leaves_nothing_behind() {
    let s = store();
    let version = s.version().unwrap();
    let journal = s.pending_changes(1000).unwrap().len();
    let cases: Vec<(Licence, &str, &str)> = vec![
        (
            licence(|l| l["expires"] = json!("2026-12-07T10:00:00Z")),
            "expires",
            "in the past",
        ),
        (
            licence(|l| l["holder"] = json!("nobody")),
            "holder",
            "no account `nobody`",
        ),
        (
            licence(|l| l["holder"] = json!("acme-bo")),
            "holder",
            "not an organisation",
        ),
        (
            licence(|l| l["individuals"] = json!(["acme-ana", "ghost"])),
            "individuals[1]",
            "no account `ghost`",
        ),
        (
            licence(|l| l["individuals"] = json!(["acme-ana", "other-cy"])),
            "individuals[1]",
            "not a member of `acme`",
        ),
        (
            licence(|l| l["individuals"] = json!(["solo"])),
            "individuals[0]",
            "not a member",
        ),
    ];
    for (l, field, needle) in cases {
        match s.record_licence(&l, LicenceSource::Staff) {
            Err(StoreError::InvalidLicence {
                field: f, message, ..
            }) => {
                assert_eq!(f, field, "{message}");
                assert!(message.contains(needle), "{field}: {message}");
            }
            other => panic!("{field}: expected an invalid licence, got {other:?}"),
        }
    }
    // An organisation without a name has no members to name.
    s.add_account("nameless", json!({"kind": "organization"}))
        .unwrap();
    let version = version + 1;
    let e = s
        .record_licence(
            &licence(|l| l["holder"] = json!("nameless")),
            LicenceSource::Staff,
        )
        .unwrap_err();
    assert!(e.to_string().contains("no name"), "{e}");
    assert!(s.licences().unwrap().is_empty());
    assert_eq!(s.version().unwrap(), version, "nothing bumped");
    assert_eq!(s.pending_changes(1000).unwrap().len(), journal + 1);
}

#[test]
fn the_holder_and_named_members_hold_it_and_nobody_else() {
    let s = store();
    s.record_licence(&licence(|_| {}), LicenceSource::Staff)
        .unwrap();
    assert_eq!(held(&s, "acme"), ["D1234567"]);
    assert_eq!(held(&s, "acme-ana"), ["D1234567"]);
    assert!(held(&s, "acme-bo").is_empty(), "a member it does not name");
    assert!(held(&s, "other-cy").is_empty());
    assert_eq!(s.subject("ghost").unwrap(), None);
    // A named individual who leaves the organisation no longer holds it.
    s.set_attributes(
        "acme-ana",
        json!({"organization": {"name": "Other Corp", "verification": "attested"}}),
    )
    .unwrap();
    assert!(held(&s, "acme-ana").is_empty());
    // Authentication builds the same subject.
    let k = s.create_key("acme", None).unwrap();
    let p = s.authenticate(&k.key).unwrap().unwrap();
    assert_eq!(p.subject.licences.len(), 1);
    assert_eq!(
        IdentityStore::subject(&s, "acme").unwrap().unwrap(),
        p.subject
    );
}

#[test]
fn the_index_attaches_what_subject_attaches() {
    let s = store();
    s.record_licence(&licence(|_| {}), LicenceSource::Staff)
        .unwrap();
    s.record_licence(
        &licence(|l| {
            l["number"] = json!("A-2");
            l["individuals"] = json!(["acme-ana", "acme-bo"]);
        }),
        LicenceSource::Staff,
    )
    .unwrap();
    s.record_licence(
        &licence(|l| l["number"] = json!("P-3")),
        LicenceSource::OrgSubmission,
    )
    .unwrap();
    s.record_licence(
        &licence(|l| l["number"] = json!("R-4")),
        LicenceSource::Staff,
    )
    .unwrap();
    s.revoke_licence("R-4").unwrap();
    let index = s.licence_index().unwrap();
    assert_eq!(index.accounts(), 3);
    for account in ["acme", "acme-ana", "acme-bo", "other-cy", "solo"] {
        let mut subject = crate::account::stored_subject(
            account,
            &s.get(account).unwrap().unwrap().subject,
            s.jurisdictions(),
        )
        .unwrap();
        index.attach(&mut subject);
        assert_eq!(Some(subject), s.subject(account).unwrap(), "{account}");
    }
    assert_eq!(
        index
            .of("acme-ana")
            .iter()
            .map(|l| l.number.as_str())
            .collect::<Vec<_>>(),
        ["A-2", "D1234567"]
    );
    assert!(LicenceIndex::default().of("acme").is_empty());
}

#[test]
fn every_change_is_journaled_without_the_conditions_text_and_bumps_the_counter() {
    let s = store();
    let before = s.pending_changes(1000).unwrap().len();
    let v0 = s.version().unwrap();
    s.record_licence(&licence(|_| {}), LicenceSource::OrgSubmission)
        .unwrap();
    let v1 = s.version().unwrap();
    s.approve_licence("D1234567").unwrap();
    let v2 = s.version().unwrap();
    s.revoke_licence("D1234567").unwrap();
    let v3 = s.version().unwrap();
    assert!(v0 < v1 && v1 < v2 && v2 < v3);
    let rows = s.pending_changes(1000).unwrap();
    let rows = &rows[before..];
    let actions: Vec<&str> = rows.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        ["licence.submitted", "licence.approved", "licence.revoked"]
    );
    assert!(rows.iter().all(|c| c.subject == "D1234567"));
    let submitted = &rows[0].details;
    assert_eq!(submitted["status"], "pending");
    assert_eq!(submitted["holder"], "acme");
    assert_eq!(submitted["individuals"], json!(["acme-ana"]));
    assert!(submitted.get("conditions").is_none());
    assert_eq!(
        submitted["conditions_sha256"].as_str().map(str::len),
        Some(64)
    );
    let all = serde_json::to_string(&rows.iter().map(|c| &c.details).collect::<Vec<_>>()).unwrap();
    assert!(!all.contains("Dr. Example"), "{all}");
    assert_eq!(rows[1].details["from"], "pending");
    assert_eq!(rows[2].details["to"], "revoked");
}

#[test]
fn an_account_record_cannot_carry_licences() {
    let s = store();
    let l = licence(|_| {}).to_json();
    let e = s
        .add_account("sneaky", json!({"licences": [l.clone()]}))
        .unwrap_err();
    assert!(matches!(e, StoreError::LicencesInRecord { .. }), "{e}");
    let e = s
        .set_attributes("acme-bo", json!({"licences": [l]}))
        .unwrap_err();
    assert!(e.to_string().contains("cordon licences add"), "{e}");
}
