//! Envoy's gRPC external authorisation for Cordon: the service
//! `envoy.service.auth.v3.Authorization/Check`, answered by the gateway.
//!
//! Envoy's `envoy.filters.http.ext_authz` filter, configured with a
//! `grpc_service` and `with_request_body`, describes each request in a
//! `CheckRequest`. This crate turns it into the original HTTP request
//! ([`request::Original`]) and asks
//! [`cordon_gateway::authz::check_original`], the same decision the HTTP
//! `ext_authz` endpoint and the proxy make, recorded in the audit log before
//! the answer. The answer ([`response`]) is:
//!
//! - allowed: gRPC `OK` with `x-cordon-decision-id`, `x-cordon-effect`,
//!   `x-cordon-model` and `x-cordon-audit-index` set on the request for the
//!   upstream, and the decision id, effect and audit index on the client's
//!   response;
//! - anything else: a `DeniedHttpResponse` carrying the gateway's response
//!   as it is (451 for a legal refusal, in the called API's error shape,
//!   with the `Link: rel="blocked-by"` and `Cache-Control: no-store`
//!   headers; 401, 400, 404, 413; 503 when Cordon cannot decide). A
//!   malformed `CheckRequest` is a 400, never an OK.
//!
//! `cordon serve` runs [`serve`] on `[envoy] grpc_listen`; see
//! `docs/integrations.md` for Envoy's configuration.
#![deny(missing_docs)]

pub mod request;
pub mod response;
pub mod service;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use cordon_gateway::Gateway;
use tokio::net::TcpListener;

pub use request::{MapError, Original};
pub use service::{CordonAuthorization, decide};

/// The gRPC server stopped with an error.
#[derive(Debug, thiserror::Error)]
#[error("the Envoy gRPC server on `{addr}` failed: {source}")]
pub struct ServeError {
    /// The address it listened on.
    pub addr: String,
    /// What went wrong.
    #[source]
    pub source: tonic::transport::Error,
}

/// Serves `Check` for `gw` on `listener` (gRPC over HTTP/2 without TLS)
/// until `shutdown` resolves, then lets the calls in progress finish.
///
/// # Errors
/// [`ServeError`] when the server fails.
pub async fn serve(
    gw: Arc<Gateway>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a: SocketAddr| a.to_string());
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .serve_with_incoming_shutdown(
            CordonAuthorization::new(gw).into_server(),
            incoming,
            shutdown,
        )
        .await
        .map_err(|source| ServeError { addr, source })
}
