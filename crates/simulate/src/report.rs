//! The simulation report: what a compliance officer reads before a directive set
//! takes effect, as JSON (`cordon-simulation/1`), CSV and, elsewhere, HTML.
//!
//! Every type here is plain data with public fields so renderers need nothing
//! but this module. Lists are sorted when built and counts are integers, so the
//! same inputs always serialise to byte-identical JSON.

mod build;
pub(crate) mod csv;

pub use build::{ReportInputs, TrafficSource, report};

use cordon_policy::{Mode, Obligations, Standing};
use cordon_subject::VerificationLevel;
use cordon_verification::SourceKind;
use jiff::Timestamp;
use serde::Serialize;

use crate::Transition;

/// The value of [`Report::format`].
pub const FORMAT: &str = "cordon-simulation/1";

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Always [`FORMAT`]; readers check it before anything else.
    pub format: &'static str,
    /// The time every decision was made for.
    pub at: Timestamp,
    /// Where simulated requests were assumed to come from: `residence` (each
    /// account's recorded residence), `unknown`, or a country code.
    pub location: String,
    /// The set in force today.
    pub baseline: SetSummary,
    /// The set being proposed.
    pub proposed: SetSummary,
    /// Directives added, removed or modified, in id order.
    pub changed_directives: Vec<DirectiveChange>,
    /// Plain sentences about the comparison (pending directives, equivalent sets).
    pub notes: Vec<String>,
    /// Model ids decided for every account, in catalog order.
    pub models: Vec<String>,
    /// The request shapes decided for every account × model, in the order
    /// given (`chat` is the plain chat request).
    pub shapes: Vec<String>,
    /// Accounts simulated.
    pub accounts: u64,
    /// Account × model × shape cells decided:
    /// `accounts × models.len() × shapes.len()`.
    pub cells: u64,
    /// Cells per transition.
    pub totals: TransitionCounts,
    /// Accounts with at least one changed cell.
    pub affected_accounts: u64,
    /// Accounts with at least one cell of each changing transition.
    pub accounts_by_transition: AccountCounts,
    /// Grace periods that end for some account, earliest first.
    pub grace_deadlines: Vec<GraceDeadline>,
    /// Changed cells with limits (obligations) under either set, per shape
    /// and pair of limits: a cap that appears, changes or goes.
    pub limit_changes: Vec<LimitChange>,
    /// Cells left unchanged only because another directive already refuses
    /// them, per added or modified directive that would refuse them too.
    pub already_refused: Vec<AlreadyRefused>,
    /// Accounts asked to verify, by the ways of verifying that could
    /// restore their access.
    pub restorable_by: Restorable,
    /// One group per model.
    pub by_model: Vec<Group>,
    /// One group per request shape, in [`Report::shapes`] order.
    pub by_shape: Vec<Group>,
    /// One group per citizenship; a dual national counts in each.
    pub by_citizenship: Vec<Group>,
    /// One group per residence country.
    pub by_residence: Vec<Group>,
    /// One group per organisation name as recorded.
    pub by_organization: Vec<Group>,
    /// One group per overall verification level.
    pub by_verification: Vec<Group>,
    /// Replayed traffic, when a log was given.
    pub traffic: Option<TrafficReport>,
}

/// One directive set's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetSummary {
    /// Where it came from, as the caller names it (a directory, "embedded").
    pub label: String,
    /// The policy version (`sha256:…`).
    pub version: String,
    /// Its directive ids, in id order.
    pub directives: Vec<String>,
}

/// How a directive differs between the sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the proposed set.
    Added,
    /// Only in the baseline.
    Removed,
    /// In both, with a different mode, times, scope, rules or exemptions.
    Modified,
}

impl ChangeKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Modified => "modified",
        }
    }
}

/// One changed directive, described from the set that holds it (the proposed
/// set, or the baseline for a removed directive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectiveChange {
    /// Directive id.
    pub id: String,
    /// Added, removed or modified.
    pub change: ChangeKind,
    /// Its mode.
    pub mode: Mode,
    /// Where it stands at the simulated time.
    pub standing: Standing,
    /// When it takes effect.
    pub effective: Timestamp,
    /// End of its grace period.
    pub grace_until: Option<Timestamp>,
    /// When it lapses.
    pub expires: Option<Timestamp>,
}

/// A count per transition; serialised with the transitions' snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TransitionCounts {
    /// [`Transition::Unchanged`].
    pub unchanged: u64,
    /// [`Transition::LoseAccess`].
    pub lose_access: u64,
    /// [`Transition::VerificationRequired`].
    pub verification_required: u64,
    /// [`Transition::VerificationRequiredAfterGrace`].
    pub verification_required_after_grace: u64,
    /// [`Transition::GainAccess`].
    pub gain_access: u64,
    /// [`Transition::ObligationsChanged`].
    pub obligations_changed: u64,
    /// [`Transition::RefusalChanged`].
    pub refusal_changed: u64,
}

impl TransitionCounts {
    /// The count for one transition.
    pub fn get(&self, t: Transition) -> u64 {
        match t {
            Transition::Unchanged => self.unchanged,
            Transition::LoseAccess => self.lose_access,
            Transition::VerificationRequired => self.verification_required,
            Transition::VerificationRequiredAfterGrace => self.verification_required_after_grace,
            Transition::GainAccess => self.gain_access,
            Transition::ObligationsChanged => self.obligations_changed,
            Transition::RefusalChanged => self.refusal_changed,
        }
    }

    /// Builds the counts from an array indexed by [`Transition::index`].
    pub fn from_array(a: [u64; Transition::COUNT]) -> Self {
        let [
            unchanged,
            lose_access,
            verification_required,
            verification_required_after_grace,
            gain_access,
            obligations_changed,
            refusal_changed,
        ] = a;
        TransitionCounts {
            unchanged,
            lose_access,
            verification_required,
            verification_required_after_grace,
            gain_access,
            obligations_changed,
            refusal_changed,
        }
    }

    /// Every count except `unchanged`, summed.
    pub fn changed(&self) -> u64 {
        Transition::ALL
            .iter()
            .filter(|t| t.is_change())
            .map(|t| self.get(*t))
            .sum()
    }
}

/// Accounts with at least one cell of each changing transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AccountCounts {
    /// [`Transition::LoseAccess`].
    pub lose_access: u64,
    /// [`Transition::VerificationRequired`].
    pub verification_required: u64,
    /// [`Transition::VerificationRequiredAfterGrace`].
    pub verification_required_after_grace: u64,
    /// [`Transition::GainAccess`].
    pub gain_access: u64,
    /// [`Transition::ObligationsChanged`].
    pub obligations_changed: u64,
    /// [`Transition::RefusalChanged`].
    pub refusal_changed: u64,
}

impl AccountCounts {
    /// The count for one transition; `Unchanged` has none.
    pub fn get(&self, t: Transition) -> Option<u64> {
        match t {
            Transition::Unchanged => None,
            Transition::LoseAccess => Some(self.lose_access),
            Transition::VerificationRequired => Some(self.verification_required),
            Transition::VerificationRequiredAfterGrace => {
                Some(self.verification_required_after_grace)
            }
            Transition::GainAccess => Some(self.gain_access),
            Transition::ObligationsChanged => Some(self.obligations_changed),
            Transition::RefusalChanged => Some(self.refusal_changed),
        }
    }
}

/// Accounts whose access ends with a grace period unless they verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraceDeadline {
    /// The proposed directive whose grace period ends.
    pub directive: String,
    /// Its `grace_until`.
    pub deadline: Timestamp,
    /// Accounts with at least one cell refused after it.
    pub accounts: u64,
    /// Accounts refused now (by what the directive makes of an unknown
    /// during grace) with a cell refused differently after it, e.g. denied
    /// now and asked to verify then.
    pub refusal_changes: u64,
    /// Accounts allowed now and held to other limits by the directive
    /// after it, e.g. allowed during grace and capped then.
    pub new_limits: u64,
}

/// Changed cells of one shape held to one pair of limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitChange {
    /// Names the entry uniquely: `shape: baseline -> proposed`, each side's
    /// limits in words or `none`.
    pub key: String,
    /// The request shape, as [`Report::shapes`] names it.
    pub shape: String,
    /// The baseline's limits; empty when none.
    pub baseline: Obligations,
    /// The proposed set's limits at the simulated time; empty when none.
    pub proposed: Obligations,
    /// The baseline's limits in words, e.g. `max_tokens 4000`; empty when none.
    pub baseline_limits: String,
    /// The proposed limits in words, e.g. `max_tokens 2000; tools removed`.
    pub proposed_limits: String,
    /// Cells.
    pub cells: u64,
}

/// An added or modified directive whose refusals another directive already makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlreadyRefused {
    /// Names the entry uniquely: `directive<refused_by`.
    pub key: String,
    /// The added or modified proposed directive.
    pub directive: String,
    /// The directive that decides the refusal under the baseline, and refuses under both sets.
    pub refused_by: String,
    /// Accounts with such a cell.
    pub accounts: u64,
    /// Cells.
    pub cells: u64,
}

/// Which ways of verifying could give back access to the accounts asked to
/// verify.
///
/// An account counts under a way for a transition when the way restores
/// every cell of that transition the account has ([`crate::Way::restores`]);
/// it counts under each such way, so the ways add up to more than the
/// accounts, and under `none` when no way restores them all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Restorable {
    /// One entry per way, in the order they were given.
    pub ways: Vec<WayAccounts>,
    /// Accounts no way restores: refused until the directive or the ways
    /// change.
    pub none: VerifyAccounts,
}

/// One way of verifying and the accounts it could restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WayAccounts {
    /// The way's name.
    pub key: String,
    /// What kind of party it is.
    pub kind: SourceKind,
    /// The highest level it grants.
    pub max_level: VerificationLevel,
    /// Whether only members of an organisation can use it.
    pub organisations_only: bool,
    /// Accounts it could restore, per transition.
    pub accounts: VerifyAccounts,
}

/// Accounts per transition that verifying can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct VerifyAccounts {
    /// [`Transition::VerificationRequired`].
    pub verification_required: u64,
    /// [`Transition::VerificationRequiredAfterGrace`].
    pub verification_required_after_grace: u64,
}

impl VerifyAccounts {
    /// The transitions counted, in report order.
    pub const TRANSITIONS: [Transition; 2] = [
        Transition::VerificationRequired,
        Transition::VerificationRequiredAfterGrace,
    ];

    /// The count for one transition; `None` for a transition verifying
    /// cannot undo.
    pub fn get(&self, t: Transition) -> Option<u64> {
        match t {
            Transition::VerificationRequired => Some(self.verification_required),
            Transition::VerificationRequiredAfterGrace => {
                Some(self.verification_required_after_grace)
            }
            _ => None,
        }
    }
}

/// The accounts sharing one value of a dimension, and what happens to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The value: a model id, a country code, `unknown`, an organisation name,
    /// `(none)` or a verification level.
    pub key: String,
    /// A human name for the key (a country's name, for instance).
    pub name: String,
    /// Accounts in the group.
    pub accounts: u64,
    /// Accounts in the group with at least one changed cell (for a model group,
    /// a changed cell for that model).
    pub affected_accounts: u64,
    /// The group's cells per transition.
    pub cells: TransitionCounts,
}

/// What replaying logged traffic under the proposed set showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficReport {
    /// The audit log read.
    pub log: String,
    /// Decisions before this time were not replayed.
    pub since: Option<Timestamp>,
    /// Time of the first decision replayed.
    pub first: Option<Timestamp>,
    /// Time of the last decision replayed.
    pub last: Option<Timestamp>,
    /// Logged decisions considered (replayed or skipped).
    pub decisions: u64,
    /// Decisions replayed under the proposed set.
    pub replayed: u64,
    /// Decisions that could not be replayed, by reason.
    pub skipped: Skipped,
    /// Distinct accounts replayed.
    pub accounts: u64,
    /// Replayed requests the proposed set refuses.
    pub would_refuse: RequestsAccounts,
    /// Replayed requests logged as allowed that the proposed set refuses.
    pub newly_refused: RequestsAccounts,
    /// Replayed requests logged as refused that the proposed set allows.
    pub newly_allowed: RequestsAccounts,
    /// Per model, busiest first.
    pub by_model: Vec<TrafficModel>,
}

/// Decisions skipped during replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Skipped {
    /// Logged without an account (refused before authentication, for instance).
    pub no_account: u64,
    /// Their account is not in the store.
    pub unknown_account: u64,
}

/// A request count and the distinct accounts behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RequestsAccounts {
    /// Requests.
    pub requests: u64,
    /// Distinct accounts.
    pub accounts: u64,
}

/// Replayed traffic for one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficModel {
    /// The catalog id, or the name as logged when no catalog knows it.
    pub key: String,
    /// Requests replayed.
    pub requests: u64,
    /// Of those, logged as allowed and refused by the proposed set.
    pub newly_refused: u64,
    /// Of those, logged as refused and allowed by the proposed set.
    pub newly_allowed: u64,
}

impl Report {
    /// The report as pretty-printed JSON, ending in a newline.
    ///
    /// # Errors
    /// Only if serialisation fails, which plain data does not.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    /// Every group of every dimension, with the dimension's name, in report order.
    pub fn dimensions(&self) -> [(&'static str, &[Group]); 6] {
        [
            ("model", &self.by_model),
            ("shape", &self.by_shape),
            ("citizenship", &self.by_citizenship),
            ("residence", &self.by_residence),
            ("organization", &self.by_organization),
            ("verification", &self.by_verification),
        ]
    }
}
