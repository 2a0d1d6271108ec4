//! Grace periods: a directive in its grace period decides an unknown
//! attribute by its grace-period meaning (`allow`, `apply`, `deny`, ...),
//! and otherwise once the period ends; that end is a deadline for the
//! customer whatever the meaning.

use cordon_policy::{Consulted, Decision, Effect, Mode, Phase};
use cordon_subject::{Subject, Truth};
use jiff::Timestamp;

use super::{SimModel, Simulation, refused};
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

    /// For a cell refused now by a directive in its grace period on an
    /// unknown attribute: the directive, its `grace_until` and its effect
    /// once the period ends, when the cell is refused differently then (a
    /// rule applied to unknowns during grace, verification required after).
    pub(super) fn refusal_after_grace(
        &self,
        m: &SimModel,
        shape: &Shape,
        subject: &Subject,
        now: &Decision,
        s: &mut Scratch,
    ) -> Option<(u16, Timestamp, Effect)> {
        let d = now.decided_by?;
        let on_grace = s
            .prop
            .consulted()
            .iter()
            .any(|c| c.directive == d && rests_on_grace(c));
        if !on_grace {
            return None;
        }
        let directive = self.proposed.directives().get(usize::from(d))?;
        let g = directive.grace_until?;
        let later = self.proposed.decide(
            subject,
            &self.request(m.proposed, shape, subject, g),
            &mut s.later,
        );
        (later.effect != now.effect && later.decided_by == Some(d)).then_some((d, g, later.effect))
    }
}
