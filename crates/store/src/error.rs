//! The one error type of the identity store.

use cordon_subject::RecordError;

/// Why an identity-store operation failed.
///
/// Authentication failures are not errors: [`IdentityStore::authenticate`]
/// answers `Ok(None)` for a bad, unknown, revoked or disabled key, and only
/// storage failures are `Err`.
///
/// [`IdentityStore::authenticate`]: crate::IdentityStore::authenticate
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or created.
    #[error("cannot open the identity store `{path}`: {source}")]
    Open {
        /// The database file.
        path: String,
        /// What SQLite or the file system said.
        #[source]
        source: rusqlite::Error,
    },
    /// SQLite would not use write-ahead logging for the file.
    #[error(
        "cannot switch the identity store `{path}` to WAL journal mode (SQLite kept `{mode}`); put it on a local file system"
    )]
    JournalMode {
        /// The database file.
        path: String,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// A query or write failed in SQLite (disk full, locked too long, corrupt file).
    #[error("identity store: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The PostgreSQL store's address is not a usable `postgres://` URL.
    #[error("the PostgreSQL identity store address is not usable: {message}")]
    InvalidStoreUrl {
        /// What is wrong with it (never the password).
        message: String,
    },
    /// A `postgres://` URL was given where only a SQLite store file will do.
    #[error(
        "a `postgres://` URL names a PostgreSQL identity store, but this needs a SQLite store file (PostgreSQL stores work with `cordon store migrate`, `cordon lists`, `cordon screen`, and `cordon accounts` add, keys create and keys revoke, for now)"
    )]
    NotSqlite,
    /// The PostgreSQL server could not be reached or refused the connection.
    #[error("cannot connect to the PostgreSQL identity store `{target}`: {source}{remedy}")]
    PostgresConnect {
        /// The server and database, without the password.
        target: String,
        /// What the client or server said.
        #[source]
        source: postgres::Error,
        /// What to do about it, when the cause is known (starts with `; `).
        remedy: &'static str,
    },
    /// A query or write failed in PostgreSQL (connection lost, constraint, server error).
    #[error("identity store (PostgreSQL): {}", postgres_detail(.0))]
    Postgres(#[from] postgres::Error),
    /// The PostgreSQL store lacks schema migrations this build needs.
    #[error(
        "the PostgreSQL identity store lacks schema migration(s) {missing}; run `cordon store migrate --store <URL>` first"
    )]
    SchemaBehind {
        /// The missing versions, comma-separated.
        missing: String,
    },
    /// An operation the PostgreSQL store does not have yet.
    #[error(
        "the PostgreSQL identity store does not support {operation} yet; use a SQLite store (a file path) for it"
    )]
    Unsupported {
        /// What was asked, e.g. `recording licences`.
        operation: &'static str,
    },
    /// The database was written by a newer Cordon with a schema this build does not know.
    #[error(
        "the identity store has schema version {found}, newer than the {supported} this build of cordon knows; upgrade cordon"
    )]
    SchemaTooNew {
        /// The version found in the file.
        found: i64,
        /// The newest version this build can migrate to.
        supported: i64,
    },
    /// A stored row cannot be read back (edited by hand, or written by a broken build).
    #[error("the identity store is corrupt: {0}")]
    Corrupt(String),
    /// The operating system's random number generator failed.
    #[error("cannot read random bytes for an API key: {0}")]
    Random(String),
    /// The shipped country and region tables could not be loaded.
    #[error("the shipped jurisdiction data is broken: {0}")]
    Jurisdictions(String),
    /// An account id is empty, too long or uses characters outside `[a-z0-9._-]`.
    #[error(
        "account id `{id}` is invalid: use 1 to 64 characters of lowercase `a`-`z`, digits, `.`, `_` and `-`"
    )]
    InvalidAccountId {
        /// The id as given.
        id: String,
    },
    /// An account with this id already exists.
    #[error("account `{id}` already exists (use `set` to change its attributes)")]
    AccountExists {
        /// The id.
        id: String,
    },
    /// No account has this id.
    #[error("account `{id}` does not exist")]
    AccountNotFound {
        /// The id.
        id: String,
    },
    /// The subject (or the subject after a patch) is not a valid subject record.
    #[error("account `{id}`: {source}")]
    InvalidSubject {
        /// The account id.
        id: String,
        /// The field and what is wrong with it.
        #[source]
        source: RecordError,
    },
    /// After a copy the two stores do not hold the same rows.
    #[error(
        "the copy does not match its source in `{table}` (source sha256 {source_sha256}, copied {copied_sha256}): rows there differ from the source (changed since an earlier copy?); copy into an empty store"
    )]
    CopyMismatch {
        /// The table that differs.
        table: &'static str,
        /// The source's hash.
        source_sha256: String,
        /// The copy's hash.
        copied_sha256: String,
    },
    /// A shipment of a node's audit log that would not extend what is
    /// shipped exactly, or a node shipping under another key.
    #[error("the audit log of node `{node}`: {message}")]
    ShippedLog {
        /// The node.
        node: String,
        /// What was wrong.
        message: String,
    },
    /// A bundle id that is not one.
    #[error("`{id}` is not a bundle id (`sha256:` and 64 lowercase hexadecimal digits)")]
    InvalidBundleId {
        /// The id as given.
        id: String,
    },
    /// A subject or patch is well-formed JSON but not usable as such.
    #[error("account `{id}`: {message}")]
    InvalidPatch {
        /// The account id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// No API key has this prefix.
    #[error("no API key has the prefix `{prefix}`")]
    KeyNotFound {
        /// The prefix as given.
        prefix: String,
    },
    /// The text given as a key prefix is not one.
    #[error("`{prefix}` is not an API key prefix: expected `ck_` and 8 characters of 0-9 and a-f")]
    InvalidKeyPrefix {
        /// The text as given.
        prefix: String,
    },
    /// The key is already revoked.
    #[error("API key `{prefix}` is already revoked")]
    KeyAlreadyRevoked {
        /// The visible prefix.
        prefix: String,
    },
    /// Every random prefix tried was taken (practically impossible unless the random source is broken).
    #[error("no unused API key prefix found after {tries} tries; is the random source broken?")]
    PrefixExhausted {
        /// How many prefixes were tried.
        tries: u32,
    },
    /// The import file could not be read (an I/O error, not a bad row).
    #[error("cannot read the import input: {0}")]
    Read(#[from] std::io::Error),
    /// The CSV header is missing, lacks `id`, or names an unknown or repeated column.
    #[error("CSV header: {0}")]
    CsvHeader(String),
    /// A list snapshot has two entries with the same list and id.
    #[error(
        "the list snapshot has two entries with id `{uid}` on `{list}`; a list's ids must be unique"
    )]
    DuplicateListEntry {
        /// The list code.
        list: String,
        /// The repeated id.
        uid: String,
    },
    /// No list snapshot has this id.
    #[error("list snapshot `{id}` does not exist")]
    SnapshotNotFound {
        /// The id as given.
        id: i64,
    },
    /// A disposition names a hit the account does not have now.
    #[error(
        "account `{account}` has no current screening hit on `{list}` entry `{uid}`; see its hits, or re-screen first"
    )]
    HitNotFound {
        /// The account.
        account: String,
        /// The list code.
        list: String,
        /// The entry id.
        uid: String,
    },
    /// A disposition names a hit derived by the 50 percent rule.
    #[error(
        "the `{list}` hit of account `{account}` is derived from its owners by the 50 percent rule; review the owners' hits instead"
    )]
    DerivedHit {
        /// The account.
        account: String,
        /// The list code.
        list: String,
    },
    /// A disposition has no reviewer, or a reviewer or note that cannot be stored.
    #[error("disposition for account `{account}`: {message}")]
    InvalidDisposition {
        /// The account.
        account: String,
        /// What is wrong.
        message: String,
    },
    /// A licence is not usable as given; names the field (`holder`,
    /// `individuals[1]`, `expires`).
    #[error("licence `{number}`: `{field}`: {message}")]
    InvalidLicence {
        /// The licence number.
        number: String,
        /// The field, as in the licence's JSON form.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A licence with this number is already recorded.
    #[error(
        "licence `{number}` is already recorded ({status}); a number is recorded once, so check `cordon licences show {number}`"
    )]
    LicenceExists {
        /// The number.
        number: String,
        /// The status of the one on record.
        status: &'static str,
    },
    /// No licence has this number.
    #[error("no licence has the number `{number}`; `cordon licences list` shows them")]
    LicenceNotFound {
        /// The number as given.
        number: String,
    },
    /// A licence is not in a status that allows the change.
    #[error("licence `{number}` is {status}, so it cannot be {action}")]
    LicenceStatus {
        /// The number.
        number: String,
        /// Its status.
        status: &'static str,
        /// What was asked: `approved` or `revoked`.
        action: &'static str,
    },
    /// A subject record given for an account lists licences, which are
    /// records of their own.
    #[error(
        "account `{id}`: subject field `licences` cannot be written into an account; record licences with `cordon licences add` (they are attached to the subjects they cover)"
    )]
    LicencesInRecord {
        /// The account id.
        id: String,
    },
    /// A provider object id is already recorded for another account: the
    /// provider handed out one id twice, or a record was edited by hand.
    #[error("{kind} `{id}` is already recorded for another account; the first owner is kept")]
    ObjectOwned {
        /// The object kind (`response`, `file`, …).
        kind: &'static str,
        /// The provider's id.
        id: String,
    },
}

/// A PostgreSQL error with what the server said: the client's own text of a
/// server error is only "db error". A statement cancelled by
/// `statement_timeout` names the setting that bounds it.
fn postgres_detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) if *db.code() == postgres::error::SqlState::QUERY_CANCELED => format!(
            "{} (statements are bounded by `postgres.statement_timeout_ms`; a lock held elsewhere or an overloaded server makes them wait)",
            db.message()
        ),
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}
