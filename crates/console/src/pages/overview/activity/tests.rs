use cordon_audit::AdminRecord;
use cordon_audit::leaf::{DecisionRecord, Obligations, Source};

use super::*;

/// 2026-12-07T00:00:00Z: the first hour charted.
const FIRST: i64 = 1_796_601_600;

fn decision(account: Option<&str>, effect: &str, hour: i64, directive: Option<&str>) -> Record {
    let time = jiff::Timestamp::from_second(FIRST + hour * 3600 + 59).unwrap();
    Record::Decision(DecisionRecord {
        id: "dec".into(),
        time: time.to_string(),
        account: account.map(str::to_owned),
        model_requested: "fable".into(),
        model: Some("fable-5".into()),
        endpoint: "chat".into(),
        effect: effect.into(),
        mode: Mode::Enforced,
        decided_by: directive.map(str::to_owned),
        consulted: Vec::new(),
        obligations: Obligations::default(),
        attributes: Vec::new(),
        policy_version: "v1".into(),
        client_country: None,
        client_region: None,
        anonymizer: None,
        source: Source::Cli,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    })
}

fn change(account: &str, action: &str) -> Record {
    Record::Admin(AdminRecord {
        id: "chg".into(),
        time: "2026-12-07T01:00:00Z".into(),
        actor: "system".into(),
        action: action.into(),
        subject: Some(account.into()),
        details: Default::default(),
    })
}

fn tally(records: &[Record]) -> Activity {
    let mut a = Activity::default();
    for r in records {
        a.count(r, FIRST);
    }
    a
}

#[test]
fn refusals_are_counted_by_hour_directive_and_model_and_nothing_else_is() {
    let a = tally(&[
        decision(Some("a"), "deny", 0, Some("embargo")),
        decision(Some("a"), "deny", 0, Some("embargo")),
        decision(Some("b"), "verification_required", 47, Some("frontier")),
        decision(None, "deny", 3, None),
        decision(Some("a"), "allow", 1, None),
        decision(Some("a"), "allow_with_obligations", 1, None),
        // Outside the hours charted, either side.
        decision(Some("a"), "deny", -1, Some("embargo")),
        decision(Some("a"), "deny", 48, Some("embargo")),
        change("a", "account.updated"),
    ]);
    assert_eq!(a.read, 9);
    assert_eq!(a.by_directive["embargo"][0], 2);
    assert_eq!(a.by_directive["embargo"].iter().sum::<u64>(), 2);
    assert_eq!(a.by_directive["frontier"][47], 1);
    assert_eq!(a.by_directive["none"][3], 1);
    assert_eq!(a.by_model["fable-5"].iter().sum::<u64>(), 4);
    assert_eq!(a.by_directive.len(), 3);
}

#[test]
fn a_shadow_decision_refuses_nothing() {
    let mut d = decision(Some("a"), "verification_required", 2, Some("frontier"));
    if let Record::Decision(x) = &mut d {
        x.mode = Mode::Shadow;
    }
    let a = tally(&[d]);
    assert!(a.by_directive.is_empty());
    assert_eq!(a.funnel(), [0, 0, 0]);
}

#[test]
fn the_funnel_follows_each_account_in_order_refused_then_verifying_then_allowed() {
    let a = tally(&[
        // Refused, verified by a source, allowed: restored.
        decision(Some("r"), "verification_required", 1, Some("frontier")),
        change("r", "verification.accepted"),
        decision(Some("r"), "allow", 2, None),
        // Refused, verified by hand, not back yet: started.
        decision(Some("s"), "verification_required", 1, Some("frontier")),
        change("s", "account.verified_by_hand"),
        // Allowed before it verified: that allowance restores nothing.
        decision(Some("t"), "verification_required", 1, Some("frontier")),
        decision(Some("t"), "allow", 1, None),
        // Verified before any refusal, then refused: refused only.
        change("u", "verification.accepted"),
        decision(Some("u"), "verification_required", 3, Some("frontier")),
        // Refused outright (deny) is not for want of verification.
        decision(Some("v"), "deny", 3, Some("embargo")),
        change("v", "verification.accepted"),
        // An unrelated change does not start a verification.
        decision(Some("w"), "verification_required", 3, Some("frontier")),
        change("w", "account.updated"),
        decision(Some("w"), "allow", 4, None),
    ]);
    assert_eq!(a.funnel(), [5, 2, 1]);
}

#[test]
fn the_busiest_series_come_first_and_the_rest_fold_into_others() {
    let mut counts = BTreeMap::new();
    for (i, name) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        let mut c = [0; HOURS];
        c[0] = i as u64 + 1;
        counts.insert((*name).to_owned(), c);
    }
    let s = series(&counts);
    let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["h", "g", "f", "e", "d", "3 others"]);
    assert_eq!(s[5].counts[0], 1 + 2 + 3);
    // Few enough: all shown, none folded.
    counts.retain(|k, _| k.as_str() < "c");
    assert_eq!(series(&counts).len(), 2);
}
