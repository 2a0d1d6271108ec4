use serde_json::json;

use super::*;
use crate::{Attested, SubjectRecord, VerificationLevel as L};

fn j() -> &'static Jurisdictions {
    Jurisdictions::embedded().unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

fn full() -> Value {
    json!({
        "number": "D1234567", "authority": "BIS",
        "directives": ["foreign-national-frontier-2026"],
        "holder": "northwind", "individuals": ["nw-ana", "nw-bo"],
        "excluded_nationalities": ["cn", "RU"], "models": ["fable-5"],
        "conditions": "  Not for re-export.  ",
        "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"
    })
}

#[test]
fn a_licence_object_reads_every_field() {
    let l = Licence::from_value(&full(), j(), None).unwrap();
    assert_eq!(l.number, "D1234567");
    assert_eq!(l.authority, "BIS");
    assert_eq!(l.directives, ["foreign-national-frontier-2026"]);
    assert_eq!(l.holder, "northwind");
    assert_eq!(l.individuals, ["nw-ana", "nw-bo"]);
    assert_eq!(l.excluded_nationalities, [cc("CN"), cc("RU")]);
    assert_eq!(l.models, ["fable-5"]);
    assert_eq!(l.conditions.as_deref(), Some("Not for re-export."));
    assert_eq!(l.issued, t("2026-11-01T00:00:00Z"));
    assert_eq!(l.expires, t("2027-11-01T00:00:00Z"));
    // The JSON form reads back as the same licence.
    assert_eq!(Licence::from_value(&l.to_json(), j(), None).unwrap(), l);
}

#[test]
fn lists_default_to_empty_and_issued_to_the_given_time() {
    let v = json!({"number": "L-1", "authority": "BIS", "directives": ["d"],
                   "holder": "acme", "expires": "2027-01-01T00:00:00Z"});
    assert!(matches!(
        Licence::from_value(&v, j(), None),
        Err(RecordError::Field { field, .. }) if field == "issued"
    ));
    let l = Licence::from_value(&v, j(), Some(t("2026-12-01T00:00:00Z"))).unwrap();
    assert!(l.individuals.is_empty() && l.excluded_nationalities.is_empty());
    assert!(l.models.is_empty() && l.conditions.is_none());
    assert_eq!(l.issued, t("2026-12-01T00:00:00Z"));
    let out = l.to_json();
    assert!(out.get("conditions").is_none(), "{out}");
    assert_eq!(out["individuals"], json!([]));
}

#[test]
fn bad_licence_fields_are_named_by_path() {
    let with = |k: &str, v: Value| {
        let mut l = full();
        l[k] = v;
        json!({"licences": [full(), l]})
    };
    let without = |k: &str| {
        let mut l = full();
        l.as_object_mut().unwrap().remove(k);
        json!({"licences": [l]})
    };
    let cases = [
        (json!({"licences": {}}), "licences", "list"),
        (json!({"licences": [7]}), "licences[0]", "licence object"),
        (
            with("number", json!("D 12")),
            "licences[1].number",
            "`D 12`",
        ),
        (
            json!({"licences": [full(), full()]}),
            "licences[1].number",
            "twice",
        ),
        (
            with("authority", json!(" ")),
            "licences[1].authority",
            "empty",
        ),
        (
            with("directives", json!([])),
            "licences[1].directives",
            "at least one",
        ),
        (
            with("directives", json!(["Bad Id"])),
            "licences[1].directives[0]",
            "directive id",
        ),
        (
            with("holder", json!("North Wind")),
            "licences[1].holder",
            "account id",
        ),
        (
            with("individuals", json!("nw-ana")),
            "licences[1].individuals",
            "list",
        ),
        (
            with("individuals", json!(["nw-ana", "nw-ana"])),
            "licences[1].individuals[1]",
            "twice",
        ),
        (
            with("individuals", json!(["northwind"])),
            "licences[1].individuals[0]",
            "holder",
        ),
        (
            with("excluded_nationalities", json!(["CN", "XZ"])),
            "licences[1].excluded_nationalities[1]",
            "`XZ`",
        ),
        (
            with("models", json!(["fable-5", ""])),
            "licences[1].models[1]",
            "model id",
        ),
        (
            with("models", json!(["fable-5", 5])),
            "licences[1].models[1]",
            "string",
        ),
        (
            with("conditions", json!(7)),
            "licences[1].conditions",
            "string",
        ),
        (
            with("issued", json!("yesterday")),
            "licences[1].issued",
            "RFC 3339",
        ),
        (
            with("expires", json!("2026-10-01T00:00:00Z")),
            "licences[1].expires",
            "not after",
        ),
        (
            with("holders", json!("x")),
            "licences[1].holders",
            "unknown field",
        ),
        (without("number"), "licences[0].number", "missing"),
        (without("authority"), "licences[0].authority", "missing"),
        (without("holder"), "licences[0].holder", "missing"),
        (without("expires"), "licences[0].expires", "missing"),
        (
            without("directives"),
            "licences[0].directives",
            "at least one",
        ),
    ];
    for (record, field, needle) in cases {
        match SubjectRecord::from_value(record.clone()).into_subject(j()) {
            Err(RecordError::Field { field: f, message }) => {
                assert_eq!(f, field, "{record}: {message}");
                assert!(message.contains(needle), "{record}: {message}");
            }
            other => panic!("{record}: expected a field error, got {other:?}"),
        }
    }
}

#[test]
fn a_subject_without_licences_serialises_as_before() {
    let s = SubjectRecord::from_value(json!({"citizenships": ["DE"]}))
        .into_subject(j())
        .unwrap();
    assert!(s.licences.is_empty());
    let out = serde_json::to_value(&s).unwrap();
    assert!(out.get("licences").is_none(), "{out}");
    let s = SubjectRecord::from_value(json!({"licences": [full()]}))
        .into_subject(j())
        .unwrap();
    assert_eq!(s.licences.len(), 1);
    let out = serde_json::to_value(&s).unwrap();
    assert_eq!(out["licences"][0]["number"], "D1234567");
}

fn person(id: &str, citizenships: Option<&[(&str, L)]>) -> Subject {
    Subject {
        id: Some(id.to_owned()),
        citizenships: citizenships
            .map(|cs| cs.iter().map(|(c, l)| Attested::new(cc(c), *l)).collect()),
        ..Subject::default()
    }
}

#[test]
fn who_a_licence_covers() {
    let l = Licence::from_value(&full(), j(), None).unwrap();
    let at = t("2026-12-10T00:00:00Z");
    let dv = L::DocumentVerified;
    let org = Subject {
        id: Some("northwind".into()),
        kind: SubjectKind::Organization,
        ..Subject::default()
    };
    assert_eq!(l.covers(&org, dv, at), Some(LicenceBasis::Holder));
    // The holder's id on an individual's account is not the organisation.
    assert_eq!(l.covers(&person("northwind", None), dv, at), None);
    let de = [("DE", dv)];
    assert_eq!(
        l.covers(&person("nw-ana", Some(&de)), dv, at),
        Some(LicenceBasis::NamedIndividual)
    );
    // A member the licence does not name is not covered.
    assert_eq!(l.covers(&person("nw-cy", Some(&de)), dv, at), None);
    // Unknown citizenship: not recorded, or below the level, or expired.
    assert_eq!(l.covers(&person("nw-ana", None), dv, at), None);
    let weak = [("DE", L::SelfDeclared)];
    assert_eq!(l.covers(&person("nw-ana", Some(&weak)), dv, at), None);
    assert_eq!(
        l.covers(&person("nw-ana", Some(&weak)), L::SelfDeclared, at),
        Some(LicenceBasis::NamedIndividual)
    );
    let mut expired = person("nw-ana", Some(&de));
    if let Some(c) = expired.citizenships.as_mut().and_then(|c| c.first_mut()) {
        c.provenance.expires = Some(t("2026-12-01T00:00:00Z"));
    }
    assert_eq!(l.covers(&expired, dv, at), None);
    // Excluded nationalities, alone or beside another.
    assert_eq!(
        l.covers(&person("nw-ana", Some(&[("CN", dv)])), dv, at),
        None
    );
    assert_eq!(
        l.covers(&person("nw-ana", Some(&[("DE", dv), ("RU", dv)])), dv, at),
        None
    );
    // One unqualified citizenship among known ones is unknown too.
    assert_eq!(
        l.covers(
            &person("nw-ana", Some(&[("DE", dv), ("FR", L::SelfDeclared)])),
            dv,
            at
        ),
        None
    );
    // A stateless person (a recorded empty list) holds no excluded nationality.
    assert_eq!(
        l.covers(&person("nw-ana", Some(&[])), dv, at),
        Some(LicenceBasis::NamedIndividual)
    );
    // A subject without an id is nobody the licence names.
    assert_eq!(l.covers(&Subject::default(), dv, at), None);
}

#[test]
fn a_licence_is_in_force_from_its_issue_until_its_expiry() {
    let l = Licence::from_value(&full(), j(), None).unwrap();
    assert!(!l.in_force(t("2026-10-31T23:59:59Z")));
    assert!(l.in_force(t("2026-11-01T00:00:00Z")));
    assert!(l.in_force(t("2027-10-31T23:59:59Z")));
    assert!(!l.in_force(t("2027-11-01T00:00:00Z")));
    assert!(l.lifts("foreign-national-frontier-2026"));
    assert!(!l.lifts("restricted-parties"));
}

#[test]
fn account_ids_have_one_form() {
    assert!(is_account_id("nw-ana.2_x"));
    for bad in ["", "A", "a b", &"x".repeat(65)] {
        assert!(!is_account_id(bad), "{bad}");
    }
    assert!(is_account_id(&"x".repeat(64)));
}
