//! Properties written in the condition language:
//! `forall subject where <condition>: effect(<model>) in {<effect>, …}`.
//!
//! The condition is checked exactly as a directive's is (the same checker,
//! jurisdictions and groups) by compiling it as the one rule of a draft
//! directive that no decision consults; its truth on a case comes from
//! [`cordon_policy::Directive::rule_outcomes`]. The condition's own classes
//! are enumerated first, then every rule group of every enforced directive
//! covering the model around each case that satisfies it. This is a search
//! over those combinations, not a proof over their product, and the report
//! says so.

use cordon_jurisdiction::GroupRegistry;
use cordon_policy::{CheckEnv, Directive, Mode, Phase, Severity, check_file};
use cordon_source::SourceFile;
use cordon_subject::Truth;

use crate::case::Case;
use crate::checks::{Commands, minimize};
use crate::error::AnalysisError;
use crate::explore::{Explorer, Points, SetView, every_class};
use crate::partition::Partition;
use crate::property::{Property, UserProperty};
use crate::report::{PropertyReport, Violation};

/// The condition as the one rule of a draft directive.
fn compile(
    u: &UserProperty,
    set: &SetView<'_>,
    groups: &GroupRegistry,
    j: &cordon_jurisdiction::Jurisdictions,
) -> Result<Directive, AnalysisError> {
    let escaped = u.condition.replace('\\', "\\\\").replace('"', "\\\"");
    let text = format!(
        "id = \"analysis-property\"\ntitle = \"property\"\nauthority = \"analysis\"\ncitation = \"analysis\"\nissued = 2000-01-01\neffective = 1900-01-01T00:00:00Z\nmode = \"draft\"\nmin_verification = \"none\"\nmessage = \"property\"\n[foreign_person]\nexcept = [\"us_citizens\", \"us_nationals\", \"permanent_residents\", \"protected_individuals\"]\ncitation = \"15 CFR 772.1\"\n[unknown]\neffect = \"allow\"\n[[rule]]\nid = \"where\"\nwhen = \"{escaped}\"\neffect = \"deny\"\n"
    );
    let file = SourceFile::new("--property", text);
    let env = CheckEnv {
        jurisdictions: j,
        groups,
        catalog: set.policy.catalog(),
    };
    let (d, diagnostics) = check_file(&file, &env);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    match d {
        Some(d) if errors.is_empty() => Ok(d),
        _ => Err(AnalysisError::BadProperty {
            text: u.written.clone(),
            reason: format!("the condition is not valid: {}", errors.join("; ")),
        }),
    }
}

/// Whether the condition holds (true, not unknown) for a case.
fn holds(ex: &Explorer<'_>, d: &Directive, case: &Case) -> Result<bool, AnalysisError> {
    let subject = case
        .subject(ex.jurisdictions)
        .map_err(|e| AnalysisError::Case {
            detail: e.to_string(),
        })?;
    Ok(matches!(
        d.rule_outcomes(&subject, &case.request(), Phase::InForce)
            .first(),
        Some((Truth::True, _))
    ))
}

/// Checks a user property.
pub(crate) fn user(
    ex: &mut Explorer<'_>,
    set: &SetView<'_>,
    u: &UserProperty,
    groups: &GroupRegistry,
    commands: &Commands,
) -> Result<PropertyReport, AnalysisError> {
    let start = ex.decisions;
    let condition = compile(u, set, groups, ex.jurisdictions)?;
    let part = Partition::of(&condition, ex.jurisdictions, &set.tests);
    let model = match set.policy.catalog().resolve(&u.model) {
        cordon_catalog::Resolution::Known { id, .. } => id,
        cordon_catalog::Resolution::Unknown => ex.background.model,
    };
    let mut base = ex.background.clone();
    base.model = model;
    base.model_name = u.model.clone();
    let mut violation: Option<Case> = None;
    let mut seeds: Vec<Case> = Vec::new();
    // The condition's own classes, at every time point.
    'times: for t in (0..ex.times.len()).rev() {
        let mut at = base.clone();
        if let Some(x) = ex.times.get(t) {
            at.at = *x;
        }
        let mut seeded = false;
        for g in &part.groups {
            let mut filtered = Vec::new();
            let mut points = Points::new(&part, &g.dims, &every_class, &mut filtered);
            let mut case = at.clone();
            while points.next_into(&mut case) {
                if !holds(ex, &condition, &case)? {
                    continue;
                }
                if !seeded {
                    seeds.push(case.clone());
                    seeded = true;
                }
                let d = ex.decide(set.policy, &case)?;
                if !u.effects.contains(&d.effect) {
                    violation = Some(case.clone());
                    break 'times;
                }
            }
        }
    }
    // Every enforced directive's rule groups around each satisfying case.
    if violation.is_none() {
        'directives: for (index, d) in set.policy.directives().iter().enumerate() {
            if d.mode != Mode::Enforced || !d.covers_model(model) {
                continue;
            }
            let Some(p) = set.partitions.get(index) else {
                continue;
            };
            for seed in &seeds {
                for g in &p.groups {
                    let mut filtered = Vec::new();
                    let mut points = Points::new(p, &g.dims, &every_class, &mut filtered);
                    let mut case = seed.clone();
                    while points.next_into(&mut case) {
                        if !holds(ex, &condition, &case)? {
                            continue;
                        }
                        let decision = ex.decide(set.policy, &case)?;
                        if !u.effects.contains(&decision.effect) {
                            violation = Some(case.clone());
                            break 'directives;
                        }
                    }
                }
            }
        }
    }
    let mut violations = Vec::new();
    if let Some(case) = violation {
        let dims: Vec<crate::dims::Dim> = crate::dims::Dim::ALL.to_vec();
        let effects = u.effects.clone();
        let mut still = |ex: &mut Explorer<'_>, c: &Case| -> Result<bool, AnalysisError> {
            Ok(holds(ex, &condition, c)? && !effects.contains(&ex.decide(set.policy, c)?.effect))
        };
        let background = ex.background.clone();
        let case = minimize(ex, &case, &background, &dims, &mut still)?;
        let decision = ex.decide(set.policy, &case)?;
        violations.push(Violation {
            summary: format!(
                "a request for {} whose subject and request make the condition true is decided {}",
                u.model,
                decision.effect.as_str()
            ),
            directive: None,
            rule: None,
            counterexample: Some(commands.on_set(&case, &decision, &ex.background)),
            contrast: None,
        });
    }
    let p = Property::User(u.clone());
    Ok(PropertyReport {
        property: p.written(),
        text: p.text(),
        holds: violations.is_empty(),
        complete: false,
        combinations: ex.decisions - start,
        violations,
        notes: vec![format!(
            "checked over the condition's own classes at every time point ({} satisfying), then every rule group of every enforced directive covering {} around them: a search, not a proof over their product",
            seeds.len(),
            u.model
        )],
    })
}
