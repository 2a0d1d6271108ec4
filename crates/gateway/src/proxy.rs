//! The model endpoints: authenticate, inspect, decide, then forward or refuse.
//!
//! Every decision is made before the first byte of the response: a refusal is a
//! complete error response, and an allowed stream is passed through chunk by
//! chunk as the upstream produces it. Dropping the client's connection drops the
//! upstream response body, which closes the upstream connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, Uri, header};
use axum::response::IntoResponse;
use cordon_audit::leaf::{Mode, Source};
use cordon_policy::{Effect, Endpoint, Explanation};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::api_error::{self, Api, Code};
use crate::audit::{self, DecisionContext};
use crate::client::{self, ClientError};
use crate::config::{RefusalStatus, UpstreamApi};
use crate::decide::{self, Origin};
use crate::inspect;
use crate::state::Gateway;

/// Header carrying the decision id on every response.
pub const DECISION_ID: &str = "x-cordon-decision-id";

/// A fresh decision id: `dec_` and 24 hex digits.
pub fn decision_id() -> String {
    fresh_id("dec")
}

/// A fresh random id: `prefix`, `_` and 24 lowercase hex digits.
pub(crate) fn fresh_id(prefix: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(prefix.len() + 1 + 24);
    s.push_str(prefix);
    s.push('_');
    for b in random_12() {
        for nibble in [b >> 4, b & 0x0f] {
            s.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

/// Twelve random bytes from the OS, fetched a few hundred at a time so a
/// request costs no system call of its own.
fn random_12() -> [u8; 12] {
    const IDS: usize = 32;
    thread_local! {
        static POOL: std::cell::RefCell<([u8; 12 * IDS], usize)> =
            const { std::cell::RefCell::new(([0; 12 * IDS], 12 * IDS)) };
    }
    let pooled = POOL.with(|p| {
        let mut p = p.try_borrow_mut().ok()?;
        let (buf, used) = &mut *p;
        if *used >= buf.len() {
            getrandom::fill(buf).ok()?;
            *used = 0;
        }
        let out: [u8; 12] = buf.get(*used..*used + 12)?.try_into().ok()?;
        *used += 12;
        Some(out)
    });
    pooled.unwrap_or_else(|| {
        // The OS refused randomness; fall back to the clock so ids stay distinct.
        let nanos = std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut bytes = [0u8; 12];
        bytes.copy_from_slice(nanos.to_le_bytes().get(..12).unwrap_or(&[0; 12]));
        bytes
    })
}

/// Adds a header, ignoring values that are not valid header text.
pub fn set_header(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if value.bytes().all(|b| b.is_ascii() && !b.is_ascii_control()) {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(HeaderName::from_static(name), v);
        }
        return;
    }
    let ascii: String = value
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&ascii) {
        headers.append(HeaderName::from_static(name), v);
    }
}

/// The API key a request presents: `Authorization: Bearer …` or `x-api-key`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if v.len() > 7
            && v.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
        {
            return v.get(7..).map(str::trim);
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn error(api: Api, status: StatusCode, code: Code, message: &str, id: &str) -> Response<Body> {
    let mut r = api_error::response(api, status, code, message);
    set_header(r.headers_mut(), DECISION_ID, id);
    r
}

/// A legal refusal per RFC 7725, in the called API's error shape.
pub fn refusal(
    gw: &Gateway,
    api: Api,
    e: &Explanation,
    id: &str,
    account: Option<&str>,
) -> Response<Body> {
    let reason = e
        .reasons
        .iter()
        .find(|r| Some(&r.id) == e.decided_by.as_ref());
    let code = if e.effect == Effect::VerificationRequired {
        Code::VerificationRequired
    } else {
        Code::Denied
    };
    let mut message = String::new();
    if e.effect == Effect::VerificationRequired {
        message.push_str("Verification required. ");
    }
    message.push_str(
        e.message
            .as_deref()
            .unwrap_or("This request is not permitted."),
    );
    if let (Some(d), Some(r)) = (&e.decided_by, reason) {
        message.push_str(&format!(
            " [directive `{d}`: {}; {}]",
            r.citation, r.authority
        ));
    }
    for v in &e.verify {
        message.push_str(&format!(
            " Verify `{}` at `{}` or above.",
            v.attribute,
            v.min_verification.as_str()
        ));
    }
    if let Some(remedy) = &e.remedy {
        message.push_str(&format!(" Remedy: {remedy}"));
    }
    message.push_str(&format!(" (decision {id})"));
    let mut extra = json!({
        "decision_id": id,
        "effect": e.effect,
        "directive": e.decided_by,
        "citation": reason.map(|r| &r.citation),
        "authority": reason.map(|r| &r.authority),
        "remedy": e.remedy,
        "verify": e.verify,
        "policy_version": e.policy_version,
    });
    if e.effect == Effect::VerificationRequired
        && let (Some(account), Some(obj)) = (account, extra.as_object_mut())
    {
        let ways = crate::verification::start_links(gw, account);
        if !ways.is_empty() || !e.verify.is_empty() {
            obj.insert(
                "remedy_verify".into(),
                crate::verification::remedy(gw, e, ways),
            );
        }
    }
    let status = match gw.loaded.config.refusal_status {
        RefusalStatus::Status451 => StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
        RefusalStatus::Status403 => StatusCode::FORBIDDEN,
    };
    let mut r = (
        status,
        axum::Json(api_error::body(api, code, &message, None, Some(extra))),
    )
        .into_response();
    let h = r.headers_mut();
    set_header(
        h,
        "link",
        &format!("<{}>; rel=\"blocked-by\"", gw.loaded.config.operator.url),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-should-retry", HeaderValue::from_static("false"));
    set_header(h, DECISION_ID, id);
    set_header(h, "x-cordon-effect", e.effect.as_str());
    if let Some(d) = &e.decided_by {
        set_header(h, "x-cordon-directive", d);
    }
    r
}

/// Reads the body up to the configured limit.
async fn read_body(gw: &Gateway, body: Body) -> Result<bytes::Bytes, (StatusCode, Code, String)> {
    let limit = gw.loaded.config.limits.max_body_bytes;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTooLarge,
            format!("the request body is larger than {limit} bytes or was cut off"),
        )
    })
}

/// The model named outside the body (query `?model=`, `x-model` header), if any.
fn model_outside_body(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let from_query = uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "model")
            .map(|(_, v)| v.replace('+', " "))
    });
    from_query.or_else(|| {
        headers
            .get("x-model")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Request headers passed on to the upstream.
static FORWARDED: [HeaderName; 4] = [
    header::ACCEPT,
    HeaderName::from_static("anthropic-version"),
    HeaderName::from_static("anthropic-beta"),
    HeaderName::from_static("openai-beta"),
];

/// Response headers that describe the upstream connection, not the response.
static HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::TRANSFER_ENCODING,
    HeaderName::from_static("proxy-connection"),
    header::UPGRADE,
];

/// Handles `POST /v1/chat/completions` and `POST /v1/messages`.
pub async fn model_request(
    gw: Arc<Gateway>,
    api: Api,
    endpoint: Endpoint,
    route: &'static str,
    peer: SocketAddr,
    req: Request<Body>,
) -> Response<Body> {
    let id = decision_id();
    let started = Instant::now();
    let response = handle(&gw, api, endpoint, route, peer, req, &id, started).await;
    gw.metrics.response(route, response.status().as_u16());
    response
}

/// A request that passed every check, ready to forward.
pub struct Allowed {
    /// The request body as received.
    pub bytes: bytes::Bytes,
    /// What the body asks for.
    pub inspected: inspect::Inspected,
    /// The decision (allow or allow with obligations).
    pub decision: cordon_policy::Decision,
    /// Its explanation, when one was built (warnings, obligations).
    pub explanation: Option<Explanation>,
    /// The resolved model.
    pub model: cordon_catalog::ModelId,
    /// The model's canonical id.
    pub canonical: String,
    /// The policy that decided.
    pub compiled: Arc<crate::state::Compiled>,
    /// Where the decision is in the audit log; `None` without a log, or
    /// when an uncontrolled request went through unrecorded.
    pub audit_index: Option<u64>,
}

/// Authenticates, reads and inspects the body, locates the client and decides.
///
/// Returns the allowed request, or the complete response to send instead: a
/// 401, 400, 404, 413 or a legal refusal. Shared by the proxy and by the
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
    parts: &axum::http::request::Parts,
    body: Body,
    id: &str,
    started: Instant,
    source: Source,
) -> Result<Allowed, Response<Body>> {
    let content_type_ok = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });

    // Who: authenticate before reading anything else.
    let Some(key) = presented_key(&parts.headers) else {
        return Err(error(
            api,
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "missing API key: send `Authorization: Bearer <key>` or `x-api-key`",
            id,
        ));
    };
    let principal = match gw.authenticate(key).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(error(
                api,
                StatusCode::UNAUTHORIZED,
                Code::InvalidApiKey,
                "invalid or revoked API key",
                id,
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "identity store unavailable");
            return Err(error(
                api,
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "the gateway cannot verify API keys right now",
                id,
            ));
        }
    };

    // What: the body.
    if !content_type_ok {
        return Err(error(
            api,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "the request must have `Content-Type: application/json`",
            id,
        ));
    }
    let bytes = match read_body(gw, body).await {
        Ok(b) => b,
        Err((status, code, msg)) => {
            return Err(error(api, status, code, &msg, id));
        }
    };
    let inspected = match inspect::inspect_json(api, &bytes) {
        Ok(i) => i,
        Err(e) => {
            return Err(error(
                api,
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &e.to_string(),
                id,
            ));
        }
    };
    let compiled = gw.compiled();
    // One read of the trail per request: the decision and its record use it.
    let trail = gw.audit();
    let model = decide::resolve(&compiled, &inspected.model);
    if let Some(other) = model_outside_body(&parts.uri, &parts.headers)
        && (decide::resolve(&compiled, &other) != model || model.is_none())
    {
        return Err(error(
            api,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "the model named in the URL or headers disagrees with the body's `model`",
            id,
        ));
    }
    let Some(model_id) = model else {
        gw.metrics.decision("unknown_model", None, "");
        let mut r = error(
            api,
            StatusCode::NOT_FOUND,
            Code::ModelNotFound,
            &format!(
                "the model `{}` does not exist or you do not have access to it",
                inspected.model
            ),
            id,
        );
        if trail.is_some() {
            // The policy refuses unknown models; the refusal is recorded like any other.
            let origin = decide::locate(gw, peer, &parts.headers);
            let request = decide::request(gw, None, endpoint, Some(&inspected), &origin);
            let (decision, explanation) = decide::decide(
                &compiled,
                &principal.subject,
                &request,
                &inspected.model,
                true,
            );
            if let Some(e) = &explanation {
                let ctx = DecisionContext {
                    id,
                    account: Some(&principal.account),
                    mode: Mode::Enforced,
                    source,
                };
                match audit::record_decision(trail.as_deref(), &decision, e, &request, &ctx).await {
                    Ok(index) => audit::set_index(r.headers_mut(), index),
                    Err(e) => return Err(audit::unavailable(api, &e, id)),
                }
            }
        }
        return Err(r);
    };

    // Where, and the decision.
    let origin: Origin = decide::locate(gw, peer, &parts.headers);
    let request = decide::request(gw, Some(model_id), endpoint, Some(&inspected), &origin);
    // The audit log records every decision with the attributes it read,
    // which only the explanation has.
    let (decision, explanation) = decide::decide(
        &compiled,
        &principal.subject,
        &request,
        &inspected.model,
        trail.is_some(),
    );
    gw.metrics.decision_latency.observe(started.elapsed());
    let canonical = compiled
        .policy
        .catalog()
        .model(model_id)
        .map(|m| m.id.clone())
        .unwrap_or_default();
    let decided_by = explanation.as_ref().and_then(|e| e.decided_by.clone());
    gw.metrics
        .decision(decision.effect.as_str(), decided_by.as_deref(), &canonical);
    tracing::info!(
        decision_id = id,
        account = %principal.account,
        key = %principal.key_prefix,
        model = %canonical,
        route,
        country = origin.location.country.as_ref().map_or("", |c| c.as_str()),
        region = origin.location.region.map(|c| c.to_string()).unwrap_or_default(),
        effect = decision.effect.as_str(),
        directive = decided_by.as_deref().unwrap_or(""),
        policy = %compiled.policy.version(),
        "decision"
    );
    let ctx = DecisionContext {
        id,
        account: Some(&principal.account),
        mode: Mode::Enforced,
        source,
    };
    let audit_index = match &explanation {
        Some(e) => {
            match audit::record_decision(trail.as_deref(), &decision, e, &request, &ctx).await {
                Ok(index) => index,
                Err(e) => return Err(audit::unavailable(api, &e, id)),
            }
        }
        None => None,
    };
    if decision.effect >= Effect::VerificationRequired {
        let mut r = match &explanation {
            Some(e) => {
                if e.effect == Effect::VerificationRequired {
                    gw.metrics.refused_for_verification(&principal.account);
                }
                refusal(gw, api, e, id, Some(&principal.account))
            }
            None => error(
                api,
                StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                Code::Denied,
                "refused",
                id,
            ),
        };
        audit::set_index(r.headers_mut(), audit_index);
        return Err(r);
    }

    Ok(Allowed {
        bytes,
        inspected,
        decision,
        explanation,
        model: model_id,
        canonical,
        compiled,
        audit_index,
    })
}

#[allow(
    clippy::too_many_arguments,
    reason = "one request's context, passed down once"
)]
async fn handle(
    gw: &Arc<Gateway>,
    api: Api,
    endpoint: Endpoint,
    route: &'static str,
    peer: SocketAddr,
    req: Request<Body>,
    id: &str,
    started: Instant,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let allowed = match evaluate(
        gw,
        api,
        endpoint,
        route,
        peer,
        &parts,
        body,
        id,
        started,
        Source::Gateway,
    )
    .await
    {
        Ok(a) => a,
        Err(response) => return response,
    };
    let index = allowed.audit_index;
    let mut response = forward(gw, api, route, &parts, allowed, id).await;
    audit::set_index(response.headers_mut(), index);
    response
}

/// Forwards an allowed request and streams the upstream's response back.
async fn forward(
    gw: &Arc<Gateway>,
    api: Api,
    route: &'static str,
    parts: &axum::http::request::Parts,
    allowed: Allowed,
    id: &str,
) -> Response<Body> {
    let Allowed {
        bytes,
        inspected,
        decision,
        explanation,
        model: model_id,
        canonical,
        compiled,
        ..
    } = allowed;
    // Forward.
    let Some(upstream) = gw.upstream(&compiled, model_id) else {
        return error(
            api,
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!("no upstream is configured for model `{canonical}`"),
            id,
        );
    };
    let speaks = matches!(
        (upstream.api, api),
        (UpstreamApi::Both, _)
            | (UpstreamApi::Openai, Api::OpenAi)
            | (UpstreamApi::Anthropic, Api::Anthropic)
    );
    if !speaks {
        return error(
            api,
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!("the upstream for `{canonical}` does not speak this API"),
            id,
        );
    }
    // Forward the client's bytes untouched unless the body must change: a
    // capped or stripped request, or a model named by an alias.
    let unchanged = decision.obligations.is_empty() && inspected.model == canonical;
    let encoded = if unchanged {
        Ok(bytes)
    } else {
        // Rare: only now is a tree worth building.
        serde_json::from_slice::<Value>(&bytes).and_then(|mut json| {
            inspect::apply(api, &mut json, &decision.obligations, &canonical);
            serde_json::to_vec(&json).map(bytes::Bytes::from)
        })
    };
    let body = match encoded {
        Ok(b) => b,
        Err(e) => {
            return error(
                api,
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::UpstreamError,
                &format!("cannot re-encode the request: {e}"),
                id,
            );
        }
    };
    let bad_url = |e: &dyn std::fmt::Display| {
        let uri = format!("{}{}", upstream.url.trim_end_matches('/'), route);
        error(
            api,
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!("bad upstream URL `{uri}`: {e}"),
            id,
        )
    };
    let mut up = Request::builder()
        .method(axum::http::Method::POST)
        .header(header::CONTENT_TYPE, APPLICATION_JSON);
    for name in FORWARDED.iter() {
        if let Some(v) = parts.headers.get(name) {
            up = up.header(name, v);
        }
    }
    if let Some(k) = &upstream.api_key {
        up = up
            .header(header::AUTHORIZATION, format!("Bearer {k}"))
            .header("x-api-key", k);
    }
    let up = match up.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => return bad_url(&e),
    };
    let sent = Instant::now();
    let timeout = Duration::from_secs(gw.loaded.config.limits.upstream_timeout_secs);
    let resp = match tokio::time::timeout(timeout, client::send(&upstream.url, route, up)).await {
        Ok(Ok(r)) => r,
        Ok(Err(ClientError::BadUrl(e))) => return bad_url(&e),
        Ok(Err(e)) => {
            gw.metrics.upstream_error();
            tracing::warn!(decision_id = id, upstream = %upstream.name, error = %e, "upstream request failed");
            return error(
                api,
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                &format!("the upstream `{}` failed", upstream.name),
                id,
            );
        }
        Err(_) => {
            gw.metrics.upstream_error();
            return error(
                api,
                StatusCode::GATEWAY_TIMEOUT,
                Code::UpstreamTimeout,
                &format!(
                    "the upstream `{}` did not answer within {}s",
                    upstream.name,
                    timeout.as_secs()
                ),
                id,
            );
        }
    };
    gw.metrics.upstream_latency.observe(sent.elapsed());
    let (mut rparts, incoming) = resp.into_parts();
    for hop in HOP_BY_HOP.iter() {
        rparts.headers.remove(hop);
    }
    let h = &mut rparts.headers;
    set_header(h, DECISION_ID, id);
    h.append(
        HeaderName::from_static("x-cordon-effect"),
        HeaderValue::from_static(decision.effect.as_str()),
    );
    if decision.effect == Effect::AllowWithObligations {
        let mut parts = Vec::new();
        if let Some(m) = decision.obligations.max_tokens {
            parts.push(format!("max_tokens={m}"));
        }
        let removed: Vec<&str> = decision
            .obligations
            .remove_features
            .iter()
            .map(|f| f.as_str())
            .collect();
        if !removed.is_empty() {
            parts.push(format!("remove={}", removed.join("+")));
        }
        set_header(h, "x-cordon-obligations", &parts.join(", "));
    }
    if let Some(e) = &explanation {
        for w in &e.warnings {
            set_header(h, "x-cordon-warning", w);
        }
    }
    Response::from_parts(rparts, Body::new(incoming))
}
