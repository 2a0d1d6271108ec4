//! Replaying logged traffic.

use std::collections::BTreeMap;

use cordon_simulate::{
    LoggedEffect, LoggedOutcomes, LoggedRequest, PreparedRequest, ReportInputs, Simulation, Skip,
    Tally, TrafficSource, TrafficTally, report,
};
use cordon_subject::Subject;
use proptest::prelude::*;

use crate::support::*;

fn logged<'a>(account: Option<&'a str>, model: &'a str, effect: &'a str) -> LoggedRequest<'a> {
    LoggedRequest {
        account,
        model,
        endpoint: "chat",
        features: &[],
        client_country: Some("DE"),
        client_region: None,
        anonymizer: Some(false),
        effect,
    }
}

#[test]
fn replay_counts_newly_refused_and_newly_allowed_requests_and_accounts() {
    let sim = sim(AFTER_GRACE);
    let (de, us, kp) = (subject(DE), subject(US), subject(KP));
    let mut a = TrafficTally::default();
    let mut b = TrafficTally::default();
    // `fable` is an alias: counted under the catalog id.
    sim.replay(&logged(Some("de"), "fable", "allow"), Some(&de), &mut a);
    sim.replay(&logged(Some("de"), "mythos-5", "allow"), Some(&de), &mut a);
    sim.replay(&logged(Some("de"), "fable-4", "allow"), Some(&de), &mut b);
    sim.replay(&logged(Some("us"), "fable-5", "deny"), Some(&us), &mut b);
    sim.replay(&logged(Some("kp"), "fable-4", "deny"), Some(&kp), &mut b);
    sim.replay(
        &logged(Some("us"), "no-such-model", "deny"),
        Some(&us),
        &mut b,
    );
    sim.replay(&logged(None, "fable-5", "deny"), None, &mut b);
    sim.replay(&logged(Some("gone"), "fable-5", "allow"), None, &mut b);
    a.merge(b);
    let inputs = ReportInputs {
        traffic: Some(TrafficSource {
            log: "audit".into(),
            ..TrafficSource::default()
        }),
        ..ReportInputs::default()
    };
    let r = report(&sim, Tally::default(), Some(a), inputs)
        .traffic
        .unwrap();
    assert_eq!(r.log, "audit");
    assert_eq!((r.decisions, r.replayed), (8, 6));
    assert_eq!((r.skipped.no_account, r.skipped.unknown_account), (1, 1));
    assert_eq!(r.accounts, 3);
    assert_eq!((r.would_refuse.requests, r.would_refuse.accounts), (4, 3));
    assert_eq!((r.newly_refused.requests, r.newly_refused.accounts), (2, 1));
    assert_eq!((r.newly_allowed.requests, r.newly_allowed.accounts), (1, 1));
    let keys: Vec<_> = r
        .by_model
        .iter()
        .map(|m| (m.key.as_str(), m.requests))
        .collect();
    assert_eq!(
        keys,
        [
            ("fable-4", 2),
            ("fable-5", 2),
            ("mythos-5", 1),
            ("no-such-model", 1)
        ]
    );
    let fable5 = &r.by_model[1];
    assert_eq!((fable5.newly_refused, fable5.newly_allowed), (1, 1));
}

#[test]
fn replay_uses_the_logged_location() {
    let location = policy(&[(
        "loc.toml",
        r#"
id = "location"
title = "t"
authority = "a"
citation = "c"
issued = 2022-01-01
effective = 2022-01-01T00:00:00Z
mode = "enforced"
min_verification = "none"
message = "m"

[unknown]
effect = "allow"

[[rule]]
id = "where"
when = "request.country in [KP]"
effect = "deny"
"#,
    )]);
    let sim = cordon_simulate::Simulation::new(baseline(), location, t(AFTER_GRACE)).unwrap();
    let us = subject(US);
    let mut traffic = TrafficTally::default();
    let mut from_kp = logged(Some("us"), "fable-4", "allow");
    from_kp.client_country = Some("KP");
    sim.replay(&from_kp, Some(&us), &mut traffic);
    sim.replay(
        &logged(Some("us"), "fable-4", "allow"),
        Some(&us),
        &mut traffic,
    );
    let r = report(
        &sim,
        Tally::default(),
        Some(traffic),
        ReportInputs::default(),
    )
    .traffic
    .unwrap();
    assert_eq!(r.newly_refused.requests, 1);
}

/// One logged decision as the aggregation sees it: account, model, country,
/// features, anonymiser flag, effect.
type Logged = (
    Option<&'static str>,
    &'static str,
    &'static str,
    Vec<String>,
    Option<bool>,
    &'static str,
);

fn logged_of(l: &Logged) -> LoggedRequest<'_> {
    LoggedRequest {
        account: l.0,
        model: l.1,
        endpoint: "chat",
        features: &l.3,
        client_country: Some(l.2),
        client_region: None,
        anonymizer: l.4,
        effect: l.5,
    }
}

fn any_logged() -> impl Strategy<Value = Logged> {
    (
        prop::sample::select(vec![Some("de"), Some("us"), Some("kp"), Some("gone"), None]),
        prop::sample::select(vec!["fable", "fable-5", "mythos-5", "fable-4", "nope"]),
        prop::sample::select(vec!["DE", "US", "KP"]),
        prop::sample::select(vec![vec![], vec!["tools".to_string()]]),
        prop::sample::select(vec![Some(false), Some(true), None]),
        prop::sample::select(vec![
            "allow",
            "allow_with_obligations",
            "deny",
            "verification_required",
            "odd",
        ]),
    )
}

fn traffic_of(sim: &Simulation, t: TrafficTally) -> cordon_simulate::report::TrafficReport {
    report(sim, Tally::default(), Some(t), ReportInputs::default())
        .traffic
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Deciding each account's distinct shapes once, with their
    /// multiplicities, gives exactly the figures of deciding every logged
    /// request on its own.
    #[test]
    fn replaying_shapes_per_account_equals_replaying_each_request(
        log in prop::collection::vec(any_logged(), 0..60),
        after_grace in any::<bool>(),
    ) {
        let sim = sim(if after_grace { AFTER_GRACE } else { IN_GRACE });
        let subjects: BTreeMap<&str, Subject> =
            [("de", subject(DE)), ("us", subject(US)), ("kp", subject(KP))].into();
        let mut each = TrafficTally::default();
        for l in &log {
            let s = l.0.and_then(|a| subjects.get(a));
            sim.replay(&logged_of(l), s, &mut each);
        }

        // Group by account, then by request shape; count outcomes.
        let mut grouped = TrafficTally::default();
        let mut by_account: BTreeMap<&str, Vec<(PreparedRequest, LoggedOutcomes)>> =
            BTreeMap::new();
        for l in &log {
            let Some(account) = l.0 else {
                grouped.skip(Skip::NoAccount, 1);
                continue;
            };
            if !subjects.contains_key(account) {
                grouped.skip(Skip::UnknownAccount, 1);
                continue;
            }
            let prepared = sim.prepare(&logged_of(l));
            let shapes = by_account.entry(account).or_default();
            let slot = match shapes.iter().position(|(p, _)| *p == prepared) {
                Some(k) => k,
                None => {
                    shapes.push((prepared, LoggedOutcomes::default()));
                    shapes.len() - 1
                }
            };
            shapes[slot].1.add(LoggedEffect::of(l.5), 1);
        }
        // Half the accounts in another tally, merged: per-thread use.
        let mut other = TrafficTally::default();
        for (k, (account, shapes)) in by_account.iter().enumerate() {
            let t = if k % 2 == 0 { &mut grouped } else { &mut other };
            sim.replay_account(account, &subjects[account], shapes.iter().map(|(p, o)| (p, *o)), t);
        }
        grouped.merge(other);
        prop_assert_eq!(grouped.decisions(), log.len() as u64);
        prop_assert_eq!(traffic_of(&sim, grouped), traffic_of(&sim, each));
    }
}

#[test]
fn a_shape_is_counted_with_its_multiplicity_by_logged_outcome() {
    let sim = sim(AFTER_GRACE);
    let de = subject(DE);
    let mut outcomes = LoggedOutcomes::default();
    outcomes.add(LoggedEffect::of("allow"), 5);
    outcomes.add(LoggedEffect::of("allow_with_obligations"), 2);
    outcomes.add(LoggedEffect::of("verification_required"), 3);
    outcomes.add(LoggedEffect::of("something new"), 1);
    assert_eq!(outcomes.total(), 11);
    let fable = sim.prepare(&logged(Some("de"), "fable", "allow"));
    let lyric_free = sim.prepare(&logged(Some("de"), "fable-4", "allow"));
    let mut t = TrafficTally::default();
    sim.replay_account(
        "de",
        &de,
        [(&fable, outcomes), (&lyric_free, outcomes)],
        &mut t,
    );
    let r = traffic_of(&sim, t);
    assert_eq!((r.decisions, r.replayed, r.accounts), (22, 22, 1));
    // fable-5 refuses a verified German after the grace period: the 7
    // logged as allowed are newly refused; fable-4 allows: the 3 logged as
    // refused are newly allowed; the unknown effect counts in neither.
    assert_eq!((r.would_refuse.requests, r.would_refuse.accounts), (11, 1));
    assert_eq!((r.newly_refused.requests, r.newly_refused.accounts), (7, 1));
    assert_eq!((r.newly_allowed.requests, r.newly_allowed.accounts), (3, 1));
}
