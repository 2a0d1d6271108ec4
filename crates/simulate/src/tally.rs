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
    /// Verification lists already explained for the current account, by
    /// deciding directive, effect and time.
    pub(crate) verify: Vec<VerifyCacheEntry>,
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
            verify: Vec::new(),
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

    pub(crate) fn add_model_cell(&mut self, model: usize, t: Transition) {
        if let Some(g) = self.models.get_mut(model) {
            g.accounts += 1;
            g.affected += u64::from(t.is_change());
            if let Some(n) = g.cells.get_mut(t.index()) {
                *n += 1;
            }
        }
    }

    pub(crate) fn add_account(&mut self, subject: &Subject, cells: &[u32; Transition::COUNT]) {
        let affected = cells
            .iter()
            .zip(Transition::ALL)
            .any(|(n, t)| *n > 0 && t.is_change());
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

fn merge_tables(a: &mut Vec<GroupTally>, b: &[GroupTally]) {
    grow(a, b.len());
    for (x, y) in a.iter_mut().zip(b) {
        x.merge(y);
    }
}
