//! `POST /v1/messages/batches`: an Anthropic message batch, whose every
//! request names its own model. Each request is decided (and recorded) as
//! the message it is, sent as a batch ([`crate::batch_lines`]); the batch
//! goes upstream only when every one is allowed, with each request's
//! obligations applied, and is otherwise refused whole with the requests
//! that were refused named. The batch's id is recorded as the caller's,
//! with its models; later calls about it are in [`crate::owned::calls`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Request, Response, StatusCode};
use cordon_policy::{Effect, Endpoint};
use cordon_store::ObjectKind;
use serde_json::{Value, json};

use crate::api_error::{Api, Code};
use crate::batch_lines::{Batch, Refused};
use crate::inspect;
use crate::owned::{self, Creation};
use crate::proxy;
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
    proxy::error(Api::Anthropic, status, code, message, id)
}

async fn decide_batch(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    req: Request<Body>,
    id: &str,
) -> Response<Body> {
    let (parts, body) = req.into_parts();
    // Who: the key is checked before the body is read, as for a message.
    let principal = match proxy::authenticate(gw, Api::Anthropic, &parts.headers, id).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body = match proxy::read_limited(gw, Api::Anthropic, &parts.headers, body, id).await {
        Ok(b) => b,
        Err(r) => return r,
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
    let deciding = Batch {
        gw,
        api: Api::Anthropic,
        principal: &principal,
        peer,
        parts: &parts,
    };
    let mut refused = Vec::new();
    // Whether every refusal is a directive's.
    let mut legal = true;
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
        let line_id = proxy::decision_id();
        let decided = match inspect::inspect_json(Api::Anthropic, &one) {
            Ok(inspected) => {
                let route = "/v1/messages";
                deciding
                    .decide(Endpoint::Messages, route, inspected, &line_id)
                    .await
            }
            Err(e) => Err(Refused::invalid(format!("`requests[{k}].params`: {e}"))),
        };
        match decided {
            Ok((inspected, decided)) => {
                if !decided.decision.obligations.is_empty() || inspected.model != decided.canonical
                {
                    inspect::apply(
                        Api::Anthropic,
                        params,
                        &decided.decision.obligations,
                        &decided.canonical,
                    );
                }
                upstreams.insert(
                    gw.upstream(&decided.compiled, decided.model)
                        .map(|u| u.name.clone()),
                );
                models.insert(decided.canonical.clone());
                if first.is_none() {
                    first = Some(proxy::Allowed {
                        bytes: bytes::Bytes::from(one),
                        inspected,
                        decided,
                    });
                }
            }
            Err(r) => {
                legal &= deciding.legal(r.status);
                refused.push(r.json(&custom_id, &line_id));
            }
        }
    }
    if !refused.is_empty() {
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
        let cordon = json!({"decision_id": id, "refused": refused});
        return deciding.refuse_whole(legal, &message, cordon, id);
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
