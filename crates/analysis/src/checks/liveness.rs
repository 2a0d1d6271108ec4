//! `no-dead-rules` and `shadowed`: which rules and directives ever decide.
//!
//! A rule decides a request when it is the rule its directive reports, no
//! other rule of the directive fires as strongly (removing the rule would
//! change the directive's effect), and — for an enforced directive — no
//! other enforced directive refuses as strongly (removing it would change
//! the decision). A shadow directive never decides; its rules are judged
//! within the directive. Draft and retired directives are never consulted
//! and are reported in a note, not as dead.

use std::collections::BTreeMap;

use cordon_policy::{Effect, Mode, RuleOutcome};

use crate::case::Case;
use crate::checks::{Check, Commands};
use crate::dims::{Dim, Value};
use crate::error::AnalysisError;
use crate::explore::{Explorer, SetView, Visit, refuses};
use crate::property::Property;
use crate::report::{PropertyReport, Violation};

/// What was seen of one rule.
#[derive(Default, Clone)]
struct RuleSeen {
    /// A case where the rule decided.
    decided: bool,
    /// A case where it fired without deciding, to show what masks it.
    masked: Option<Case>,
}

/// Decisions spent per rule of a directive looking for a background under
/// which another directive no longer masks it.
const REPAIR_BUDGET: u32 = 400;

/// Per directive: each rule, and whether the directive itself ever decided.
pub(crate) struct Liveness {
    rules: Vec<Vec<RuleSeen>>,
    decisive: Vec<bool>,
    refused_masked: Vec<Option<Case>>,
    /// Every class any directive has of each dimension: the values tried
    /// outside a rule group when another directive masks it.
    classes: BTreeMap<Dim, Vec<Value>>,
    /// Decisions left per directive for that search.
    budget: Vec<u32>,
    /// Whether some verdict rests on a search that found no unmasked case,
    /// rather than on the rule never firing.
    searched: bool,
}

/// What one decided case says about a directive and its rules.
struct Seen {
    /// Whether the directive decides.
    decisive: bool,
    /// Rules that decide.
    rules: Vec<usize>,
    /// Rules that fire without deciding.
    masked: Vec<usize>,
}

/// Reads a decided case: which rules of `d` decide it.
fn judge(
    enforced: bool,
    c: &cordon_policy::Consulted,
    others: Effect,
    outcomes: &[(cordon_subject::Truth, RuleOutcome)],
    rules: &[usize],
) -> Seen {
    let effect = c.effective();
    // The directive decides when its effect is stronger than every other
    // enforced directive's (a refusal), or it limits and nobody refuses.
    let decisive = enforced
        && effect > Effect::Allow
        && if refuses(effect) {
            effect > others
        } else {
            !refuses(others)
        };
    let mut seen = Seen {
        decisive,
        rules: Vec::new(),
        masked: Vec::new(),
    };
    for ri in rules {
        let Some((_, RuleOutcome::Fires(mine))) = outcomes.get(*ri) else {
            continue;
        };
        let reported = c.rule.map(usize::from) == Some(*ri) && c.exempted_by.is_none();
        let alone = !outcomes
            .iter()
            .enumerate()
            .any(|(j, (_, o))| j != *ri && matches!(o, RuleOutcome::Fires(e) if e >= mine));
        if reported && alone && (!enforced || decisive) {
            seen.rules.push(*ri);
        } else {
            seen.masked.push(*ri);
        }
    }
    seen
}

impl Liveness {
    pub(crate) fn new(set: &SetView<'_>) -> Liveness {
        let n = set.policy.directives().len();
        let mut classes: BTreeMap<Dim, Vec<Value>> = BTreeMap::new();
        for p in &set.partitions {
            for (dim, values) in &p.domains {
                let slot = classes.entry(*dim).or_default();
                for v in values {
                    if !slot.contains(v) {
                        slot.push(v.clone());
                    }
                }
            }
        }
        Liveness {
            classes,
            budget: set
                .policy
                .directives()
                .iter()
                .map(|d| {
                    REPAIR_BUDGET.saturating_mul(u32::try_from(d.rules.len()).unwrap_or(u32::MAX))
                })
                .collect(),
            searched: false,
            rules: set
                .policy
                .directives()
                .iter()
                .map(|d| vec![RuleSeen::default(); d.rules.len()])
                .collect(),
            decisive: vec![false; n],
            refused_masked: vec![None; n],
        }
    }

    pub(crate) fn finish(
        self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        commands: &Commands,
        combinations: u64,
    ) -> Result<(PropertyReport, PropertyReport), AnalysisError> {
        let mut dead = Vec::new();
        let mut shadowed = Vec::new();
        let mut notes = Vec::new();
        let mut complete = true;
        for (i, d) in set.policy.directives().iter().enumerate() {
            if !SetView::consulted(d) {
                notes.push(format!(
                    "`{}` is {} and never consulted; its rules are not judged",
                    d.id,
                    d.mode.as_str()
                ));
                continue;
            }
            if let Some(p) = set.partitions.get(i) {
                complete &= p.complete;
            }
            let seen = self.rules.get(i).cloned().unwrap_or_default();
            for (ri, r) in seen.iter().enumerate() {
                if r.decided {
                    continue;
                }
                let rule = d.rules.get(ri).map(|r| r.id.clone()).unwrap_or_default();
                let counterexample = match &r.masked {
                    Some(case) => {
                        let decision = ex.decide(set.policy, case)?;
                        Some(commands.on_set(case, &decision, &ex.background))
                    }
                    None => None,
                };
                let summary = if counterexample.is_some() {
                    format!(
                        "rule `{rule}` of `{}` never decides a request: wherever it fires, another rule or directive refuses at least as strongly (the counterexample shows one such request)",
                        d.id
                    )
                } else {
                    format!(
                        "rule `{rule}` of `{}` never fires: its condition is false for every request (or unknown only where unknown means allow)",
                        d.id
                    )
                };
                dead.push(Violation {
                    summary,
                    directive: Some(d.id.clone()),
                    rule: Some(rule),
                    counterexample,
                    contrast: None,
                });
            }
            if d.mode == Mode::Enforced && !self.decisive.get(i).copied().unwrap_or(false) {
                let counterexample = match self.refused_masked.get(i).cloned().flatten() {
                    Some(case) => {
                        let decision = ex.decide(set.policy, &case)?;
                        Some(commands.on_set(&case, &decision, &ex.background))
                    }
                    None => None,
                };
                shadowed.push(Violation {
                    summary: format!(
                        "`{}` never decides: wherever it refuses or limits, other enforced directives already refuse at least as strongly",
                        d.id
                    ),
                    directive: Some(d.id.clone()),
                    rule: None,
                    counterexample,
                    contrast: None,
                });
            }
        }
        // A rule that fires but was always masked is judged by a search of
        // the other directives' classes, one dimension at a time: a
        // finding, not a proof.
        let masked_verdict = dead.iter().any(|v: &Violation| v.counterexample.is_some())
            || shadowed
                .iter()
                .any(|v: &Violation| v.counterexample.is_some());
        if masked_verdict && self.searched {
            complete = false;
            notes.push("a rule or directive that fires but never decides was judged by trying every class of each other dimension one at a time, not every combination of them".into());
        }
        let report = |p: Property, violations: Vec<Violation>, notes: Vec<String>| PropertyReport {
            property: p.written(),
            text: p.text(),
            holds: violations.is_empty(),
            complete,
            combinations,
            violations,
            notes,
        };
        Ok((
            report(Property::NoDeadRules, dead, notes.clone()),
            report(Property::Shadowed, shadowed, notes),
        ))
    }
}

impl Liveness {
    /// Records what a decided case shows.
    fn record(
        &mut self,
        directive: usize,
        case: &Case,
        seen: &Seen,
        refused: bool,
        enforced: bool,
    ) {
        if seen.decisive
            && let Some(slot) = self.decisive.get_mut(directive)
        {
            *slot = true;
        }
        if enforced
            && refused
            && !seen.decisive
            && let Some(slot) = self.refused_masked.get_mut(directive)
            && slot.is_none()
        {
            *slot = Some(case.clone());
        }
        let Some(rules) = self.rules.get_mut(directive) else {
            return;
        };
        for ri in &seen.rules {
            if let Some(r) = rules.get_mut(*ri) {
                r.decided = true;
            }
        }
        for ri in &seen.masked {
            if let Some(r) = rules.get_mut(*ri)
                && r.masked.is_none()
            {
                r.masked = Some(case.clone());
            }
        }
    }

    /// Decides one case of the search for an unmasked case, spending budget.
    fn attempt(
        &mut self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        v: &Visit<'_>,
        enforced: bool,
        trial: &Case,
    ) -> Result<(), AnalysisError> {
        if let Some(b) = self.budget.get_mut(v.directive) {
            *b = b.saturating_sub(1);
        }
        self.searched = true;
        let (_, tc, others, outcomes) = ex.decide_for(set.policy, v.directive, trial)?;
        if let Some(tc) = tc {
            let found = judge(enforced, &tc, others, &outcomes, &v.group.rules);
            self.record(
                v.directive,
                trial,
                &found,
                refuses(tc.effective()),
                enforced,
            );
        }
        Ok(())
    }

    /// Whether a rule (or the directive) still needs a deciding case, with
    /// search budget left.
    fn wanted(&self, directive: usize, seen: &Seen) -> bool {
        if self.budget.get(directive).is_none_or(|b| *b == 0) {
            return false;
        }
        let rules = self.rules.get(directive);
        seen.masked
            .iter()
            .any(|ri| rules.and_then(|r| r.get(*ri)).is_some_and(|r| !r.decided))
            || !self.decisive.get(directive).copied().unwrap_or(true)
    }
}

impl Check for Liveness {
    fn observe(
        &mut self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        v: &Visit<'_>,
    ) -> Result<(), AnalysisError> {
        let (Some(c), Some(d)) = (v.consulted, set.policy.directives().get(v.directive)) else {
            return Ok(());
        };
        let enforced = d.mode == Mode::Enforced;
        let seen = judge(enforced, &c, v.others, &v.outcomes, &v.group.rules);
        let refused = refuses(c.effective());
        self.record(v.directive, v.case, &seen, refused, enforced);
        if !enforced || seen.masked.is_empty() && (seen.decisive || !refused) {
            return Ok(());
        }
        // Masked by another directive here: try every other class of each
        // dimension outside the group, one at a time, for a case where no
        // other directive refuses as strongly.
        let outside: Vec<(Dim, Vec<Value>)> = self
            .classes
            .iter()
            .filter(|(dim, _)| !v.group.dims.contains(dim))
            .map(|(dim, values)| (*dim, values.clone()))
            .collect();
        // The same case at other models and times, where other directives'
        // scopes and phases differ, each also with the group's recorded facts
        // at every level another directive demands: a value this directive
        // reads as known may be unknown to the directive that masks it.
        let mut variants: Vec<Case> = vec![v.case.clone()];
        for dim in v.group.dims.iter().filter(|d| d.has_level()) {
            let current = v.case.get(*dim).clone();
            if !current.is_recorded() {
                continue;
            }
            for level in set.tests.levels.get(dim).into_iter().flatten() {
                let mut variant = v.case.clone();
                variant.set(*dim, current.at_level(*level));
                variants.push(variant);
            }
        }
        let mut placements = vec![None];
        placements.extend(
            ex.placements_in_phase(set.policy, d, c.phase)
                .into_iter()
                .map(Some),
        );
        for placement in placements {
            for variant in &variants {
                if !self.wanted(v.directive, &seen) {
                    return Ok(());
                }
                let mut trial = variant.clone();
                if let Some((m, t)) = placement {
                    ex.place(set.policy, &mut trial, m, t);
                }
                self.attempt(ex, set, v, enforced, &trial)?;
            }
        }
        for (dim, values) in outside {
            for value in values {
                if !self.wanted(v.directive, &seen) {
                    return Ok(());
                }
                let mut trial = v.case.clone();
                trial.set(dim, value);
                self.attempt(ex, set, v, enforced, &trial)?;
            }
        }
        Ok(())
    }
}
