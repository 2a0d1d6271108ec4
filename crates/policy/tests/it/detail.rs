//! An explanation of [`Detail::Decision`] is the full one without the rule
//! reports: the gateway records and answers from it, so any other difference
//! would change a leaf or a refusal.

use cordon_policy::{Detail, Trace};
use serde_json::Value;

use crate::support::{
    AFTER_GRACE, IN_GRACE, NOTHING_KNOWN, SELF_DECLARED_GERMAN, US_CITIZEN, VERIFIED_GERMAN, ask,
    shipped, subject,
};

/// `explanation` as JSON with every reason's rules taken out.
fn without_rules(mut explanation: Value) -> Value {
    for list in ["reasons", "shadow"] {
        if let Some(reasons) = explanation[list].as_array_mut() {
            for r in reasons {
                if let Some(r) = r.as_object_mut() {
                    r.remove("rules");
                }
            }
        }
    }
    explanation
}

#[test]
fn a_decision_explanation_is_the_full_one_without_rule_reports() {
    let policy = shipped();
    let mut compared = 0;
    let mut rules_seen = 0;
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
                    let full = serde_json::to_value(&full).unwrap();
                    let brief = serde_json::to_value(&brief).unwrap();
                    assert_eq!(
                        without_rules(full),
                        without_rules(brief),
                        "{model} for a subject from {country} at {at}"
                    );
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
}
