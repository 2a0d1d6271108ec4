//! Reading every account without loading them all: for reports over the
//! whole store (impact simulation), run against a store another process may
//! be serving from.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{ACCOUNT_COLUMNS, BUSY_TIMEOUT, SqliteStore, account_from_raw, schema};
use crate::changes::DEFAULT_ACTOR;
use crate::clock::system_now;
use crate::key;
use crate::{AccountRecord, StoreError};

/// One row of an account scan: the record, or the id of a row that cannot be
/// read back and why.
pub type ScannedAccount = Result<AccountRecord, (String, StoreError)>;

/// One row of an unparsed account scan: the account id, its subject record
/// as the JSON text stored (schema: `docs/subjects.md`, without `id`), and
/// whether it is disabled.
pub type AccountText = (String, String, bool);

impl SqliteStore {
    /// Opens an existing store without writing to it: no file is created, no
    /// migration runs, so a report never changes the store it reads.
    ///
    /// Older schema versions are accepted, since the `accounts` table has
    /// not changed since version 1; a newer one is refused, since this build
    /// cannot know what its rows mean. The version is the larger of the
    /// `schema_migrations` record and `PRAGMA user_version`, so a file
    /// marked newer either way is refused.
    ///
    /// # Errors
    /// [`StoreError::Open`] if the file does not exist or is not a SQLite
    /// database; [`StoreError::Corrupt`] if it is not a Cordon store (no
    /// schema record); [`StoreError::SchemaTooNew`] if a newer Cordon wrote it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let location = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: location.clone(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        check_version(&conn, &location)?;
        let jurisdictions = cordon_jurisdiction::Jurisdictions::embedded()
            .map_err(|e| StoreError::Jurisdictions(e.to_string()))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            location,
            jurisdictions,
            clock: Box::new(system_now),
            random: Box::new(key::os_random),
            actor: DEFAULT_ACTOR.to_owned(),
            lists: crate::screening::ListsCache::default(),
        })
    }

    /// Calls `f` with every account, enabled and disabled, in id order,
    /// `chunk` at a time (at least one; the last chunk may be shorter), so
    /// memory stays bounded by one chunk whatever the store's size.
    ///
    /// The scan is one SQL statement, so it sees one consistent snapshot of
    /// the store even while another process writes. A row that cannot be
    /// read back (edited by hand) comes as `Err((id, error))` in its place
    /// rather than ending the scan. The store is locked while `f` runs: `f`
    /// must not call back into this store (hand the chunk to another thread
    /// instead).
    ///
    /// # Errors
    /// The first error `f` returns, which stops the scan, or a
    /// [`StoreError::Storage`] failure of the query itself.
    pub fn for_each_account_chunk<E: From<StoreError>>(
        &self,
        chunk: usize,
        mut f: impl FnMut(Vec<ScannedAccount>) -> Result<(), E>,
    ) -> Result<(), E> {
        let chunk = chunk.max(1);
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"
            ))
            .map_err(StoreError::from)?;
        let mut rows = stmt.query([]).map_err(StoreError::from)?;
        let mut batch = Vec::with_capacity(chunk.min(1 << 16));
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            batch.push(scanned(row));
            if batch.len() >= chunk {
                f(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(chunk.min(1 << 16)),
                ))?;
            }
        }
        if !batch.is_empty() {
            f(batch)?;
        }
        Ok(())
    }

    /// Like [`SqliteStore::for_each_account_chunk`], but hands over each
    /// subject as its stored JSON text and skips the timestamps: parsing is
    /// most of the cost of a scan, and this way the caller can do it on other
    /// threads while this one reads on.
    ///
    /// # Errors
    /// As [`SqliteStore::for_each_account_chunk`]; a row whose columns do not
    /// have their schema types (a hand-edited file) is a
    /// [`StoreError::Storage`] error naming the row's position.
    pub fn for_each_account_text_chunk<E: From<StoreError>>(
        &self,
        chunk: usize,
        mut f: impl FnMut(Vec<AccountText>) -> Result<(), E>,
    ) -> Result<(), E> {
        let chunk = chunk.max(1);
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT id, subject, disabled FROM accounts ORDER BY id")
            .map_err(StoreError::from)?;
        let mut rows = stmt.query([]).map_err(StoreError::from)?;
        let mut batch = Vec::with_capacity(chunk.min(1 << 16));
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            let text: AccountText =
                (|| Ok::<_, rusqlite::Error>((row.get(0)?, row.get(1)?, row.get(2)?)))()
                    .map_err(StoreError::from)?;
            batch.push(text);
            if batch.len() >= chunk {
                f(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(chunk.min(1 << 16)),
                ))?;
            }
        }
        if !batch.is_empty() {
            f(batch)?;
        }
        Ok(())
    }

    /// How many accounts the store holds, enabled and disabled: for progress.
    ///
    /// # Errors
    /// [`StoreError::Storage`].
    pub fn account_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .lock()
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("account count is {n}")))
    }
}

/// Reads one account row; only the id is needed to name a bad one.
fn scanned(row: &rusqlite::Row<'_>) -> ScannedAccount {
    let id: String = row
        .get(0)
        .map_err(|e| (String::from("(unreadable id)"), StoreError::from(e)))?;
    let raw = (|| Ok::<_, rusqlite::Error>((row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))()
        .map_err(|e| (id.clone(), StoreError::from(e)))?;
    let (subject, disabled, created, updated) = raw;
    account_from_raw((id.clone(), subject, disabled, created, updated)).map_err(|e| (id, e))
}

/// Refuses a file that is not a Cordon store or was written by a newer one.
fn check_version(conn: &Connection, location: &str) -> Result<(), StoreError> {
    let open_err = |source| StoreError::Open {
        path: location.to_owned(),
        source,
    };
    let has_record: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(open_err)?;
    let user_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    let recorded = match has_record {
        Some(_) => schema::current(conn)?,
        None => 0,
    };
    let found = recorded.max(user_version);
    if found > schema::latest() {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: schema::latest(),
        });
    }
    if recorded < 1 {
        return Err(StoreError::Corrupt(format!(
            "`{location}` has no schema record; it is not a cordon identity store (create one with `cordon accounts add`)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn temp_path(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cordon-scan-{}-{name}-{}",
            std::process::id(),
            system_now().as_nanosecond()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("store.db")
    }

    fn ids(chunk: &[ScannedAccount]) -> Vec<String> {
        chunk
            .iter()
            .map(|r| match r {
                Ok(a) => a.id.clone(),
                Err((id, _)) => format!("!{id}"),
            })
            .collect()
    }

    fn filled(path: &Path) -> SqliteStore {
        let s = SqliteStore::open(path).unwrap();
        for id in ["e", "b", "a", "d", "c"] {
            s.add_account(id, json!({"citizenships": ["DE"]})).unwrap();
        }
        s.disable("b").unwrap();
        s
    }

    #[test]
    fn every_account_comes_once_in_id_order_in_chunks() {
        let path = temp_path("chunks");
        drop(filled(&path));
        let s = SqliteStore::open_read_only(&path).unwrap();
        let mut seen = Vec::new();
        s.for_each_account_chunk(2, |c| {
            seen.push(ids(&c));
            if let Some(Ok(b)) = c.iter().find(|r| matches!(r, Ok(a) if a.id == "b")) {
                assert!(b.disabled);
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(seen, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
        assert_eq!(s.account_count().unwrap(), 5);
        let mut sizes = Vec::new();
        s.for_each_account_chunk(0, |c| {
            sizes.push(c.len());
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(sizes, [1; 5], "a zero chunk size means one at a time");
    }

    #[test]
    fn the_text_scan_gives_the_stored_subjects_in_id_order() {
        let path = temp_path("text");
        drop(filled(&path));
        let s = SqliteStore::open_read_only(&path).unwrap();
        let mut seen = Vec::new();
        s.for_each_account_text_chunk(3, |c| {
            seen.push(c);
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
        let all: Vec<AccountText> = seen.into_iter().flatten().collect();
        let ids: Vec<&str> = all.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e"]);
        let disabled: Vec<bool> = all.iter().map(|(_, _, d)| *d).collect();
        assert_eq!(disabled, [false, true, false, false, false]);
        let subject: serde_json::Value = serde_json::from_str(&all[0].1).unwrap();
        assert_eq!(subject, json!({"citizenships": ["DE"]}));
    }

    #[test]
    fn an_error_from_the_callback_stops_the_scan() {
        #[derive(Debug)]
        enum Stop {
            Here(usize),
            Store,
        }
        impl From<StoreError> for Stop {
            fn from(_: StoreError) -> Self {
                Stop::Store
            }
        }
        let s = SqliteStore::open_in_memory().unwrap();
        for i in 0..10 {
            s.add_account(&format!("a{i}"), json!({})).unwrap();
        }
        let mut calls = 0;
        let r = s.for_each_account_chunk(3, |_| {
            calls += 1;
            if calls == 2 {
                Err(Stop::Here(calls))
            } else {
                Ok(())
            }
        });
        assert!(matches!(r, Err(Stop::Here(2))), "{r:?}");
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_bad_row_is_named_in_its_place_and_the_rest_still_come() {
        let s = SqliteStore::open_in_memory().unwrap();
        for id in ["a", "b", "c"] {
            s.add_account(id, json!({})).unwrap();
        }
        s.lock()
            .execute(
                "UPDATE accounts SET created_at = 'yesterday' WHERE id = 'b'",
                [],
            )
            .unwrap();
        let mut all = Vec::new();
        s.for_each_account_chunk(10, |c| {
            all.extend(c);
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(ids(&all), ["a", "!b", "c"]);
        let Some(Err((_, e))) = all.get(1) else {
            panic!("row b should fail")
        };
        assert!(e.to_string().contains("`yesterday`"), "{e}");
    }

    #[test]
    fn a_read_only_open_never_creates_or_writes() {
        let path = temp_path("readonly");
        let missing = path.with_file_name("missing.db");
        let e = SqliteStore::open_read_only(&missing).unwrap_err();
        assert!(matches!(e, StoreError::Open { .. }), "{e}");
        assert!(e.to_string().contains("missing.db"), "{e}");
        assert!(!missing.exists());

        drop(filled(&path));
        let s = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(s.get("a").unwrap().unwrap().id, "a");
        assert!(s.add_account("f", json!({})).is_err());

        let plain = path.with_file_name("plain.db");
        Connection::open(&plain)
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER);")
            .unwrap();
        let e = SqliteStore::open_read_only(&plain).unwrap_err();
        assert!(e.to_string().contains("not a cordon identity store"), "{e}");
    }

    #[test]
    fn a_store_from_a_newer_schema_is_refused_naming_both_versions() {
        let latest = schema::latest();
        // Marked newer in the migration record: the normal open refuses too.
        let path = temp_path("newer-record");
        drop(filled(&path));
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        for e in [
            SqliteStore::open_read_only(&path).unwrap_err(),
            SqliteStore::open(&path).unwrap_err(),
        ] {
            assert!(
                matches!(e, StoreError::SchemaTooNew { found: 99, supported } if supported == latest),
                "{e}"
            );
            let text = e.to_string();
            assert!(
                text.contains("99") && text.contains(&latest.to_string()),
                "{text}"
            );
        }
        // Marked newer only in `user_version`.
        let path = temp_path("newer-pragma");
        drop(filled(&path));
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let e = SqliteStore::open_read_only(&path).unwrap_err();
        assert!(
            matches!(e, StoreError::SchemaTooNew { found: 99, .. }),
            "{e}"
        );
    }

    #[test]
    fn a_store_from_an_older_schema_is_read_as_it_is() {
        let path = temp_path("older");
        drop(filled(&path));
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute("DELETE FROM schema_migrations WHERE version > 1", [])
                .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            // Written before licences existed.
            conn.execute_batch("DROP TABLE licences").unwrap();
        }
        let s = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), 1, "not migrated");
        let mut n = 0;
        s.for_each_account_chunk(100, |c| {
            n += c.len();
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(n, 5);
        assert!(s.licence_index().unwrap().is_empty(), "no licences table");
    }
}
