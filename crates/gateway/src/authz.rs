//! Decisions for other gateways: Envoy `ext_authz` (the HTTP service here,
//! the gRPC service in `cordon-envoy` through [`check_original`]), nginx
//! `auth_request`, and the OpenID AuthZEN 1.0 evaluation API.
//!
//! All of them decide through [`crate::proxy::evaluate`], the same path the
//! proxy uses; they differ only in how the answer is shaped for the caller.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use cordon_audit::leaf::Source;
use cordon_policy::{Detail, Effect, Endpoint};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api_error::{self, Api, Code};
use crate::audit::{self, AUDIT_INDEX};
use crate::decide;
use crate::proxy::{self, Allowed, DECISION_ID, set_header};
use crate::state::Gateway;

/// The API and endpoint an original request path names.
fn route_of(path: &str) -> Option<(Api, Endpoint, &'static str)> {
    crate::model_routes::model_route(path).map(|r| (r.api, r.endpoint, r.path))
}

/// The refusal of an allowed request that does not meet its obligations as
/// sent ([`crate::unmet`]): 451 (or 403) in the API's shape, with `message`
/// saying what the request must say instead.
pub(crate) fn obligation_refusal(
    gw: &Gateway,
    api: Api,
    message: &str,
    id: &str,
    index: Option<u64>,
) -> Response<Body> {
    let status = match gw.loaded.config.refusal_status {
        crate::config::RefusalStatus::Status451 => StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
        crate::config::RefusalStatus::Status403 => StatusCode::FORBIDDEN,
    };
    let mut r = (
        status,
        axum::Json(api_error::body(
            api,
            Code::Denied,
            message,
            None,
            Some(json!({"decision_id": id, "effect": "allow_with_obligations"})),
        )),
    )
        .into_response();
    set_header(r.headers_mut(), DECISION_ID, id);
    audit::set_index(r.headers_mut(), index);
    set_header(
        r.headers_mut(),
        "link",
        &format!("<{}>; rel=\"blocked-by\"", gw.loaded.config.operator.url),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("x-should-retry", HeaderValue::from_static("false"));
    r
}

/// Decides an original request described by a path, headers and body.
async fn check(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    method: &Method,
    path_and_query: &str,
    headers: HeaderMap,
    body: Body,
    id: &str,
) -> Result<Allowed, Response<Body>> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    let Some((api, endpoint, route)) = route_of(path).filter(|_| method == Method::POST) else {
        let mut r = api_error::response(
            Api::OpenAi,
            StatusCode::NOT_FOUND,
            Code::NotFound,
            &format!("cordon does not authorise `{method} {path}`"),
        );
        set_header(r.headers_mut(), DECISION_ID, id);
        return Err(r);
    };
    let mut builder = Request::builder().method(Method::POST).uri(path_and_query);
    if let Some(h) = builder.headers_mut() {
        *h = headers;
    }
    let (parts, ()) = builder
        .body(())
        .map_err(|_| {
            let mut r = api_error::response(
                api,
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &format!("the original request target `{path_and_query}` is not a valid URI"),
            );
            set_header(r.headers_mut(), DECISION_ID, id);
            r
        })?
        .into_parts();
    let allowed = proxy::evaluate(
        gw,
        api,
        endpoint,
        route,
        peer,
        &parts,
        body,
        id,
        Instant::now(),
        Source::DecisionApi,
    )
    .await?;
    if let Some(msg) = crate::unmet::unmet(
        crate::model_routes::body_form(route),
        &allowed.decision,
        &allowed.inspected,
    ) {
        return Err(obligation_refusal(gw, api, &msg, id, allowed.audit_index));
    }
    Ok(allowed)
}

/// The headers an allowed request carries on to the upstream.
fn allowed_headers(a: &Allowed, id: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    set_header(&mut h, DECISION_ID, id);
    set_header(&mut h, "x-cordon-effect", a.decision.effect.as_str());
    set_header(&mut h, "x-cordon-model", &a.canonical);
    audit::set_index(&mut h, a.audit_index);
    h
}

fn allowed_response(a: &Allowed, id: &str) -> Response<Body> {
    with_headers(allowed_headers(a, id))
}

fn with_headers(headers: HeaderMap) -> Response<Body> {
    let mut r = StatusCode::OK.into_response();
    *r.headers_mut() = headers;
    r
}

/// What an external authoriser is told about one original request.
#[derive(Debug)]
pub enum Verdict {
    /// Let the request through, adding these headers for the upstream:
    /// `x-cordon-decision-id`, `x-cordon-effect`, `x-cordon-model`, and
    /// `x-cordon-audit-index` when the decision is in the audit log.
    Allowed(HeaderMap),
    /// Send this response to the client instead, body included: a legal
    /// refusal (451, or 403 with `refusal_status = "403"`) in the called
    /// API's error shape, a 401, 400, 404 or 413, or a 503 when Cordon
    /// cannot decide or cannot record its decision.
    Refused(Response<Body>),
}

/// Decides an original request another gateway asks about, described by
/// its method, path (with the query), headers and body, exactly as the
/// HTTP `ext_authz` endpoint does: through [`proxy::evaluate`], with the
/// decision in the audit log before this returns.
///
/// `peer` is the address the question came from (the asking gateway);
/// `X-Forwarded-For` among `headers` is believed only when `peer` is in
/// `trusted_proxies`. Only `POST /v1/chat/completions` and `POST
/// /v1/messages` are authorised; anything else is refused with a 404.
///
/// An external authoriser cannot rewrite the request, so an *allow with
/// obligations* lets it through only when it already meets them, and is
/// otherwise refused with the limits to respect.
pub async fn check_original(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    method: &Method,
    path_and_query: &str,
    headers: HeaderMap,
    body: Body,
) -> Verdict {
    let id = proxy::decision_id();
    match check(gw, peer, method, path_and_query, headers, body, &id).await {
        Ok(a) => Verdict::Allowed(allowed_headers(&a, &id)),
        Err(r) => Verdict::Refused(r),
    }
}

/// The API whose error shape answers about the original path `path`:
/// Anthropic's for `/v1/messages`, OpenAI's for anything else.
pub fn api_of_path(path: &str) -> Api {
    let path = path.split('?').next().unwrap_or_default();
    route_of(path).map_or(Api::OpenAi, |(api, _, _)| api)
}

/// The answer to a question that does not describe a request Cordon can
/// decide on (no request, unreadable headers, a body the asking gateway did
/// not send): a 400, or a 413 when `cut_off` (the body was cut short), in
/// the error shape of the API `path` names, with a fresh decision id.
/// Nothing is decided, so nothing is recorded.
pub fn malformed(path: &str, message: &str, cut_off: bool) -> Response<Body> {
    let (status, code) = if cut_off {
        (StatusCode::PAYLOAD_TOO_LARGE, Code::RequestTooLarge)
    } else {
        (StatusCode::BAD_REQUEST, Code::InvalidRequest)
    };
    let mut r = api_error::response(api_of_path(path), status, code, message);
    set_header(r.headers_mut(), DECISION_ID, &proxy::decision_id());
    r
}

/// Envoy `ext_authz` HTTP service: `…/ext_authz/<original path>`, original
/// headers and (with `with_request_body`) the body. 200 lets the request through;
/// any other response is sent to the client as it is (a 451 in the API's shape).
pub(crate) async fn ext_authz(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let original = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .strip_prefix("/ext_authz")
        .unwrap_or("/")
        .to_owned();
    let original = if original.starts_with('/') {
        original
    } else {
        format!("/{original}")
    };
    let method = parts.method.clone();
    let response = match check_original(&gw, peer, &method, &original, parts.headers, body).await {
        Verdict::Allowed(headers) => with_headers(headers),
        Verdict::Refused(r) => r,
    };
    gw.metrics
        .response("/ext_authz", response.status().as_u16());
    response
}

/// nginx `auth_request`: nginx sends no body and understands only 2xx, 401 and
/// 403 here. The original URI and method come in `X-Original-URI` and
/// `X-Original-Method`, the model in `X-Cordon-Model`; a refusal is a 403 whose
/// `X-Cordon-*` headers let an `error_page` build the 451 response.
pub(crate) async fn nginx_auth(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response<Body> {
    let id = proxy::decision_id();
    let uri = headers
        .get("x-original-uri")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("/")
        .to_owned();
    let method = headers
        .get("x-original-method")
        .and_then(|v| v.to_str().ok())
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .unwrap_or(Method::POST);
    let model = headers
        .get("x-cordon-model")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut original = headers.clone();
    original.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The model is all nginx can tell us about the body; tools and caps are unknown.
    let body = json!({"model": model}).to_string();
    let result = match model {
        Some(_) => check(&gw, peer, &method, &uri, original, Body::from(body), &id).await,
        None => Err(api_error::response(
            Api::OpenAi,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "nginx did not send `X-Cordon-Model`; see docs/integrations.md",
        )),
    };
    let response = match result {
        Ok(a) => allowed_response(&a, &id),
        Err(r) => nginx_refusal(r, &id).await,
    };
    gw.metrics
        .response("/nginx/auth", response.status().as_u16());
    response
}

/// Turns a refusal into what `auth_request` understands: 401 stays 401, anything
/// else becomes 403 carrying the real status, code and message in headers.
async fn nginx_refusal(r: Response<Body>, id: &str) -> Response<Body> {
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = axum::body::to_bytes(r.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let field = |k: &str| {
        v.pointer(&format!("/error/{k}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message = field("message").unwrap_or_else(|| "refused".into());
    // Anthropic-shaped bodies carry no `code`; the type is the best stand-in.
    let code = field("code")
        .or_else(|| field("type"))
        .unwrap_or_else(|| "cordon_denied".into());
    let out_status = if status == StatusCode::UNAUTHORIZED {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::FORBIDDEN
    };
    let mut out = out_status.into_response();
    let h = out.headers_mut();
    set_header(h, DECISION_ID, id);
    set_header(h, "x-cordon-status", status.as_str());
    set_header(h, "x-cordon-code", &code);
    set_header(h, "x-cordon-message", &message);
    for name in ["x-cordon-directive", "link", AUDIT_INDEX] {
        if let Some(v) = headers.get(name) {
            h.insert(name, v.clone());
        }
    }
    out
}

#[derive(Deserialize)]
struct AuthzenEntity {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    #[serde(default)]
    properties: Option<Value>,
}

#[derive(Deserialize)]
struct AuthzenAction {
    name: String,
}

#[derive(Deserialize)]
struct AuthzenRequest {
    subject: AuthzenEntity,
    action: AuthzenAction,
    resource: AuthzenEntity,
    #[serde(default)]
    context: Option<Value>,
}

/// The OpenID AuthZEN 1.0 access evaluation API (`POST /access/v1/evaluation`).
///
/// Subject: `{"type": "account", "id": "<account id>"}` (looked up in the
/// identity store) or `{"type": "subject", "id": "…", "properties": <subject record>}`.
/// Action: `{"name": "<endpoint>"}` (`chat`, `messages`, …). Resource:
/// `{"type": "model", "id": "<model name>"}`. Context: optional `ip`, `country`,
/// `region`, `features`, `max_tokens`, `time`. Answer: `{"decision": bool,
/// "context": {…}}` with the effect, obligations and reasons.
pub(crate) async fn authzen(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Body,
) -> Response<Body> {
    if let Err(r) = crate::decision_api::authorized(&gw, &headers) {
        return *r;
    }
    let body = match crate::decision_api::read_authorized_body(&gw, &headers, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let bad = |msg: String| {
        api_error::response(
            Api::OpenAi,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            &msg,
        )
    };
    let req: AuthzenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(format!("invalid AuthZEN evaluation request: {e}")),
    };
    if req.resource.kind != "model" {
        return bad(format!(
            "resource type `{}` is not supported (expected `model`)",
            req.resource.kind
        ));
    }
    let account = (req.subject.kind == "account").then(|| req.subject.id.clone());
    let subject = match req.subject.kind.as_str() {
        "account" => {
            let store = Arc::clone(&gw.store);
            let id = req.subject.id.clone();
            // As the store builds it for a key: with the licences it holds.
            match tokio::task::spawn_blocking(move || store.subject(&id)).await {
                Ok(Ok(Some(s))) => s,
                Ok(Ok(None)) => return bad(format!("no account `{}`", req.subject.id)),
                Ok(Err(e @ cordon_store::StoreError::Corrupt(_))) => return bad(e.to_string()),
                _ => {
                    return api_error::response(
                        Api::OpenAi,
                        StatusCode::SERVICE_UNAVAILABLE,
                        Code::Unavailable,
                        "the identity store is unavailable",
                    );
                }
            }
        }
        "subject" => match cordon_subject::SubjectRecord::from_value(
            req.subject.properties.clone().unwrap_or(json!({})),
        )
        .into_subject(gw.jurisdictions)
        {
            Ok(s) => s,
            Err(e) => return bad(e.to_string()),
        },
        other => {
            return bad(format!(
                "subject type `{other}` is not supported (expected `account` or `subject`)"
            ));
        }
    };
    let Some(endpoint) = Endpoint::parse(&req.action.name) else {
        return bad(format!(
            "action `{}` is not an endpoint (expected one of: {})",
            req.action.name,
            Endpoint::names()
        ));
    };
    let ctx = req.context.unwrap_or(json!({}));
    let mut input = json!({"model": req.resource.id, "endpoint": endpoint.as_str()});
    for k in [
        "ip",
        "country",
        "region",
        "features",
        "tool_types",
        "max_tokens",
    ] {
        if let (Some(v), Some(obj)) = (ctx.get(k), input.as_object_mut()) {
            obj.insert(k.to_owned(), v.clone());
        }
    }
    if let (Some(t), Some(obj)) = (ctx.get("time"), input.as_object_mut()) {
        obj.insert("at".to_owned(), t.clone());
    }
    let compiled = gw.compiled();
    let request = match crate::decision_api::request_from(&gw, &input) {
        Ok(r) => r,
        Err(msg) => return bad(msg),
    };
    let (decision, explanation) = decide::decide(
        &compiled,
        &subject,
        &request,
        &req.resource.id,
        true,
        Detail::Full,
    );
    let (id, index) = match crate::decision_api::record(
        &gw,
        &decision,
        explanation.as_ref(),
        &request,
        account.as_deref(),
    )
    .await
    {
        Ok(recorded) => recorded,
        Err(r) => return *r,
    };
    let body = json!({
        "decision": decision.effect <= Effect::AllowWithObligations,
        "context": {
            "id": id,
            "effect": decision.effect,
            "obligations": decision.obligations,
            "reason_user": explanation.as_ref().and_then(|e| e.message.clone()).map(|m| json!({"en": m})),
            "reason_admin": explanation,
        }
    });
    let mut r = axum::Json(body).into_response();
    set_header(r.headers_mut(), DECISION_ID, &id);
    audit::set_index(r.headers_mut(), index);
    r
}
