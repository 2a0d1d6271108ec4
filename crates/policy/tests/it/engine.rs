//! Combination, time, determinism and versioning.

use cordon_policy::{Effect, Policy};
use cordon_source::SourceFile;

use super::support::*;

/// A directive with one rule, scoped to every model.
fn directive(id: &str, mode: &str, when: &str, effect: &str, extra: &str) -> String {
    format!(
        r#"id = "{id}"
title = "t"
authority = "a"
citation = "c"
issued = 2026-01-01
effective = 2026-01-01T00:00:00Z
mode = "{mode}"
message = "m"
{extra}
[unknown]
effect = "deny"

[[rule]]
id = "r"
when = '{when}'
effect = "{effect}"
"#
    )
}

fn policy(files: &[String]) -> Policy {
    let files: Vec<SourceFile> = files
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile::new(format!("d{i}.toml"), t.clone()))
        .collect();
    Policy::from_files(&files, catalog(), jurisdictions(), &groups())
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics))
}

fn capped(id: &str, cap: u32, features: &str) -> String {
    directive(id, "enforced", "true", "allow_with_obligations", "")
        .replace("effect = \"allow_with_obligations\"\n", &format!("effect = \"allow_with_obligations\"\nobligations = {{ max_tokens = {cap}, remove_features = [{features}] }}\n"))
}

#[test]
fn any_enforced_denial_denies_and_deny_outranks_verification() {
    let p = policy(&[
        directive("a", "enforced", "true", "verification_required", ""),
        directive("b", "enforced", "true", "deny", ""),
        capped("c", 100, ""),
    ]);
    let e = ask(&p, "lyric-4").explain(&subject(US_CITIZEN));
    assert_eq!(e.effect, Effect::Deny);
    assert_eq!(e.decided_by.as_deref(), Some("b"));
    assert_eq!(e.reasons.len(), 3, "every consulted directive is a reason");
}

#[test]
fn obligations_combine_to_the_most_restrictive() {
    let p = policy(&[
        capped("a", 4096, "\"tools\""),
        capped("b", 1024, "\"image_input\""),
    ]);
    let d = ask(&p, "lyric-4").decide(&subject(US_CITIZEN));
    assert_eq!(d.effect, Effect::AllowWithObligations);
    assert_eq!(d.obligations.max_tokens, Some(1024));
    assert_eq!(
        d.obligations
            .remove_features
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>(),
        ["tools", "image_input"]
    );
}

#[test]
fn shadow_directives_are_reported_but_never_decide() {
    let p = policy(&[directive("s", "shadow", "true", "deny", "")]);
    let e = ask(&p, "lyric-4").explain(&subject(US_CITIZEN));
    assert_eq!(e.effect, Effect::Allow);
    assert_eq!(e.shadow.len(), 1);
    assert_eq!(e.shadow[0].effect, Effect::Deny);
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("shadow directive `s` would deny"))
    );
}

#[test]
fn draft_and_retired_directives_are_not_consulted() {
    let p = policy(&[
        directive("d", "draft", "true", "deny", ""),
        directive("r", "retired", "true", "deny", ""),
    ]);
    let e = ask(&p, "lyric-4").explain(&subject(US_CITIZEN));
    assert_eq!(e.effect, Effect::Allow);
    assert!(e.reasons.is_empty() && e.shadow.is_empty());
}

#[test]
fn unknown_means_what_the_directive_says() {
    for (meaning, expected) in [
        ("deny", Effect::Deny),
        ("allow", Effect::Allow),
        ("verification_required", Effect::VerificationRequired),
        ("apply", Effect::Deny),
    ] {
        let text = directive("u", "enforced", "subject.citizenships in [IR]", "deny", "").replace(
            "effect = \"deny\"\n\n[[rule]]",
            &format!("effect = \"{meaning}\"\n\n[[rule]]"),
        );
        let p = policy(&[text]);
        assert_eq!(
            ask(&p, "lyric-4").decide(&subject(NOTHING_KNOWN)).effect,
            expected,
            "{meaning}"
        );
        // A known answer is unaffected by the unknown meaning.
        assert_eq!(
            ask(&p, "lyric-4")
                .decide(&subject(r#"{"citizenships": ["FR"]}"#))
                .effect,
            Effect::Allow,
            "{meaning}"
        );
    }
}

#[test]
fn a_rule_may_override_the_directives_unknown_meaning() {
    let text = directive("u", "enforced", "subject.citizenships in [IR]", "deny", "").replace(
        "'\neffect = \"deny\"\n",
        "'\neffect = \"deny\"\non_unknown = \"allow\"\n",
    );
    let p = policy(&[text]);
    assert_eq!(
        ask(&p, "lyric-4").decide(&subject(NOTHING_KNOWN)).effect,
        Effect::Allow
    );
}

#[test]
fn scope_by_family_tag_endpoint_and_feature() {
    let p = policy(&[
        directive("fam", "enforced", "true", "deny", "").replace(
            "message = \"m\"\n",
            "message = \"m\"\n[scope]\nfamilies = [\"mythos\"]\n",
        ),
        directive("tag", "enforced", "true", "deny", "").replace(
            "message = \"m\"\n",
            "message = \"m\"\n[scope]\ntags = [\"embedding\"]\n",
        ),
        directive("ep", "enforced", "true", "deny", "").replace(
            "message = \"m\"\n",
            "message = \"m\"\n[scope]\nmodels = [\"lyric-4\"]\nendpoints = [\"fine_tuning\"]\n",
        ),
        directive("ft", "enforced", "true", "deny", "").replace(
            "message = \"m\"\n",
            "message = \"m\"\n[scope]\nmodels = [\"fable-4\"]\nfeatures = [\"image_input\"]\n",
        ),
    ]);
    let who = subject(US_CITIZEN);
    assert_eq!(ask(&p, "mythos-5").decide(&who).effect, Effect::Deny);
    assert_eq!(ask(&p, "echo-embed-2").decide(&who).effect, Effect::Deny);
    assert_eq!(ask(&p, "lyric-4").decide(&who).effect, Effect::Allow);
    assert_eq!(
        ask(&p, "lyric-4")
            .with(|r| r.endpoint = cordon_policy::Endpoint::FineTuning)
            .decide(&who)
            .effect,
        Effect::Deny
    );
    assert_eq!(ask(&p, "fable-4").decide(&who).effect, Effect::Allow);
    assert_eq!(
        ask(&p, "fable-4")
            .with(|r| r.features.insert(cordon_policy::Feature::ImageInput))
            .decide(&who)
            .effect,
        Effect::Deny
    );
}

#[test]
fn decisions_are_deterministic() {
    let p = shipped();
    let who = subject(SELF_DECLARED_GERMAN);
    let a = serde_json::to_string(&ask(&p, "fable-5").explain(&who)).unwrap();
    let b = serde_json::to_string(&ask(&p, "fable-5").explain(&who)).unwrap();
    assert_eq!(a, b);
    let p2 = shipped();
    assert_eq!(
        a,
        serde_json::to_string(&ask(&p2, "fable-5").explain(&who)).unwrap()
    );
}

#[test]
fn the_policy_version_depends_on_content_not_on_file_names_or_order() {
    let a = directive("a", "enforced", "true", "deny", "");
    let b = directive("b", "enforced", "false", "deny", "");
    let v1 = policy(&[a.clone(), b.clone()]).version().to_owned();
    let v2 = policy(&[b.clone(), a.clone()]).version().to_owned();
    assert_eq!(v1, v2);
    assert!(v1.starts_with("sha256:") && v1.len() == 71);
    let v3 = policy(&[a, b.replace("false", "true")])
        .version()
        .to_owned();
    assert_ne!(v1, v3);
}

#[test]
fn a_known_region_outside_the_listed_regions_country_is_not_unknown() {
    let p = policy(&[directive(
        "crimea",
        "enforced",
        "request.region in [UA-43]",
        "deny",
        "",
    )]);
    // Country known and not Ukraine: the region cannot be Crimea even though it is unknown.
    assert_eq!(
        ask(&p, "lyric-4")
            .from("FR")
            .decide(&subject(US_CITIZEN))
            .effect,
        Effect::Allow
    );
    // Ukraine with no region: unknown, which this directive says to deny.
    assert_eq!(
        ask(&p, "lyric-4")
            .from("UA")
            .decide(&subject(US_CITIZEN))
            .effect,
        Effect::Deny
    );
    assert_eq!(
        ask(&p, "lyric-4")
            .region("UA-30")
            .decide(&subject(US_CITIZEN))
            .effect,
        Effect::Allow
    );
}

#[test]
fn max_tokens_and_tool_type_conditions() {
    let p = policy(&[
        directive("big", "enforced", "request.max_tokens > 8192", "deny", "").replace(
            "effect = \"deny\"\n\n[[rule]]",
            "effect = \"allow\"\n\n[[rule]]",
        ),
        directive(
            "web",
            "enforced",
            "request.tool_types in [web_search, computer_use]",
            "deny",
            "",
        ),
    ]);
    let who = subject(US_CITIZEN);
    assert_eq!(
        ask(&p, "lyric-4").decide(&who).effect,
        Effect::Allow,
        "max_tokens unknown means allow here"
    );
    assert_eq!(
        ask(&p, "lyric-4")
            .with(|r| r.max_tokens = Some(9000))
            .decide(&who)
            .effect,
        Effect::Deny
    );
    assert_eq!(
        ask(&p, "lyric-4")
            .with(|r| r.max_tokens = Some(8192))
            .decide(&who)
            .effect,
        Effect::Allow
    );
    assert_eq!(
        ask(&p, "lyric-4")
            .with(|r| r.tool_types.insert(cordon_policy::ToolType::WebSearch))
            .decide(&who)
            .effect,
        Effect::Deny
    );
    assert_eq!(
        ask(&p, "lyric-4")
            .with(|r| r.tool_types.insert(cordon_policy::ToolType::Function))
            .decide(&who)
            .effect,
        Effect::Allow
    );
}
