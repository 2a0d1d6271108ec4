//! Grace periods: a directive in its grace period decides an unknown
//! attribute by its grace-period meaning (`allow`, `apply`, `deny`, ...),
//! and otherwise once the period ends; that end is a deadline for the
//! customer whatever the meaning.

use cordon_policy::{Consulted, Decision, Effect, Mode, Obligations, Phase};
use cordon_subject::{Subject, Truth};
use jiff::Timestamp;

use super::{SimModel, Simulation, refused};
use crate::limits::held_to;
use crate::shape::Shape;
use crate::tally::Scratch;

/// Whether a consulted directive decided by its grace-period meaning of an
/// unknown: it let the unknown through, or a rule fired on an unknown
/// condition (`apply`, `deny`, `verification_required` during grace).
fn rests_on_grace(c: &Consulted) -> bool {
    c.phase == Phase::Grace
        && (c.allowed_unknown || c.truth == Truth::Unknown)
        && c.exempted_by.is_none()
}

impl Simulation {
    /// The earliest grace period, of an enforced proposed directive that
    /// decided an unknown by its grace-period meaning for this allowed cell,
    /// after whose end that directive refuses the cell.
    pub(super) fn refused_after_grace(
        &self,
        m: &SimModel,
        shape: &Shape,
        subject: &Subject,
        s: &mut Scratch,
    ) -> Option<(u16, Timestamp)> {
        let candidate = |after: Option<Timestamp>, consulted: &[Consulted]| {
            consulted
                .iter()
                .filter(|c| rests_on_grace(c))
                .filter_map(|c| {
                    let d = self.proposed.directives().get(usize::from(c.directive))?;
                    let g = d.grace_until?;
                    (d.mode == Mode::Enforced && after.is_none_or(|a| g > a))
                        .then_some((c.directive, g))
                })
                .min_by_key(|&(_, g)| g)
        };
        let mut after = None;
        while let Some((d, g)) = candidate(after, s.prop.consulted()) {
            let later = self.proposed.decide(
                subject,
                &self.request(m.proposed, shape, subject, g),
                &mut s.later,
            );
            // Only a refusal by the directive whose grace ends is that
            // directive's deadline; another directive taking effect by then
            // is a pending change, which the notes report.
            if refused(&later) && later.decided_by == Some(d) {
                s.later_decision = later;
                return Some((d, g));
            }
            after = Some(g);
        }
        None
    }

    /// For a cell that `refused_after_grace` does not cover: what changes
    /// when the grace period its proposed outcome rests on ends. A cell
    /// refused now by a directive on an unknown is refused differently then
    /// (denied while an `apply` grace period treats the unknown as holding,
    /// asked to verify after); a cell allowed now is held to other limits
    /// by that directive then (allowed during grace, capped after).
    pub(super) fn changed_after_grace(
        &self,
        m: &SimModel,
        shape: &Shape,
        subject: &Subject,
        now: &Decision,
        s: &mut Scratch,
    ) -> Option<GraceEnd> {
        let consulted = s.prop.consulted();
        let (d, at) = if refused(now) {
            let d = now.decided_by?;
            consulted
                .iter()
                .any(|c| c.directive == d && rests_on_grace(c))
                .then_some(())?;
            (
                d,
                self.proposed
                    .directives()
                    .get(usize::from(d))?
                    .grace_until?,
            )
        } else {
            consulted
                .iter()
                .filter(|c| rests_on_grace(c))
                .filter_map(|c| {
                    let d = self.proposed.directives().get(usize::from(c.directive))?;
                    (d.mode == Mode::Enforced).then_some((c.directive, d.grace_until?))
                })
                .min_by_key(|&(_, g)| g)?
        };
        let later = self.proposed.decide(
            subject,
            &self.request(m.proposed, shape, subject, at),
            &mut s.later,
        );
        let changed = if refused(now) {
            later.effect != now.effect && later.decided_by == Some(d)
        } else {
            let by_d = s
                .later
                .consulted()
                .iter()
                .any(|c| c.directive == d && c.effective() == Effect::AllowWithObligations);
            !refused(&later) && held_to(&later) != held_to(now) && by_d
        };
        changed.then(|| GraceEnd {
            directive: d,
            at,
            effect: later.effect,
            limits: held_to(&later),
        })
    }
}

/// What a proposed directive decides for a cell once its grace period ends.
#[derive(Debug, Clone, Copy)]
pub(super) struct GraceEnd {
    /// The directive, by proposed index.
    pub(super) directive: u16,
    /// Its `grace_until`.
    pub(super) at: Timestamp,
    /// The cell's effect then.
    pub(super) effect: Effect,
    /// The limits then.
    pub(super) limits: Obligations,
}
