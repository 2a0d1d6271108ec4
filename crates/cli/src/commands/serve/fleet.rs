//! What `cordon serve` does when its identity store is shared: reports the
//! node every second, and drops cached principals the moment another node
//! changes the store.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cordon_gateway::Gateway;
use cordon_store::postgres::ChangeListener;
use cordon_store::screening::ScreeningStore;
use cordon_store::{ChangeJournal, Fleet, IdentityStore, NodeReport, PostgresStore, SqliteStore};

use crate::data_dir::DataDir;

/// How often a node reports itself.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// The identity store `cordon serve` opened, by the roles it plays.
pub struct OpenedStore {
    /// What the gateway authenticates and decides with.
    pub identity: Arc<dyn IdentityStore>,
    /// Where the audit log's copier reads changes from.
    pub journal: Arc<dyn ChangeJournal>,
    /// Where the node reports itself.
    pub fleet: Arc<dyn Fleet>,
    /// Where the restricted-party lists `POST /v1/screen` answers from are kept.
    pub lists: Arc<dyn ScreeningStore>,
    /// The PostgreSQL URL, whose `NOTIFY` the node listens to.
    pub postgres: Option<String>,
    /// The shared store itself, where the node ships its audit log.
    pub shared: Option<Arc<PostgresStore>>,
    /// How messages name the store.
    pub label: String,
}

/// Opens the store the configuration names (a SQLite path, by default in
/// the data directory, or a `postgres://` URL) as node `node`.
pub fn open(
    store: Option<&std::path::Path>,
    postgres: &cordon_gateway::config::PostgresConfig,
    data: &DataDir,
    node: &str,
    actor: &str,
) -> Result<OpenedStore> {
    if let Some(url) = store
        .and_then(|p| p.to_str())
        .filter(|s| cordon_store::is_postgres_url(s))
    {
        let options = cordon_store::postgres::PostgresOptions {
            pool_size: postgres.pool_size,
            statement_timeout: Duration::from_millis(postgres.statement_timeout_ms),
        };
        let pg = PostgresStore::connect_with(url, &options)
            .with_context(|| "cannot open the shared identity store".to_owned())?
            .with_actor(actor)
            .with_node(node)
            .with_clock(crate::clock::now);
        let label = pg.target().to_owned();
        let pg = Arc::new(pg);
        return Ok(OpenedStore {
            identity: pg.clone(),
            journal: pg.clone(),
            fleet: pg.clone(),
            lists: pg.clone(),
            postgres: Some(url.to_owned()),
            shared: Some(pg),
            label,
        });
    }
    let path = store.map_or_else(|| data.identity_store(), std::path::Path::to_path_buf);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let sqlite = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the identity store `{}`", path.display()))?
        .with_actor(actor);
    let sqlite = Arc::new(sqlite);
    Ok(OpenedStore {
        identity: sqlite.clone(),
        journal: sqlite.clone(),
        fleet: sqlite.clone(),
        lists: sqlite,
        postgres: None,
        shared: None,
        label: path.display().to_string(),
    })
}

/// The node's default name: the machine's host name and the address it
/// serves on, unique in a fleet unless two nodes share both.
pub fn default_node(listen: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".to_owned());
    format!("{host}/{listen}")
}

/// Reports the node every [`HEARTBEAT`] on a thread of its own: its policy
/// version, its audit log's size and checkpoints, and whether it is healthy.
/// A report that cannot be written is logged and tried again next beat.
pub fn spawn_heartbeat(
    gw: Arc<Gateway>,
    fleet: Arc<dyn Fleet>,
    node: String,
    listen: String,
    standing: Option<Arc<Standing>>,
) {
    let started_at = crate::clock::now();
    let spawned = std::thread::Builder::new()
        .name("fleet-heartbeat".into())
        .spawn(move || {
            loop {
                let report = report(&gw, &node, &listen, started_at, standing.as_deref());
                if let Err(e) = fleet.report_node(&report) {
                    tracing::warn!(error = %e, "cannot report this node to the fleet");
                }
                std::thread::sleep(HEARTBEAT);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the fleet heartbeat");
    }
}

fn report(
    gw: &Gateway,
    node: &str,
    listen: &str,
    started_at: jiff::Timestamp,
    standing: Option<&Standing>,
) -> NodeReport {
    let store_ok = gw.store.version().is_ok();
    let (audit_size, audit_checkpoint, audit_ok) = match gw.audit() {
        Some(trail) => {
            let stats = trail.stats();
            let ok = matches!(trail.health(), cordon_audit_log::LogHealth::Ok);
            (
                stats.size,
                Some(format!("{} written", stats.checkpoints)),
                ok,
            )
        }
        None => (0, None, true),
    };
    let mut detail = Vec::new();
    if !store_ok {
        detail.push("identity store unavailable".to_owned());
    }
    if !audit_ok {
        detail.push("audit log failing".to_owned());
    }
    let (problems, fleet_ok) = standing.map_or((Vec::new(), true), Standing::problems);
    detail.extend(problems);
    NodeReport {
        node: node.to_owned(),
        listen: listen.to_owned(),
        policy_version: gw.compiled().policy.version().to_owned(),
        policy_bundle: standing.and_then(|s| s.following.running()),
        started_at,
        heartbeat_at: crate::clock::now(),
        audit_size,
        audit_checkpoint,
        healthy: store_ok && audit_ok && fleet_ok,
        detail: detail.join("; "),
    }
}

/// Listens for the shared store's `NOTIFY` on a thread of its own and drops
/// the gateway's cached principals on each, so a key revoked on any node
/// is refused here at once. The version poll stays the backstop for
/// notifications lost while the listener reconnects.
pub fn spawn_change_listener(gw: Arc<Gateway>, url: String) {
    let spawned = std::thread::Builder::new()
        .name("store-notify".into())
        .spawn(move || {
            loop {
                match ChangeListener::connect(&url) {
                    Ok(mut listener) => {
                        // Changes made while the listener was away are not
                        // announced again: forget everything once.
                        gw.forget_principals();
                        loop {
                            match listener.wait(Duration::from_secs(30)) {
                                Ok(Some(_)) => gw.forget_principals(),
                                Ok(None) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "lost the store's change notifications; reconnecting");
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for the store's changes; retrying");
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the store's change listener");
    }
}

/// What `/healthz` says of the node's place in the fleet: how far its
/// audit log is shipped and whether shipping works. In `replicated`
/// durability a node that cannot ship is unhealthy, since it refuses every
/// decision until it can.
/// How the node stands in its fleet: its audit log's shipping and the
/// published policy it runs. `/healthz` and the heartbeat both read it.
pub struct Standing {
    /// The audit log's shipper, when the log is on.
    pub shipper: Option<Arc<cordon_fleet::shipper::ShipperHandle>>,
    /// Whether decisions wait for the shared store.
    pub replicated: bool,
    /// The published policy the node follows.
    pub following: Arc<Following>,
}

impl Standing {
    /// What is wrong, one line each; empty when nothing is. A shipping
    /// failure is listed in either durability, but in `local` it does not
    /// make the node unhealthy: decisions do not wait for it.
    fn problems(&self) -> (Vec<String>, bool) {
        let mut problems = Vec::new();
        let mut healthy = true;
        if let Some(failing) = self.shipper.as_ref().and_then(|s| s.status().failing) {
            problems.push(format!("audit log shipping failing: {failing}"));
            healthy &= !self.replicated;
        }
        if let Some(why) = self.following.problem() {
            problems.push(why);
            healthy = false;
        }
        (problems, healthy)
    }

    /// What `/healthz` says of it.
    pub fn report(&self) -> cordon_gateway::FleetReport {
        let policy = self.following.state();
        let (_, healthy) = self.problems();
        let mut detail = serde_json::json!({
            "audit_shipping": "off",
            "published_policy": {
                "bundle": policy.running,
                "problem": policy.refused.as_ref().map(|(_, why)| why),
            },
        });
        if let (Some(shipper), Some(d)) = (&self.shipper, detail.as_object_mut()) {
            let s = shipper.status();
            let [p50, p99] = s.lag_quantiles([0.5, 0.99]);
            let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
            d.insert(
                "audit_shipping".into(),
                (if s.failing.is_some() { "failing" } else { "ok" }).into(),
            );
            d.insert("shipped_entries".into(), s.shipped.into());
            d.insert("shipping_error".into(), serde_json::json!(s.failing));
            d.insert(
                "shipping_lag_ms".into(),
                serde_json::json!({"p50": ms(p50), "p99": ms(p99)}),
            );
        }
        cordon_gateway::FleetReport { healthy, detail }
    }
}

/// How often a node asks which bundle is the fleet's active one.
pub const POLICY_POLL: Duration = Duration::from_secs(1);

/// The published policy a node follows: the bundle it runs, and why it
/// does not run the fleet's active one when it cannot.
#[derive(Debug, Default)]
pub struct Following {
    state: std::sync::Mutex<FollowState>,
}

#[derive(Debug, Default, Clone)]
struct FollowState {
    /// The bundle in force here, once one was loaded.
    running: Option<String>,
    /// The active bundle this node could not load, and why.
    refused: Option<(String, String)>,
}

impl Following {
    fn state(&self) -> FollowState {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut FollowState)) {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// The bundle in force here, if the node runs a published one.
    pub fn running(&self) -> Option<String> {
        self.state().running
    }

    /// Why the fleet's active bundle is not in force here, if it is not.
    pub fn problem(&self) -> Option<String> {
        self.state().refused.map(|(_, why)| why)
    }
}

/// Loads the fleet's active bundle now, then checks for a newly published
/// one every [`POLICY_POLL`] on a thread of its own. A bundle that cannot
/// be loaded (untrusted, altered, invalid here) leaves the policy in force
/// as it is and is reported until another bundle is published.
pub fn follow_published(
    gw: Arc<Gateway>,
    store: Arc<PostgresStore>,
    keys: Vec<cordon_audit::VerifierKey>,
) -> Arc<Following> {
    let following = Arc::new(Following::default());
    follow_once(&gw, &store, &keys, &following);
    let f = Arc::clone(&following);
    let spawned = std::thread::Builder::new()
        .name("policy-follower".into())
        .spawn(move || {
            loop {
                std::thread::sleep(POLICY_POLL);
                follow_once(&gw, &store, &keys, &f);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start following the fleet's published policy");
    }
    following
}

fn follow_once(
    gw: &Gateway,
    store: &PostgresStore,
    keys: &[cordon_audit::VerifierKey],
    following: &Following,
) {
    let active = match store.active_bundle_id() {
        Ok(Some(id)) => id,
        // Nothing published: the node runs its own files.
        Ok(None) => return,
        // The store's outage is reported by the store's own health.
        Err(e) => {
            tracing::debug!(error = %e, "cannot ask for the fleet's active policy");
            return;
        }
    };
    let state = following.state();
    if state.running.as_deref() == Some(active.as_str())
        || state.refused.as_ref().is_some_and(|(id, _)| *id == active)
    {
        return;
    }
    match load(gw, store, keys, &active) {
        Ok(version) => {
            gw.follow_published();
            tracing::info!(bundle = %active, %version, "enforcing the fleet's published policy");
            following.update(|s| {
                s.running = Some(active);
                s.refused = None;
            });
        }
        Err(why) => {
            let current = gw.compiled().policy.version().to_owned();
            let why = format!(
                "cannot load the fleet's active bundle {active}: {why}; still enforcing policy version {current}"
            );
            tracing::error!("{why}");
            following.update(|s| s.refused = Some((active, why)));
        }
    }
}

/// Loads bundle `id` into the gateway; the policy version on success.
fn load(
    gw: &Gateway,
    store: &PostgresStore,
    keys: &[cordon_audit::VerifierKey],
    id: &str,
) -> std::result::Result<String, String> {
    let stored = store
        .bundle(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the store holds no bundle under that id".to_owned())?;
    let signed = cordon_fleet::SignedBundle {
        id: stored.id,
        content: stored.content,
        signature: stored.signature,
    };
    let bundle = signed.open(keys).map_err(|e| e.to_string())?;
    let source = |f: &cordon_fleet::BundleFile| {
        cordon_source::SourceFile::new(format!("{id}/{}", f.name), f.text.clone())
    };
    let directives: Vec<_> = bundle.directives.iter().map(source).collect();
    gw.install(
        &directives,
        &source(&bundle.catalog),
        &format!("bundle {id}"),
        &bundle.policy_version,
        "published",
    )
    .map_err(|e| e.to_string())
}
