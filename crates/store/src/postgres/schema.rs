//! The PostgreSQL schema: applies the PostgreSQL text of the shared
//! migrations ([`crate::migrations`]) and checks that a database has them.
//!
//! Applied steps are recorded by number in `schema_migrations`, so a step
//! ported to PostgreSQL after a later one was applied is still applied
//! (the list may have gaps while steps are being ported).

use std::collections::BTreeSet;

use ::postgres::{Client, GenericClient};

use crate::StoreError;
use crate::migrations::MIGRATIONS;

/// The advisory lock migrations take, so that nodes started together
/// migrate one after another ("cordon" in ASCII).
const MIGRATION_LOCK: i64 = 0x636f_7264_6f6e;

/// What [`PostgresStore::migrate`](super::PostgresStore::migrate) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// The migrations applied now, as (version, what it adds), oldest first;
    /// empty if the database was already up to date.
    pub applied: Vec<(i64, &'static str)>,
    /// The newest migration the database has now.
    pub version: i64,
}

/// The steps PostgreSQL has: (version, name, SQL).
fn steps() -> impl Iterator<Item = (i64, &'static str, &'static str)> {
    MIGRATIONS
        .iter()
        .filter_map(|m| m.postgres.map(|sql| (m.version, m.name, sql)))
}

/// The newest step this build knows for any backend.
fn newest_known() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Applies the missing steps in one transaction, under the advisory lock.
pub(super) fn migrate(client: &mut Client, now: &str) -> Result<Migrated, StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version     BIGINT PRIMARY KEY NOT NULL,
            name        TEXT NOT NULL,
            applied_at  TEXT NOT NULL
        )",
    )?;
    let done = applied(&mut tx)?;
    refuse_newer(&done)?;
    let mut out = Vec::new();
    for (version, name, sql) in steps().filter(|(v, _, _)| !done.contains(v)) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&version, &name, &now],
        )?;
        out.push((version, name));
    }
    let version = applied(&mut tx)?.last().copied().unwrap_or(0);
    tx.commit()?;
    Ok(Migrated {
        applied: out,
        version,
    })
}

/// Checks that every step this build needs is applied and none is newer.
pub(super) fn check(client: &mut Client) -> Result<(), StoreError> {
    let done = applied(client)?;
    refuse_newer(&done)?;
    let missing: Vec<String> = steps()
        .filter(|(v, _, _)| !done.contains(v))
        .map(|(v, _, _)| v.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::SchemaBehind {
            missing: missing.join(", "),
        })
    }
}

/// The versions recorded as applied; none if the record table is missing.
fn applied(client: &mut impl GenericClient) -> Result<BTreeSet<i64>, StoreError> {
    let exists = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])?
        .try_get::<_, bool>(0)?;
    if !exists {
        return Ok(BTreeSet::new());
    }
    client
        .query("SELECT version FROM schema_migrations", &[])?
        .iter()
        .map(|r| r.try_get::<_, i64>(0).map_err(StoreError::from))
        .collect()
}

fn refuse_newer(done: &BTreeSet<i64>) -> Result<(), StoreError> {
    match done.last() {
        Some(&found) if found > newest_known() => Err(StoreError::SchemaTooNew {
            found,
            supported: newest_known(),
        }),
        _ => Ok(()),
    }
}
