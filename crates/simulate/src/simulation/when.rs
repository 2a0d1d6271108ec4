//! When a simulation is run by default: now, unless nothing would change
//! until the proposed set's new directives take effect.

use std::sync::Arc;

use cordon_policy::{Policy, Standing};
use jiff::Timestamp;

use super::Simulation;
use crate::SimulateError;
use crate::report::{ChangeKind, DirectiveChange};

impl Simulation {
    /// The simulation at `now`, unless every change of the proposed set is
    /// a new directive still pending then: a report of "nothing changes
    /// yet" helps nobody, so it moves to when the first of them takes
    /// effect, and returns that time.
    ///
    /// # Errors
    /// As [`Simulation::new`].
    pub fn at_first_change(
        baseline: Arc<Policy>,
        proposed: Arc<Policy>,
        now: Timestamp,
    ) -> Result<(Simulation, Option<Timestamp>), SimulateError> {
        let sim = Simulation::new(Arc::clone(&baseline), Arc::clone(&proposed), now)?;
        match first_effective(sim.changed_directives()) {
            Some(first) => Ok((Simulation::new(baseline, proposed, first)?, Some(first))),
            None => Ok((sim, None)),
        }
    }
}

/// The earliest effective time of the proposed set's changed directives,
/// when every one of them is added and still pending.
///
/// A modified or removed directive changes things now (a postponed order
/// gives access back until its new date), so then the simulation stays at now.
fn first_effective(changes: &[DirectiveChange]) -> Option<Timestamp> {
    let mut first: Option<Timestamp> = None;
    for c in changes {
        if c.change != ChangeKind::Added || c.standing != Standing::Pending {
            return None;
        }
        first = Some(first.map_or(c.effective, |f| f.min(c.effective)));
    }
    first
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]

    use cordon_policy::Mode;

    use super::*;

    fn change(id: &str, kind: ChangeKind, standing: Standing, effective: &str) -> DirectiveChange {
        DirectiveChange {
            id: id.into(),
            change: kind,
            mode: Mode::Enforced,
            standing,
            effective: effective.parse().unwrap(),
            grace_until: None,
            expires: None,
        }
    }

    #[test]
    fn the_first_effective_time_is_used_only_when_every_change_is_a_pending_addition() {
        let a = change(
            "a",
            ChangeKind::Added,
            Standing::Pending,
            "2027-01-10T00:00:00Z",
        );
        let b = change(
            "b",
            ChangeKind::Added,
            Standing::Pending,
            "2027-01-05T00:00:00Z",
        );
        // A postponed order changes things now: access comes back until then.
        let postponed = change(
            "p",
            ChangeKind::Modified,
            Standing::Pending,
            "2027-01-01T00:00:00Z",
        );
        let gone = change(
            "c",
            ChangeKind::Removed,
            Standing::InForce,
            "2020-01-01T00:00:00Z",
        );
        let live = change(
            "d",
            ChangeKind::Added,
            Standing::InForce,
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(
            first_effective(&[a.clone(), b.clone()]).map(|t| t.to_string()),
            Some("2027-01-05T00:00:00Z".into())
        );
        assert_eq!(first_effective(&[a.clone(), postponed]), None);
        assert_eq!(first_effective(&[a.clone(), gone.clone()]), None);
        assert_eq!(first_effective(&[a, b, live]), None);
        assert_eq!(first_effective(&[gone]), None, "only removals");
        assert_eq!(first_effective(&[]), None);
    }
}
