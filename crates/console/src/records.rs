//! What the console reads from and writes to the identity store, on either
//! backend: the store's own traits, and the list of accounts.

use cordon_store::screening::ScreeningStore;
use cordon_store::{
    AccountRecord, IdentityStore, LicenceIndex, PostgresStore, SqliteStore, StoreError,
};
use cordon_subject::Subject;

/// Accounts handed to a scan at a time.
const SCAN_CHUNK: usize = 4096;

/// One account of a scan: its id, its subject record as stored JSON text,
/// and whether it is disabled.
pub type AccountText = (String, String, bool);

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

    /// Calls `f` with every account, in id order, a chunk at a time, for
    /// an impact simulation over the whole store.
    ///
    /// # Errors
    /// Storage failures, or the first error `f` returns.
    fn scan(
        &self,
        f: &mut dyn FnMut(Vec<AccountText>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// The active licences of every account they cover, attached as the
    /// gateway attaches them.
    ///
    /// # Errors
    /// Storage failures.
    fn licence_index(&self) -> Result<LicenceIndex, StoreError>;

    /// Attaches to `subject`, taken as `account`'s, the active licences it
    /// holds, judged against `subject` as given.
    ///
    /// # Errors
    /// Storage failures.
    fn attach_licences(&self, account: &str, subject: &mut Subject) -> Result<(), StoreError>;
}

/// Both stores answer with their own methods of the same names; `$scan`
/// is how each reads every account.
macro_rules! records {
    ($t:ty, $scan:expr) => {
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

            fn scan(
                &self,
                f: &mut dyn FnMut(Vec<AccountText>) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                $scan(self, f)
            }

            fn licence_index(&self) -> Result<LicenceIndex, StoreError> {
                <$t>::licence_index(self)
            }

            fn attach_licences(
                &self,
                account: &str,
                subject: &mut Subject,
            ) -> Result<(), StoreError> {
                <$t>::attach_licences(self, account, subject)
            }
        }
    };
}
records!(SqliteStore, |s: &SqliteStore, f| s
    .for_each_account_text_chunk(SCAN_CHUNK, f));
// PostgreSQL has no streaming scan yet: the accounts are read in one query.
records!(PostgresStore, |s: &PostgresStore,
                         f: &mut dyn FnMut(
    Vec<AccountText>,
) -> Result<
    (),
    StoreError,
>| {
    let all = s.list()?;
    for chunk in all.chunks(SCAN_CHUNK) {
        f(chunk
            .iter()
            .map(|a| (a.id.clone(), a.subject.to_string(), a.disabled))
            .collect())?;
    }
    Ok(())
});
