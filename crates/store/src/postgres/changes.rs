//! What every change writes besides itself, in its own transaction: a row
//! in the change journal (the audit log is fed from it, as in SQLite) and
//! a bump of the change counter announced with `NOTIFY`.

use ::postgres::Transaction;
use serde_json::Value;

use super::PostgresStore;
use super::notify::CHANNEL;
use crate::changes::{change_from_raw, details_text};
use crate::{AdminChange, StoreError};

/// Takes the change counter's row lock for the rest of the caller's
/// transaction: changes that read before they write (is this account a
/// member? is this number taken?) then run one at a time, as SQLite's
/// single writer runs them, and each statement after it sees every change
/// committed before.
pub(super) fn serialize(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "SELECT version FROM change_counter WHERE id = 1 FOR UPDATE",
        &[],
    )?;
    Ok(())
}

/// Journals one change inside the caller's transaction.
pub(super) fn record(
    tx: &mut Transaction<'_>,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    details: Value,
) -> Result<(), StoreError> {
    let details = details_text(details)?;
    // The counter's row lock first, held to commit: journal ids are then
    // given in commit order, so a node that has copied through id N never
    // sees a change below N commit after it (see `pending`).
    serialize(tx)?;
    tx.execute(
        "INSERT INTO admin_changes (at, actor, action, subject, details)
         VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        &[&at, &actor, &action, &subject, &details],
    )?;
    Ok(())
}

/// Increases the change counter and sends `NOTIFY` on [`CHANNEL`] with the
/// new version; PostgreSQL delivers it only if the transaction commits.
/// Returns the new version.
pub(super) fn bump(tx: &mut Transaction<'_>) -> Result<i64, StoreError> {
    let version: i64 = tx
        .query_one(
            "UPDATE change_counter SET version = version + 1 WHERE id = 1 RETURNING version",
            &[],
        )?
        .try_get(0)?;
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &version.to_string()],
    )?;
    Ok(version)
}

impl crate::changes::ChangeJournal for PostgresStore {
    /// The changes after this node's cursor: every node copies the whole
    /// journal into its own log, so each log is complete on its own.
    fn pending_changes(&self, limit: usize) -> Result<Vec<AdminChange>, StoreError> {
        let node = self.node()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.client()?.query(
            "SELECT id, at, actor, action, subject, details::text FROM admin_changes
             WHERE id > COALESCE((SELECT through FROM journal_cursors WHERE node = $1), 0)
             ORDER BY id LIMIT $2",
            &[&node, &limit],
        )?;
        rows.into_iter()
            .map(|r| {
                change_from_raw((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                ))
            })
            .collect()
    }

    fn acknowledge_changes(&self, through: u64) -> Result<u64, StoreError> {
        let node = self.node()?;
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        self.write(|tx| {
            let before: i64 = tx
                .query_opt(
                    "SELECT through FROM journal_cursors WHERE node = $1 FOR UPDATE",
                    &[&node],
                )?
                .map(|r| r.try_get(0))
                .transpose()?
                .unwrap_or(0);
            if through <= before {
                return Ok(0);
            }
            let n: i64 = tx
                .query_one(
                    "SELECT count(*) FROM admin_changes WHERE id > $1 AND id <= $2",
                    &[&before, &through],
                )?
                .try_get(0)?;
            tx.execute(
                "INSERT INTO journal_cursors (node, through) VALUES ($1, $2)
                 ON CONFLICT (node) DO UPDATE SET through = $2",
                &[&node, &through],
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}

impl PostgresStore {
    /// Journals an event that has no store change of its own, naming
    /// `actor`, so it reaches every node's audit log as every change does.
    ///
    /// # Errors
    /// Storage failures.
    pub fn journal_as(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: Value,
    ) -> Result<(), StoreError> {
        let now = self.now();
        self.write(|tx| record(tx, &now, actor, action, subject, details))
    }
}
