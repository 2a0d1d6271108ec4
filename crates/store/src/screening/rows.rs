//! What screening needs from a backend: the rows it reads and writes inside
//! one of the backend's transactions ([`ScreeningRows`]), and the
//! transactions themselves ([`ScreeningBackend`]). The rules (what a
//! snapshot import stores, how a hit's status is decided, what is
//! journaled) are the functions of the sibling modules, written once over
//! these traits; SQLite's rows are here, PostgreSQL's in
//! `crate::postgres::screening`.

use cordon_jurisdiction::Jurisdictions;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::ListsCache;
use crate::StoreError;

/// A snapshot row before its text columns are checked: id, hash, published,
/// imported_at, counts, sources, problems, and whether it is the active one.
pub(crate) type RawSnapshot = (
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    bool,
);

/// A hit row before its text columns are checked, in [`HIT_COLUMNS`] order.
pub(crate) type RawHit = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    f64,
    String,
    Option<String>,
    String,
);

/// A disposition row before its text columns are checked: id, account,
/// list, uid, entry_version, status, reviewer, note, decided_at.
pub(crate) type RawDisposition = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
);

/// The latest-decision view of a disposition row: id, account, list, uid,
/// entry_version, status.
pub(crate) type RawDecision = (i64, String, String, String, String, String);

/// The columns of a hit, in [`RawHit`] order.
pub(crate) const HIT_COLUMNS: &str = "account, list, uid, entry_version, entry_name, matched_name, matched_by, \
     score, status, ownership, first_seen";

/// A snapshot to store, its JSON columns already as text.
#[derive(Debug)]
pub(crate) struct NewSnapshot<'a> {
    pub(crate) hash: &'a str,
    pub(crate) published: Option<String>,
    pub(crate) imported_at: String,
    pub(crate) counts: String,
    pub(crate) sources: String,
    pub(crate) problems: i64,
}

/// One list entry to store with its snapshot, in the snapshot's order.
#[derive(Debug)]
pub(crate) struct EntryRow<'a> {
    pub(crate) list: &'static str,
    pub(crate) uid: &'a str,
    pub(crate) version: String,
    /// The entry as JSON text.
    pub(crate) entry: String,
}

/// One hit to store, its columns as text.
#[derive(Debug)]
pub(crate) struct HitRow<'a> {
    pub(crate) account: &'a str,
    pub(crate) list: &'static str,
    pub(crate) uid: &'a str,
    pub(crate) entry_version: &'a str,
    pub(crate) entry_name: &'a str,
    pub(crate) matched_name: &'a str,
    pub(crate) matched_by: String,
    pub(crate) score: f64,
    pub(crate) status: &'static str,
    pub(crate) ownership: Option<String>,
    pub(crate) first_seen: String,
}

/// One disposition to store.
#[derive(Debug)]
pub(crate) struct DispositionRow<'a> {
    pub(crate) account: &'a str,
    pub(crate) list: &'static str,
    pub(crate) uid: &'a str,
    pub(crate) entry_version: &'a str,
    pub(crate) status: &'static str,
    pub(crate) reviewer: &'a str,
    pub(crate) note: Option<&'a str>,
    pub(crate) decided_at: String,
}

/// The rows of screening, inside one transaction of a backend. Text is
/// ordered bytewise wherever an order is asked for, as SQLite orders it.
pub(crate) trait ScreeningRows {
    /// Every snapshot, newest first, or only the active one.
    fn snapshots(&mut self, active_only: bool) -> Result<Vec<RawSnapshot>, StoreError>;
    /// The active snapshot's id and content hash.
    fn active_snapshot(&mut self) -> Result<Option<(i64, String)>, StoreError>;
    /// Whether snapshot `id` is stored.
    fn snapshot_exists(&mut self, id: i64) -> Result<bool, StoreError>;
    /// Stores a snapshot without entries; returns its new id.
    fn insert_snapshot(&mut self, s: &NewSnapshot<'_>) -> Result<i64, StoreError>;
    /// Stores the entries of snapshot `snapshot`, keeping their order.
    fn insert_entries(&mut self, snapshot: i64, entries: &[EntryRow<'_>])
    -> Result<(), StoreError>;
    /// The entries of snapshot `snapshot` as (list, uid, entry text), in the
    /// order they were stored.
    fn entries(&mut self, snapshot: i64) -> Result<Vec<(String, String, String)>, StoreError>;
    /// Makes snapshot `id` the active one.
    fn set_active(&mut self, id: i64) -> Result<(), StoreError>;
    /// Deletes all but the newest `keep` snapshots and the active one;
    /// returns how many were deleted.
    fn prune(&mut self, keep: i64) -> Result<u64, StoreError>;
    /// Whether account `id` exists.
    fn account_exists(&mut self, id: &str) -> Result<bool, StoreError>;
    /// (id, subject text) of every account, or only of those a disposition
    /// can change: with stored hits, recorded owners, or hits in their
    /// `screening` attribute. A backend may return more than those.
    fn subjects(&mut self, affected_only: bool) -> Result<Vec<(String, String)>, StoreError>;
    /// The subject text of account `id`.
    fn subject(&mut self, id: &str) -> Result<Option<String>, StoreError>;
    /// The record of `id` (what staff and imports wrote).
    fn record(&mut self, id: &str) -> Result<Option<Map<String, Value>>, StoreError>;
    /// Stores `record` as the record of `id` and derives its subject again.
    fn store_record(
        &mut self,
        j: &Jurisdictions,
        id: &str,
        record: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// The hits of one account, or of all, by account, list and uid.
    fn hits(&mut self, account: Option<&str>) -> Result<Vec<RawHit>, StoreError>;
    /// Deletes every hit of `account`.
    fn delete_hits(&mut self, account: &str) -> Result<(), StoreError>;
    /// Stores one hit.
    fn insert_hit(&mut self, h: &HitRow<'_>) -> Result<(), StoreError>;
    /// Stores one disposition; returns its id, above every earlier one.
    fn insert_disposition(&mut self, d: &DispositionRow<'_>) -> Result<i64, StoreError>;
    /// Every disposition of `account`, oldest first.
    fn dispositions(&mut self, account: &str) -> Result<Vec<RawDisposition>, StoreError>;
    /// Every disposition, oldest first.
    fn decisions(&mut self) -> Result<Vec<RawDecision>, StoreError>;
    /// The highest disposition id, 0 when none.
    fn disposition_watermark(&mut self) -> Result<i64, StoreError>;
    /// Journals one change.
    fn journal(
        &mut self,
        now: &str,
        actor: &str,
        action: &str,
        subject: &str,
        details: Value,
    ) -> Result<(), StoreError>;
    /// Bumps the change counter, so running gateways read again.
    fn bump(&mut self) -> Result<(), StoreError>;
}

/// A store screening runs on: its transactions over [`ScreeningRows`].
pub(crate) trait ScreeningBackend {
    /// The country and region tables subjects are validated against.
    fn tables(&self) -> &'static Jurisdictions;
    /// Who changes made through the handle are attributed to.
    fn author(&self) -> &str;
    /// The store's clock.
    fn clock(&self) -> Timestamp;
    /// The matcher of the last active snapshot used.
    fn lists_cache(&self) -> &ListsCache;
    /// Runs the reads of `f` in one transaction that sees one state of the store.
    fn reading<T>(
        &self,
        f: impl FnOnce(&mut dyn ScreeningRows) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
    /// Runs `f` in one write transaction, one writer at a time, so what `f`
    /// reads is still so when it writes; commits if `f` succeeds.
    fn writing<T>(
        &self,
        f: impl FnOnce(&mut dyn ScreeningRows) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
}

/// The SQLite rows of screening, on the caller's connection or transaction.
pub(crate) struct Lite<'a>(pub(crate) &'a Connection);

const SNAPSHOT_COLUMNS: &str = "s.id, s.hash, s.published, s.imported_at, s.counts, s.sources, s.problems, \
     s.id IS (SELECT active_snapshot FROM screening_state WHERE id = 1)";

impl ScreeningRows for Lite<'_> {
    fn snapshots(&mut self, active_only: bool) -> Result<Vec<RawSnapshot>, StoreError> {
        let filter = if active_only {
            "WHERE s.id = (SELECT active_snapshot FROM screening_state WHERE id = 1)"
        } else {
            ""
        };
        let mut stmt = self.0.prepare(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM screening_snapshots s {filter} ORDER BY s.id DESC"
        ))?;
        let rows = stmt.query_map([], |r| TryFrom::try_from(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn active_snapshot(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT s.id, s.hash FROM screening_snapshots s
                 WHERE s.id = (SELECT active_snapshot FROM screening_state WHERE id = 1)",
                [],
                |r| TryFrom::try_from(r),
            )
            .optional()?)
    }

    fn snapshot_exists(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT 1 FROM screening_snapshots WHERE id = ?1",
                [id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn insert_snapshot(&mut self, s: &NewSnapshot<'_>) -> Result<i64, StoreError> {
        self.0.execute(
            "INSERT INTO screening_snapshots (hash, published, imported_at, counts, sources, problems)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                s.hash,
                s.published,
                s.imported_at,
                s.counts,
                s.sources,
                s.problems
            ],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    fn insert_entries(
        &mut self,
        snapshot: i64,
        entries: &[EntryRow<'_>],
    ) -> Result<(), StoreError> {
        let mut insert = self.0.prepare(
            "INSERT INTO screening_entries (snapshot, list, uid, version, entry)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for e in entries {
            insert.execute(params![snapshot, e.list, e.uid, e.version, e.entry])?;
        }
        Ok(())
    }

    fn entries(&mut self, snapshot: i64) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self.0.prepare(
            "SELECT list, uid, entry FROM screening_entries WHERE snapshot = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([snapshot], |r| TryFrom::try_from(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_active(&mut self, id: i64) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE screening_state SET active_snapshot = ?1 WHERE id = 1",
            [id],
        )?;
        Ok(())
    }

    fn prune(&mut self, keep: i64) -> Result<u64, StoreError> {
        let n = self.0.execute(
            "DELETE FROM screening_snapshots
             WHERE id NOT IN (SELECT id FROM screening_snapshots ORDER BY id DESC LIMIT ?1)
               AND id IS NOT (SELECT active_snapshot FROM screening_state WHERE id = 1)",
            [keep],
        )?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn account_exists(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .0
            .query_row("SELECT 1 FROM accounts WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn subjects(&mut self, affected_only: bool) -> Result<Vec<(String, String)>, StoreError> {
        let sql = if affected_only {
            // `instr` rather than `json_type`: it does not parse every record, and
            // a record that only mentions "owners" in a name is read for nothing.
            // Records are stored compact, so `"screening":[]` is an account
            // screened with no hit; any other spelling is merely read too.
            "SELECT id, subject FROM accounts
             WHERE id IN (SELECT account FROM screening_hits)
                OR instr(subject, '\"owners\"') > 0
                OR (instr(subject, '\"screening\"') > 0
                    AND instr(subject, '\"screening\":[]') = 0)
             ORDER BY id"
        } else {
            "SELECT id, subject FROM accounts ORDER BY id"
        };
        let mut stmt = self.0.prepare(sql)?;
        let rows = stmt.query_map([], |r| TryFrom::try_from(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn subject(&mut self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .query_row("SELECT subject FROM accounts WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn record(&mut self, id: &str) -> Result<Option<Map<String, Value>>, StoreError> {
        crate::evidence::read_record(self.0, id)
    }

    fn store_record(
        &mut self,
        j: &Jurisdictions,
        id: &str,
        record: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        crate::evidence::store_record(self.0, j, id, record, now)?;
        Ok(())
    }

    fn hits(&mut self, account: Option<&str>) -> Result<Vec<RawHit>, StoreError> {
        let sql = match account {
            Some(_) => format!(
                "SELECT {HIT_COLUMNS} FROM screening_hits WHERE account = ?1 ORDER BY account, list, uid"
            ),
            None => format!("SELECT {HIT_COLUMNS} FROM screening_hits ORDER BY account, list, uid"),
        };
        let mut stmt = self.0.prepare_cached(&sql)?;
        let raw = |r: &rusqlite::Row<'_>| -> rusqlite::Result<RawHit> { TryFrom::try_from(r) };
        Ok(match account {
            Some(a) => stmt.query_map([a], raw)?.collect::<Result<Vec<_>, _>>()?,
            None => stmt.query_map([], raw)?.collect::<Result<Vec<_>, _>>()?,
        })
    }

    fn delete_hits(&mut self, account: &str) -> Result<(), StoreError> {
        self.0
            .execute("DELETE FROM screening_hits WHERE account = ?1", [account])?;
        Ok(())
    }

    fn insert_hit(&mut self, h: &HitRow<'_>) -> Result<(), StoreError> {
        self.0
            .prepare_cached(&format!(
                "INSERT INTO screening_hits ({HIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))?
            .execute(params![
                h.account,
                h.list,
                h.uid,
                h.entry_version,
                h.entry_name,
                h.matched_name,
                h.matched_by,
                h.score,
                h.status,
                h.ownership,
                h.first_seen
            ])?;
        Ok(())
    }

    fn insert_disposition(&mut self, d: &DispositionRow<'_>) -> Result<i64, StoreError> {
        self.0.execute(
            "INSERT INTO screening_dispositions
             (account, list, uid, entry_version, status, reviewer, note, decided_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                d.account,
                d.list,
                d.uid,
                d.entry_version,
                d.status,
                d.reviewer,
                d.note,
                d.decided_at
            ],
        )?;
        Ok(self.0.last_insert_rowid())
    }

    fn dispositions(&mut self, account: &str) -> Result<Vec<RawDisposition>, StoreError> {
        let mut stmt = self.0.prepare(
            "SELECT id, account, list, uid, entry_version, status, reviewer, note, decided_at
             FROM screening_dispositions WHERE account = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([account], |r| TryFrom::try_from(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn decisions(&mut self) -> Result<Vec<RawDecision>, StoreError> {
        let mut stmt = self.0.prepare(
            "SELECT id, account, list, uid, entry_version, status FROM screening_dispositions ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| TryFrom::try_from(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn disposition_watermark(&mut self) -> Result<i64, StoreError> {
        Ok(self.0.query_row(
            "SELECT COALESCE(MAX(id), 0) FROM screening_dispositions",
            [],
            |r| r.get(0),
        )?)
    }

    fn journal(
        &mut self,
        now: &str,
        actor: &str,
        action: &str,
        subject: &str,
        details: Value,
    ) -> Result<(), StoreError> {
        crate::changes::record(self.0, now, actor, action, subject, details)
    }

    fn bump(&mut self) -> Result<(), StoreError> {
        crate::sqlite::bump(self.0)
    }
}
