//! Stored list snapshots: their entries, history and the active one.

use std::collections::{BTreeMap, HashSet};

use cordon_subject::RestrictedList;
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use super::{ListEntry, SavedSnapshot, Snapshot, SnapshotId, StoredSnapshot};
use crate::{SqliteStore, StoreError};

const SNAPSHOT_COLUMNS: &str = "s.id, s.hash, s.published, s.imported_at, s.counts, s.sources, s.problems, \
     s.id IS (SELECT active_snapshot FROM screening_state WHERE id = 1)";

/// A snapshot row before its text columns are checked.
type RawSnapshot = (
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    bool,
);

impl SqliteStore {
    /// Stores a list snapshot (its entries, sources, problem count and content
    /// hash) and makes it the active one.
    ///
    /// If its content hash equals the active snapshot's, nothing is stored and
    /// the active id is returned with `unchanged` set. `published` is the lists'
    /// publication date when the source gives one.
    ///
    /// # Errors
    /// [`StoreError::DuplicateListEntry`] if two entries share a list and id;
    /// [`StoreError::Storage`].
    pub fn save_snapshot(
        &self,
        snapshot: &Snapshot,
        published: Option<Date>,
        now: Timestamp,
    ) -> Result<SavedSnapshot, StoreError> {
        let mut counts: BTreeMap<RestrictedList, u64> = BTreeMap::new();
        let mut seen: HashSet<(RestrictedList, &str)> = HashSet::new();
        for e in &snapshot.entries {
            if !seen.insert((e.list, e.uid.as_str())) {
                return Err(StoreError::DuplicateListEntry {
                    list: e.list.code().to_owned(),
                    uid: e.uid.clone(),
                });
            }
            *counts.entry(e.list).or_default() += 1;
        }
        let counts = json_text(&counts)?;
        let sources = json_text(&snapshot.sources)?;
        let problems = i64::try_from(snapshot.problems.len()).unwrap_or(i64::MAX);

        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(active) = active_row(&tx)?
            && active.1 == snapshot.content_hash
        {
            return Ok(SavedSnapshot {
                id: SnapshotId(active.0),
                unchanged: true,
            });
        }
        tx.execute(
            "INSERT INTO screening_snapshots (hash, published, imported_at, counts, sources, problems)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                snapshot.content_hash,
                published.map(|d| d.to_string()),
                now.to_string(),
                counts,
                sources,
                problems
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx.prepare(
                "INSERT INTO screening_entries (snapshot, list, uid, version, entry)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in &snapshot.entries {
                insert.execute(params![
                    id,
                    e.list.code(),
                    e.uid,
                    e.version_hex(),
                    json_text(e)?
                ])?;
            }
        }
        tx.execute(
            "UPDATE screening_state SET active_snapshot = ?1 WHERE id = 1",
            [id],
        )?;
        crate::changes::record(
            &tx,
            &now.to_string(),
            self.actor(),
            "screening.lists_activated",
            &id.to_string(),
            serde_json::json!({
                "hash": snapshot.content_hash,
                "counts": serde_json::from_str::<serde_json::Value>(&counts)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            }),
        )?;
        tx.commit()?;
        Ok(SavedSnapshot {
            id: SnapshotId(id),
            unchanged: false,
        })
    }

    /// The active snapshot, if any list was imported.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn active_snapshot(&self) -> Result<Option<StoredSnapshot>, StoreError> {
        let conn = self.lock();
        conn.query_row(
            &format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM screening_snapshots s
                 WHERE s.id = (SELECT active_snapshot FROM screening_state WHERE id = 1)"
            ),
            [],
            raw_snapshot,
        )
        .optional()?
        .map(snapshot_from_raw)
        .transpose()
    }

    /// Every stored snapshot, newest first.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn snapshots(&self) -> Result<Vec<StoredSnapshot>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM screening_snapshots s ORDER BY s.id DESC"
        ))?;
        let rows = stmt.query_map([], raw_snapshot)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(snapshot_from_raw(r?)?);
        }
        Ok(out)
    }

    /// The entries of a snapshot, in the order they were saved.
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`]; [`StoreError::Corrupt`] if a stored
    /// entry no longer reads back.
    pub fn snapshot_entries(&self, id: SnapshotId) -> Result<Vec<ListEntry>, StoreError> {
        let conn = self.lock();
        if !snapshot_exists(&conn, id)? {
            return Err(StoreError::SnapshotNotFound { id: id.0 });
        }
        let mut stmt = conn.prepare(
            "SELECT list, uid, entry FROM screening_entries WHERE snapshot = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([id.0], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (list, uid, text) = r?;
            let entry: ListEntry = serde_json::from_str(&text).map_err(|e| {
                StoreError::Corrupt(format!(
                    "snapshot {id} entry `{uid}` on `{list}` does not read back: {e}"
                ))
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    /// Makes a stored snapshot the active one again (to roll back an import).
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`].
    pub fn activate_snapshot(&self, id: SnapshotId) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !snapshot_exists(&tx, id)? {
            return Err(StoreError::SnapshotNotFound { id: id.0 });
        }
        tx.execute(
            "UPDATE screening_state SET active_snapshot = ?1 WHERE id = 1",
            [id.0],
        )?;
        crate::changes::record(
            &tx,
            &self.now(),
            self.actor(),
            "screening.lists_activated",
            &id.0.to_string(),
            serde_json::json!({}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes all but the newest `keep` snapshots (the active one is always
    /// kept), with their entries. Hits and dispositions refer to entry
    /// versions, not snapshots, so they are unaffected.
    ///
    /// Returns how many snapshots were deleted.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn prune_snapshots(&self, keep: usize) -> Result<u64, StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute(
            "DELETE FROM screening_snapshots
             WHERE id NOT IN (SELECT id FROM screening_snapshots ORDER BY id DESC LIMIT ?1)
               AND id IS NOT (SELECT active_snapshot FROM screening_state WHERE id = 1)",
            [keep],
        )?;
        tx.commit()?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

/// The active snapshot's id, if any.
pub(super) fn active_id(conn: &Connection) -> Result<Option<SnapshotId>, StoreError> {
    Ok(active_row(conn)?.map(|(id, _)| SnapshotId(id)))
}

fn active_row(conn: &Connection) -> Result<Option<(i64, String)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT s.id, s.hash FROM screening_snapshots s
             WHERE s.id = (SELECT active_snapshot FROM screening_state WHERE id = 1)",
            [],
            |r| TryFrom::try_from(r),
        )
        .optional()?)
}

fn snapshot_exists(conn: &Connection, id: SnapshotId) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM screening_snapshots WHERE id = ?1",
            [id.0],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn raw_snapshot(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSnapshot> {
    TryFrom::try_from(r)
}

fn snapshot_from_raw(
    (id, hash, published, imported_at, counts, sources, problems, active): RawSnapshot,
) -> Result<StoredSnapshot, StoreError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("snapshot {id}: {what}: {e}"))
    };
    Ok(StoredSnapshot {
        id: SnapshotId(id),
        hash,
        published: published
            .map(|p| p.parse::<Date>().map_err(|e| corrupt("published", &e)))
            .transpose()?,
        imported_at: imported_at
            .parse()
            .map_err(|e| corrupt("imported_at", &e))?,
        counts: serde_json::from_str(&counts).map_err(|e| corrupt("counts", &e))?,
        sources: serde_json::from_str::<Value>(&sources).map_err(|e| corrupt("sources", &e))?,
        problems: u64::try_from(problems).map_err(|e| corrupt("problems", &e))?,
        active,
    })
}
