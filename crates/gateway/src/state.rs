//! The gateway's shared state: configuration, the compiled policy, the identity
//! store, geolocation, the upstream client and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use cordon_catalog::{Catalog, ModelId, Resolution};
use cordon_geo::{GeoChain, GeoDatabase};
use cordon_jurisdiction::{CountryCode, CountrySet, GroupRegistry, Jurisdictions};
use cordon_policy::{Mode, Policy};
use cordon_store::{IdentityStore, Principal};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::audit::AuditTrail;
use crate::cidr::Cidr;
use crate::config::{Loaded, Upstream};
use crate::metrics::{Metrics, ShadowCounters};

/// Where time comes from: the system clock in production, a fixed or offset
/// clock in tests and demos.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// A policy compiled together with the upstream routing it implies.
pub struct Compiled {
    /// The directive set and catalog.
    pub policy: Policy,
    /// For each model in the catalog, the index of the upstream that serves it.
    pub routes: Vec<Option<usize>>,
    /// Would-refuse counters of the policy's shadow-mode directives.
    pub shadow: ShadowCounters,
}

/// Why the gateway could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The catalog is invalid.
    #[error("the catalog `{path}` is invalid:\n{errors}")]
    Catalog {
        /// Its path.
        path: String,
        /// Every problem, one per line.
        errors: String,
    },
    /// The directive set is invalid.
    #[error("the directive set `{path}` is invalid:\n{errors}")]
    Directives {
        /// Its path.
        path: String,
        /// Every problem, one per line.
        errors: String,
    },
    /// A published set compiles here to another policy version than where
    /// it was published.
    #[error(
        "`{origin}` compiles on this node to policy version {compiled}, not to {published} as published: this node's country groups or build differ from the publisher's, so it keeps the policy it has"
    )]
    VersionMismatch {
        /// The set.
        origin: String,
        /// Its version where it was published.
        published: String,
        /// Its version here.
        compiled: String,
    },
    /// An upstream names a model or family the catalog lacks.
    #[error("upstream `{upstream}` serves `{name}`, which the catalog does not have")]
    UnknownUpstreamModel {
        /// The upstream.
        upstream: String,
        /// The name.
        name: String,
    },
    /// A GeoIP database is missing or unreadable.
    #[error("{0} (set `geo.allow_missing = true` to start without it)")]
    Geo(String),
    /// Enforced directives test regions that no configured database provides.
    #[error(
        "enforced directives test the request's region where no configured GeoIP database provides regions, so they could only ever be unknown there:\n{0}\nconfigure a region-level database (a GeoIP2/GeoLite2 City file) first in `geo.databases`, or accept the gap explicitly with `geo.accept_missing_regions` (docs/configuration.md#where-the-caller-is)"
    )]
    MissingRegions(String),
    /// An anonymiser list is unreadable.
    #[error("{0}")]
    AnonymizerList(String),
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Thread(String),
    /// The shipped jurisdiction data is broken.
    #[error("{0}")]
    Data(String),
    /// The client for other servers cannot be built (`[egress]`).
    #[error("`egress`: {0}")]
    Egress(#[from] crate::egress::EgressError),
    /// The listener's certificate or key cannot be used (`[tls]`).
    #[error("`tls`: {0}")]
    ListenerTls(#[from] crate::listener_tls::ListenerTlsError),
    /// An HTTPS upstream's TLS settings cannot be used.
    #[error("upstream `{name}`: {source}")]
    UpstreamTls {
        /// The upstream's name.
        name: String,
        /// What is wrong.
        source: crate::egress::EgressError,
    },
}

/// Everything a request handler needs.
pub struct Gateway {
    /// The configuration.
    pub loaded: Loaded,
    compiled: RwLock<Arc<Compiled>>,
    /// The identity store.
    pub store: Arc<dyn IdentityStore>,
    /// Geolocation databases.
    pub geo: GeoChain,
    /// Anonymiser and hosting ranges.
    pub anonymizers: Vec<Cidr>,
    /// Metrics.
    pub metrics: Metrics,
    /// Jurisdictions and groups.
    pub jurisdictions: &'static Jurisdictions,
    groups: GroupRegistry,
    clock: Clock,
    /// The real time, for what is about transport rather than law: a
    /// webhook's signed timestamp is checked against it even when decisions
    /// are made as of another time (the demo, tests).
    wall: Clock,
    auth: AuthCache,
    screening: RwLock<Option<Arc<Screening>>>,
    audit: RwLock<Option<Arc<AuditTrail>>>,
    fleet: RwLock<Option<Arc<FleetHealth>>>,
    published: std::sync::atomic::AtomicBool,
    /// Verification events, recorded in groups.
    pub intake: crate::verification::queue::IntakeQueue,
    /// The client for other servers.
    pub egress: crate::egress::Egress,
    /// The TLS clients of `https://` upstreams, in configuration order.
    upstream_tls: Vec<Option<UpstreamTls>>,
    /// TLS on the listener, when `[tls]` is configured.
    pub tls: Option<crate::listener_tls::ListenerTls>,
    /// Open connections per client address, across workers.
    pub connections: Arc<crate::listener::Connections>,
    /// Each configured issuer's keys, in the order of `loaded.issuers`.
    pub(crate) issuer_keys: Vec<crate::verification::keys::IssuerKeys>,
}

/// How this node stands in the fleet that shares its store, for `/healthz`:
/// the fleet layer knows (its audit log shipping, the published policy it
/// runs), the gateway only reports it.
pub type FleetHealth = dyn Fn() -> FleetReport + Send + Sync;

/// What [`FleetHealth`] reports.
#[derive(Debug, Clone)]
pub struct FleetReport {
    /// Whether the node does all the fleet expects of it; `false` makes
    /// `/healthz` answer 503 "degraded".
    pub healthy: bool,
    /// The details, shown under `fleet` in `/healthz`.
    pub detail: serde_json::Value,
}

/// The restricted-party lists `POST /v1/screen` answers from.
pub struct Screening {
    /// The index over the active snapshot's entries.
    pub screener: cordon_screening::screener::Screener,
    /// Which snapshot it was built from (id and content hash), for responses.
    pub snapshot: serde_json::Value,
}

/// Authenticated principals, cached until the store changes.
///
/// The store's change counter is read at most every [`AuthCache::RECHECK`], so a
/// revoked key stops working within that time without a store query per request.
struct AuthCache {
    entries: Mutex<HashMap<[u8; 32], Arc<Principal>>>,
    /// End users by organisation and identifier
    /// ([`crate::end_user::cache_key`]); `None` remembers "not registered",
    /// so an organisation's unregistered users cost no store query each.
    end_users: Mutex<HashMap<[u8; 32], Option<Arc<crate::end_user::EndUser>>>>,
    checked: Mutex<(Instant, u64)>,
}

impl AuthCache {
    const MAX_ENTRIES: usize = 100_000;
}

/// Builds the catalog, policy and routes from the configured files, with
/// the policy's shadow counters registered in `metrics`.
pub fn compile(
    loaded: &Loaded,
    jurisdictions: &Jurisdictions,
    groups: &GroupRegistry,
    metrics: &Metrics,
) -> Result<Compiled, StartError> {
    let c = &loaded.config;
    let render = |lines: Vec<String>| lines.join("\n");
    let catalog = Catalog::load(&c.catalog).map_err(|errs| StartError::Catalog {
        path: c.catalog.display().to_string(),
        errors: render(errs.iter().map(ToString::to_string).collect()),
    })?;
    let policy = Policy::load_dir(&c.directives, catalog, jurisdictions, groups).map_err(|e| {
        StartError::Directives {
            path: c.directives.display().to_string(),
            errors: render(e.diagnostics.iter().map(ToString::to_string).collect()),
        }
    })?;
    assemble(loaded, policy, metrics)
}

/// Builds the catalog, policy and routes from directive and catalog files
/// held in memory (a fleet's published bundle); `origin` names them in
/// errors.
pub fn compile_sources(
    loaded: &Loaded,
    jurisdictions: &Jurisdictions,
    groups: &GroupRegistry,
    metrics: &Metrics,
    directives: &[cordon_source::SourceFile],
    catalog: &cordon_source::SourceFile,
    origin: &str,
) -> Result<Compiled, StartError> {
    let render = |lines: Vec<String>| lines.join("\n");
    let catalog = Catalog::parse(catalog).map_err(|errs| StartError::Catalog {
        path: format!("{origin}: {}", catalog.name()),
        errors: render(errs.iter().map(ToString::to_string).collect()),
    })?;
    let policy = Policy::from_files(directives, catalog, jurisdictions, groups).map_err(|e| {
        StartError::Directives {
            path: origin.to_owned(),
            errors: render(e.diagnostics.iter().map(ToString::to_string).collect()),
        }
    })?;
    assemble(loaded, policy, metrics)
}

fn assemble(loaded: &Loaded, policy: Policy, metrics: &Metrics) -> Result<Compiled, StartError> {
    let c = &loaded.config;
    let routes = routes(&c.upstream, policy.catalog())?;
    let shadow = metrics.shadow_counters(&policy);
    Ok(Compiled {
        policy,
        routes,
        shadow,
    })
}

fn routes(upstreams: &[Upstream], catalog: &Catalog) -> Result<Vec<Option<usize>>, StartError> {
    let mut routes = vec![None; catalog.len()];
    for (ui, u) in upstreams.iter().enumerate() {
        for name in &u.models {
            match catalog.resolve(name) {
                Resolution::Known { id, .. } => {
                    if let Some(slot) = routes.get_mut(id.index()) {
                        slot.get_or_insert(ui);
                    }
                }
                Resolution::Unknown => {
                    return Err(StartError::UnknownUpstreamModel {
                        upstream: u.name.clone(),
                        name: name.clone(),
                    });
                }
            }
        }
        for family in &u.families {
            if !catalog.has_family(family) {
                return Err(StartError::UnknownUpstreamModel {
                    upstream: u.name.clone(),
                    name: family.clone(),
                });
            }
            let family = family.trim().to_lowercase();
            for (id, m) in catalog.models() {
                if m.family == family
                    && let Some(slot) = routes.get_mut(id.index())
                {
                    slot.get_or_insert(ui);
                }
            }
        }
    }
    Ok(routes)
}

/// Refuses a policy whose enforced directives need regions that `geo` cannot
/// provide, unless `geo.accept_missing_regions` accepts each such country;
/// logs the gaps it accepts and those of shadow directives.
///
/// # Errors
/// [`StartError::MissingRegions`] listing every unaccepted gap, or naming a
/// code in `accept_missing_regions` that is not a country code
/// (configurations built in code skip the file's checks).
pub fn check_regions(policy: &Policy, geo: &GeoChain, loaded: &Loaded) -> Result<(), StartError> {
    let mut accepted = CountrySet::EMPTY;
    for c in &loaded.config.geo.accept_missing_regions {
        let code = CountryCode::parse(c).map_err(|e| {
            StartError::MissingRegions(format!("`geo.accept_missing_regions`: {e}"))
        })?;
        accepted.insert(code);
    }
    let provides = |_: CountryCode| geo.provides_regions();
    let mut refused = Vec::new();
    for need in policy.region_needs() {
        let codes =
            |cs: &[CountryCode]| cs.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
        let missing = need.missing(provides, &CountrySet::EMPTY);
        if missing.is_empty() {
            continue;
        }
        let unaccepted = need.missing(provides, &need.accepted_with(&accepted));
        if need.mode == Mode::Enforced && !unaccepted.is_empty() {
            refused.push(format!(
                "  directive `{}` rule `{}` needs regions in {}",
                need.directive,
                need.rule,
                codes(&unaccepted)
            ));
        } else {
            tracing::warn!(
                directive = %need.directive,
                rule = %need.rule,
                countries = %codes(&missing),
                "no GeoIP database provides regions here: the rule's location test is unknown for every address there (accepted in `geo.accept_missing_regions` or the directive's `accept_missing_regions`, or a shadow directive)"
            );
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(StartError::MissingRegions(refused.join("\n")))
    }
}

fn open_geo(loaded: &Loaded) -> Result<GeoChain, StartError> {
    let g = &loaded.config.geo;
    let mut dbs = Vec::new();
    for p in &g.databases {
        match GeoDatabase::open(p) {
            Ok(db) => dbs.push(db),
            Err(e) if g.allow_missing => {
                tracing::warn!(error = %e, "starting without a GeoIP database; locations from it are unknown")
            }
            Err(e) => return Err(StartError::Geo(e.to_string())),
        }
    }
    if dbs.is_empty() && !g.allow_missing {
        return Err(StartError::Geo(
            "no GeoIP database is configured (`geo.databases`)".into(),
        ));
    }
    Ok(GeoChain::new(dbs).with_internal_country(loaded.internal_country))
}

impl Gateway {
    /// Builds the gateway from a loaded configuration and an opened store.
    ///
    /// # Errors
    /// A [`StartError`] for an invalid catalog or directive set, an upstream
    /// naming an unknown model, a missing GeoIP database or anonymiser list.
    pub fn new(
        loaded: Loaded,
        store: Arc<dyn IdentityStore>,
        clock: Clock,
    ) -> Result<Gateway, StartError> {
        let jurisdictions =
            Jurisdictions::embedded().map_err(|e| StartError::Data(e.to_string()))?;
        let groups = GroupRegistry::embedded(jurisdictions).map_err(|e| {
            StartError::Data(
                e.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let metrics = Metrics::default();
        let compiled = compile(&loaded, jurisdictions, &groups, &metrics)?;
        let geo = open_geo(&loaded)?;
        check_regions(&compiled.policy, &geo, &loaded)?;
        let mut anonymizers = Vec::new();
        for p in &loaded.config.geo.anonymizer_lists {
            anonymizers.extend(Cidr::read_list(p).map_err(StartError::AnonymizerList)?);
        }
        let egress = crate::egress::Egress::new(&loaded.config.egress)?;
        let upstream_tls = upstream_clients(&loaded)?;
        let tls = loaded
            .config
            .tls
            .as_ref()
            .map(crate::listener_tls::ListenerTls::new)
            .transpose()?;
        let issuer_keys = loaded
            .issuers
            .iter()
            .map(crate::verification::keys::IssuerKeys::new)
            .collect();
        let intake = crate::verification::queue::IntakeQueue::start(Arc::clone(&store))
            .map_err(|e| StartError::Thread(e.to_string()))?;
        Ok(Gateway {
            loaded,
            compiled: RwLock::new(Arc::new(compiled)),
            store,
            geo,
            anonymizers,
            metrics,
            jurisdictions,
            groups,
            clock,
            wall: Arc::new(Timestamp::now),
            intake,
            egress,
            upstream_tls,
            tls,
            connections: Arc::default(),
            issuer_keys,
            auth: AuthCache {
                entries: Mutex::new(HashMap::new()),
                end_users: Mutex::new(HashMap::new()),
                checked: Mutex::new((Instant::now(), 0)),
            },
            screening: RwLock::new(None),
            audit: RwLock::new(None),
            fleet: RwLock::new(None),
            published: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Installs the lists `POST /v1/screen` answers from.
    pub fn set_screening(&self, screening: Screening) {
        if let Ok(mut s) = self.screening.write() {
            *s = Some(Arc::new(screening));
        }
    }

    /// Has `/healthz` report the node's standing in its fleet.
    pub fn set_fleet_health(&self, health: Arc<FleetHealth>) {
        if let Ok(mut f) = self.fleet.write() {
            *f = Some(health);
        }
    }

    /// The node's standing in its fleet, when it has one.
    pub fn fleet_health(&self) -> Option<FleetReport> {
        let f = self.fleet.read().ok().and_then(|f| f.clone())?;
        Some(f())
    }

    /// The lists in force, if any were loaded.
    pub fn screening(&self) -> Option<Arc<Screening>> {
        self.screening.read().ok().and_then(|s| s.clone())
    }

    /// Installs the audit log every decision is recorded in before it takes effect.
    pub fn set_audit(&self, trail: AuditTrail) {
        if let Ok(mut a) = self.audit.write() {
            *a = Some(Arc::new(trail));
        }
    }

    /// The audit log, if one is installed.
    pub fn audit(&self) -> Option<Arc<AuditTrail>> {
        self.audit.read().ok().and_then(|a| a.clone())
    }

    /// Removes the audit log, so the caller can close it once requests in
    /// flight have finished with it.
    pub fn take_audit(&self) -> Option<Arc<AuditTrail>> {
        self.audit.write().ok().and_then(|mut a| a.take())
    }

    /// The policy and routes in force.
    pub fn compiled(&self) -> Arc<Compiled> {
        match self.compiled.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Now, by the gateway's clock.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Now, by the real clock ([`Self::with_wall_clock`] replaces it).
    pub fn wall_now(&self) -> Timestamp {
        (self.wall)()
    }

    /// Uses `wall` as the real clock, for tests of signed timestamps.
    #[must_use]
    pub fn with_wall_clock(mut self, wall: Clock) -> Self {
        self.wall = wall;
        self
    }

    /// Recompiles from the configured files; on failure the old policy stays.
    ///
    /// # Errors
    /// The reason the new files were rejected.
    pub fn reload(&self) -> Result<String, StartError> {
        let compiled = compile(
            &self.loaded,
            self.jurisdictions,
            &self.groups,
            &self.metrics,
        );
        self.activate(compiled, "reload")
    }

    /// Puts a directive set held in memory in force (a fleet's published
    /// bundle, `origin` naming it), recorded like a reload with `trigger`,
    /// provided it compiles here to `expected` (the version it was
    /// published as); on failure the old policy stays.
    ///
    /// # Errors
    /// The reason the set was rejected; [`StartError::VersionMismatch`]
    /// when it compiles to another version.
    pub fn install(
        &self,
        directives: &[cordon_source::SourceFile],
        catalog: &cordon_source::SourceFile,
        origin: &str,
        expected: &str,
        trigger: &str,
    ) -> Result<String, StartError> {
        let compiled = compile_sources(
            &self.loaded,
            self.jurisdictions,
            &self.groups,
            &self.metrics,
            directives,
            catalog,
            origin,
        )
        .and_then(|c| {
            if c.policy.version() == expected {
                Ok(c)
            } else {
                Err(StartError::VersionMismatch {
                    origin: origin.to_owned(),
                    published: expected.to_owned(),
                    compiled: c.policy.version().to_owned(),
                })
            }
        });
        self.activate(compiled, trigger)
    }

    /// How long a cached principal is trusted without the store
    /// (`cached_keys_trusted_ms`): the store's version is read again after
    /// this, and a store that cannot answer then fails the request closed.
    pub fn cached_keys_trusted(&self) -> Duration {
        Duration::from_millis(self.loaded.config.cached_keys_trusted_ms)
    }

    /// Stops watching the configured directive files: the node follows its
    /// fleet's published policy instead, which a file change must not undo.
    pub fn follow_published(&self) {
        self.published
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the node follows its fleet's published policy.
    pub fn follows_published(&self) -> bool {
        self.published.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn activate(
        &self,
        compiled: Result<Compiled, StartError>,
        trigger: &str,
    ) -> Result<String, StartError> {
        let compiled =
            compiled.and_then(|c| check_regions(&c.policy, &self.geo, &self.loaded).map(|()| c));
        match compiled {
            Ok(c) => {
                let version = c.policy.version().to_owned();
                let previous = self.compiled();
                let activation = self.audit().map(|trail| {
                    let record = crate::audit::activation_record(
                        &c.policy,
                        self.now(),
                        crate::audit::SERVE_ACTOR,
                        trigger,
                        Some(&previous.policy),
                    );
                    (trail, record)
                });
                drop(previous);
                if let Ok(mut slot) = self.compiled.write() {
                    *slot = Arc::new(c);
                }
                if let Some((trail, record)) = activation
                    && let Err(e) = trail.record_blocking(cordon_audit::leaf::Record::Admin(record))
                {
                    tracing::error!(%version, error = %e.detail, "the directive set in force could not be recorded in the audit log");
                }
                self.metrics.reload(true);
                Ok(version)
            }
            Err(e) => {
                self.metrics.reload(false);
                Err(e)
            }
        }
    }

    /// The files whose changes trigger a reload.
    pub fn watched_paths(&self) -> Vec<std::path::PathBuf> {
        let c = &self.loaded.config;
        let mut out = vec![c.catalog.clone()];
        if let Ok(entries) = std::fs::read_dir(&c.directives) {
            out.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "toml")),
            );
        }
        out.push(c.directives.clone());
        out
    }

    /// Authenticates a presented key, through the cache.
    ///
    /// # Errors
    /// Only when the store fails, with its message.
    pub async fn authenticate(
        self: &Arc<Self>,
        presented: &str,
    ) -> Result<Option<Arc<Principal>>, String> {
        self.refresh_auth_cache().await?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        if let Some(p) = self
            .auth
            .entries
            .lock()
            .ok()
            .and_then(|m| m.get(&digest).cloned())
        {
            return Ok(Some(p));
        }
        let store = Arc::clone(&self.store);
        let key = presented.to_owned();
        let found = tokio::task::spawn_blocking(move || {
            store.authenticate(&key).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        Ok(found.map(|p| {
            let p = Arc::new(p);
            if let Ok(mut m) = self.auth.entries.lock() {
                if m.len() >= AuthCache::MAX_ENTRIES {
                    m.clear();
                }
                m.insert(digest, Arc::clone(&p));
            }
            p
        }))
    }

    /// Drops every cached principal, so the next request of every account
    /// reads its subject from the store: after a change this gateway made
    /// itself, or one another node made that this node heard of by
    /// `NOTIFY`, neither of which must wait for the next version check.
    pub fn forget_principals(&self) {
        if let Ok(mut m) = self.auth.entries.lock() {
            m.clear();
        }
        if let Ok(mut m) = self.auth.end_users.lock() {
            m.clear();
        }
    }

    /// A cached end-user lookup: `Some(found)` when cached.
    pub(crate) fn cached_end_user(
        &self,
        key: &[u8; 32],
    ) -> Option<Option<Arc<crate::end_user::EndUser>>> {
        self.auth
            .end_users
            .lock()
            .ok()
            .and_then(|m| m.get(key).cloned())
    }

    /// Caches an end-user lookup until the store changes.
    pub(crate) fn cache_end_user(
        &self,
        key: [u8; 32],
        found: Option<Arc<crate::end_user::EndUser>>,
    ) {
        if let Ok(mut m) = self.auth.end_users.lock() {
            if m.len() >= AuthCache::MAX_ENTRIES {
                m.clear();
            }
            m.insert(key, found);
        }
    }

    async fn refresh_auth_cache(self: &Arc<Self>) -> Result<(), String> {
        let due = self
            .auth
            .checked
            .lock()
            .map(|c| c.0.elapsed() >= self.cached_keys_trusted())
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let store = Arc::clone(&self.store);
        let version =
            tokio::task::spawn_blocking(move || store.version().map_err(|e| e.to_string()))
                .await
                .map_err(|e| e.to_string())??;
        if let Ok(mut checked) = self.auth.checked.lock() {
            if checked.1 != version {
                self.forget_principals();
            }
            *checked = (Instant::now(), version);
        }
        Ok(())
    }

    /// The upstream for a model, if one is configured.
    pub fn upstream(&self, compiled: &Compiled, model: ModelId) -> Option<&Upstream> {
        compiled
            .routes
            .get(model.index())
            .copied()
            .flatten()
            .and_then(|i| self.loaded.config.upstream.get(i))
    }

    /// The TLS client of an `https://` upstream of this gateway's
    /// configuration; `None` for a plain one, which the per-thread HTTP/1
    /// pool serves ([`crate::client`]).
    pub fn upstream_tls(&self, upstream: &Upstream) -> Option<&crate::egress::Egress> {
        self.tls_of(upstream).map(|t| &t.client)
    }

    /// The TLS configuration a WebSocket to an `https://` upstream uses:
    /// its trust and client certificate, offering only HTTP/1.1, where an
    /// upgrade exists. `None` for a plain upstream.
    pub fn upstream_websocket_tls(&self, upstream: &Upstream) -> Option<Arc<rustls::ClientConfig>> {
        self.tls_of(upstream).map(|t| Arc::clone(&t.websocket))
    }

    fn tls_of(&self, upstream: &Upstream) -> Option<&UpstreamTls> {
        self.loaded
            .config
            .upstream
            .iter()
            .position(|u| std::ptr::eq(u, upstream))
            .and_then(|i| self.upstream_tls.get(i))
            .and_then(Option::as_ref)
    }
}

/// An `https://` upstream's TLS: the pooled client for requests, and the
/// configuration a WebSocket connection uses.
struct UpstreamTls {
    client: crate::egress::Egress,
    websocket: Arc<rustls::ClientConfig>,
}

/// One TLS client per `https://` upstream, in configuration order: its own
/// trust (built-in roots, `egress.ca_bundle`, its `ca_bundle`) and client
/// certificate, HTTP/2 when the upstream offers it by ALPN, pooled.
fn upstream_clients(loaded: &Loaded) -> Result<Vec<Option<UpstreamTls>>, StartError> {
    let config = &loaded.config;
    let timeouts = crate::egress::EgressConfig {
        timeout_secs: config.limits.upstream_timeout_secs,
        ..config.egress.clone()
    };
    config
        .upstream
        .iter()
        .map(|u| {
            if !u.is_https() {
                return Ok(None);
            }
            let identity = match (&u.client_certificate, &u.client_key) {
                (Some(certificate), Some(key)) => {
                    Some(crate::egress::ClientIdentity { certificate, key })
                }
                _ => None,
            };
            let tls = crate::egress::client_tls(&config.egress, u.ca_bundle.as_deref(), identity)
                .map_err(|source| StartError::UpstreamTls {
                name: u.name.clone(),
                source,
            })?;
            let mut websocket = tls.clone();
            websocket.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Some(UpstreamTls {
                client: crate::egress::Egress::with_tls(&timeouts, tls),
                websocket: Arc::new(websocket),
            }))
        })
        .collect()
}
