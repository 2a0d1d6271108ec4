//! One request's decision, in the order it is made: who is asking, what
//! they ask for, on whose behalf, which model, from where; then the
//! decision, recorded before it takes effect.
//!
//! Each step returns the complete response to send instead when the request
//! stops there, so [`evaluate`] reads as the sequence of steps. Who and what
//! are here; on whose behalf is in [`super::caller`], and the decision about
//! the model in [`super::decision`], which calls about a recorded object
//! (whose model is known, with no body to read) share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, header, request::Parts};
use cordon_audit::leaf::Source;
use cordon_policy::Endpoint;
use cordon_store::Principal;

use super::decision::{Ask, Decided, decide_overlapped};
use super::{error, presented_key};
use crate::api_error::{Api, Code};
use crate::inspect::{self, Inspected};
use crate::model_routes::BodyForm;
use crate::state::Gateway;

/// A request that passed every check, ready to forward: its body and what
/// it asks for, and the decision that allowed it (whose fields it lends,
/// as `allowed.decision`, `allowed.canonical` and so on).
pub struct Allowed {
    /// The request body as received.
    pub bytes: bytes::Bytes,
    /// What the body asks for.
    pub inspected: inspect::Inspected,
    /// The decision that allowed it.
    pub decided: Decided,
}

impl std::ops::Deref for Allowed {
    type Target = Decided;

    fn deref(&self) -> &Decided {
        &self.decided
    }
}

impl std::ops::DerefMut for Allowed {
    fn deref_mut(&mut self) -> &mut Decided {
        &mut self.decided
    }
}

/// The response that ends a request before it is forwarded.
pub(super) type Stop = Response<Body>;

/// Authenticates, reads and inspects the body, locates the client and decides.
///
/// Returns the allowed request, or the complete response to send instead: a
/// 401, 400, 403, 404, 413 or a legal refusal. Shared by the proxy and by the
/// external-authorisation endpoints, so every integration decides the same way.
///
/// With an audit log, the decision (a refusal too, an unknown model too) is
/// durable in it before this returns; when it cannot be recorded the answer
/// is a 503 `audit_unavailable` instead (see [`crate::audit`]).
#[allow(
    clippy::too_many_arguments,
    reason = "one request's context, passed down once"
)]
pub async fn evaluate(
    gw: &Arc<Gateway>,
    api: Api,
    endpoint: Endpoint,
    route: &str,
    peer: SocketAddr,
    parts: &Parts,
    body: Body,
    id: &str,
    started: Instant,
    source: Source,
) -> Result<Allowed, Stop> {
    let mut allowed = evaluate_overlapped(
        gw, api, endpoint, route, peer, parts, body, id, started, source,
    )
    .await?;
    allowed.decided.settle(api, id).await?;
    Ok(allowed)
}

/// [`evaluate`], except that an allowed request returns as soon as its
/// decision's record is queued, the record in `decided.pending`: see
/// [`super::decision::decide_overlapped`] for what the caller then owes.
#[allow(
    clippy::too_many_arguments,
    reason = "one request's context, passed down once"
)]
pub(crate) async fn evaluate_overlapped(
    gw: &Arc<Gateway>,
    api: Api,
    endpoint: Endpoint,
    route: &str,
    peer: SocketAddr,
    parts: &Parts,
    body: Body,
    id: &str,
    started: Instant,
    source: Source,
) -> Result<Allowed, Stop> {
    // Who: authenticate before reading anything else.
    let principal = who(gw, api, &parts.headers, id).await?;
    // What: the body, read as the route sends it.
    let form = crate::model_routes::body_form(route);
    let (bytes, inspected) = what(gw, api, form, endpoint, &parts.headers, body, id).await?;
    // On whose behalf, which model, from where, and the decision, recorded.
    let ask = Ask {
        endpoint,
        route,
        peer,
        parts,
        inspected: &inspected,
        id,
        started,
        source,
    };
    let decided = decide_overlapped(gw, api, principal, &ask).await?;
    Ok(Allowed {
        bytes,
        inspected,
        decided,
    })
}

/// The key's principal, or a 401 (no or bad key) or 503 (store down), in
/// `api`'s shape with decision id `id`: every endpoint that takes a
/// customer's key authenticates through this.
pub(crate) async fn who(
    gw: &Arc<Gateway>,
    api: Api,
    headers: &HeaderMap,
    id: &str,
) -> Result<Arc<Principal>, Stop> {
    let Some(key) = presented_key(headers) else {
        return Err(error(
            api,
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "missing API key: send `Authorization: Bearer <key>` or `x-api-key`",
            id,
        ));
    };
    match gw.authenticate(key).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(error(
            api,
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "invalid or revoked API key",
            id,
        )),
        Err(e) => {
            tracing::error!(error = %e, "identity store unavailable");
            Err(unavailable(
                api,
                "the gateway cannot verify API keys right now",
                id,
            ))
        }
    }
}

pub(super) fn unavailable(api: Api, message: &str, id: &str) -> Stop {
    error(
        api,
        StatusCode::SERVICE_UNAVAILABLE,
        Code::Unavailable,
        message,
        id,
    )
}

/// The body within the size limit, and what it asks for; or a 400 or 413.
/// `form` says how the body is sent (JSON, or a multipart form whose files
/// are `endpoint`'s input).
pub(crate) async fn what(
    gw: &Gateway,
    api: Api,
    form: BodyForm,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: Body,
    id: &str,
) -> Result<(bytes::Bytes, Inspected), Stop> {
    let bad = |message: &str, param: Option<&str>| super::invalid(api, message, param, id);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let expected = match form {
        BodyForm::Json => "application/json",
        BodyForm::Multipart => "multipart/form-data",
    };
    if !media.eq_ignore_ascii_case(expected) {
        return Err(bad(
            &format!("the request must have `Content-Type: {expected}`"),
            None,
        ));
    }
    let bytes = read_limited(gw, api, headers, body, id).await?;
    let inspected = match form {
        BodyForm::Json => {
            inspect::inspect_json(api, &bytes).map_err(|e| bad(&e.to_string(), e.param()))?
        }
        BodyForm::Multipart => inspect::inspect_form(endpoint, content_type, &bytes)
            .map_err(|e| bad(&e.message, e.param.as_deref()))?,
    };
    Ok((bytes, inspected))
}

/// The body within `limits.max_body_bytes` and the body read timeout; or
/// the 413 or 408 to send, in `api`'s shape with decision id `id`.
pub(crate) async fn read_limited(
    gw: &Gateway,
    api: Api,
    headers: &HeaderMap,
    body: Body,
    id: &str,
) -> Result<bytes::Bytes, Stop> {
    let limit = gw.loaded.config.limits.max_body_bytes;
    let too_large = || {
        error(
            api,
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTooLarge,
            &format!("the request body is larger than {limit} bytes or was cut off"),
            id,
        )
    };
    // A declared length over the limit is refused before a byte is read.
    if crate::decision_api::declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let patience = Duration::from_secs(gw.loaded.config.limits.body_read_timeout_secs);
    match tokio::time::timeout(patience, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => Err(error(
            api,
            StatusCode::REQUEST_TIMEOUT,
            Code::RequestTimeout,
            &format!(
                "the request body did not arrive within {} s",
                patience.as_secs()
            ),
            id,
        )),
    }
}
