//! The embedded identity store: one SQLite file.

mod scan;
mod schema;

use std::io::Read;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cordon_jurisdiction::Jurisdictions;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Map, Value, json};

use crate::account::{
    RawAccount, account_from_raw, canonical_subject, parse_json, stored_subject,
    validate_account_id,
};
use crate::changes::{self, DEFAULT_ACTOR};
use crate::clock::{Clock, system_now};
use crate::evidence::Lite;
use crate::import::{ImportFormat, ImportOptions, ImportReport, Pending};
use crate::key::{self, RandomSource, RawKey, key_from_raw};
use crate::{AccountRecord, IdentityStore, IssuedKey, KeyInfo, Principal, StoreError};

/// How long a write waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The identity store in one SQLite file (WAL mode, `synchronous=FULL`).
///
/// Several processes may open the same file: the gateway reads, the CLI writes,
/// and [`IdentityStore::version`] tells readers when to drop their caches.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    location: String,
    jurisdictions: &'static Jurisdictions,
    clock: Box<Clock>,
    random: Box<RandomSource>,
    actor: String,
    /// A matcher over the active list snapshot, built on first use.
    pub(crate) lists: crate::screening::ListsCache,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

const ACCOUNT_COLUMNS: &str = "id, subject, disabled, created_at, updated_at";
const KEY_COLUMNS: &str = "prefix, account, label, created_at, revoked_at";

/// What authentication reads: account, secret hash, revoked_at, disabled, subject.
type KeyCheck = (String, Vec<u8>, Option<String>, bool, String);

/// The newest schema version this build knows.
pub(crate) fn latest_schema() -> i64 {
    schema::latest()
}

/// How many accounts, by id, [`SqliteStore::find`] scans before it reads
/// the search index: enough to fill a page when the text is common, few
/// enough to cost little when it is not.
const FIND_SCAN_FIRST: i64 = 20_000;

impl SqliteStore {
    /// Opens the store at `path`, creating the file and schema on first start
    /// and applying any newer migrations.
    ///
    /// # Errors
    /// [`StoreError::Open`] if the file cannot be opened or created (a missing
    /// parent directory, no permission, not a SQLite file);
    /// [`StoreError::SchemaTooNew`] if a newer Cordon wrote it;
    /// [`StoreError::NotSqlite`] for a `postgres://` URL, which is never
    /// taken for a file name.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if path.to_str().is_some_and(crate::is_postgres_url) {
            return Err(StoreError::NotSqlite);
        }
        let location = path.display().to_string();
        let open_err = |source| StoreError::Open {
            path: location.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        let mode = configure(&conn, true).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::JournalMode {
                path: location,
                mode,
            });
        }
        Self::init(conn, location)
    }

    /// Opens a private store in memory, for tests.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: ":memory:".to_owned(),
            source,
        })?;
        configure(&conn, false)?;
        Self::init(conn, ":memory:".to_owned())
    }

    fn init(mut conn: Connection, location: String) -> Result<Self, StoreError> {
        let jurisdictions =
            Jurisdictions::embedded().map_err(|e| StoreError::Jurisdictions(e.to_string()))?;
        schema::migrate(&mut conn, system_now())?;
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

    /// Uses `clock` for every stored time from now on.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Names `actor` as the author of every change made through this handle,
    /// in the change journal the audit log is fed from.
    #[must_use]
    pub fn with_actor(mut self, actor: &str) -> Self {
        changes::set_actor(&mut self.actor, actor);
        self
    }

    /// Who changes made through this handle are attributed to.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Replaces the random source (tests of prefix collisions).
    #[cfg(test)]
    pub(crate) fn with_random(
        mut self,
        random: impl Fn(&mut [u8]) -> Result<(), StoreError> + Send + Sync + 'static,
    ) -> Self {
        self.random = Box::new(random);
        self
    }

    /// The country and region tables subjects are validated against.
    pub fn jurisdictions(&self) -> &'static Jurisdictions {
        self.jurisdictions
    }

    /// The schema version of the database (the newest migration applied).
    ///
    /// # Errors
    /// [`StoreError::Storage`] if it cannot be read.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema::current(&self.lock())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction: a
        // `Transaction` rolls back when dropped. The connection is still good.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> String {
        (self.clock)().to_string()
    }

    /// The store's clock.
    pub(crate) fn clock_now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Adds an account with a subject record (schema: `docs/subjects.md`).
    ///
    /// # Errors
    /// [`StoreError::InvalidAccountId`], [`StoreError::AccountExists`],
    /// [`StoreError::InvalidSubject`] naming the bad field,
    /// [`StoreError::InvalidPatch`] if the subject is not an object or its `id`
    /// differs from `id`.
    pub fn add_account(&self, id: &str, subject: Value) -> Result<AccountRecord, StoreError> {
        validate_account_id(id)?;
        let subject = canonical_subject(id, subject, self.jurisdictions)?;
        let lists = self.active_lists()?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec =
            crate::account::add(&mut Lite(&tx), &self.actor, id, &subject, &now, |_, ids| {
                self.screen(&tx, ids, lists.as_ref())
            })?;
        tx.commit()?;
        Ok(rec)
    }

    /// Changes top-level subject fields: each field in `patch` replaces the
    /// stored one, `null` removes it (making it unknown). The result is validated.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`], [`StoreError::InvalidSubject`] naming the
    /// bad field, [`StoreError::InvalidPatch`] if `patch` is not an object or sets `id`.
    pub fn set_attributes(&self, id: &str, patch: Value) -> Result<AccountRecord, StoreError> {
        let rescreen = crate::screening::changes_names(&patch);
        let lists = if rescreen { self.active_lists()? } else { None };
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec = crate::account::set_attributes(
            &mut Lite(&tx),
            self.jurisdictions,
            &self.actor,
            id,
            patch,
            self.clock_now(),
            |_, ids| {
                if rescreen {
                    self.screen(&tx, ids, lists.as_ref())?;
                }
                Ok(())
            },
        )?;
        tx.commit()?;
        Ok(rec)
    }

    /// The account with this id, if any.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn get(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        read_account(&self.lock(), id)
    }

    /// Every account, ordered by id.
    ///
    /// # Errors
    /// [`StoreError::Storage`] or [`StoreError::Corrupt`].
    pub fn list(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"
        ))?;
        let rows = stmt.query_map([], raw_account)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(account_from_raw(r?)?);
        }
        Ok(out)
    }

    /// Up to `limit` accounts, by id, whose id or subject record contains
    /// `text` (ignoring ASCII case); every account when `text` is empty.
    /// For screens that show a page of a large store without reading it all.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn find(&self, text: &str, limit: usize) -> Result<Vec<AccountRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let conn = self.lock();
        let read =
            |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<Vec<AccountRecord>, StoreError> {
                let mut stmt = conn.prepare(sql)?;
                let rows = stmt.query_map(p, raw_account)?;
                let mut out = Vec::new();
                for r in rows {
                    out.push(account_from_raw(r?)?);
                }
                Ok(out)
            };
        // A scan of the first `?3` accounts by id: when it fills the page,
        // that page is the first of all matches, since every later account
        // sorts after them; text found in many records ends here.
        let scan = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM (SELECT * FROM accounts ORDER BY id LIMIT ?3)
             WHERE ?1 = '%%' OR lower(id) LIKE ?1 ESCAPE '\\' OR lower(subject) LIKE ?1 ESCAPE '\\'
             ORDER BY id LIMIT ?2"
        );
        let pattern = crate::account::contains_pattern(text);
        // The trigram index answers text of three characters or more; for
        // shorter text it has no trigram to look up, and every record is
        // scanned instead (the same match, see migration 14).
        let Some(phrase) = crate::account::trigram_phrase(text) else {
            // LIMIT -1: no bound, every account.
            return read(&scan, params![pattern, limit, -1]);
        };
        let first = read(&scan, params![pattern, limit, FIND_SCAN_FIRST])?;
        if i64::try_from(first.len()).unwrap_or(i64::MAX) >= limit {
            return Ok(first);
        }
        read(
            &format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts
                 WHERE id IN (SELECT k.id FROM account_search s JOIN account_search_keys k ON k.key = s.rowid
                              WHERE account_search MATCH ?1)
                 ORDER BY id LIMIT ?2"
            ),
            params![phrase, limit],
        )
    }

    /// How many accounts the store holds.
    ///
    /// # Errors
    /// Storage failures.
    pub fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .lock()
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Disables an account: its keys stop authenticating until [`enable`](Self::enable).
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`].
    pub fn disable(&self, id: &str) -> Result<AccountRecord, StoreError> {
        self.set_disabled(id, true)
    }

    /// Enables a disabled account.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`].
    pub fn enable(&self, id: &str) -> Result<AccountRecord, StoreError> {
        self.set_disabled(id, false)
    }

    fn set_disabled(&self, id: &str, disabled: bool) -> Result<AccountRecord, StoreError> {
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rec = crate::account::set_disabled(&mut Lite(&tx), &self.actor, id, disabled, &now)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Screens accounts `ids` against the active lists, inside the
    /// change's transaction.
    fn screen(
        &self,
        tx: &rusqlite::Transaction<'_>,
        ids: &[&str],
        lists: Option<&crate::screening::ActiveLists>,
    ) -> Result<(), StoreError> {
        crate::screening::screen_accounts(tx, self.jurisdictions, ids, lists, self.clock_now())?;
        Ok(())
    }

    /// Issues a new API key for `account`. The full key is in the result and
    /// nowhere else: only the SHA-256 of its secret is stored.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`], [`StoreError::Random`],
    /// [`StoreError::InvalidPatch`] for a label over 200 characters or with
    /// control characters, [`StoreError::PrefixExhausted`] if every random
    /// prefix tried was taken.
    pub fn create_key(&self, account: &str, label: Option<&str>) -> Result<IssuedKey, StoreError> {
        let label = key::label(account, label)?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !exists(&tx, account)? {
            return Err(StoreError::AccountNotFound {
                id: account.to_owned(),
            });
        }
        let k = key::issue(&*self.random, |k| {
            let inserted = tx.execute(
                "INSERT INTO api_keys (prefix, account, secret_hash, label, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (prefix) DO NOTHING",
                params![k.prefix, account, k.hash.as_slice(), label, now],
            )?;
            Ok(inserted == 1)
        })?;
        let visible = key::visible(&k.prefix);
        changes::record(
            &tx,
            &now,
            &self.actor,
            "key.created",
            &visible,
            json!({ "account": account, "label": label }),
        )?;
        bump(&tx)?;
        tx.commit()?;
        Ok(IssuedKey {
            prefix: visible,
            account: account.to_owned(),
            key: k.key,
        })
    }

    /// Revokes a key, named by its prefix (`ck_1a2b3c4d`, `1a2b3c4d`, or the full key).
    ///
    /// # Errors
    /// [`StoreError::InvalidKeyPrefix`], [`StoreError::KeyNotFound`],
    /// [`StoreError::KeyAlreadyRevoked`].
    pub fn revoke_key(&self, prefix: &str) -> Result<KeyInfo, StoreError> {
        let p = key::normalize_prefix(prefix)?;
        let now = self.now();
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(k) = read_key(&tx, &p)? else {
            return Err(StoreError::KeyNotFound {
                prefix: key::visible(&p),
            });
        };
        if k.revoked_at.is_some() {
            return Err(StoreError::KeyAlreadyRevoked { prefix: k.prefix });
        }
        tx.execute(
            "UPDATE api_keys SET revoked_at = ?2 WHERE prefix = ?1",
            params![p, now],
        )?;
        changes::record(
            &tx,
            &now,
            &self.actor,
            "key.revoked",
            &k.prefix,
            json!({ "account": k.account }),
        )?;
        bump(&tx)?;
        let k = read_key(&tx, &p)?;
        tx.commit()?;
        k.ok_or_else(|| StoreError::KeyNotFound {
            prefix: key::visible(&p),
        })
    }

    /// The keys of an account, revoked ones included, oldest first.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`].
    pub fn list_keys(&self, account: &str) -> Result<Vec<KeyInfo>, StoreError> {
        let conn = self.lock();
        if !exists(&conn, account)? {
            return Err(StoreError::AccountNotFound {
                id: account.to_owned(),
            });
        }
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE account = ?1 ORDER BY created_at, prefix"
        ))?;
        let rows = stmt.query_map([account], raw_key)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(key_from_raw(r?)?);
        }
        Ok(out)
    }

    /// Imports accounts from CSV or JSON Lines (formats: `docs/accounts.md`).
    ///
    /// Every row is validated; bad rows are reported in
    /// [`ImportReport::errors`] by line and the rest are stored, `options.batch`
    /// rows per transaction, so a bad row never undoes a good one. An id that
    /// already exists is a row error unless `options.upsert`, which replaces
    /// its subject (keeping its keys and disabled flag). An id repeated within
    /// the input is an error on every occurrence after the first.
    /// `progress` is called with the number of input lines read after each
    /// committed batch.
    ///
    /// # Errors
    /// Only for the input as a whole: [`StoreError::Read`] when it cannot be
    /// read, [`StoreError::CsvHeader`], or [`StoreError::Storage`]. Batches
    /// committed before the error stay stored.
    pub fn import(
        &self,
        reader: impl Read,
        format: ImportFormat,
        options: ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport, StoreError> {
        crate::import::read(
            reader,
            format,
            options,
            self.jurisdictions,
            progress,
            |batch, report| self.store_batch(batch, options.upsert, report),
        )
    }

    /// Stores validated rows in one transaction.
    fn store_batch(
        &self,
        batch: &mut Vec<Pending>,
        upsert: bool,
        report: &mut ImportReport,
    ) -> Result<(), StoreError> {
        let lists = self.active_lists()?;
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let written = crate::import::store_batch(
            &mut Lite(&tx),
            self.jurisdictions,
            &self.actor,
            batch,
            upsert,
            report,
            self.clock_now(),
        )?;
        if !written.is_empty() {
            let ids: Vec<&str> = written.iter().map(String::as_str).collect();
            self.screen(&tx, &ids, lists.as_ref())?;
            bump(&tx)?;
        }
        tx.commit()?;
        Ok(())
    }
}

impl IdentityStore for SqliteStore {
    fn record_event(&self, delivered: crate::Delivered<'_>) -> Result<crate::Intake, StoreError> {
        SqliteStore::record_event(self, delivered)
    }

    fn record_events(
        &self,
        batch: &[crate::Delivered<'_>],
    ) -> Result<Vec<crate::Intake>, StoreError> {
        SqliteStore::record_events(self, batch)
    }

    fn record_rejection(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        payload_sha256: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        SqliteStore::record_rejection(self, source, delivery_id, payload_sha256, reason)
    }

    fn evidence(&self, account: &str) -> Result<Vec<cordon_verification::Evidence>, StoreError> {
        SqliteStore::evidence(self, account)
    }

    fn end_user(
        &self,
        organization: &str,
        end_user: Option<&str>,
    ) -> Result<Option<crate::end_users::EndUserAccount>, StoreError> {
        self.end_user_account(organization, end_user)
    }

    fn register_end_users(
        &self,
        organization: &str,
        registrations: &[crate::end_users::Registration],
    ) -> Result<crate::end_users::Registered, StoreError> {
        SqliteStore::register_end_users(self, organization, registrations)
    }

    fn remove_end_users(
        &self,
        organization: &str,
        end_users: &[String],
    ) -> Result<usize, StoreError> {
        SqliteStore::remove_end_users(self, organization, end_users)
    }

    fn record_object(&self, object: &crate::ProviderObject) -> Result<(), StoreError> {
        SqliteStore::record_object(self, object)
    }

    fn object(
        &self,
        kind: crate::ObjectKind,
        id: &str,
    ) -> Result<Option<crate::ProviderObject>, StoreError> {
        SqliteStore::object(self, kind, id)
    }

    fn forget_object(&self, kind: crate::ObjectKind, id: &str) -> Result<bool, StoreError> {
        SqliteStore::forget_object(self, kind, id)
    }

    fn rederive_due(&self, limit: usize) -> Result<crate::evidence::Rederived, StoreError> {
        SqliteStore::rederive_due(self, limit)
    }

    fn authenticate(&self, presented: &str) -> Result<Option<Principal>, StoreError> {
        let Some((prefix, secret)) = key::parse(presented) else {
            return Ok(None);
        };
        let row: Option<KeyCheck> = self
            .lock()
            .query_row(
                "SELECT k.account, k.secret_hash, k.revoked_at, a.disabled, a.subject
                 FROM api_keys k JOIN accounts a ON a.id = k.account
                 WHERE k.prefix = ?1",
                [prefix],
                |r| TryFrom::try_from(r),
            )
            .optional()?;
        let Some((account, hash, revoked_at, disabled, subject)) = row else {
            return Ok(None);
        };
        if !key::accepts(&hash, secret, revoked_at.is_some(), disabled) {
            return Ok(None);
        }
        let mut subject = stored_subject(
            &account,
            &parse_json(&account, &subject)?,
            self.jurisdictions,
        )?;
        crate::licence::attach(
            &mut crate::licence::Lite(&self.lock()),
            &account,
            &mut subject,
            self.jurisdictions,
        )?;
        Ok(Some(Principal {
            account,
            key_prefix: key::visible(prefix),
            subject,
        }))
    }

    fn account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.get(id)
    }

    fn subject(&self, id: &str) -> Result<Option<cordon_subject::Subject>, StoreError> {
        SqliteStore::subject(self, id)
    }

    fn record_licence(
        &self,
        licence: &cordon_subject::Licence,
        source: crate::LicenceSource,
    ) -> Result<crate::LicenceRecord, StoreError> {
        SqliteStore::record_licence(self, licence, source)
    }

    fn version(&self) -> Result<u64, StoreError> {
        let v: i64 =
            self.lock()
                .query_row("SELECT version FROM change_counter WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
        u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("change counter is {v}")))
    }
}

impl crate::account::AccountRows for Lite<'_> {
    fn account_row(&mut self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        read_account(self.0, id)
    }

    fn insert_new_account(
        &mut self,
        id: &str,
        subject: &Map<String, Value>,
        now: &str,
    ) -> Result<bool, StoreError> {
        if exists(self.0, id)? {
            return Ok(false);
        }
        insert_account(self.0, id, subject, now)?;
        Ok(true)
    }

    fn keeps_record(&mut self, id: &str) -> Result<Option<bool>, StoreError> {
        Ok(self
            .0
            .query_row(
                "SELECT record IS NOT NULL FROM accounts WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_subject(&mut self, id: &str, subject: &str, now: &str) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE accounts SET subject = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, subject, now],
        )?;
        Ok(())
    }

    fn set_disabled(&mut self, id: &str, disabled: bool, now: &str) -> Result<bool, StoreError> {
        let n = self.0.execute(
            "UPDATE accounts SET disabled = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, disabled, now],
        )?;
        Ok(n == 1)
    }

    fn bump_counter(&mut self) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE change_counter SET version = version + 1 WHERE id = 1",
            [],
        )?;
        Ok(())
    }
}

/// Connection settings: WAL for concurrent readers, `synchronous=FULL` so a
/// committed change survives power loss, foreign keys, and a busy timeout.
///
/// Returns the journal mode in force.
fn configure(conn: &Connection, file: bool) -> Result<String, rusqlite::Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode = if file {
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?
    } else {
        String::from("memory")
    };
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(mode)
}

pub(crate) fn bump(tx: &Connection) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE change_counter SET version = version + 1 WHERE id = 1",
        [],
    )?;
    Ok(())
}

pub(crate) fn exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row("SELECT 1 FROM accounts WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn to_text(subject: &Map<String, Value>) -> Result<String, StoreError> {
    serde_json::to_string(subject).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn insert_account(
    conn: &Connection,
    id: &str,
    subject: &Map<String, Value>,
    now: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO accounts (id, subject, disabled, created_at, updated_at) VALUES (?1, ?2, 0, ?3, ?3)",
        params![id, to_text(subject)?, now],
    )?;
    Ok(())
}

fn raw_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawAccount> {
    TryFrom::try_from(r)
}

fn raw_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawKey> {
    TryFrom::try_from(r)
}

pub(crate) fn read_account(
    conn: &Connection,
    id: &str,
) -> Result<Option<AccountRecord>, StoreError> {
    conn.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
        [id],
        raw_account,
    )
    .optional()?
    .map(account_from_raw)
    .transpose()
}

fn read_key(conn: &Connection, prefix: &str) -> Result<Option<KeyInfo>, StoreError> {
    conn.query_row(
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE prefix = ?1"),
        [prefix],
        raw_key,
    )
    .optional()?
    .map(key_from_raw)
    .transpose()
}

#[cfg(test)]
mod tests;
