use super::*;

fn decision(status: &str) -> Value {
    json!({"status": "success", "verification": {
        "id": "sess-1", "attemptId": "att-1", "code": 9001, "status": status,
        "vendorData": "acct_1", "decisionTime": "2026-12-07T10:00:00.000Z",
        "acceptanceTime": "2026-12-07T09:50:00.000Z",
        "person": {"firstName": "Sarah", "lastName": "Morgan", "nationality": "EE"},
        "document": {"type": "ID_CARD", "country": "EE", "validUntil": "2030-01-01"}
    }})
}

fn parse(v: &Value) -> Result<Event, PayloadError> {
    veriff::parse(&bytes(v), j())
}

#[test]
fn an_approved_decision_states_the_nationality_read() {
    let e = parse(&decision("approved")).unwrap();
    assert_eq!(e.kind, EventKind::Completed);
    assert_eq!(
        (e.account.as_str(), e.object_id.as_deref()),
        ("acct_1", Some("sess-1"))
    );
    assert_eq!(e.event_time, Some(t("2026-12-07T10:00:00Z")));
    assert_eq!(
        citizenship(&e),
        (json!(["EE"]), Some("id_card"), Some("EE"))
    );
    assert_eq!(e.facts[0].expires_at, Some(t("2030-01-01T00:00:00Z")));
    assert_eq!(e.facts[0].verified_at, Some(t("2026-12-07T10:00:00Z")));
}

#[test]
fn without_a_nationality_only_a_passport_s_country_counts() {
    let no_nat = remove(decision("approved"), "/verification/person", "nationality");
    assert!(
        parse(&no_nat).unwrap().facts.is_empty(),
        "an ID card's country"
    );
    let passport = set(no_nat, "/verification/document/type", json!("PASSPORT"));
    let e = parse(&passport).unwrap();
    assert_eq!(
        citizenship(&e),
        (json!(["EE"]), Some("passport"), Some("EE"))
    );
    let no_person = remove(decision("approved"), "/verification", "person");
    assert!(parse(&no_person).unwrap().facts.is_empty());
}

#[test]
fn every_status_maps_to_its_kind() {
    let cases = [
        ("approved", EventKind::Completed),
        ("declined", EventKind::Revoked),
        ("expired", EventKind::Revoked),
        ("abandoned", EventKind::Revoked),
        ("resubmission_requested", EventKind::Pending),
        ("review", EventKind::Pending),
    ];
    for (status, kind) in cases {
        let e = parse(&decision(status)).unwrap();
        assert_eq!(e.kind, kind, "{status}");
        assert_eq!(e.facts.is_empty(), kind != EventKind::Completed, "{status}");
    }
    let e = err(parse(&decision("maybe")));
    assert!(
        e.contains("verification.status") && e.contains("`maybe`"),
        "{e}"
    );
    let event = json!({"id": "sess-1", "attemptId": "att-1", "feature": "selfid",
                       "code": 7002, "action": "submitted", "vendorData": "acct_1"});
    let e = parse(&event).unwrap();
    assert_eq!(
        (e.kind, e.object_id.as_deref()),
        (EventKind::Pending, Some("sess-1"))
    );
}

#[test]
fn missing_and_wrong_fields_name_their_path() {
    let e = err(parse(&remove(
        decision("approved"),
        "/verification",
        "vendorData",
    )));
    assert!(e.contains("verification.vendorData"), "{e}");
    let cases = [
        (
            "/verification/vendorData",
            json!(12),
            "verification.vendorData",
        ),
        (
            "/verification/person/nationality",
            json!("Estonia"),
            "verification.person.nationality",
        ),
        (
            "/verification/document/validUntil",
            json!("soon"),
            "verification.document.validUntil",
        ),
        (
            "/verification/document/country",
            json!(["EE"]),
            "verification.document.country",
        ),
        (
            "/verification/decisionTime",
            json!(5),
            "verification.decisionTime",
        ),
        ("/verification", json!("x"), "`verification`"),
    ];
    for (pointer, value, needle) in cases {
        let e = err(parse(&set(decision("approved"), pointer, value)));
        assert!(e.contains(needle), "{pointer}: {e}");
    }
    assert!(err(parse(&json!({"id": "s"}))).contains("`action`"));
}

#[test]
fn a_fetched_decision_is_read_and_a_missing_one_is_pending() {
    let e = veriff::read_fetched("acct_1", &bytes(&decision("approved")), j()).unwrap();
    assert_eq!(citizenship(&e).0, json!(["EE"]));
    let none = json!({"status": "success", "verification": null});
    let e = veriff::read_fetched("acct_1", &bytes(&none), j()).unwrap();
    assert_eq!((e.kind, e.account.as_str()), (EventKind::Pending, "acct_1"));
    let e = err(veriff::read_fetched(
        "acct_2",
        &bytes(&decision("approved")),
        j(),
    ));
    assert!(
        e.contains("verification.vendorData") && e.contains("`acct_2`"),
        "{e}"
    );
    // A decision without vendorData is the fetched account's.
    let anon = remove(decision("declined"), "/verification", "vendorData");
    let e = veriff::read_fetched("acct_2", &bytes(&anon), j()).unwrap();
    assert_eq!((e.kind, e.account.as_str()), (EventKind::Revoked, "acct_2"));
}
