//! An explanation of [`Detail::Decision`] is the full one without the rule
//! reports and without values an earlier reason gave: the gateway records
//! and answers from it, so any other difference would change a leaf or a
//! refusal.

use cordon_policy::{Detail, Trace};
use serde_json::Value;

use crate::support::{
    AFTER_GRACE, IN_GRACE, NOTHING_KNOWN, SELF_DECLARED_GERMAN, US_CITIZEN, VERIFIED_GERMAN, ask,
    shipped, subject,
};

/// `explanation` as JSON with every reason's rules and values taken out,
/// and the distinct values of the enforced and of the shadow reasons, each
/// in the order they first appear.
fn split(mut explanation: Value) -> (Value, [Vec<Value>; 2]) {
    let mut values: [Vec<Value>; 2] = Default::default();
    for (list, distinct) in ["reasons", "shadow"].into_iter().zip(values.iter_mut()) {
        if let Some(reasons) = explanation[list].as_array_mut() {
            for r in reasons {
                if let Some(r) = r.as_object_mut() {
                    r.remove("rules");
                    if let Some(Value::Array(given)) = r.remove("values") {
                        for v in given {
                            if !distinct.contains(&v) {
                                distinct.push(v);
                            }
                        }
                    }
                }
            }
        }
    }
    (explanation, values)
}

/// How many values the reasons of `explanation` give, repeats included.
fn values_given(explanation: &cordon_policy::Explanation) -> usize {
    explanation
        .reasons
        .iter()
        .chain(&explanation.shadow)
        .map(|r| r.values.len())
        .sum()
}

#[test]
fn a_decision_explanation_is_the_full_one_without_rules_or_repeated_values() {
    let policy = shipped();
    let mut compared = 0;
    let mut rules_seen = 0;
    let mut repeats_left_out = 0;
    for model in ["fable-5", "lyric-4", "mythos-5", "no-such-model"] {
        for who in [
            US_CITIZEN,
            VERIFIED_GERMAN,
            SELF_DECLARED_GERMAN,
            NOTHING_KNOWN,
        ] {
            let who = subject(who);
            for country in ["US", "DE", "CN", "IR", "RU", "CU"] {
                for at in [AFTER_GRACE, IN_GRACE] {
                    let a = ask(&policy, model).from(country).at(at);
                    let mut trace = Trace::default();
                    let d = policy.decide(&who, &a.request, &mut trace);
                    let full = policy.explain(&who, &a.request, model, &d, &trace);
                    let brief =
                        policy.explain_with(&who, &a.request, model, &d, &trace, Detail::Decision);
                    assert!(
                        brief
                            .reasons
                            .iter()
                            .chain(&brief.shadow)
                            .all(|r| r.rules.is_empty())
                    );
                    rules_seen += full.reasons.iter().map(|r| r.rules.len()).sum::<usize>();
                    repeats_left_out += values_given(&full) - values_given(&brief);
                    let (full, full_values) = split(serde_json::to_value(&full).unwrap());
                    let (brief, brief_values) = split(serde_json::to_value(&brief).unwrap());
                    let case = format!("{model} for a subject from {country} at {at}");
                    assert_eq!(full, brief, "{case}");
                    assert_eq!(full_values, brief_values, "{case}");
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 4 * 4 * 6 * 2);
    assert!(
        rules_seen > 100,
        "the shipped packs consulted only {rules_seen} rules"
    );
    assert!(
        repeats_left_out > 100,
        "only {repeats_left_out} repeated values were left out"
    );
}
