//! Restricted-party screening as a maintained subject attribute.
//!
//! The store keeps what screening needs between runs:
//!
//! - **list snapshots** ([`SqliteStore::save_snapshot`]): every imported set of
//!   list entries, with its content hash, publication date and per-list counts;
//!   the newest is *active*;
//! - **hits** ([`SqliteStore::hits`]): for each account, the list entries its
//!   names may be, with score, status and, for hits derived by OFAC's 50
//!   percent rule, the ownership chain that explains them;
//! - **dispositions** ([`SqliteStore::set_disposition`]): a reviewer's
//!   *cleared* or *confirmed*, recorded against the entry's version. It applies
//!   while the entry is unchanged; when the list changes the entry (a new
//!   alias, a new address) the hit is pending again and the old disposition
//!   stays as history.
//!
//! [`rescreen`] screens every account's names (its own, its organisation's, its
//! owners') through a [`NameScreener`] the caller supplies, applies the
//! dispositions and the 50 percent rule, and writes the account's `screening`
//! attribute (the one directives read, `docs/subjects.md`), reporting what
//! changed. Hits written into a record by hand are kept: re-screening replaces
//! only the hits it wrote itself.

mod ownership;
mod resolve;
pub(crate) mod review;
pub(crate) mod rows;
pub(crate) mod snapshots;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_screening::screener::{DEFAULT_LIMIT, DEFAULT_THRESHOLD, Query, Screener};
use cordon_subject::{RestrictedList, Screened, ScreeningStatus};
use jiff::Timestamp;
use serde_json::Value;

use self::rows::{Lite, ScreeningBackend, ScreeningRows};
use crate::{SqliteStore, StoreError};

pub use cordon_screening::ListEntry;
pub use cordon_screening::screener::PartyKind;
pub use cordon_screening::snapshot::Snapshot;

/// Accounts written per transaction by [`rescreen`].
pub const RESCREEN_BATCH: usize = 1000;

/// The `uid` of a hit derived by OFAC's 50 percent rule (SDN, SSI): at most
/// one per list and account.
pub const OWNERSHIP_UID: &str = "ownership";

/// The `uid` of a hit derived by BIS's affiliates rule (on the Entity List):
/// at most one per account.
pub const AFFILIATES_UID: &str = "affiliates";

/// Whether a hit's `uid` marks it as derived by an ownership rule.
pub fn is_derived_uid(uid: &str) -> bool {
    uid == OWNERSHIP_UID || uid == AFFILIATES_UID
}

/// A list entry that a screened name may be.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// The list the entry is on.
    pub list: RestrictedList,
    /// The list's own id for the entry.
    pub uid: String,
    /// The entry's version ([`ListEntry::version_hex`]); dispositions are kept against it.
    pub entry_version: String,
    /// The entry name that matched.
    pub entry_name: String,
    /// How well it matched, from 0 to 1.
    pub score: f64,
}

/// Finds the list entries a name may be.
///
/// The caller implements it over its matcher and the active snapshot, so the
/// store needs no matcher of its own.
pub trait NameScreener {
    /// The candidates for `name`, best first. `country` and `birth_year` are
    /// hints a matcher may use to rank or drop candidates.
    ///
    /// Every candidate returned becomes a hit for a reviewer, so the
    /// implementation applies its score threshold.
    fn screen(
        &self,
        name: &str,
        kind: PartyKind,
        country: Option<CountryCode>,
        birth_year: Option<u16>,
    ) -> Vec<Candidate>;
}

/// Which of an account's names matched an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchedBy {
    /// The subject's own `name`.
    Name,
    /// `organization.name`, for an organisation's own account.
    Organization,
    /// An individual's `organization.name`: the employer they act for.
    Employer,
    /// The name of `organization.owners[N]`.
    Owner(usize),
    /// No name: the hit is derived by an ownership rule (OFAC's 50 percent
    /// rule, BIS's affiliates rule).
    Ownership,
}

impl MatchedBy {
    /// Whether a hit found this way is the subject's own, and so goes into its
    /// `screening` attribute. An owner's hit counts only through the 50 percent rule.
    pub fn is_own(self) -> bool {
        !matches!(self, MatchedBy::Owner(_))
    }

    /// The subject-record path of the name, e.g. `organization.owners[2]`.
    pub fn path(self) -> String {
        match self {
            MatchedBy::Name => "name".to_owned(),
            MatchedBy::Organization => "organization.name".to_owned(),
            MatchedBy::Employer => "employer".to_owned(),
            MatchedBy::Owner(i) => format!("organization.owners[{i}]"),
            MatchedBy::Ownership => "ownership".to_owned(),
        }
    }

    /// Parses [`MatchedBy::path`].
    pub fn parse(s: &str) -> Option<MatchedBy> {
        match s {
            "name" => Some(MatchedBy::Name),
            "organization.name" => Some(MatchedBy::Organization),
            "employer" => Some(MatchedBy::Employer),
            "ownership" => Some(MatchedBy::Ownership),
            _ => s
                .strip_prefix("organization.owners[")?
                .strip_suffix(']')?
                .parse()
                .ok()
                .map(MatchedBy::Owner),
        }
    }
}

impl fmt::Display for MatchedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl serde::Serialize for MatchedBy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.path())
    }
}

/// A current screening hit of an account.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    /// The account.
    pub account: String,
    /// The list.
    pub list: RestrictedList,
    /// The entry's id on the list, or [`OWNERSHIP_UID`] for a hit derived by the 50 percent rule.
    pub uid: String,
    /// The entry's version; for a derived hit, a hash of its ownership chain.
    pub entry_version: String,
    /// The entry name that matched; for a derived hit, a one-line summary of the chain.
    pub entry_name: String,
    /// The account's name that matched (the first of `matched_by`).
    pub matched_name: String,
    /// Every name of the account that matched this entry, the subject's own first.
    pub matched_by: Vec<MatchedBy>,
    /// The match score, 0 to 1; for a derived hit, the listed share of ownership (0.5 to 1).
    pub score: f64,
    /// Review status: a disposition of the current entry version, else pending.
    pub status: ScreeningStatus,
    /// For a derived hit, the owners and chains that make it (with an `explanation` line).
    pub ownership: Option<Value>,
    /// When the hit was first found.
    pub first_seen: Timestamp,
}

impl Hit {
    /// Whether the hit is the subject's own (and so in its `screening` attribute).
    pub fn is_own(&self) -> bool {
        self.matched_by.iter().any(|m| m.is_own())
    }
}

/// A reviewer's decision on a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Not the listed party: a false positive.
    Cleared,
    /// The listed party.
    Confirmed,
}

impl ReviewDecision {
    /// The hit status the decision gives.
    pub fn status(self) -> ScreeningStatus {
        match self {
            ReviewDecision::Cleared => ScreeningStatus::Cleared,
            ReviewDecision::Confirmed => ScreeningStatus::Confirmed,
        }
    }

    /// `cleared` or `confirmed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewDecision::Cleared => "cleared",
            ReviewDecision::Confirmed => "confirmed",
        }
    }

    /// Parses [`ReviewDecision::as_str`].
    pub fn parse(s: &str) -> Option<ReviewDecision> {
        match s {
            "cleared" => Some(ReviewDecision::Cleared),
            "confirmed" => Some(ReviewDecision::Confirmed),
            _ => None,
        }
    }
}

/// A recorded disposition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Disposition {
    /// Its sequence number: later dispositions of the same hit replace earlier ones.
    pub id: i64,
    /// The account.
    pub account: String,
    /// The list.
    pub list: RestrictedList,
    /// The entry's id on the list.
    pub uid: String,
    /// The entry version the reviewer saw.
    pub entry_version: String,
    /// The decision.
    pub decision: ReviewDecision,
    /// Who decided.
    pub reviewer: String,
    /// Why, in the reviewer's words.
    pub note: Option<String>,
    /// When.
    pub decided_at: Timestamp,
    /// Whether it decides the current hit: it is the latest for the hit and the
    /// entry still has the version it was made against.
    pub applies: bool,
}

/// A stored list snapshot's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct SnapshotId(pub i64);

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The outcome of [`SqliteStore::save_snapshot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SavedSnapshot {
    /// The active snapshot after the call.
    pub id: SnapshotId,
    /// The content hash equals the active snapshot's: nothing was stored.
    pub unchanged: bool,
}

/// A stored snapshot, without its entries.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredSnapshot {
    /// Its id.
    pub id: SnapshotId,
    /// The content hash given at import.
    pub hash: String,
    /// The lists' publication date, if known.
    pub published: Option<jiff::civil::Date>,
    /// When it was imported.
    pub imported_at: Timestamp,
    /// Entries per list.
    pub counts: BTreeMap<RestrictedList, u64>,
    /// The importer's description of its sources.
    pub sources: Value,
    /// Rows the importer could not read.
    pub problems: u64,
    /// Whether it is the active snapshot.
    pub active: bool,
}

/// One hit in a [`RescreenReport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HitChange {
    /// The account.
    pub account: String,
    /// The list.
    pub list: RestrictedList,
    /// The entry's id, or [`OWNERSHIP_UID`].
    pub uid: String,
    /// The entry name that matched (or the chain summary).
    pub name: String,
    /// The account's names that matched.
    pub matched_by: Vec<MatchedBy>,
    /// The score.
    pub score: f64,
    /// The status.
    pub status: ScreeningStatus,
}

/// A hit whose status changed in a [`RescreenReport`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatusChange {
    /// The hit as it is now.
    pub hit: HitChange,
    /// The status before.
    pub from: ScreeningStatus,
    /// Whether the entry's version changed (which voids its disposition).
    pub entry_changed: bool,
}

/// An owner naming an account that is not in the store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnknownOwner {
    /// The owned organisation's account.
    pub account: String,
    /// The owner's place in `organization.owners`.
    pub owner: usize,
    /// The account id the owner names.
    pub owner_account: String,
}

/// What a re-screen found and changed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RescreenReport {
    /// The active snapshot when the run started.
    pub snapshot: Option<SnapshotId>,
    /// Accounts screened.
    pub accounts: u64,
    /// Names screened (distinct name, kind and hints).
    pub names: u64,
    /// Accounts whose hits or `screening` attribute changed. Accounts whose
    /// record only gained the run's `screened` (first screening, or a new
    /// snapshot) are rewritten too but not counted here.
    pub accounts_changed: u64,
    /// Hits found now and not before.
    pub new_hits: Vec<HitChange>,
    /// Hits before that are gone (the entry left the list, or no longer matches).
    pub removed_hits: Vec<HitChange>,
    /// Hits whose status changed.
    pub status_changes: Vec<StatusChange>,
    /// Ownership cycles among accounts, each as the accounts around it.
    pub ownership_cycles: Vec<Vec<String>>,
    /// Owners naming accounts that do not exist (their names are still screened).
    pub unknown_owners: Vec<UnknownOwner>,
    /// Accounts whose stored record could not be read; they keep their hits.
    pub unreadable: Vec<Unreadable>,
}

/// An account whose stored record does not read back (edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unreadable {
    /// The account.
    pub account: String,
    /// What is wrong with its record.
    pub message: String,
}

/// Screens every account against the lists through `screener` and makes each
/// account's `screening` attribute match: dispositions of unchanged entries
/// applied, the 50 percent rule applied through `organization.owners`.
///
/// Writes go in transactions of [`RESCREEN_BATCH`] changed accounts, each
/// account's hits and record together; only accounts whose hits or attribute
/// changed are written, and the change counter is bumped once per batch that
/// changed a record. A disposition recorded while the run screens is applied
/// again before it returns.
///
/// # Errors
/// [`StoreError::Storage`] or [`StoreError::Postgres`] if the store fails;
/// batches committed before stay.
pub fn rescreen<S: ScreeningStore + ?Sized>(
    store: &S,
    screener: &dyn NameScreener,
    now: Timestamp,
) -> Result<RescreenReport, StoreError> {
    store.rescreen(screener, now)
}

/// What both stores keep for screening: list snapshots, hits and
/// dispositions, and the re-screening that keeps accounts' `screening`
/// attribute current. Each method is the store's own method of that name
/// (documented on [`SqliteStore`]); a PostgreSQL store shared by many
/// gateway nodes answers exactly as one SQLite file does.
pub trait ScreeningStore: Send + Sync {
    /// Stores a list snapshot and makes it the active one
    /// ([`SqliteStore::save_snapshot`]).
    ///
    /// # Errors
    /// [`StoreError::DuplicateListEntry`]; storage failures.
    fn save_snapshot(
        &self,
        snapshot: &Snapshot,
        published: Option<jiff::civil::Date>,
        now: Timestamp,
    ) -> Result<SavedSnapshot, StoreError>;

    /// The active snapshot, if any list was imported.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    fn active_snapshot(&self) -> Result<Option<StoredSnapshot>, StoreError>;

    /// Every stored snapshot, newest first.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    fn snapshots(&self) -> Result<Vec<StoredSnapshot>, StoreError>;

    /// The entries of a snapshot, in the order they were saved.
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`]; [`StoreError::Corrupt`].
    fn snapshot_entries(&self, id: SnapshotId) -> Result<Vec<ListEntry>, StoreError>;

    /// Makes a stored snapshot the active one again.
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`]; storage failures.
    fn activate_snapshot(&self, id: SnapshotId) -> Result<(), StoreError>;

    /// Deletes all but the newest `keep` snapshots and the active one.
    ///
    /// # Errors
    /// Storage failures.
    fn prune_snapshots(&self, keep: usize) -> Result<u64, StoreError>;

    /// Records a reviewer's decision on an account's current hit
    /// ([`SqliteStore::set_disposition`]).
    ///
    /// # Errors
    /// As [`SqliteStore::set_disposition`].
    #[expect(clippy::too_many_arguments, reason = "one argument per recorded field")]
    fn set_disposition(
        &self,
        account: &str,
        list: RestrictedList,
        uid: &str,
        decision: ReviewDecision,
        reviewer: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Disposition, StoreError>;

    /// Every disposition recorded for an account, oldest first.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; storage failures.
    fn dispositions(&self, account: &str) -> Result<Vec<Disposition>, StoreError>;

    /// The current hits of an account.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; storage failures.
    fn hits(&self, account: &str) -> Result<Vec<Hit>, StoreError>;

    /// Every hit awaiting a reviewer.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    fn pending_hits(&self) -> Result<Vec<Hit>, StoreError>;

    /// Screens every account against the lists ([`rescreen`]).
    ///
    /// # Errors
    /// Storage failures; batches committed before stay.
    fn rescreen(
        &self,
        screener: &dyn NameScreener,
        now: Timestamp,
    ) -> Result<RescreenReport, StoreError>;
}

/// Implements [`ScreeningStore`] with the store's own methods.
macro_rules! screening_store {
    ($t:ty) => {
        impl $crate::screening::ScreeningStore for $t {
            fn save_snapshot(
                &self,
                snapshot: &$crate::screening::Snapshot,
                published: Option<jiff::civil::Date>,
                now: jiff::Timestamp,
            ) -> Result<$crate::screening::SavedSnapshot, $crate::StoreError> {
                <$t>::save_snapshot(self, snapshot, published, now)
            }
            fn active_snapshot(
                &self,
            ) -> Result<Option<$crate::screening::StoredSnapshot>, $crate::StoreError> {
                <$t>::active_snapshot(self)
            }
            fn snapshots(
                &self,
            ) -> Result<Vec<$crate::screening::StoredSnapshot>, $crate::StoreError> {
                <$t>::snapshots(self)
            }
            fn snapshot_entries(
                &self,
                id: $crate::screening::SnapshotId,
            ) -> Result<Vec<$crate::screening::ListEntry>, $crate::StoreError> {
                <$t>::snapshot_entries(self, id)
            }
            fn activate_snapshot(
                &self,
                id: $crate::screening::SnapshotId,
            ) -> Result<(), $crate::StoreError> {
                <$t>::activate_snapshot(self, id)
            }
            fn prune_snapshots(&self, keep: usize) -> Result<u64, $crate::StoreError> {
                <$t>::prune_snapshots(self, keep)
            }
            fn set_disposition(
                &self,
                account: &str,
                list: cordon_subject::RestrictedList,
                uid: &str,
                decision: $crate::screening::ReviewDecision,
                reviewer: &str,
                note: Option<&str>,
                now: jiff::Timestamp,
            ) -> Result<$crate::screening::Disposition, $crate::StoreError> {
                <$t>::set_disposition(self, account, list, uid, decision, reviewer, note, now)
            }
            fn dispositions(
                &self,
                account: &str,
            ) -> Result<Vec<$crate::screening::Disposition>, $crate::StoreError> {
                <$t>::dispositions(self, account)
            }
            fn hits(
                &self,
                account: &str,
            ) -> Result<Vec<$crate::screening::Hit>, $crate::StoreError> {
                <$t>::hits(self, account)
            }
            fn pending_hits(&self) -> Result<Vec<$crate::screening::Hit>, $crate::StoreError> {
                <$t>::pending_hits(self)
            }
            fn rescreen(
                &self,
                screener: &dyn $crate::screening::NameScreener,
                now: jiff::Timestamp,
            ) -> Result<$crate::screening::RescreenReport, $crate::StoreError> {
                $crate::screening::rescreen_on(self, screener, now)
            }
        }
    };
}
pub(crate) use screening_store;

screening_store!(SqliteStore);

/// [`rescreen`] on a backend.
pub(crate) fn rescreen_on(
    store: &impl ScreeningBackend,
    screener: &dyn NameScreener,
    now: Timestamp,
) -> Result<RescreenReport, StoreError> {
    resolve::rescreen(store, screener, now)
}

/// `pending`, `confirmed` or `cleared`.
pub(crate) fn status_str(s: ScreeningStatus) -> &'static str {
    match s {
        ScreeningStatus::Pending => "pending",
        ScreeningStatus::Confirmed => "confirmed",
        ScreeningStatus::Cleared => "cleared",
    }
}

/// Parses [`status_str`].
pub(crate) fn parse_status(s: &str) -> Option<ScreeningStatus> {
    match s {
        "pending" => Some(ScreeningStatus::Pending),
        "confirmed" => Some(ScreeningStatus::Confirmed),
        "cleared" => Some(ScreeningStatus::Cleared),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

/// A [`NameScreener`] over a matcher, at the matcher's default threshold and
/// limit: what re-screening and the screening of new accounts use.
#[derive(Debug, Clone, Copy)]
pub struct MatcherScreener<'a> {
    screener: &'a Screener,
}

impl<'a> MatcherScreener<'a> {
    /// Wraps `screener`.
    pub fn new(screener: &'a Screener) -> Self {
        MatcherScreener { screener }
    }
}

impl NameScreener for MatcherScreener<'_> {
    fn screen(
        &self,
        name: &str,
        kind: PartyKind,
        country: Option<CountryCode>,
        birth_year: Option<u16>,
    ) -> Vec<Candidate> {
        let query = Query {
            name,
            kind: Some(kind),
            country,
            birth_year,
            threshold: DEFAULT_THRESHOLD,
            limit: DEFAULT_LIMIT,
        };
        self.screener
            .screen(&query)
            .into_iter()
            .filter_map(|h| {
                let e = self.screener.entries().get(h.entry)?;
                Some(Candidate {
                    list: e.list,
                    uid: e.uid.clone(),
                    entry_version: e.version_hex(),
                    entry_name: e.names.get(h.name)?.text.clone(),
                    score: h.score,
                })
            })
            .collect()
    }
}

/// The active snapshot and a matcher over its entries.
#[derive(Debug, Clone)]
pub(crate) struct ActiveLists {
    snapshot: SnapshotId,
    screener: Arc<Screener>,
}

/// The matcher of the last active snapshot used, kept so that creating
/// accounts does not index the lists again.
#[derive(Debug, Default)]
pub(crate) struct ListsCache(Mutex<Option<ActiveLists>>);

/// Whether a patch of top-level subject fields may change the names
/// screening reads or the hints it screens them with.
pub(crate) fn changes_names(patch: &Value) -> bool {
    patch.as_object().is_some_and(|o| {
        [
            "name",
            "kind",
            "organization",
            "residence_country",
            "citizenships",
            "birth_year",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
    })
}

/// The active snapshot of `store` with a matcher over it, built once per
/// snapshot; `None` when no list was imported.
pub(crate) fn active_lists(
    store: &impl ScreeningBackend,
) -> Result<Option<ActiveLists>, StoreError> {
    let Some(active) = store.reading(|rows| snapshots::active_id(rows))? else {
        return Ok(None);
    };
    let cache = &store.lists_cache().0;
    if let Some(c) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .filter(|c| c.snapshot == active)
    {
        return Ok(Some(c.clone()));
    }
    // Indexed without the lock: another thread may index the same lists
    // meanwhile, and the last one kept is as good as the first.
    let entries = store.reading(|rows| snapshots::entries(rows, active))?;
    let lists = ActiveLists {
        snapshot: active,
        screener: Arc::new(Screener::new(entries)),
    };
    *cache.lock().unwrap_or_else(PoisonError::into_inner) = Some(lists.clone());
    Ok(Some(lists))
}

impl SqliteStore {
    /// The active snapshot with a matcher over it, built once per snapshot;
    /// `None` when no list was imported.
    pub(crate) fn active_lists(&self) -> Result<Option<ActiveLists>, StoreError> {
        active_lists(self)
    }
}

impl ScreeningBackend for SqliteStore {
    fn tables(&self) -> &'static Jurisdictions {
        self.jurisdictions()
    }

    fn author(&self) -> &str {
        self.actor()
    }

    fn clock(&self) -> Timestamp {
        self.clock_now()
    }

    fn lists_cache(&self) -> &ListsCache {
        &self.lists
    }

    fn reading<T>(
        &self,
        f: impl FnOnce(&mut dyn ScreeningRows) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let out = f(&mut Lite(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    fn writing<T>(
        &self,
        f: impl FnOnce(&mut dyn ScreeningRows) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&mut Lite(&tx))?;
        tx.commit()?;
        Ok(out)
    }
}

/// Screens the accounts `ids` (just created, or whose names changed) inside
/// `tx` against `lists`, recording the run on each ([`screen_accounts_in`]).
pub(crate) fn screen_accounts(
    tx: &rusqlite::Transaction<'_>,
    j: &Jurisdictions,
    ids: &[&str],
    lists: Option<&ActiveLists>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    screen_accounts_in(&mut Lite(tx), j, ids, lists, now)
}

/// Screens the accounts `ids` (just created, or whose names changed) through
/// `rows`, inside the caller's transaction, against `lists`, recording the
/// run on each: a new account is screened when it is created, not at the
/// next list import. Ownership is applied again with every other account's
/// stored hits. Nothing happens without an active snapshot, or when another
/// snapshot became active meanwhile (its import re-screens everyone): the
/// accounts stay unscreened, which is unknown. Returns whether a record was
/// rewritten.
pub(crate) fn screen_accounts_in(
    rows: &mut dyn ScreeningRows,
    j: &Jurisdictions,
    ids: &[&str],
    lists: Option<&ActiveLists>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let Some(lists) = lists else {
        return Ok(false);
    };
    if ids.is_empty() || snapshots::active_id(rows)? != Some(lists.snapshot) {
        return Ok(false);
    }
    let run = Screened {
        snapshot: lists.snapshot.0,
        at: now,
    };
    let ids: HashSet<&str> = ids.iter().copied().collect();
    resolve::screen_accounts(
        rows,
        j,
        &ids,
        &MatcherScreener::new(&lists.screener),
        &run,
        now,
    )
}
