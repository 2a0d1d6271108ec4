//! The SQLite schema and its migrations.
//!
//! The migrations themselves are listed once for both backends in
//! [`crate::migrations`]; this module applies their SQLite text. Each
//! migration runs once, in order, inside one transaction with the record
//! of it in `schema_migrations`; `PRAGMA user_version` mirrors the newest.

use jiff::Timestamp;
use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;
use crate::migrations::MIGRATIONS;

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
        tx.execute_batch(m.sqlite)?;
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
            v1.sqlite
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
    fn a_version_13_file_gains_the_search_index_over_its_accounts() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;",
        )
        .unwrap();
        for m in MIGRATIONS.iter().filter(|m| m.version <= 13) {
            conn.execute_batch(m.sqlite).unwrap();
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, 't')",
                rusqlite::params![m.version, m.name],
            )
            .unwrap();
        }
        conn.execute_batch(
            r#"INSERT INTO accounts (id, subject, created_at, updated_at) VALUES ('acme-1', '{"name":"Acme GmbH"}', 't', 't');
               INSERT INTO accounts (id, subject, created_at, updated_at) VALUES ('zeta', '{"name":"Zeta Oy"}', 't', 't');"#,
        )
        .unwrap();
        migrate(&mut conn, "2026-12-01T00:00:00Z".parse().unwrap()).unwrap();
        let found = |phrase: &str| -> Vec<String> {
            let mut stmt = conn
                .prepare(
                    "SELECT k.id FROM account_search s JOIN account_search_keys k ON k.key = s.rowid
                     WHERE account_search MATCH ?1 ORDER BY k.id",
                )
                .unwrap();
            stmt.query_map([phrase], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(found("\"gmbh\""), ["acme-1"]);
        assert_eq!(found("\"zeta\""), ["zeta"]);
        // The triggers keep it in step with writes made after the migration.
        conn.execute_batch(
            r#"UPDATE accounts SET subject = '{"name":"Zeta AB"}' WHERE id = 'zeta';"#,
        )
        .unwrap();
        assert!(found("\" oy\"").is_empty());
        assert_eq!(found("\"zeta ab\""), ["zeta"]);
        conn.execute_batch("DELETE FROM accounts WHERE id = 'acme-1';")
            .unwrap();
        assert!(found("\"gmbh\"").is_empty());
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
