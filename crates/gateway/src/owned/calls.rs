//! Calls about an object a provider keeps: read it, its content or its
//! events, cancel it, delete it, list them. One table of routes serves the
//! router; one handler serves them all.
//!
//! Each call is answered only for the account that made the object (a 404,
//! as for an id that does not exist, for anyone else). A call that reads
//! what a model made is decided again, now, on the model the object was
//! made with, and recorded like any decision: a directive or a subject that
//! changed since the object was made applies to it. A list shows only the
//! caller's own objects.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, Response, StatusCode, header, request::Parts};
use cordon_audit::leaf::Source;
use cordon_policy::{Endpoint, Feature, FeatureSet, ToolTypeSet};
use cordon_store::{ObjectKind, ProviderObject};
use serde_json::Value;

use crate::api_error::{self, Api, Code};
use crate::audit;
use crate::inspect::Inspected;
use crate::proxy::{self, Ask, DECISION_ID, Decided, Outbound, set_header};
use crate::state::Gateway;

/// What a call does with the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reads or changes it (retrieve, content, events, cancel).
    Use,
    /// Deletes it: the record is forgotten once the provider has.
    Delete,
    /// Lists the objects of its kind: only the caller's are shown.
    List,
}

/// The decision a call is made on again: the endpoint and feature
/// directives see, on the object's model.
#[derive(Debug, Clone, Copy)]
pub struct Redecide {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// A feature the call uses, if one.
    pub feature: Option<Feature>,
}

/// A route about a kept object.
#[derive(Debug, Clone, Copy)]
pub struct ObjectRoute {
    /// The path; `{id}` stands for the object's id. Also the upstream's.
    pub path: &'static str,
    /// The method.
    pub method: Verb,
    /// The API whose shape it speaks.
    pub api: Api,
    /// The kind of object.
    pub kind: ObjectKind,
    /// What it does.
    pub action: Action,
    /// Whether (and how) it is decided again on the object's models.
    pub redecide: Option<Redecide>,
}

/// The methods of object routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET.
    Get,
    /// POST.
    Post,
    /// DELETE.
    Delete,
}

impl Verb {
    /// The method filter the router matches.
    pub(crate) fn filter(self) -> axum::routing::MethodFilter {
        match self {
            Verb::Get => axum::routing::MethodFilter::GET,
            Verb::Post => axum::routing::MethodFilter::POST,
            Verb::Delete => axum::routing::MethodFilter::DELETE,
        }
    }

    fn method(self) -> Method {
        match self {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
            Verb::Delete => Method::DELETE,
        }
    }
}

const RESPONSES: Option<Redecide> = Some(Redecide {
    endpoint: Endpoint::Responses,
    feature: None,
});

const FINE_TUNING: Option<Redecide> = Some(Redecide {
    endpoint: Endpoint::FineTuning,
    feature: Some(Feature::FineTuning),
});

const MESSAGES: Option<Redecide> = Some(Redecide {
    endpoint: Endpoint::Messages,
    feature: None,
});

/// A route about a stored response: every call is decided again.
const fn response(path: &'static str, method: Verb, action: Action) -> ObjectRoute {
    ObjectRoute {
        path,
        method,
        api: Api::OpenAi,
        kind: ObjectKind::Response,
        action,
        redecide: RESPONSES,
    }
}

/// A route about a fine-tuning job: every call is decided again.
const fn job(path: &'static str, method: Verb, action: Action) -> ObjectRoute {
    ObjectRoute {
        path,
        method,
        api: Api::OpenAi,
        kind: ObjectKind::FineTuningJob,
        action,
        redecide: FINE_TUNING,
    }
}

/// A route about a message batch.
const fn batch(
    path: &'static str,
    method: Verb,
    action: Action,
    redecide: Option<Redecide>,
) -> ObjectRoute {
    ObjectRoute {
        path,
        method,
        api: Api::Anthropic,
        kind: ObjectKind::MessageBatch,
        action,
        redecide,
    }
}

/// Every route about a kept object.
///
/// A stored response and a fine-tuning job are what a model made (or is
/// making), so every call about one is decided again on its model. A
/// message batch's results are what its models made; reading its status,
/// cancelling and deleting it are not, and are answered to its owner
/// without a decision.
pub const OBJECT_ROUTES: [ObjectRoute; 14] = {
    use Action::{List, Use};
    use Verb::{Get, Post};
    [
        response("/v1/responses/{id}", Get, Use),
        response("/v1/responses/{id}", Verb::Delete, Action::Delete),
        response("/v1/responses/{id}/cancel", Post, Use),
        response("/v1/responses/{id}/input_items", Get, Use),
        job("/v1/fine_tuning/jobs", Get, List),
        job("/v1/fine_tuning/jobs/{id}", Get, Use),
        job("/v1/fine_tuning/jobs/{id}/cancel", Post, Use),
        job("/v1/fine_tuning/jobs/{id}/events", Get, Use),
        job("/v1/fine_tuning/jobs/{id}/checkpoints", Get, Use),
        batch("/v1/messages/batches", Get, List, None),
        batch("/v1/messages/batches/{id}", Get, Use, None),
        batch("/v1/messages/batches/{id}/results", Get, Use, MESSAGES),
        batch("/v1/messages/batches/{id}/cancel", Post, Use, None),
        batch(
            "/v1/messages/batches/{id}",
            Verb::Delete,
            Action::Delete,
            None,
        ),
    ]
};

/// The most a list's (or a message batch's) body may be: the provider
/// pages lists.
const MAX_LIST_BYTES: usize = 16 << 20;

/// Handles a call on `route`.
pub(crate) async fn call(
    gw: Arc<Gateway>,
    route: ObjectRoute,
    peer: SocketAddr,
    req: Request<Body>,
) -> Response<Body> {
    let id = proxy::decision_id();
    let started = Instant::now();
    let (parts, _) = req.into_parts();
    let response = match answer(&gw, &route, peer, &parts, &id, started).await {
        Ok(r) | Err(r) => r,
    };
    gw.metrics.response(route.path, response.status().as_u16());
    response
}

type Answer = Result<Response<Body>, Response<Body>>;

async fn answer(
    gw: &Arc<Gateway>,
    route: &ObjectRoute,
    peer: SocketAddr,
    parts: &Parts,
    id: &str,
    started: Instant,
) -> Answer {
    let api = route.api;
    let principal = proxy::authenticate(gw, api, &parts.headers, id).await?;
    if route.action == Action::List {
        return list(gw, route, parts, &principal.account, id).await;
    }
    let object_id = path_id(route.path, parts.uri.path()).unwrap_or_default();
    let object = super::owned(gw, api, route.kind, object_id, &principal.account, id).await?;
    let decided = match route.redecide {
        Some(how) => {
            Some(redecide(gw, route, how, &object, principal, peer, parts, id, started).await?)
        }
        None => None,
    };
    let upstream = match &decided {
        Some(d) => proxy::upstream_for(gw, api, &d.compiled, d.model, &d.canonical, id)?,
        None => object_upstream(gw, api, &object, id)?,
    };
    let mut path = route.path.replace("{id}", &object.id);
    if let Some(q) = parts.uri.query() {
        path.push('?');
        path.push_str(q);
    }
    let outbound = Outbound {
        method: route.method.method(),
        path: &path,
        body: None,
    };
    let mut r = proxy::send(gw, api, upstream, &parts.headers, outbound, id).await?;
    if let Some(d) = &decided {
        proxy::decision_headers(r.headers_mut(), &d.decision, d.explanation.as_ref());
        audit::set_index(r.headers_mut(), d.audit_index);
    }
    if route.action == Action::Delete && r.status().is_success() {
        super::forget(gw, route.kind, &object.id, id).await;
    }
    if route.kind == ObjectKind::MessageBatch && route.redecide.is_none() {
        return batch_here(gw, api, r, id).await;
    }
    Ok(r)
}

/// The id in `path` where the route's `{id}` stands.
fn path_id<'p>(template: &str, path: &'p str) -> Option<&'p str> {
    let at = template.split('/').position(|s| s == "{id}")?;
    path.split('/').nth(at)
}

/// The models an object was made with: its model, or a message batch's.
fn models_of(object: &ProviderObject) -> Vec<String> {
    if let Some(m) = &object.model {
        return vec![m.clone()];
    }
    object
        .details
        .get("models")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Decides the call again on each of the object's models, for the caller
/// now; each decision is recorded. The first allowing decision, or the
/// first refusal as the answer.
#[allow(
    clippy::too_many_arguments,
    reason = "one request's context, passed down once"
)]
async fn redecide(
    gw: &Arc<Gateway>,
    route: &ObjectRoute,
    how: Redecide,
    object: &ProviderObject,
    principal: Arc<cordon_store::Principal>,
    peer: SocketAddr,
    parts: &Parts,
    id: &str,
    started: Instant,
) -> Result<Decided, Response<Body>> {
    let models = models_of(object);
    if models.is_empty() {
        // Nothing to decide on is nothing to allow.
        tracing::error!(decision_id = id, object = %object.id, "a kept object has no model recorded");
        return Err(super::not_found(route.api, route.kind, &object.id, id));
    }
    let mut features = FeatureSet::EMPTY;
    if let Some(f) = how.feature {
        features.insert(f);
    }
    let mut first = None;
    for (i, model) in models.into_iter().enumerate() {
        // One decision id per decision; the first is the call's own.
        let own = (i > 0).then(proxy::decision_id);
        let decision_id = own.as_deref().unwrap_or(id);
        let inspected = Inspected {
            model,
            stream: false,
            features,
            tool_types: ToolTypeSet::EMPTY,
            max_tokens: None,
            end_user: None,
        };
        let ask = Ask {
            endpoint: how.endpoint,
            route: route.path,
            peer,
            parts,
            inspected: &inspected,
            id: decision_id,
            started,
            source: Source::Gateway,
        };
        let decided = proxy::decide_asked(gw, route.api, Arc::clone(&principal), &ask).await?;
        first.get_or_insert(decided);
    }
    first.ok_or_else(|| super::not_found(route.api, route.kind, &object.id, id))
}

/// The upstream that keeps an object not decided on again: the one that
/// serves its (first) model.
#[allow(clippy::result_large_err, reason = "the error is the response to send")]
fn object_upstream<'g>(
    gw: &'g Gateway,
    api: Api,
    object: &ProviderObject,
    id: &str,
) -> Result<&'g crate::config::Upstream, Response<Body>> {
    let compiled = gw.compiled();
    let model = models_of(object)
        .first()
        .and_then(|m| crate::decide::resolve(&compiled, m));
    match model {
        Some(m) => proxy::upstream_for(gw, api, &compiled, m, &object.id, id),
        None => api_upstream(gw, api, id),
    }
}

/// The first upstream that speaks `api`: the one lists are read from.
#[allow(clippy::result_large_err, reason = "the error is the response to send")]
fn api_upstream<'g>(
    gw: &'g Gateway,
    api: Api,
    id: &str,
) -> Result<&'g crate::config::Upstream, Response<Body>> {
    gw.loaded
        .config
        .upstream
        .iter()
        .find(|u| proxy::speaks(u, api))
        .ok_or_else(|| {
            error(
                api,
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                "no upstream speaks this API",
                id,
            )
        })
}

fn error(api: Api, status: StatusCode, code: Code, message: &str, id: &str) -> Response<Body> {
    let mut r = api_error::response(api, status, code, message);
    set_header(r.headers_mut(), DECISION_ID, id);
    r
}

/// A list from the upstream, with only the caller's own objects in it.
async fn list(
    gw: &Arc<Gateway>,
    route: &ObjectRoute,
    parts: &Parts,
    account: &str,
    id: &str,
) -> Answer {
    let api = route.api;
    let upstream = api_upstream(gw, api, id)?;
    let path = match parts.uri.query() {
        Some(q) => format!("{}?{q}", route.path),
        None => route.path.to_owned(),
    };
    let outbound = Outbound {
        method: Method::GET,
        path: &path,
        body: None,
    };
    let r = proxy::send(gw, api, upstream, &parts.headers, outbound, id).await?;
    if !r.status().is_success() {
        return Ok(r);
    }
    let (rparts, body) = r.into_parts();
    let mut listed = read_json(gw, api, body, id).await?;
    let Some(data) = listed.get_mut("data").and_then(Value::as_array_mut) else {
        return Err(bad_upstream(api, "has no `data` list", id));
    };
    let ids: Vec<String> = data
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mine = match super::owned_among(gw, route.kind, account, ids).await {
        Ok(m) => m,
        Err(e) => return Err(super::store_down(api, &e, id)),
    };
    data.retain(|o| {
        o.get("id")
            .and_then(Value::as_str)
            .is_some_and(|i| mine.contains(i))
    });
    if route.kind == ObjectKind::MessageBatch {
        data.iter_mut().for_each(results_here);
    }
    let first = data.first().and_then(|o| o.get("id")).cloned();
    let last = data.last().and_then(|o| o.get("id")).cloned();
    if let Some(obj) = listed.as_object_mut() {
        for (key, value) in [("first_id", first), ("last_id", last)] {
            if obj.contains_key(key) {
                obj.insert(key.into(), value.unwrap_or(Value::Null));
            }
        }
    }
    json_response(rparts, &listed, api, id)
}

/// The upstream's body as JSON, read within [`MAX_LIST_BYTES`] and the
/// upstream timeout; or the 502 to send instead.
async fn read_json(gw: &Gateway, api: Api, body: Body, id: &str) -> Result<Value, Response<Body>> {
    let patience = Duration::from_secs(gw.loaded.config.limits.upstream_timeout_secs);
    let read = tokio::time::timeout(patience, axum::body::to_bytes(body, MAX_LIST_BYTES)).await;
    let bytes = match read {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return Err(bad_upstream(
                api,
                &format!("is larger than {MAX_LIST_BYTES} bytes or was cut off"),
                id,
            ));
        }
        Err(_) => return Err(bad_upstream(api, "did not arrive in time", id)),
    };
    serde_json::from_slice(&bytes).map_err(|_| bad_upstream(api, "is not JSON", id))
}

/// The 502 for an upstream answer the gateway cannot read.
fn bad_upstream(api: Api, what: &str, id: &str) -> Response<Body> {
    error(
        api,
        StatusCode::BAD_GATEWAY,
        Code::UpstreamError,
        &format!("the upstream's answer {what}"),
        id,
    )
}

/// `value` as the body of a response with the upstream's head `parts`.
#[allow(clippy::result_large_err, reason = "the error is the response to send")]
fn json_response(
    mut parts: axum::http::response::Parts,
    value: &Value,
    api: Api,
    id: &str,
) -> Answer {
    let body = serde_json::to_vec(value)
        .map_err(|e| bad_upstream(api, &format!("cannot be re-encoded: {e}"), id))?;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(Response::from_parts(parts, Body::from(body)))
}

/// Points a message batch's `results_url` at the gateway.
///
/// The provider's is an absolute URL at the provider, which Anthropic's SDK
/// fetches as it is: the customer's key would go to the provider, around
/// the gateway. A path is resolved against the client's base URL instead,
/// so the SDK reads the results here, where they are decided.
fn results_here(batch: &mut Value) {
    let Some(id) = batch.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return;
    };
    if let Some(url) = batch.get_mut("results_url").filter(|u| u.is_string()) {
        *url = if crate::object_id::valid_id(&id) {
            Value::String(format!("/v1/messages/batches/{id}/results"))
        } else {
            Value::Null
        };
    }
}

/// A message batch as the upstream describes it, with its results here.
async fn batch_here(gw: &Gateway, api: Api, r: Response<Body>, id: &str) -> Answer {
    if !r.status().is_success() {
        return Ok(r);
    }
    let (parts, body) = r.into_parts();
    let mut batch = read_json(gw, api, body, id).await?;
    results_here(&mut batch);
    json_response(parts, &batch, api, id)
}
