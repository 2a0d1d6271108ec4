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
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use cordon_audit::leaf::Source;
use cordon_policy::{Effect, Endpoint, Explanation};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::api_error::{self, Api, Code};
use crate::audit;
use crate::client::{self, ClientError};
use crate::config::{RefusalStatus, UpstreamApi};
use crate::inspect;
use crate::model_routes::BodyForm;
use crate::state::Gateway;

mod caller;
pub(crate) mod decision;
pub(crate) mod evaluate;

pub use decision::Decided;
pub(crate) use decision::{Ask, decide_asked};
use evaluate::evaluate_overlapped;
pub(crate) use evaluate::who as authenticate;
pub use evaluate::{Allowed, evaluate};
pub(crate) use evaluate::{read_limited, what as read_body};

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

/// An error in `api`'s shape with decision id `id`.
pub(crate) fn error(
    api: Api,
    status: StatusCode,
    code: Code,
    message: &str,
    id: &str,
) -> Response<Body> {
    shaped_error(api, status, code, message, None, id)
}

/// A 400 `invalid_request` in `api`'s shape with decision id `id`, about
/// the request field or query parameter `param` when one is to blame.
pub(crate) fn invalid(api: Api, message: &str, param: Option<&str>, id: &str) -> Response<Body> {
    shaped_error(
        api,
        StatusCode::BAD_REQUEST,
        Code::InvalidRequest,
        message,
        param,
        id,
    )
}

fn shaped_error(
    api: Api,
    status: StatusCode,
    code: Code,
    message: &str,
    param: Option<&str>,
    id: &str,
) -> Response<Body> {
    let mut r = api_error::field_response(api, status, code, message, param);
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
    let mut allowed = match evaluate_overlapped(
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
    // A form cannot be rewritten to meet obligations; it must meet them as
    // sent. That refusal, like every answer, waits for the record.
    if crate::model_routes::body_form(route) == BodyForm::Multipart
        && let Some(limits) =
            crate::unmet::unmet(BodyForm::Multipart, &allowed.decision, &allowed.inspected)
    {
        if let Err(response) = allowed.decided.settle(api, id).await {
            return response;
        }
        let index = allowed.audit_index;
        return crate::authz::obligation_refusal(gw, api, &limits, id, index);
    }
    // A Responses call creates a stored response, whose id is recorded as
    // the caller's on its way back.
    let creation = (endpoint == Endpoint::Responses)
        .then(|| crate::owned::Creation::of(cordon_store::ObjectKind::Response, &allowed, id));
    let pending = allowed.decided.pending.take();
    let forwarded = forward(gw, api, route, &parts, allowed, id);
    let (mut response, index) = match until_durable(forwarded, pending).await {
        Ok(answered) => answered,
        Err(e) => return audit::unavailable(api, &e, id),
    };
    if let Some(creation) = creation {
        response = crate::owned::record_created(gw, creation, response);
    }
    audit::set_index(response.headers_mut(), index);
    response
}

/// Sends the request upstream while its decision's record is synced, and
/// hands out the upstream's answer only once the record is durable: with a
/// model server's latency the sync then costs the customer nothing, and
/// still no byte of output reaches them before their decision is in the log.
///
/// When the record cannot be made durable, `upstream` is dropped wherever
/// it is (which closes the upstream connection, so the model stops
/// generating) along with any answer it had, and the caller answers 503.
async fn until_durable(
    upstream: impl std::future::Future<Output = Response<Body>>,
    pending: audit::PendingRecord,
) -> Result<(Response<Body>, Option<u64>), audit::AuditUnavailable> {
    let durable = pending.durable();
    tokio::pin!(upstream, durable);
    tokio::select! {
        biased;
        index = &mut durable => {
            let index = index?;
            Ok((upstream.await, index))
        }
        response = &mut upstream => {
            // The answer's head is here; it waits, unsent, for the record.
            let index = durable.await?;
            Ok((response, index))
        }
    }
}

/// Forwards an allowed request and streams the upstream's response back.
pub(crate) async fn forward(
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
        decided,
    } = allowed;
    let Decided {
        decision,
        explanation,
        model: model_id,
        canonical,
        compiled,
        ..
    } = decided;
    let upstream = match upstream_for(gw, api, &compiled, model_id, &canonical, id) {
        Ok(u) => u,
        Err(r) => return r,
    };
    // Forward the client's bytes untouched unless the body must change: a
    // capped or stripped request, or a model named by an alias. A form's
    // obligations were met as sent (see `crate::unmet`); only its model
    // field can change, and it keeps the client's type and boundary.
    let form = match crate::model_routes::body_form(route) {
        BodyForm::Multipart => parts.headers.get(header::CONTENT_TYPE),
        BodyForm::Json => None,
    };
    let unchanged =
        inspected.model == canonical && (form.is_some() || decision.obligations.is_empty());
    let encoded = if unchanged {
        Ok(bytes)
    } else if let Some(ct) = form {
        inspect::with_model(ct.to_str().unwrap_or_default(), &bytes, &canonical)
            .map(bytes::Bytes::from)
            .map_err(|e| e.to_string())
    } else {
        // Rare: only now is a tree worth building.
        serde_json::from_slice::<Value>(&bytes)
            .and_then(|mut json| {
                inspect::apply(api, &mut json, &decision.obligations, &canonical);
                serde_json::to_vec(&json).map(bytes::Bytes::from)
            })
            .map_err(|e| e.to_string())
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
    let outbound = Outbound {
        method: axum::http::Method::POST,
        path: route,
        body: Some(Payload {
            content_type: form.cloned().unwrap_or(APPLICATION_JSON),
            bytes: body,
        }),
    };
    match send(gw, api, upstream, &parts.headers, outbound, id).await {
        Ok(mut r) => {
            decision_headers(r.headers_mut(), &decision, explanation.as_ref());
            r
        }
        Err(r) => r,
    }
}

/// The upstream that serves `model` in `api`, or the 502 to send instead.
#[allow(clippy::result_large_err, reason = "the error is the response to send")]
pub(crate) fn upstream_for<'g>(
    gw: &'g Gateway,
    api: Api,
    compiled: &crate::state::Compiled,
    model: cordon_catalog::ModelId,
    canonical: &str,
    id: &str,
) -> Result<&'g crate::config::Upstream, Response<Body>> {
    let Some(upstream) = gw.upstream(compiled, model) else {
        return Err(error(
            api,
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!("no upstream is configured for model `{canonical}`"),
            id,
        ));
    };
    if !speaks(upstream, api) {
        return Err(error(
            api,
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!("the upstream for `{canonical}` does not speak this API"),
            id,
        ));
    }
    Ok(upstream)
}

/// Whether `upstream` answers calls in `api`'s shape.
pub(crate) fn speaks(upstream: &crate::config::Upstream, api: Api) -> bool {
    matches!(
        (upstream.api, api),
        (UpstreamApi::Both, _)
            | (UpstreamApi::Openai, Api::OpenAi)
            | (UpstreamApi::Anthropic, Api::Anthropic)
    )
}

/// A request as it goes upstream: the method, the path (with its query)
/// and the body, if there is one.
pub(crate) struct Outbound<'a> {
    /// The method.
    pub(crate) method: axum::http::Method,
    /// The path and query, appended to the upstream's URL.
    pub(crate) path: &'a str,
    /// The body, if any.
    pub(crate) body: Option<Payload>,
}

impl<'a> Outbound<'a> {
    /// A request without a body: a read, a cancel, a delete.
    pub(crate) fn bodiless(method: axum::http::Method, path: &'a str) -> Self {
        Outbound {
            method,
            path,
            body: None,
        }
    }
}

/// A body as it goes upstream, with its `Content-Type`.
pub(crate) struct Payload {
    /// The media type: JSON, or a form's with the client's boundary.
    pub(crate) content_type: HeaderValue,
    /// The bytes.
    pub(crate) bytes: bytes::Bytes,
}

impl Payload {
    /// A JSON body.
    pub(crate) fn json(bytes: bytes::Bytes) -> Self {
        Payload {
            content_type: APPLICATION_JSON,
            bytes,
        }
    }
}

/// Sends `outbound` to `upstream` with the upstream's own key and the
/// client's API-version headers, and returns the upstream's response with
/// the decision id, its body streamed as it comes; or the 502 or 504 to
/// send instead.
pub(crate) async fn send(
    gw: &Gateway,
    api: Api,
    upstream: &crate::config::Upstream,
    headers: &HeaderMap,
    outbound: Outbound<'_>,
    id: &str,
) -> Result<Response<Body>, Response<Body>> {
    let route = outbound.path;
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
    let mut up = Request::builder().method(outbound.method);
    let body = match outbound.body {
        Some(payload) => {
            up = up.header(header::CONTENT_TYPE, payload.content_type);
            payload.bytes
        }
        None => bytes::Bytes::new(),
    };
    for name in FORWARDED.iter() {
        if let Some(v) = headers.get(name) {
            up = up.header(name, v);
        }
    }
    if let Some(k) = &upstream.api_key {
        // Each provider reads its own header; sending a key where the other
        // API expects an OAuth token would be refused there.
        if upstream.api != UpstreamApi::Anthropic {
            up = up.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        if upstream.api != UpstreamApi::Openai {
            up = up.header("x-api-key", k);
        }
    }
    let up = match up.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => return Err(bad_url(&e)),
    };
    let sent = Instant::now();
    let timeout = Duration::from_secs(gw.loaded.config.limits.upstream_timeout_secs);
    let exchange = async {
        match gw.upstream_tls(upstream) {
            Some(tls) => tls_exchange(tls, &upstream.url, route, up).await,
            None => match client::send(&upstream.url, route, up).await {
                Ok(r) => Ok(r.map(Body::new)),
                Err(ClientError::BadUrl(e)) => Err(Upstream::BadUrl(e)),
                Err(e) => Err(Upstream::Failed {
                    kind: "connection",
                    detail: e.to_string(),
                }),
            },
        }
    };
    let resp = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(r)) => r,
        Ok(Err(Upstream::BadUrl(e))) => return Err(bad_url(&e)),
        Ok(Err(Upstream::Failed { kind, detail })) => {
            gw.metrics.upstream_error();
            tracing::warn!(decision_id = id, upstream = %upstream.name, error = %detail, "upstream request failed");
            return Err(error(
                api,
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                &format!("the upstream `{}` failed ({kind})", upstream.name),
                id,
            ));
        }
        Ok(Err(Upstream::Timeout)) | Err(_) => {
            gw.metrics.upstream_error();
            return Err(error(
                api,
                StatusCode::GATEWAY_TIMEOUT,
                Code::UpstreamTimeout,
                &format!(
                    "the upstream `{}` did not answer within {}s",
                    upstream.name,
                    timeout.as_secs()
                ),
                id,
            ));
        }
    };
    gw.metrics.upstream_latency.observe(sent.elapsed());
    let (mut rparts, incoming) = resp.into_parts();
    for hop in HOP_BY_HOP.iter() {
        rparts.headers.remove(hop);
    }
    set_header(&mut rparts.headers, DECISION_ID, id);
    Ok(Response::from_parts(rparts, incoming))
}

/// The headers that tell the client what was decided: the effect, the
/// obligations applied and the directives' warnings.
pub(crate) fn decision_headers(
    h: &mut HeaderMap,
    decision: &cordon_policy::Decision,
    explanation: Option<&Explanation>,
) {
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
        if let Some(why) = explanation.and_then(|e| e.message.as_deref()) {
            set_header(h, "x-cordon-obligations-reason", why);
        }
    }
    if let Some(e) = explanation {
        for w in &e.warnings {
            set_header(h, "x-cordon-warning", w);
        }
    }
}

/// Why an upstream exchange failed.
enum Upstream {
    /// The configured URL does not make a request URL.
    BadUrl(String),
    /// No answer in time.
    Timeout,
    /// The connection, the TLS handshake or the exchange failed: a short
    /// kind for the client, the whole reason for the log.
    Failed { kind: &'static str, detail: String },
}

/// Sends `req` to the `https://` upstream at `url` + `route` through its
/// TLS client (HTTP/2 when the upstream offers it, pooled).
async fn tls_exchange(
    tls: &crate::egress::Egress,
    url: &str,
    route: &str,
    mut req: Request<Full<bytes::Bytes>>,
) -> Result<Response<Body>, Upstream> {
    use crate::egress::Failure;
    let full = format!("{}{route}", url.trim_end_matches('/'));
    *req.uri_mut() = full
        .parse()
        .map_err(|e: axum::http::uri::InvalidUri| Upstream::BadUrl(format!("`{full}`: {e}")))?;
    match tls.send(req).await {
        Ok(r) => Ok(r.map(Body::new)),
        Err(e) => Err(match &e.failure {
            Failure::BadUrl(m) | Failure::BadRequest(m) => Upstream::BadUrl(m.clone()),
            Failure::Timeout(_) => Upstream::Timeout,
            failure => Upstream::Failed {
                kind: match failure {
                    Failure::UnknownCa | Failure::WrongName { .. } | Failure::Certificate(_) => {
                        "TLS: its certificate is not trusted"
                    }
                    Failure::Tls(_) => "TLS handshake",
                    Failure::Resolve(_) => "name resolution",
                    _ => "connection",
                },
                detail: e.to_string(),
            },
        }),
    }
}
