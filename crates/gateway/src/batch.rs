//! `POST /v1/messages/batches`: an Anthropic message batch, whose every
//! request names its own model. Each request is decided (and recorded) as
//! the message it is; the batch goes upstream only when every one is
//! allowed, with each request's obligations applied, and is otherwise
//! refused whole with the requests that were refused named. The batch's id
//! is recorded as the caller's, with its models; later calls about it are
//! in [`crate::owned::calls`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use cordon_audit::leaf::Source;
use cordon_policy::{Effect, Endpoint};
use cordon_store::ObjectKind;
use serde_json::{Value, json};

use crate::api_error::{self, Api, Code};
use crate::inspect;
use crate::owned::{self, Creation};
use crate::proxy::{self, DECISION_ID, set_header};
use crate::state::Gateway;

/// The upstream route, and the one this answers.
const ROUTE: &str = "/v1/messages/batches";

/// The most requests a batch may hold (Anthropic's own limit).
const MAX_REQUESTS: usize = 100_000;

/// `POST /v1/messages/batches`.
pub(crate) async fn anthropic(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    let id = proxy::decision_id();
    let response = decide_batch(&gw, peer, req, &id).await;
    gw.metrics.response(ROUTE, response.status().as_u16());
    response
}

fn error(status: StatusCode, code: Code, message: &str, id: &str) -> Response<Body> {
    let mut r = api_error::response(Api::Anthropic, status, code, message);
    set_header(r.headers_mut(), DECISION_ID, id);
    r
}

async fn decide_batch(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    req: Request<Body>,
    id: &str,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    // Who: the key is checked before the body is read, as for a message.
    if let Err(r) = proxy::authenticate(gw, Api::Anthropic, &parts.headers, id).await {
        return r;
    }
    let body = match crate::decision_api::read_authorized_body(gw, &parts.headers, body).await {
        Ok(b) => b,
        Err(r) => {
            let mut r = *r;
            set_header(r.headers_mut(), DECISION_ID, id);
            return r;
        }
    };
    let mut batch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &format!("the request body is not valid JSON: {e}"),
                id,
            );
        }
    };
    let Some(requests) = batch.get_mut("requests").and_then(Value::as_array_mut) else {
        return error(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "a batch is an object with a `requests` list",
            id,
        );
    };
    if requests.is_empty() || requests.len() > MAX_REQUESTS {
        return error(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            &format!("`requests` must hold 1 to {MAX_REQUESTS} requests"),
            id,
        );
    }
    // Decide each request as the message it is, on the same key and from
    // the same place; each decision is recorded on its own.
    let mut refused = Vec::new();
    let mut first: Option<proxy::Allowed> = None;
    let mut upstreams = std::collections::BTreeSet::new();
    let mut models = std::collections::BTreeSet::new();
    for (k, line) in requests.iter_mut().enumerate() {
        let custom_id = line
            .get("custom_id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("requests[{k}]"), str::to_owned);
        let Some(params) = line.get_mut("params") else {
            return error(
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &format!("`requests[{k}].params` is missing"),
                id,
            );
        };
        let one = match serde_json::to_vec(params) {
            Ok(b) => b,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidRequest,
                    &format!("`requests[{k}].params`: {e}"),
                    id,
                );
            }
        };
        let mut line_parts = parts.clone();
        line_parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        line_parts.headers.remove(header::CONTENT_LENGTH);
        let line_id = proxy::decision_id();
        let decided = proxy::evaluate(
            gw,
            Api::Anthropic,
            Endpoint::Messages,
            "/v1/messages",
            peer,
            &line_parts,
            Body::from(one),
            &line_id,
            Instant::now(),
            Source::Gateway,
        )
        .await;
        match decided {
            Ok(allowed) => {
                if !allowed.decision.obligations.is_empty()
                    || allowed.inspected.model != allowed.canonical
                {
                    inspect::apply(
                        Api::Anthropic,
                        params,
                        &allowed.decision.obligations,
                        &allowed.canonical,
                    );
                }
                upstreams.insert(
                    gw.upstream(&allowed.compiled, allowed.model)
                        .map(|u| u.name.clone()),
                );
                models.insert(allowed.canonical.clone());
                if first.is_none() {
                    first = Some(allowed);
                }
            }
            Err(r) => {
                let status = r.status();
                let effect = r
                    .headers()
                    .get("x-cordon-effect")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let directive = r
                    .headers()
                    .get("x-cordon-directive")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                refused.push(json!({
                    "custom_id": custom_id,
                    "status": status.as_u16(),
                    "effect": effect,
                    "directive": directive,
                    "decision_id": line_id,
                }));
            }
        }
    }
    if !refused.is_empty() {
        let legal = refused.iter().all(|r| {
            r["status"] == StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS.as_u16()
                || r["status"] == StatusCode::FORBIDDEN.as_u16()
        });
        let status = if legal {
            match gw.loaded.config.refusal_status {
                crate::config::RefusalStatus::Status451 => {
                    StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS
                }
                crate::config::RefusalStatus::Status403 => StatusCode::FORBIDDEN,
            }
        } else {
            StatusCode::BAD_REQUEST
        };
        let names: Vec<&str> = refused
            .iter()
            .filter_map(|r| r["custom_id"].as_str())
            .collect();
        let message = format!(
            "{} of {} requests in the batch are refused ({}); the batch was not sent (decision {id})",
            refused.len(),
            requests.len(),
            names.join(", ")
        );
        let code = if legal {
            Code::Denied
        } else {
            Code::InvalidRequest
        };
        let body = api_error::body(
            Api::Anthropic,
            code,
            &message,
            None,
            Some(json!({"decision_id": id, "refused": refused})),
        );
        let mut r = (status, axum::Json(body)).into_response();
        let h = r.headers_mut();
        set_header(h, DECISION_ID, id);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert("x-should-retry", HeaderValue::from_static("false"));
        return r;
    }
    if upstreams.len() > 1 {
        return error(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "the batch's models are served by different upstreams; send one batch per upstream",
            id,
        );
    }
    let Some(mut allowed) = first else {
        return error(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "the batch holds no request",
            id,
        );
    };
    // The whole batch goes to the first request's upstream, rewritten
    // where a request's obligations or model alias changed it.
    let bytes = match serde_json::to_vec(&batch) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                Code::UpstreamError,
                &format!("cannot re-encode the batch: {e}"),
                id,
            );
        }
    };
    allowed.bytes = bytes::Bytes::from(bytes);
    allowed.inspected.model = allowed.canonical.clone();
    allowed.decision.obligations = cordon_policy::Obligations::default();
    allowed.decision.effect = Effect::Allow;
    // The batch is the caller's: its id is recorded with its models, on
    // which reading its results is decided again.
    let mut creation = Creation::of(ObjectKind::MessageBatch, &allowed, id);
    creation.model = None;
    creation.details = json!({ "models": models });
    let response = proxy::forward(gw, Api::Anthropic, ROUTE, &parts, allowed, id).await;
    owned::record_created(gw, creation, response)
}
