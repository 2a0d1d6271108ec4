//! Licence records: which licence lifts which directive, for whom, when and
//! for which model — one case per rule, and a property test of the whole
//! rule against an independent statement of it.

use cordon_catalog::Resolution;
use cordon_policy::{Effect, Exempted, Trace};
use cordon_subject::{Licence, LicenceBasis, Subject};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::support::*;

const ORDER: &str = "foreign-national-frontier-2026";

/// A licence of `acme` (Acme Labs) under the foreign-national order, naming
/// `acme-ana`, excluding Chinese nationals, for `fable-5`; `edit` changes it.
fn licence(edit: impl FnOnce(&mut Value)) -> Value {
    let mut l = json!({
        "number": "D1234567", "authority": "BIS", "directives": [ORDER],
        "holder": "acme", "individuals": ["acme-ana"],
        "excluded_nationalities": ["CN"], "models": ["fable-5"],
        "conditions": "No re-export.",
        "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"
    });
    edit(&mut l);
    l
}

/// A verified foreign national of `citizenships` at Acme Labs (which holds
/// no file exemption), with `licences`.
fn member(id: &str, citizenships: Value, licences: &[Value]) -> Subject {
    subject(
        &json!({
            "id": id, "verification": "document_verified", "citizenships": citizenships,
            "permanent_residencies": [], "protected_individual": false,
            "organization": {"name": "Acme Labs", "verification": "attested"},
            "licences": licences,
        })
        .to_string(),
    )
}

/// Acme Labs' own account, incorporated in Germany. The order is about
/// natural persons, so on its own account (no end user behind it) the
/// order's answer is its unknown: verification required.
fn holder(licences: &[Value]) -> Subject {
    subject(
        &json!({
            "id": "acme", "kind": "organization", "verification": "attested",
            "name": "Acme Labs", "organization": {"name": "Acme Labs", "country": "DE"},
            "licences": licences,
        })
        .to_string(),
    )
}

/// The shipped set, loaded once for the many cases of the property test.
fn policy() -> &'static cordon_policy::Policy {
    static POLICY: std::sync::OnceLock<cordon_policy::Policy> = std::sync::OnceLock::new();
    POLICY.get_or_init(shipped)
}

fn effect(who: &Subject, model: &str, at: &str) -> Effect {
    ask(policy(), model).from("DE").at(at).decide(who).effect
}

#[test]
fn the_holder_organisation_itself_is_covered() {
    assert_eq!(
        effect(&holder(&[]), "fable-5", AFTER_GRACE),
        Effect::VerificationRequired
    );
    let who = holder(&[licence(|_| {})]);
    let p = shipped();
    let e = ask(&p, "fable-5").from("DE").explain(&who);
    assert_eq!(e.effect, Effect::Allow);
    let r = e.reasons.iter().find(|r| r.id == ORDER).unwrap();
    assert_eq!(
        r.effect_before_exemption,
        Some(Effect::VerificationRequired)
    );
    let x = r.exemption.as_ref().unwrap();
    assert_eq!(
        (x.licence.as_str(), x.holder.as_str()),
        ("D1234567", "acme")
    );
    assert_eq!(x.basis, Some(LicenceBasis::Holder));
    assert_eq!(x.authority.as_deref(), Some("BIS"));
    assert_eq!(x.conditions.as_deref(), Some("No re-export."));
}

#[test]
fn a_named_individual_is_covered() {
    let without = member("acme-ana", json!(["DE"]), &[]);
    assert_eq!(effect(&without, "fable-5", AFTER_GRACE), Effect::Deny);
    let who = member("acme-ana", json!(["DE"]), &[licence(|_| {})]);
    let p = shipped();
    let e = ask(&p, "fable-5").from("DE").explain(&who);
    assert_eq!(e.effect, Effect::Allow);
    let r = e.reasons.iter().find(|r| r.id == ORDER).unwrap();
    assert_eq!(
        r.exemption.as_ref().unwrap().basis,
        Some(LicenceBasis::NamedIndividual)
    );
    let text = e.to_text();
    assert!(
        text.contains("exempted by licence D1234567 (acme)"),
        "{text}"
    );
    assert!(text.contains("as a named individual"), "{text}");
    assert!(text.contains("No re-export."), "{text}");
}

#[test]
fn an_unnamed_member_of_the_holder_is_not_covered() {
    let who = member("acme-bo", json!(["DE"]), &[licence(|_| {})]);
    assert_eq!(effect(&who, "fable-5", AFTER_GRACE), Effect::Deny);
    // Nor is anyone when the licence names nobody: it is the holder's own.
    let who = member(
        "acme-ana",
        json!(["DE"]),
        &[licence(|l| l["individuals"] = json!([]))],
    );
    assert_eq!(effect(&who, "fable-5", AFTER_GRACE), Effect::Deny);
}

#[test]
fn an_excluded_nationality_known_or_unknown_is_not_covered() {
    let chinese = member("acme-ana", json!(["CN"]), &[licence(|_| {})]);
    assert_eq!(effect(&chinese, "fable-5", AFTER_GRACE), Effect::Deny);
    // Citizenship known only at self_declared, below the order's
    // document_verified: the order asks to verify, and the licence cannot
    // tell whether the person is Chinese, so it does not lift that.
    let unknown = subject(
        &json!({"id": "acme-ana", "us_person": {"value": false, "verification": "attested"},
                "citizenships": [{"country": "DE", "verification": "self_declared"}],
                "licences": [licence(|_| {})]})
        .to_string(),
    );
    assert_eq!(
        effect(&unknown, "fable-5", AFTER_GRACE),
        Effect::VerificationRequired
    );
    // Citizenship not recorded at all: the same, even with no exclusion.
    let unrecorded = |l: Value| {
        subject(
            &json!({"id": "acme-ana", "us_person": {"value": false, "verification": "attested"},
                    "licences": [l]})
            .to_string(),
        )
    };
    assert_eq!(
        effect(&unrecorded(licence(|_| {})), "fable-5", AFTER_GRACE),
        Effect::VerificationRequired
    );
    assert_eq!(
        effect(
            &unrecorded(licence(|l| l["excluded_nationalities"] = json!([]))),
            "fable-5",
            AFTER_GRACE
        ),
        Effect::VerificationRequired
    );
}

#[test]
fn a_refusal_says_why_a_licence_naming_the_account_did_not_lift_it() {
    let p = policy();
    let warning = |who: &Subject, model: &str, at: &str| {
        let e = ask(p, model).from("DE").at(at).explain(who);
        assert!(e.effect > Effect::AllowWithObligations, "{:?}", e.effect);
        e.warnings
            .into_iter()
            .filter(|w| w.starts_with("licence D1234567 does not lift"))
            .collect::<Vec<_>>()
    };
    let dual = member("acme-ana", json!(["DE", "CN"]), &[licence(|_| {})]);
    let w = warning(&dual, "fable-5", AFTER_GRACE);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("excludes nationals of CN"), "{w:?}");
    let unknown = subject(
        &json!({"id": "acme-ana", "us_person": {"value": false, "verification": "attested"},
                "licences": [licence(|_| {})]})
        .to_string(),
    );
    let w = warning(&unknown, "fable-5", AFTER_GRACE);
    assert!(w[0].contains("known at document_verified"), "{w:?}");
    let ana = member("acme-ana", json!(["DE"]), &[licence(|_| {})]);
    assert!(warning(&ana, "mythos-5", AFTER_GRACE)[0].contains("covers only fable-5"));
    assert!(warning(&ana, "fable-5", "2027-12-01T00:00:00Z")[0].contains("expired"));
    // Someone the licence does not name is told nothing about it.
    let bo = member("acme-bo", json!(["DE"]), &[licence(|_| {})]);
    assert!(warning(&bo, "fable-5", AFTER_GRACE).is_empty());
}

#[test]
fn a_dual_national_with_one_excluded_nationality_is_not_covered() {
    let dual = member("acme-ana", json!(["DE", "CN"]), &[licence(|_| {})]);
    assert_eq!(effect(&dual, "fable-5", AFTER_GRACE), Effect::Deny);
    let other = member("acme-ana", json!(["DE", "FR"]), &[licence(|_| {})]);
    assert_eq!(effect(&other, "fable-5", AFTER_GRACE), Effect::Allow);
}

#[test]
fn an_expired_licence_lifts_nothing() {
    let who = member("acme-ana", json!(["DE"]), &[licence(|_| {})]);
    assert_eq!(
        effect(&who, "fable-5", "2027-10-31T23:59:59Z"),
        Effect::Allow
    );
    assert_eq!(
        effect(&who, "fable-5", "2027-11-01T00:00:00Z"),
        Effect::Deny
    );
}

#[test]
fn a_licence_not_yet_issued_lifts_nothing() {
    let who = member(
        "acme-ana",
        json!(["DE"]),
        &[licence(|l| l["issued"] = json!("2026-12-10T00:00:01Z"))],
    );
    assert_eq!(effect(&who, "fable-5", AFTER_GRACE), Effect::Deny);
    assert_eq!(
        effect(&who, "fable-5", "2026-12-10T00:00:01Z"),
        Effect::Allow
    );
}

#[test]
fn a_licence_lifts_only_the_models_it_names() {
    let who = member("acme-ana", json!(["DE"]), &[licence(|_| {})]);
    assert_eq!(effect(&who, "mythos-5", AFTER_GRACE), Effect::Deny);
    // Names resolve through the catalog: an alias names its model.
    let alias = member(
        "acme-ana",
        json!(["DE"]),
        &[licence(|l| l["models"] = json!(["mythos"]))],
    );
    assert_eq!(effect(&alias, "mythos-5", AFTER_GRACE), Effect::Allow);
    assert_eq!(effect(&alias, "fable-5", AFTER_GRACE), Effect::Deny);
    // No models: every model the directive covers.
    let all = member(
        "acme-ana",
        json!(["DE"]),
        &[licence(|l| l["models"] = json!([]))],
    );
    assert_eq!(effect(&all, "mythos-5", AFTER_GRACE), Effect::Allow);
    assert_eq!(effect(&all, "fable-5", AFTER_GRACE), Effect::Allow);
}

#[test]
fn a_licence_lifts_only_the_directives_it_names() {
    let who = member(
        "acme-ana",
        json!(["DE"]),
        &[licence(|l| l["directives"] = json!(["restricted-parties"]))],
    );
    assert_eq!(effect(&who, "fable-5", AFTER_GRACE), Effect::Deny);
    // And lifting one directive leaves the others deciding: a request from
    // Iran is refused by the sanctions pack whatever the licence says.
    let licensed = member("acme-ana", json!(["DE"]), &[licence(|_| {})]);
    let p = shipped();
    let e = ask(&p, "fable-5").from("IR").explain(&licensed);
    assert_eq!(e.effect, Effect::Deny);
    assert_eq!(e.decided_by.as_deref(), Some("ofac-iran"));
}

#[test]
fn decision_json_for_a_licensed_named_individual() {
    let who = member("acme-ana", json!(["DE"]), &[licence(|_| {})]);
    let p = shipped();
    let e = ask(&p, "fable-5").from("DE").explain(&who);
    let mut v = serde_json::to_value(&e).unwrap();
    v["policy_version"] = "[policy version]".into();
    insta::assert_json_snapshot!(v);
}

#[test]
fn decision_text_for_a_licensed_holder() {
    let p = shipped();
    let e = ask(&p, "fable-5")
        .from("DE")
        .explain(&holder(&[licence(|_| {})]));
    insta::assert_snapshot!(e.to_text().replace(p.version(), "[policy version]"));
}

/// Who asks, in the property test.
#[derive(Debug, Clone, Copy)]
enum Role {
    Holder,
    Named,
    Unnamed,
}

const COUNTRIES: [&str; 4] = ["DE", "CN", "FR", "RU"];
const MODELS: [&str; 2] = ["fable-5", "mythos-5"];

fn hours(h: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_hours(h)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The engine lifts the order exactly when the rule, stated here again
    /// independently, says the licence applies.
    #[test]
    fn a_licence_lifts_the_order_exactly_when_every_condition_holds(
        names_order in any::<bool>(),
        issued_h in -48i64..48,
        span_h in 1i64..96,
        licence_models in proptest::sample::subsequence(MODELS.to_vec(), 0..=2),
        model in proptest::sample::select(MODELS.to_vec()),
        role in prop_oneof![Just(Role::Holder), Just(Role::Named), Just(Role::Unnamed)],
        citizenships in proptest::option::of(proptest::sample::subsequence(
            COUNTRIES.iter().map(|c| (*c, true)).chain(COUNTRIES.iter().map(|c| (*c, false))).collect::<Vec<_>>(),
            0..=3,
        )),
        excluded in proptest::sample::subsequence(COUNTRIES.to_vec(), 0..=2),
    ) {
        // Each country once: a record may not list a citizenship twice.
        let citizenships: Option<Vec<(&str, bool)>> = citizenships.map(|cs| {
            let mut seen = Vec::new();
            cs.into_iter().filter(|(c, _)| if seen.contains(c) { false } else { seen.push(*c); true }).collect()
        });
        let at = t(AFTER_GRACE);
        let issued = at + hours(issued_h);
        let expires = issued + hours(span_h);
        let l = json!({
            "number": "P-1", "authority": "BIS",
            "directives": if names_order { json!([ORDER]) } else { json!(["restricted-parties"]) },
            "holder": "acme", "individuals": ["acme-ana"],
            "excluded_nationalities": excluded, "models": licence_models,
            "issued": issued.to_string(), "expires": expires.to_string(),
        });
        let cit = citizenships.as_ref().map(|cs| {
            cs.iter().map(|(c, verified)| json!({"country": c, "verification": if *verified { "document_verified" } else { "self_declared" }})).collect::<Vec<_>>()
        });
        // `us_person` is recorded to show it plays no part in the order.
        let mut record = json!({"us_person": {"value": false, "verification": "attested"},
                                "permanent_residencies": [], "protected_individual": {"value": false, "verification": "attested"},
                                "licences": [l]});
        match role {
            Role::Holder => { record["id"] = json!("acme"); record["kind"] = json!("organization"); }
            Role::Named => record["id"] = json!("acme-ana"),
            Role::Unnamed => record["id"] = json!("acme-bo"),
        }
        if let Some(cit) = cit {
            record["citizenships"] = json!(cit);
        }
        let who = subject(&record.to_string());

        let citizenship_clear = citizenships.as_ref().is_some_and(|cs| {
            cs.iter().all(|(_, verified)| *verified) && cs.iter().all(|(c, _)| !excluded.contains(c))
        });
        let covered = match role {
            Role::Holder => true,
            Role::Named => citizenship_clear,
            Role::Unnamed => false,
        };
        let expected = names_order
            && issued <= at && at < expires
            && (licence_models.is_empty() || licence_models.contains(&model))
            && covered;

        let p = policy();
        let mut request = ask(p, model).from("DE").request;
        request.at = at;
        let mut trace = Trace::default();
        let d = p.decide(&who, &request, &mut trace);
        let order = p.directives().iter().position(|d| d.id == ORDER).unwrap();
        let c = trace.consulted().iter().find(|c| usize::from(c.directive) == order).unwrap();
        // A verified foreign national is refused; anyone else (the
        // organisation's own account, an unknown citizenship) is asked to verify.
        let known_foreign = !matches!(role, Role::Holder)
            && citizenships.as_ref().is_some_and(|cs| cs.iter().all(|(_, verified)| *verified));
        let refusal = if known_foreign { Effect::Deny } else { Effect::VerificationRequired };
        prop_assert_eq!(c.effect, refusal);
        prop_assert_eq!(c.exempted_by.is_some(), expected, "{}", record);
        if expected {
            prop_assert_eq!(c.exempted_by, Some(Exempted::Licence(0)));
            prop_assert_eq!(d.effect, Effect::Allow);
        } else {
            prop_assert_eq!(d.effect, refusal);
        }
        // The engine's rule and the public helper agree.
        let licence: &Licence = &who.licences[0];
        let directive = &p.directives()[order];
        let model_id = match p.catalog().resolve(model) { Resolution::Known { id, .. } => id, Resolution::Unknown => unreachable!() };
        prop_assert_eq!(request.model, Some(model_id));
        prop_assert_eq!(
            cordon_policy::licence_lifts(licence, directive, &who, &request, p.catalog()).is_some(),
            expected
        );
    }
}
