//! Which ways of verifying could give back access to accounts asked to verify.

use std::collections::BTreeMap;

use cordon_simulate::report::VerifyAccounts;
use cordon_simulate::{
    NotifyRow, Report, ReportInputs, Simulation, Tally, Transition, Way, notify_rows, report,
};

use crate::support::*;

fn with_member() -> Vec<(&'static str, cordon_subject::Subject)> {
    let mut p = population();
    p.push(("acct-member", subject(MEMBER)));
    p
}

fn simulate(sim: &Simulation) -> (Report, Vec<NotifyRow>) {
    let (tally, impacts) = run(sim, &with_member());
    let rows = impacts.iter().flat_map(|i| notify_rows(sim, i)).collect();
    (report(sim, tally, None, ReportInputs::default()), rows)
}

/// Way name → (verification_required, verification_required_after_grace), `none` included.
fn counts(r: &Report) -> BTreeMap<String, (u64, u64)> {
    let pair = |a: &VerifyAccounts| (a.verification_required, a.verification_required_after_grace);
    r.restorable_by
        .ways
        .iter()
        .map(|w| (w.key.clone(), pair(&w.accounts)))
        .chain([("none".to_owned(), pair(&r.restorable_by.none))])
        .collect()
}

fn map(entries: &[(&str, (u64, u64))]) -> BTreeMap<String, (u64, u64)> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[test]
fn each_way_counts_the_accounts_whose_every_asked_attribute_it_reaches() {
    // The order asks for `us_person` at document_verified: the vendor
    // reaches it for all three unverified accounts, attestation for the
    // member only, the form and self-declaration for none.
    let (r, _) = simulate(&sim(IN_GRACE).with_ways(ways()));
    assert_eq!(
        r.accounts_by_transition.verification_required_after_grace,
        3
    );
    assert_eq!(
        counts(&r),
        map(&[
            ("kyc", (0, 3)),
            ("form", (0, 0)),
            ("organisation-attestation", (0, 1)),
            ("self-declaration", (0, 0)),
            ("none", (0, 0)),
        ])
    );
    let (r, _) = simulate(&sim(AFTER_GRACE).with_ways(ways()));
    assert_eq!(counts(&r)["kyc"], (3, 0));
    assert_eq!(counts(&r)["organisation-attestation"], (1, 0));
}

#[test]
fn without_ways_self_declaration_alone_is_counted_and_the_rest_is_none() {
    let (r, _) = simulate(&sim(IN_GRACE));
    assert_eq!(
        counts(&r),
        map(&[("self-declaration", (0, 0)), ("none", (0, 3))])
    );
    assert_eq!(r.restorable_by.ways[0].max_level.as_str(), "self_declared");
}

#[test]
fn self_declaration_restores_where_the_order_accepts_self_declared_facts() {
    let lenient = FOREIGN.replace(
        "min_verification = \"document_verified\"",
        "min_verification = \"self_declared\"",
    );
    let proposed = policy(&[("sanctions.toml", SANCTIONS), ("foreign.toml", &lenient)]);
    let sim = Simulation::new(baseline(), proposed, t(IN_GRACE))
        .unwrap()
        .with_ways(ways());
    let (r, _) = simulate(&sim);
    // The self-declared citizenships of acct-fr and acct-member now count,
    // but without residencies `us_person` stays unknown: the same three
    // accounts must verify, now at self_declared, which every way reaches.
    assert_eq!(
        r.accounts_by_transition.verification_required_after_grace,
        3
    );
    for way in ["kyc", "form", "self-declaration"] {
        assert_eq!(counts(&r)[way], (0, 3), "{way}");
    }
    assert_eq!(counts(&r)["organisation-attestation"], (0, 1));
    assert_eq!(counts(&r)["none"], (0, 0));
}

#[test]
fn a_refusal_that_asks_nothing_to_verify_is_restored_by_no_way() {
    // Refuses known French citizens pending verification: the facts are
    // known, so the explanation asks for nothing and no way helps.
    let hold = r#"
id = "hold-fr"
title = "Hold"
authority = "Test authority"
citation = "Test"
issued = 2026-11-01
effective = 2026-11-20T00:00:00Z
mode = "enforced"
min_verification = "self_declared"
message = "On hold."

[scope]
models = ["ember-1"]

[unknown]
effect = "allow"

[[rule]]
id = "fr"
when = "subject.citizenships in [FR]"
effect = "verification_required"
"#;
    let proposed = policy(&[("sanctions.toml", SANCTIONS), ("hold.toml", hold)]);
    let sim = Simulation::new(baseline(), proposed, t(IN_GRACE))
        .unwrap()
        .with_ways(ways());
    let (r, rows) = simulate(&sim);
    assert_eq!(
        r.accounts_by_transition.verification_required, 2,
        "{:?}",
        r.totals
    );
    assert_eq!(counts(&r)["kyc"], (0, 0));
    assert_eq!(counts(&r)["organisation-attestation"], (0, 0));
    assert_eq!(counts(&r)["none"], (2, 0));
    assert!(
        rows.iter().all(|r| r.ways.is_empty() && r.start.is_none()),
        "{rows:?}"
    );
}

#[test]
fn notify_rows_name_the_ways_and_link_the_first_a_customer_starts() {
    let first_attestation = {
        let mut w = ways();
        w.rotate_right(2);
        w
    };
    let sim = sim(IN_GRACE)
        .with_ways(first_attestation)
        .with_start_url("https://verify.example/start?from=cordon".into());
    let (_, rows) = simulate(&sim);
    let row = |account: &str| rows.iter().find(|r| r.account == account).unwrap();
    let member = row("acct-member");
    assert_eq!(member.change, Transition::VerificationRequiredAfterGrace);
    assert_eq!(member.ways, ["organisation-attestation", "kyc"]);
    assert_eq!(
        member.start.as_deref(),
        Some("https://verify.example/start?from=cordon&account=acct-member&way=kyc"),
        "an attestation is not started from a link"
    );
    assert_eq!(row("acct-fr").ways, ["kyc"]);
    assert_eq!(
        row("acct-de").ways,
        Vec::<String>::new(),
        "lose_access: no way"
    );
    assert_eq!(row("acct-de").start, None);

    // Without a start URL, the ways alone; account ids are encoded.
    let sim = super::support::sim(IN_GRACE).with_ways(ways());
    let impact = sim
        .account("acct fr&1", &subject(UNVERIFIED), &mut Tally::default())
        .unwrap();
    let rows = notify_rows(&sim, &impact);
    assert_eq!(rows[0].ways, ["kyc"]);
    assert_eq!(rows[0].start, None);
    let sim = sim.with_start_url("https://verify.example/start".into());
    let rows = notify_rows(&sim, &impact);
    assert_eq!(
        rows[0].start.as_deref(),
        Some("https://verify.example/start?account=acct%20fr%261&way=kyc")
    );
}

#[test]
fn the_counts_equal_those_read_back_from_the_notify_rows() {
    for at in [IN_GRACE, AFTER_GRACE] {
        let sim = sim(at).with_ways(ways());
        let (r, rows) = simulate(&sim);
        let mut from_rows: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (i, t) in VerifyAccounts::TRANSITIONS.into_iter().enumerate() {
            let mut per_account: BTreeMap<&str, Vec<&Vec<String>>> = BTreeMap::new();
            for row in rows.iter().filter(|r| r.change == t) {
                per_account.entry(&row.account).or_default().push(&row.ways);
            }
            let mut add = |key: &str| {
                let e = from_rows.entry(key.to_owned()).or_default();
                if i == 0 { e.0 += 1 } else { e.1 += 1 }
            };
            for lists in per_account.values() {
                let all: Vec<&Way> = sim
                    .ways()
                    .iter()
                    .filter(|w| lists.iter().all(|l| l.contains(&w.name)))
                    .collect();
                if all.is_empty() {
                    add("none");
                }
                for w in all {
                    add(&w.name);
                }
            }
        }
        let mut expected = counts(&r);
        expected.retain(|_, v| *v != (0, 0));
        assert_eq!(from_rows, expected, "at {at}");
    }
}

#[test]
fn counting_alone_counts_the_ways_as_building_every_changed_cell_does() {
    for at in [BEFORE, IN_GRACE, AFTER_GRACE] {
        let sim = sim(at).with_ways(ways());
        let (full, _) = run(&sim, &with_member());
        let mut counted = Tally::default();
        for (_, s) in with_member() {
            sim.count(&s, &mut counted);
        }
        assert_eq!(
            report(&sim, full, None, ReportInputs::default()).restorable_by,
            report(&sim, counted, None, ReportInputs::default()).restorable_by,
            "at {at}"
        );
    }
}
