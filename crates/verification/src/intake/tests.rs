//! Deliveries through [`Source::receive`], one per vendor, each signed with
//! a MAC computed independently (Python's `hmac` module) over the exact
//! body below.

use serde_json::json;

use super::*;
use crate::EventKind;
use crate::webhook::{SharedSecret, SumsubAlgorithm};

const NOW: i64 = 1_800_000_000;

fn j() -> &'static Jurisdictions {
    Jurisdictions::embedded().unwrap()
}

fn now() -> Timestamp {
    Timestamp::from_second(NOW).unwrap()
}

fn secrets(s: &str) -> Vec<SharedSecret> {
    vec![SharedSecret::new(s).unwrap()]
}

fn source(format: Format) -> Source {
    Source {
        name: format.name().into(),
        format,
        kind: SourceKind::KycVendor,
        max_level: VerificationLevel::DocumentVerified,
    }
}

fn headers(pairs: &[(&str, &str)]) -> Headers {
    Headers::new(
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    )
}

const STRIPE: &str = r#"{"id":"evt_9","type":"identity.verification_session.verified","created":1800000000,"data":{"object":{"id":"vs_9","object":"identity.verification_session","metadata":{"cordon_account":"acct_9"},"last_verification_report":{"id":"vr_9","created":1799999990,"document":{"status":"verified","type":"passport","issuing_country":"US","expiration_date":{"day":1,"month":1,"year":2035}}}}}}"#;
const STRIPE_SIG: &str = "7deade93cd1f5d7066799150b227e9f0ee32d4f48dc67d2a53360ae2d8ecf36f";

fn stripe() -> Source {
    source(Format::StripeIdentity(StripeSignature {
        secrets: secrets("whsec_intake"),
        tolerance: 300,
    }))
}

#[test]
fn a_stripe_delivery_is_received_with_its_facts() {
    let h = headers(&[("Stripe-Signature", &format!("t={NOW},v1={STRIPE_SIG}"))]);
    let r = stripe().receive(&h, STRIPE.as_bytes(), now(), j()).unwrap();
    assert_eq!(r.delivery.id.as_deref(), Some("evt_9"));
    assert_eq!(r.event.kind, EventKind::Completed);
    assert_eq!(r.event.account, "acct_9");
    assert_eq!(r.event.facts.len(), 1);
    assert_eq!(r.event.facts[0].value, json!(["US"]));
    assert_eq!(r.payload_sha256, sha256_hex(STRIPE.as_bytes()));
    assert_eq!(stripe().format.name(), "stripe_identity");
}

#[test]
fn a_stripe_fact_above_the_source_s_level_is_refused() {
    let mut s = stripe();
    s.max_level = VerificationLevel::SelfDeclared;
    let h = headers(&[("Stripe-Signature", &format!("t={NOW},v1={STRIPE_SIG}"))]);
    assert_eq!(
        s.receive(&h, STRIPE.as_bytes(), now(), j()).unwrap_err(),
        IntakeError::LevelTooHigh {
            attribute: "citizenships",
            level: "document_verified",
            max: "self_declared"
        }
    );
}

#[test]
fn nothing_is_read_from_a_body_whose_signature_fails() {
    // A body that would not parse: the signature error comes first.
    let h = headers(&[("Stripe-Signature", &format!("t={NOW},v1={STRIPE_SIG}"))]);
    assert!(matches!(
        stripe().receive(&h, b"{", now(), j()),
        Err(IntakeError::Signature(SignatureError::Mismatch { .. }))
    ));
    let big = vec![b' '; MAX_BODY + 1];
    assert_eq!(
        stripe().receive(&h, &big, now(), j()).unwrap_err(),
        IntakeError::TooLarge { len: MAX_BODY + 1 }
    );
}

const PERSONA: &str = r#"{"data":{"type":"event","id":"evt_p9","attributes":{"name":"inquiry.declined","created-at":"2027-01-15T08:00:00.000Z","payload":{"data":{"type":"inquiry","id":"inq_9","attributes":{"reference-id":"acct_9"}}}}}}"#;
const PERSONA_SIG: &str = "1164567e4799d94861ed3285a43585e08e3143b0e314e1038f8a81f1cba37e7c";

#[test]
fn a_persona_delivery_is_received() {
    let s = source(Format::Persona(PersonaSignature {
        secrets: secrets("wbhsec_intake"),
        tolerance: 300,
    }));
    let h = headers(&[(
        "Persona-Signature",
        &format!("t={},v1=00 t={NOW},v1={PERSONA_SIG}", NOW - 5),
    )]);
    let r = s.receive(&h, PERSONA.as_bytes(), now(), j()).unwrap();
    assert_eq!(r.delivery.id.as_deref(), Some("evt_p9"));
    assert_eq!(
        (r.event.kind, r.event.account.as_str()),
        (EventKind::Revoked, "acct_9")
    );
    assert_eq!(r.event.object_id.as_deref(), Some("inq_9"));
}

const VERIFF: &str = r#"{"status":"success","verification":{"id":"sess-9","attemptId":"att-9","status":"resubmission_requested","vendorData":"acct_9"}}"#;
const VERIFF_SIG: &str = "154be61bd5dedb5b9c0a7de19ac781a1dbba19742230a7a1de5bf01d9cf2810b";

#[test]
fn a_veriff_delivery_is_received() {
    let s = source(Format::Veriff(VeriffSignature {
        api_key: "veriff-key".into(),
        secrets: secrets("veriff-intake"),
    }));
    let h = headers(&[
        ("X-AUTH-CLIENT", "veriff-key"),
        ("X-HMAC-SIGNATURE", VERIFF_SIG),
    ]);
    let r = s.receive(&h, VERIFF.as_bytes(), now(), j()).unwrap();
    assert_eq!(
        r.delivery.id.as_deref(),
        Some("sess-9:att-9:resubmission_requested")
    );
    assert_eq!(r.event.kind, EventKind::Pending);
}

const ONFIDO: &str = r#"{"payload":{"resource_type":"report","action":"report.completed","object":{"id":"rep-9","status":"complete"}}}"#;
const ONFIDO_SIG: &str = "fa7af526866c3e83916a2348122193087957fb2eef781abe9915028e84bbd2fe";

#[test]
fn an_onfido_delivery_is_received_pending_and_its_report_read_when_fetched() {
    let s = source(Format::Onfido(OnfidoSignature {
        tokens: secrets("onfido-intake"),
    }));
    let h = headers(&[("X-SHA2-Signature", ONFIDO_SIG)]);
    let r = s.receive(&h, ONFIDO.as_bytes(), now(), j()).unwrap();
    assert_eq!(r.delivery.id.as_deref(), Some("rep-9:report.completed"));
    assert_eq!(
        (r.event.kind, r.event.object_id.as_deref()),
        (EventKind::Pending, Some("rep-9"))
    );
    let report = json!({"id": "rep-9", "name": "document", "status": "complete",
                        "result": "clear", "properties": {"nationality": "NLD",
                        "issuing_country": "NLD", "document_type": "passport"}});
    let body = report.to_string();
    let (e, sha) = s.read_fetched("acct_9", body.as_bytes(), j()).unwrap();
    assert_eq!(e.kind, EventKind::Completed);
    assert_eq!(e.facts[0].value, json!(["NL"]));
    assert_eq!(sha, sha256_hex(body.as_bytes()));
    let mut low = s.clone();
    low.max_level = VerificationLevel::SelfDeclared;
    assert!(matches!(
        low.read_fetched("acct_9", body.as_bytes(), j()),
        Err(IntakeError::LevelTooHigh { .. })
    ));
}

const SUMSUB: &str = r#"{"applicantId":"ap_9","type":"applicantReviewed","externalUserId":"acct_9","createdAtMs":"2027-01-15 08:00:00.000","reviewResult":{"reviewAnswer":"GREEN"}}"#;
const SUMSUB_SIG512: &str = "2e0800762059d9ac20f1dcb5031563f7db80b9ec9cfa3d206b0cdf3d9c17a83886eee0d7616ba735efcb9e0ed39c2139654b0d22f9ea285a3c2a6653fb14d5bf";

#[test]
fn a_sumsub_delivery_is_received() {
    let s = source(Format::Sumsub(SumsubSignature {
        secrets: secrets("sumsub-intake"),
        algorithms: SumsubAlgorithm::ALL.to_vec(),
    }));
    let h = headers(&[
        ("X-Payload-Digest", SUMSUB_SIG512),
        ("X-Payload-Digest-Alg", "HMAC_SHA512_HEX"),
    ]);
    let r = s.receive(&h, SUMSUB.as_bytes(), now(), j()).unwrap();
    assert_eq!(
        r.delivery.id.as_deref(),
        Some("ap_9:applicantReviewed:2027-01-15 08:00:00.000")
    );
    assert_eq!(
        (r.event.kind, r.event.facts.len()),
        (EventKind::Completed, 0)
    );
}

#[test]
fn a_cordon_source_has_nothing_to_refetch() {
    let s = source(Format::Cordon(StandardWebhooks {
        secrets: Vec::new(),
        tolerance: 300,
    }));
    assert_eq!(s.format.vendor(), None);
    assert_eq!(s.format.name(), "cordon");
    let e = s.read_fetched("a", b"{}", j()).unwrap_err().to_string();
    assert!(e.contains("nothing to refetch"), "{e}");
}
