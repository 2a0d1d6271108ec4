//! Calls about an object a provider keeps: read it, its content or its
//! events, cancel it, delete it, list them. One table of routes serves the
//! router; one handler serves them all.
//!
//! Each call is answered only for the account that made the object (a 404,
//! as for an id that does not exist, for anyone else). A call that reads
//! what a model made is decided again, now, on the models the object was
//! made with, and recorded like any decision: a directive or a subject that
//! changed since the object was made applies to it. A list shows only the
//! caller's own objects ([`super::list`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Method, Request, Response, request::Parts};
use cordon_audit::leaf::Source;
use cordon_policy::{Endpoint, Feature, FeatureSet, ToolTypeSet};
use cordon_store::{ObjectKind, Principal, ProviderObject};
use serde_json::Value;

use super::list::{Listing, list};
use super::read_whole;
use crate::api_error::Api;
use crate::audit;
use crate::config::Upstream;
use crate::inspect::Inspected;
use crate::proxy::{self, Ask, Decided, Outbound};
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

/// How a call is decided again, when it reads what a model made.
#[derive(Debug, Clone, Copy)]
pub enum Redecide {
    /// On each of the object's models, as `endpoint` using `feature`.
    Models {
        /// The endpoint directives see.
        endpoint: Endpoint,
        /// A feature the call uses, if one.
        feature: Option<Feature>,
    },
    /// A file a batch wrote (its output or errors) is decided as the
    /// batch's requests were: on each of the batch's models, as the
    /// endpoint its lines call, with feature `batch`. Any other file is
    /// what the caller uploaded, and is not decided.
    BatchOutput,
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
    /// Whether (and how) it is decided again.
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

const RESPONSES: Option<Redecide> = Some(Redecide::Models {
    endpoint: Endpoint::Responses,
    feature: None,
});

const FINE_TUNING: Option<Redecide> = Some(Redecide::Models {
    endpoint: Endpoint::FineTuning,
    feature: Some(Feature::FineTuning),
});

const BATCH_RESULTS: Option<Redecide> = Some(Redecide::Models {
    endpoint: Endpoint::Messages,
    feature: Some(Feature::Batch),
});

/// A route about an object of `kind`.
const fn route(
    path: &'static str,
    method: Verb,
    api: Api,
    kind: ObjectKind,
    action: Action,
    redecide: Option<Redecide>,
) -> ObjectRoute {
    ObjectRoute {
        path,
        method,
        api,
        kind,
        action,
        redecide,
    }
}

/// A route about a stored response: every call is decided again.
const fn response(path: &'static str, method: Verb, action: Action) -> ObjectRoute {
    route(
        path,
        method,
        Api::OpenAi,
        ObjectKind::Response,
        action,
        RESPONSES,
    )
}

/// A route about a fine-tuning job: every call is decided again.
const fn job(path: &'static str, method: Verb, action: Action) -> ObjectRoute {
    let kind = ObjectKind::FineTuningJob;
    route(path, method, Api::OpenAi, kind, action, FINE_TUNING)
}

/// A route about a message batch, not decided again (its results are).
const fn message_batch(path: &'static str, method: Verb, action: Action) -> ObjectRoute {
    let kind = ObjectKind::MessageBatch;
    route(path, method, Api::Anthropic, kind, action, None)
}

/// A route about an OpenAI file, not decided again (a batch's output's
/// content is).
const fn file(path: &'static str, method: Verb, action: Action) -> ObjectRoute {
    route(path, method, Api::OpenAi, ObjectKind::File, action, None)
}

/// A route about an OpenAI batch: never decided again (its output file's
/// content is).
const fn batch(path: &'static str, method: Verb, action: Action) -> ObjectRoute {
    route(path, method, Api::OpenAi, ObjectKind::Batch, action, None)
}

/// Every route about a kept object, after its creation (which each kind
/// does its own way: [`crate::proxy`] for a stored response,
/// [`crate::fine_tuning`], [`crate::batch`], [`crate::files`],
/// [`crate::batches`]).
///
/// A stored response and a fine-tuning job are what a model made (or is
/// making), so every call about one is decided again on its model. A
/// batch's results are what its models made: a message batch's results,
/// and the content of a file a batch wrote. Reading a batch's status,
/// cancelling and deleting it are not, nor is reading a file the caller
/// uploaded; those are answered to the owner without a decision.
pub const OBJECT_ROUTES: [ObjectRoute; 21] = {
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
        message_batch("/v1/messages/batches", Get, List),
        message_batch("/v1/messages/batches/{id}", Get, Use),
        route(
            "/v1/messages/batches/{id}/results",
            Get,
            Api::Anthropic,
            ObjectKind::MessageBatch,
            Use,
            BATCH_RESULTS,
        ),
        message_batch("/v1/messages/batches/{id}/cancel", Post, Use),
        message_batch("/v1/messages/batches/{id}", Verb::Delete, Action::Delete),
        file("/v1/files", Get, List),
        file("/v1/files/{id}", Get, Use),
        file("/v1/files/{id}", Verb::Delete, Action::Delete),
        route(
            "/v1/files/{id}/content",
            Get,
            Api::OpenAi,
            ObjectKind::File,
            Use,
            Some(Redecide::BatchOutput),
        ),
        batch("/v1/batches", Get, List),
        batch("/v1/batches/{id}", Get, Use),
        batch("/v1/batches/{id}/cancel", Post, Use),
    ]
};

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
    let account = principal.account.clone();
    if route.action == Action::List {
        return listed(gw, route, parts, &account, id).await;
    }
    let object_id = path_id(route.path, parts.uri.path()).unwrap_or_default();
    let object = super::owned(gw, api, route.kind, object_id, &account, id).await?;
    let decided = match route.redecide {
        Some(how) => {
            let call = Call {
                gw,
                route,
                principal,
                peer,
                parts,
                id,
                started,
            };
            redecide(&call, how, &object).await?
        }
        None => None,
    };
    let upstream = match &decided {
        Some(d) if object.details.get("upstream").is_none() => {
            proxy::upstream_for(gw, api, &d.compiled, d.model, &d.canonical, id)?
        }
        _ => super::object_upstream(gw, api, &object, id)?,
    };
    let mut path = route.path.replace("{id}", &object.id);
    if let Some(q) = parts.uri.query() {
        path.push('?');
        path.push_str(q);
    }
    let outbound = Outbound::bodiless(route.method.method(), &path);
    let mut r = proxy::send(gw, api, upstream, &parts.headers, outbound, id).await?;
    if let Some(d) = &decided {
        proxy::decision_headers(r.headers_mut(), &d.decision, d.explanation.as_ref());
        audit::set_index(r.headers_mut(), d.audit_index);
    }
    if route.action == Action::Delete && r.status().is_success() {
        super::forget(gw, route.kind, &object.id, id).await;
    }
    if !read_on_the_way(route) {
        return Ok(r);
    }
    let mut whole = read_whole(gw, api, r, id).await?;
    let on_the_way = Passing {
        gw,
        kind: route.kind,
        account: &account,
        upstream,
        id,
    };
    if on_the_way.pass(&mut whole.json).await? {
        Ok(whole.into_changed(api, id))
    } else {
        Ok(whole.into_response())
    }
}

/// The id in `path` where the route's `{id}` stands.
fn path_id<'p>(template: &str, path: &'p str) -> Option<&'p str> {
    let at = template.split('/').position(|s| s == "{id}")?;
    path.split('/').nth(at)
}

/// Whether the route's answer is an object the gateway must see on its
/// way to the owner ([`Passing`]): a batch's, not its results (a stream of
/// lines, decided instead).
fn read_on_the_way(route: &ObjectRoute) -> bool {
    matches!(route.kind, ObjectKind::MessageBatch | ObjectKind::Batch) && route.redecide.is_none()
}

/// What the gateway does to a batch on its way to its owner.
struct Passing<'a> {
    gw: &'a Gateway,
    kind: ObjectKind,
    account: &'a str,
    upstream: &'a Upstream,
    id: &'a str,
}

impl Passing<'_> {
    /// Points a message batch's `results_url` at the gateway; records the
    /// output and error files an OpenAI batch names as the owner's, so they
    /// can read its results. Whether `object` was changed.
    async fn pass(&self, object: &mut Value) -> Result<bool, Response<Body>> {
        match self.kind {
            ObjectKind::MessageBatch => Ok(results_here(object)),
            ObjectKind::Batch => {
                let upstream = self.upstream.name.as_str();
                crate::batches::record_results(self.gw, self.account, upstream, object, self.id)
                    .await?;
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}

/// A call being decided again: its context.
struct Call<'a> {
    gw: &'a Arc<Gateway>,
    route: &'a ObjectRoute,
    principal: Arc<Principal>,
    peer: SocketAddr,
    parts: &'a Parts,
    id: &'a str,
    started: Instant,
}

/// What a call is decided on: the endpoint, the features and the models.
struct Basis {
    endpoint: Endpoint,
    features: FeatureSet,
    models: Vec<String>,
}

/// What the call about `object` is decided on, if it is decided at all.
async fn basis(
    call: &Call<'_>,
    how: Redecide,
    object: &ProviderObject,
) -> Result<Option<Basis>, Response<Body>> {
    let mut features = FeatureSet::EMPTY;
    match how {
        Redecide::Models { endpoint, feature } => {
            if let Some(f) = feature {
                features.insert(f);
            }
            let models = super::models_of(object);
            Ok(Some(Basis {
                endpoint,
                features,
                models,
            }))
        }
        Redecide::BatchOutput => {
            let details = &object.details;
            if details.get("purpose").and_then(Value::as_str) != Some("batch_output") {
                return Ok(None);
            }
            let api = call.route.api;
            let made_by = details.get("batch").and_then(Value::as_str);
            let account = &call.principal.account;
            let batch = match super::lookup(call.gw, ObjectKind::Batch, made_by.unwrap_or_default())
                .await
            {
                Ok(Some(b)) if &b.account == account => b,
                // Nothing to decide on is nothing to allow.
                Ok(_) => return Err(super::not_found(api, object.kind, &object.id, call.id)),
                Err(e) => return Err(super::store_down(api, &e, call.id)),
            };
            let url = batch.details.get("endpoint").and_then(Value::as_str);
            let endpoint = url
                .and_then(crate::model_routes::model_route)
                .map_or(Endpoint::Batch, |r| r.endpoint);
            features.insert(Feature::Batch);
            let models = super::models_of(&batch);
            Ok(Some(Basis {
                endpoint,
                features,
                models,
            }))
        }
    }
}

/// Decides the call again on each of the models it is about, for the
/// caller now; each decision is recorded. The first allowing decision, or
/// the first refusal as the answer; `None` for a call not decided.
async fn redecide(
    call: &Call<'_>,
    how: Redecide,
    object: &ProviderObject,
) -> Result<Option<Decided>, Response<Body>> {
    let Some(basis) = basis(call, how, object).await? else {
        return Ok(None);
    };
    let (route, id) = (call.route, call.id);
    if basis.models.is_empty() {
        // Nothing to decide on is nothing to allow.
        tracing::error!(decision_id = id, object = %object.id, "a kept object has no model recorded");
        return Err(super::not_found(route.api, route.kind, &object.id, id));
    }
    let mut first = None;
    for (i, model) in basis.models.into_iter().enumerate() {
        // One decision id per decision; the first is the call's own.
        let own = (i > 0).then(proxy::decision_id);
        let decision_id = own.as_deref().unwrap_or(id);
        let inspected = Inspected {
            model,
            stream: false,
            features: basis.features,
            tool_types: ToolTypeSet::EMPTY,
            max_tokens: None,
            end_user: None,
        };
        let ask = Ask {
            endpoint: basis.endpoint,
            route: route.path,
            peer: call.peer,
            parts: call.parts,
            inspected: &inspected,
            id: decision_id,
            started: call.started,
            source: Source::Gateway,
        };
        let principal = Arc::clone(&call.principal);
        let decided = proxy::decide_asked(call.gw, route.api, principal, &ask).await?;
        first.get_or_insert(decided);
    }
    Ok(first)
}

/// A list from the upstream, with only the caller's own objects in it,
/// each passed as the gateway passes one ([`Passing`]).
async fn listed(
    gw: &Arc<Gateway>,
    route: &ObjectRoute,
    parts: &Parts,
    account: &str,
    id: &str,
) -> Answer {
    let api = route.api;
    let upstream = super::api_upstream(gw, api, id)?;
    let listing = Listing {
        api,
        kind: route.kind,
        path: route.path,
        account,
    };
    let mut page = list(gw, &listing, upstream, parts, id).await?;
    let on_the_way = Passing {
        gw,
        kind: route.kind,
        account,
        upstream,
        id,
    };
    if let Some(data) = page.json.get_mut("data").and_then(Value::as_array_mut) {
        for object in data {
            on_the_way.pass(object).await?;
        }
    }
    Ok(page.into_changed(api, id))
}

/// Points a message batch's `results_url` at the gateway; whether it had
/// one.
///
/// The provider's is an absolute URL at the provider, which Anthropic's SDK
/// fetches as it is: the customer's key would go to the provider, around
/// the gateway. A path is resolved against the client's base URL instead,
/// so the SDK reads the results here, where they are decided.
fn results_here(batch: &mut Value) -> bool {
    let Some(id) = batch.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return false;
    };
    let Some(url) = batch.get_mut("results_url").filter(|u| u.is_string()) else {
        return false;
    };
    *url = if crate::object_id::valid_id(&id) {
        Value::String(format!("/v1/messages/batches/{id}/results"))
    } else {
        Value::Null
    };
    true
}
