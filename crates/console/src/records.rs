//! What the console reads from and writes to the identity store, on either
//! backend: the store's own traits, and the list of accounts.

use cordon_store::screening::ScreeningStore;
use cordon_store::{AccountRecord, IdentityStore, PostgresStore, SqliteStore, StoreError};

/// The store as the console's pages use it.
pub trait Records: IdentityStore + ScreeningStore + Send + Sync {
    /// Up to `limit` accounts, by id, whose id or record contains `text`
    /// (all when it is empty), read by the store without loading the rest.
    ///
    /// # Errors
    /// Storage failures.
    fn find(&self, text: &str, limit: usize) -> Result<Vec<AccountRecord>, StoreError>;

    /// Changes top-level fields of an account's record (journaled by the
    /// store), as staff do when they verify someone by hand.
    ///
    /// # Errors
    /// The store's, naming a bad field.
    fn set_attributes(
        &self,
        id: &str,
        patch: serde_json::Value,
    ) -> Result<AccountRecord, StoreError>;

    /// How many accounts there are.
    ///
    /// # Errors
    /// Storage failures.
    fn count(&self) -> Result<u64, StoreError>;

    /// Journals a change made outside the store (a directive proposed or
    /// approved) under `actor`, so it reaches the audit log with the
    /// store's own changes.
    ///
    /// # Errors
    /// Storage failures.
    fn journal_as(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: serde_json::Value,
    ) -> Result<(), StoreError>;
}

/// Both stores answer with their own methods of the same names.
macro_rules! records {
    ($t:ty) => {
        impl Records for $t {
            fn find(&self, text: &str, limit: usize) -> Result<Vec<AccountRecord>, StoreError> {
                <$t>::find(self, text, limit)
            }

            fn count(&self) -> Result<u64, StoreError> {
                <$t>::count(self)
            }

            fn set_attributes(
                &self,
                id: &str,
                patch: serde_json::Value,
            ) -> Result<AccountRecord, StoreError> {
                <$t>::set_attributes(self, id, patch)
            }

            fn journal_as(
                &self,
                actor: &str,
                action: &str,
                subject: &str,
                details: serde_json::Value,
            ) -> Result<(), StoreError> {
                <$t>::journal_as(self, actor, action, subject, details)
            }
        }
    };
}
records!(SqliteStore);
records!(PostgresStore);
