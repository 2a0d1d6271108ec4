//! API keys in PostgreSQL: issuing, revoking, listing and authenticating,
//! with the key format and checks of [`crate::key`] shared with SQLite.

use ::postgres::GenericClient;
use serde_json::json;

use super::{PostgresStore, accounts, changes, licences};
use crate::account::{parse_json, stored_subject};
use crate::key::{self, RawKey, key_from_raw};
use crate::{IssuedKey, KeyInfo, Principal, StoreError};

const KEY_COLUMNS: &str = "prefix, account, label, created_at, revoked_at";

impl PostgresStore {
    /// Issues a new API key for `account`. The full key is in the result and
    /// nowhere else: only the SHA-256 of its secret is stored.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`], [`StoreError::Random`],
    /// [`StoreError::InvalidPatch`] for a label over 200 characters or with
    /// control characters, [`StoreError::PrefixExhausted`]; storage failures.
    pub fn create_key(&self, account: &str, label: Option<&str>) -> Result<IssuedKey, StoreError> {
        let label = key::label(account, label)?;
        let now = self.now();
        self.write(|tx| {
            if !accounts::exists(tx, account)? {
                return Err(StoreError::AccountNotFound {
                    id: account.to_owned(),
                });
            }
            let k = key::issue(&*self.random, |k| {
                let inserted = tx.execute(
                    "INSERT INTO api_keys (prefix, account, secret_hash, label, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (prefix) DO NOTHING",
                    &[&k.prefix, &account, &k.hash.as_slice(), &label, &now],
                )?;
                Ok(inserted == 1)
            })?;
            let visible = key::visible(&k.prefix);
            changes::record(
                tx,
                &now,
                &self.actor,
                "key.created",
                &visible,
                json!({ "account": account, "label": label }),
            )?;
            changes::bump(tx)?;
            Ok(IssuedKey {
                prefix: visible,
                account: account.to_owned(),
                key: k.key,
            })
        })
    }

    /// Revokes a key, named by its prefix (`ck_1a2b3c4d`, `1a2b3c4d`, or the
    /// full key). Every node refuses it once the change is committed.
    ///
    /// # Errors
    /// [`StoreError::InvalidKeyPrefix`], [`StoreError::KeyNotFound`],
    /// [`StoreError::KeyAlreadyRevoked`]; storage failures.
    pub fn revoke_key(&self, prefix: &str) -> Result<KeyInfo, StoreError> {
        let p = key::normalize_prefix(prefix)?;
        let now = self.now();
        let not_found = || StoreError::KeyNotFound {
            prefix: key::visible(&p),
        };
        self.write(|tx| {
            let k = read_key(tx, &p, " FOR UPDATE")?.ok_or_else(not_found)?;
            if k.revoked_at.is_some() {
                return Err(StoreError::KeyAlreadyRevoked { prefix: k.prefix });
            }
            tx.execute(
                "UPDATE api_keys SET revoked_at = $2 WHERE prefix = $1",
                &[&p, &now],
            )?;
            changes::record(
                tx,
                &now,
                &self.actor,
                "key.revoked",
                &k.prefix,
                json!({ "account": k.account }),
            )?;
            changes::bump(tx)?;
            read_key(tx, &p, "")?.ok_or_else(not_found)
        })
    }

    /// The keys of an account, revoked ones included, oldest first.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`]; storage failures.
    pub fn list_keys(&self, account: &str) -> Result<Vec<KeyInfo>, StoreError> {
        let mut client = self.client()?;
        if !accounts::exists(&mut *client, account)? {
            return Err(StoreError::AccountNotFound {
                id: account.to_owned(),
            });
        }
        client
            .query(
                &format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE account = $1 ORDER BY created_at, prefix"
                ),
                &[&account],
            )?
            .iter()
            .map(|r| key_from_row(r).and_then(key_from_raw))
            .collect()
    }
}

/// [`IdentityStore::authenticate`](crate::IdentityStore::authenticate) for
/// PostgreSQL: one indexed read, the same checks as SQLite, then the active
/// licences the account holds attached, all in one read-only transaction.
pub(super) fn authenticate(
    store: &PostgresStore,
    presented: &str,
) -> Result<Option<Principal>, StoreError> {
    let Some((prefix, secret)) = key::parse(presented) else {
        return Ok(None);
    };
    store.read(|tx| {
        let row = tx.query_opt(
            "SELECT k.account, k.secret_hash, k.revoked_at IS NOT NULL, a.disabled, a.subject::text
             FROM api_keys k JOIN accounts a ON a.id = k.account
             WHERE k.prefix = $1",
            &[&prefix],
        )?;
        let Some(row) = row else { return Ok(None) };
        let account: String = row.try_get(0)?;
        let hash: Vec<u8> = row.try_get(1)?;
        let revoked: bool = row.try_get(2)?;
        let disabled: bool = row.try_get(3)?;
        let subject: String = row.try_get(4)?;
        if !key::accepts(&hash, secret, revoked, disabled) {
            return Ok(None);
        }
        let mut subject = stored_subject(
            &account,
            &parse_json(&account, &subject)?,
            store.jurisdictions,
        )?;
        licences::attach(tx, &account, &mut subject, store.jurisdictions)?;
        Ok(Some(Principal {
            account,
            key_prefix: key::visible(prefix),
            subject,
        }))
    })
}

/// The key with this prefix (8 hex characters); `lock` is appended to the
/// query (`" FOR UPDATE"` inside a change).
fn read_key(
    client: &mut impl GenericClient,
    prefix: &str,
    lock: &str,
) -> Result<Option<KeyInfo>, StoreError> {
    client
        .query_opt(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE prefix = $1{lock}"),
            &[&prefix],
        )?
        .map(|r| key_from_row(&r).and_then(key_from_raw))
        .transpose()
}

fn key_from_row(r: &::postgres::Row) -> Result<RawKey, StoreError> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
    ))
}
