//! What every change writes besides itself, in its own transaction: a row
//! in the change journal (the audit log is fed from it, as in SQLite) and
//! a bump of the change counter announced with `NOTIFY`.

use ::postgres::Transaction;
use serde_json::Value;

use super::notify::CHANNEL;
use crate::StoreError;
use crate::changes::details_text;

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
