//! The shipped directive set against every built-in property.

use cordon_analysis::{Property, ProtectedClass};

use crate::support::{counterexamples_reproduce, run, shipped, shipped_files};

#[test]
fn the_shipped_set_holds_every_property_that_needs_no_parameter() {
    let report = run(&shipped(), None, Property::defaults());
    for p in &report.properties {
        assert!(p.holds, "{} is violated: {:#?}", p.property, p.violations);
        assert!(p.complete, "{} was not checked completely", p.property);
    }
    assert!(report.holds && report.complete);
    // Retired and draft packs are never consulted, and say so.
    let notes = &report.properties.last().unwrap().notes;
    assert!(
        notes.iter().any(|n| n.contains("ai-diffusion-tier3-2025")),
        "{notes:?}"
    );
    assert_eq!(report.partition.directives, 11);
}

#[test]
fn countries_no_condition_names_are_one_class() {
    let report = run(&shipped(), None, vec![Property::NoDeadRules]);
    // The foreign-national order names models, so fable-5 and mythos-5 form
    // one group and every other model another.
    let groups: Vec<Vec<String>> = report
        .partition
        .model_groups
        .iter()
        .map(|g| g.models.clone())
        .collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(
        groups.iter().any(|g| g == &["fable-5", "mythos-5"]),
        "{groups:?}"
    );
    // A few classes per dimension, not one per country.
    assert!(
        report.partition.classes < 2000,
        "{}",
        report.partition.classes
    );
}

#[test]
fn us_dual_nationals_are_refused_by_the_cuba_pack_and_the_counterexample_reproduces() {
    let property = Property::ProtectedKeepAccess(ProtectedClass::UsDualNationals);
    let report = run(&shipped(), None, vec![property]);
    let p = &report.properties[0];
    assert!(!p.holds);
    assert!(
        p.violations
            .iter()
            .all(|v| v.directive.as_deref() == Some("ofac-cuba")),
        "{:#?}",
        p.violations
    );
    let files = shipped_files(|_, t| t);
    assert!(counterexamples_reproduce(&report, &files, None) >= 1);
}

#[test]
fn a_set_compared_with_itself_differs_nowhere() {
    let report = run(
        &shipped(),
        Some(&shipped()),
        vec![
            Property::OnlyModels(vec!["fable-5".into()]),
            Property::OnlyEffect(cordon_policy::Effect::Deny),
        ],
    );
    assert!(report.holds && report.complete, "{report:#?}");
    assert_eq!(report.combinations, 0, "identical sets need no decision");
}

#[test]
fn a_property_in_the_condition_language_is_proved_or_shown_false() {
    let c = crate::support::catalog();
    let holds = Property::parse(
        // Before the Cuba embargo every request is allowed; from it, a
        // request from Cuba is denied, never merely asked to verify.
        "forall subject where request.country in [CU]: effect(fable-5) in {allow, deny}",
        &c,
    )
    .unwrap();
    let fails = Property::parse(
        "forall subject where subject.citizenships in [DE]: effect(fable-5) in {allow}",
        &c,
    )
    .unwrap();
    let report = run(&shipped(), None, vec![holds, fails]);
    assert!(report.properties[0].holds, "{:#?}", report.properties[0]);
    let p = &report.properties[1];
    assert!(!p.holds, "{p:#?}");
    let files = shipped_files(|_, t| t);
    assert!(counterexamples_reproduce(&report, &files, None) >= 1);
    let bad = Property::parse(
        "forall subject where subject.citizenship in [DE]: effect(fable-5) in {deny}",
        &c,
    )
    .unwrap();
    let err = cordon_analysis::analyze(&cordon_analysis::Input {
        set: cordon_analysis::Named {
            policy: &shipped(),
            label: "set-dir".into(),
        },
        against: None,
        catalog: None,
        properties: vec![bad],
        jurisdictions: crate::support::jurisdictions(),
        groups: &crate::support::groups(),
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("subject.citizenships"), "{err}");
}

#[test]
fn directive_files_assert_properties_in_property_tables() {
    let files = shipped_files(|name, t| {
        if name == "ofac-cuba.toml" {
            format!(
                "{t}\n[[property]]\ncheck = \"forall subject where request.country in [CU]: effect(fable-5) in {{allow, deny}}\"\nnote = \"a request from Cuba is refused outright, never asked to verify\"\n"
            )
        } else {
            t
        }
    });
    let set = crate::support::policy(&files);
    let declared = cordon_analysis::declared(&set).unwrap();
    assert_eq!(declared.len(), 1);
    let report = run(&set, None, declared);
    assert!(report.holds, "{report:#?}");

    let files = shipped_files(|name, t| {
        if name == "ofac-iran.toml" {
            format!("{t}\n[[property]]\ncheck = \"only-models lyric-9\"\n")
        } else {
            t
        }
    });
    let err = cordon_analysis::declared(&crate::support::policy(&files))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("ofac-iran.toml:"), "{err}");
    assert!(err.contains("property[0].check"), "{err}");
    assert!(err.contains("no model `lyric-9`"), "{err}");
}
