//! Accounts in PostgreSQL: adding one, reading one, and its subject.

use ::postgres::GenericClient;
use cordon_subject::Subject;
use serde_json::{Map, Value, json};

use super::{PostgresStore, changes, licences, screening};
use crate::account::{RawAccount, account_from_raw, canonical_subject, validate_account_id};
use crate::{AccountRecord, StoreError};

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
            if !insert_account(tx, id, &subject, &now)? {
                return Err(StoreError::AccountExists { id: id.to_owned() });
            }
            changes::record(
                tx,
                &now,
                &self.actor,
                "account.created",
                id,
                json!({ "subject": subject }),
            )?;
            screening::screen_accounts(
                tx,
                self.jurisdictions,
                &[id],
                lists.as_ref(),
                (self.clock)(),
            )?;
            changes::bump(tx)?;
            read_account(tx, id)?.ok_or_else(|| StoreError::AccountNotFound { id: id.to_owned() })
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
        self.read(|tx| crate::licence::subject(&mut licences::Pg(tx), id, self.jurisdictions))
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
    let Some(r) = client.query_opt(
        "SELECT id, subject::text, disabled, created_at, updated_at FROM accounts WHERE id = $1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let raw: RawAccount = (
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
    );
    account_from_raw(raw).map(Some)
}
