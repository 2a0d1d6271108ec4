//! Recording a created object's id from the provider's response.
//!
//! The id is known only from the provider's response: the top-level `id`
//! of a JSON object, or the `response.created` event at the start of a
//! Responses stream. A model's answer is passed on chunk by chunk as it
//! comes ([`record_created`]); [`crate::object_id::IdWatcher`] reads the id
//! from the chunks in bounded memory. A file's or a batch's answer is a
//! small object the gateway reads whole anyway ([`create_read`]).
//!
//! Where the record is written: the chunk that completes the id is held
//! until the record is in the store, and every other chunk passes as it
//! comes. The client cannot use an id it has not received, so the record
//! is there before any call about the object can arrive, from this client
//! or another holding the id, at any gateway node sharing the store. That
//! holds one chunk of a stream (its first event) for one store write; a
//! non-streamed body is not usable before its last byte anyway.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Response, header};
use cordon_store::{ObjectKind, ProviderObject};
use http_body_util::{BodyExt, StreamBody};
use serde_json::Value;

use super::answer::{Whole, bad_upstream, read_whole};
use crate::api_error::Api;
use crate::config::Upstream;
use crate::object_id::{IdWatcher, Watch, valid_id};
use crate::proxy::{self, Allowed, Outbound};
use crate::state::Gateway;

/// What the gateway records about an object being created, besides the id
/// the response will give.
pub(crate) struct Creation {
    /// What it is.
    pub(crate) kind: ObjectKind,
    /// The account whose key creates it.
    pub(crate) account: String,
    /// The canonical model it is made with, if one.
    pub(crate) model: Option<String>,
    /// What else a later decision about it needs.
    pub(crate) details: Value,
    /// The decision that allowed it, for the log.
    pub(crate) decision_id: String,
}

impl Creation {
    /// An object made with the one model `allowed` was decided on.
    pub(crate) fn of(kind: ObjectKind, allowed: &Allowed, decision_id: &str) -> Self {
        Creation {
            kind,
            account: allowed.principal.account.clone(),
            model: Some(allowed.canonical.clone()),
            details: Value::Object(serde_json::Map::new()),
            decision_id: decision_id.to_owned(),
        }
    }

    /// The record of the object the provider made with id `id`.
    fn object(&self, id: String) -> ProviderObject {
        ProviderObject {
            kind: self.kind,
            id,
            account: self.account.clone(),
            model: self.model.clone(),
            details: self.details.clone(),
        }
    }
}

/// Sends a create to `upstream` and reads the answer whole; when it made
/// an object, its id is recorded as `creation`'s before the answer is
/// returned. Unlike a model's answer, nothing has reached the client yet,
/// so an id that cannot be recorded is never answered: a 503 when the
/// store is down, a 502 when the id is another account's or missing.
///
/// # Errors
/// The response to send instead: the upstream's own error, as it is, or
/// the gateway's.
pub(crate) async fn create_read(
    gw: &Gateway,
    api: Api,
    upstream: &Upstream,
    headers: &HeaderMap,
    outbound: Outbound<'_>,
    creation: &Creation,
) -> Result<Whole, Response<Body>> {
    let id = creation.decision_id.as_str();
    let r = proxy::send(gw, api, upstream, headers, outbound, id).await?;
    let whole = read_whole(gw, api, r, id).await?;
    let Some(made) = whole
        .json
        .get("id")
        .and_then(Value::as_str)
        .filter(|i| valid_id(i))
    else {
        let what = format!("names no {} `id`", super::noun(creation.kind));
        return Err(bad_upstream(api, &what, id));
    };
    super::record_or_refuse(gw, api, creation.object(made.to_owned()), id).await?;
    Ok(whole)
}

/// Passes `response` on, recording the id it gives as `creation`'s before
/// the bytes that carry it reach the client. Only a successful response
/// creates an object; any other is returned as it is.
pub(crate) fn record_created(
    gw: &Arc<Gateway>,
    creation: Creation,
    response: Response<Body>,
) -> Response<Body> {
    if !response.status().is_success() {
        return response;
    }
    let stream = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    let watcher = if stream {
        IdWatcher::sse()
    } else {
        IdWatcher::json()
    };
    let (parts, body) = response.into_parts();
    let watching = Watching {
        body,
        watcher: Some(watcher),
        gw: Arc::clone(gw),
        creation,
    };
    let frames = futures_util::stream::unfold(watching, |mut w| async move {
        let Some(frame) = w.body.frame().await else {
            if let Some(mut watcher) = w.watcher.take() {
                w.settle(watcher.finish()).await;
            }
            return None;
        };
        if let (Ok(frame), Some(watcher)) = (&frame, w.watcher.as_mut())
            && let Some(data) = frame.data_ref()
        {
            let seen = watcher.feed(data);
            if seen != Watch::NeedMore {
                w.watcher = None;
                // The chunk that completes the id waits for its record.
                w.settle(seen).await;
            }
        }
        Some((frame, w))
    });
    Response::from_parts(parts, Body::new(StreamBody::new(frames)))
}

/// A response being passed on while its id is watched for.
struct Watching {
    body: Body,
    /// `None` once the id is found or given up on.
    watcher: Option<IdWatcher>,
    gw: Arc<Gateway>,
    creation: Creation,
}

impl Watching {
    /// Records the id found, or logs why there is none.
    async fn settle(&mut self, seen: Watch) {
        let c = &self.creation;
        match seen {
            // The provider made the object whatever the gateway could
            // record, and the client has the bytes before the id: a
            // failure is logged, and nobody can reach the object through
            // the gateway (the customer gets a 404 for it).
            Watch::Found(id) => {
                if let Err(e) = super::record(&self.gw, c.object(id.clone())).await {
                    tracing::error!(decision_id = %c.decision_id, kind = c.kind.as_str(), object = %id, error = %e, "cannot record who owns a created object; nobody can reach it through the gateway");
                }
            }
            Watch::GaveUp(why) => {
                tracing::warn!(decision_id = %c.decision_id, kind = c.kind.as_str(), reason = why, "a created object's id was not recorded; nobody can reach it through the gateway");
            }
            Watch::NeedMore => {}
        }
    }
}
