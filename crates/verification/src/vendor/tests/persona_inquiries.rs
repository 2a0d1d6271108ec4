use super::*;

fn government_id(status: &str, class: &str, country: &str, completed: &str) -> Value {
    json!({
        "type": "verification/government-id", "id": "ver_1",
        "attributes": {"status": status, "country-code": country, "id-class": class,
                       "expiration-date": "2031-05-17", "completed-at": completed}
    })
}

fn event(name: &str, included: Value) -> Value {
    json!({"data": {"type": "event", "id": "evt_p1", "attributes": {
        "name": name, "created-at": "2026-12-07T10:00:00.000Z",
        "payload": {
            "data": {"type": "inquiry", "id": "inq_1",
                     "attributes": {"status": "approved", "reference-id": "acct_1"}},
            "included": included
        }
    }}})
}

fn parse(v: &Value) -> Result<Event, PayloadError> {
    persona::parse(&bytes(v), j())
}

#[test]
fn an_approved_inquiry_s_passport_is_a_citizenship() {
    let included = json!([
        {"type": "verification/selfie", "id": "ver_0", "attributes": {"status": "passed"}},
        government_id("passed", "pp", "CA", "2026-12-07T09:59:00.000Z"),
    ]);
    for name in ["inquiry.approved", "inquiry.completed"] {
        let e = parse(&event(name, included.clone())).unwrap();
        assert_eq!(e.kind, EventKind::Completed);
        assert_eq!(
            (e.account.as_str(), e.object_id.as_deref()),
            ("acct_1", Some("inq_1"))
        );
        assert_eq!(e.event_time, Some(t("2026-12-07T10:00:00Z")));
        assert_eq!(
            citizenship(&e),
            (json!(["CA"]), Some("passport"), Some("CA"))
        );
        assert_eq!(e.facts[0].expires_at, Some(t("2031-05-17T00:00:00Z")));
        assert_eq!(e.facts[0].verified_at, Some(t("2026-12-07T09:59:00Z")));
    }
}

#[test]
fn a_nationality_counts_whatever_the_document_and_an_issuing_country_alone_does_not() {
    let mut dl = government_id("passed", "dl", "US", "2026-12-07T09:59:00Z");
    let e = parse(&event("inquiry.approved", json!([dl.clone()]))).unwrap();
    assert!(
        e.facts.is_empty(),
        "a driving licence's country is no nationality"
    );
    dl["attributes"]["nationality"] = json!("MX");
    let e = parse(&event("inquiry.approved", json!([dl]))).unwrap();
    assert_eq!(
        citizenship(&e),
        (json!(["MX"]), Some("driving_licence"), Some("US"))
    );
    let failed = government_id("failed", "pp", "CA", "2026-12-07T09:59:00Z");
    assert!(
        parse(&event("inquiry.approved", json!([failed])))
            .unwrap()
            .facts
            .is_empty()
    );
}

#[test]
fn the_latest_passed_government_id_wins() {
    let included = json!([
        government_id("passed", "pp", "DE", "2026-12-07T09:00:00Z"),
        government_id("passed", "pp", "FR", "2026-12-07T09:30:00Z"),
        government_id("passed", "pp", "IT", "2026-12-07T08:00:00Z"),
    ]);
    let e = parse(&event("inquiry.approved", included)).unwrap();
    assert_eq!(citizenship(&e).0, json!(["FR"]));
}

#[test]
fn every_event_maps_to_its_kind() {
    let cases = [
        ("inquiry.approved", EventKind::Completed),
        ("inquiry.completed", EventKind::Completed),
        ("inquiry.declined", EventKind::Revoked),
        ("inquiry.created", EventKind::Pending),
        ("inquiry.started", EventKind::Pending),
        ("inquiry.expired", EventKind::Pending),
        ("inquiry.failed", EventKind::Pending),
        ("inquiry.marked-for-review", EventKind::Pending),
        ("inquiry.transitioned", EventKind::Pending),
    ];
    let included = json!([government_id("passed", "pp", "CA", "2026-12-07T09:59:00Z")]);
    for (name, kind) in cases {
        let e = parse(&event(name, included.clone())).unwrap();
        assert_eq!(e.kind, kind, "{name}");
        assert_eq!(e.facts.is_empty(), kind != EventKind::Completed, "{name}");
    }
    let e = err(parse(&event("verification.passed", json!([]))));
    assert!(e.contains("`verification.passed`"), "{e}");
}

#[test]
fn missing_and_wrong_fields_name_their_path() {
    let base = event("inquiry.approved", json!([]));
    let e = err(parse(&remove(
        base.clone(),
        "/data/attributes/payload/data/attributes",
        "reference-id",
    )));
    assert!(
        e.contains("data.attributes.payload.data.attributes.reference-id"),
        "{e}"
    );
    let cases = [
        (
            "/data/attributes/created-at",
            json!("noon"),
            "data.attributes.created-at",
        ),
        (
            "/data/attributes/payload/included",
            json!({}),
            "data.attributes.payload.included",
        ),
        (
            "/data/attributes/payload/data/type",
            json!("account"),
            "data.attributes.payload.data.type",
        ),
        (
            "/data/attributes/payload/data/id",
            json!(3),
            "data.attributes.payload.data.id",
        ),
        ("/data/attributes/name", json!(true), "data.attributes.name"),
    ];
    for (pointer, value, needle) in cases {
        let e = err(parse(&set(base.clone(), pointer, value)));
        assert!(e.contains(needle), "{pointer}: {e}");
    }
    let mut bad = government_id("passed", "pp", "CA", "2026-12-07T09:59:00Z");
    bad["attributes"]["country-code"] = json!("Canada");
    let e = err(parse(&event("inquiry.approved", json!([bad]))));
    assert!(
        e.contains("data.attributes.payload.included[0].attributes.country-code"),
        "{e}"
    );
}

#[test]
fn a_fetched_inquiry_is_read_with_its_verifications() {
    let body = |status: &str| {
        json!({
            "data": {"type": "inquiry", "id": "inq_1",
                     "attributes": {"status": status, "reference-id": "acct_1"}},
            "included": [government_id("passed", "pp", "JP", "2026-12-07T09:59:00Z")]
        })
    };
    let e = persona::read_fetched("acct_1", &bytes(&body("approved")), j()).unwrap();
    assert_eq!(citizenship(&e).0, json!(["JP"]));
    for (status, kind) in [
        ("completed", EventKind::Completed),
        ("declined", EventKind::Revoked),
        ("needs_review", EventKind::Pending),
        ("pending", EventKind::Pending),
        ("expired", EventKind::Pending),
        ("failed", EventKind::Pending),
        ("created", EventKind::Pending),
    ] {
        let e = persona::read_fetched("acct_1", &bytes(&body(status)), j()).unwrap();
        assert_eq!(e.kind, kind, "{status}");
    }
    let e = err(persona::read_fetched("acct_1", &bytes(&body("nope")), j()));
    assert!(e.contains("data.attributes.status"), "{e}");
    let e = err(persona::read_fetched(
        "acct_2",
        &bytes(&body("approved")),
        j(),
    ));
    assert!(e.contains("reference-id") && e.contains("`acct_2`"), "{e}");
}
