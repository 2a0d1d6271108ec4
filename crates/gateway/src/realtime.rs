//! `GET /v1/realtime`: an OpenAI realtime session over a WebSocket.
//!
//! The session is decided before the upgrade, on the model the query names,
//! as the `realtime` endpoint with the `streaming` and `audio_input`
//! features a voice session is made of; a refusal is an ordinary HTTP
//! refusal (451 in OpenAI's shape), which the SDKs report as the
//! handshake's failure. Once open, the client's events are read (see
//! [`events`]): declaring tools, naming a transcription model and raising
//! the output cap are decided again, each decision recorded, and a refused
//! event is answered with a realtime `error` event instead of reaching the
//! upstream. An event that names another session model is refused: a
//! session keeps the model it was decided on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use cordon_audit::leaf::Source;
use cordon_catalog::ModelId;
use cordon_policy::{Endpoint, Feature, FeatureSet, ToolTypeSet};

use crate::api_error::{self, Api, Code};
use crate::config::UpstreamApi;
use crate::inspect::Inspected;
use crate::proxy::decision::{Ask, decide_asked};
use crate::proxy::{self, DECISION_ID, set_header};
use crate::state::Gateway;

pub mod events;
pub mod frame;
mod tunnel;
mod upstream;

/// The route, also the upstream's.
const ROUTE: &str = "/v1/realtime";

/// The GUID a server appends to the client's key to prove it read the
/// handshake ([RFC 6455 § 4.2.2](https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2)).
const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The features every realtime session is decided with.
fn session_features() -> FeatureSet {
    let mut f = FeatureSet::EMPTY;
    f.insert(Feature::Streaming);
    f.insert(Feature::AudioInput);
    f
}

/// `GET /v1/realtime?model=…`.
pub(crate) async fn open(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    let id = proxy::decision_id();
    let r = open_session(&gw, peer, req, &id).await;
    gw.metrics.response(ROUTE, r.status().as_u16());
    r
}

fn error(status: StatusCode, code: Code, message: &str, id: &str) -> Response<Body> {
    let mut r = api_error::response(Api::OpenAi, status, code, message);
    set_header(r.headers_mut(), DECISION_ID, id);
    r
}

fn bad(message: &str, id: &str) -> Response<Body> {
    error(StatusCode::BAD_REQUEST, Code::InvalidRequest, message, id)
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with.
pub fn websocket_accept(key: &str) -> String {
    use base64::Engine;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(key.as_bytes());
    ctx.update(WEBSOCKET_GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ctx.finish().as_ref())
}

/// Whether a comma-separated header holds `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The client's WebSocket key, when the request is a version-13 upgrade.
fn handshake_key(headers: &HeaderMap) -> Result<&HeaderValue, &'static str> {
    if !has_token(headers, header::UPGRADE, "websocket")
        || !has_token(headers, header::CONNECTION, "upgrade")
    {
        return Err(
            "`/v1/realtime` is a WebSocket: send `Connection: Upgrade` and `Upgrade: websocket`",
        );
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err("`Sec-WebSocket-Version` must be 13");
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|k| k.len() == 24)
        .ok_or("`Sec-WebSocket-Key` is missing or not 16 bytes in base64")
}

/// Decodes `%XX` and `+` in a query value; `None` for a bad escape or
/// text that is not UTF-8.
fn decode_query_value(v: &str) -> Option<String> {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Escapes a model id for a query: anything but unreserved characters.
fn encode_query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The model the query names, and the query's other parameters as sent.
fn query_model(query: Option<&str>) -> Result<(String, Vec<&str>), &'static str> {
    let mut model = None;
    let mut rest = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "model" {
            if model.is_some() {
                return Err("the query names `model` twice");
            }
            model =
                Some(decode_query_value(v).ok_or("the query's `model` is not escaped correctly")?);
        } else {
            rest.push(pair);
        }
    }
    match model {
        Some(m) if !m.is_empty() => Ok((m, rest)),
        _ => Err(
            "a realtime session is decided on its model: name it in the query (`/v1/realtime?model=…`); joining a call by `call_id` alone is not supported",
        ),
    }
}

async fn open_session(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    mut req: Request<Body>,
    id: &str,
) -> Response<Body> {
    let started = Instant::now();
    let key = match handshake_key(req.headers()) {
        Ok(k) => k.clone(),
        Err(m) => return bad(m, id),
    };
    let (model, other_params) = match query_model(req.uri().query()) {
        Ok(m) => m,
        Err(m) => {
            let mut r = api_error::field_response(
                Api::OpenAi,
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                m,
                Some("model"),
            );
            set_header(r.headers_mut(), DECISION_ID, id);
            return r;
        }
    };
    let other_params: Vec<String> = other_params.into_iter().map(str::to_owned).collect();
    // Who, before anything else is done for the caller.
    let principal = match proxy::authenticate(gw, Api::OpenAi, req.headers(), id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (parts, _) = req.into_parts();
    let session = Inspected {
        model,
        stream: true,
        features: session_features(),
        tool_types: ToolTypeSet::EMPTY,
        max_tokens: None,
        end_user: None,
    };
    let requested = session.model.clone();
    let ask = Ask {
        endpoint: Endpoint::Realtime,
        route: ROUTE,
        peer,
        parts: &parts,
        inspected: &session,
        id,
        started,
        source: Source::Gateway,
    };
    let allowed = match decide_asked(gw, Api::OpenAi, Arc::clone(&principal), &ask).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let obligations = &allowed.decision.obligations;
    if let Some(f) = obligations
        .remove_features
        .iter()
        .find(|f| session_features().contains(*f))
    {
        // The decision allows the model only without what a realtime
        // session is; it cannot be met here, so nothing is opened.
        return error(
            StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
            Code::Denied,
            &format!(
                "`{}` is allowed to you only without `{}`, which a realtime session cannot be; use the Responses API (decision {id})",
                allowed.canonical,
                f.as_str()
            ),
            id,
        );
    }
    let cap = obligations.max_tokens;
    let Some(up) = gw.upstream(&allowed.compiled, allowed.model) else {
        return error(
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!(
                "no upstream is configured for model `{}`",
                allowed.canonical
            ),
            id,
        );
    };
    if up.api == UpstreamApi::Anthropic {
        return error(
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!(
                "the upstream for `{}` does not speak this API",
                allowed.canonical
            ),
            id,
        );
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(
        header::SEC_WEBSOCKET_VERSION,
        HeaderValue::from_static("13"),
    );
    headers.insert(header::SEC_WEBSOCKET_KEY, key.clone());
    // Subprotocols pass, but never one that carries a key: the caller's key
    // is not the upstream's business.
    let protocols: Vec<&str> = parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with("openai-insecure-api-key"))
        .collect();
    if !protocols.is_empty()
        && let Ok(v) = HeaderValue::from_str(&protocols.join(", "))
    {
        headers.insert(header::SEC_WEBSOCKET_PROTOCOL, v);
    }
    if let Some(v) = parts.headers.get("openai-beta") {
        headers.insert(HeaderName::from_static("openai-beta"), v.clone());
    }
    if let Some(k) = &up.api_key
        && let Ok(v) = HeaderValue::from_str(&format!("Bearer {k}"))
    {
        headers.insert(header::AUTHORIZATION, v);
    }
    let mut target = format!("{ROUTE}?model={}", encode_query_value(&allowed.canonical));
    for p in &other_params {
        target.push('&');
        target.push_str(p);
    }
    let patience = Duration::from_secs(gw.loaded.config.limits.upstream_timeout_secs);
    let answer = tokio::time::timeout(
        patience,
        upstream::open(&up.url, &target, headers, gw.upstream_websocket_tls(up)),
    )
    .await;
    let answer = match answer {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            gw.metrics.upstream_error();
            tracing::warn!(decision_id = id, upstream = %up.name, error = %e, "realtime upstream failed");
            return error(
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                &format!("the upstream `{}` failed (connection)", up.name),
                id,
            );
        }
        Err(_) => {
            gw.metrics.upstream_error();
            return error(
                StatusCode::GATEWAY_TIMEOUT,
                Code::UpstreamTimeout,
                &format!(
                    "the upstream `{}` did not answer within {}s",
                    up.name,
                    patience.as_secs()
                ),
                id,
            );
        }
    };
    let (switched, upgraded) = match answer {
        upstream::Answer::Refused(resp) => {
            // The upstream's own refusal (a bad session parameter, its
            // limits) reaches the client as it is, marked with the decision.
            let (mut rparts, body) = resp.into_parts();
            for h in [
                header::CONNECTION,
                header::TRANSFER_ENCODING,
                header::UPGRADE,
            ] {
                rparts.headers.remove(h);
            }
            set_header(&mut rparts.headers, DECISION_ID, id);
            return Response::from_parts(rparts, Body::new(body));
        }
        upstream::Answer::Switched(h, u) => (h, u),
    };
    let expected = key.to_str().map(websocket_accept).unwrap_or_default();
    if switched
        .get(header::SEC_WEBSOCKET_ACCEPT)
        .is_none_or(|a| a.as_bytes() != expected.as_bytes())
        || switched.contains_key(header::SEC_WEBSOCKET_EXTENSIONS)
    {
        return error(
            StatusCode::BAD_GATEWAY,
            Code::UpstreamError,
            &format!(
                "the upstream `{}` answered the WebSocket handshake wrongly",
                up.name
            ),
            id,
        );
    }
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&expected) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(p) = switched.get(header::SEC_WEBSOCKET_PROTOCOL) {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, p.clone());
    }
    set_header(h, DECISION_ID, id);
    set_header(h, "x-cordon-effect", allowed.decision.effect.as_str());
    crate::audit::set_index(h, allowed.audit_index);

    let judge = Session {
        gw: Arc::clone(gw),
        parts,
        peer,
        model: allowed.model,
        requested,
        cap,
        last_decided: std::sync::Mutex::new(Decided {
            policy: Arc::clone(&allowed.compiled),
            principal,
            at: Instant::now(),
        }),
    };
    let first = cap.map(events::cap_session);
    let max_message = gw.loaded.config.limits.max_body_bytes;
    let session_id = id.to_owned();
    tokio::spawn(async move {
        let client = match on_upgrade.await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(decision_id = %session_id, error = %e, "realtime client upgrade failed");
                return;
            }
        };
        tracing::info!(decision_id = %session_id, "realtime session open");
        let (client_end, upstream_end) =
            tunnel::run(client, upgraded, judge, first, max_message).await;
        tracing::info!(
            decision_id = %session_id,
            client = %client_end,
            upstream = %upstream_end,
            "realtime session closed"
        );
    });
    r
}

/// An open session: what its events are decided against.
struct Session {
    gw: Arc<Gateway>,
    /// The upgrade request's line and headers (where from, on whose behalf).
    parts: Parts,
    peer: SocketAddr,
    /// The model the session was decided on.
    model: ModelId,
    /// The model as the query named it.
    requested: String,
    /// The session's output cap, when its decision set one.
    cap: Option<u32>,
    /// The policy and principal the session was last decided on, and when.
    last_decided: std::sync::Mutex<Decided>,
}

/// What a session was last decided on: when either changes (a reload, a
/// change in the store that dropped the cached principal), it is decided
/// again at once.
struct Decided {
    policy: Arc<crate::state::Compiled>,
    principal: Arc<cordon_store::Principal>,
    at: Instant,
}

/// How long an open session goes without being decided again, when the
/// policy has not changed: the subject may have (a key revoked, a
/// verification withdrawn), and a directive may have come into force.
const REDECIDE: Duration = Duration::from_secs(60);

impl Session {
    /// Decides what an event asks for as a request of its own, recorded
    /// under a fresh decision id; the refusal, in the realtime `error`
    /// event's terms, when it is refused. The key is authenticated again
    /// (from the cache, as for any request), so a revoked key or a changed
    /// subject counts.
    async fn decide(
        &self,
        endpoint: Endpoint,
        inspected: Inspected,
    ) -> Result<cordon_policy::Obligations, (String, String)> {
        let id = proxy::decision_id();
        let principal =
            match proxy::authenticate(&self.gw, Api::OpenAi, &self.parts.headers, &id).await {
                Ok(p) => p,
                Err(r) => return Err(refusal_terms(r).await),
            };
        let ask = Ask {
            endpoint,
            route: ROUTE,
            peer: self.peer,
            parts: &self.parts,
            inspected: &inspected,
            id: &id,
            started: Instant::now(),
            source: Source::Gateway,
        };
        match decide_asked(&self.gw, Api::OpenAi, principal, &ask).await {
            Ok(allowed) => Ok(allowed.decision.obligations),
            Err(refusal) => Err(refusal_terms(refusal).await),
        }
    }
}

/// The code and message of a refusal's body.
async fn refusal_terms(r: Response<Body>) -> (String, String) {
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let code = v
        .pointer("/error/code")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("cordon_denied")
        .to_owned();
    let message = v
        .pointer("/error/message")
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| format!("refused ({status})"), str::to_owned);
    (code, message)
}

impl tunnel::Judge for Session {
    async fn recheck(&self) -> Option<Vec<u8>> {
        let policy = self.gw.compiled();
        // The key first: revoked, or its account disabled, ends the session.
        let id = proxy::decision_id();
        let principal =
            match proxy::authenticate(&self.gw, Api::OpenAi, &self.parts.headers, &id).await {
                Ok(p) => p,
                Err(r) => {
                    let (code, message) = refusal_terms(r).await;
                    return Some(events::error_event(&code, &message, None, None));
                }
            };
        {
            let Ok(mut last) = self.last_decided.lock() else {
                return None;
            };
            if Arc::ptr_eq(&last.policy, &policy)
                && Arc::ptr_eq(&last.principal, &principal)
                && last.at.elapsed() < REDECIDE
            {
                return None;
            }
            *last = Decided {
                policy,
                principal,
                at: Instant::now(),
            };
        }
        let session = Inspected {
            model: self.requested.clone(),
            stream: true,
            features: session_features(),
            tool_types: ToolTypeSet::EMPTY,
            max_tokens: None,
            end_user: None,
        };
        match self.decide(Endpoint::Realtime, session).await {
            Ok(_) => None,
            Err((code, message)) => Some(events::error_event(&code, &message, None, None)),
        }
    }

    async fn judge(&self, text: &[u8]) -> tunnel::Verdict {
        let refuse = |code: &str, message: &str, param: Option<&str>, about: Option<&str>| {
            tunnel::Verdict::Refuse(events::error_event(code, message, param, about))
        };
        let mut event = match events::parse(text) {
            Ok(e) => e,
            Err(e) => return refuse("invalid_event", &e.to_string(), None, None),
        };
        if event.kind == events::Kind::Other {
            return tunnel::Verdict::Forward(text.to_vec());
        }
        let about = event.event_id.clone();
        let asks = match event.asks() {
            Ok(a) => a,
            Err(e) => return refuse("invalid_event", &e.to_string(), None, about.as_deref()),
        };
        let compiled = self.gw.compiled();
        if let Some(m) = &asks.model
            && crate::decide::resolve(&compiled, m) != Some(self.model)
        {
            return refuse(
                "invalid_request",
                &format!(
                    "this session was decided on `{}` and keeps it; open another session for `{}`",
                    self.requested,
                    crate::audit::bounded_model_name(m)
                ),
                Some("session.model"),
                about.as_deref(),
            );
        }
        for (param, m) in &asks.transcription_models {
            let mut audio = FeatureSet::EMPTY;
            audio.insert(Feature::AudioInput);
            let inspected = Inspected {
                model: m.clone(),
                stream: true,
                features: audio,
                tool_types: ToolTypeSet::EMPTY,
                max_tokens: None,
                end_user: None,
            };
            if let Err((code, message)) = self.decide(Endpoint::Audio, inspected).await {
                return refuse(&code, &message, Some(param), about.as_deref());
            }
        }
        if asks.any_tool {
            let mut features = session_features();
            features.insert(Feature::Tools);
            let inspected = Inspected {
                model: self.requested.clone(),
                stream: true,
                features,
                tool_types: asks.tools,
                max_tokens: None,
                end_user: None,
            };
            match self.decide(Endpoint::Realtime, inspected).await {
                Ok(o) => {
                    if o.remove_features.contains(Feature::Tools) {
                        event.strip_tools();
                    }
                    if let Some(cap) = o.max_tokens {
                        event.cap(cap);
                    }
                }
                Err((code, message)) => {
                    let param = match event.kind {
                        events::Kind::SessionUpdate => "session.tools",
                        _ => "response.tools",
                    };
                    return refuse(&code, &message, Some(param), about.as_deref());
                }
            }
        }
        if let Some(cap) = self.cap {
            event.cap(cap);
        }
        tunnel::Verdict::Forward(event.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_key_is_rfc_6455s_example() {
        // RFC 6455 § 1.3.
        assert_eq!(
            websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn the_model_comes_from_the_query_once_and_unescaped() {
        assert_eq!(
            query_model(Some("model=ft%3Afable-5&intent=x")).unwrap(),
            ("ft:fable-5".to_owned(), vec!["intent=x"])
        );
        assert!(query_model(Some("model=a&model=b")).is_err());
        assert!(query_model(Some("call_id=rtc_1")).is_err());
        assert!(query_model(None).is_err());
        assert!(query_model(Some("model=%zz")).is_err());
        assert!(query_model(Some("model=")).is_err());
        assert_eq!(encode_query_value("ft:a b"), "ft%3Aa%20b");
    }
}
