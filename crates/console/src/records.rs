//! What the console reads from and writes to the identity store, on either
//! backend: the store's own traits, and the list of accounts.

use cordon_store::screening::ScreeningStore;
use cordon_store::{AccountRecord, IdentityStore, PostgresStore, SqliteStore, StoreError};

/// The store as the console's pages use it.
pub trait Records: IdentityStore + ScreeningStore + Send + Sync {
    /// Every account, by id.
    ///
    /// # Errors
    /// Storage failures.
    fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError>;
}

impl Records for SqliteStore {
    fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.list()
    }
}

impl Records for PostgresStore {
    fn accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.list()
    }
}
