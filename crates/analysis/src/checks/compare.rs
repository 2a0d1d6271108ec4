//! `only-models` and `only-effect`: what changes between two directive sets.
//!
//! For a model group and time, a decision depends only on the enforced
//! directives consulted; where both sets consult the same directives (same
//! id, same file text) they decide every request alike, which settles most
//! of the space without deciding anything. Where they differ, every rule
//! group of every differing directive is enumerated, and each combination
//! is decided by both sets.

use std::collections::BTreeSet;

use cordon_policy::{Directive, Mode, Policy};

use crate::case::Case;
use crate::checks::{Commands, minimize};
use crate::error::AnalysisError;
use crate::explore::{Explorer, SetView, every_class};
use crate::property::Property;
use crate::report::{PropertyReport, Violation};

/// The enforced directives a set consults, by id and text.
type Consulted = BTreeSet<(String, String)>;

/// The enforced directives a set consults for a model group at a time, by id and text.
fn consulted(ex: &Explorer<'_>, policy: &Policy, m: usize, t: usize) -> Consulted {
    let (Some(g), Some(at)) = (ex.models.get(m), ex.times.get(t)) else {
        return BTreeSet::new();
    };
    policy
        .candidates(g.representative)
        .filter(|d| d.mode == Mode::Enforced && d.phase(*at).is_some())
        .map(|d| (d.id.clone(), d.source.text().to_owned()))
        .collect()
}

fn index_of(policy: &Policy, d: &Directive) -> Option<usize> {
    policy.directives().iter().position(|x| x.id == d.id)
}

/// Compares `set` with `against` under `property`.
pub(crate) fn compare(
    ex: &mut Explorer<'_>,
    set: &SetView<'_>,
    against: &SetView<'_>,
    property: &Property,
    commands: &Commands,
) -> Result<PropertyReport, AnalysisError> {
    let start = ex.decisions;
    let named: Vec<String> = match property {
        Property::OnlyModels(m) => m.clone(),
        _ => Vec::new(),
    };
    let mut violations = Vec::new();
    let mut notes = Vec::new();
    let mut complete = true;
    for m in 0..ex.models.len() {
        let Some(group) = ex.models.get(m).cloned() else {
            continue;
        };
        // Under only-models, decide for a model of the group that is not named.
        let Some(model_name) = group.models.iter().find(|n| !named.contains(n)).cloned() else {
            continue;
        };
        let model = match set.policy.catalog().resolve(&model_name) {
            cordon_catalog::Resolution::Known { id, .. } => id,
            cordon_catalog::Resolution::Unknown => group.representative,
        };
        let mut seen_times: BTreeSet<(Consulted, Consulted)> = BTreeSet::new();
        let mut differed = false;
        let mut found = false;
        'times: for t in (0..ex.times.len()).rev() {
            let a = consulted(ex, set.policy, m, t);
            let b = consulted(ex, against.policy, m, t);
            if a == b
                || !seen_times.insert((a.iter().cloned().collect(), b.iter().cloned().collect()))
            {
                continue;
            }
            differed = true;
            let differing: Vec<(&SetView<'_>, usize)> = a
                .difference(&b)
                .filter_map(|(id, _)| {
                    set.policy
                        .directive(id)
                        .and_then(|d| index_of(set.policy, d))
                        .map(|i| (set, i))
                })
                .chain(b.difference(&a).filter_map(|(id, _)| {
                    against
                        .policy
                        .directive(id)
                        .and_then(|d| index_of(against.policy, d))
                        .map(|i| (against, i))
                }))
                .collect();
            for (owner, index) in differing {
                let (Some(d), Some(p)) = (
                    owner.policy.directives().get(index),
                    owner.partitions.get(index),
                ) else {
                    continue;
                };
                complete &= p.complete;
                let mut base = ex.background_for(d, p)?;
                ex.place(set.policy, &mut base, m, t);
                base.model = model;
                base.model_name = model_name.clone();
                for g in &p.groups {
                    let mut filtered = Vec::new();
                    let mut points =
                        crate::explore::Points::new(p, &g.dims, &every_class, &mut filtered);
                    let mut case: Case = base.clone();
                    while points.next_into(&mut case) {
                        let da = ex.decide(set.policy, &case)?;
                        let db = ex.decide(against.policy, &case)?;
                        if (da.effect, da.obligations) == (db.effect, db.obligations) {
                            continue;
                        }
                        let violated = match property {
                            Property::OnlyEffect(e) => da.effect != *e,
                            _ => true,
                        };
                        if !violated {
                            continue;
                        }
                        let mut still =
                            |ex: &mut Explorer<'_>, c: &Case| -> Result<bool, AnalysisError> {
                                let a = ex.decide(set.policy, c)?;
                                let b = ex.decide(against.policy, c)?;
                                Ok((a.effect, a.obligations) != (b.effect, b.obligations)
                                    && match property {
                                        Property::OnlyEffect(e) => a.effect != *e,
                                        _ => true,
                                    })
                            };
                        let case = minimize(ex, &case, &base, &g.dims, &mut still)?;
                        let da = ex.decide(set.policy, &case)?;
                        let db = ex.decide(against.policy, &case)?;
                        violations.push(Violation {
                            summary: match property {
                                Property::OnlyEffect(e) => format!(
                                    "the sets decide {} differently ({} here, {} in --against), and not as `{}`",
                                    model_name,
                                    da.effect.as_str(),
                                    db.effect.as_str(),
                                    e.as_str()
                                ),
                                _ => format!(
                                    "the sets decide {} differently ({} here, {} in --against), a model outside {}",
                                    model_name,
                                    da.effect.as_str(),
                                    db.effect.as_str(),
                                    named.join(", ")
                                ),
                            },
                            directive: Some(d.id.clone()),
                            rule: None,
                            counterexample: Some(commands.on_set(&case, &da, &ex.background)),
                            contrast: Some(commands.on_against(&case, &db, &ex.background)),
                        });
                        found = true;
                        break 'times;
                    }
                }
            }
        }
        if differed && !found {
            complete = false;
            notes.push(format!(
                "the sets consult different directives for {model_name}, yet no combination of the differing directives' classes is decided differently; not proven equal"
            ));
        }
    }
    Ok(PropertyReport {
        property: property.written(),
        text: property.text(),
        holds: violations.is_empty(),
        complete,
        combinations: ex.decisions - start,
        violations,
        notes,
    })
}
