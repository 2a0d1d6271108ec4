//! `cordon serve`.

mod envoy;
pub mod fleet;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use cordon_audit::leaf::Record;
use cordon_audit::{SigningKey, VerifierKey};
use cordon_audit_log::{AuditLog, CommitObserver, LogConfig};
use cordon_gateway::audit::{self, AuditTrail};
use cordon_gateway::config::AuditConfig;
use cordon_gateway::{Config, Gateway};
use cordon_store::ChangeJournal;
use cordon_store::screening::ScreeningStore;

use crate::data_dir::{self, DataDir};

/// Arguments of `cordon serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The configuration file (docs/configuration.md).
    #[arg(long, default_value = "cordon.toml")]
    config: PathBuf,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Worker threads for the async runtime (default: one per CPU).
    #[arg(long)]
    workers: Option<usize>,
    /// Run one shared multi-threaded runtime instead of one single-threaded
    /// runtime per worker on its own SO_REUSEPORT listener (the default, which
    /// avoids cross-thread hand-offs and proxies about 30 % more requests per CPU).
    #[arg(long)]
    shared_runtime: bool,
    /// The data directory holding the audit log, its signing key and the
    /// pseudonym salt, unless `[audit]` names them (default:
    /// $CORDON_DATA_DIR, else `cordon-data`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// This node's name in the fleet that shares its identity store
    /// (default: the host name and the listening address).
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// Also serve the compliance console at `/console/` on the gateway's
    /// listener, on the same store, directives and audit log (its users are
    /// the data directory's, as `cordon console admin add` makes them).
    #[arg(long)]
    console: bool,
    /// With `--console`: log in with OpenID Connect as this settings file
    /// says (docs/console.md).
    #[arg(long, value_name = "FILE", requires = "console")]
    console_oidc: Option<PathBuf>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Sets up `tracing` output on stderr; `RUST_LOG` filters (default `info`).
///
/// Lines gather in memory and a background thread writes them, many at a
/// time (see [`crate::log_writer`]), so a request neither waits on the
/// terminal or the log file nor pays a system call for its line; keep the
/// returned guard alive until exit so waiting lines are written.
#[must_use = "dropping the guard stops the log writer"]
pub fn init_logging(format: LogFormat) -> Option<crate::log_writer::Guard<std::io::Stderr>> {
    let (writer, guard) =
        match crate::log_writer::spawn(std::io::stderr(), crate::log_writer::Limits::default()) {
            Ok(started) => started,
            Err(e) => {
                eprintln!("cannot start the log writer thread ({e}); logging to stderr directly");
                init_direct(format);
                return None;
            }
        };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Some(guard)
}

/// What `RUST_LOG` asks to be logged; `info` when it is unset or unreadable.
fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Logging straight to stderr, line by line: when no writer thread starts.
fn init_direct(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub fn run(a: Args) -> Result<ExitCode> {
    let _log = init_logging(a.log_format);
    let loaded = Config::load(&a.config)
        .with_context(|| format!("cannot load the configuration `{}`", a.config.display()))?;
    for (field, guards) in loaded.placeholder_secrets() {
        tracing::warn!(
            field,
            "`{field}` is still the example's placeholder: anyone who has read cordon.toml can use {guards}; set a long random value"
        );
    }
    let data = DataDir::resolve(a.data_dir.as_deref());
    // The configuration's `store` wins; without one the store lives in the
    // data directory with the audit log.
    let listen = loaded.config.listen;
    let node = a
        .node
        .clone()
        .unwrap_or_else(|| fleet::default_node(listen));
    let opened_store = fleet::open(
        loaded.config.store.as_deref(),
        &loaded.config.postgres,
        &data,
        &node,
        audit::SERVE_ACTOR,
    )?;
    let gw = Arc::new(Gateway::new(
        loaded,
        opened_store.identity.clone(),
        Arc::new(crate::clock::now),
    )?);
    let audit_config = gw.loaded.config.audit.clone();
    let replicated = audit_config.durability == audit::Durability::Replicated;
    if replicated && opened_store.shared.is_none() {
        bail!(
            "`audit.durability = \"replicated\"` needs a shared store to replicate to: set `store = \"postgres://…\"`, or use `durability = \"local\"` with this node's own store"
        );
    }
    let mut shipper = None;
    let mut audit_shown = None;
    let copier = if audit_config.enabled {
        // A node with a shared store ships its log there; the writer hands
        // each committed batch to the shipper.
        let queue = opened_store
            .shared
            .as_ref()
            .map(|_| Arc::new(cordon_fleet::CommitQueue::default()));
        let mut opened = open_audit(
            &data,
            &audit_config,
            queue.clone().map(|q| q as Arc<dyn CommitObserver>),
        )?;
        audit_shown = Some((opened.dir.clone(), opened.verifier.clone()));
        tracing::info!(
            log = %opened.dir.display(),
            size = opened.trail.stats().size,
            public_key = %opened.verifier.to_text(),
            durability = ?audit_config.durability,
            "audit log open"
        );
        if let (Some(shared), Some(queue)) = (&opened_store.shared, queue) {
            let handle = cordon_fleet::Shipper::new(
                shared.clone(),
                &node,
                opened.dir.clone(),
                opened.verifier.clone(),
                queue,
            )
            .spawn()
            .context("cannot start the audit log shipper")?;
            if replicated {
                opened.trail = opened
                    .trail
                    .replicated(handle.confirmed(), audit_config.replication_timeout());
            }
            shipper = Some(Arc::new(handle));
        }
        Some(start_audit(
            &gw,
            opened.trail,
            opened_store.journal.clone(),
            audit::SERVE_ACTOR,
        )?)
    } else {
        tracing::warn!("the audit log is off (`audit.enabled = false`): no decision is recorded");
        None
    };
    spawn_list_watcher(gw.clone(), opened_store.lists.clone());
    if let Some(url) = &opened_store.postgres {
        fleet::spawn_change_listener(gw.clone(), url.clone());
    }
    let standing = match &opened_store.shared {
        Some(shared) => {
            let keys = gw
                .loaded
                .config
                .fleet
                .publisher_keys
                .iter()
                .map(|k| cordon_audit::VerifierKey::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .context("`fleet.publisher_keys`")?;
            let standing = Arc::new(fleet::Standing {
                shipper: shipper.clone(),
                replicated,
                following: fleet::follow_published(gw.clone(), shared.clone(), keys),
            });
            let reported = Arc::clone(&standing);
            gw.set_fleet_health(Arc::new(move || reported.report()));
            Some(standing)
        }
        None => None,
    };
    fleet::spawn_heartbeat(
        gw.clone(),
        opened_store.fleet.clone(),
        node.clone(),
        listen.to_string(),
        standing,
    );
    tracing::info!(store = %opened_store.label, %node, "identity store open");
    let mounted = if a.console {
        console(&a, &data, &gw, audit_shown)?
    } else {
        axum::Router::new()
    };
    #[cfg(unix)]
    if !a.shared_runtime {
        let workers = a
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let grpc = envoy::bind(&gw)?;
        let servers = cordon_gateway::PerCore::bind(listen, workers)
            .with_context(|| format!("cannot listen on {listen}"))?;
        let (tx, rx) = tokio::sync::watch::channel(false);
        let tx = Arc::new(tx);
        let signals = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the signal runtime")?;
        let on_signal = Arc::clone(&tx);
        std::thread::spawn(move || {
            signals.block_on(shutdown_signal());
            let _ = on_signal.send(true);
        });
        let grpc = grpc
            .map(|l| envoy::spawn(gw.clone(), l, workers, rx.clone(), Arc::clone(&tx)))
            .transpose()?;
        tracing::info!(%listen, workers, policy = %gw.compiled().policy.version(), "cordon gateway listening (one runtime per worker)");
        let served = servers
            .serve_with(gw.clone(), mounted, rx)
            .context("the server failed");
        // However the HTTP side stopped, the gRPC side stops with it.
        let _ = tx.send(true);
        let grpc_served = grpc.map(|t| {
            t.join()
                .map_err(|_| anyhow::anyhow!("the Envoy gRPC server's thread panicked"))
                .and_then(|r| r)
        });
        if let Some(copier) = copier {
            stop_audit(&gw, copier);
        }
        served?;
        grpc_served.transpose()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = a.workers {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.build().context("cannot start the async runtime")?;
    let grpc = envoy::bind(&gw)?;
    let served = runtime.block_on({
        let gw = gw.clone();
        async move {
            let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
            let (tx, rx) = tokio::sync::watch::channel(false);
            let tx = Arc::new(tx);
            let on_signal = Arc::clone(&tx);
            tokio::spawn(async move {
                shutdown_signal().await;
                let _ = on_signal.send(true);
            });
            let grpc = grpc.map(|l| tokio::spawn(envoy::run(gw.clone(), l, rx.clone(), Arc::clone(&tx))));
            tracing::info!(%listen, policy = %gw.compiled().policy.version(), "cordon gateway listening");
            let served = cordon_gateway::serve_with(gw, listener, mounted, envoy::stopped(rx)).await.context("the server failed");
            // However the HTTP side stopped, the gRPC side stops with it.
            let _ = tx.send(true);
            if let Some(task) = grpc {
                task.await.context("the Envoy gRPC server's task panicked")??;
            }
            served
        }
    });
    if let Some(copier) = copier {
        stop_audit(&gw, copier);
    }
    served?;
    Ok(ExitCode::SUCCESS)
}

/// The compliance console's routes, on the gateway's store, directives and
/// audit log, for `--console`.
fn console(
    a: &Args,
    data: &DataDir,
    gw: &Gateway,
    audit: Option<(PathBuf, VerifierKey)>,
) -> Result<axum::Router> {
    let config = &gw.loaded.config;
    let store = config
        .store
        .clone()
        .unwrap_or_else(|| data.identity_store());
    let (audit_log, audit_key) = audit.unzip();
    let console = super::console::open(super::console::Setup {
        data,
        users: super::console::users(data)?,
        store: &store,
        directives: config.directives.clone(),
        catalog: config.catalog.clone(),
        audit_log,
        audit_key,
        oidc: a.console_oidc.as_deref(),
        publisher_key: None,
    })
    .context("cannot open the compliance console")?;
    console.start_indexing();
    tracing::info!(listen = %config.listen, "compliance console at /console/");
    Ok(cordon_console::router(console))
}

/// An open audit log, ready for [`start_audit`].
pub struct OpenedAudit {
    /// The trail to install in the gateway.
    pub trail: AuditTrail,
    /// The log directory.
    pub dir: PathBuf,
    /// The public key auditors verify it with.
    pub verifier: VerifierKey,
    /// The public key file, when the key lives in the data directory.
    pub verifier_file: Option<PathBuf>,
}

/// Opens the audit log the configuration and data directory name: the
/// signing key (generated in the data directory on first use, named
/// `audit.origin` or the default origin), the pseudonym salt (likewise), and
/// the log itself, recovering a torn tail a crash left behind.
///
/// A key is generated only for a log without checkpoints, and the key must
/// be the one that signed the stored checkpoints: a gateway never starts
/// signing a log with a key its earlier checkpoints do not verify with.
///
/// # Errors
/// When a key or salt named in the configuration is missing or unreadable;
/// when the key is missing but the log holds checkpoints; when the stored
/// checkpoints or the public key file do not match the key; or when the log
/// cannot be opened (locked by another writer, corrupt).
pub fn open_audit(
    data: &DataDir,
    config: &AuditConfig,
    observer: Option<Arc<dyn CommitObserver>>,
) -> Result<OpenedAudit> {
    let origin = config.origin.as_deref().unwrap_or(data_dir::DEFAULT_ORIGIN);
    let dir = config.dir.clone().unwrap_or_else(|| data.audit_log());
    let (key, key_file, verifier_file) = match &config.key {
        Some(path) => {
            if !path.exists() {
                data_dir::refuse_missing_key(path, &dir)?;
                bail!(
                    "the signing key `{}` (`audit.key`) does not exist: make one with `cordon audit keygen --data-dir DIR` and point `audit.key` at `DIR/audit-key`, or remove `audit.key` to use the data directory's",
                    path.display()
                );
            }
            (data_dir::load_signing_key(path)?, path.clone(), None)
        }
        None => {
            let (key, created) = data.signing_key_or_create(origin, &dir)?;
            if created {
                tracing::info!(key = %data.signing_key().display(), public_key = %key.verifier().to_text(), "generated the audit log's signing key");
            }
            (key, data.signing_key(), Some(data.verifier_key()))
        }
    };
    data_dir::check_key(&key, &key_file, verifier_file.as_deref(), &dir)?;
    let salt = match &config.salt {
        Some(path) => read_salt(path)?,
        None => data.salt_or_create()?,
    };
    let mut log_config = LogConfig::new(&dir, key.name());
    log_config.max_batch = config.max_batch;
    log_config.batch_window = config.batch_window();
    log_config.checkpoint_interval = config.checkpoint_interval();
    log_config.observer = observer;
    let verifier = key.verifier();
    let log = open_log(log_config, key)?;
    Ok(OpenedAudit {
        trail: AuditTrail::new(log, salt.to_vec(), verifier.clone(), config),
        dir,
        verifier,
        verifier_file,
    })
}

fn open_log(config: LogConfig, key: SigningKey) -> Result<AuditLog> {
    let dir = config.dir.clone();
    let (log, report) = AuditLog::open(config, key)
        .with_context(|| format!("cannot open the audit log `{}`", dir.display()))?;
    if let Some(cut) = &report.cut {
        let lost = if cut.lost.is_empty() {
            "no readable entries".to_owned()
        } else {
            format!(
                "entries {} to {}",
                cut.lost.start,
                cut.lost.end.saturating_sub(1)
            )
        };
        tracing::warn!(
            segment = %cut.segment.display(),
            offset = cut.offset,
            bytes = cut.bytes,
            reason = %cut.reason,
            "the audit log ended in a torn batch, cut at byte {} of `{}` ({} bytes, {lost}); a batch torn by a crash was never acknowledged",
            cut.offset,
            cut.segment.display(),
            cut.bytes,
        );
    }
    if report.derived_rebuilt_from < report.size {
        tracing::info!(
            from = report.derived_rebuilt_from,
            size = report.size,
            "rebuilt the audit log's derived tree files from the segments"
        );
    }
    Ok(log)
}

/// Reads a salt file named in the configuration: 64 hexadecimal digits.
fn read_salt(path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the pseudonym salt `{}` (`audit.salt`)",
            path.display()
        )
    })?;
    crate::data_dir::parse_salt(text.trim())
        .with_context(|| format!("`{}` (`audit.salt`) is not a salt", path.display()))
}

/// The thread that copies the store's change journal into the audit log
/// every second.
pub struct JournalCopier {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// Installs `trail` in the gateway, records the directive set in force,
/// copies the change journal once and starts copying it every second.
///
/// # Errors
/// When the directive set's activation cannot be recorded: a gateway that
/// cannot write its log must not start deciding.
pub fn start_audit(
    gw: &Arc<Gateway>,
    trail: AuditTrail,
    store: Arc<dyn ChangeJournal>,
    actor: &str,
) -> Result<JournalCopier> {
    let activation =
        audit::activation_record(&gw.compiled().policy, gw.now(), actor, "start-up", None);
    trail
        .record_blocking(Record::Admin(activation))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot record the directive set in the audit log: {}",
                e.detail
            )
        })?;
    gw.set_audit(trail);
    let trail = gw
        .audit()
        .context("the audit trail was not installed in the gateway")?;
    copy_once(&trail, &*store);
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("audit-journal".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_secs(1))
            {
                copy_once(&trail, &*store);
            }
            // Whatever changed while the server drained.
            copy_once(&trail, &*store);
        })
        .context("cannot start the journal copier")?;
    Ok(JournalCopier { stop, thread })
}

fn copy_once(trail: &AuditTrail, store: &dyn ChangeJournal) {
    match audit::copy_journal(store, trail.log(), trail.salt()) {
        Ok(r) if r.copied() > 0 => tracing::debug!(
            admin = r.admin,
            decisions = r.decisions,
            through = r.through,
            "copied the change journal into the audit log"
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, "the change journal could not be copied into the audit log; it will be retried")
        }
    }
}

/// Makes the last journal copy, takes the trail out of the gateway and
/// closes the log: everything queued is committed and a final checkpoint
/// signed before this returns.
pub fn stop_audit(gw: &Gateway, copier: JournalCopier) {
    let _ = copier.stop.send(());
    if copier.thread.join().is_err() {
        tracing::error!("the journal copier panicked");
    }
    let Some(trail) = gw.take_audit() else {
        return;
    };
    let size = trail.stats().size;
    match Arc::try_unwrap(trail) {
        Ok(trail) => {
            trail.close();
            tracing::info!(size, "audit log closed");
        }
        Err(_) => tracing::warn!(
            "the audit log is still in use; it is closed when the last request holding it finishes"
        ),
    }
}

/// Keeps `POST /v1/screen` on the store's active list snapshot, in a SQLite
/// file or a PostgreSQL store shared by the fleet alike.
///
/// The snapshot is checked every few seconds and the index rebuilt when
/// `cordon lists import` or `update` activates a new one, on any node,
/// without a restart.
fn spawn_list_watcher(gw: Arc<Gateway>, store: Arc<dyn ScreeningStore>) {
    std::thread::spawn(move || {
        let mut current = None;
        loop {
            match store.active_snapshot() {
                Ok(Some(active)) if current != Some(active.id) => {
                    match store.snapshot_entries(active.id) {
                        Ok(entries) => {
                            let screener = cordon_screening::screener::Screener::new(entries);
                            tracing::info!(snapshot = active.id.0, hash = %active.hash, names = screener.indexed_names(), "restricted-party lists loaded");
                            gw.set_screening(cordon_gateway::Screening {
                                screener,
                                snapshot: serde_json::json!({
                                    "id": active.id.0,
                                    "content_hash": active.hash,
                                    "published": active.published.map(|d| d.to_string()),
                                }),
                            });
                            current = Some(active.id);
                        }
                        Err(e) => tracing::error!(error = %e, "cannot read the list snapshot"),
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "cannot read the active list snapshot"),
            }
            std::thread::sleep(std::time::Duration::from_secs(5));
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
