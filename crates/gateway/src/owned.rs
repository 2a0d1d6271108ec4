//! Objects a provider keeps for a customer (stored responses, fine-tuning
//! jobs, message batches), answered for only to the account that made them.
//!
//! The gateway calls the provider with its own key, so the provider cannot
//! tell one customer's objects from another's. The gateway records the id
//! of each object it sees created, with the account whose key created it
//! and the model it was made with ([`created`]); a later call about the
//! object ([`calls`]) is answered only for that account, and anyone else
//! gets the 404 of an id that does not exist, never a 403 that would
//! confirm it does.

pub(crate) mod calls;
mod created;

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use cordon_store::{ObjectKind, ProviderObject, StoreError};

use crate::api_error::{self, Api, Code};
use crate::object_id::valid_id;
use crate::proxy::{DECISION_ID, set_header};
use crate::state::Gateway;

pub(crate) use created::{Creation, record_created};

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
/// answer whether nobody or another account made it.
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

/// The recorded object of `kind` with id `object`, whoever owns it.
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

/// Records `object` as its account's; a failure is logged, as the
/// provider has made the object whatever the gateway could record (the
/// customer then gets a 404 for it: nobody else can reach it either).
pub(crate) async fn record(gw: &Gateway, object: ProviderObject, id: &str) {
    let (kind, object_id) = (object.kind, object.id.clone());
    if let Err(e) = in_store(gw, move |store| store.record_object(&object)).await {
        tracing::error!(decision_id = id, kind = kind.as_str(), object = %object_id, error = %e, "cannot record who owns a created object; nobody can reach it through the gateway");
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
