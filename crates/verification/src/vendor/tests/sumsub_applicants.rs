use super::*;

fn webhook(ty: &str, answer: Option<&str>, reject: Option<&str>) -> Value {
    let mut v = json!({
        "applicantId": "ap_1", "inspectionId": "in_1", "correlationId": "c_1",
        "externalUserId": "acct_1", "levelName": "basic-kyc-level", "type": ty,
        "reviewStatus": "completed", "createdAtMs": "2026-12-07 10:00:00.123",
        "sandboxMode": false
    });
    if let Some(a) = answer {
        v["reviewResult"] = json!({"reviewAnswer": a});
        if let Some(r) = reject {
            v["reviewResult"]["reviewRejectType"] = json!(r);
        }
    }
    v
}

fn parse(v: &Value) -> Result<Event, PayloadError> {
    sumsub::parse(&bytes(v))
}

#[test]
fn every_review_maps_to_its_kind_and_carries_no_facts() {
    let cases = [
        (
            "applicantReviewed",
            Some("GREEN"),
            None,
            EventKind::Completed,
        ),
        (
            "applicantReviewed",
            Some("RED"),
            Some("FINAL"),
            EventKind::Revoked,
        ),
        ("applicantReviewed", Some("RED"), None, EventKind::Revoked),
        (
            "applicantReviewed",
            Some("RED"),
            Some("RETRY"),
            EventKind::Pending,
        ),
        (
            "applicantReviewed",
            Some("YELLOW"),
            None,
            EventKind::Pending,
        ),
        ("applicantPending", None, None, EventKind::Pending),
        ("applicantCreated", None, None, EventKind::Pending),
        ("applicantOnHold", None, None, EventKind::Pending),
        ("applicantReset", None, None, EventKind::Revoked),
        ("applicantDeleted", None, None, EventKind::Revoked),
    ];
    for (ty, answer, reject, kind) in cases {
        let e = parse(&webhook(ty, answer, reject)).unwrap();
        assert_eq!(e.kind, kind, "{ty} {answer:?} {reject:?}");
        assert!(e.facts.is_empty());
        assert_eq!(
            (e.account.as_str(), e.object_id.as_deref()),
            ("acct_1", Some("ap_1"))
        );
        assert_eq!(e.event_time, Some(t("2026-12-07T10:00:00.123Z")));
    }
}

#[test]
fn missing_and_wrong_fields_name_their_path() {
    let green = webhook("applicantReviewed", Some("GREEN"), None);
    let e = err(parse(&remove(green.clone(), "", "externalUserId")));
    assert!(e.contains("`externalUserId`"), "{e}");
    let e = err(parse(&webhook("applicantReviewed", None, None)));
    assert!(e.contains("`reviewResult`"), "{e}");
    let e = err(parse(&set(
        green.clone(),
        "/reviewResult/reviewAnswer",
        json!("BLUE"),
    )));
    assert!(
        e.contains("reviewResult.reviewAnswer") && e.contains("`BLUE`"),
        "{e}"
    );
    let e = err(parse(&set(
        green.clone(),
        "/reviewResult",
        json!({"reviewAnswer": "RED", "reviewRejectType": 1}),
    )));
    assert!(e.contains("reviewResult.reviewRejectType"), "{e}");
    let e = err(parse(&set(green.clone(), "/applicantId", json!(1))));
    assert!(e.contains("`applicantId`"), "{e}");
    let e = err(parse(&set(green, "/createdAtMs", json!("whenever"))));
    assert!(e.contains("`createdAtMs`"), "{e}");
}

fn applicant(answer: Option<&str>) -> Value {
    let mut v = json!({
        "id": "ap_1", "externalUserId": "acct_1",
        "info": {"firstName": "CHRISTIAN", "nationality": "DEU",
                 "idDocs": [
                    {"idDocType": "ID_CARD", "country": "DEU", "validUntil": "2029-01-01"},
                    {"idDocType": "PASSPORT", "country": "AUT", "validUntil": "2033-06-30"}
                 ]},
        "review": {"reviewStatus": "completed", "reviewDate": "2026-12-07 10:00:00+0000"}
    });
    if let Some(a) = answer {
        v["review"]["reviewResult"] = json!({"reviewAnswer": a});
    }
    v
}

#[test]
fn a_fetched_applicant_states_its_nationality_and_passport() {
    let e = sumsub::read_fetched("acct_1", &bytes(&applicant(Some("GREEN"))), j()).unwrap();
    assert_eq!(e.kind, EventKind::Completed);
    assert_eq!(
        citizenship(&e),
        (json!(["DE"]), Some("passport"), Some("AT"))
    );
    assert_eq!(e.facts[0].expires_at, Some(t("2033-06-30T00:00:00Z")));
    assert_eq!(e.event_time, Some(t("2026-12-07T10:00:00Z")));
    let no_nat = remove(applicant(Some("GREEN")), "/info", "nationality");
    let e = sumsub::read_fetched("acct_1", &bytes(&no_nat), j()).unwrap();
    assert_eq!(citizenship(&e).0, json!(["AT"]));
    let id_only = set(
        no_nat,
        "/info/idDocs",
        json!([{"idDocType": "ID_CARD", "country": "DEU"}]),
    );
    assert!(
        sumsub::read_fetched("acct_1", &bytes(&id_only), j())
            .unwrap()
            .facts
            .is_empty()
    );
    for (answer, kind) in [
        (None, EventKind::Pending),
        (Some("YELLOW"), EventKind::Pending),
        (Some("RED"), EventKind::Revoked),
    ] {
        let e = sumsub::read_fetched("acct_1", &bytes(&applicant(answer)), j()).unwrap();
        assert_eq!((e.kind, e.facts.len()), (kind, 0), "{answer:?}");
    }
    let e = err(sumsub::read_fetched(
        "acct_2",
        &bytes(&applicant(Some("GREEN"))),
        j(),
    ));
    assert!(
        e.contains("`externalUserId`") && e.contains("`acct_2`"),
        "{e}"
    );
    let e = err(sumsub::read_fetched(
        "acct_1",
        &bytes(&set(applicant(Some("GREEN")), "/info/idDocs", json!({}))),
        j(),
    ));
    assert!(e.contains("info.idDocs"), "{e}");
}
