//! `no-dead-rules` and `shadowed`: which rules and directives ever decide.
//!
//! A rule decides a request when it is the rule its directive reports, no
//! other rule of the directive fires as strongly (removing the rule would
//! change the directive's effect), and — for an enforced directive — no
//! other enforced directive refuses as strongly (removing it would change
//! the decision). A shadow directive never decides; its rules are judged
//! within the directive. Draft and retired directives are never consulted
//! and are reported in a note, not as dead.

use cordon_policy::{Effect, Mode, RuleOutcome};

use crate::case::Case;
use crate::checks::{Check, Commands};
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

/// Per directive: each rule, and whether the directive itself ever decided.
pub(crate) struct Liveness {
    rules: Vec<Vec<RuleSeen>>,
    decisive: Vec<bool>,
    refused_masked: Vec<Option<Case>>,
}

impl Liveness {
    pub(crate) fn new(set: &SetView<'_>) -> Liveness {
        let n = set.policy.directives().len();
        Liveness {
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

impl Check for Liveness {
    fn observe(
        &mut self,
        _ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        v: &Visit<'_>,
    ) -> Result<(), AnalysisError> {
        let (Some(c), Some(d)) = (v.consulted, set.policy.directives().get(v.directive)) else {
            return Ok(());
        };
        let enforced = d.mode == Mode::Enforced;
        let effect = c.effective();
        // The directive decides when its effect is stronger than every other
        // enforced directive's (a refusal), or it limits and nobody refuses.
        let decisive = enforced
            && effect > Effect::Allow
            && if refuses(effect) {
                effect > v.others
            } else {
                !refuses(v.others)
            };
        if decisive && let Some(slot) = self.decisive.get_mut(v.directive) {
            *slot = true;
        }
        if enforced
            && refuses(effect)
            && !decisive
            && let Some(slot) = self.refused_masked.get_mut(v.directive)
            && slot.is_none()
        {
            *slot = Some(v.case.clone());
        }
        let Some(rules) = self.rules.get_mut(v.directive) else {
            return Ok(());
        };
        for ri in &v.group.rules {
            let Some((_, RuleOutcome::Fires(mine))) = v.outcomes.get(*ri) else {
                continue;
            };
            let reported = c.rule.map(usize::from) == Some(*ri) && c.exempted_by.is_none();
            let alone = !v
                .outcomes
                .iter()
                .enumerate()
                .any(|(j, (_, o))| j != *ri && matches!(o, RuleOutcome::Fires(e) if e >= mine));
            let set_level = !enforced || decisive;
            let Some(seen) = rules.get_mut(*ri) else {
                continue;
            };
            if reported && alone && set_level {
                seen.decided = true;
            } else if seen.masked.is_none() {
                seen.masked = Some(v.case.clone());
            }
        }
        Ok(())
    }
}
