//! The SQLite schema and its migrations.
//!
//! Each migration runs once, in order, inside one transaction with the record
//! of it in `schema_migrations`; `PRAGMA user_version` mirrors the newest.

use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// One schema change.
struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "accounts, api keys and the change counter",
    sql: "
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 64),
    subject     TEXT NOT NULL CHECK (json_valid(subject) AND json_type(subject) = 'object'),
    disabled    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE api_keys (
    prefix       TEXT PRIMARY KEY NOT NULL CHECK (length(prefix) = 8),
    account      TEXT NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    secret_hash  BLOB NOT NULL CHECK (length(secret_hash) = 32),
    label        TEXT,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
) STRICT;

CREATE INDEX api_keys_by_account ON api_keys (account);

CREATE TABLE change_counter (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
) STRICT;

INSERT INTO change_counter (id, version) VALUES (1, 0);
",
}];

/// The newest schema version this build knows.
pub(crate) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Creates the schema on first start and applies any missing migrations.
pub(crate) fn migrate(conn: &mut Connection, now: Timestamp) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version     INTEGER PRIMARY KEY NOT NULL,
            name        TEXT NOT NULL,
            applied_at  TEXT NOT NULL
        ) STRICT;",
    )?;
    let current = current(&tx)?;
    if current > latest() {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: latest(),
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, now.to_string()],
        )?;
    }
    tx.pragma_update(None, "user_version", latest())?;
    tx.commit()?;
    Ok(())
}

/// The schema version recorded in the database.
pub(crate) fn current(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}
