//! Cordon's decision engine against the same policy written in Cedar.
//!
//! Both engines get the benchmark policy from `crates/policy/benches/support`
//! (56 synthetic directives plus the shipped ones, a twenty-model catalog). The
//! Cedar text is generated from the same specs, as faithfully as Cedar allows;
//! see README.md for where it cannot match. The program
//!
//! 1. checks that the two engines agree on the benchmark's request mix and on
//!    every cell of the country × model matrix, and prints any disagreement;
//! 2. shows what a naive Cedar translation (no `has` guards) does with unknowns;
//! 3. times both engines over the same requests in one run and prints p50/p99
//!    and the ratio.
//!
//! Run: `cargo run --release --manifest-path bench/cedar-compare/Cargo.toml`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a benchmark program: failing loudly on a broken fixture is what we want"
)]

#[path = "../../../crates/policy/benches/support/mod.rs"]
#[allow(dead_code, reason = "shared with the Cordon benches")]
mod support;

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityUid, PolicyId,
    PolicySet, Request as CedarRequest, Response, RestrictedExpression,
};
use cordon_jurisdiction::{CountryCode, GroupRegistry, Jurisdictions};
use cordon_policy::{Effect, Feature, Policy, Request, Trace, matrix_subject};
use cordon_subject::{ScreeningStatus, Subject, VerificationLevel};
use jiff::Timestamp;
use support::{Cond, Eff, Spec, Unk};

// ---------------------------------------------------------------------------
// Policy text

fn level(name: &str) -> u8 {
    match VerificationLevel::parse(name).unwrap() {
        VerificationLevel::None => 0,
        VerificationLevel::SelfDeclared => 1,
        VerificationLevel::DocumentVerified => 2,
        VerificationLevel::Attested => 3,
    }
}

fn secs(rfc3339: &str) -> i64 {
    rfc3339.parse::<Timestamp>().unwrap().as_second()
}

fn countries(xs: &[&str]) -> String {
    let v: Vec<String> = xs.iter().map(|c| format!("Country::\"{c}\"")).collect();
    format!("[{}]", v.join(", "))
}

fn strings(xs: &[&str]) -> String {
    let v: Vec<String> = xs.iter().map(|c| format!("\"{c}\"")).collect();
    format!("[{}]", v.join(", "))
}

/// Kleene logic in two-valued Cedar: a pair of guarded expressions, "certainly
/// true" and "certainly false", neither of which can error. Unknown is neither.
fn kleene(c: &Cond, min: u8) -> (String, String) {
    let lvl = if min == 0 {
        "true".to_owned()
    } else {
        format!("principal.level >= {min}")
    };
    let pair = |k: String, v: String| (format!("({k} && {v})"), format!("({k} && !({v}))"));
    match c {
        Cond::True => ("true".into(), "false".into()),
        Cond::CountryIn(g) => pair(
            "context has country".into(),
            format!("context.country in Group::\"{g}\""),
        ),
        Cond::LocationIn(g) => (
            format!(
                "((context has country && context.country in Group::\"{g}\") || \
                 (context has region && context.region in Group::\"{g}\"))"
            ),
            format!(
                "(context has country && !(context.country in Group::\"{g}\") && \
                 ((context has region && !(context.region in Group::\"{g}\")) || \
                 (!(context has region) && !(context.country in RegionCountries::\"{g}\"))))"
            ),
        ),
        Cond::CountryUnknown => (
            "!(context has country)".into(),
            "(context has country)".into(),
        ),
        Cond::CitizenshipsIn(xs) => pair(
            format!("principal has citizenships && {lvl}"),
            format!("principal.citizenships.containsAny({})", countries(xs)),
        ),
        Cond::CitizenshipsInGroup(g) => pair(
            format!("principal has citizenships && {lvl}"),
            format!("principal.citizenships.containsAny(Group::\"{g}\".members)"),
        ),
        Cond::ResidenceIn(g) => (
            format!(
                "({lvl} && ((principal has residence && principal.residence in Group::\"{g}\") || \
                 (principal has residence_region && principal.residence_region in Group::\"{g}\")))"
            ),
            format!(
                "({lvl} && principal has residence && !(principal.residence in Group::\"{g}\") && \
                 ((principal has residence_region && !(principal.residence_region in Group::\"{g}\")) || \
                 (!(principal has residence_region) && !(principal.residence in RegionCountries::\"{g}\"))))"
            ),
        ),
        Cond::NotUsPerson => {
            // 15 CFR 772.1 (1): citizen, permanent resident or protected individual.
            let is = format!(
                "({lvl} && ((principal has citizenships && principal.citizenships.contains(Country::\"US\")) || \
                 (principal has permanent_residencies && principal.permanent_residencies.contains(Country::\"US\")) || \
                 (principal has protected_individual && principal.protected_individual)))"
            );
            let is_not = format!(
                "({lvl} && principal has citizenships && !principal.citizenships.contains(Country::\"US\") && \
                 principal has permanent_residencies && !principal.permanent_residencies.contains(Country::\"US\") && \
                 principal has protected_individual && !principal.protected_individual)"
            );
            (is_not, is)
        }
        Cond::Confirmed(xs) => pair(
            "true".into(),
            format!("principal.screening_confirmed.containsAny({})", strings(xs)),
        ),
        Cond::Pending(xs) => pair(
            "true".into(),
            format!("principal.screening_pending.containsAny({})", strings(xs)),
        ),
        Cond::MaxTokensGt(n) => pair(
            "context has max_tokens".into(),
            format!("context.max_tokens > {n}"),
        ),
        Cond::Anonymizer => pair("context has anonymizer".into(), "context.anonymizer".into()),
        Cond::FeaturesIn(xs) => pair(
            "true".into(),
            format!("context.features.containsAny({})", strings(xs)),
        ),
        Cond::And(a, b) => {
            let ((ta, fa), (tb, fb)) = (kleene(a, min), kleene(b, min));
            (format!("({ta} && {tb})"), format!("({fa} || {fb})"))
        }
        Cond::Or(a, b) => {
            let ((ta, fa), (tb, fb)) = (kleene(a, min), kleene(b, min));
            (format!("({ta} || {tb})"), format!("({fa} && {fb})"))
        }
    }
}

/// The translation most people would write first: two-valued, no `has` guards.
/// A missing attribute makes the condition *error*, and Cedar skips a policy
/// whose condition errors.
fn naive(c: &Cond) -> String {
    match c {
        Cond::True => "true".into(),
        Cond::CountryIn(g) => format!("context.country in Group::\"{g}\""),
        Cond::LocationIn(g) => {
            format!("(context.country in Group::\"{g}\" || context.region in Group::\"{g}\")")
        }
        Cond::CountryUnknown => "!(context has country)".into(),
        Cond::CitizenshipsIn(xs) => {
            format!("principal.citizenships.containsAny({})", countries(xs))
        }
        Cond::CitizenshipsInGroup(g) => {
            format!("principal.citizenships.containsAny(Group::\"{g}\".members)")
        }
        Cond::ResidenceIn(g) => format!("principal.residence in Group::\"{g}\""),
        Cond::NotUsPerson => "!(principal.citizenships.contains(Country::\"US\") || \
             principal.permanent_residencies.contains(Country::\"US\") || \
             principal.protected_individual)"
            .into(),
        Cond::Confirmed(xs) => {
            format!("principal.screening_confirmed.containsAny({})", strings(xs))
        }
        Cond::Pending(xs) => format!("principal.screening_pending.containsAny({})", strings(xs)),
        Cond::MaxTokensGt(n) => format!("context.max_tokens > {n}"),
        Cond::Anonymizer => "context.anonymizer".into(),
        Cond::FeaturesIn(xs) => format!("context.features.containsAny({})", strings(xs)),
        Cond::And(a, b) => format!("({} && {})", naive(a), naive(b)),
        Cond::Or(a, b) => format!("({} || {})", naive(a), naive(b)),
    }
}

/// How an engine-neutral effect is written: a Cedar effect and annotations the
/// host reads back from the response's reasons.
fn effect_head(e: Eff) -> String {
    match e {
        Eff::Deny => "@effect(\"deny\")\nforbid".into(),
        Eff::Verify => "@effect(\"verification_required\")\nforbid".into(),
        Eff::Oblige(cap, remove) => format!(
            "@effect(\"allow_with_obligations\")\n@max_tokens(\"{}\")\n@remove_features(\"{}\")\npermit",
            cap.map(|c| c.to_string()).unwrap_or_default(),
            remove.join(",")
        ),
    }
}

/// Writes one directive as Cedar policies; `naive_unknowns` drops the guards
/// and the unknown-meaning policies.
fn to_cedar(s: &Spec, naive_unknowns: bool) -> String {
    let min = level(s.min_verification);
    let mut phase = vec![format!("context.now >= {}", secs(s.effective))];
    if let Some(x) = s.expires {
        phase.push(format!("context.now < {}", secs(x)));
    }
    let mut scope = Vec::new();
    let mut targets: Vec<String> = s.models.iter().map(|m| format!("Model::\"{m}\"")).collect();
    targets.extend(s.families.iter().map(|f| format!("Family::\"{f}\"")));
    targets.extend(s.tags.iter().map(|t| format!("Tag::\"{t}\"")));
    if !targets.is_empty() {
        scope.push(format!("resource in [{}]", targets.join(", ")));
    }
    if !s.features.is_empty() {
        scope.push(format!(
            "context.features.containsAny({})",
            strings(&s.features)
        ));
    }
    let action = if s.endpoints.is_empty() {
        "action".to_owned()
    } else {
        let v: Vec<String> = s
            .endpoints
            .iter()
            .map(|e| format!("Action::\"{e}\""))
            .collect();
        format!("action in [{}]", v.join(", "))
    };
    let exempt: Vec<String> = s
        .exemptions
        .iter()
        .map(|x| {
            let lvl = level(x.min_verification.unwrap_or(s.min_verification));
            format!(
                "(principal has org && principal.org_level >= {lvl} && principal.org == \"{}\" && context.now < {})",
                x.holder.to_lowercase(),
                secs(x.expires)
            )
        })
        .collect();
    let unless = if exempt.is_empty() {
        String::new()
    } else {
        format!("\nunless {{ {} }}", exempt.join(" || "))
    };
    let mut out = String::new();
    let mut emit = |head: String, extra: &[String], cond: String, tag: String| {
        let mut when: Vec<String> = phase.clone();
        when.extend(extra.iter().cloned());
        when.extend(scope.iter().cloned());
        when.push(cond);
        out.push_str(&format!(
            "@directive(\"{}\")\n@rule(\"{tag}\")\n{head}(principal, {action}, resource)\nwhen {{ {} }}{unless};\n\n",
            s.id,
            when.join(" && ")
        ));
    };
    for (i, r) in s.rules.iter().enumerate() {
        if naive_unknowns {
            emit(effect_head(r.effect), &[], naive(&r.when), format!("r{i}"));
            continue;
        }
        let (t, f) = kleene(&r.when, min);
        emit(effect_head(r.effect), &[], t.clone(), format!("r{i}"));
        // Unknown: neither certainly true nor certainly false; its meaning
        // depends on the phase.
        let phases: Vec<(Vec<String>, Unk)> = match s.grace_until {
            Some(g) => vec![
                (
                    vec![format!("context.now < {}", secs(g))],
                    s.during_grace.unwrap_or(s.unknown),
                ),
                (vec![format!("context.now >= {}", secs(g))], s.unknown),
            ],
            None => vec![(Vec::new(), s.unknown)],
        };
        for (extra, meaning) in phases {
            let head = match meaning {
                Unk::Allow => continue,
                Unk::Deny => effect_head(Eff::Deny),
                Unk::Verify => effect_head(Eff::Verify),
                Unk::Apply => effect_head(r.effect),
            };
            emit(
                head,
                &extra,
                format!("!{t} && !{f}"),
                format!("r{i}-unknown"),
            );
        }
    }
    out
}

/// Enforced and shadow policy sets (Cedar has no shadow mode: a shadow forbid
/// in the enforced set would deny, so shadow directives get their own set).
fn policy_sets(specs: &[Spec], naive_unknowns: bool) -> (PolicySet, PolicySet) {
    let baseline = "@baseline(\"\")\npermit(principal, action, resource);\n\n";
    let mut enforced = baseline.to_owned();
    let mut shadow = baseline.to_owned();
    for s in specs {
        match s.mode {
            "enforced" => enforced.push_str(&to_cedar(s, naive_unknowns)),
            "shadow" => shadow.push_str(&to_cedar(s, naive_unknowns)),
            _ => {} // draft and retired directives are never consulted
        }
    }
    let parse = |text: &str| {
        PolicySet::from_str(text).unwrap_or_else(|e| {
            std::fs::write("/tmp/cedar-policies.cedar", text).ok();
            panic!("cedar policy text does not parse (written to /tmp/cedar-policies.cedar): {e:?}")
        })
    };
    (parse(&enforced), parse(&shadow))
}

// ---------------------------------------------------------------------------
// Entities and requests

fn uid(ty: &str, id: &str) -> EntityUid {
    EntityUid::from_str(&format!("{ty}::\"{id}\"")).unwrap()
}

fn ent(ty: &str, id: &str) -> RestrictedExpression {
    RestrictedExpression::new_entity_uid(uid(ty, id))
}

/// Models, families, tags, countries, regions and groups.
fn static_entities(
    policy: &Policy,
    jurisdictions: &Jurisdictions,
    groups: &GroupRegistry,
) -> Vec<Entity> {
    let mut out = Vec::new();
    for (_, m) in policy.catalog().models() {
        let mut parents: HashSet<EntityUid> = m.tags.iter().map(|t| uid("Tag", t)).collect();
        parents.insert(uid("Family", &m.family));
        out.push(Entity::new_no_attrs(uid("Model", &m.id), parents));
    }
    for (c, _) in jurisdictions.countries() {
        let mut parents = HashSet::new();
        for g in groups.iter() {
            if g.countries.contains(c) {
                parents.insert(uid("Group", &g.id));
            }
            if g.regions.iter().any(|r| r.country() == c) {
                parents.insert(uid("RegionCountries", &g.id));
            }
        }
        out.push(Entity::new_no_attrs(uid("Country", c.as_str()), parents));
    }
    let mut regions: HashMap<String, HashSet<EntityUid>> = HashMap::new();
    for g in groups.iter() {
        for r in &g.regions {
            regions
                .entry(r.to_string())
                .or_default()
                .insert(uid("Group", &g.id));
        }
        let members =
            RestrictedExpression::new_set(g.countries.iter().map(|c| ent("Country", c.as_str())));
        out.push(
            Entity::new(
                uid("Group", &g.id),
                HashMap::from([("members".to_owned(), members)]),
                HashSet::new(),
            )
            .unwrap(),
        );
    }
    for (r, parents) in regions {
        out.push(Entity::new_no_attrs(uid("Region", &r), parents));
    }
    out
}

fn level_of(v: VerificationLevel) -> i64 {
    match v {
        VerificationLevel::None => 0,
        VerificationLevel::SelfDeclared => 1,
        VerificationLevel::DocumentVerified => 2,
        VerificationLevel::Attested => 3,
    }
}

/// A subject as a Cedar `User`. Cedar has no per-value provenance, so every
/// attribute carries the record's one verification level (`level`).
fn user(id: &str, s: &Subject) -> Entity {
    let mut a: HashMap<String, RestrictedExpression> = HashMap::new();
    a.insert(
        "level".into(),
        RestrictedExpression::new_long(level_of(s.verification)),
    );
    let set = |l: &[cordon_subject::Attested<CountryCode>]| {
        RestrictedExpression::new_set(l.iter().map(|c| ent("Country", c.value.as_str())))
    };
    if let Some(l) = &s.citizenships {
        a.insert("citizenships".into(), set(l));
    }
    if let Some(l) = &s.permanent_residencies {
        a.insert("permanent_residencies".into(), set(l));
    }
    if let Some(p) = &s.protected_individual {
        a.insert(
            "protected_individual".into(),
            RestrictedExpression::new_bool(p.value),
        );
    }
    if let Some(r) = &s.residence_country {
        a.insert("residence".into(), ent("Country", r.value.as_str()));
    }
    if let Some(r) = &s.residence_region {
        a.insert(
            "residence_region".into(),
            ent("Region", &r.value.to_string()),
        );
    }
    for (key, status) in [
        ("screening_confirmed", ScreeningStatus::Confirmed),
        ("screening_pending", ScreeningStatus::Pending),
    ] {
        let lists = s.screening_lists(status);
        a.insert(
            key.into(),
            RestrictedExpression::new_set(
                lists
                    .iter()
                    .map(|l| RestrictedExpression::new_string(l.code().to_owned())),
            ),
        );
    }
    if let Some(o) = &s.organization {
        // Cordon compares names case- and space-insensitively itself; for Cedar
        // the host must normalise before building the entity.
        let key = o
            .name
            .value
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        a.insert("org".into(), RestrictedExpression::new_string(key));
        a.insert(
            "org_level".into(),
            RestrictedExpression::new_long(level_of(o.name.provenance.level)),
        );
    }
    Entity::new(uid("User", id), a, HashSet::new()).unwrap()
}

/// A Cordon request as a Cedar request: the endpoint is the action, the model
/// the resource, everything else context.
fn cedar_request(policy: &Policy, user_id: &str, r: &Request) -> CedarRequest {
    let model = r
        .model
        .and_then(|m| policy.catalog().model(m))
        .map_or("unknown-model", |m| m.id.as_str());
    let mut ctx: Vec<(String, RestrictedExpression)> = vec![
        (
            "now".into(),
            RestrictedExpression::new_long(r.at.as_second()),
        ),
        (
            "features".into(),
            RestrictedExpression::new_set(
                r.features
                    .iter()
                    .map(|f| RestrictedExpression::new_string(f.as_str().to_owned())),
            ),
        ),
    ];
    if let Some(c) = r.country {
        ctx.push(("country".into(), ent("Country", c.as_str())));
    }
    if let Some(g) = r.region {
        ctx.push(("region".into(), ent("Region", &g.to_string())));
    }
    if let Some(m) = r.max_tokens {
        ctx.push((
            "max_tokens".into(),
            RestrictedExpression::new_long(i64::from(m)),
        ));
    }
    if let Some(a) = r.anonymizer {
        ctx.push(("anonymizer".into(), RestrictedExpression::new_bool(a)));
    }
    CedarRequest::new(
        uid("User", user_id),
        uid("Action", r.endpoint.as_str()),
        uid("Model", model),
        Context::from_pairs(ctx).unwrap(),
        None,
    )
    .unwrap()
}

// ---------------------------------------------------------------------------
// Reading Cedar's answer back

/// What a Cedar policy contributes, read once from its annotations.
#[derive(Clone, Copy)]
struct Meta {
    effect: Effect,
    max_tokens: Option<u32>,
    remove: u16,
}

fn metas(set: &PolicySet) -> HashMap<PolicyId, Meta> {
    set.policies()
        .map(|p| {
            let effect = match p.annotation("effect") {
                Some("deny") => Effect::Deny,
                Some("verification_required") => Effect::VerificationRequired,
                Some("allow_with_obligations") => Effect::AllowWithObligations,
                _ => Effect::Allow,
            };
            let max_tokens = p.annotation("max_tokens").and_then(|m| m.parse().ok());
            let remove = p
                .annotation("remove_features")
                .unwrap_or_default()
                .split(',')
                .filter_map(Feature::parse)
                .fold(0, |m, f| m | f.bit());
            (
                p.id().clone(),
                Meta {
                    effect,
                    max_tokens,
                    remove,
                },
            )
        })
        .collect()
}

/// A decision comparable across engines: effect, cap and removed features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    effect: Effect,
    max_tokens: Option<u32>,
    remove: u16,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.effect.as_str())?;
        if let Some(m) = self.max_tokens {
            write!(f, " max_tokens={m}")?;
        }
        if self.remove != 0 {
            let names: Vec<&str> = cordon_policy::FeatureSet(self.remove)
                .iter()
                .map(|x| x.as_str())
                .collect();
            write!(f, " remove={}", names.join(","))?;
        }
        Ok(())
    }
}

fn cedar_outcome(resp: &Response, metas: &HashMap<PolicyId, Meta>) -> Outcome {
    let mut out = Outcome {
        effect: Effect::Allow,
        max_tokens: None,
        remove: 0,
    };
    match resp.decision() {
        CedarDecision::Deny => {
            out.effect = resp
                .diagnostics()
                .reason()
                .filter_map(|id| metas.get(id))
                .map(|m| m.effect)
                .max()
                .unwrap_or(Effect::Deny);
        }
        CedarDecision::Allow => {
            for m in resp.diagnostics().reason().filter_map(|id| metas.get(id)) {
                if m.effect == Effect::AllowWithObligations {
                    out.max_tokens = match (out.max_tokens, m.max_tokens) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    out.remove |= m.remove;
                }
            }
            if out.max_tokens.is_some() || out.remove != 0 {
                out.effect = Effect::AllowWithObligations;
            }
        }
    }
    out
}

fn cordon_outcome(policy: &Policy, s: &Subject, r: &Request, trace: &mut Trace) -> Outcome {
    let d = policy.decide(s, r, trace);
    let obliged = d.effect == Effect::AllowWithObligations;
    Outcome {
        effect: d.effect,
        max_tokens: if obliged {
            d.obligations.max_tokens
        } else {
            None
        },
        remove: if obliged {
            d.obligations.remove_features.0
        } else {
            0
        },
    }
}

// ---------------------------------------------------------------------------
// Timing

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sample(n: usize, mut f: impl FnMut()) -> Vec<u64> {
    for _ in 0..(n / 10).max(1) {
        f();
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f();
        out.push(t.elapsed().as_nanos() as u64);
    }
    out
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

fn us(ns: u64) -> String {
    format!("{:.2} µs", ns as f64 / 1000.0)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (cordon_n, cedar_n) = if quick {
        (2_000, 200)
    } else {
        (100_000, 5_000)
    };

    let jurisdictions = support::jurisdictions();
    let groups = support::groups();
    let policy = support::policy();
    let mut specs = support::synthetic_specs();
    specs.extend(support::shipped_specs());
    let (enforced, shadow) = policy_sets(&specs, false);
    let (naive_enforced, _) = policy_sets(&specs, true);
    let (meta, naive_meta) = (metas(&enforced), metas(&naive_enforced));
    let authorizer = Authorizer::new();
    let cases = support::cases(&policy);

    let mut entities = static_entities(&policy, jurisdictions, &groups);
    let statics = entities.len();
    entities.extend(cases.iter().map(|c| user(c.name, &c.subject)));
    let entities = Entities::from_entities(entities, None).unwrap();
    let requests: Vec<CedarRequest> = cases
        .iter()
        .map(|c| cedar_request(&policy, c.name, &c.request))
        .collect();
    let mut trace = Trace::with_capacity(policy.max_consulted());

    println!("Cordon vs Cedar (cedar-policy 4.x), same policy, same requests, one run");
    println!(
        "Cordon: {} directives ({} enforced or shadow), {} consulted at most per model; catalog {} models",
        policy.directives().len(),
        specs
            .iter()
            .filter(|s| matches!(s.mode, "enforced" | "shadow"))
            .count(),
        policy.max_consulted(),
        policy.catalog().len()
    );
    println!(
        "Cedar:  {} enforced policies + {} shadow policies (rules, unknown-meaning policies and a baseline permit); {} entities + 1 user per request\n",
        enforced.policies().count(),
        shadow.policies().count(),
        statics
    );

    // 1. Agreement on the request mix.
    println!("== agreement on the request mix");
    println!(
        "{:<18} {:<34} {:<34} naive Cedar (no guards)",
        "case", "Cordon", "Cedar"
    );
    let mut disagreements = 0;
    for (c, req) in cases.iter().zip(&requests) {
        let ours = cordon_outcome(&policy, &c.subject, &c.request, &mut trace);
        let theirs = cedar_outcome(&authorizer.is_authorized(req, &enforced, &entities), &meta);
        let naive_resp = authorizer.is_authorized(req, &naive_enforced, &entities);
        let naive = cedar_outcome(&naive_resp, &naive_meta);
        let errors = naive_resp.diagnostics().errors().count();
        let mark = if ours == theirs { "" } else { "  <-- DISAGREE" };
        if ours != theirs {
            disagreements += 1;
        }
        println!(
            "{:<18} {:<34} {:<34} {}{}{mark}",
            c.name,
            ours.to_string(),
            theirs.to_string(),
            naive,
            if errors > 0 {
                format!(" ({errors} policies errored and were skipped)")
            } else {
                String::new()
            }
        );
    }

    // 2. Agreement on the whole matrix: a verified single national of each
    // country, connecting from it, for every model.
    let mut matrix_entities = static_entities(&policy, jurisdictions, &groups);
    let subjects: Vec<(CountryCode, Subject)> = jurisdictions
        .countries()
        .map(|(c, _)| (c, matrix_subject(c)))
        .collect();
    matrix_entities.extend(subjects.iter().map(|(c, s)| user(c.as_str(), s)));
    let matrix_entities = Entities::from_entities(matrix_entities, None).unwrap();
    let models: Vec<_> = policy.catalog().models().map(|(id, _)| id).collect();
    let (mut cells, mut differ) = (0, Vec::new());
    for (c, s) in &subjects {
        for m in &models {
            let mut r = Request::new(Some(*m), support::at());
            r.country = Some(*c);
            let ours = cordon_outcome(&policy, s, &r, &mut trace);
            let req = cedar_request(&policy, c.as_str(), &r);
            let theirs = cedar_outcome(
                &authorizer.is_authorized(&req, &enforced, &matrix_entities),
                &meta,
            );
            cells += 1;
            if ours != theirs {
                differ.push(format!("{c} x {m:?}: Cordon {ours}, Cedar {theirs}"));
            }
        }
    }
    println!(
        "\n== agreement on the matrix: {cells} cells, {} differ",
        differ.len()
    );
    for d in differ.iter().take(10) {
        println!("  {d}");
    }
    disagreements += differ.len();

    // 3. Timing.
    println!(
        "\n== timing ({cordon_n} Cordon and {cedar_n} Cedar decisions per case; each sample is one call timed with Instant)"
    );
    println!(
        "{:<18} {:>11} {:>11} | {:>11} {:>11} | {:>11} {:>11} | {:>7}",
        "case", "Cordon p50", "p99", "Cedar p50", "p99", "+shadow p50", "p99", "p50 x"
    );
    let (mut all_cordon, mut all_cedar, mut all_both, mut all_e2e) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (c, req) in cases.iter().zip(&requests) {
        let ours = sorted(sample(cordon_n, || {
            black_box(policy.decide(black_box(&c.subject), black_box(&c.request), &mut trace));
        }));
        let theirs = sorted(sample(cedar_n, || {
            let r = authorizer.is_authorized(black_box(req), &enforced, &entities);
            black_box(cedar_outcome(&r, &meta));
        }));
        let both = sorted(sample(cedar_n, || {
            let r = authorizer.is_authorized(black_box(req), &enforced, &entities);
            black_box(cedar_outcome(&r, &meta));
            black_box(authorizer.is_authorized(black_box(req), &shadow, &entities));
        }));
        // End to end: the host also turns its request into a Cedar request.
        let e2e = sample(cedar_n / 5, || {
            let req = cedar_request(&policy, c.name, black_box(&c.request));
            let r = authorizer.is_authorized(&req, &enforced, &entities);
            black_box(cedar_outcome(&r, &meta));
        });
        println!(
            "{:<18} {:>11} {:>11} | {:>11} {:>11} | {:>11} {:>11} | {:>6.0}x",
            c.name,
            us(percentile(&ours, 0.5)),
            us(percentile(&ours, 0.99)),
            us(percentile(&theirs, 0.5)),
            us(percentile(&theirs, 0.99)),
            us(percentile(&both, 0.5)),
            us(percentile(&both, 0.99)),
            percentile(&theirs, 0.5) as f64 / percentile(&ours, 0.5).max(1) as f64
        );
        // Pool equal numbers of samples per case for the mix.
        let step = ours.len() / theirs.len();
        all_cordon.extend(ours.iter().step_by(step.max(1)).take(theirs.len()));
        all_cedar.extend(theirs);
        all_both.extend(both);
        all_e2e.extend(e2e);
    }
    // Context rows: the naive translation (about one policy per rule, no
    // guards, fails open) and Cedar's fixed cost (one permit, nothing else).
    let trivial = PolicySet::from_str("permit(principal, action, resource);").unwrap();
    let (mut naive_t, mut trivial_t) = (Vec::new(), Vec::new());
    for req in &requests {
        naive_t.extend(sample(cedar_n, || {
            let r = authorizer.is_authorized(black_box(req), &naive_enforced, &entities);
            black_box(cedar_outcome(&r, &naive_meta));
        }));
        trivial_t.extend(sample(cedar_n, || {
            black_box(authorizer.is_authorized(black_box(req), &trivial, &entities));
        }));
    }
    let (o, t, b, e) = (
        sorted(all_cordon),
        sorted(all_cedar),
        sorted(all_both),
        sorted(all_e2e),
    );
    println!("\n== the whole mix ({} cases, equal weight)", cases.len());
    let line = |name: &str, v: &[u64]| {
        println!(
            "{name:<44} p50 {:>10}  p99 {:>10}",
            us(percentile(v, 0.5)),
            us(percentile(v, 0.99))
        );
    };
    line("Cordon decide", &o);
    line("Cedar is_authorized (enforced set)", &t);
    line("Cedar enforced + shadow sets", &b);
    line("Cedar end to end (build request + authorize)", &e);
    line(
        &format!(
            "Cedar naive set ({} policies, fails open)",
            naive_enforced.policies().count()
        ),
        &sorted(naive_t),
    );
    line("Cedar with one permit (fixed cost)", &sorted(trivial_t));
    let ratio = |a: &[u64], p: f64| percentile(a, p) as f64 / percentile(&o, p).max(1) as f64;
    println!(
        "\nratio Cedar/Cordon: p50 {:.0}x, p99 {:.0}x (enforced set only); p50 {:.0}x, p99 {:.0}x (with shadow, the same work Cordon does)",
        ratio(&t, 0.5),
        ratio(&t, 0.99),
        ratio(&b, 0.5),
        ratio(&b, 0.99)
    );
    println!(
        "\nGaps in the Cedar version are listed in bench/cedar-compare/README.md. Disagreements: {disagreements}."
    );
}
