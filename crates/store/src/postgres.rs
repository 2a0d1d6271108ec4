//! The shared identity store: one PostgreSQL database for many gateway nodes.
//!
//! The client is the synchronous `postgres` crate (rust-postgres). The
//! store's API ([`IdentityStore`]) is synchronous and the gateway already
//! calls it from blocking threads, so a blocking client fits it without
//! carrying an async runtime through the store; the crate drives
//! `tokio-postgres` on a private current-thread runtime, speaks the protocol
//! in Rust (no libpq to install), and has `LISTEN`/`NOTIFY`, which nodes use
//! to drop their caches. Like every call of the store, its calls must not be
//! made from inside an async task.
//!
//! Every change bumps the change counter and sends `NOTIFY` on [`CHANNEL`]
//! with the new version, both in the change's own transaction: a listener
//! hears of a change only once it is committed, and a node that polls
//! [`IdentityStore::version`] instead sees it on its next poll.
//!
//! Keys are stored and checked exactly as in SQLite (the SHA-256 of the
//! secret, compared in constant time), and rows read back through the same
//! conversions, so both backends answer alike. The rules of each domain
//! (who may register an end user, when a licence is attached, how evidence
//! derives a subject) are written once and shared with SQLite; each
//! PostgreSQL module here only reads and writes its rows. Here: accounts
//! (added, changed, disabled and enabled, listed, imported from CSV or JSON
//! Lines), API keys, the change journal and the change counter, the
//! fleet's node reports and shipped audit logs, the fleet's published
//! directive bundles, provider objects, end users behind an organisation's
//! key, licences, evidence with the verification events it comes from, so
//! every operation of [`IdentityStore`] is here, and restricted-party
//! screening ([`crate::screening::ScreeningStore`]): list snapshots, hits,
//! reviewers' dispositions and re-screening, with accounts screened against
//! the active snapshot as they are added, imported, registered as end users
//! or given a new name, exactly as in SQLite.

mod accounts;
mod bundles;
mod changes;
mod end_users;
mod evidence;
mod fleet;
mod keys;
mod licences;
mod notify;
mod pool;
mod provider_objects;
mod rows;
mod schema;
mod screening;
mod shipped;

use std::time::Duration;

use ::postgres::{Client, Config, NoTls, Transaction};
use cordon_jurisdiction::Jurisdictions;
use cordon_subject::{Licence, Subject};
use jiff::Timestamp;

use crate::changes::{self as journal, DEFAULT_ACTOR};
use crate::clock::{Clock, system_now};
use crate::end_users::{EndUserAccount, Registered, Registration};
use crate::key::{self, RandomSource};
use crate::{
    AccountRecord, Delivered, IdentityStore, Intake, LicenceRecord, LicenceSource, ObjectKind,
    Principal, ProviderObject, Rederived, StoreError,
};

pub use bundles::{Published, StoredBundle};
pub use notify::{CHANNEL, ChangeListener};
pub use pool::{MAX_POOL_SIZE, PostgresOptions};
pub use schema::Migrated;
pub use shipped::{Shipment, ShippedHead, ShippedLog};

/// How long connecting waits when the URL sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `text` names a PostgreSQL store (`postgres://…` or
/// `postgresql://…`) rather than a SQLite file.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// The identity store in a PostgreSQL database, shared by many gateway nodes.
///
/// One connection per handle, behind a mutex, opened again if the server
/// closed it. The schema must have been migrated first
/// ([`PostgresStore::migrate`], `cordon store migrate`): opening never
/// changes the schema, so many nodes can start at once against one database.
pub struct PostgresStore {
    pool: pool::Pool,
    jurisdictions: &'static Jurisdictions,
    clock: Box<Clock>,
    random: Box<RandomSource>,
    actor: String,
    /// The gateway node this handle belongs to, for its journal cursor.
    node: Option<String>,
    /// A matcher over the active list snapshot, built on first use.
    lists: crate::screening::ListsCache,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.pool.target())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the store at `url` (`postgres://user@host:port/db`) and
    /// checks that its schema is migrated.
    ///
    /// # Errors
    /// [`StoreError::InvalidStoreUrl`], [`StoreError::PostgresConnect`],
    /// [`StoreError::SchemaBehind`] if a migration this build needs is not
    /// applied, [`StoreError::SchemaTooNew`] if a newer Cordon migrated it.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &PostgresOptions::default())
    }

    /// [`Self::connect`] with `options` for the pool and statement timeout.
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub fn connect_with(url: &str, options: &PostgresOptions) -> Result<Self, StoreError> {
        let (config, target) = parse_url(url)?;
        let mut client = open_client(&config, &target, options.statement_timeout)?;
        schema::check(&mut client)?;
        let jurisdictions =
            Jurisdictions::embedded().map_err(|e| StoreError::Jurisdictions(e.to_string()))?;
        Ok(PostgresStore {
            pool: pool::Pool::new(client, config, target, options),
            jurisdictions,
            clock: Box::new(system_now),
            random: Box::new(key::os_random),
            actor: DEFAULT_ACTOR.to_owned(),
            node: None,
            lists: crate::screening::ListsCache::default(),
        })
    }

    /// Applies the schema migrations the store at `url` lacks, each once;
    /// running it again changes nothing. Safe to run from several nodes at
    /// once: they take turns on an advisory lock.
    ///
    /// # Errors
    /// [`StoreError::InvalidStoreUrl`], [`StoreError::PostgresConnect`],
    /// [`StoreError::SchemaTooNew`], or [`StoreError::Postgres`] if a
    /// migration fails (it is then rolled back whole).
    pub fn migrate(url: &str) -> Result<Migrated, StoreError> {
        let (config, target) = parse_url(url)?;
        let mut client = open_client(&config, &target, STATEMENT_TIMEOUT)?;
        schema::migrate(&mut client, &system_now().to_string())
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
        journal::set_actor(&mut self.actor, actor);
        self
    }

    /// Names the gateway node this handle serves: its own cursor in the
    /// change journal ([`crate::changes::ChangeJournal`]).
    #[must_use]
    pub fn with_node(mut self, node: &str) -> Self {
        self.node = Some(node.to_owned());
        self
    }

    fn node(&self) -> Result<&str, StoreError> {
        self.node.as_deref().ok_or_else(|| StoreError::Unsupported {
            operation: "reading the change journal without a node name",
        })
    }

    /// The server and database this handle uses, without the password.
    pub fn target(&self) -> &str {
        self.pool.target()
    }

    /// The country and region tables subjects are validated against.
    pub fn jurisdictions(&self) -> &'static Jurisdictions {
        self.jurisdictions
    }

    fn now(&self) -> String {
        (self.clock)().to_string()
    }

    /// A connection of the pool, opened again first if the server closed it.
    pub(crate) fn client(&self) -> Result<pool::Pooled<'_>, StoreError> {
        self.pool.get()
    }

    /// Runs the reads of `f` in one read-only transaction, so that they see
    /// one state of the store (a subject and the licences attached to it),
    /// as SQLite's readers do.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(::postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in one transaction and commits it if `f` succeeds; an error
    /// rolls everything back.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Parses a store URL, with the default connect timeout, and names its
/// target for messages (no password).
fn parse_url(url: &str) -> Result<(Config, String), StoreError> {
    if !is_postgres_url(url) {
        return Err(StoreError::InvalidStoreUrl {
            message: "it must start with `postgres://` or `postgresql://`".to_owned(),
        });
    }
    let mut config: Config =
        url.parse()
            .map_err(|e: ::postgres::Error| StoreError::InvalidStoreUrl {
                message: e.to_string(),
            })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let target = describe(&config);
    Ok((config, target))
}

/// `user@host:port/db`, for messages.
fn describe(config: &Config) -> String {
    use ::postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(h, p)| match h {
            Host::Tcp(h) => format!("{h}:{p}"),
            Host::Unix(path) => format!("{}:{p}", path.display()),
        })
        .collect();
    format!(
        "postgres://{}@{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

fn open_client(
    config: &Config,
    target: &str,
    statement_timeout: Duration,
) -> Result<Client, StoreError> {
    let mut client = config
        .connect(NoTls)
        .map_err(|source| StoreError::PostgresConnect {
            target: target.to_owned(),
            remedy: remedy(&source),
            source,
        })?;
    // A statement that waits on a lock or a stuck server must fail, not
    // hold a request: the gateway then refuses (fails closed) instead of
    // hanging. The URL's own `options` win (`?options=-c%20statement_timeout%3D…`).
    if config.get_options().is_none() {
        client.batch_execute(&format!(
            "SET statement_timeout = {}",
            statement_timeout.as_millis()
        ))?;
    }
    Ok(client)
}

/// How long one statement of a migration or a listener may run unless the
/// URL sets `statement_timeout`.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to do about a connection the server refused, when the cause is known.
fn remedy(e: &::postgres::Error) -> &'static str {
    use ::postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::TOO_MANY_CONNECTIONS => {
            "; the server has no connection left for this role or database: raise its `max_connections` (or the role's CONNECTION LIMIT), or run fewer nodes and tools against it (each gateway node holds two: queries and change notifications)"
        }
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            "; check the user and password in the store URL"
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => {
            "; the database does not exist: create it, or name another in the URL"
        }
        Some(_) => "",
        None => "; check that the server runs and that the URL's host and port reach it",
    }
}

impl IdentityStore for PostgresStore {
    fn authenticate(&self, presented: &str) -> Result<Option<Principal>, StoreError> {
        keys::authenticate(self, presented)
    }

    fn account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.get(id)
    }

    fn subject(&self, id: &str) -> Result<Option<Subject>, StoreError> {
        PostgresStore::subject(self, id)
    }

    fn record_licence(
        &self,
        licence: &Licence,
        source: LicenceSource,
    ) -> Result<LicenceRecord, StoreError> {
        PostgresStore::record_licence(self, licence, source)
    }

    fn version(&self) -> Result<u64, StoreError> {
        let row = self
            .client()?
            .query_one("SELECT version FROM change_counter WHERE id = 1", &[])?;
        let v: i64 = row.try_get(0)?;
        u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("change counter is {v}")))
    }

    fn record_event(&self, delivered: Delivered<'_>) -> Result<Intake, StoreError> {
        PostgresStore::record_event(self, delivered)
    }

    fn record_events(&self, batch: &[Delivered<'_>]) -> Result<Vec<Intake>, StoreError> {
        PostgresStore::record_events(self, batch)
    }

    fn record_rejection(
        &self,
        source: &str,
        delivery_id: Option<&str>,
        payload_sha256: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        PostgresStore::record_rejection(self, source, delivery_id, payload_sha256, reason)
    }

    fn evidence(&self, account: &str) -> Result<Vec<cordon_verification::Evidence>, StoreError> {
        PostgresStore::evidence(self, account)
    }

    fn end_user(
        &self,
        organization: &str,
        end_user: Option<&str>,
    ) -> Result<Option<EndUserAccount>, StoreError> {
        self.end_user_account(organization, end_user)
    }

    fn register_end_users(
        &self,
        organization: &str,
        registrations: &[Registration],
    ) -> Result<Registered, StoreError> {
        PostgresStore::register_end_users(self, organization, registrations)
    }

    fn remove_end_users(
        &self,
        organization: &str,
        end_users: &[String],
    ) -> Result<usize, StoreError> {
        PostgresStore::remove_end_users(self, organization, end_users)
    }

    fn rederive_due(&self, limit: usize) -> Result<Rederived, StoreError> {
        PostgresStore::rederive_due(self, limit)
    }

    fn record_object(&self, object: &ProviderObject) -> Result<(), StoreError> {
        PostgresStore::record_object(self, object)
    }

    fn object(&self, kind: ObjectKind, id: &str) -> Result<Option<ProviderObject>, StoreError> {
        PostgresStore::object(self, kind, id)
    }

    fn forget_object(&self, kind: ObjectKind, id: &str) -> Result<bool, StoreError> {
        PostgresStore::forget_object(self, kind, id)
    }
}

/// Journals a copy from another store and bumps the counter (with its
/// `NOTIFY`), inside the copy's last transaction.
/// `details`: the rows inserted, by table.
pub(crate) fn bump_after_copy(
    tx: &mut Transaction<'_>,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let now = system_now().to_string();
    changes::record(tx, &now, "store copy", "store.copied", "", details)?;
    changes::bump(tx)?;
    Ok(())
}
