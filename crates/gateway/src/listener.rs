//! Accepting connections: plain or TLS, HTTP/1.1 and HTTP/2, each bounded
//! so that a slow or idle client cannot hold more than its share.
//!
//! - a client address holds at most `limits.max_connections_per_ip` open
//!   connections; more are closed as soon as they are accepted;
//! - a request's headers must arrive within `limits.header_read_timeout_secs`
//!   of the connection's start or of the previous response, which also
//!   closes idle keep-alive connections (the body's own timeout is the
//!   request's, [`crate::proxy`]);
//! - a TLS handshake must finish within 10 s;
//! - out of descriptors, accepting pauses briefly instead of failing.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::config::Limits;
use crate::listener_tls::ListenerTls;

/// How long open connections may take to finish when the gateway stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Open connections per client address, shared by every worker.
#[derive(Debug, Default)]
pub struct Connections {
    open: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
}

impl Connections {
    /// Counts a new connection from `ip`, unless it already holds `cap`
    /// (0: no cap); the returned guard uncounts it when dropped.
    fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Admitted> {
        let mut open = self.open.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if cap != 0 && *n >= cap {
            drop(open);
            self.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *n += 1;
        Some(Admitted {
            connections: Arc::clone(self),
            ip,
        })
    }

    /// Connections closed at once because their address held its share.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// The connections open from `ip` now.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.open
            .lock()
            .ok()
            .and_then(|m| m.get(&ip).copied())
            .unwrap_or(0)
    }
}

/// One counted connection.
struct Admitted {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut open) = self.connections.open.lock()
            && let Some(n) = open.get_mut(&self.ip)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener`, over TLS when `tls` is given, within
/// `limits`, until `stopped` resolves; then lets open connections finish
/// for up to 30 seconds. The peer's address is each request's
/// `ConnectInfo`.
///
/// # Errors
/// Never today; accept errors pause and retry.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<ListenerTls>,
    limits: &Limits,
    connections: Arc<Connections>,
    stopped: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let header_timeout = Duration::from_secs(limits.header_read_timeout_secs.max(1));
    let cap = limits.max_connections_per_ip;
    let header_ceiling = limits.max_headers.saturating_mul(2).max(100);
    let buffer_ceiling = limits.max_header_bytes.saturating_mul(4).max(400 * 1024);
    tokio::pin!(stopped);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let Some(admitted) = connections.admit(peer.ip(), cap) else {
            tracing::debug!(%peer, "connection closed: its address holds its share");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let tls = tls.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _admitted = admitted;
            let service = hyper_util::service::TowerToHyperService::new(
                app.layer(axum::Extension(ConnectInfo::<SocketAddr>(peer))),
            );
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // The HTTP library's own ceilings sit above the configured
            // limits, so that a request over a limit reaches the gateway and
            // is refused in its API's shape; past them the library answers
            // a bare 431 itself.
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_headers(header_ceiling)
                .max_buf_size(buffer_ceiling);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(header_timeout))
                .keep_alive_timeout(header_timeout);
            let served = match tls {
                None => {
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                        .into_owned();
                    watcher.watch(conn).await
                }
                Some(tls) => match tls.accept(tcp).await {
                    Ok(stream) => {
                        let conn = builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .into_owned();
                        watcher.watch(conn).await
                    }
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}
