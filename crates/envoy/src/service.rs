//! `envoy.service.auth.v3.Authorization/Check`, answered by the gateway.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use cordon_gateway::Gateway;
use cordon_gateway::api_error::{self, Code};
use cordon_gateway::authz::{self, Verdict};
use cordon_gateway::proxy;
use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, HttpResponse,
};

use crate::request::Original;
use crate::response;

/// The route gRPC answers are counted under in `cordon_responses_total`.
pub const METRICS_ROUTE: &str = "envoy.service.auth.v3.Authorization/Check";

/// How much larger than `limits.max_body_bytes` a `CheckRequest` may be:
/// room for the headers and the other attributes Envoy sends with the body.
const HEADROOM: usize = 1024 * 1024;

/// Cordon's answer to Envoy's `Check`: the gateway decides on the request
/// the `CheckRequest` describes, exactly as it does for the HTTP
/// `ext_authz` endpoint.
#[derive(Clone)]
pub struct CordonAuthorization {
    gw: Arc<Gateway>,
}

impl std::fmt::Debug for CordonAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CordonAuthorization")
            .finish_non_exhaustive()
    }
}

impl CordonAuthorization {
    /// Answers for `gw`.
    pub fn new(gw: Arc<Gateway>) -> Self {
        CordonAuthorization { gw }
    }

    /// The gRPC service, accepting a `CheckRequest` as large as the
    /// gateway's body limit plus room for headers (tonic's default is 4 MiB,
    /// which a body at the default limit would not fit in). A larger body is
    /// answered by the gateway's own 413, not by a gRPC error.
    pub fn into_server(self) -> AuthorizationServer<CordonAuthorization> {
        let limit = self
            .gw
            .loaded
            .config
            .limits
            .max_body_bytes
            .saturating_mul(2)
            .saturating_add(HEADROOM);
        AuthorizationServer::new(self).max_decoding_message_size(limit)
    }
}

#[tonic::async_trait]
impl Authorization for CordonAuthorization {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let peer = request.remote_addr();
        let answer = decide(&self.gw, peer, request.into_inner()).await;
        Ok(tonic::Response::new(answer))
    }
}

/// Decides one `CheckRequest` that came from `peer`.
///
/// Allowed only when the gateway allows the original request; a malformed
/// `CheckRequest` is a denied 400 (413 for a cut-off body), and Cordon
/// unable to decide or to record its decision is a denied 503: never OK.
pub async fn decide(
    gw: &Arc<Gateway>,
    peer: Option<SocketAddr>,
    check: CheckRequest,
) -> CheckResponse {
    // The path picks the API whose error shape answers, even when the rest
    // of the request is malformed.
    let path = check
        .attributes
        .as_ref()
        .and_then(|a| a.request.as_ref())
        .and_then(|r| r.http.as_ref())
        .map(|h| h.path.clone())
        .unwrap_or_default();
    let answer = match (Original::from_check(check), peer) {
        (Err(e), _) => {
            tracing::debug!(error = %e, "refused a malformed check request");
            response::denied(authz::malformed(&path, &e.to_string(), e.cut_off())).await
        }
        (Ok(original), None) => {
            // tonic names the peer of every TCP connection; without one the
            // trusted-proxy rules cannot be applied, so nothing is decided.
            let mut r = api_error::response(
                authz::api_of_path(&original.path_and_query),
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "cordon cannot tell which address the check request came from",
            );
            proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &proxy::decision_id());
            response::denied(r).await
        }
        (Ok(original), Some(peer)) => {
            let Original {
                method,
                path_and_query,
                headers,
                body,
            } = original;
            let sent = headers.clone();
            let verdict = authz::check_original(
                gw,
                peer,
                &method,
                &path_and_query,
                headers,
                Body::from(body),
            )
            .await;
            match verdict {
                Verdict::Allowed(upstream) => response::ok(&upstream, &sent),
                Verdict::Refused(r) => response::denied(r).await,
            }
        }
    };
    gw.metrics.response(METRICS_ROUTE, http_status(&answer));
    answer
}

/// The HTTP status an answer stands for: 200 for OK.
fn http_status(answer: &CheckResponse) -> u16 {
    match &answer.http_response {
        Some(HttpResponse::DeniedResponse(d)) => d
            .status
            .as_ref()
            .and_then(|s| u16::try_from(s.code).ok())
            .unwrap_or(403),
        _ => 200,
    }
}
