use serde_json::json;

use super::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn row(
    id: i64,
    attribute: Attribute,
    value: Value,
    level: VerificationLevel,
    source: &str,
) -> Evidence {
    Evidence {
        id,
        account: "a".into(),
        attribute,
        value,
        level,
        source_kind: SourceKind::KycVendor,
        source: source.into(),
        object_id: None,
        trust_framework: None,
        method: None,
        document_country: None,
        verified_at: Some(t("2026-12-01T00:00:00Z") + jiff::SignedDuration::from_secs(id)),
        expires_at: None,
        received_at: t("2026-12-01T00:00:00Z"),
        delivery_id: None,
        payload_sha256: String::new(),
        withdrawn_at: None,
    }
}

const NOW: &str = "2026-12-07T00:00:00Z";
use VerificationLevel::{Attested, DocumentVerified, SelfDeclared};

fn field<'a>(d: &'a Derived, f: &str) -> Option<&'a Value> {
    d.subject.get(f)
}

#[test]
fn evidence_above_the_record_replaces_it_with_its_provenance() {
    let record = json!({"verification": "self_declared", "citizenships": ["DE"], "name": "A"});
    let d = derive(
        &record,
        &[row(
            1,
            Attribute::Citizenships,
            json!(["US"]),
            DocumentVerified,
            "kyc",
        )],
        t(NOW),
    );
    let c = field(&d, "citizenships").unwrap();
    assert_eq!(c[0]["country"], "US");
    assert_eq!(c[0]["verification"], "document_verified");
    assert_eq!(c[0]["source"], "kyc");
    assert_eq!(c.as_array().unwrap().len(), 1);
    // Untouched fields stay as the record has them.
    assert_eq!(field(&d, "name"), Some(&json!("A")));
    assert!(d.contradictions.is_empty());
}

#[test]
fn a_record_above_the_evidence_stays() {
    let record = json!({"verification": "attested", "citizenships": ["DE"]});
    let d = derive(
        &record,
        &[row(
            1,
            Attribute::Citizenships,
            json!(["US"]),
            DocumentVerified,
            "kyc",
        )],
        t(NOW),
    );
    assert_eq!(field(&d, "citizenships"), Some(&json!(["DE"])));
    assert_eq!(d.basis[0].evidence, None);
}

#[test]
fn the_latest_row_of_a_source_wins_and_withdrawn_or_expired_rows_do_not_count() {
    let older = row(
        1,
        Attribute::ResidenceCountry,
        json!("FR"),
        DocumentVerified,
        "kyc",
    );
    let newer = row(
        2,
        Attribute::ResidenceCountry,
        json!("DE"),
        DocumentVerified,
        "kyc",
    );
    let d = derive(&json!({}), &[newer.clone(), older.clone()], t(NOW));
    assert_eq!(field(&d, "residence_country").unwrap()["country"], "DE");
    assert!(
        d.contradictions.is_empty(),
        "one source never contradicts itself"
    );

    let withdrawn = Evidence {
        withdrawn_at: Some(t(NOW)),
        ..newer.clone()
    };
    let d = derive(&json!({}), &[withdrawn, older.clone()], t(NOW));
    assert_eq!(field(&d, "residence_country").unwrap()["country"], "FR");

    let expired = Evidence {
        expires_at: Some(t("2026-12-02T00:00:00Z")),
        ..older
    };
    let d = derive(&json!({}), &[expired], t(NOW));
    assert_eq!(field(&d, "residence_country"), None);
}

#[test]
fn two_sources_at_the_same_level_add_up_citizenships() {
    let d = derive(
        &json!({}),
        &[
            row(
                1,
                Attribute::Citizenships,
                json!(["DE"]),
                DocumentVerified,
                "a",
            ),
            row(
                2,
                Attribute::Citizenships,
                json!(["US", "DE"]),
                DocumentVerified,
                "b",
            ),
        ],
        t(NOW),
    );
    let c: Vec<&str> = field(&d, "citizenships")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["country"].as_str().unwrap())
        .collect();
    assert_eq!(c, ["DE", "US"]);
    assert!(d.contradictions.is_empty());
}

#[test]
fn contradictions_resolve_to_the_cautious_value_and_are_reported() {
    let d = derive(
        &json!({"us_person": true}),
        &[
            row(1, Attribute::UsPerson, json!(true), Attested, "hr"),
            row(2, Attribute::UsPerson, json!(false), Attested, "kyc"),
            row(
                3,
                Attribute::ResidenceCountry,
                json!("DE"),
                DocumentVerified,
                "a",
            ),
            row(
                4,
                Attribute::ResidenceCountry,
                json!("FR"),
                DocumentVerified,
                "b",
            ),
        ],
        t(NOW),
    );
    assert_eq!(field(&d, "us_person").unwrap()["value"], false);
    assert_eq!(field(&d, "residence_country"), None, "unknown, not a guess");
    assert_eq!(d.contradictions.len(), 2);
    let c = &d.contradictions[0];
    assert_eq!(
        (c.attribute, c.level),
        (Attribute::ResidenceCountry, DocumentVerified)
    );
    assert_eq!(c.resolved, None);
    assert_eq!(d.contradictions[1].resolved, Some(json!(false)));
}

#[test]
fn a_lower_level_never_contradicts_a_higher_one() {
    let d = derive(
        &json!({}),
        &[
            row(1, Attribute::UsPerson, json!(true), SelfDeclared, "me"),
            row(
                2,
                Attribute::UsPerson,
                json!(false),
                DocumentVerified,
                "kyc",
            ),
        ],
        t(NOW),
    );
    assert_eq!(field(&d, "us_person").unwrap()["value"], false);
    assert!(d.contradictions.is_empty());
}

#[test]
fn the_derived_subject_is_a_valid_record() {
    let j = cordon_jurisdiction::Jurisdictions::embedded().unwrap();
    let d = derive(
        &json!({"verification": "none", "residence_country": "UA"}),
        &[
            row(
                1,
                Attribute::Citizenships,
                json!(["US"]),
                DocumentVerified,
                "kyc",
            ),
            row(
                2,
                Attribute::ResidenceRegion,
                json!("UA-43"),
                DocumentVerified,
                "kyc",
            ),
            row(
                3,
                Attribute::Organization,
                json!({"name": "Acme", "country": "US"}),
                Attested,
                "org",
            ),
        ],
        t(NOW),
    );
    cordon_subject::SubjectRecord::from_value(d.subject.clone())
        .into_subject(j)
        .unwrap();
}

#[test]
fn a_declared_region_outside_the_verified_country_is_unknown_and_reported() {
    let record = json!({});
    let d = derive(
        &record,
        &[
            row(
                1,
                Attribute::ResidenceCountry,
                json!("DE"),
                DocumentVerified,
                "kyc",
            ),
            row(
                2,
                Attribute::ResidenceRegion,
                json!("UA-43"),
                SelfDeclared,
                "declared",
            ),
        ],
        t(NOW),
    );
    assert!(field(&d, "residence_region").is_none(), "{}", d.subject);
    assert!(field(&d, "residence_country").is_some());
    assert_eq!(d.contradictions.len(), 1);
    assert_eq!(d.contradictions[0].attribute, Attribute::ResidenceRegion);
    // The derived subject is one a store accepts.
    cordon_subject::SubjectRecord::from_value(d.subject.clone())
        .into_subject(cordon_jurisdiction::Jurisdictions::embedded().unwrap())
        .unwrap();
    // A region that lies in the country stays.
    let d = derive(
        &record,
        &[
            row(
                1,
                Attribute::ResidenceCountry,
                json!("UA"),
                DocumentVerified,
                "kyc",
            ),
            row(
                2,
                Attribute::ResidenceRegion,
                json!("UA-43"),
                SelfDeclared,
                "declared",
            ),
        ],
        t(NOW),
    );
    assert!(field(&d, "residence_region").is_some(), "{}", d.subject);
    assert!(d.contradictions.is_empty());
}

#[test]
fn an_expired_record_value_gives_way_to_evidence_below_it() {
    let record = json!({"verification": "attested", "expires": "2026-12-01T00:00:00Z",
                        "citizenships": ["US"]});
    let kyc = [row(
        1,
        Attribute::Citizenships,
        json!(["CN"]),
        DocumentVerified,
        "kyc",
    )];
    let d = derive(&record, &kyc, t(NOW));
    let c = field(&d, "citizenships").unwrap();
    assert_eq!(c[0]["country"], "CN", "{c}");
    // Before it expires, the attested value stays, and is when to derive again.
    let d = derive(&record, &kyc, t("2026-11-30T00:00:00Z"));
    assert_eq!(field(&d, "citizenships").unwrap(), &json!(["US"]));
    assert_eq!(
        record_expiry(&record, t("2026-11-30T00:00:00Z")),
        Some(t("2026-12-01T00:00:00Z"))
    );
    assert_eq!(record_expiry(&record, t(NOW)), None);
}

#[test]
fn a_second_passport_from_the_same_vendor_adds_a_citizenship() {
    let document = |id, country: &str, session: &str| {
        let mut r = row(
            id,
            Attribute::Citizenships,
            json!([country]),
            DocumentVerified,
            "kyc",
        );
        r.object_id = Some(session.into());
        r.document_country = Some(country.into());
        r
    };
    let first = document(1, "CN", "sess_1");
    let second = document(2, "SG", "sess_2");
    let d = derive(&json!({}), &[first.clone(), second], t(NOW));
    let c = field(&d, "citizenships").unwrap().to_string();
    assert!(c.contains("CN") && c.contains("SG"), "{c}");
    // Within one session, the latest row still wins.
    let again = document(3, "SG", "sess_1");
    let d = derive(&json!({}), &[first, again], t(NOW));
    let c = field(&d, "citizenships").unwrap().to_string();
    assert!(!c.contains("CN") && c.contains("SG"), "{c}");
    // A source stating the whole set replaces its earlier statement.
    let mut earlier = row(
        3,
        Attribute::Citizenships,
        json!(["US"]),
        DocumentVerified,
        "kyc",
    );
    earlier.object_id = Some("evt_8".into());
    let mut whole = row(
        4,
        Attribute::Citizenships,
        json!(["DE"]),
        DocumentVerified,
        "kyc",
    );
    whole.object_id = Some("evt_9".into());
    let d = derive(&json!({}), &[earlier, whole], t(NOW));
    assert_eq!(field(&d, "citizenships").unwrap()[0]["country"], "DE");
}
