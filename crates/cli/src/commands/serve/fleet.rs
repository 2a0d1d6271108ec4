//! What `cordon serve` does when its identity store is shared: reports the
//! node every second, and drops cached principals the moment another node
//! changes the store.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cordon_gateway::Gateway;
use cordon_store::postgres::ChangeListener;
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
    /// The SQLite store, which alone keeps restricted-party lists so far.
    pub sqlite: Option<Arc<SqliteStore>>,
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
    data: &DataDir,
    node: &str,
    actor: &str,
) -> Result<OpenedStore> {
    if let Some(url) = store
        .and_then(|p| p.to_str())
        .filter(|s| cordon_store::is_postgres_url(s))
    {
        let pg = PostgresStore::connect(url)
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
            sqlite: None,
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
        sqlite: Some(sqlite),
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
pub fn spawn_heartbeat(gw: Arc<Gateway>, fleet: Arc<dyn Fleet>, node: String, listen: String) {
    let started_at = crate::clock::now();
    let spawned = std::thread::Builder::new()
        .name("fleet-heartbeat".into())
        .spawn(move || {
            loop {
                let report = report(&gw, &node, &listen, started_at);
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

fn report(gw: &Gateway, node: &str, listen: &str, started_at: jiff::Timestamp) -> NodeReport {
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
    let fleet = gw.fleet_health();
    if let Some(f) = fleet
        .as_ref()
        .filter(|f| f.detail.get("audit_shipping").and_then(|v| v.as_str()) == Some("failing"))
    {
        detail.push(format!(
            "audit log shipping failing: {}",
            f.detail
                .get("shipping_error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown")
        ));
    }
    let fleet_ok = fleet.is_none_or(|f| f.healthy);
    NodeReport {
        node: node.to_owned(),
        listen: listen.to_owned(),
        policy_version: gw.compiled().policy.version().to_owned(),
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
pub fn health(
    shipper: Option<Arc<cordon_fleet::shipper::ShipperHandle>>,
    replicated: bool,
) -> Arc<cordon_gateway::FleetHealth> {
    Arc::new(move || {
        let Some(shipper) = &shipper else {
            return cordon_gateway::FleetReport {
                healthy: true,
                detail: serde_json::json!({"audit_shipping": "off"}),
            };
        };
        let s = shipper.status();
        let lag = |q| s.lag_quantile(q).map(|d| d.as_secs_f64() * 1000.0);
        cordon_gateway::FleetReport {
            healthy: !(replicated && s.failing.is_some()),
            detail: serde_json::json!({
                "audit_shipping": if s.failing.is_some() { "failing" } else { "ok" },
                "shipped_entries": s.shipped,
                "shipping_error": s.failing,
                "shipping_lag_ms": {"p50": lag(0.5), "p99": lag(0.99)},
            }),
        }
    })
}
