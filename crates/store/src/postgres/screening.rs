//! Restricted-party screening in PostgreSQL: the rows of
//! [`crate::screening`], whose rules (what an import stores, how a hit's
//! status is decided, the 50 percent rule, what is journaled) are shared
//! with SQLite.
//!
//! Every write runs under the change lock ([`changes::serialize`]), taken
//! before anything is read: two nodes importing lists, recording a
//! disposition or adding accounts at once then run one after the other, as
//! SQLite's single writer runs them, and neither decides on rows the other
//! is changing.

use ::postgres::Transaction;
use cordon_jurisdiction::Jurisdictions;
use cordon_subject::RestrictedList;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value};

use super::rows::{Pg, columns};
use super::{PostgresStore, changes};
use crate::StoreError;
use crate::screening::rows::{
    DispositionRow, EntryRow, HIT_COLUMNS, HitRow, NewSnapshot, RawDecision, RawDisposition,
    RawHit, RawSnapshot, ScreeningBackend, ScreeningRows,
};
use crate::screening::{
    self, ActiveLists, Disposition, Hit, ListEntry, ListsCache, ReviewDecision, SavedSnapshot,
    Snapshot, SnapshotId, StoredSnapshot, review, snapshots,
};

/// List entries written per statement: few round trips, bounded statements.
const ENTRY_CHUNK: usize = 2000;

const SNAPSHOT_COLUMNS: &str = "s.id, s.hash, s.published, s.imported_at, s.counts::text, s.sources::text, s.problems, \
     s.id IS NOT DISTINCT FROM (SELECT active_snapshot FROM screening_state WHERE id = 1)";

impl ScreeningRows for Pg<'_, '_> {
    fn snapshots(&mut self, active_only: bool) -> Result<Vec<RawSnapshot>, StoreError> {
        let filter = if active_only {
            "WHERE s.id = (SELECT active_snapshot FROM screening_state WHERE id = 1)"
        } else {
            ""
        };
        self.0
            .query(
                &format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM screening_snapshots s {filter} ORDER BY s.id DESC"
                ),
                &[],
            )?
            .iter()
            .map(columns)
            .collect()
    }

    fn active_snapshot(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        self.0
            .query_opt(
                "SELECT s.id, s.hash FROM screening_snapshots s
                 WHERE s.id = (SELECT active_snapshot FROM screening_state WHERE id = 1)",
                &[],
            )?
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
    }

    fn snapshot_exists(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .0
            .query_opt("SELECT 1 FROM screening_snapshots WHERE id = $1", &[&id])?
            .is_some())
    }

    fn insert_snapshot(&mut self, s: &NewSnapshot<'_>) -> Result<i64, StoreError> {
        Ok(self
            .0
            .query_one(
                "INSERT INTO screening_snapshots (hash, published, imported_at, counts, sources, problems)
                 VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb, $6) RETURNING id",
                &[
                    &s.hash,
                    &s.published,
                    &s.imported_at,
                    &s.counts,
                    &s.sources,
                    &s.problems,
                ],
            )?
            .try_get(0)?)
    }

    fn insert_entries(
        &mut self,
        snapshot: i64,
        entries: &[EntryRow<'_>],
    ) -> Result<(), StoreError> {
        let statement = self.0.prepare(
            "INSERT INTO screening_entries (snapshot, position, list, uid, version, entry)
             SELECT $1, p, l, u, v, e::jsonb
             FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t (p, l, u, v, e)",
        )?;
        let mut position: i64 = 0;
        for chunk in entries.chunks(ENTRY_CHUNK) {
            let mut positions = Vec::with_capacity(chunk.len());
            for _ in chunk {
                positions.push(position);
                position += 1;
            }
            let lists: Vec<&str> = chunk.iter().map(|e| e.list).collect();
            let uids: Vec<&str> = chunk.iter().map(|e| e.uid).collect();
            let versions: Vec<&str> = chunk.iter().map(|e| e.version.as_str()).collect();
            let texts: Vec<&str> = chunk.iter().map(|e| e.entry.as_str()).collect();
            self.0.execute(
                &statement,
                &[&snapshot, &positions, &lists, &uids, &versions, &texts],
            )?;
        }
        Ok(())
    }

    fn entries(&mut self, snapshot: i64) -> Result<Vec<(String, String, String)>, StoreError> {
        self.0
            .query(
                "SELECT list, uid, entry::text FROM screening_entries
                 WHERE snapshot = $1 ORDER BY position",
                &[&snapshot],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    fn set_active(&mut self, id: i64) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE screening_state SET active_snapshot = $1 WHERE id = 1",
            &[&id],
        )?;
        Ok(())
    }

    fn prune(&mut self, keep: i64) -> Result<u64, StoreError> {
        Ok(self.0.execute(
            "DELETE FROM screening_snapshots
             WHERE id NOT IN (SELECT id FROM screening_snapshots ORDER BY id DESC LIMIT $1)
               AND id IS DISTINCT FROM (SELECT active_snapshot FROM screening_state WHERE id = 1)",
            &[&keep],
        )?)
    }

    fn account_exists(&mut self, id: &str) -> Result<bool, StoreError> {
        super::accounts::exists(self.0, id)
    }

    fn subjects(&mut self, affected_only: bool) -> Result<Vec<(String, String)>, StoreError> {
        // The same accounts SQLite's text search finds, asked of the JSON
        // itself: with stored hits, with owners, or with hits in `screening`.
        let sql = if affected_only {
            "SELECT id, subject::text FROM accounts
             WHERE id IN (SELECT account FROM screening_hits)
                OR (subject -> 'organization') ? 'owners'
                OR (subject ? 'screening' AND subject -> 'screening' <> '[]'::jsonb)"
        } else {
            "SELECT id, subject::text FROM accounts"
        };
        self.0.query(sql, &[])?.iter().map(columns).collect()
    }

    fn subject(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        self.0
            .query_opt("SELECT subject::text FROM accounts WHERE id = $1", &[&id])?
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    fn record(&mut self, id: &str) -> Result<Option<Map<String, Value>>, StoreError> {
        crate::evidence::record_of(&mut Pg(self.0), id)
    }

    fn store_record(
        &mut self,
        j: &Jurisdictions,
        id: &str,
        record: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        store_record(self.0, j, id, record, now)
    }

    fn hits(&mut self, account: Option<&str>) -> Result<Vec<RawHit>, StoreError> {
        let select = HIT_COLUMNS.replacen("ownership,", "ownership::text,", 1);
        let order = "ORDER BY account COLLATE \"C\", list COLLATE \"C\", uid COLLATE \"C\"";
        let rows = match account {
            Some(a) => self.0.query(
                &format!("SELECT {select} FROM screening_hits WHERE account = $1 {order}"),
                &[&a],
            )?,
            None => self
                .0
                .query(&format!("SELECT {select} FROM screening_hits {order}"), &[])?,
        };
        rows.iter().map(columns).collect()
    }

    fn delete_hits(&mut self, account: &str) -> Result<(), StoreError> {
        self.0
            .execute("DELETE FROM screening_hits WHERE account = $1", &[&account])?;
        Ok(())
    }

    fn insert_hit(&mut self, h: &HitRow<'_>) -> Result<(), StoreError> {
        self.0.execute(
            &format!(
                "INSERT INTO screening_hits ({HIT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11)"
            ),
            &[
                &h.account,
                &h.list,
                &h.uid,
                &h.entry_version,
                &h.entry_name,
                &h.matched_name,
                &h.matched_by,
                &h.score,
                &h.status,
                &h.ownership,
                &h.first_seen,
            ],
        )?;
        Ok(())
    }

    fn insert_disposition(&mut self, d: &DispositionRow<'_>) -> Result<i64, StoreError> {
        Ok(self
            .0
            .query_one(
                "INSERT INTO screening_dispositions
                 (account, list, uid, entry_version, status, reviewer, note, decided_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                &[
                    &d.account,
                    &d.list,
                    &d.uid,
                    &d.entry_version,
                    &d.status,
                    &d.reviewer,
                    &d.note,
                    &d.decided_at,
                ],
            )?
            .try_get(0)?)
    }

    fn dispositions(&mut self, account: &str) -> Result<Vec<RawDisposition>, StoreError> {
        self.0
            .query(
                "SELECT id, account, list, uid, entry_version, status, reviewer, note, decided_at
                 FROM screening_dispositions WHERE account = $1 ORDER BY id",
                &[&account],
            )?
            .iter()
            .map(columns)
            .collect()
    }

    fn decisions(&mut self) -> Result<Vec<RawDecision>, StoreError> {
        self.0
            .query(
                "SELECT id, account, list, uid, entry_version, status
                 FROM screening_dispositions ORDER BY id",
                &[],
            )?
            .iter()
            .map(columns)
            .collect()
    }

    fn disposition_watermark(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .0
            .query_one(
                "SELECT COALESCE(MAX(id), 0)::bigint FROM screening_dispositions",
                &[],
            )?
            .try_get(0)?)
    }

    fn journal(
        &mut self,
        now: &str,
        actor: &str,
        action: &str,
        subject: &str,
        details: Value,
    ) -> Result<(), StoreError> {
        changes::record(self.0, now, actor, action, subject, details)
    }

    fn bump(&mut self) -> Result<(), StoreError> {
        changes::bump(self.0)?;
        Ok(())
    }
}

/// Stores `record` as the record of `id` and the subject derived from it
/// and the account's evidence (the record itself while it has none), as
/// SQLite's `evidence::store_record` does; returns whether the subject
/// changed. Changing an account's record on PostgreSQL goes through here.
pub(super) fn store_record(
    tx: &mut Transaction<'_>,
    j: &Jurisdictions,
    id: &str,
    record: &Map<String, Value>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let has_record: bool = tx
        .query_opt(
            "SELECT record IS NOT NULL FROM accounts WHERE id = $1",
            &[&id],
        )?
        .ok_or_else(|| StoreError::AccountNotFound { id: id.to_owned() })?
        .try_get(0)?;
    if has_record {
        crate::evidence::write_derived(&mut Pg(tx), j, id, record, now)?;
    } else {
        let text = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "UPDATE accounts SET subject = $2::text::jsonb, updated_at = $3 WHERE id = $1",
            &[&id, &text, &now.to_string()],
        )?;
    }
    Ok(())
}

/// Screens the accounts `ids` (just created, or whose names or screened
/// facts changed) inside `tx` against `lists`, as SQLite does when it adds
/// or changes accounts ([`screening::screen_accounts_in`]). Takes the change
/// lock first, so the active snapshot and the other accounts' hits it reads
/// stay as read until the caller commits. Returns whether a record was
/// rewritten; the caller bumps the change counter.
pub(super) fn screen_accounts(
    tx: &mut Transaction<'_>,
    j: &Jurisdictions,
    ids: &[&str],
    lists: Option<&ActiveLists>,
    now: Timestamp,
) -> Result<bool, StoreError> {
    if lists.is_none() || ids.is_empty() {
        return Ok(false);
    }
    changes::serialize(tx)?;
    screening::screen_accounts_in(&mut Pg(tx), j, ids, lists, now)
}

impl ScreeningBackend for PostgresStore {
    fn tables(&self) -> &'static Jurisdictions {
        self.jurisdictions
    }

    fn author(&self) -> &str {
        &self.actor
    }

    fn clock(&self) -> Timestamp {
        (self.clock)()
    }

    fn lists_cache(&self) -> &ListsCache {
        &self.lists
    }

    fn reading<T>(
        &self,
        f: impl FnOnce(&mut dyn ScreeningRows) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.read(|tx| f(&mut Pg(tx)))
    }

    fn writing<T>(
        &self,
        f: impl FnOnce(&mut dyn ScreeningRows) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write(|tx| {
            changes::serialize(tx)?;
            f(&mut Pg(tx))
        })
    }
}

screening::screening_store!(PostgresStore);

impl PostgresStore {
    /// The active snapshot with a matcher over it, built once per snapshot;
    /// `None` when no list was imported.
    pub(super) fn active_lists(&self) -> Result<Option<ActiveLists>, StoreError> {
        screening::active_lists(self)
    }

    /// Stores a list snapshot and makes it the active one, as
    /// [`SqliteStore::save_snapshot`](crate::SqliteStore::save_snapshot)
    /// does: journaled as `screening.lists_activated`, the change counter
    /// bumped and announced, so every node loads the new lists.
    ///
    /// # Errors
    /// [`StoreError::DuplicateListEntry`]; storage failures.
    pub fn save_snapshot(
        &self,
        snapshot: &Snapshot,
        published: Option<Date>,
        now: Timestamp,
    ) -> Result<SavedSnapshot, StoreError> {
        snapshots::save(self, snapshot, published, now)
    }

    /// The active snapshot, if any list was imported.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn active_snapshot(&self) -> Result<Option<StoredSnapshot>, StoreError> {
        self.reading(snapshots::active)
    }

    /// Every stored snapshot, newest first.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn snapshots(&self) -> Result<Vec<StoredSnapshot>, StoreError> {
        self.reading(snapshots::history)
    }

    /// The entries of a snapshot, in the order they were saved.
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`]; [`StoreError::Corrupt`] if a stored
    /// entry no longer reads back.
    pub fn snapshot_entries(&self, id: SnapshotId) -> Result<Vec<ListEntry>, StoreError> {
        self.reading(|rows| snapshots::entries(rows, id))
    }

    /// Makes a stored snapshot the active one again (to roll back an import).
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`]; storage failures.
    pub fn activate_snapshot(&self, id: SnapshotId) -> Result<(), StoreError> {
        snapshots::activate(self, id)
    }

    /// Deletes all but the newest `keep` snapshots (the active one is always
    /// kept), with their entries; returns how many were deleted.
    ///
    /// # Errors
    /// Storage failures.
    pub fn prune_snapshots(&self, keep: usize) -> Result<u64, StoreError> {
        snapshots::prune(self, keep)
    }

    /// Records a reviewer's decision on an account's current hit, as
    /// [`SqliteStore::set_disposition`](crate::SqliteStore::set_disposition)
    /// does: kept against the entry's version, the attributes it changes
    /// written, journaled and announced in one transaction.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`], [`StoreError::HitNotFound`],
    /// [`StoreError::DerivedHit`], [`StoreError::InvalidDisposition`];
    /// storage failures.
    #[expect(clippy::too_many_arguments, reason = "one argument per recorded field")]
    pub fn set_disposition(
        &self,
        account: &str,
        list: RestrictedList,
        uid: &str,
        decision: ReviewDecision,
        reviewer: &str,
        note: Option<&str>,
        now: Timestamp,
    ) -> Result<Disposition, StoreError> {
        let j = self.jurisdictions;
        self.writing(|rows| review::set(rows, j, account, list, uid, decision, reviewer, note, now))
    }

    /// Every disposition recorded for an account, oldest first, each marked
    /// with whether it decides the current hit.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; storage failures.
    pub fn dispositions(&self, account: &str) -> Result<Vec<Disposition>, StoreError> {
        self.reading(|rows| review::of_account(rows, account))
    }

    /// The current hits of an account, by list and entry id, owners' hits included.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; storage failures.
    pub fn hits(&self, account: &str) -> Result<Vec<Hit>, StoreError> {
        self.reading(|rows| review::hits_of(rows, account))
    }

    /// Every hit awaiting a reviewer; hits of the ownership rules are left out.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn pending_hits(&self) -> Result<Vec<Hit>, StoreError> {
        self.reading(review::pending)
    }
}
