//! The Cordon gateway: a reverse proxy in front of model servers that
//! authenticates each caller, locates them, decides with the policy engine, and
//! either forwards the request (streams untouched) or refuses it in the error
//! shape of the API that was called.
#![deny(missing_docs)]

pub mod api_error;
pub mod audit;
mod audit_http;
pub mod authz;
mod batch;
mod batch_lines;
mod batches;
pub mod cidr;
mod client;
pub mod client_ip;
pub mod config;
pub mod decide;
mod decision_api;
pub mod egress;
pub mod end_user;
mod files;
mod fine_tuning;
pub mod inspect;
mod licences;
pub mod listener;
pub mod listener_tls;
pub mod metrics;
pub mod mock;
pub mod model_routes;
pub mod multipart;
pub mod object_id;
mod owned;
pub mod proxy;
pub mod realtime;
mod screen_api;
pub mod state;
mod unmet;
pub mod verification;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cordon_policy::{Effect, Endpoint};
use serde_json::json;
use tokio::net::TcpListener;

pub use config::{Config, Loaded};
pub use state::{Clock, FleetHealth, FleetReport, Gateway, Screening, StartError};

use api_error::{Api, Code};

/// The gateway's HTTP routes.
pub fn router(gw: Arc<Gateway>) -> Router {
    let mut router = Router::new();
    for r in model_routes::MODEL_ROUTES {
        router = router.route(
            r.path,
            post(
                move |State(gw): State<Arc<Gateway>>,
                      ConnectInfo(peer): ConnectInfo<SocketAddr>,
                      req: Request<Body>| {
                    proxy::model_request(gw, r.api, r.endpoint, r.path, peer, req)
                },
            ),
        );
    }
    for r in owned::calls::OBJECT_ROUTES {
        router = router.route(
            r.path,
            axum::routing::on(
                r.method.filter(),
                move |State(gw): State<Arc<Gateway>>,
                      ConnectInfo(peer): ConnectInfo<SocketAddr>,
                      req: Request<Body>| owned::calls::call(gw, r, peer, req),
            ),
        );
    }
    router
        .route("/v1/messages/batches", post(batch::anthropic))
        .route("/v1/realtime", get(realtime::open))
        .route("/v1/fine_tuning/jobs", post(fine_tuning::create))
        .route("/v1/files", post(files::upload))
        .route("/v1/batches", post(batches::create))
        .route("/v1/models", get(models))
        .route("/v1/models/{model}", get(model))
        .route("/v1/decide", post(decision_api::decide))
        .route("/v1/screen", post(screen_api::screen))
        .route("/access/v1/evaluation", post(authz::authzen))
        .route("/ext_authz", axum::routing::any(authz::ext_authz))
        .route("/ext_authz/{*path}", axum::routing::any(authz::ext_authz))
        .route("/nginx/auth", axum::routing::any(authz::nginx_auth))
        .route("/v1/audit/receipts/{index}", get(audit_http::receipt))
        .route(
            "/v1/verification/webhooks/{source}",
            post(verification::webhook),
        )
        .route("/v1/verification", get(verification::status))
        .route("/v1/verification/assertions", post(verification::assertion))
        .route(
            "/v1/verification/declarations",
            post(verification::declaration),
        )
        .route(
            "/v1/organizations/{id}/attestations",
            post(verification::attestation),
        )
        .route(
            "/v1/organizations/{id}/end-users",
            post(end_user::registration::register).delete(end_user::registration::remove),
        )
        .route(
            "/v1/organizations/{id}/licences",
            post(licences::submission),
        )
        .route(
            "/audit/checkpoint",
            get(audit_http::checkpoint).post(audit_http::sign_checkpoint),
        )
        .route("/audit/tile/{*rest}", get(audit_http::tile))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&gw),
            header_limits,
        ))
        .with_state(gw)
}

/// Refuses a request whose header fields are over the configured limits
/// with a 431 in the API's shape, before any route sees it.
async fn header_limits(
    State(gw): State<Arc<Gateway>>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let limits = &gw.loaded.config.limits;
    let headers = req.headers();
    let bytes = req.uri().path_and_query().map_or(0, |p| p.as_str().len())
        + headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    let over = if headers.len() > limits.max_headers {
        Some(format!(
            "the request has {} header fields; at most {} are accepted",
            headers.len(),
            limits.max_headers
        ))
    } else if bytes > limits.max_header_bytes {
        Some(format!(
            "the request's target and header fields take {bytes} bytes; at most {} are accepted",
            limits.max_header_bytes
        ))
    } else {
        None
    };
    let Some(message) = over else {
        return next.run(req).await;
    };
    let id = proxy::decision_id();
    let mut r = api_error::response(
        api_of(headers),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        Code::RequestTooLarge,
        &message,
    );
    proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &id);
    r
}

/// Which API a request speaks, from its headers (Anthropic SDKs send `anthropic-version`).
fn api_of(headers: &HeaderMap) -> Api {
    if headers.contains_key("anthropic-version") {
        Api::Anthropic
    } else {
        Api::OpenAi
    }
}

async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let id = proxy::decision_id();
    let mut r = api_error::response(
        api_of(&headers),
        StatusCode::NOT_FOUND,
        Code::NotFound,
        &format!("no route for `{}`", uri.path()),
    );
    proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &id);
    r
}

/// A known path with a method it does not take: a 405 in the API's shape,
/// with a decision id like every other answer.
async fn method_not_allowed(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let id = proxy::decision_id();
    let mut r = api_error::response(
        api_of(&headers),
        StatusCode::METHOD_NOT_ALLOWED,
        Code::InvalidRequest,
        &format!("`{}` does not take {method}", uri.path()),
    );
    proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &id);
    r
}

/// `GET /v1/models`: only the models this caller may use now.
async fn models(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    usable_models(&gw, peer, &headers, None).await
}

/// `GET /v1/models/{model}`: the model, when this caller may use it now;
/// otherwise 404, as the listing leaves it out (a refused model is not
/// described, lest its existence be the answer).
async fn model(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    usable_models(&gw, peer, &headers, Some(&name)).await
}

/// The models the caller may use now, in the API's listing shape; or,
/// with `only`, that one model in the API's model shape.
async fn usable_models(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    headers: &HeaderMap,
    only: Option<&str>,
) -> Response {
    let id = proxy::decision_id();
    let api = api_of(headers);
    let fail = |status, code, msg: &str| {
        let mut r = api_error::response(api, status, code, msg);
        proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &id);
        r
    };
    let principal = match proxy::authenticate(gw, api, headers, &id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let compiled = gw.compiled();
    let origin = decide::locate(gw, peer, headers);
    let only = only.map(|name| decide::resolve(&compiled, name));
    let endpoint = if api == Api::Anthropic {
        Endpoint::Messages
    } else {
        Endpoint::Chat
    };
    let mut listed = Vec::new();
    for (mid, m) in compiled.policy.catalog().models() {
        if only.is_some_and(|o| o != Some(mid)) {
            continue;
        }
        let mut request = decide::request(gw, Some(mid), endpoint, None, &origin);
        // An organisation's key lists what the organisation may use; each
        // request is then decided on the end user it names, so questions
        // about the natural person are not the listing's to answer.
        request.person_decided_apart =
            principal.subject.kind == cordon_subject::SubjectKind::Organization;
        let d = decide::preview(&compiled, &principal.subject, &request);
        if d.effect <= Effect::AllowWithObligations && gw.upstream(&compiled, mid).is_some() {
            listed.push(m);
        }
    }
    if only.is_some() {
        let Some(m) = listed.first() else {
            return fail(
                StatusCode::NOT_FOUND,
                Code::ModelNotFound,
                "the model does not exist or you do not have access to it",
            );
        };
        let body = match api {
            Api::OpenAi => {
                json!({"id": m.id, "object": "model", "created": 0, "owned_by": m.family})
            }
            Api::Anthropic => {
                json!({"type": "model", "id": m.id, "display_name": m.id, "created_at": "2026-01-01T00:00:00Z"})
            }
        };
        let mut r = axum::Json(body).into_response();
        proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &id);
        return r;
    }
    let body = match api {
        Api::OpenAi => {
            json!({"object": "list", "data": listed.iter().map(|m| json!({"id": m.id, "object": "model", "created": 0, "owned_by": m.family})).collect::<Vec<_>>()})
        }
        Api::Anthropic => json!({
            "data": listed.iter().map(|m| json!({"type": "model", "id": m.id, "display_name": m.id, "created_at": "2026-01-01T00:00:00Z"})).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": listed.first().map(|m| &m.id),
            "last_id": listed.last().map(|m| &m.id),
        }),
    };
    let mut r = axum::Json(body).into_response();
    proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &id);
    r
}

async fn healthz(State(gw): State<Arc<Gateway>>) -> Response {
    let compiled = gw.compiled();
    let store = Arc::clone(&gw.store);
    let store_ok = tokio::task::spawn_blocking(move || store.version().is_ok())
        .await
        .unwrap_or(false);
    let audit = gw.audit().map(|trail| {
        let mut a = match trail.health() {
            cordon_audit_log::LogHealth::Ok => {
                json!({"status": "ok", "entries": trail.stats().size})
            }
            cordon_audit_log::LogHealth::Failing {
                reason,
                since_batches,
            } => json!({"status": "failing", "reason": reason, "failed_batches": since_batches}),
            cordon_audit_log::LogHealth::Stopped { reason } => {
                json!({"status": "stopped", "reason": reason})
            }
        };
        if let Some(a) = a.as_object_mut() {
            a.insert("durability".into(), json!(trail.durability()));
        }
        a
    });
    let audit_ok = audit.as_ref().is_none_or(|a| a["status"] == "ok");
    let fleet = gw.fleet_health();
    let fleet_ok = fleet.as_ref().is_none_or(|f| f.healthy);
    let status = if store_ok && audit_ok && fleet_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({
        "status": if store_ok && audit_ok && fleet_ok { "ok" } else { "degraded" },
        "audit_log": audit.unwrap_or_else(|| json!({"status": "disabled"})),
        "policy_version": compiled.policy.version(),
        "directives": compiled.policy.directives().len(),
        "identity_store": if store_ok { "ok" } else { "unavailable" },
        // Cached keys are trusted this long without the store; past it a
        // store that cannot answer fails requests closed.
        "cached_keys_trusted_ms": gw.loaded.config.cached_keys_trusted_ms,
        "geoip_databases": gw.geo.databases().len(),
    });
    if let (Some(f), Some(b)) = (fleet, body.as_object_mut()) {
        b.insert("fleet".into(), f.detail);
    }
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(gw): State<Arc<Gateway>>) -> Response {
    let mut text = gw.metrics.render(gw.compiled().policy.version());
    if let Some(trail) = gw.audit() {
        trail.render_metrics(&mut text);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Watches the directive directory and catalog (polling modification times) and
/// reloads on change or on SIGHUP. A set that fails validation is rejected with
/// a log line and the old one stays in force.
pub fn spawn_reloader(gw: Arc<Gateway>) {
    let interval = Duration::from_secs(gw.loaded.config.reload_interval_secs);
    tokio::spawn(async move {
        let stamp = |gw: &Gateway| -> Vec<(std::path::PathBuf, Option<SystemTime>)> {
            gw.watched_paths()
                .into_iter()
                .map(|p| {
                    let m = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
                    (p, m)
                })
                .collect()
        };
        let mut last = stamp(&gw);
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hup.as_mut() {
                    Some(s) => s.recv().await.is_some(),
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<bool>();
            let by_signal = tokio::select! {
                _ = tokio::time::sleep(interval) => false,
                s = signalled => s,
            };
            if by_signal && let Some(tls) = &gw.tls {
                match tls.reload() {
                    Ok(()) => {
                        tracing::info!(certificate = %tls.certificate().display(), "reloaded the listener's certificate")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot reload the listener's certificate; the previous one stays")
                    }
                }
            }
            let now = stamp(&gw);
            if !by_signal && now == last {
                continue;
            }
            if gw.follows_published() {
                // The fleet's published bundle decides; the files are not read.
                continue;
            }
            last = now;
            let why = if by_signal { "SIGHUP" } else { "file change" };
            let gw2 = Arc::clone(&gw);
            match tokio::task::spawn_blocking(move || gw2.reload()).await {
                Ok(Ok(version)) => {
                    tracing::info!(%version, trigger = why, "reloaded directives and catalog")
                }
                Ok(Err(e)) => {
                    tracing::error!(trigger = why, error = %e, "rejected the new directives or catalog; the previous set stays in force")
                }
                Err(e) => tracing::error!(error = %e, "reload task failed"),
            }
        }
    });
}

/// Binds the listener and serves until `shutdown` resolves.
///
/// # Errors
/// When the address cannot be bound or the server fails.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(gw, listener, Router::new(), shutdown).await
}

/// As [`serve`], with `mounted` routes (such as the compliance console's,
/// all under their own prefix) served beside the gateway's on the same
/// listener.
///
/// The gateway's header limits and fallback stay its own: a mounted router
/// brings its own layers and must not set a fallback.
///
/// # Errors
/// When the address cannot be bound or the server fails.
pub async fn serve_with(
    gw: Arc<Gateway>,
    listener: TcpListener,
    mounted: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    spawn_reloader(Arc::clone(&gw));
    verification::expiry::spawn(Arc::clone(&gw));
    verification::keys::spawn_refreshers(&gw);
    client::spawn_sweeper();
    let tls = gw.tls.clone();
    let limits = gw.loaded.config.limits.clone();
    let connections = Arc::clone(&gw.connections);
    let app = router(gw).merge(mounted);
    listener::serve(listener, app, tls, &limits, connections, shutdown).await
}

/// Listeners and runtimes for [`PerCore::serve`], bound before serving so the
/// caller knows the address (port 0 picks one port for every worker).
#[cfg(unix)]
pub struct PerCore {
    workers: Vec<(tokio::runtime::Runtime, TcpListener)>,
    addr: SocketAddr,
}

#[cfg(unix)]
impl PerCore {
    /// Binds `workers` `SO_REUSEPORT` listeners on `addr`, each with its own
    /// single-threaded runtime.
    ///
    /// Call it outside async code (as `cordon serve` does) or from a blocking
    /// thread: on an error, the runtimes already built are dropped here.
    ///
    /// # Errors
    /// When a runtime cannot start or a listener cannot be bound, including
    /// when something already listens on `addr`: `SO_REUSEPORT` would
    /// otherwise let a second gateway (with other directives, or another
    /// audit log) silently take a share of the connections.
    pub fn bind(addr: SocketAddr, workers: usize) -> std::io::Result<PerCore> {
        if addr.port() != 0 {
            // A plain bind fails on a port anyone listens on, reuse-port or not.
            drop(std::net::TcpListener::bind(addr).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("{addr} is already in use (is another cordon serve running?): {e}"),
                )
            })?);
        }
        let mut out = Vec::new();
        let mut addr = addr;
        for _ in 0..workers.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            // Entering (not blocking on) the runtime registers the listener with
            // its reactor, and works from inside another runtime too.
            let listener = {
                let _entered = runtime.enter();
                let socket = if addr.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                socket.set_reuseaddr(true)?;
                socket.set_reuseport(true)?;
                socket.set_nodelay(true)?;
                socket.bind(addr)?;
                socket.listen(1024)?
            };
            // Port 0: every later worker joins the port the first one got.
            addr = listener.local_addr()?;
            out.push((runtime, listener));
        }
        Ok(PerCore { workers: out, addr })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves with one single-threaded runtime per worker, each accepting on its
    /// own `SO_REUSEPORT` listener, so the kernel spreads connections and each
    /// request is handled start to finish on one thread. Returns when `shutdown`
    /// becomes true and every worker has drained.
    ///
    /// # Errors
    /// When a worker thread cannot start or a server fails.
    pub fn serve(
        self,
        gw: Arc<Gateway>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        self.serve_with(gw, Router::new(), shutdown)
    }

    /// As [`PerCore::serve`], with `mounted` routes served beside the
    /// gateway's on every worker (see [`serve_with`]).
    ///
    /// # Errors
    /// When a worker thread cannot start or a server fails.
    pub fn serve_with(
        self,
        gw: Arc<Gateway>,
        mounted: Router,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> std::io::Result<()> {
        let mut threads = Vec::new();
        for (i, (runtime, listener)) in self.workers.into_iter().enumerate() {
            let gw = Arc::clone(&gw);
            let mounted = mounted.clone();
            let mut stop = shutdown.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("cordon-worker-{i}"))
                    .spawn(move || {
                        runtime.block_on(async move {
                            client::spawn_sweeper();
                            if i == 0 {
                                spawn_reloader(Arc::clone(&gw));
                                verification::expiry::spawn(Arc::clone(&gw));
                                verification::keys::spawn_refreshers(&gw);
                            }
                            let tls = gw.tls.clone();
                            let limits = gw.loaded.config.limits.clone();
                            let connections = Arc::clone(&gw.connections);
                            let app = router(gw).merge(mounted);
                            let stopped = async move {
                                while !*stop.borrow() {
                                    if stop.changed().await.is_err() {
                                        break;
                                    }
                                }
                            };
                            listener::serve(listener, app, tls, &limits, connections, stopped).await
                        })
                    })?,
            );
        }
        for t in threads {
            t.join()
                .map_err(|_| std::io::Error::other("a worker thread panicked"))??;
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::PerCore;

    #[test]
    fn a_second_gateway_cannot_share_a_port_through_reuseport() {
        let first = PerCore::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let taken = first.local_addr();
        let e = PerCore::bind(taken, 2).err().expect("the port is taken");
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains("already in use"), "{e}");
        drop(first);
        assert!(
            PerCore::bind(taken, 1).is_ok(),
            "a freed port can be bound again"
        );
    }
}
