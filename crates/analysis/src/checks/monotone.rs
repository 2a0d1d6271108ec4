//! `monotone-verification`: verifying more never costs access for its own sake.
//!
//! For every allowed combination, each recorded fact the directive reads
//! is raised to each higher verification band, and the account's overall
//! level to each higher level, with the same values. If the directive then
//! refuses, the refusal must rest on a rule whose condition was unknown
//! before and is true now: verification established a fact that was
//! pending. A refusal whose rule was false before (a condition that holds
//! only because the subject verified), or that refuses on an unknown it did
//! not refuse on before, violates the property.

use std::collections::BTreeSet;

use cordon_policy::RuleOutcome;
use cordon_subject::{Truth, VerificationLevel};

use crate::case::Case;
use crate::checks::{Check, Commands};
use crate::dims::{Dim, Value};
use crate::error::AnalysisError;
use crate::explore::{Explorer, SetView, Visit, refuses};
use crate::property::Property;
use crate::report::{PropertyReport, Violation};

struct Found {
    directive: usize,
    rule: Option<usize>,
    before: Case,
    after: Case,
}

/// Violations found, one per directive and fact.
#[derive(Default)]
pub(crate) struct Monotone {
    found: Vec<Found>,
    reported: BTreeSet<(usize, Dim)>,
}

impl Monotone {
    pub(crate) fn finish(
        self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        commands: &Commands,
        combinations: u64,
    ) -> Result<PropertyReport, AnalysisError> {
        let mut violations = Vec::new();
        for f in &self.found {
            let d = set.policy.directives().get(f.directive);
            let id = d.map(|d| d.id.clone()).unwrap_or_default();
            let rule = f
                .rule
                .and_then(|r| d.and_then(|d| d.rules.get(r)))
                .map(|r| r.id.clone());
            let before = ex.decide(set.policy, &f.before)?;
            let after = ex.decide(set.policy, &f.after)?;
            violations.push(Violation {
                summary: format!(
                    "`{id}` allows the request, then refuses it ({}) once the same facts are verified better, on a condition that was not pending before",
                    after.effect.as_str()
                ),
                directive: Some(id),
                rule,
                counterexample: Some(commands.on_set(&f.after, &after, &ex.background)),
                contrast: Some(commands.on_set(&f.before, &before, &ex.background)),
            });
        }
        let p = Property::MonotoneVerification;
        Ok(PropertyReport {
            property: p.written(),
            text: p.text(),
            holds: violations.is_empty(),
            complete: set.partitions.iter().all(|p| p.complete),
            combinations,
            violations,
            notes: Vec::new(),
        })
    }
}

/// The same value at every higher level the directive distinguishes.
fn raises(v: &Value, bands: &[VerificationLevel]) -> Vec<Value> {
    match v {
        Value::Level(l) => VerificationLevel::ALL
            .iter()
            .filter(|x| *x > l)
            .map(|x| Value::Level(*x))
            .collect(),
        other if other.is_recorded() => match other.level() {
            Some(l) => bands
                .iter()
                .filter(|b| **b > l)
                .map(|b| other.at_level(*b))
                .collect(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

impl Check for Monotone {
    fn observe(
        &mut self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        v: &Visit<'_>,
    ) -> Result<(), AnalysisError> {
        let Some(c) = v.consulted else {
            return Ok(());
        };
        if refuses(c.effective()) {
            return Ok(());
        }
        let Some(p) = set.partitions.get(v.directive) else {
            return Ok(());
        };
        for dim in &v.group.dims {
            if !(dim.has_level() || *dim == Dim::Verification)
                || self.reported.contains(&(v.directive, *dim))
            {
                continue;
            }
            let bands: Vec<VerificationLevel> = p
                .levels
                .get(dim)
                .map(|l| l.iter().copied().collect())
                .unwrap_or_default();
            for raised in raises(v.case.get(*dim), &bands) {
                let mut after = v.case.clone();
                after.set(*dim, raised);
                let (_, ac, _, _) = ex.decide_for(set.policy, v.directive, &after)?;
                let Some(ac) = ac else { continue };
                if !refuses(ac.effective()) {
                    continue;
                }
                let rule = ac.rule.map(usize::from);
                let before_truth = rule.and_then(|r| v.outcomes.get(r)).map(|(t, _)| *t);
                let was_pending = matches!(
                    rule.and_then(|r| v.outcomes.get(r)),
                    Some((Truth::Unknown, RuleOutcome::AllowedUnknown))
                ) || before_truth == Some(Truth::Unknown);
                if ac.truth == Truth::True && was_pending {
                    continue;
                }
                self.found.push(Found {
                    directive: v.directive,
                    rule,
                    before: v.case.clone(),
                    after,
                });
                self.reported.insert((v.directive, *dim));
                break;
            }
        }
        Ok(())
    }
}
