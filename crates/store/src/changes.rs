//! The change journal: every administrative change, recorded in the same
//! transaction as the change itself.
//!
//! The audit log lives in its own files, and a change to the store cannot be
//! committed atomically with an append to the log. So each change writes a
//! journal row inside its own transaction, and whoever owns the audit log
//! copies pending rows into it and then acknowledges them. A change is thus
//! either absent from the store or on its way into the log; if the copier
//! stops between its append and its acknowledgement the row is copied again,
//! and the log entry's journal id lets a reader recognise the repeat.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use crate::{SqliteStore, StoreError};

/// Who makes changes when nobody says otherwise.
pub const DEFAULT_ACTOR: &str = "cordon";

/// One administrative change waiting to be copied into the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminChange {
    /// Journal id: increasing, never reused.
    pub id: u64,
    /// When the change was committed.
    pub at: Timestamp,
    /// Who made it (an operator name, or `screening` for automatic re-screening).
    pub actor: String,
    /// What happened, e.g. `account.created`, `key.revoked`.
    pub action: String,
    /// What it happened to: an account id, a key prefix, a snapshot id.
    pub subject: String,
    /// The change itself: new values, never key secrets.
    pub details: Map<String, Value>,
}

/// Sets the actor changes are attributed to, unless `actor` is blank.
pub(crate) fn set_actor(current: &mut String, actor: &str) {
    let actor = actor.trim();
    if !actor.is_empty() {
        actor.clone_into(current);
    }
}

/// Records one change inside the caller's transaction.
pub(crate) fn record(
    conn: &Connection,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    details: Value,
) -> Result<(), StoreError> {
    let text = details_text(details)?;
    conn.execute(
        "INSERT INTO admin_changes (at, actor, action, subject, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at, actor, action, subject, text],
    )?;
    Ok(())
}

/// The journal text of a change's details: an object, a non-object value
/// wrapped as `{"value": …}`.
pub(crate) fn details_text(details: Value) -> Result<String, StoreError> {
    let details = match details {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".to_owned(), other);
            m
        }
    };
    serde_json::to_string(&details).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) type RawChange = (i64, String, String, String, String, String);

impl SqliteStore {
    /// Journals an event that has no store change of its own, such as a
    /// decision taken by the command line against this store, so it reaches
    /// the audit log the same way as every change.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn journal(&self, action: &str, subject: &str, details: Value) -> Result<(), StoreError> {
        self.journal_as(self.actor(), action, subject, details)
    }

    /// [`Self::journal`] naming `actor` as who acted, for tools that act
    /// for a person (the console, for its logged-in user).
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn journal_as(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: Value,
    ) -> Result<(), StoreError> {
        let now = self.now();
        record(&self.lock(), &now, actor, action, subject, details)
    }

    /// The oldest `limit` changes not yet acknowledged, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Storage`], or [`StoreError::Corrupt`] for a row that does
    /// not read back.
    pub fn pending_changes(&self, limit: usize) -> Result<Vec<AdminChange>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT id, at, actor, action, subject, details FROM admin_changes ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| TryFrom::try_from(r))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(change_from_raw(r?)?);
        }
        Ok(out)
    }

    /// Forgets every change up to and including journal id `through`, once
    /// they are safely in the audit log. Returns how many were removed.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn acknowledge_changes(&self, through: u64) -> Result<u64, StoreError> {
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let n = self
            .lock()
            .execute("DELETE FROM admin_changes WHERE id <= ?1", [through])?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

pub(crate) fn change_from_raw(
    (id, at, actor, action, subject, details): RawChange,
) -> Result<AdminChange, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("change journal row {id}: {what}"));
    let id = u64::try_from(id).map_err(|_| corrupt("negative id".to_owned()))?;
    let at = at
        .parse()
        .map_err(|e| corrupt(format!("time `{at}`: {e}")))?;
    let details = match serde_json::from_str(&details) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(corrupt("details are not an object".to_owned())),
        Err(e) => return Err(corrupt(e.to_string())),
    };
    Ok(AdminChange {
        id,
        at,
        actor,
        action,
        subject,
        details,
    })
}

#[cfg(test)]
mod tests;

/// Where the audit log's copier reads administrative changes from: the
/// changes not yet in this node's log, oldest first, and a way to say they
/// are.
pub trait ChangeJournal: Send + Sync {
    /// Up to `limit` changes not yet acknowledged, oldest first.
    ///
    /// # Errors
    /// Only storage failures, or [`StoreError::Corrupt`].
    fn pending_changes(&self, limit: usize) -> Result<Vec<AdminChange>, StoreError>;

    /// Marks every change up to id `through` as copied; returns how many
    /// were pending.
    ///
    /// # Errors
    /// Only storage failures.
    fn acknowledge_changes(&self, through: u64) -> Result<u64, StoreError>;
}

impl ChangeJournal for SqliteStore {
    fn pending_changes(&self, limit: usize) -> Result<Vec<AdminChange>, StoreError> {
        SqliteStore::pending_changes(self, limit)
    }

    fn acknowledge_changes(&self, through: u64) -> Result<u64, StoreError> {
        SqliteStore::acknowledge_changes(self, through)
    }
}
