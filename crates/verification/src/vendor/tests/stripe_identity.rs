use super::*;

fn report(doc_type: &str, country: &str) -> Value {
    json!({
        "id": "vr_1", "object": "identity.verification_report", "created": 1_796_000_000,
        "type": "document",
        "document": {
            "status": "verified", "type": doc_type, "issuing_country": country,
            "expiration_date": {"day": 17, "month": 5, "year": 2031},
            "first_name": "Jenny", "last_name": "Rosen"
        }
    })
}

fn event(ty: &str) -> Value {
    json!({
        "id": "evt_1", "object": "event", "type": ty, "created": 1_796_000_100,
        "data": {"object": {
            "id": "vs_1", "object": "identity.verification_session", "status": "verified",
            "client_reference_id": null, "metadata": {"cordon_account": "acct_1"},
            "last_verification_report": "vr_1", "redaction": null
        }}
    })
}

fn parse(v: &Value) -> Result<Event, PayloadError> {
    stripe::parse(&bytes(v), j())
}

#[test]
fn a_verified_event_names_the_session_and_its_facts_come_with_the_report() {
    let e = parse(&event("identity.verification_session.verified")).unwrap();
    assert_eq!(e.kind, EventKind::Completed);
    assert_eq!(e.account, "acct_1");
    assert_eq!(e.object_id.as_deref(), Some("vs_1"));
    assert_eq!(
        e.event_time,
        Some(Timestamp::from_second(1_796_000_100).unwrap())
    );
    assert!(e.facts.is_empty(), "the report is only an id");
    let expanded = set(
        event("identity.verification_session.verified"),
        "/data/object/last_verification_report",
        report("passport", "us"),
    );
    let e = parse(&expanded).unwrap();
    assert_eq!(
        citizenship(&e),
        (json!(["US"]), Some("passport"), Some("US"))
    );
    assert_eq!(e.facts[0].expires_at, Some(t("2031-05-17T00:00:00Z")));
    assert_eq!(
        e.facts[0].verified_at,
        Some(Timestamp::from_second(1_796_000_000).unwrap())
    );
}

#[test]
fn only_a_passport_s_issuing_country_is_a_citizenship() {
    for doc in ["driving_license", "id_card"] {
        let v = set(
            event("identity.verification_session.verified"),
            "/data/object/last_verification_report",
            report(doc, "DE"),
        );
        assert!(parse(&v).unwrap().facts.is_empty(), "{doc}");
    }
    let unverified = set(
        set(
            event("identity.verification_session.verified"),
            "/data/object/last_verification_report",
            report("passport", "DE"),
        ),
        "/data/object/last_verification_report/document/status",
        json!("unverified"),
    );
    assert!(parse(&unverified).unwrap().facts.is_empty());
}

#[test]
fn every_event_maps_to_its_kind() {
    let cases = [
        ("verified", EventKind::Completed),
        ("requires_input", EventKind::Pending),
        ("processing", EventKind::Pending),
        ("created", EventKind::Pending),
        ("canceled", EventKind::Revoked),
        ("redacted", EventKind::Revoked),
    ];
    for (name, kind) in cases {
        let e = parse(&event(&format!("identity.verification_session.{name}"))).unwrap();
        assert_eq!(e.kind, kind, "{name}");
    }
    // A pending or revoked event carries no facts even with a report.
    let v = set(
        event("identity.verification_session.requires_input"),
        "/data/object/last_verification_report",
        report("passport", "DE"),
    );
    assert!(parse(&v).unwrap().facts.is_empty());
    let e = err(parse(&event("charge.succeeded")));
    assert!(e.contains("`charge.succeeded`"), "{e}");
}

#[test]
fn the_account_is_the_metadata_key_or_the_client_reference() {
    let no_meta = remove(
        event("identity.verification_session.verified"),
        "/data/object",
        "metadata",
    );
    let e = err(parse(&no_meta));
    assert!(
        e.contains("data.object.metadata.cordon_account")
            && e.contains("data.object.client_reference_id"),
        "{e}"
    );
    let by_ref = set(
        no_meta.clone(),
        "/data/object/client_reference_id",
        json!("acct_2"),
    );
    assert_eq!(parse(&by_ref).unwrap().account, "acct_2");
    let both = set(
        event("identity.verification_session.verified"),
        "/data/object/client_reference_id",
        json!("acct_2"),
    );
    let e = err(parse(&both));
    assert!(e.contains("`acct_1`") && e.contains("`acct_2`"), "{e}");
    let long = set(
        no_meta,
        "/data/object/client_reference_id",
        json!("a".repeat(65)),
    );
    assert!(err(parse(&long)).contains("1 to 64"));
}

#[test]
fn wrong_types_name_their_path() {
    let base = event("identity.verification_session.verified");
    let cases = [
        (
            "/data/object/metadata/cordon_account",
            json!(7),
            "data.object.metadata.cordon_account",
        ),
        ("/created", json!("today"), "`created`"),
        ("/data/object/id", json!(1), "data.object.id"),
        ("/data/object/object", json!("charge"), "data.object.object"),
        (
            "/data/object/last_verification_report",
            json!(5),
            "data.object.last_verification_report",
        ),
        ("/data", json!([]), "`data`"),
        ("/type", json!(null), "`type`"),
    ];
    for (pointer, value, needle) in cases {
        let e = err(parse(&set(base.clone(), pointer, value)));
        assert!(e.contains(needle), "{pointer}: {e}");
    }
    let bad_country = set(
        set(
            base.clone(),
            "/data/object/last_verification_report",
            report("passport", "ZZ"),
        ),
        "/data/object/last_verification_report/document/issuing_country",
        json!("ZZ"),
    );
    let e = err(parse(&bad_country));
    assert!(
        e.contains("data.object.last_verification_report.document.issuing_country"),
        "{e}"
    );
    let bad_date = set(
        set(
            base,
            "/data/object/last_verification_report",
            report("passport", "DE"),
        ),
        "/data/object/last_verification_report/document/expiration_date/month",
        json!(13),
    );
    assert!(err(parse(&bad_date)).contains("expiration_date"));
    assert!(err(stripe::parse(b"[1,", j())).contains("not JSON"));
}

fn session(status: &str) -> Value {
    json!({
        "id": "vs_1", "object": "identity.verification_session", "status": status,
        "metadata": {"cordon_account": "acct_1"},
        "last_verification_report": report("passport", "FR"), "redaction": null
    })
}

#[test]
fn a_fetched_session_is_read_with_its_report() {
    let e = stripe::read_fetched("acct_1", &bytes(&session("verified")), j()).unwrap();
    assert_eq!(e.kind, EventKind::Completed);
    assert_eq!(
        citizenship(&e),
        (json!(["FR"]), Some("passport"), Some("FR"))
    );
    assert_eq!(
        e.event_time,
        Some(Timestamp::from_second(1_796_000_000).unwrap())
    );
    for (status, kind) in [
        ("requires_input", EventKind::Pending),
        ("processing", EventKind::Pending),
        ("canceled", EventKind::Revoked),
    ] {
        let e = stripe::read_fetched("acct_1", &bytes(&session(status)), j()).unwrap();
        assert_eq!((e.kind, e.facts.len()), (kind, 0), "{status}");
    }
    let redacted = set(
        session("verified"),
        "/redaction",
        json!({"status": "redacted"}),
    );
    let e = stripe::read_fetched("acct_1", &bytes(&redacted), j()).unwrap();
    assert_eq!((e.kind, e.facts.len()), (EventKind::Revoked, 0));
    let e = err(stripe::read_fetched(
        "acct_1",
        &bytes(&session("done")),
        j(),
    ));
    assert!(e.contains("`status`") && e.contains("`done`"), "{e}");
    let unexpanded = set(
        session("verified"),
        "/last_verification_report",
        json!("vr_1"),
    );
    let e = err(stripe::read_fetched("acct_1", &bytes(&unexpanded), j()));
    assert!(e.contains("expand"), "{e}");
    let e = err(stripe::read_fetched(
        "acct_9",
        &bytes(&session("verified")),
        j(),
    ));
    assert!(
        e.contains("metadata.cordon_account") && e.contains("`acct_9`"),
        "{e}"
    );
    assert!(err(stripe::read_fetched("", &bytes(&session("verified")), j())).contains("(account)"));
}
