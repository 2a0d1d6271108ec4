//! Replaying logged traffic.

use cordon_simulate::{LoggedRequest, ReportInputs, Tally, TrafficSource, TrafficTally, report};

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
