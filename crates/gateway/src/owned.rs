//! Objects a provider keeps for a customer (stored responses, fine-tuning
//! jobs, message batches, files, batches), answered for only to the account
//! that made them.
//!
//! The gateway calls the provider with its own key, so the provider cannot
//! tell one customer's objects from another's. The gateway records the id
//! of each object it sees created, with the account whose key created it
//! and the model it was made with ([`created`]); a later call about the
//! object ([`calls`]) is answered only for that account, and anyone else
//! gets the 404 of an id that does not exist, never a 403 that would
//! confirm it does. A list shows only the caller's own objects ([`list`]).

mod answer;
pub(crate) mod calls;
mod created;
mod list;

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use cordon_store::{ObjectKind, ProviderObject, StoreError};
use serde_json::Value;

use crate::api_error::{self, Api, Code};
use crate::config::Upstream;
use crate::object_id::valid_id;
use crate::proxy::{self, DECISION_ID, set_header};
use crate::state::Gateway;

pub(crate) use answer::read_whole;
pub(crate) use created::{Creation, create_read, record_created};

/// What the customer calls an object of `kind`, in messages.
pub(crate) fn noun(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Response => "response",
        ObjectKind::File => "file",
        ObjectKind::Batch => "batch",
        ObjectKind::MessageBatch => "message batch",
        ObjectKind::FineTuningJob => "fine-tuning job",
    }
}

/// The 404 of an object that does not exist for the caller: the same
/// answer whether nobody or another account made it. An id that is not a
/// provider's is not echoed.
pub(crate) fn not_found(api: Api, kind: ObjectKind, object: &str, id: &str) -> Response<Body> {
    let message = if valid_id(object) {
        format!("no {} found with id `{object}`", noun(kind))
    } else {
        format!("no {} found with that id", noun(kind))
    };
    let mut r = api_error::response(api, StatusCode::NOT_FOUND, Code::NotFound, &message);
    set_header(r.headers_mut(), DECISION_ID, id);
    r
}

/// Why the store could not answer about an object.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreCallError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking task that called it did not finish.
    #[error("the store call did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs `f` on the store on a blocking thread, as store calls may wait on
/// disk or on the network.
async fn in_store<T: Send + 'static>(
    gw: &Gateway,
    f: impl FnOnce(&dyn cordon_store::IdentityStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreCallError> {
    let store = Arc::clone(&gw.store);
    Ok(tokio::task::spawn_blocking(move || f(store.as_ref())).await??)
}

/// The 503 when the store cannot say who owns an object.
pub(crate) fn store_down(api: Api, e: &StoreCallError, id: &str) -> Response<Body> {
    tracing::error!(decision_id = id, error = %e, "identity store unavailable");
    let mut r = api_error::response(
        api,
        StatusCode::SERVICE_UNAVAILABLE,
        Code::Unavailable,
        "the gateway cannot look up who owns this object right now",
    );
    set_header(r.headers_mut(), DECISION_ID, id);
    r
}

/// The recorded object of `kind` with id `object`, whoever owns it. An id
/// that is not a provider's is never looked up.
///
/// # Errors
/// When the store cannot answer.
pub(crate) async fn lookup(
    gw: &Gateway,
    kind: ObjectKind,
    object: &str,
) -> Result<Option<ProviderObject>, StoreCallError> {
    if !valid_id(object) {
        return Ok(None);
    }
    let key = object.to_owned();
    in_store(gw, move |store| store.object(kind, &key)).await
}

/// The object of `kind` with id `object` when `account` owns it; otherwise
/// the 404 of an id that does not exist (or a 503 when the store is down).
pub(crate) async fn owned(
    gw: &Gateway,
    api: Api,
    kind: ObjectKind,
    object: &str,
    account: &str,
    id: &str,
) -> Result<ProviderObject, Response<Body>> {
    match lookup(gw, kind, object).await {
        Ok(Some(o)) if o.account == account => Ok(o),
        Ok(_) => Err(not_found(api, kind, object, id)),
        Err(e) => Err(store_down(api, &e, id)),
    }
}

/// Which of `ids` are objects of `kind` that `account` owns.
///
/// # Errors
/// When the store cannot answer.
pub(crate) async fn owned_among(
    gw: &Gateway,
    kind: ObjectKind,
    account: &str,
    ids: Vec<String>,
) -> Result<HashSet<String>, StoreCallError> {
    let account = account.to_owned();
    in_store(gw, move |store| {
        let mut mine = HashSet::new();
        for id in ids {
            if valid_id(&id)
                && store
                    .object(kind, &id)?
                    .is_some_and(|o| o.account == account)
            {
                mine.insert(id);
            }
        }
        Ok(mine)
    })
    .await
}

/// Records `object` as its account's.
///
/// # Errors
/// When the store cannot record it, or
/// [`StoreError::ObjectOwned`] when the id is another account's.
pub(crate) async fn record(gw: &Gateway, object: ProviderObject) -> Result<(), StoreCallError> {
    in_store(gw, move |store| store.record_object(&object)).await
}

/// Records `object` as its account's before its id is answered, or says
/// why not: a 502 when the upstream gave an id the gateway holds for
/// another account, a 503 when the store cannot record it. Either way the
/// caller never learns an id nobody can reach through the gateway.
pub(crate) async fn record_or_refuse(
    gw: &Gateway,
    api: Api,
    object: ProviderObject,
    id: &str,
) -> Result<(), Response<Body>> {
    match record(gw, object).await {
        Ok(()) => Ok(()),
        Err(e @ StoreCallError::Store(StoreError::ObjectOwned { .. })) => {
            tracing::error!(decision_id = id, error = %e, "the upstream answered with another account's object");
            Err(proxy::error(
                api,
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                "the upstream answered with an object the gateway holds for another account",
                id,
            ))
        }
        Err(e) => Err(store_down(api, &e, id)),
    }
}

/// Forgets an object the provider has deleted; a failure is logged (the
/// record then names an object the provider no longer has, which answers
/// 404 from the provider).
pub(crate) async fn forget(gw: &Gateway, kind: ObjectKind, object: &str, id: &str) {
    let key = object.to_owned();
    if let Err(e) = in_store(gw, move |store| store.forget_object(kind, &key)).await {
        tracing::error!(decision_id = id, kind = kind.as_str(), object, error = %e, "cannot forget a deleted object");
    }
}

/// The first upstream that speaks `api`: the one that keeps objects no
/// model names (files, batches) and the one lists are read from.
#[expect(clippy::result_large_err, reason = "the error is the response to send")]
pub(crate) fn api_upstream<'g>(
    gw: &'g Gateway,
    api: Api,
    id: &str,
) -> Result<&'g Upstream, Response<Body>> {
    gw.loaded
        .config
        .upstream
        .iter()
        .find(|u| proxy::speaks(u, api))
        .ok_or_else(|| {
            proxy::error(
                api,
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                "no upstream speaks this API",
                id,
            )
        })
}

/// The upstream that keeps `object`: the one recorded with it while it is
/// still configured, else the one serving its (first) model, else the
/// first that speaks `api`.
#[expect(clippy::result_large_err, reason = "the error is the response to send")]
pub(crate) fn object_upstream<'g>(
    gw: &'g Gateway,
    api: Api,
    object: &ProviderObject,
    id: &str,
) -> Result<&'g Upstream, Response<Body>> {
    let recorded = object.details.get("upstream").and_then(Value::as_str);
    if let Some(u) = recorded.and_then(|name| {
        gw.loaded
            .config
            .upstream
            .iter()
            .find(|u| u.name == name && proxy::speaks(u, api))
    }) {
        return Ok(u);
    }
    let compiled = gw.compiled();
    let models = models_of(object);
    let first = models.first();
    match first.and_then(|m| crate::decide::resolve(&compiled, m)) {
        Some(m) => {
            let named = first.map_or("", String::as_str);
            proxy::upstream_for(gw, api, &compiled, m, named, id)
        }
        None => api_upstream(gw, api, id),
    }
}

/// The models an object was made with: its model, or those recorded in
/// its details (a batch's, whose requests name several).
pub(crate) fn models_of(object: &ProviderObject) -> Vec<String> {
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
