//! The gRPC listener for Envoy's external authorisation (`[envoy]
//! grpc_listen`): served beside the HTTP listener, stopped with it, and
//! stopping it when it fails.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use cordon_gateway::Gateway;
use tokio::sync::watch;

/// The bound gRPC listener, not yet served.
pub struct EnvoyListener {
    listener: std::net::TcpListener,
    addr: SocketAddr,
}

/// Binds `[envoy] grpc_listen` when it is set, before anything is served, so
/// a port already in use stops start-up instead of leaving Envoy without
/// answers.
pub fn bind(gw: &Gateway) -> Result<Option<EnvoyListener>> {
    let Some(addr) = gw.loaded.config.envoy.grpc_listen else {
        return Ok(None);
    };
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on {addr} (`envoy.grpc_listen`)"))?;
    listener
        .set_nonblocking(true)
        .with_context(|| format!("cannot listen on {addr} (`envoy.grpc_listen`)"))?;
    let addr = listener.local_addr().unwrap_or(addr);
    Ok(Some(EnvoyListener { listener, addr }))
}

/// Resolves once `stop` is true (or its sender is gone).
pub async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }
}

/// Serves `Check` until `stop` becomes true. When the server fails, it
/// sets `stop_all`, so the HTTP listener stops as well: a gateway that
/// cannot answer Envoy should not look healthy.
pub async fn run(
    gw: Arc<Gateway>,
    l: EnvoyListener,
    stop: watch::Receiver<bool>,
    stop_all: Arc<watch::Sender<bool>>,
) -> Result<()> {
    let addr = l.addr;
    let listener = tokio::net::TcpListener::from_std(l.listener)
        .with_context(|| format!("cannot listen on {addr} (`envoy.grpc_listen`)"))?;
    tracing::info!(listen = %addr, "Envoy gRPC external authorisation listening");
    let served = cordon_envoy::serve(gw, listener, stopped(stop)).await;
    if let Err(e) = &served {
        tracing::error!(error = %e, "the Envoy gRPC server failed; stopping");
        let _ = stop_all.send(true);
    }
    served.map_err(anyhow::Error::from)
}

/// Runs [`run`] on a thread with its own runtime of `workers` threads, for
/// `cordon serve`'s per-core mode, whose HTTP workers each have a
/// single-threaded runtime of their own.
pub fn spawn(
    gw: Arc<Gateway>,
    l: EnvoyListener,
    workers: usize,
    stop: watch::Receiver<bool>,
    stop_all: Arc<watch::Sender<bool>>,
) -> Result<std::thread::JoinHandle<Result<()>>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .thread_name("cordon-envoy")
        .enable_all()
        .build()
        .context("cannot start the Envoy gRPC server's runtime")?;
    std::thread::Builder::new()
        .name("cordon-envoy".into())
        .spawn(move || runtime.block_on(run(gw, l, stop, stop_all)))
        .context("cannot start the Envoy gRPC server's thread")
}
