//! `no-unknown-fallthrough`: an unknown never falls through to a silent allow.
//!
//! A directive that allows a request with no rule firing and no unknown
//! recorded has allowed *silently*. That is right when nothing it reads is
//! unknown, or when the unknown cannot matter. It is a fall-through when
//! some fact the directive reads is unknown (not recorded, or recorded below
//! the level the directive demands) and a known value of that same fact
//! would make the directive refuse — unless the directive tests the fact
//! with `known(…)`, which is its own statement of what unknown means.

use std::collections::BTreeSet;

use cordon_policy::Effect;

use crate::case::Case;
use crate::checks::{Check, Commands, decide_one, minimize};
use crate::dims::{Dim, Value};
use crate::error::AnalysisError;
use crate::explore::{Explorer, SetView, Visit, refuses};
use crate::property::Property;
use crate::report::{PropertyReport, Violation};

/// A fall-through found: the case, the unknown fact and the value that refuses.
struct Found {
    directive: usize,
    dim: Dim,
    case: Case,
    known: Case,
}

/// Fall-throughs found, one per directive and fact.
#[derive(Default)]
pub(crate) struct Fallthrough {
    found: Vec<Found>,
    reported: BTreeSet<(usize, Dim)>,
}

/// Whether a value is unknown to a directive that reads it at `levels`.
fn unknown_to(v: &Value, min: Option<&cordon_subject::VerificationLevel>) -> bool {
    if !v.is_recorded() {
        return true;
    }
    match (v.level(), min) {
        (Some(l), Some(m)) => l < *m,
        _ => false,
    }
}

impl Fallthrough {
    pub(crate) fn finish(
        self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        commands: &Commands,
        combinations: u64,
    ) -> Result<PropertyReport, AnalysisError> {
        let mut violations = Vec::new();
        for f in &self.found {
            let id = set
                .policy
                .directives()
                .get(f.directive)
                .map(|d| d.id.clone())
                .unwrap_or_default();
            let silent = ex.decide(set.policy, &f.case)?;
            let refused = ex.decide(set.policy, &f.known)?;
            violations.push(Violation {
                summary: format!(
                    "`{id}` allows silently when {} is unknown, yet refuses when it is {}: the unknown falls through instead of reaching the directive's [unknown] clause",
                    f.dim.name(),
                    f.known.get(f.dim).describe()
                ),
                directive: Some(id),
                rule: None,
                counterexample: Some(commands.on_set(&f.case, &silent, &ex.background)),
                contrast: Some(commands.on_set(&f.known, &refused, &ex.background)),
            });
        }
        let complete = set.partitions.iter().all(|p| p.complete);
        let p = Property::NoUnknownFallthrough;
        Ok(PropertyReport {
            property: p.written(),
            text: p.text(),
            holds: violations.is_empty(),
            complete,
            combinations,
            violations,
            notes: Vec::new(),
        })
    }
}

impl Check for Fallthrough {
    fn observe(
        &mut self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        v: &Visit<'_>,
    ) -> Result<(), AnalysisError> {
        let Some(c) = v.consulted else {
            return Ok(());
        };
        if c.effect != Effect::Allow || c.allowed_unknown || c.exempted_by.is_some() {
            return Ok(());
        }
        let Some(p) = set.partitions.get(v.directive) else {
            return Ok(());
        };
        for dim in &v.group.dims {
            if p.guarded.contains(dim) || self.reported.contains(&(v.directive, *dim)) {
                continue;
            }
            let levels = p.levels.get(dim);
            let current = v.case.get(*dim).clone();
            if !unknown_to(&current, levels.and_then(|l| l.first())) {
                continue;
            }
            let top = levels.and_then(|l| l.last()).copied();
            let completions: Vec<Value> = match (&current, top) {
                (v, Some(top)) if v.is_recorded() => vec![v.at_level(top)],
                _ => p
                    .domains
                    .get(dim)
                    .map(|d| {
                        d.iter()
                            .filter(|x| !unknown_to(x, levels.and_then(|l| l.last())))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            for known in completions {
                let mut trial = v.case.clone();
                trial.set(*dim, known);
                let (_, tc) = decide_one(ex, set.policy, v.directive, &trial)?;
                if tc.is_some_and(|x| refuses(x.effective())) {
                    let index = v.directive;
                    let dim = *dim;
                    let mut silent_still =
                        |ex: &mut Explorer<'_>, case: &Case| -> Result<bool, AnalysisError> {
                            let (_, c) = decide_one(ex, set.policy, index, case)?;
                            let mut k = case.clone();
                            k.set(dim, trial.get(dim).clone());
                            let (_, kc) = decide_one(ex, set.policy, index, &k)?;
                            Ok(
                                c.is_some_and(|c| c.effect == Effect::Allow && !c.allowed_unknown)
                                    && kc.is_some_and(|x| refuses(x.effective())),
                            )
                        };
                    let others: Vec<Dim> =
                        v.group.dims.iter().copied().filter(|d| *d != dim).collect();
                    let base = ex.background.clone();
                    let case = minimize(ex, v.case, &base, &others, &mut silent_still)?;
                    let mut known_case = case.clone();
                    known_case.set(dim, trial.get(dim).clone());
                    self.found.push(Found {
                        directive: index,
                        dim,
                        case,
                        known: known_case,
                    });
                    self.reported.insert((index, dim));
                    break;
                }
            }
        }
        Ok(())
    }
}
