//! Accounts in PostgreSQL: adding, changing, disabling, listing and
//! importing them, with the rules of [`crate::account`] and
//! [`crate::import`] shared with SQLite; this module reads and writes rows.

use std::io::Read;

use ::postgres::{GenericClient, Transaction};
use cordon_subject::Subject;
use serde_json::{Map, Value};

use super::rows::{Pg, columns};
use super::{PostgresStore, changes, screening};
use crate::account::{AccountRows, account_from_raw, canonical_subject, validate_account_id};
use crate::import::{ImportFormat, ImportOptions, ImportReport, Pending};
use crate::screening::ActiveLists;
use crate::{AccountRecord, StoreError};

/// The columns an account is read with, as [`RawAccount`] holds them.
const ACCOUNT_COLUMNS: &str = "id, subject::text, disabled, created_at, updated_at";

impl PostgresStore {
    /// Adds an account with a subject record (schema: `docs/subjects.md`),
    /// validated as [`SqliteStore::add_account`](crate::SqliteStore::add_account)
    /// validates it, and screened against the active list snapshot in the
    /// same transaction, as SQLite screens it.
    ///
    /// # Errors
    /// [`StoreError::InvalidAccountId`], [`StoreError::AccountExists`],
    /// [`StoreError::InvalidSubject`] naming the bad field,
    /// [`StoreError::InvalidPatch`] if the subject is not an object or its
    /// `id` differs from `id`; storage failures.
    pub fn add_account(&self, id: &str, subject: Value) -> Result<AccountRecord, StoreError> {
        validate_account_id(id)?;
        let subject = canonical_subject(id, subject, self.jurisdictions)?;
        let lists = self.active_lists()?;
        let now = self.now();
        self.write(|tx| {
            changes::serialize(tx)?;
            crate::account::add(&mut Pg(tx), &self.actor, id, &subject, &now, |rows, ids| {
                self.screen_accounts(rows.0, lists.as_ref(), ids)
            })
        })
    }

    /// Changes top-level subject fields as
    /// [`SqliteStore::set_attributes`](crate::SqliteStore::set_attributes)
    /// does: each field in `patch` replaces the stored one in the account's
    /// record, `null` removes it, the result is validated and the subject
    /// derived again from the record and the account's evidence; journaled
    /// and announced in the same transaction.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`], [`StoreError::InvalidSubject`]
    /// naming the bad field, [`StoreError::InvalidPatch`] if `patch` is not
    /// an object or sets `id`; storage failures.
    pub fn set_attributes(&self, id: &str, patch: Value) -> Result<AccountRecord, StoreError> {
        let rescreen = crate::screening::changes_names(&patch);
        let lists = if rescreen { self.active_lists()? } else { None };
        let now = (self.clock)();
        self.write(|tx| {
            changes::serialize(tx)?;
            crate::account::set_attributes(
                &mut Pg(tx),
                self.jurisdictions,
                &self.actor,
                id,
                patch,
                now,
                |rows, ids| {
                    if rescreen {
                        self.screen_accounts(rows.0, lists.as_ref(), ids)?;
                    }
                    Ok(())
                },
            )
        })
    }

    /// Disables an account: its keys stop authenticating on every node
    /// (they hear of it by `NOTIFY`) until [`enable`](Self::enable).
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; storage failures.
    pub fn disable(&self, id: &str) -> Result<AccountRecord, StoreError> {
        self.set_disabled(id, true)
    }

    /// Enables a disabled account.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; storage failures.
    pub fn enable(&self, id: &str) -> Result<AccountRecord, StoreError> {
        self.set_disabled(id, false)
    }

    fn set_disabled(&self, id: &str, disabled: bool) -> Result<AccountRecord, StoreError> {
        let now = self.now();
        self.write(|tx| {
            changes::serialize(tx)?;
            crate::account::set_disabled(&mut Pg(tx), &self.actor, id, disabled, &now)
        })
    }

    /// Every account, ordered by id bytewise (as SQLite orders them).
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn list(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.client()?
            .query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id COLLATE \"C\""),
                &[],
            )?
            .iter()
            .map(|r| account_from_raw(columns(r)?))
            .collect()
    }

    /// Up to `limit` accounts, by id, whose id or subject record contains
    /// `text` (ignoring ASCII case), as [`SqliteStore::find`](crate::SqliteStore::find).
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn find(&self, text: &str, limit: usize) -> Result<Vec<AccountRecord>, StoreError> {
        let pattern = crate::account::contains_pattern(text);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.client()?
            .query(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts
                     WHERE $1 = '%%' OR lower(id) LIKE $1 OR lower(subject::text) LIKE $1
                     ORDER BY id COLLATE \"C\" LIMIT $2"
                ),
                &[&pattern, &limit],
            )?
            .iter()
            .map(|r| account_from_raw(columns(r)?))
            .collect()
    }

    /// How many accounts the store holds.
    ///
    /// # Errors
    /// Storage failures.
    pub fn count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .client()?
            .query_one("SELECT count(*) FROM accounts", &[])?
            .try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Imports accounts from CSV or JSON Lines (formats: `docs/accounts.md`)
    /// with the rules of [`SqliteStore::import`](crate::SqliteStore::import):
    /// bad rows are reported by line and the rest stored, `options.batch`
    /// rows per transaction, each batch journaled and announced on its own.
    ///
    /// # Errors
    /// Only for the input as a whole: [`StoreError::Read`],
    /// [`StoreError::CsvHeader`], or storage failures. Batches committed
    /// before the error stay stored.
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
        let now = (self.clock)();
        let lists = self.active_lists()?;
        self.write(|tx| {
            changes::serialize(tx)?;
            let written = crate::import::store_batch(
                &mut Pg(tx),
                self.jurisdictions,
                &self.actor,
                batch,
                upsert,
                report,
                now,
            )?;
            if !written.is_empty() {
                let ids: Vec<&str> = written.iter().map(String::as_str).collect();
                self.screen_accounts(tx, lists.as_ref(), &ids)?;
                changes::bump(tx)?;
            }
            Ok(())
        })
    }

    /// The account with this id, if any.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn get(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        read_account(&mut *self.client()?, id)
    }

    /// The subject decisions about account `id` see: its stored subject
    /// with the active licences it holds attached, read in one transaction
    /// ([`crate::licence`], shared with SQLite); `None` for an unknown account.
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn subject(&self, id: &str) -> Result<Option<Subject>, StoreError> {
        self.read(|tx| crate::licence::subject(&mut Pg(tx), id, self.jurisdictions))
    }

    /// Attaches to `subject`, taken as account `account`'s, the active
    /// licences it holds, judged against `subject` as given, as
    /// [`SqliteStore::attach_licences`](crate::SqliteStore::attach_licences).
    ///
    /// # Errors
    /// Storage failures, or [`StoreError::Corrupt`].
    pub fn attach_licences(&self, account: &str, subject: &mut Subject) -> Result<(), StoreError> {
        self.read(|tx| crate::licence::attach(&mut Pg(tx), account, subject, self.jurisdictions))
    }

    /// Screens accounts `ids`, just added or with their names changed,
    /// against `lists` (the active snapshot, read before the transaction)
    /// inside the change's transaction, where SQLite calls
    /// [`crate::screening`]'s `screen_accounts`.
    fn screen_accounts(
        &self,
        tx: &mut Transaction<'_>,
        lists: Option<&ActiveLists>,
        ids: &[&str],
    ) -> Result<(), StoreError> {
        screening::screen_accounts(tx, self.jurisdictions, ids, lists, (self.clock)()).map(|_| ())
    }
}

/// Inserts account `id` with a validated, canonical subject, enabled;
/// returns whether it was inserted (`false`: the id is taken).
pub(super) fn insert_account(
    client: &mut impl GenericClient,
    id: &str,
    subject: &Map<String, Value>,
    now: &str,
) -> Result<bool, StoreError> {
    let text = serde_json::to_string(subject).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let inserted = client.execute(
        "INSERT INTO accounts (id, subject, disabled, created_at, updated_at)
         VALUES ($1, $2::text::jsonb, FALSE, $3, $3) ON CONFLICT (id) DO NOTHING",
        &[&id, &text, &now],
    )?;
    Ok(inserted == 1)
}

/// Whether account `id` exists.
pub(super) fn exists(client: &mut impl GenericClient, id: &str) -> Result<bool, StoreError> {
    Ok(client
        .query_opt("SELECT 1 FROM accounts WHERE id = $1", &[&id])?
        .is_some())
}

/// The account with this id, if any.
pub(super) fn read_account(
    client: &mut impl GenericClient,
    id: &str,
) -> Result<Option<AccountRecord>, StoreError> {
    client
        .query_opt(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"),
            &[&id],
        )?
        .map(|r| account_from_raw(columns(&r)?))
        .transpose()
}

impl AccountRows for Pg<'_, '_> {
    fn account_row(&mut self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        read_account(self.0, id)
    }

    fn insert_new_account(
        &mut self,
        id: &str,
        subject: &Map<String, Value>,
        now: &str,
    ) -> Result<bool, StoreError> {
        insert_account(self.0, id, subject, now)
    }

    fn keeps_record(&mut self, id: &str) -> Result<Option<bool>, StoreError> {
        self.0
            .query_opt(
                "SELECT record IS NOT NULL FROM accounts WHERE id = $1",
                &[&id],
            )?
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .transpose()
    }

    fn set_subject(&mut self, id: &str, subject: &str, now: &str) -> Result<(), StoreError> {
        self.0.execute(
            "UPDATE accounts SET subject = $2::text::jsonb, updated_at = $3 WHERE id = $1",
            &[&id, &subject, &now],
        )?;
        Ok(())
    }

    fn set_disabled(&mut self, id: &str, disabled: bool, now: &str) -> Result<bool, StoreError> {
        let n = self.0.execute(
            "UPDATE accounts SET disabled = $2, updated_at = $3 WHERE id = $1",
            &[&id, &disabled, &now],
        )?;
        Ok(n == 1)
    }

    fn bump_counter(&mut self) -> Result<(), StoreError> {
        changes::bump(self.0)?;
        Ok(())
    }
}
