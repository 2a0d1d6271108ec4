use cordon_jurisdiction::Jurisdictions;
use cordon_subject::VerificationLevel;
use serde_json::{Value, json};

use super::*;
use crate::event::EventKind;

fn j() -> &'static Jurisdictions {
    Jurisdictions::embedded().unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Sets the value at a JSON pointer that exists.
fn set(mut v: Value, pointer: &str, value: Value) -> Value {
    *v.pointer_mut(pointer).unwrap() = value;
    v
}

fn remove(mut v: Value, parent: &str, key: &str) -> Value {
    v.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
    v
}

/// The one citizenship fact of `e`: its value, method and document country.
fn citizenship(e: &Event) -> (Value, Option<&str>, Option<&str>) {
    assert_eq!(e.facts.len(), 1, "{e:?}");
    let f = &e.facts[0];
    assert_eq!(f.attribute, Attribute::Citizenships);
    assert_eq!(f.level, VerificationLevel::DocumentVerified);
    (
        f.value.clone(),
        f.method.as_deref(),
        f.document_country.as_deref(),
    )
}

fn err(r: Result<Event, PayloadError>) -> String {
    r.unwrap_err().to_string()
}

mod stripe_identity {
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
        assert!(
            err(stripe::read_fetched("", &bytes(&session("verified")), j())).contains("(account)")
        );
    }
}

mod persona_inquiries {
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
}

mod veriff_decisions {
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
}

mod onfido_reports {
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
}

mod sumsub_applicants {
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
}

mod refetch {
    use super::*;

    fn event(id: Option<&str>) -> Event {
        Event {
            account: "acct_1".into(),
            kind: EventKind::Pending,
            facts: Vec::new(),
            object_id: id.map(str::to_owned),
            event_time: None,
        }
    }

    fn creds(secret: Option<&str>) -> ApiCredentials {
        ApiCredentials {
            api_key: "key_1".into(),
            api_secret: secret.map(str::to_owned),
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn header<'r>(r: &'r FetchRequest, name: &str) -> &'r str {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn each_vendor_s_request_fetches_the_object() {
        let r = Vendor::StripeIdentity
            .refetch(
                &event(Some("vs_1")),
                "https://api.stripe.com/",
                &creds(None),
                now(),
            )
            .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.url,
            "https://api.stripe.com/v1/identity/verification_sessions/vs_1\
             ?expand%5B%5D=last_verification_report\
             &expand%5B%5D=last_verification_report.document.expiration_date"
        );
        assert_eq!(header(&r, "Authorization"), "Bearer key_1");
        let r = Vendor::Persona
            .refetch(
                &event(Some("inq_1")),
                "https://withpersona.com",
                &creds(None),
                now(),
            )
            .unwrap();
        assert_eq!(
            r.url,
            "https://withpersona.com/api/v1/inquiries/inq_1?include=verifications"
        );
        assert_eq!(header(&r, "Authorization"), "Bearer key_1");
        let r = Vendor::Onfido
            .refetch(
                &event(Some("rep-1")),
                "https://api.eu.onfido.com",
                &creds(None),
                now(),
            )
            .unwrap();
        assert_eq!(r.url, "https://api.eu.onfido.com/v3.6/reports/rep-1");
        assert_eq!(header(&r, "Authorization"), "Token token=key_1");
    }

    #[test]
    fn veriff_and_sumsub_requests_are_signed() {
        // Expected MACs computed independently (Python's hmac module).
        let r = Vendor::Veriff
            .refetch(
                &event(Some("sess-1")),
                "https://stationapi.veriff.com",
                &creds(Some("veriff-secret")),
                now(),
            )
            .unwrap();
        assert_eq!(
            r.url,
            "https://stationapi.veriff.com/v1/sessions/sess-1/decision"
        );
        assert_eq!(header(&r, "X-AUTH-CLIENT"), "key_1");
        assert_eq!(
            header(&r, "X-HMAC-SIGNATURE"),
            "318b1af663421ba20b3abe5f5d49fd5b7ee45d647d439ab5bed643212350963b"
        );
        let r = Vendor::Sumsub
            .refetch(
                &event(Some("ap_1")),
                "https://api.sumsub.com",
                &creds(Some("sumsub-app-secret")),
                now(),
            )
            .unwrap();
        assert_eq!(
            r.url,
            "https://api.sumsub.com/resources/applicants/ap_1/one"
        );
        assert_eq!(header(&r, "X-App-Token"), "key_1");
        assert_eq!(header(&r, "X-App-Access-Ts"), "1800000000");
        assert_eq!(
            header(&r, "X-App-Access-Sig"),
            "8be6e728180b3d56bb9abd2de463b0e607fb94eee9e21e110568e3e6d0bb1c90"
        );
        for v in [Vendor::Veriff, Vendor::Sumsub] {
            assert_eq!(
                v.refetch(&event(Some("x")), "https://h", &creds(None), now()),
                Err(RefetchError::MissingSecret { vendor: v.as_str() })
            );
        }
    }

    #[test]
    fn ids_and_base_urls_that_could_go_elsewhere_are_refused() {
        for v in Vendor::ALL {
            let c = creds(Some("s"));
            assert_eq!(
                v.refetch(&event(None), "https://h", &c, now()),
                Err(RefetchError::NoObjectId)
            );
            let long = "a".repeat(MAX_OBJECT_ID_LEN + 1);
            for bad in [
                "",
                "..",
                "../v1/customers",
                "a/b",
                "a?b",
                "a b",
                "a%2F",
                long.as_str(),
            ] {
                assert_eq!(
                    v.refetch(&event(Some(bad)), "https://h", &c, now()),
                    Err(RefetchError::BadObjectId(bad.into())),
                    "{v:?} {bad}"
                );
            }
            for base in ["", "ftp://h", "api.stripe.com", "//h"] {
                assert_eq!(
                    v.refetch(&event(Some("x")), base, &c, now()),
                    Err(RefetchError::BadBaseUrl(base.into()))
                );
            }
            assert!(
                v.refetch(&event(Some("x")), "http://127.0.0.1:9", &c, now())
                    .is_ok()
            );
        }
    }

    #[test]
    fn credentials_are_not_shown() {
        let c = ApiCredentials {
            api_key: "sk_live_secret".into(),
            api_secret: Some("hidden".into()),
        };
        assert!(!format!("{c:?}").contains("secret"));
        let r = Vendor::StripeIdentity
            .refetch(&event(Some("vs_1")), "https://h", &c, now())
            .unwrap();
        let shown = format!("{r:?}");
        assert!(
            shown.contains("Authorization") && !shown.contains("sk_live"),
            "{shown}"
        );
    }

    #[test]
    fn names_read_back() {
        for v in Vendor::ALL {
            assert_eq!(Vendor::parse(v.as_str()), Some(v));
        }
        assert_eq!(Vendor::parse("cordon"), None);
    }

    #[test]
    fn a_refetch_round_trip_goes_through_the_trait() {
        let fetched = json!({"id": "rep_1", "name": "document", "status": "complete",
                             "result": "clear", "properties": {"nationality": "USA",
                             "document_type": "driving_licence", "issuing_country": "USA"}});
        let refetch: &dyn Refetch = &Vendor::Onfido;
        let e = refetch
            .read_fetched("acct_7", &bytes(&fetched), j())
            .unwrap();
        assert_eq!(e.account, "acct_7");
        assert_eq!(
            citizenship(&e),
            (json!(["US"]), Some("driving_licence"), Some("US"))
        );
    }
}
