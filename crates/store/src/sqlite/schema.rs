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

const MIGRATIONS: &[Migration] = &[
    Migration {
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
    },
    Migration {
        version: 2,
        name: "screening: list snapshots, dispositions and hits",
        sql: "
CREATE TABLE screening_snapshots (
    id           INTEGER PRIMARY KEY,
    hash         TEXT NOT NULL CHECK (length(hash) > 0),
    published    TEXT,
    imported_at  TEXT NOT NULL,
    counts       TEXT NOT NULL CHECK (json_valid(counts) AND json_type(counts) = 'object'),
    sources      TEXT NOT NULL CHECK (json_valid(sources)),
    problems     INTEGER NOT NULL CHECK (problems >= 0)
) STRICT;

CREATE TABLE screening_entries (
    snapshot  INTEGER NOT NULL REFERENCES screening_snapshots (id) ON DELETE CASCADE,
    list      TEXT NOT NULL,
    uid       TEXT NOT NULL,
    version   TEXT NOT NULL,
    entry     TEXT NOT NULL CHECK (json_valid(entry)),
    UNIQUE (snapshot, list, uid)
) STRICT;

CREATE TABLE screening_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    active_snapshot  INTEGER REFERENCES screening_snapshots (id)
) STRICT;

INSERT INTO screening_state (id, active_snapshot) VALUES (1, NULL);

CREATE TABLE screening_dispositions (
    id             INTEGER PRIMARY KEY,
    account        TEXT NOT NULL REFERENCES accounts (id),
    list           TEXT NOT NULL,
    uid            TEXT NOT NULL,
    entry_version  TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('cleared', 'confirmed')),
    reviewer       TEXT NOT NULL CHECK (length(reviewer) > 0),
    note           TEXT,
    decided_at     TEXT NOT NULL
) STRICT;

CREATE INDEX screening_dispositions_by_hit ON screening_dispositions (account, list, uid, id);

CREATE TABLE screening_hits (
    account        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    list           TEXT NOT NULL,
    uid            TEXT NOT NULL,
    entry_version  TEXT NOT NULL,
    entry_name     TEXT NOT NULL,
    matched_name   TEXT NOT NULL,
    matched_by     TEXT NOT NULL,
    score          REAL NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cleared')),
    ownership      TEXT CHECK (ownership IS NULL OR json_valid(ownership)),
    first_seen     TEXT NOT NULL,
    PRIMARY KEY (account, list, uid)
) STRICT, WITHOUT ROWID;
",
    },
    Migration {
        version: 3,
        name: "the change journal of administrative changes for the audit log",
        sql: "
CREATE TABLE admin_changes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL CHECK (length(actor) > 0),
    action   TEXT NOT NULL CHECK (length(action) > 0),
    subject  TEXT NOT NULL,
    details  TEXT NOT NULL CHECK (json_valid(details) AND json_type(details) = 'object')
) STRICT;
",
    },
    Migration {
        version: 4,
        name: "evidence: facts received with their provenance, deliveries seen, records kept apart",
        sql: "
ALTER TABLE accounts ADD COLUMN record TEXT
    CHECK (record IS NULL OR (json_valid(record) AND json_type(record) = 'object'));

CREATE TABLE evidence (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    account           TEXT NOT NULL REFERENCES accounts (id),
    attribute         TEXT NOT NULL CHECK (attribute IN ('citizenships', 'permanent_residencies', 'residence_country', 'residence_region', 'protected_individual', 'us_person', 'organization', 'name', 'birth_year')),
    value             TEXT NOT NULL CHECK (json_valid(value)),
    level             TEXT NOT NULL CHECK (level IN ('none', 'self_declared', 'document_verified', 'attested')),
    source_kind       TEXT NOT NULL CHECK (source_kind IN ('kyc_vendor', 'oidc', 'org_attestation', 'self_declaration', 'staff', 'import')),
    source            TEXT NOT NULL CHECK (length(source) > 0),
    object_id         TEXT,
    trust_framework   TEXT,
    method            TEXT,
    document_country  TEXT,
    verified_at       TEXT,
    expires_at        TEXT,
    received_at       TEXT NOT NULL,
    delivery_id       TEXT,
    payload_sha256    TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    withdrawn_at      TEXT
) STRICT;

CREATE INDEX evidence_by_account ON evidence (account, id);

CREATE TABLE deliveries (
    source          TEXT NOT NULL,
    delivery_id     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('accepted', 'pending', 'orphan')),
    account         TEXT NOT NULL,
    payload_sha256  TEXT NOT NULL CHECK (length(payload_sha256) = 64),
    event_time      TEXT,
    PRIMARY KEY (source, delivery_id)
) STRICT, WITHOUT ROWID;
",
    },
    Migration {
        version: 5,
        name: "licences: export licences as records, with who holds them, whom they name and their approval",
        sql: "
CREATE TABLE licences (
    number                  TEXT PRIMARY KEY NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    authority               TEXT NOT NULL CHECK (length(authority) > 0),
    directives              TEXT NOT NULL CHECK (json_valid(directives) AND json_type(directives) = 'array' AND json_array_length(directives) > 0),
    holder                  TEXT NOT NULL REFERENCES accounts (id),
    individuals             TEXT NOT NULL CHECK (json_valid(individuals) AND json_type(individuals) = 'array'),
    excluded_nationalities  TEXT NOT NULL CHECK (json_valid(excluded_nationalities) AND json_type(excluded_nationalities) = 'array'),
    models                  TEXT NOT NULL CHECK (json_valid(models) AND json_type(models) = 'array'),
    conditions              TEXT,
    issued                  TEXT NOT NULL,
    expires                 TEXT NOT NULL,
    source_kind             TEXT NOT NULL CHECK (source_kind IN ('staff', 'org_submission')),
    status                  TEXT NOT NULL CHECK (status IN ('active', 'pending', 'revoked')),
    recorded_at             TEXT NOT NULL,
    actor                   TEXT NOT NULL CHECK (length(actor) > 0),
    approved_at             TEXT,
    approved_by             TEXT,
    revoked_at              TEXT,
    revoked_by              TEXT,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
) STRICT;

CREATE INDEX licences_by_holder ON licences (holder, status);
",
    },
    Migration {
        version: 6,
        name: "end users behind an organisation's key, registered as member accounts",
        sql: "
CREATE TABLE end_users (
    organization     TEXT NOT NULL REFERENCES accounts (id),
    end_user_sha256  TEXT NOT NULL CHECK (length(end_user_sha256) = 64 OR end_user_sha256 = '*'),
    account          TEXT NOT NULL REFERENCES accounts (id),
    registered_at    TEXT NOT NULL,
    PRIMARY KEY (organization, end_user_sha256)
) STRICT, WITHOUT ROWID;
",
    },
    Migration {
        version: 7,
        name: "when an account's subject is next derived again, as evidence expires",
        sql: "
ALTER TABLE accounts ADD COLUMN rederive_at INTEGER;
CREATE INDEX accounts_by_rederive_at ON accounts (rederive_at) WHERE rederive_at IS NOT NULL;
",
    },
    Migration {
        version: 8,
        name: "revocations remembered, so a fact from before one that arrives later is withdrawn",
        sql: "
CREATE TABLE revocations (
    account    TEXT NOT NULL,
    source     TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    through    TEXT NOT NULL,
    PRIMARY KEY (account, source, object_id)
) STRICT, WITHOUT ROWID;
",
    },
    Migration {
        version: 9,
        name: "objects a provider keeps for a customer (stored responses, files, batches, fine-tuning jobs), with who owns them",
        sql: "
CREATE TABLE provider_objects (
    kind        TEXT NOT NULL CHECK (kind IN ('response', 'file', 'batch', 'message_batch', 'fine_tuning_job')),
    id          TEXT NOT NULL CHECK (length(id) BETWEEN 1 AND 256),
    account     TEXT NOT NULL CHECK (length(account) > 0),
    model       TEXT,
    details     TEXT NOT NULL CHECK (json_valid(details) AND json_type(details) = 'object'),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX provider_objects_by_account ON provider_objects (account, kind);
",
    },
];

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_file_gains_the_screening_tables_and_keeps_its_accounts() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v1 = MIGRATIONS.first().unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
             {}
             INSERT INTO schema_migrations VALUES (1, 'v1', '2026-01-01T00:00:00Z');
             INSERT INTO accounts VALUES ('a1', '{{}}', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');",
            v1.sql
        ))
        .unwrap();
        let now: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        migrate(&mut conn, now).unwrap();
        assert_eq!(current(&conn).unwrap(), latest());
        let accounts: i64 = conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(accounts, 1);
        let active: Option<i64> = conn
            .query_row(
                "SELECT active_snapshot FROM screening_state WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(active, None);
        // A hit must name an existing account.
        let orphan = conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO screening_hits VALUES ('nobody', 'SDN', '1', 'v', 'N', 'n', 'name', 1.0, 'pending', NULL, 't');",
        );
        assert!(orphan.is_err());
        // Running it again changes nothing.
        migrate(&mut conn, now).unwrap();
        assert_eq!(current(&conn).unwrap(), latest());
    }

    #[test]
    fn the_licences_table_keeps_its_rows_consistent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO accounts (id, subject, created_at, updated_at) VALUES ('acme', '{}', 't', 't');",
        )
        .unwrap();
        let n = std::cell::Cell::new(0);
        let insert = |status: &str, revoked_at: &str, directives: &str, holder: &str| {
            n.set(n.get() + 1);
            let n = n.get();
            conn.execute_batch(&format!(
                "INSERT INTO licences (number, authority, directives, holder, individuals, excluded_nationalities, models, issued, expires, source_kind, status, recorded_at, actor, revoked_at)
                 VALUES ('L-{n}', 'BIS', '{directives}', '{holder}', '[]', '[]', '[]', 'i', 'e', 'staff', '{status}', 't', 'a', {revoked_at});"
            ))
        };
        insert("active", "NULL", r#"["d"]"#, "acme").unwrap();
        insert("revoked", "'t'", r#"["d"]"#, "acme").unwrap();
        assert!(
            insert("pending", "NULL", r#"["d"]"#, "nobody").is_err(),
            "the holder must exist"
        );
        assert!(
            insert("pending", "NULL", "[]", "acme").is_err(),
            "a licence lifts something"
        );
        assert!(
            insert("pending", "'t'", r#"["d"]"#, "acme").is_err(),
            "only a revoked licence has a revocation time"
        );
        assert!(
            insert("revoked", "NULL", r#"["x"]"#, "acme").is_err(),
            "a revoked licence has one"
        );
        assert!(insert("lapsed", "NULL", r#"["d"]"#, "acme").is_err());
    }
}
