//! What happens to single accounts.

use cordon_policy::Effect;
use cordon_simulate::{ReportInputs, Simulation, Tally, Transition, notify_rows, report};

use crate::support::*;

fn transitions(impact: &cordon_simulate::AccountImpact) -> Vec<(&str, Transition)> {
    impact
        .cells
        .iter()
        .map(|c| (&*c.model, c.transition))
        .collect()
}

#[test]
fn a_us_person_is_unaffected() {
    for at in [IN_GRACE, AFTER_GRACE] {
        assert_eq!(one(&sim(at), US), None, "at {at}");
    }
}

#[test]
fn a_verified_foreign_national_loses_only_the_scoped_models() {
    let impact = one(&sim(IN_GRACE), DE).unwrap();
    assert_eq!(
        transitions(&impact),
        [
            ("fable-5", Transition::LoseAccess),
            ("mythos-5", Transition::LoseAccess)
        ]
    );
    for c in &impact.cells {
        assert_eq!(c.directive.as_deref(), Some("foreign-national-frontier"));
        assert_eq!((c.baseline, c.proposed), (Effect::Allow, Effect::Deny));
        assert_eq!(c.deadline, None, "the directive took effect before `at`");
    }
}

#[test]
fn losing_access_at_the_effective_time_carries_it_as_the_deadline() {
    let impact = one(&sim("2026-11-20T00:00:00Z"), DE).unwrap();
    assert!(
        impact
            .cells
            .iter()
            .all(|c| c.deadline == Some(t("2026-11-20T00:00:00Z")))
    );
}

#[test]
fn an_unverified_account_must_verify_before_the_grace_period_ends() {
    let impact = one(&sim(IN_GRACE), UNVERIFIED).unwrap();
    assert_eq!(
        transitions(&impact),
        [
            ("fable-5", Transition::VerificationRequiredAfterGrace),
            ("mythos-5", Transition::VerificationRequiredAfterGrace)
        ]
    );
    for c in &impact.cells {
        assert_eq!(c.deadline, Some(t("2026-12-04T00:00:00Z")));
        assert_eq!(c.proposed, Effect::Allow, "still allowed during grace");
        assert!(!c.verify.is_empty(), "the explanation names what to verify");
    }
}

#[test]
fn after_the_grace_period_an_unverified_account_needs_verification_now() {
    let impact = one(&sim(AFTER_GRACE), UNVERIFIED).unwrap();
    assert_eq!(
        transitions(&impact),
        [
            ("fable-5", Transition::VerificationRequired),
            ("mythos-5", Transition::VerificationRequired)
        ]
    );
    assert!(impact.cells.iter().all(|c| c.deadline.is_none()));
}

#[test]
fn an_individual_named_in_a_licence_is_unaffected() {
    for at in [IN_GRACE, AFTER_GRACE] {
        assert_eq!(one(&sim(at), NORTHWIND), None, "at {at}");
    }
}

#[test]
fn an_unnamed_member_of_the_licence_holder_loses_access() {
    // The same engineer, verified and a member of Northwind Labs, but not
    // named in the licence: membership alone lifts nothing.
    let unnamed = NORTHWIND.replace(r#""id": "acct-nw""#, r#""id": "acct-nw-2""#);
    let impact = one(&sim(AFTER_GRACE), &unnamed).unwrap();
    assert_eq!(
        transitions(&impact),
        [
            ("fable-5", Transition::LoseAccess),
            ("mythos-5", Transition::LoseAccess)
        ]
    );
}

#[test]
fn a_dual_us_national_is_unaffected() {
    assert_eq!(one(&sim(AFTER_GRACE), DUAL), None);
}

#[test]
fn before_the_order_takes_effect_nothing_changes() {
    let sim = sim(BEFORE);
    for s in [US, DE, UNVERIFIED, NOTHING] {
        assert_eq!(one(&sim, s), None);
    }
    assert!(
        sim.notes().iter().any(|n| n
            .contains("`foreign-national-frontier` (added) is not yet in effect")
            && n.contains("takes effect at 2026-11-20T00:00:00Z")),
        "{:?}",
        sim.notes()
    );
}

#[test]
fn removing_the_order_restores_access() {
    let sim = Simulation::new(proposed(), baseline(), t(AFTER_GRACE)).unwrap();
    let impact = one(&sim, DE).unwrap();
    assert_eq!(
        transitions(&impact),
        [
            ("fable-5", Transition::GainAccess),
            ("mythos-5", Transition::GainAccess)
        ]
    );
    let rows = notify_rows(&sim, &impact);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, "access restored");
    assert_eq!(
        rows[0].directive.as_deref(),
        Some("foreign-national-frontier")
    );
}

#[test]
fn a_model_missing_from_the_proposed_catalog_is_lost() {
    let smaller = CATALOG.replace("[[model]]\nid = \"ember-1\"\nfamily = \"ember\"\n", "");
    let catalog =
        cordon_catalog::Catalog::parse(&cordon_source::SourceFile::new("catalog.toml", smaller))
            .unwrap();
    let groups = cordon_jurisdiction::GroupRegistry::embedded(jurisdictions()).unwrap();
    let proposed = cordon_policy::Policy::from_files(
        &[cordon_source::SourceFile::new("s.toml", SANCTIONS)],
        catalog,
        jurisdictions(),
        &groups,
    )
    .unwrap();
    let sim = Simulation::new(baseline(), std::sync::Arc::new(proposed), t(IN_GRACE)).unwrap();
    assert_eq!(
        sim.models().collect::<Vec<_>>(),
        ["fable-5", "mythos-5", "fable-4", "ember-1"]
    );
    let impact = one(&sim, US).unwrap();
    assert_eq!(transitions(&impact), [("ember-1", Transition::LoseAccess)]);
}

#[test]
fn catalogs_that_disagree_on_an_id_are_refused() {
    let other = CATALOG.replace(
        "aliases = [\"fable\"]",
        "aliases = [\"fable\", \"ember-1\"]",
    );
    let other = other.replace("[[model]]\nid = \"ember-1\"\nfamily = \"ember\"\n", "");
    let catalog =
        cordon_catalog::Catalog::parse(&cordon_source::SourceFile::new("c.toml", other)).unwrap();
    let groups = cordon_jurisdiction::GroupRegistry::embedded(jurisdictions()).unwrap();
    let proposed = cordon_policy::Policy::from_files(
        &[cordon_source::SourceFile::new("s.toml", SANCTIONS)],
        catalog,
        jurisdictions(),
        &groups,
    )
    .unwrap();
    let err = Simulation::new(baseline(), std::sync::Arc::new(proposed), t(IN_GRACE)).unwrap_err();
    assert!(err.to_string().contains("`ember-1`"), "{err}");
}

#[test]
fn obligations_that_change_are_reported() {
    let capped = |n: u32| {
        format!(
            r#"
id = "cap"
title = "Cap"
authority = "A"
citation = "C"
issued = 2022-01-01
effective = 2022-01-01T00:00:00Z
mode = "enforced"
min_verification = "none"
message = "m"

[scope]
models = ["ember-1"]

[unknown]
effect = "allow"

[[rule]]
id = "cap"
when = "subject.residence_country in [DE]"
effect = "allow_with_obligations"
obligations = {{ max_tokens = {n} }}
"#
        )
    };
    let (a, b) = (capped(4096), capped(1024));
    let sim = Simulation::new(
        policy(&[("cap.toml", &a)]),
        policy(&[("cap.toml", &b)]),
        t(IN_GRACE),
    )
    .unwrap();
    assert_eq!(sim.changed_directives().len(), 1);
    let impact = one(&sim, DE).unwrap();
    assert_eq!(
        transitions(&impact),
        [("ember-1", Transition::ObligationsChanged)]
    );
    assert_eq!(impact.cells[0].directive.as_deref(), Some("cap"));
    assert_eq!(one(&sim, US), None);
}

#[test]
fn identical_sets_are_equivalent_and_change_nothing() {
    let sim = Simulation::new(proposed(), proposed(), t(AFTER_GRACE)).unwrap();
    assert!(sim.changed_directives().is_empty());
    assert_eq!(
        sim.notes(),
        [
            "the proposed set is equivalent to the baseline: no directive was added, removed or modified"
        ]
    );
    let mut tally = Tally::default();
    for s in [US, DE, UNVERIFIED] {
        assert_eq!(sim.account("a", &subject(s), &mut tally), None);
    }
    assert_eq!(tally.accounts(), 3);
}

#[test]
fn an_unchanged_directive_in_grace_still_gives_the_deadline() {
    // Both sets hold the order; the grace period is running, so the
    // proposed set will refuse the account once it ends.
    let sim = Simulation::new(proposed(), proposed(), t(IN_GRACE)).unwrap();
    let impact = one(&sim, UNVERIFIED).unwrap();
    assert!(
        impact
            .cells
            .iter()
            .all(|c| c.transition == Transition::VerificationRequiredAfterGrace)
    );
    // The report says why an unchanged set lists these customers.
    let mut tally = Tally::default();
    sim.account("acct-fr", &subject(UNVERIFIED), &mut tally);
    let inputs = ReportInputs {
        baseline_label: "a".into(),
        proposed_label: "b".into(),
        traffic: None,
    };
    let r = report(&sim, tally, None, inputs);
    assert!(
        r.notes.iter().any(|n| n
            == "directive `foreign-national-frontier` is in both sets and in its grace period; 1 account(s) must still verify before it ends at 2026-12-04T00:00:00Z"),
        "{:?}",
        r.notes
    );
}

#[test]
fn notify_rows_say_what_to_verify_and_by_when() {
    let sim = sim(IN_GRACE);
    let impact = one(&sim, UNVERIFIED).unwrap();
    let rows = notify_rows(&sim, &impact);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(
        r.models.iter().map(|m| &**m).collect::<Vec<_>>(),
        ["fable-5", "mythos-5"]
    );
    assert_eq!(r.change, Transition::VerificationRequiredAfterGrace);
    assert!(r.action.starts_with("verify "), "{}", r.action);
    assert!(
        r.action
            .ends_with(" at document_verified before 2026-12-04T00:00:00Z"),
        "{}",
        r.action
    );
    assert_eq!(
        r.remedy.as_deref(),
        Some("https://cordon.example/verify-nationality")
    );
    let lost = notify_rows(&sim, &one(&sim, DE).unwrap());
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].action, "access ends");
    assert_eq!(lost[0].deadline, None);
}

#[test]
fn modified_directives_are_found_by_content_not_wording() {
    let reworded = FOREIGN.replace(
        "Not available to foreign nationals.",
        "Foreign nationals are refused.",
    );
    let later = FOREIGN.replace("grace_until = 2026-12-04", "grace_until = 2026-12-18");
    let with = |f: &str| policy(&[("sanctions.toml", SANCTIONS), ("foreign.toml", f)]);
    let same = Simulation::new(proposed(), with(&reworded), t(IN_GRACE)).unwrap();
    assert!(same.changed_directives().is_empty());
    let moved = Simulation::new(proposed(), with(&later), t(IN_GRACE)).unwrap();
    let c = moved.changed_directives();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].id, "foreign-national-frontier");
    assert_eq!(c[0].change.as_str(), "modified");
    assert_eq!(c[0].grace_until, Some(t("2026-12-18T00:00:00Z")));
    let impact = one(&moved, UNVERIFIED).unwrap();
    assert!(
        impact
            .cells
            .iter()
            .all(|c| c.deadline == Some(t("2026-12-18T00:00:00Z")))
    );
}

#[test]
fn a_refusal_by_another_directive_is_not_the_grace_periods_deadline() {
    // A second order, taking effect before the grace period ends, refuses
    // fable-5 to everyone: verifying would not help, and its date is not the
    // grace period's. Only mythos-5 waits on the grace period.
    const BLOCK: &str = r#"
id = "fable-5-halt"
title = "fable-5 halted"
authority = "Test authority"
citation = "Test order"
issued = 2026-11-18
effective = 2026-11-30T00:00:00Z
mode = "enforced"
min_verification = "none"
message = "Halted."

[scope]
models = ["fable-5"]

[unknown]
effect = "deny"

[[rule]]
id = "everyone"
when = "true"
effect = "deny"
"#;
    let proposed = policy(&[
        ("sanctions.toml", SANCTIONS),
        ("foreign.toml", FOREIGN),
        ("halt.toml", BLOCK),
    ]);
    let sim = Simulation::new(baseline(), proposed, t(IN_GRACE)).unwrap();
    let impact = one(&sim, UNVERIFIED).unwrap();
    let by_model: Vec<(&str, Transition)> = impact
        .cells
        .iter()
        .map(|c| (&*c.model, c.transition))
        .collect();
    assert_eq!(
        by_model,
        [("mythos-5", Transition::VerificationRequiredAfterGrace)],
        "{impact:?}"
    );
    assert!(
        sim.notes()
            .iter()
            .any(|n| n.contains("fable-5-halt") && n.contains("2026-11-30")),
        "{:?}",
        sim.notes()
    );
}

#[test]
fn a_model_lost_for_an_unknown_attribute_says_verifying_may_restore_it() {
    // An order that refuses outright whoever it cannot classify.
    let strict = FOREIGN
        .replace(
            "effect = \"verification_required\"\nduring_grace = \"allow\"",
            "effect = \"deny\"",
        )
        .replace("grace_until = 2026-12-04T00:00:00Z\n", "");
    assert_ne!(strict, FOREIGN);
    let proposed = policy(&[("sanctions.toml", SANCTIONS), ("strict.toml", &strict)]);
    let sim = Simulation::new(baseline(), proposed, t(AFTER_GRACE)).unwrap();

    let unverified = one(&sim, UNVERIFIED).unwrap();
    assert!(
        unverified
            .cells
            .iter()
            .all(|c| c.transition == Transition::LoseAccess && c.refused_as_unknown)
    );
    let rows = notify_rows(&sim, &unverified);
    assert_eq!(
        rows[0].action,
        "access ends; verifying at document_verified may restore it"
    );

    // A verified foreign national is refused on what is known: no such hint.
    let de = one(&sim, DE).unwrap();
    assert!(de.cells.iter().all(|c| !c.refused_as_unknown));
    assert_eq!(notify_rows(&sim, &de)[0].action, "access ends");
}

#[test]
fn a_tally_reused_for_another_simulation_names_that_simulations_models() {
    // Same number of models, another order: ember-1 is third in this one.
    let reordered = CATALOG.replace("[[model]]\nid = \"ember-1\"\nfamily = \"ember\"\n", "");
    let reordered = format!("[[model]]\nid = \"ember-1\"\nfamily = \"ember\"\n{reordered}");
    let catalog =
        cordon_catalog::Catalog::parse(&cordon_source::SourceFile::new("catalog.toml", reordered))
            .unwrap();
    let groups = cordon_jurisdiction::GroupRegistry::embedded(jurisdictions()).unwrap();
    let policy = |files: &[(&str, &str)]| {
        let files: Vec<_> = files
            .iter()
            .map(|(n, t)| cordon_source::SourceFile::new(*n, *t))
            .collect();
        std::sync::Arc::new(
            cordon_policy::Policy::from_files(&files, catalog.clone(), jurisdictions(), &groups)
                .unwrap(),
        )
    };
    let other = Simulation::new(
        policy(&[("s.toml", SANCTIONS)]),
        policy(&[("s.toml", SANCTIONS), ("f.toml", FOREIGN)]),
        t(IN_GRACE),
    )
    .unwrap();
    let first = sim(IN_GRACE);
    assert_ne!(
        first.models().collect::<Vec<_>>(),
        other.models().collect::<Vec<_>>()
    );
    let mut tally = Tally::default();
    let de = subject(DE);
    for s in [&first, &other, &first] {
        let impact = s.account("acct-de", &de, &mut tally).unwrap();
        let mut names: Vec<&str> = impact.cells.iter().map(|c| &*c.model).collect();
        names.sort_unstable();
        assert_eq!(names, ["fable-5", "mythos-5"]);
    }
}
