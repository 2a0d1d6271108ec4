//! What a directive's author can state: per-rule messages and remedies,
//! which directive's message a refusal shows, why a limited request is
//! limited, shadow evaluation before a directive takes effect, and
//! verification levels per recorded fact.

use cordon_policy::{Effect, Feature, Policy};
use cordon_source::SourceFile;

use super::support::*;

/// A directive refusing Iranian citizens of `fable-5`, with `extra` lines
/// after its header and `rules` as its rule tables.
fn directive(id: &str, extra: &str, rules: &str) -> String {
    format!(
        r#"id = "{id}"
title = "Title of {id}"
authority = "a"
citation = "c"
issued = 2026-01-01
effective = 2026-01-10T00:00:00Z
mode = "enforced"
message = "message of {id}"
remedy = "remedy of {id}"
{extra}

[scope]
models = ["fable-5"]

[unknown]
effect = "allow"

{rules}
"#
    )
}

const DENY_IRANIANS: &str = r#"[[rule]]
id = "iranians"
when = 'subject.citizenships in [IR]'
effect = "deny""#;

fn load(files: &[(&str, String)]) -> Policy {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|(n, t)| SourceFile::new(*n, t.clone()))
        .collect();
    Policy::from_files(&files, catalog(), jurisdictions(), &groups())
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics))
}

fn iranian() -> cordon_subject::Subject {
    subject(r#"{"citizenships": ["IR"], "verification": "document_verified"}"#)
}

#[test]
fn a_rule_s_remedy_replaces_the_directive_s_when_the_rule_decides() {
    let rules = format!(
        "{DENY_IRANIANS}\nmessage = \"rule message\"\nremedy = \"https://example.test/appeal\""
    );
    let p = load(&[("a.toml", directive("a", "", &rules))]);
    let e = ask(&p, "fable-5").explain(&iranian());
    assert_eq!(e.effect, Effect::Deny);
    assert_eq!(e.message.as_deref(), Some("rule message"));
    assert_eq!(e.remedy.as_deref(), Some("https://example.test/appeal"));
    // A subject the rule does not establish gets the directive's own.
    let rules = format!(
        "{rules}\n\n[[rule]]\nid = \"germans\"\nwhen = 'subject.citizenships in [DE]'\neffect = \"deny\""
    );
    let p = load(&[("a.toml", directive("a", "", &rules))]);
    let german = subject(r#"{"citizenships": ["DE"], "verification": "document_verified"}"#);
    let e = ask(&p, "fable-5").explain(&german);
    assert_eq!(e.remedy.as_deref(), Some("remedy of a"));
}

#[test]
fn among_equal_refusals_the_highest_priority_decides_then_the_first_id() {
    // Without priorities the first id decides.
    let p = load(&[
        ("a.toml", directive("a", "", DENY_IRANIANS)),
        ("b.toml", directive("b", "", DENY_IRANIANS)),
    ]);
    let e = ask(&p, "fable-5").explain(&iranian());
    assert_eq!(e.decided_by.as_deref(), Some("a"));
    // A stated priority wins whatever the ids.
    let p = load(&[
        ("a.toml", directive("a", "", DENY_IRANIANS)),
        ("b.toml", directive("b", "priority = 10", DENY_IRANIANS)),
    ]);
    let e = ask(&p, "fable-5").explain(&iranian());
    assert_eq!(e.decided_by.as_deref(), Some("b"));
    assert_eq!(e.message.as_deref(), Some("message of b"));
    // Priority never outranks a stronger effect.
    let verify = DENY_IRANIANS.replace("\"deny\"", "\"verification_required\"");
    let p = load(&[
        ("a.toml", directive("a", "", DENY_IRANIANS)),
        ("b.toml", directive("b", "priority = 10", &verify)),
    ]);
    let e = ask(&p, "fable-5").explain(&iranian());
    assert_eq!(
        (e.effect, e.decided_by.as_deref()),
        (Effect::Deny, Some("a"))
    );
}

#[test]
fn a_limited_request_carries_the_reason_for_its_limits() {
    let cap = r#"[[rule]]
id = "cap"
when = 'subject.citizenships in [IR]'
effect = "allow_with_obligations"
message = "Chat is capped at 2,000 output tokens for this order."
obligations = { max_tokens = 2000 }"#;
    let strip = r#"[[rule]]
id = "no-tools"
when = 'subject.citizenships in [IR]'
effect = "allow_with_obligations"
obligations = { remove_features = ["tools"] }"#;
    let p = load(&[
        ("cap.toml", directive("cap", "", cap)),
        ("strip.toml", directive("strip", "", strip)),
    ]);
    let e = ask(&p, "fable-5")
        .with(|r| r.features = [Feature::Tools].into_iter().collect())
        .explain(&iranian());
    assert_eq!(e.effect, Effect::AllowWithObligations);
    assert_eq!(e.obligations.max_tokens, Some(2000));
    assert_eq!(e.decided_by, None);
    // The rule's message where it has one, else the directive's title.
    assert_eq!(
        e.message.as_deref(),
        Some("Chat is capped at 2,000 output tokens for this order. (cap); Title of strip (strip)")
    );
}

#[test]
fn a_shadow_directive_is_evaluated_before_it_takes_effect_and_an_enforced_one_is_not() {
    let future = |mode: &str| {
        directive("later", "", DENY_IRANIANS)
            .replace(
                "effective = 2026-01-10T00:00:00Z",
                "effective = 2027-01-15T00:00:00Z",
            )
            .replace("mode = \"enforced\"", &format!("mode = \"{mode}\""))
    };
    let p = load(&[("later.toml", future("shadow"))]);
    let e = ask(&p, "fable-5").explain(&iranian());
    assert_eq!(e.effect, Effect::Allow, "shadow never decides");
    let r = e.shadow.iter().find(|r| r.id == "later").unwrap();
    assert_eq!(
        (r.effect, r.phase),
        (Effect::Deny, cordon_policy::Phase::Upcoming)
    );
    assert!(
        e.warnings.iter().any(|w| w.contains("`later` would deny")),
        "{:?}",
        e.warnings
    );
    let p = load(&[("later.toml", future("enforced"))]);
    let e = ask(&p, "fable-5").explain(&iranian());
    assert!(e.reasons.is_empty() && e.shadow.is_empty(), "{e:?}");
}

#[test]
fn a_level_can_be_required_of_one_fact_without_the_others() {
    let rules = r#"[[rule]]
id = "residents"
when = 'subject.residence_country in [CN]'
effect = "deny"

[[rule]]
id = "incorporated"
when = 'subject.organization.country in [CN]'
effect = "deny""#;
    let text = directive(
        "d5",
        "min_verification = \"self_declared\"\n\n[min_verification_for]\n\"subject.residence\" = \"document_verified\"",
        rules,
    )
    .replace("effect = \"allow\"", "effect = \"verification_required\"");
    let p = load(&[("d5.toml", text)]);
    // A self-declared residence is below the level asked of residence: unknown.
    let resident = subject(
        r#"{"verification": "self_declared", "residence_country": "CN", "organization": {"name": "Acme", "country": "US"}}"#,
    );
    let e = ask(&p, "fable-5").explain(&resident);
    assert_eq!(e.effect, Effect::VerificationRequired, "{e:?}");
    let need = e
        .verify
        .iter()
        .find(|v| v.attribute == "subject.residence_country")
        .unwrap_or_else(|| panic!("{:?}", e.verify));
    assert_eq!(
        need.min_verification,
        cordon_subject::VerificationLevel::DocumentVerified
    );
    // A self-declared country of incorporation still counts at the default.
    let incorporated = subject(
        r#"{"verification": "self_declared", "residence_country": "US", "organization": {"name": "Acme", "country": "CN"}}"#,
    );
    let e = ask(&p, "fable-5").explain(&incorporated);
    assert_eq!(
        (e.effect, e.decided_by.as_deref()),
        (Effect::Deny, Some("d5"))
    );
}

#[test]
fn a_level_for_something_that_is_not_a_recorded_fact_is_an_error() {
    for (key, needle) in [
        ("subject.residense", "did you mean `subject.residence`"),
        ("request.country", "is not a recorded subject fact"),
    ] {
        let text = directive(
            "x",
            &format!("[min_verification_for]\n\"{key}\" = \"attested\""),
            DENY_IRANIANS,
        );
        let files = [SourceFile::new("x.toml", text)];
        let e = Policy::from_files(&files, catalog(), jurisdictions(), &groups()).unwrap_err();
        let d = e
            .diagnostics
            .iter()
            .find(|d| d.message.contains(needle))
            .unwrap_or_else(|| panic!("{key}: {:#?}", e.diagnostics));
        assert_eq!(d.field, format!("min_verification_for.\"{key}\""));
    }
}

#[test]
fn a_customer_is_asked_to_verify_only_what_could_change_the_answer() {
    let rules = r#"[[rule]]
id = "d5"
when = 'subject.residence_country in [CN] or (subject.kind == organization and subject.organization.country in [CN])'
effect = "deny""#;
    let text = directive("d5", "", rules)
        .replace("effect = \"allow\"", "effect = \"verification_required\"");
    let p = load(&[("d5.toml", text)]);
    // An individual: the organisation clause is settled by the kind.
    let person = subject(r#"{"verification": "document_verified", "citizenships": ["US"]}"#);
    let e = ask(&p, "fable-5").explain(&person);
    let asked: Vec<&str> = e.verify.iter().map(|v| v.attribute).collect();
    assert_eq!(asked, ["subject.residence_country"], "{e:?}");
    // An organisation without a recorded country: both are open.
    let org = subject(
        r#"{"kind": "organization", "verification": "attested", "organization": {"name": "Acme"}}"#,
    );
    let e = ask(&p, "fable-5").explain(&org);
    let asked: Vec<&str> = e.verify.iter().map(|v| v.attribute).collect();
    assert!(asked.contains(&"subject.organization.country"), "{asked:?}");
}
