//! Stored list snapshots: their entries, history and the active one.
//!
//! The functions here are the rules of both backends; the `SqliteStore`
//! methods at the end run them in SQLite's transactions.

use std::collections::{BTreeMap, HashSet};

use cordon_subject::RestrictedList;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::Value;

use super::rows::{EntryRow, NewSnapshot, RawSnapshot, ScreeningBackend, ScreeningRows};
use super::{ListEntry, SavedSnapshot, Snapshot, SnapshotId, StoredSnapshot};
use crate::{SqliteStore, StoreError};

/// Stores `snapshot` and makes it the active one, unless its content hash
/// is the active snapshot's ([`SqliteStore::save_snapshot`]).
pub(crate) fn save(
    store: &impl ScreeningBackend,
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
    let counts_value = serde_json::to_value(&counts).map_err(corrupt_json)?;
    let row = NewSnapshot {
        hash: &snapshot.content_hash,
        published: published.map(|d| d.to_string()),
        imported_at: now.to_string(),
        counts: json_text(&counts)?,
        sources: json_text(&snapshot.sources)?,
        problems: i64::try_from(snapshot.problems.len()).unwrap_or(i64::MAX),
    };
    let entries = snapshot
        .entries
        .iter()
        .map(|e| {
            Ok(EntryRow {
                list: e.list.code(),
                uid: &e.uid,
                version: e.version_hex(),
                entry: json_text(e)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    store.writing(|rows| {
        if let Some((id, hash)) = rows.active_snapshot()?
            && hash == snapshot.content_hash
        {
            return Ok(SavedSnapshot {
                id: SnapshotId(id),
                unchanged: true,
            });
        }
        let id = rows.insert_snapshot(&row)?;
        rows.insert_entries(id, &entries)?;
        rows.set_active(id)?;
        rows.journal(
            &now.to_string(),
            store.author(),
            "screening.lists_activated",
            &id.to_string(),
            serde_json::json!({
                "hash": snapshot.content_hash,
                "counts": counts_value,
            }),
        )?;
        // Nodes hear of the new lists at once; the re-screen that follows
        // bumps again for the records it changes.
        rows.bump()?;
        Ok(SavedSnapshot {
            id: SnapshotId(id),
            unchanged: false,
        })
    })
}

/// The active snapshot, if any list was imported.
pub(crate) fn active(rows: &mut dyn ScreeningRows) -> Result<Option<StoredSnapshot>, StoreError> {
    rows.snapshots(true)?
        .into_iter()
        .next()
        .map(snapshot_from_raw)
        .transpose()
}

/// Every stored snapshot, newest first.
pub(crate) fn history(rows: &mut dyn ScreeningRows) -> Result<Vec<StoredSnapshot>, StoreError> {
    rows.snapshots(false)?
        .into_iter()
        .map(snapshot_from_raw)
        .collect()
}

/// The entries of snapshot `id`, in the order they were saved.
pub(crate) fn entries(
    rows: &mut dyn ScreeningRows,
    id: SnapshotId,
) -> Result<Vec<ListEntry>, StoreError> {
    if !rows.snapshot_exists(id.0)? {
        return Err(StoreError::SnapshotNotFound { id: id.0 });
    }
    rows.entries(id.0)?
        .into_iter()
        .map(|(list, uid, text)| {
            serde_json::from_str(&text).map_err(|e| {
                StoreError::Corrupt(format!(
                    "snapshot {id} entry `{uid}` on `{list}` does not read back: {e}"
                ))
            })
        })
        .collect()
}

/// Makes stored snapshot `id` the active one again.
pub(crate) fn activate(store: &impl ScreeningBackend, id: SnapshotId) -> Result<(), StoreError> {
    let now = store.clock().to_string();
    store.writing(|rows| {
        if !rows.snapshot_exists(id.0)? {
            return Err(StoreError::SnapshotNotFound { id: id.0 });
        }
        rows.set_active(id.0)?;
        rows.journal(
            &now,
            store.author(),
            "screening.lists_activated",
            &id.0.to_string(),
            serde_json::json!({}),
        )?;
        rows.bump()
    })
}

/// Deletes all but the newest `keep` snapshots and the active one.
pub(crate) fn prune(store: &impl ScreeningBackend, keep: usize) -> Result<u64, StoreError> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    store.writing(|rows| rows.prune(keep))
}

/// The active snapshot's id, if any.
pub(crate) fn active_id(rows: &mut dyn ScreeningRows) -> Result<Option<SnapshotId>, StoreError> {
    Ok(rows.active_snapshot()?.map(|(id, _)| SnapshotId(id)))
}

impl SqliteStore {
    /// Stores a list snapshot (its entries, sources, problem count and content
    /// hash) and makes it the active one, journaled as
    /// `screening.lists_activated`; the change counter is bumped so running
    /// gateways load the new lists.
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
        save(self, snapshot, published, now)
    }

    /// The active snapshot, if any list was imported.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn active_snapshot(&self) -> Result<Option<StoredSnapshot>, StoreError> {
        self.reading(active)
    }

    /// Every stored snapshot, newest first.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn snapshots(&self) -> Result<Vec<StoredSnapshot>, StoreError> {
        self.reading(history)
    }

    /// The entries of a snapshot, in the order they were saved.
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`]; [`StoreError::Corrupt`] if a stored
    /// entry no longer reads back.
    pub fn snapshot_entries(&self, id: SnapshotId) -> Result<Vec<ListEntry>, StoreError> {
        self.reading(|rows| entries(rows, id))
    }

    /// Makes a stored snapshot the active one again (to roll back an import).
    ///
    /// # Errors
    /// [`StoreError::SnapshotNotFound`].
    pub fn activate_snapshot(&self, id: SnapshotId) -> Result<(), StoreError> {
        activate(self, id)
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
        prune(self, keep)
    }
}

fn corrupt_json(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(corrupt_json)
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
