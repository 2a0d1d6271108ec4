//! One way for the commands that manage accounts, keys, end users and
//! licences to open the identity store: a SQLite file or a `postgres://`
//! URL, used through one trait ([`Admin`]) so each command is written once
//! and prints the same for both.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use cordon_jurisdiction::Jurisdictions;
use cordon_store::end_users::RegisteredEndUser;
use cordon_store::{
    AccountRecord, IdentityStore, ImportFormat, ImportOptions, ImportReport, IssuedKey, KeyInfo,
    LicenceRecord, PostgresStore, SqliteStore, StoreError, is_postgres_url,
};
use serde_json::{Map, Value};

/// What the store-managing commands need beyond [`IdentityStore`]; both
/// stores have each of these with the same rules.
pub trait Admin: IdentityStore {
    /// The country and region tables subjects are validated against.
    fn jurisdictions(&self) -> &'static Jurisdictions;
    /// Adds an account.
    fn add_account(&self, id: &str, subject: Value) -> Result<AccountRecord, StoreError>;
    /// Changes top-level subject fields of an account's record.
    fn set_attributes(&self, id: &str, patch: Value) -> Result<AccountRecord, StoreError>;
    /// Every account, by id.
    fn list(&self) -> Result<Vec<AccountRecord>, StoreError>;
    /// Disables an account.
    fn disable(&self, id: &str) -> Result<AccountRecord, StoreError>;
    /// Enables an account.
    fn enable(&self, id: &str) -> Result<AccountRecord, StoreError>;
    /// Imports accounts from CSV or JSON Lines.
    fn import(
        &self,
        reader: &mut dyn Read,
        format: ImportFormat,
        options: ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport, StoreError>;
    /// Issues an API key.
    fn create_key(&self, account: &str, label: Option<&str>) -> Result<IssuedKey, StoreError>;
    /// An account's keys.
    fn list_keys(&self, account: &str) -> Result<Vec<KeyInfo>, StoreError>;
    /// Revokes a key.
    fn revoke_key(&self, prefix: &str) -> Result<KeyInfo, StoreError>;
    /// An account's record and what its subject is derived from.
    fn derivation(
        &self,
        account: &str,
    ) -> Result<(Map<String, Value>, cordon_verification::Derived), StoreError>;
    /// The end users registered for an organisation.
    fn end_users(&self, organization: &str) -> Result<Vec<RegisteredEndUser>, StoreError>;
    /// Every licence.
    fn licences(&self) -> Result<Vec<LicenceRecord>, StoreError>;
    /// One licence.
    fn licence(&self, number: &str) -> Result<Option<LicenceRecord>, StoreError>;
    /// Approves a pending licence.
    fn approve_licence(&self, number: &str) -> Result<LicenceRecord, StoreError>;
    /// Revokes a licence.
    fn revoke_licence(&self, number: &str) -> Result<LicenceRecord, StoreError>;
}

macro_rules! admin {
    ($t:ty) => {
        impl Admin for $t {
            fn jurisdictions(&self) -> &'static Jurisdictions {
                <$t>::jurisdictions(self)
            }
            fn add_account(&self, id: &str, subject: Value) -> Result<AccountRecord, StoreError> {
                <$t>::add_account(self, id, subject)
            }
            fn set_attributes(&self, id: &str, patch: Value) -> Result<AccountRecord, StoreError> {
                <$t>::set_attributes(self, id, patch)
            }
            fn list(&self) -> Result<Vec<AccountRecord>, StoreError> {
                <$t>::list(self)
            }
            fn disable(&self, id: &str) -> Result<AccountRecord, StoreError> {
                <$t>::disable(self, id)
            }
            fn enable(&self, id: &str) -> Result<AccountRecord, StoreError> {
                <$t>::enable(self, id)
            }
            fn import(
                &self,
                reader: &mut dyn Read,
                format: ImportFormat,
                options: ImportOptions,
                progress: &mut dyn FnMut(u64),
            ) -> Result<ImportReport, StoreError> {
                <$t>::import(self, reader, format, options, progress)
            }
            fn create_key(
                &self,
                account: &str,
                label: Option<&str>,
            ) -> Result<IssuedKey, StoreError> {
                <$t>::create_key(self, account, label)
            }
            fn list_keys(&self, account: &str) -> Result<Vec<KeyInfo>, StoreError> {
                <$t>::list_keys(self, account)
            }
            fn revoke_key(&self, prefix: &str) -> Result<KeyInfo, StoreError> {
                <$t>::revoke_key(self, prefix)
            }
            fn derivation(
                &self,
                account: &str,
            ) -> Result<(Map<String, Value>, cordon_verification::Derived), StoreError> {
                <$t>::derivation(self, account)
            }
            fn end_users(&self, organization: &str) -> Result<Vec<RegisteredEndUser>, StoreError> {
                <$t>::end_users(self, organization)
            }
            fn licences(&self) -> Result<Vec<LicenceRecord>, StoreError> {
                <$t>::licences(self)
            }
            fn licence(&self, number: &str) -> Result<Option<LicenceRecord>, StoreError> {
                <$t>::licence(self, number)
            }
            fn approve_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
                <$t>::approve_licence(self, number)
            }
            fn revoke_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
                <$t>::revoke_licence(self, number)
            }
        }
    };
}
admin!(SqliteStore);
admin!(PostgresStore);

/// Whether a SQLite store that does not exist yet is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Create the file and its directory (commands that add things).
    Create,
    /// Refuse: a command that reads or changes what is there never creates
    /// an empty store by a mistyped path.
    Refuse,
}

/// Opens the store at `location`: a PostgreSQL store for a `postgres://`
/// URL (it must be migrated), else a SQLite file. Changes are attributed
/// to `actor` when one is given.
///
/// # Errors
/// A SQLite file that does not exist with [`Missing::Refuse`], or any
/// failure to open or connect, with what to do about it.
pub fn open(location: &Path, missing: Missing, actor: Option<&str>) -> Result<Box<dyn Admin>> {
    if let Some(url) = location.to_str().filter(|l| is_postgres_url(l)) {
        let store = PostgresStore::connect(url)?.with_clock(crate::clock::now);
        return Ok(match actor {
            Some(actor) => Box::new(store.with_actor(actor)),
            None => Box::new(store),
        });
    }
    let store = match missing {
        Missing::Create => super::accounts::open_store(location)?,
        Missing::Refuse => {
            if !location.is_file() {
                bail!(
                    "the identity store `{}` does not exist (create accounts with `cordon accounts --store {} add`)",
                    location.display(),
                    location.display()
                );
            }
            SqliteStore::open(location)
                .with_context(|| {
                    format!("cannot open the identity store `{}`", location.display())
                })?
                .with_clock(crate::clock::now)
        }
    };
    Ok(match actor {
        Some(actor) => Box::new(store.with_actor(actor)),
        None => Box::new(store),
    })
}
