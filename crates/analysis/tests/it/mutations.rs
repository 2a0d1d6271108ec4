//! Seeded mistakes in copies of the shipped packs, each caught by a
//! built-in property with a counterexample that reproduces.
//!
//! A mistake that only makes sense relative to what was reviewed — a
//! mistyped country code, a dropped unknown clause — is caught by analysing
//! the changed set against the shipped one, as a reviewer would.

use cordon_analysis::{Property, Report};
use cordon_policy::Effect;

use crate::support::{counterexamples_reproduce, policy, run, shipped_files};

/// Analyses the shipped set with `edit` applied to `file`, against the
/// shipped set when `review`; returns the report and the properties violated.
fn mutate(
    file: &str,
    from: &str,
    to: &str,
    review: bool,
    properties: Vec<Property>,
) -> (Report, Vec<String>) {
    let original = shipped_files(|_, t| t);
    let mutated = shipped_files(|name, t| {
        if name == file {
            assert!(t.contains(from), "{file} has no `{from}`");
            t.replacen(from, to, 1)
        } else {
            t
        }
    });
    let set = policy(&mutated);
    let base = policy(&original);
    let report = run(&set, review.then_some(&base), properties);
    assert!(
        counterexamples_reproduce(&report, &mutated, Some(&original)) >= 1,
        "{report:#?}"
    );
    let violated = report
        .properties
        .iter()
        .filter(|p| !p.holds)
        .map(|p| p.property.clone())
        .collect();
    (report, violated)
}

#[test]
fn an_inverted_foreign_person_condition_refuses_us_citizens() {
    let (_, violated) = mutate(
        "foreign-national-frontier.toml",
        r#"when = "subject.foreign_person""#,
        r#"when = "not subject.foreign_person""#,
        false,
        Property::defaults(),
    );
    assert!(
        violated.contains(&"protected-keep-access us-citizens".to_owned()),
        "{violated:?}"
    );
}

#[test]
fn an_inverted_unknown_location_condition_cuts_everyone_off() {
    let (_, violated) = mutate(
        "ofac-location-undetermined.toml",
        "not known(request.country)",
        "known(request.country)",
        false,
        Property::defaults(),
    );
    assert!(
        violated.contains(&"protected-keep-access us-citizens".to_owned()),
        "{violated:?}"
    );
    assert!(
        violated.contains(&"no-dead-rules".to_owned()),
        "{violated:?}"
    );
}

#[test]
fn a_mistyped_country_code_refuses_us_citizens_where_nothing_was_embargoed() {
    let (report, violated) = mutate(
        "ofac-iran.toml",
        "request.country in [IR]",
        "request.country in [IQ]",
        true,
        vec![Property::ProtectedKeepAccess(
            cordon_analysis::ProtectedClass::UsCitizens,
        )],
    );
    assert_eq!(violated, ["protected-keep-access us-citizens"]);
    let c = report.properties[0].violations[0]
        .counterexample
        .as_ref()
        .unwrap();
    assert!(c.command.contains("--country IQ"), "{}", c.command);
}

#[test]
fn a_country_code_mistyped_as_another_packs_makes_a_rule_dead() {
    // Cuba's location rule now names Iran, which ofac-iran refuses already:
    // from ofac-iran's effective date its own location rule never decides.
    let (_, violated) = mutate(
        "ofac-cuba.toml",
        "request.country in [CU]",
        "request.country in [IR]",
        false,
        Property::defaults(),
    );
    assert!(
        violated.contains(&"no-dead-rules".to_owned()),
        "{violated:?}"
    );
}

#[test]
fn a_dropped_unknown_clause_lets_unverified_cuban_nationals_through() {
    let (report, violated) = mutate(
        "ofac-cuba.toml",
        "on_unknown = \"verification_required\"\n",
        "",
        true,
        vec![Property::OnlyEffect(Effect::Deny)],
    );
    assert_eq!(violated, ["only-effect deny"]);
    let v = &report.properties[0].violations[0];
    assert_eq!(v.counterexample.as_ref().unwrap().effect, Effect::Allow);
    assert_eq!(
        v.contrast.as_ref().unwrap().effect,
        Effect::VerificationRequired
    );
}
