//! Running the properties: one enumeration of every consulted directive's
//! rule groups feeds the checks that need only the set itself; the
//! protected class and comparisons with another set enumerate again with
//! their own restrictions.

mod compare;
mod fallthrough;
mod liveness;
mod monotone;
mod protected;
mod user;

use std::collections::BTreeMap;

use cordon_policy::{Consulted, Decision, Policy};

use crate::case::{Case, CommandContext};
use crate::dims::{Dim, Value};
use crate::error::AnalysisError;
use crate::explore::{Explorer, SetView, Visit, every_class};
use crate::report::{Counterexample, PropertyReport};

/// Where counterexample commands point, for the analysed set and the other.
pub struct Commands {
    /// For the analysed set.
    pub set: CommandContext,
    /// `--directives` for the set compared with.
    pub against: Option<String>,
}

impl Commands {
    /// A counterexample on the analysed set.
    pub fn on_set(&self, case: &Case, decision: &Decision, base: &Case) -> Counterexample {
        Counterexample {
            command: self.set.command(&self.set.directives, case),
            effect: decision.effect,
            case: describe(case, base),
        }
    }

    /// A counterexample on the set compared with.
    pub fn on_against(&self, case: &Case, decision: &Decision, base: &Case) -> Counterexample {
        let dir = self.against.clone().unwrap_or_default();
        Counterexample {
            command: self.set.command(&dir, case),
            effect: decision.effect,
            case: describe(case, base),
        }
    }
}

/// The dimensions where a case differs from the background, with the model
/// and time: what makes the case, in a line.
pub fn describe(case: &Case, base: &Case) -> String {
    let mut parts: Vec<String> = vec![
        format!("model {}", case.model_name),
        format!("at {}", case.at),
    ];
    for d in Dim::ALL {
        if case.get(d) != base.get(d) {
            let value = match (d, case.get(d)) {
                // The request's location has no verification level.
                (Dim::Location, Value::Place(Some(p), _)) => p.to_string(),
                (_, v) => v.describe(),
            };
            parts.push(format!("{} = {value}", d.name()));
        }
    }
    parts.join("; ")
}

/// A check fed by the shared enumeration.
pub(crate) trait Check {
    /// Looks at one decided combination.
    fn observe(
        &mut self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        v: &Visit<'_>,
    ) -> Result<(), AnalysisError>;
}

/// Shrinks a case towards fewer recorded facts: each dimension in `dims` is
/// set unknown, or else back to `base`, whenever `still` keeps holding.
pub(crate) fn minimize(
    ex: &mut Explorer<'_>,
    case: &Case,
    base: &Case,
    dims: &[Dim],
    still: &mut dyn FnMut(&mut Explorer<'_>, &Case) -> Result<bool, AnalysisError>,
) -> Result<Case, AnalysisError> {
    let mut best = case.clone();
    for d in dims {
        let current = best.get(*d).clone();
        for candidate in [unknown_of(&current), Some(base.get(*d).clone())]
            .into_iter()
            .flatten()
        {
            if candidate == current {
                continue;
            }
            let mut trial = best.clone();
            trial.set(*d, candidate);
            if still(ex, &trial)? {
                best = trial;
                break;
            }
        }
    }
    Ok(best)
}

/// The unknown value of a dimension that has one.
fn unknown_of(v: &Value) -> Option<Value> {
    use cordon_subject::VerificationLevel::None as Unverified;
    match v {
        Value::Countries(..) => Some(Value::Countries(None, Unverified)),
        Value::Flag(..) => Some(Value::Flag(None, Unverified)),
        Value::Place(..) => Some(Value::Place(None, Unverified)),
        Value::Screening(_) => Some(Value::Screening(None)),
        Value::MaxTokens(_) => Some(Value::MaxTokens(None)),
        _ => None,
    }
}

/// The verdicts of the checks fed by the shared enumeration, with the
/// embargo table the protected class is checked against.
pub(crate) struct SharedResults {
    pub reports: BTreeMap<&'static str, PropertyReport>,
    pub embargo: protected::Embargo,
}

/// Enumerates every consulted directive once and runs the shared checks.
pub(crate) fn shared(
    ex: &mut Explorer<'_>,
    set: &SetView<'_>,
    commands: &Commands,
    want: &[&'static str],
) -> Result<SharedResults, AnalysisError> {
    let mut live = liveness::Liveness::new(set);
    let mut fall = fallthrough::Fallthrough::default();
    let mut mono = monotone::Monotone::default();
    let mut embargo = protected::Embargo::default();
    let run_fall = want.contains(&"no-unknown-fallthrough");
    let run_mono = want.contains(&"monotone-verification");
    let start = ex.decisions;
    let mut spent: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (index, d) in set.policy.directives().iter().enumerate() {
        if !SetView::consulted(d) {
            continue;
        }
        let Some(p) = set.partitions.get(index) else {
            continue;
        };
        let base = ex.background_for(d, p)?;
        let mut visit = |ex: &mut Explorer<'_>, v: &Visit<'_>| -> Result<(), AnalysisError> {
            live.observe(ex, set, v)?;
            embargo.observe(ex, set, v)?;
            if run_fall {
                let before = ex.decisions;
                fall.observe(ex, set, v)?;
                *spent.entry("no-unknown-fallthrough").or_default() += ex.decisions - before;
            }
            if run_mono {
                let before = ex.decisions;
                mono.observe(ex, set, v)?;
                *spent.entry("monotone-verification").or_default() += ex.decisions - before;
            }
            Ok(())
        };
        ex.each_visit(set, index, &base, &every_class, &mut visit)?;
    }
    let enumerated = ex.decisions - start - spent.values().copied().sum::<u64>();
    let mut reports = BTreeMap::new();
    let (dead, shadowed) = live.finish(ex, set, commands, enumerated)?;
    reports.insert("no-dead-rules", dead);
    reports.insert("shadowed", shadowed);
    reports.insert(
        "no-unknown-fallthrough",
        fall.finish(
            ex,
            set,
            commands,
            enumerated + spent.get("no-unknown-fallthrough").copied().unwrap_or(0),
        )?,
    );
    reports.insert(
        "monotone-verification",
        mono.finish(
            ex,
            set,
            commands,
            enumerated + spent.get("monotone-verification").copied().unwrap_or(0),
        )?,
    );
    Ok(SharedResults { reports, embargo })
}

pub(crate) use compare::compare;

/// The embargo table of a set alone, for judging another set against it.
pub(crate) fn embargo_of(
    ex: &mut Explorer<'_>,
    set: &SetView<'_>,
) -> Result<protected::Embargo, AnalysisError> {
    let mut embargo = protected::Embargo::default();
    for (index, d) in set.policy.directives().iter().enumerate() {
        if d.mode != cordon_policy::Mode::Enforced {
            continue;
        }
        let Some(p) = set.partitions.get(index) else {
            continue;
        };
        let base = ex.background_for(d, p)?;
        let mut visit = |ex: &mut Explorer<'_>, v: &Visit<'_>| embargo.observe(ex, set, v);
        ex.each_visit(set, index, &base, &every_class, &mut visit)?;
    }
    Ok(embargo)
}
pub(crate) use protected::{Embargoes, protected};
pub(crate) use user::user;

/// Decides a case and hands back the directive's contribution.
pub(crate) fn decide_one(
    ex: &mut Explorer<'_>,
    policy: &Policy,
    index: usize,
    case: &Case,
) -> Result<(Decision, Option<Consulted>), AnalysisError> {
    let (d, c, _, _) = ex.decide_for(policy, index, case)?;
    Ok((d, c))
}
