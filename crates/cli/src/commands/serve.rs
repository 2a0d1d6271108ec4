//! `cordon serve`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use cordon_gateway::{Config, Gateway};
use cordon_store::SqliteStore;

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
/// Lines are handed to a background writer thread, so a request never waits
/// on the terminal or the log file; keep the returned guard alive until exit
/// so buffered lines are flushed.
#[must_use = "dropping the guard stops the log writer"]
pub fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    // Not lossy: if the writer falls 128,000 lines behind, requests wait
    // rather than lines being dropped.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stderr());
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    guard
}

pub fn run(a: Args) -> Result<ExitCode> {
    let _log = init_logging(a.log_format);
    let loaded = Config::load(&a.config)
        .with_context(|| format!("cannot load the configuration `{}`", a.config.display()))?;
    let store_path = loaded.config.store.clone();
    if let Some(dir) = store_path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let store = SqliteStore::open(&store_path)
        .with_context(|| format!("cannot open the identity store `{}`", store_path.display()))?;
    let listen = loaded.config.listen;
    let store = Arc::new(store);
    let gw = Arc::new(Gateway::new(
        loaded,
        store.clone(),
        Arc::new(crate::clock::now),
    )?);
    spawn_list_watcher(gw.clone(), store);
    #[cfg(unix)]
    if !a.shared_runtime {
        let workers = a
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let (tx, rx) = tokio::sync::watch::channel(false);
        let signals = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the signal runtime")?;
        std::thread::spawn(move || {
            signals.block_on(shutdown_signal());
            let _ = tx.send(true);
        });
        tracing::info!(%listen, workers, policy = %gw.compiled().policy.version(), "cordon gateway listening (one runtime per worker)");
        let servers = cordon_gateway::PerCore::bind(listen, workers)
            .with_context(|| format!("cannot listen on {listen}"))?;
        servers.serve(gw, rx).context("the server failed")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = a.workers {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        tracing::info!(%listen, policy = %gw.compiled().policy.version(), "cordon gateway listening");
        cordon_gateway::serve(gw, listener, shutdown_signal()).await.context("the server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Keeps `POST /v1/screen` on the store's active list snapshot.
///
/// The snapshot is checked every few seconds and the index rebuilt when
/// `cordon lists import` or `update` activates a new one, without a restart.
fn spawn_list_watcher(gw: Arc<Gateway>, store: Arc<SqliteStore>) {
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
