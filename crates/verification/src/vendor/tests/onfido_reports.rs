use super::*;

fn webhook(resource: &str, action: &str) -> Value {
    json!({"payload": {"resource_type": resource, "action": action, "object": {
        "id": "3b5e1a1c-0000-4000-8000-000000000001", "status": "complete",
        "completed_at_iso8601": "2026-12-07T10:00:00Z",
        "href": "https://api.onfido.com/v3.6/reports/3b5e1a1c-0000-4000-8000-000000000001"
    }}})
}

fn report(name: &str, status: &str, result: &str, sub_result: &str) -> Value {
    json!({
        "id": "rep_1", "name": name, "status": status, "result": result,
        "sub_result": sub_result, "created_at": "2026-12-07T09:58:00Z",
        "check_id": "chk_1",
        "properties": {"nationality": "GBR", "issuing_country": "GBR",
                       "document_type": "passport", "date_of_expiry": "2032-03-01"}
    })
}

#[test]
fn a_webhook_is_pending_and_names_only_a_report_to_refetch() {
    let e = onfido::parse(&bytes(&webhook("report", "report.completed"))).unwrap();
    assert_eq!(e.kind, EventKind::Pending);
    assert_eq!(e.account, "");
    assert!(e.facts.is_empty());
    assert_eq!(
        e.object_id.as_deref(),
        Some("3b5e1a1c-0000-4000-8000-000000000001")
    );
    assert_eq!(e.event_time, Some(t("2026-12-07T10:00:00Z")));
    let e = onfido::parse(&bytes(&webhook("check", "check.completed"))).unwrap();
    assert_eq!((e.kind, e.object_id), (EventKind::Pending, None));
    let e = err(onfido::parse(&bytes(&remove(
        webhook("report", "x"),
        "/payload/object",
        "id",
    ))));
    assert!(e.contains("payload.object.id"), "{e}");
    let e = err(onfido::parse(&bytes(&set(
        webhook("report", "x"),
        "/payload/action",
        json!(1),
    ))));
    assert!(e.contains("payload.action"), "{e}");
    let e = err(onfido::parse(&bytes(&set(
        webhook("report", "x"),
        "/payload/object/completed_at_iso8601",
        json!("later"),
    ))));
    assert!(e.contains("payload.object.completed_at_iso8601"), "{e}");
}

#[test]
fn a_clear_document_report_states_the_nationality() {
    let r = report("document", "complete", "clear", "clear");
    let e = onfido::read_fetched("acct_1", &bytes(&r), j()).unwrap();
    assert_eq!(
        (e.kind, e.account.as_str()),
        (EventKind::Completed, "acct_1")
    );
    assert_eq!(e.object_id.as_deref(), Some("rep_1"));
    assert_eq!(
        citizenship(&e),
        (json!(["GB"]), Some("passport"), Some("GB"))
    );
    assert_eq!(e.facts[0].expires_at, Some(t("2032-03-01T00:00:00Z")));
    // A British Overseas Territories citizen is not a British citizen.
    let bot = set(r, "/properties/nationality", json!("GBD"));
    let bot = set(
        bot,
        "/properties/document_type",
        json!("national_identity_card"),
    );
    assert!(
        onfido::read_fetched("acct_1", &bytes(&bot), j())
            .unwrap()
            .facts
            .is_empty()
    );
}

#[test]
fn every_report_outcome_maps_to_its_kind() {
    let cases = [
        (
            ("document", "complete", "clear", "clear"),
            EventKind::Completed,
        ),
        (
            ("document", "complete", "consider", "rejected"),
            EventKind::Revoked,
        ),
        (
            ("document", "complete", "consider", "suspected"),
            EventKind::Revoked,
        ),
        (
            ("document", "complete", "consider", "caution"),
            EventKind::Pending,
        ),
        (
            ("document", "in_progress", "clear", "clear"),
            EventKind::Pending,
        ),
        (
            ("document", "awaiting_approval", "clear", "clear"),
            EventKind::Pending,
        ),
        (
            ("document", "withdrawn", "clear", "clear"),
            EventKind::Revoked,
        ),
        (
            ("facial_similarity_photo", "complete", "clear", "clear"),
            EventKind::Pending,
        ),
    ];
    for ((name, status, result, sub), kind) in cases {
        let r = report(name, status, result, sub);
        let e = onfido::read_fetched("acct_1", &bytes(&r), j()).unwrap();
        assert_eq!(e.kind, kind, "{name} {status} {result} {sub}");
        assert_eq!(e.facts.is_empty(), kind != EventKind::Completed);
    }
    let e = err(onfido::read_fetched(
        "acct_1",
        &bytes(&set(
            report("document", "complete", "clear", "clear"),
            "/properties/issuing_country",
            json!("QQQ"),
        )),
        j(),
    ));
    assert!(e.contains("properties.issuing_country"), "{e}");
    let e = err(onfido::read_fetched(
        "acct_1",
        &bytes(&json!({"id": "r"})),
        j(),
    ));
    assert!(e.contains("`name`"), "{e}");
}

#[test]
fn the_account_of_a_report_is_read_from_its_checks_tag() {
    use crate::vendor::{ApiCredentials, Refetch, Vendor};
    let creds = ApiCredentials {
        api_key: "tok".into(),
        api_secret: None,
    };
    let lookup = Vendor::Onfido
        .account_lookup(
            &bytes(&report("document", "complete", "clear", "clear")),
            "https://api.eu.onfido.com/",
            &creds,
        )
        .unwrap()
        .unwrap();
    assert_eq!(lookup.url, "https://api.eu.onfido.com/v3.6/checks/chk_1");
    assert_eq!(lookup.method, "GET");
    let check = |tags: Value| bytes(&json!({"id": "chk_1", "tags": tags}));
    assert_eq!(
        Vendor::Onfido
            .account_from_lookup(&check(json!(["vip", "cordon-account:acct-7"])))
            .unwrap(),
        "acct-7"
    );
    for (tags, expected) in [
        (json!(["vip"]), "no `cordon-account:"),
        (
            json!(["cordon-account:a", "cordon-account:b"]),
            "more than one",
        ),
        (json!(["cordon-account:"]), "(account)"),
    ] {
        let e = Vendor::Onfido
            .account_from_lookup(&check(tags))
            .unwrap_err()
            .to_string();
        assert!(e.contains(expected), "{e}");
    }
    // A check id that could leave the path is refused before any request.
    let bad = set(
        report("document", "complete", "clear", "clear"),
        "/check_id",
        json!("../x"),
    );
    assert!(
        Vendor::Onfido
            .account_lookup(&bytes(&bad), "https://x", &creds)
            .is_err()
    );
    // Other vendors' objects name their account themselves.
    assert!(
        Vendor::Veriff
            .account_lookup(b"{}", "https://x", &creds)
            .unwrap()
            .is_none()
    );
}
