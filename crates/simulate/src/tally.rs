//! Per-thread aggregates: counts only, so a million accounts cost a few
//! kilobytes, and tallies from several threads merge into the same totals as
//! one thread would reach.

use std::collections::HashMap;

use cordon_jurisdiction::CountryCode;
use cordon_policy::{Decision, Effect, Obligations, Trace};

use cordon_subject::{Subject, VerificationLevel};

use crate::Simulation;
use crate::transition::Transition;
use crate::way::{self, Need};

/// Accounts per transition a way can undo, in [`way::RESTORABLE`] order.
pub(crate) type RestorableCounts = [u64; way::RESTORABLE.len()];

/// Counts for one group of accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct GroupTally {
    pub(crate) accounts: u64,
    pub(crate) affected: u64,
    pub(crate) cells: [u64; Transition::COUNT],
}

impl GroupTally {
    fn merge(&mut self, o: &GroupTally) {
        self.accounts += o.accounts;
        self.affected += o.affected;
        for (a, b) in self.cells.iter_mut().zip(o.cells) {
            *a += b;
        }
    }

    fn add_account(&mut self, cells: &[u32; Transition::COUNT], affected: bool) {
        self.accounts += 1;
        self.affected += u64::from(affected);
        for (a, b) in self.cells.iter_mut().zip(cells) {
            *a += u64::from(*b);
        }
    }
}

/// Traces and buffers a thread reuses for every cell, so deciding does not allocate.
#[derive(Debug, Clone)]
pub(crate) struct Scratch {
    pub(crate) base: Trace,
    pub(crate) prop: Trace,
    pub(crate) later: Trace,
    pub(crate) later_decision: Decision,
    /// Proposed directives whose grace period ends with a refusal for the
    /// current account.
    pub(crate) grace: Vec<u16>,
    /// Proposed directives whose grace period ends with a different refusal
    /// for the current account.
    pub(crate) grace_refusal: Vec<u16>,
    /// Proposed directives whose grace period ends with other limits for
    /// the current account.
    pub(crate) grace_limits: Vec<u16>,
    /// Verification lists already explained for the current account, by
    /// deciding directive, effect and time.
    pub(crate) verify: Vec<VerifyCacheEntry>,
    /// The current account's cells per transition, per shape.
    pub(crate) by_shape: Vec<[u32; Transition::COUNT]>,
    /// The current account's unchanged refused cells that an added or
    /// modified proposed directive would refuse too: (that directive's
    /// proposed index, the baseline index of the one already refusing),
    /// once per cell.
    pub(crate) already_refused: Vec<(u16, u16)>,
}

impl Scratch {
    /// Clears what is per account, sized for `shapes` shapes.
    pub(crate) fn start_account(&mut self, shapes: usize) {
        self.grace.clear();
        self.grace_refusal.clear();
        self.grace_limits.clear();
        self.verify.clear();
        self.by_shape.clear();
        self.by_shape.resize(shapes, [0; Transition::COUNT]);
        self.already_refused.clear();
    }

    /// Notes a proposed directive whose grace period ends with a refusal.
    pub(crate) fn note_grace(&mut self, d: u16) {
        if !self.grace.contains(&d) {
            self.grace.push(d);
        }
    }

    /// Notes a proposed directive whose grace period ends with a different refusal.
    pub(crate) fn note_grace_refusal(&mut self, d: u16) {
        if !self.grace_refusal.contains(&d) {
            self.grace_refusal.push(d);
        }
    }

    /// Notes a proposed directive whose grace period ends with other limits.
    pub(crate) fn note_grace_limits(&mut self, d: u16) {
        if !self.grace_limits.contains(&d) {
            self.grace_limits.push(d);
        }
    }
}

/// Changed cells per shape and pair of limits, baseline then proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LimitChange {
    pub(crate) shape: usize,
    pub(crate) baseline: Obligations,
    pub(crate) proposed: Obligations,
    pub(crate) cells: u64,
}

/// Unchanged refused cells a changed directive would refuse too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlreadyRefused {
    /// The added or modified directive, by proposed index.
    pub(crate) directive: u16,
    /// The directive that already refuses, by baseline index.
    pub(crate) by: u16,
    pub(crate) accounts: u64,
    pub(crate) cells: u64,
}

/// A verification list and the decision it explains.
pub(crate) type VerifyCacheEntry = (
    (Option<u16>, Effect, jiff::Timestamp),
    std::sync::Arc<[crate::simulation::Verify]>,
);

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            base: Trace::default(),
            prop: Trace::default(),
            later: Trace::default(),
            later_decision: Decision {
                effect: Effect::Allow,
                obligations: Obligations::default(),
                decided_by: None,
                unknown_model: false,
            },
            grace: Vec::new(),
            grace_refusal: Vec::new(),
            grace_limits: Vec::new(),
            verify: Vec::new(),
            by_shape: Vec::new(),
            already_refused: Vec::new(),
        }
    }
}

/// What one worker thread counted over the accounts it simulated.
///
/// Start one per thread with [`Tally::default`], pass it to every
/// [`Simulation::account`] call, then [`Tally::merge`] them; the merged tally
/// equals the one a single thread would have built, whatever the split.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub(crate) accounts: u64,
    pub(crate) affected: u64,
    pub(crate) cells: [u64; Transition::COUNT],
    pub(crate) accounts_by: [u64; Transition::COUNT],
    /// Per model, in simulation order.
    pub(crate) models: Vec<GroupTally>,
    /// Per request shape, in simulation order.
    pub(crate) shapes: Vec<GroupTally>,
    /// Per citizenship, indexed by [`CountryCode::index`]; the last slot is `unknown`.
    pub(crate) citizenship: Vec<GroupTally>,
    /// Per residence country, as `citizenship`.
    pub(crate) residence: Vec<GroupTally>,
    /// Per organisation name as recorded.
    pub(crate) organization: HashMap<Box<str>, GroupTally>,
    /// Accounts without an organisation.
    pub(crate) no_organization: GroupTally,
    /// Per overall verification level.
    pub(crate) verification: [GroupTally; 4],
    /// Accounts refused after a grace period, per proposed directive index.
    pub(crate) grace: Vec<u64>,
    /// Accounts refused now and refused differently after a grace period,
    /// per proposed directive index.
    pub(crate) grace_refusal: Vec<u64>,
    /// Accounts held to other limits after a grace period, per proposed
    /// directive index.
    pub(crate) grace_limits: Vec<u64>,
    /// Changed cells with limits on either side, per shape and limits.
    pub(crate) limit_changes: Vec<LimitChange>,
    /// Unchanged cells a changed directive would refuse, per pair.
    pub(crate) already_refused: Vec<AlreadyRefused>,
    /// Accounts asked to verify that each way could restore, per way in
    /// [`Simulation::ways`] order.
    pub(crate) restorable: Vec<RestorableCounts>,
    /// Accounts asked to verify that no way could restore.
    pub(crate) unrestorable: RestorableCounts,
    pub(crate) scratch: Scratch,
}

const UNKNOWN_COUNTRY: usize = CountryCode::SPACE;

fn grow<T: Default + Clone>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::default());
    }
}

impl Tally {
    /// Sizes the per-model and per-directive tables for `sim`; cheap once done.
    pub(crate) fn prepare(&mut self, sim: &Simulation) {
        grow(&mut self.models, sim.sim_models().len());
        grow(&mut self.shapes, sim.shapes().len());
        grow(&mut self.grace_refusal, sim.proposed().directives().len());
        grow(&mut self.grace_limits, sim.proposed().directives().len());
        grow(&mut self.citizenship, UNKNOWN_COUNTRY + 1);
        grow(&mut self.residence, UNKNOWN_COUNTRY + 1);
        grow(&mut self.grace, sim.proposed().directives().len());
        grow(&mut self.restorable, sim.ways().len());
    }

    /// Counts one account's needs, one per transition in
    /// [`way::RESTORABLE`] order: for each transition it has cells of, the
    /// ways that restore all of them, or none.
    pub(crate) fn add_restorable(
        &mut self,
        sim: &Simulation,
        needs: &[Need; way::RESTORABLE.len()],
        organization: bool,
    ) {
        for (t, need) in needs.iter().enumerate().filter(|(_, n)| n.any()) {
            let mut restored = false;
            for (w, counts) in sim.ways().iter().zip(self.restorable.iter_mut()) {
                if need.met_by(w, organization) {
                    restored = true;
                    if let Some(n) = counts.get_mut(t) {
                        *n += 1;
                    }
                }
            }
            if !restored && let Some(n) = self.unrestorable.get_mut(t) {
                *n += 1;
            }
        }
    }

    /// Counts one account's cells of one model, over every shape.
    pub(crate) fn add_model_cells(&mut self, model: usize, cells: &[u32; Transition::COUNT]) {
        if let Some(g) = self.models.get_mut(model) {
            g.add_account(cells, changed(cells));
        }
    }

    /// Counts a changed cell whose limits differ or exist on either side.
    pub(crate) fn add_limit_change(
        &mut self,
        shape: usize,
        baseline: &Obligations,
        proposed: &Obligations,
    ) {
        if baseline.is_empty() && proposed.is_empty() {
            return;
        }
        let same = |l: &&mut LimitChange| {
            l.shape == shape && l.baseline == *baseline && l.proposed == *proposed
        };
        match self.limit_changes.iter_mut().find(same) {
            Some(l) => l.cells += 1,
            None => self.limit_changes.push(LimitChange {
                shape,
                baseline: *baseline,
                proposed: *proposed,
                cells: 1,
            }),
        }
    }

    pub(crate) fn add_account(&mut self, subject: &Subject, cells: &[u32; Transition::COUNT]) {
        let affected = changed(cells);
        for (g, c) in self.shapes.iter_mut().zip(&self.scratch.by_shape) {
            g.add_account(c, changed(c));
        }
        for (counts, noted) in [
            (&mut self.grace_refusal, &self.scratch.grace_refusal),
            (&mut self.grace_limits, &self.scratch.grace_limits),
        ] {
            for &d in noted {
                if let Some(n) = counts.get_mut(usize::from(d)) {
                    *n += 1;
                }
            }
        }
        self.add_already_refused();
        self.accounts += 1;
        self.affected += u64::from(affected);
        for ((total, by), (n, t)) in self
            .cells
            .iter_mut()
            .zip(self.accounts_by.iter_mut())
            .zip(cells.iter().zip(Transition::ALL))
        {
            *total += u64::from(*n);
            if *n > 0 && t.is_change() {
                *by += 1;
            }
        }
        for &d in &self.scratch.grace {
            if let Some(n) = self.grace.get_mut(usize::from(d)) {
                *n += 1;
            }
        }
        let add_country = |table: &mut Vec<GroupTally>, index: usize| {
            if let Some(g) = table.get_mut(index) {
                g.add_account(cells, affected);
            }
        };
        match subject.citizenships.as_deref() {
            Some(list) if !list.is_empty() => {
                for (i, c) in list.iter().enumerate() {
                    // A citizenship recorded twice (with two provenances) is one group.
                    let earlier = list.get(..i).unwrap_or_default();
                    if earlier.iter().any(|e| e.value == c.value) {
                        continue;
                    }
                    add_country(&mut self.citizenship, c.value.index());
                }
            }
            _ => add_country(&mut self.citizenship, UNKNOWN_COUNTRY),
        }
        let residence = subject
            .residence_country
            .as_ref()
            .map_or(UNKNOWN_COUNTRY, |r| r.value.index());
        add_country(&mut self.residence, residence);
        match subject.organization.as_ref().map(|o| o.name.value.as_str()) {
            None => self.no_organization.add_account(cells, affected),
            Some(name) => match self.organization.get_mut(name) {
                Some(g) => g.add_account(cells, affected),
                None => {
                    let mut g = GroupTally::default();
                    g.add_account(cells, affected);
                    self.organization.insert(Box::from(name), g);
                }
            },
        }
        let level = match subject.verification {
            VerificationLevel::None => 0,
            VerificationLevel::SelfDeclared => 1,
            VerificationLevel::DocumentVerified => 2,
            VerificationLevel::Attested => 3,
        };
        if let Some(g) = self.verification.get_mut(level) {
            g.add_account(cells, affected);
        }
    }

    /// Counts the current account's cells left unchanged because another
    /// directive already refuses them: each pair once per account.
    fn add_already_refused(&mut self) {
        let pairs = &self.scratch.already_refused;
        for (i, &(directive, by)) in pairs.iter().enumerate() {
            let first = !pairs
                .get(..i)
                .unwrap_or_default()
                .contains(&(directive, by));
            let found = self
                .already_refused
                .iter_mut()
                .find(|a| a.directive == directive && a.by == by);
            match found {
                Some(a) => {
                    a.cells += 1;
                    a.accounts += u64::from(first);
                }
                None => self.already_refused.push(AlreadyRefused {
                    directive,
                    by,
                    accounts: 1,
                    cells: 1,
                }),
            }
        }
    }

    /// Adds another thread's counts to this one.
    pub fn merge(&mut self, other: Tally) {
        self.accounts += other.accounts;
        self.affected += other.affected;
        for (a, b) in self.cells.iter_mut().zip(other.cells) {
            *a += b;
        }
        for (a, b) in self.accounts_by.iter_mut().zip(other.accounts_by) {
            *a += b;
        }
        merge_tables(&mut self.models, &other.models);
        merge_tables(&mut self.shapes, &other.shapes);
        add_counts(&mut self.grace_refusal, &other.grace_refusal);
        add_counts(&mut self.grace_limits, &other.grace_limits);
        for l in other.limit_changes {
            let same = |x: &&mut LimitChange| {
                x.shape == l.shape && x.baseline == l.baseline && x.proposed == l.proposed
            };
            match self.limit_changes.iter_mut().find(same) {
                Some(x) => x.cells += l.cells,
                None => self.limit_changes.push(l),
            }
        }
        for a in other.already_refused {
            let found = self
                .already_refused
                .iter_mut()
                .find(|x| x.directive == a.directive && x.by == a.by);
            match found {
                Some(x) => {
                    x.cells += a.cells;
                    x.accounts += a.accounts;
                }
                None => self.already_refused.push(a),
            }
        }
        merge_tables(&mut self.citizenship, &other.citizenship);
        merge_tables(&mut self.residence, &other.residence);
        for (k, g) in other.organization {
            self.organization.entry(k).or_default().merge(&g);
        }
        self.no_organization.merge(&other.no_organization);
        for (a, b) in self.verification.iter_mut().zip(&other.verification) {
            a.merge(b);
        }
        grow(&mut self.grace, other.grace.len());
        for (a, b) in self.grace.iter_mut().zip(other.grace) {
            *a += b;
        }
        grow(&mut self.restorable, other.restorable.len());
        for (a, b) in self.restorable.iter_mut().zip(other.restorable) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (x, y) in self.unrestorable.iter_mut().zip(other.unrestorable) {
            *x += y;
        }
    }

    /// Accounts simulated so far.
    pub fn accounts(&self) -> u64 {
        self.accounts
    }

    /// Accounts with at least one changed cell so far.
    pub fn affected_accounts(&self) -> u64 {
        self.affected
    }
}

/// Adds `b`'s per-index counts to `a`'s.
fn add_counts(a: &mut Vec<u64>, b: &[u64]) {
    grow(a, b.len());
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// Whether an account's cells hold a change.
fn changed(cells: &[u32; Transition::COUNT]) -> bool {
    cells
        .iter()
        .zip(Transition::ALL)
        .any(|(n, t)| *n > 0 && t.is_change())
}

fn merge_tables(a: &mut Vec<GroupTally>, b: &[GroupTally]) {
    grow(a, b.len());
    for (x, y) in a.iter_mut().zip(b) {
        x.merge(y);
    }
}
