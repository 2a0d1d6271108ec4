//! The identity store: accounts, their attributes with provenance, and API keys.
//!
//! The gateway sees the store through [`IdentityStore`]: it turns a presented
//! API key into a [`Principal`] (the account and its [`Subject`]), and exposes
//! a change counter ([`IdentityStore::version`]) so callers can cache subjects
//! and drop the cache when anything changes. [`SqliteStore`] is the embedded
//! implementation (one SQLite file, no setup); [`PostgresStore`] implements
//! the same trait for many gateway nodes sharing one database.
//!
//! Subjects are stored as subject records (schema: `docs/subjects.md`) and
//! validated with [`SubjectRecord::into_subject`](cordon_subject::SubjectRecord::into_subject)
//! on every write, so a stored account always yields a subject.
//!
//! API keys look like `ck_1a2b3c4d_<48 base32 characters>`; only the SHA-256
//! of the secret part is stored, and it is compared in constant time. See
//! `docs/accounts.md`.
//!
//! Licences are records of their own ([`licence`]): recorded by staff or
//! submitted by the holder organisation, approved and revoked, and attached
//! to the subject of every account they cover whenever the store builds a
//! subject for a decision.
//!
//! The store also keeps restricted-party screening: list snapshots, hits,
//! reviewers' dispositions, and [`screening::rescreen`], which keeps every
//! account's `screening` attribute in step with the lists.
#![deny(missing_docs)]

mod account;
pub mod changes;
mod clock;
pub mod copy;
pub mod end_users;
mod error;
pub mod evidence;
pub mod fleet;
mod import;
mod key;
pub mod licence;
mod migrations;
pub mod postgres;
pub mod provider_objects;
pub mod screening;
mod sqlite;

use std::sync::Arc;

pub use account::{AccountRecord, MAX_ACCOUNT_ID_LEN, validate_account_id};
pub use changes::{AdminChange, ChangeJournal};
pub use clock::Clock;
use cordon_subject::{Licence, Subject};
pub use error::StoreError;
pub use evidence::{Delivered, Intake, Rederived};
pub use fleet::{Fleet, NodeReport};
pub use import::{CSV_COLUMNS, DEFAULT_BATCH, ImportFormat, ImportOptions, ImportReport, RowError};
use jiff::Timestamp;
pub use key::{KEY_TAG, PREFIX_LEN, SECRET_LEN};
pub use licence::{LicenceIndex, LicenceRecord, LicenceSource, LicenceStatus};
pub use postgres::{PostgresStore, is_postgres_url};
pub use provider_objects::{ObjectKind, ProviderObject};
pub use sqlite::SqliteStore;

/// The newest schema version of the identity store this build knows; a
/// file from a newer one is refused ([`StoreError::SchemaTooNew`]).
pub fn supported_schema() -> i64 {
    sqlite::latest_schema()
}

/// What the gateway needs from an identity store.
///
/// Implementations must be cheap to share between request handlers; callers
/// are expected to cache [`Principal`]s and re-read them when
/// [`version`](IdentityStore::version) changes.
pub trait IdentityStore: Send + Sync {
    /// The principal a presented API key belongs to.
    ///
    /// Returns `Ok(None)` for anything that does not authenticate: text not in
    /// the key format, an unknown prefix, a wrong secret, a revoked key, a
    /// disabled account. The secret is compared in constant time.
    ///
    /// # Errors
    /// Only storage failures ([`StoreError::Storage`], [`StoreError::Corrupt`]).
    fn authenticate(&self, presented: &str) -> Result<Option<Principal>, StoreError>;

    /// The account with this id, if any.
    ///
    /// # Errors
    /// Only storage failures.
    fn account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError>;

    /// The subject decisions about account `id` see: its stored subject
    /// with the active licences it holds attached, as
    /// [`authenticate`](IdentityStore::authenticate) builds it; `None` for
    /// an unknown account.
    ///
    /// # Errors
    /// Only storage failures, or [`StoreError::Corrupt`].
    fn subject(&self, id: &str) -> Result<Option<Subject>, StoreError>;

    /// Records a licence ([`SqliteStore::record_licence`]): active from
    /// staff, pending from the holder organisation.
    ///
    /// # Errors
    /// [`StoreError::InvalidLicence`] naming the field,
    /// [`StoreError::LicenceExists`], or storage failures.
    fn record_licence(
        &self,
        licence: &Licence,
        source: LicenceSource,
    ) -> Result<LicenceRecord, StoreError>;

    /// A counter that increases with every change to accounts, attributes or keys.
    ///
    /// # Errors
    /// Only storage failures.
    fn version(&self) -> Result<u64, StoreError>;

    /// Records a verification event: its delivery, its evidence, the
    /// subject derived again, in one transaction ([`SqliteStore::record_event`]).
    ///
    /// # Errors
    /// Only storage failures.
    fn record_event(&self, delivered: Delivered<'_>) -> Result<Intake, StoreError>;

    /// Records several events, one outcome each in order; an implementation
    /// commits them together where it can (one sync for the batch).
    ///
    /// # Errors
    /// Only storage failures; an error may leave none of them recorded.
    fn record_events(&self, batch: &[Delivered<'_>]) -> Result<Vec<Intake>, StoreError> {
        batch.iter().map(|d| self.record_event(*d)).collect()
    }

    /// Journals a delivery that authenticated but was refused.
    ///
    /// # Errors
    /// Only storage failures.
    fn record_rejection(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        payload_sha256: &str,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// Every evidence row of an account, oldest first.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`] or storage failures.
    fn evidence(&self, account: &str) -> Result<Vec<cordon_verification::Evidence>, StoreError>;

    /// The member account an end user behind organisation `organization`'s
    /// key resolves to ([`SqliteStore::end_user_account`]).
    ///
    /// # Errors
    /// Only storage failures.
    fn end_user(
        &self,
        organization: &str,
        end_user: Option<&str>,
    ) -> Result<Option<end_users::EndUserAccount>, StoreError>;

    /// Registers end users of an organisation, all or none
    /// ([`SqliteStore::register_end_users`]).
    ///
    /// # Errors
    /// As [`SqliteStore::register_end_users`].
    fn register_end_users(
        &self,
        organization: &str,
        registrations: &[end_users::Registration],
    ) -> Result<end_users::Registered, StoreError>;

    /// Removes end users of an organisation ([`SqliteStore::remove_end_users`]).
    ///
    /// # Errors
    /// As [`SqliteStore::remove_end_users`].
    fn remove_end_users(
        &self,
        organization: &str,
        end_users: &[String],
    ) -> Result<usize, StoreError>;

    /// Derives again the subjects whose evidence expired since, at most
    /// `limit`; returns the accounts that changed
    /// ([`SqliteStore::rederive_due`]).
    ///
    /// # Errors
    /// Only storage failures.
    fn rederive_due(&self, limit: usize) -> Result<Rederived, StoreError>;

    /// Records which account owns an object the provider keeps
    /// ([`SqliteStore::record_object`]).
    ///
    /// # Errors
    /// As [`SqliteStore::record_object`].
    fn record_object(&self, object: &ProviderObject) -> Result<(), StoreError>;

    /// The recorded provider object ([`SqliteStore::object`]).
    ///
    /// # Errors
    /// Only storage failures.
    fn object(&self, kind: ObjectKind, id: &str) -> Result<Option<ProviderObject>, StoreError>;

    /// Forgets a provider object ([`SqliteStore::forget_object`]).
    ///
    /// # Errors
    /// Only storage failures.
    fn forget_object(&self, kind: ObjectKind, id: &str) -> Result<bool, StoreError>;
}

impl<T: IdentityStore + ?Sized> IdentityStore for Arc<T> {
    fn authenticate(&self, presented: &str) -> Result<Option<Principal>, StoreError> {
        (**self).authenticate(presented)
    }

    fn account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        (**self).account(id)
    }

    fn subject(&self, id: &str) -> Result<Option<Subject>, StoreError> {
        (**self).subject(id)
    }

    fn record_licence(
        &self,
        licence: &Licence,
        source: LicenceSource,
    ) -> Result<LicenceRecord, StoreError> {
        (**self).record_licence(licence, source)
    }

    fn version(&self) -> Result<u64, StoreError> {
        (**self).version()
    }

    fn record_event(&self, delivered: Delivered<'_>) -> Result<Intake, StoreError> {
        (**self).record_event(delivered)
    }

    fn record_events(&self, batch: &[Delivered<'_>]) -> Result<Vec<Intake>, StoreError> {
        (**self).record_events(batch)
    }

    fn record_rejection(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        payload_sha256: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        (**self).record_rejection(source, delivery_id, payload_sha256, reason)
    }

    fn evidence(&self, account: &str) -> Result<Vec<cordon_verification::Evidence>, StoreError> {
        (**self).evidence(account)
    }

    fn end_user(
        &self,
        organization: &str,
        end_user: Option<&str>,
    ) -> Result<Option<end_users::EndUserAccount>, StoreError> {
        (**self).end_user(organization, end_user)
    }

    fn register_end_users(
        &self,
        organization: &str,
        registrations: &[end_users::Registration],
    ) -> Result<end_users::Registered, StoreError> {
        (**self).register_end_users(organization, registrations)
    }

    fn remove_end_users(
        &self,
        organization: &str,
        end_users: &[String],
    ) -> Result<usize, StoreError> {
        (**self).remove_end_users(organization, end_users)
    }

    fn rederive_due(&self, limit: usize) -> Result<Rederived, StoreError> {
        (**self).rederive_due(limit)
    }

    fn record_object(&self, object: &ProviderObject) -> Result<(), StoreError> {
        (**self).record_object(object)
    }

    fn object(&self, kind: ObjectKind, id: &str) -> Result<Option<ProviderObject>, StoreError> {
        (**self).object(kind, id)
    }

    fn forget_object(&self, kind: ObjectKind, id: &str) -> Result<bool, StoreError> {
        (**self).forget_object(kind, id)
    }
}

/// Who a request comes from, once its API key has authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The account id.
    pub account: String,
    /// The key's visible prefix (`ck_1a2b3c4d`), for logs.
    pub key_prefix: String,
    /// The account's subject, with `id` set to the account id and the
    /// active licences it holds attached.
    pub subject: Subject,
}

/// A key just created: the only time its full text is available.
///
/// `Debug` shows the prefix and hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedKey {
    /// The visible prefix (`ck_1a2b3c4d`) that names the key in lists and logs.
    pub prefix: String,
    /// The account the key belongs to.
    pub account: String,
    /// The full key (`ck_1a2b3c4d_…`), to hand to the customer once.
    pub key: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey")
            .field("prefix", &self.prefix)
            .field("account", &self.account)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// An API key as listed: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// The visible prefix (`ck_1a2b3c4d`).
    pub prefix: String,
    /// The account it belongs to.
    pub account: String,
    /// A free-text label given at creation.
    pub label: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}
