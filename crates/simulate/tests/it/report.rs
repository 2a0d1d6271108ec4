//! Reports over a small fixed population.

use cordon_simulate::{
    Report, ReportInputs, Simulation, Tally, notify_csv, notify_rows, report, report::Group,
};
use proptest::prelude::*;

use crate::support::*;

fn inputs() -> ReportInputs {
    ReportInputs {
        baseline_label: "baseline".into(),
        proposed_label: "proposed".into(),
        traffic: None,
    }
}

fn full(sim: &Simulation) -> (Report, String) {
    let (tally, impacts) = run(sim, &population());
    let rows: Vec<_> = impacts.iter().flat_map(|i| notify_rows(sim, i)).collect();
    (report(sim, tally, None, inputs()), notify_csv(&rows))
}

fn group<'a>(groups: &'a [Group], key: &str) -> &'a Group {
    groups.iter().find(|g| g.key == key).unwrap()
}

#[test]
fn totals_add_up_and_a_dual_national_counts_under_each_citizenship() {
    let (r, _) = full(&sim(IN_GRACE));
    assert_eq!(r.accounts, 7);
    assert_eq!(r.cells, 28);
    assert_eq!(
        r.totals.unchanged + r.totals.changed(),
        r.cells,
        "every cell has one transition"
    );
    // acct-de: 2 lost; acct-fr and acct-empty: 2 each until the grace period ends.
    assert_eq!(r.totals.lose_access, 2);
    assert_eq!(r.totals.verification_required_after_grace, 4);
    assert_eq!(r.affected_accounts, 3);
    assert_eq!(r.accounts_by_transition.lose_access, 1);
    assert_eq!(
        r.accounts_by_transition.verification_required_after_grace,
        2
    );
    assert_eq!(r.grace_deadlines.len(), 1);
    assert_eq!(r.grace_deadlines[0].accounts, 2);

    let us = group(&r.by_citizenship, "US");
    assert_eq!(
        (us.accounts, us.affected_accounts),
        (2, 0),
        "acct-us and acct-dual"
    );
    assert_eq!(us.name, "United States");
    let de = group(&r.by_citizenship, "DE");
    assert_eq!(
        (de.accounts, de.affected_accounts),
        (3, 1),
        "acct-de, acct-nw, acct-dual"
    );
    assert_eq!(de.cells.lose_access, 2);
    let unknown = group(&r.by_citizenship, "unknown");
    assert_eq!((unknown.accounts, unknown.affected_accounts), (1, 1));
    let citizenship_accounts: u64 = r.by_citizenship.iter().map(|g| g.accounts).sum();
    assert_eq!(citizenship_accounts, 8, "seven accounts, one of them twice");
    let residence_accounts: u64 = r.by_residence.iter().map(|g| g.accounts).sum();
    assert_eq!(residence_accounts, 7);

    assert_eq!(group(&r.by_organization, "Northwind Labs").accounts, 1);
    assert_eq!(group(&r.by_organization, "(none)").accounts, 6);
    assert_eq!(
        group(&r.by_verification, "self_declared").affected_accounts,
        1
    );
    assert_eq!(group(&r.by_model, "fable-4").affected_accounts, 0);
    assert_eq!(group(&r.by_model, "fable-5").affected_accounts, 3);
    assert_eq!(
        r.by_model[0].key, "fable-5",
        "most affected first, then by key"
    );
    assert_eq!(r.by_model[2].key, "ember-1");
}

#[test]
fn the_same_inputs_give_byte_identical_output() {
    let a = full(&sim(IN_GRACE));
    let b = full(&sim(IN_GRACE));
    assert_eq!(a.0.to_json().unwrap(), b.0.to_json().unwrap());
    assert_eq!(a.0.to_csv(), b.0.to_csv());
    assert_eq!(a.1, b.1);
}

#[test]
fn report_json_snapshot() {
    let (r, _) = full(&sim(IN_GRACE).with_ways(ways()));
    // Versions hash the fixture text; the snapshot is about the shape.
    let json = r
        .to_json()
        .unwrap()
        .replace(&r.baseline.version, "sha256:baseline")
        .replace(&r.proposed.version, "sha256:proposed");
    insta::assert_snapshot!(json);
}

#[test]
fn report_csv_snapshot() {
    insta::assert_snapshot!(full(&sim(AFTER_GRACE).with_ways(ways())).0.to_csv());
}

#[test]
fn notify_csv_snapshot() {
    let sim = sim(IN_GRACE)
        .with_ways(ways())
        .with_start_url("https://verify.example/start".into());
    insta::assert_snapshot!(full(&sim).1);
}

#[test]
fn notes_name_pending_directives_and_a_set_with_nothing_in_effect() {
    let only_foreign = policy(&[("foreign.toml", FOREIGN)]);
    let sim = Simulation::new(baseline(), only_foreign, t(BEFORE)).unwrap();
    let notes = sim.notes();
    assert!(
        !notes.iter().any(|n| n.contains("`residence-sanctions`")),
        "a removed directive that was in force needs no note: {notes:?}"
    );
    assert!(
        notes.iter().any(|n| n
            == "no enforced directive of the proposed set is in effect at 2026-11-01T00:00:00Z"),
        "{notes:?}"
    );
}

fn templates() -> Vec<cordon_subject::Subject> {
    [US, DE, UNVERIFIED, NORTHWIND, DUAL, NOTHING, KP]
        .into_iter()
        .map(subject)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn merged_tallies_equal_one_tally(
        picks in proptest::collection::vec(0usize..7, 0..40),
        splits in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let sim = sim(IN_GRACE);
        let subjects = templates();
        let population: Vec<_> = picks.iter().map(|&i| ("a", subjects[i].clone())).collect();
        let (single, _) = run(&sim, &population);
        let mut cuts: Vec<usize> = splits.iter().map(|i| i.index(population.len() + 1)).collect();
        cuts.push(0);
        cuts.push(population.len());
        cuts.sort_unstable();
        let mut merged = Tally::default();
        for w in cuts.windows(2) {
            let (part, _) = run(&sim, &population[w[0]..w[1]]);
            merged.merge(part);
        }
        let a = report(&sim, single, None, inputs()).to_json().unwrap();
        let b = report(&sim, merged, None, inputs()).to_json().unwrap();
        prop_assert_eq!(a, b);
    }
}

#[test]
fn deadlines_count_from_the_notice_time_not_the_simulated_time() {
    // Simulated after the grace period, notified during it: the unverified
    // customer is told to verify before the period ends, the verified
    // foreign national that access already ended.
    let sim_at = super::support::sim;
    let sim = sim_at(AFTER_GRACE).with_notice_from(t(IN_GRACE));
    let (_, csv) = full(&sim);
    let row = |account: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("{account},")))
            .unwrap_or_else(|| panic!("no row for {account} in\n{csv}"))
            .to_owned()
    };
    let fr = row("acct-fr");
    assert!(
        fr.starts_with(
            "acct-fr,verification_required,fable-5;mythos-5,\"verify subject.citizenships, subject.permanent_residencies, subject.protected_individual at document_verified before 2026-12-04T00:00:00Z\",2026-12-04T00:00:00Z,"
        ),
        "{fr}"
    );
    assert!(row("acct-de").starts_with("acct-de,lose_access,fable-5;mythos-5,access ends,,"));

    // Notified before the order takes effect, the loss is dated.
    let sim = sim_at(AFTER_GRACE).with_notice_from(t(BEFORE));
    let (_, csv) = full(&sim);
    assert!(
        csv.contains(
            "acct-de,lose_access,fable-5;mythos-5,access ends at 2026-11-20T00:00:00Z,2026-11-20T00:00:00Z,"
        ),
        "{csv}"
    );

    // Without a notice time, deadlines count from the simulated time.
    let (_, csv) = full(&sim_at(AFTER_GRACE));
    assert!(csv.contains("acct-fr,verification_required,fable-5;mythos-5,\"verify subject.citizenships, subject.permanent_residencies, subject.protected_individual at document_verified\",,"), "{csv}");
}

#[test]
fn counting_alone_gives_the_same_report_as_building_every_changed_cell() {
    for at in [BEFORE, IN_GRACE, AFTER_GRACE] {
        let sim = sim(at);
        let (full_tally, _) = run(&sim, &population());
        let mut counted = Tally::default();
        for (_, subject) in population() {
            sim.count(&subject, &mut counted);
        }
        assert_eq!(
            report(&sim, full_tally, None, inputs()).to_json().unwrap(),
            report(&sim, counted, None, inputs()).to_json().unwrap(),
            "at {at}"
        );
    }
}
