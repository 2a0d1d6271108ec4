//! Objects a provider keeps for the caller (files, batches), answered only
//! to the account that made them.
//!
//! The gateway calls the provider with one key for every customer, so the
//! provider would show anyone anything. The gateway records who created
//! each object (`cordon_store::provider_objects`) and answers a later call
//! about one (retrieve, delete, cancel, content) only for its owner; to
//! anyone else it is a 404 in the API's shape, word for word the answer
//! for an id that does not exist, and the upstream is never asked. A list
//! shows only the caller's own objects.
//!
//! Files and batches are kept by one upstream: the first configured one
//! that speaks the OpenAI API. Its name is recorded with each object.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Response, StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use cordon_store::{ObjectKind, Principal, ProviderObject, StoreError};
use serde_json::Value;

use crate::api_error::{self, Api, Code};
use crate::config::{Upstream, UpstreamApi};
use crate::proxy::{self, DECISION_ID, Outgoing, set_header};
use crate::state::Gateway;

/// The largest upstream answer read whole (a list, an object), in bytes.
const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// The most upstream pages one list call reads looking for the caller's
/// objects among others'.
const MAX_PAGES: usize = 8;

/// One call about provider objects: its decision id and the caller.
pub(crate) struct Call {
    /// The gateway.
    pub gw: Arc<Gateway>,
    /// The response's decision id.
    pub id: String,
    /// Who is calling.
    pub principal: Arc<Principal>,
}

impl Call {
    /// Authenticates the key on `headers`; the 401 or 503 to send otherwise.
    pub(crate) async fn start(
        gw: Arc<Gateway>,
        headers: &HeaderMap,
    ) -> Result<Call, Response<Body>> {
        let id = proxy::decision_id();
        let principal = proxy::authenticate(&gw, Api::OpenAi, headers, &id).await?;
        Ok(Call { gw, id, principal })
    }

    /// The request's body, within `limits.max_body_bytes` and the body
    /// read timeout; or the 413 or 408 to send.
    pub(crate) async fn read_body(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Bytes, Response<Body>> {
        crate::decision_api::read_authorized_body(&self.gw, headers, body)
            .await
            .map_err(|r| {
                let mut r = *r;
                set_header(r.headers_mut(), DECISION_ID, &self.id);
                r
            })
    }

    /// An error in the OpenAI shape, with the decision id.
    pub(crate) fn error(&self, status: StatusCode, code: Code, message: &str) -> Response<Body> {
        self.field_error(status, code, message, None)
    }

    /// An error about one field or parameter of the request.
    pub(crate) fn field_error(
        &self,
        status: StatusCode,
        code: Code,
        message: &str,
        param: Option<&str>,
    ) -> Response<Body> {
        let mut r = api_error::field_response(Api::OpenAi, status, code, message, param);
        set_header(r.headers_mut(), DECISION_ID, &self.id);
        r
    }

    /// A 400 about `param`.
    pub(crate) fn bad(&self, message: &str, param: Option<&str>) -> Response<Body> {
        self.field_error(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            message,
            param,
        )
    }

    /// The 404 for an object the caller does not own or that does not exist.
    pub(crate) fn not_found(&self, kind: ObjectKind, object: &str) -> Response<Body> {
        let name = match kind {
            ObjectKind::File => "File",
            ObjectKind::Batch => "Batch",
            _ => kind.as_str(),
        };
        self.field_error(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            &format!("No such {name} object: {}", bounded(object)),
            Some("id"),
        )
    }

    fn store_down(&self, e: &StoreError) -> Response<Body> {
        tracing::error!(decision_id = %self.id, error = %e, "identity store unavailable");
        self.error(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            "the gateway cannot look up its records of files and batches right now",
        )
    }

    /// The caller's own object of `kind` with id `object`; the 404 when it
    /// is not theirs or not recorded, a 503 when the store cannot answer.
    pub(crate) async fn owned(
        &self,
        kind: ObjectKind,
        object: &str,
    ) -> Result<ProviderObject, Response<Body>> {
        if !plausible_id(object) {
            return Err(self.not_found(kind, object));
        }
        let store = Arc::clone(&self.gw.store);
        let key = object.to_owned();
        let found = tokio::task::spawn_blocking(move || store.object(kind, &key))
            .await
            .unwrap_or_else(|e| Err(StoreError::Corrupt(e.to_string())));
        match found {
            Ok(Some(o)) if o.account == self.principal.account => Ok(o),
            Ok(_) => Err(self.not_found(kind, object)),
            Err(e) => Err(self.store_down(&e)),
        }
    }

    /// Which of `ids` are the caller's objects of `kind`.
    async fn mine(&self, kind: ObjectKind, ids: Vec<String>) -> Result<Vec<bool>, Response<Body>> {
        let store = Arc::clone(&self.gw.store);
        let account = self.principal.account.clone();
        let found = tokio::task::spawn_blocking(move || {
            ids.iter()
                .map(|id| {
                    Ok(plausible_id(id)
                        && store
                            .object(kind, id)?
                            .is_some_and(|o| o.account == account))
                })
                .collect::<Result<Vec<bool>, StoreError>>()
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Corrupt(e.to_string())));
        found.map_err(|e| self.store_down(&e))
    }

    /// Records `object` as the caller's.
    ///
    /// # Errors
    /// The 503 (store down) or 502 (the upstream gave an id another account
    /// holds) to send.
    pub(crate) async fn record(
        &self,
        kind: ObjectKind,
        object: &str,
        model: Option<String>,
        details: Value,
    ) -> Result<(), Response<Body>> {
        let record = ProviderObject {
            kind,
            id: object.to_owned(),
            account: self.principal.account.clone(),
            model,
            details,
        };
        let store = Arc::clone(&self.gw.store);
        let done = tokio::task::spawn_blocking(move || store.record_object(&record))
            .await
            .unwrap_or_else(|e| Err(StoreError::Corrupt(e.to_string())));
        match done {
            Ok(()) => Ok(()),
            Err(e @ StoreError::ObjectOwned { .. }) => {
                tracing::error!(decision_id = %self.id, error = %e, "the upstream answered with another account's object");
                Err(self.error(
                    StatusCode::BAD_GATEWAY,
                    Code::UpstreamError,
                    "the upstream answered with an object the gateway holds for another account",
                ))
            }
            Err(e) => Err(self.store_down(&e)),
        }
    }

    /// Forgets the object (the upstream deleted it).
    pub(crate) async fn forget(&self, kind: ObjectKind, object: &str) {
        let store = Arc::clone(&self.gw.store);
        let key = object.to_owned();
        let done = tokio::task::spawn_blocking(move || store.forget_object(kind, &key)).await;
        if !matches!(done, Ok(Ok(_))) {
            tracing::warn!(decision_id = %self.id, kind = kind.as_str(), "could not forget a deleted object");
        }
    }

    /// The upstream that keeps files and batches, or the 502 to send.
    #[expect(clippy::result_large_err, reason = "the error is the response itself")]
    pub(crate) fn upstream(&self) -> Result<&Upstream, Response<Body>> {
        objects_upstream(&self.gw).ok_or_else(|| {
            self.error(
                StatusCode::BAD_GATEWAY,
                Code::UpstreamError,
                "no upstream speaking the OpenAI API is configured for files and batches",
            )
        })
    }

    /// Sends a request about objects upstream and returns its answer as it
    /// streams; the decision id is added.
    pub(crate) async fn send(
        &self,
        out: Outgoing<'_>,
        client: &HeaderMap,
    ) -> Result<Response<Body>, Response<Body>> {
        let upstream = self.upstream()?;
        let mut r = proxy::exchange(&self.gw, Api::OpenAi, upstream, out, client, &self.id).await?;
        set_header(r.headers_mut(), DECISION_ID, &self.id);
        Ok(r)
    }

    /// [`Call::send`], with the answer read whole: its status, headers and
    /// body, which is JSON when the status is a success.
    pub(crate) async fn fetch(
        &self,
        out: Outgoing<'_>,
        client: &HeaderMap,
    ) -> Result<Answer, Response<Body>> {
        let r = self.send(out, client).await?;
        let (parts, body) = r.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| {
                self.error(
                    StatusCode::BAD_GATEWAY,
                    Code::UpstreamError,
                    &format!("the upstream's answer could not be read: {e}"),
                )
            })?;
        let json = if parts.status.is_success() {
            Some(serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                self.error(
                    StatusCode::BAD_GATEWAY,
                    Code::UpstreamError,
                    &format!("the upstream's answer is not JSON: {e}"),
                )
            })?)
        } else {
            None
        };
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            bytes,
            json,
        })
    }

    /// [`Call::fetch`] for a request that makes an object of `kind`: when
    /// the upstream made it, it is recorded as the caller's with `model`
    /// and `details` before the answer is returned.
    pub(crate) async fn create(
        &self,
        kind: ObjectKind,
        out: Outgoing<'_>,
        client: &HeaderMap,
        model: Option<String>,
        details: Value,
    ) -> Result<Answer, Response<Body>> {
        let answer = self.fetch(out, client).await?;
        if let Some(made) = &answer.json {
            let Some(id) = made.get("id").and_then(Value::as_str) else {
                return Err(self.error(
                    StatusCode::BAD_GATEWAY,
                    Code::UpstreamError,
                    &format!("the upstream's {} has no `id`", kind.as_str()),
                ));
            };
            self.record(kind, id, model, details).await?;
        }
        Ok(answer)
    }

    /// A list of the caller's objects of `kind` from the upstream list at
    /// `path` with the client's `query`: every page's `data` filtered to the
    /// caller's own, reading on (up to [`MAX_PAGES`] pages) while a page
    /// holds none of theirs and the upstream has more. `first_id` and
    /// `last_id` name the caller's objects, so a client paging on from the
    /// last one it saw pages through the upstream's list in order.
    pub(crate) async fn list(
        &self,
        kind: ObjectKind,
        path: &str,
        query: Option<&str>,
        client: &HeaderMap,
    ) -> Result<Value, Response<Body>> {
        let mut pairs: Vec<&str> = query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .collect();
        let mut after = None;
        if let Some(i) = pairs.iter().position(|p| p.starts_with("after=")) {
            let given = pairs.remove(i).trim_start_matches("after=");
            // A cursor is one of the caller's own objects: another's would
            // tell them where it is in the list, that is, that it exists.
            if self.mine(kind, vec![given.to_owned()]).await?.first() != Some(&true) {
                return Err(self.bad(
                    &format!("`after` names no {} of yours", kind.as_str()),
                    Some("after"),
                ));
            }
            after = Some(given.to_owned());
        }
        let mut last = Value::Null;
        for _ in 0..MAX_PAGES {
            let mut q = pairs.join("&");
            if let Some(a) = &after {
                if !q.is_empty() {
                    q.push('&');
                }
                q.push_str("after=");
                q.push_str(a);
            }
            let target = if q.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{q}")
            };
            let answer = self.fetch(get(&target), client).await?;
            let Some(mut page) = answer.json else {
                return Err(answer.into_response(&self.id));
            };
            let items: Vec<Value> = page
                .get_mut("data")
                .and_then(Value::as_array_mut)
                .map(std::mem::take)
                .unwrap_or_default();
            let raw_last = items
                .last()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let ids = items
                .iter()
                .map(|v| {
                    v.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect();
            let mine = self.mine(kind, ids).await?;
            let kept: Vec<Value> = items
                .into_iter()
                .zip(mine)
                .filter_map(|(v, m)| m.then_some(v))
                .collect();
            let more = page.get("has_more").and_then(Value::as_bool) == Some(true);
            let id_of = |v: Option<&Value>| v.and_then(|v| v.get("id")).cloned();
            if let Some(obj) = page.as_object_mut() {
                obj.insert(
                    "first_id".into(),
                    id_of(kept.first()).unwrap_or(Value::Null),
                );
                obj.insert("last_id".into(), id_of(kept.last()).unwrap_or(Value::Null));
                obj.insert("data".into(), Value::Array(kept));
            }
            let empty = page
                .get("data")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            last = page;
            match raw_last {
                Some(id) if empty && more => after = Some(id),
                _ => break,
            }
        }
        Ok(last)
    }
}

/// A `GET` of `path` (with its query) upstream.
pub(crate) fn get(path: &str) -> Outgoing<'_> {
    Outgoing {
        method: Method::GET,
        path,
        content_type: None,
        body: Bytes::new(),
    }
}

/// An upstream answer read whole.
pub(crate) struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub bytes: Bytes,
    /// The body as JSON, for a success.
    pub json: Option<Value>,
}

impl Answer {
    /// The answer as received, for the client.
    pub(crate) fn into_response(self, id: &str) -> Response<Body> {
        let mut r = Response::new(Body::from(self.bytes));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r.headers_mut().remove(header::CONTENT_LENGTH);
        set_header(r.headers_mut(), DECISION_ID, id);
        r
    }
}

/// `value` as a JSON response with the decision id.
pub(crate) fn json_response(value: &Value, id: &str) -> Response<Body> {
    let mut r = axum::Json(value).into_response();
    set_header(r.headers_mut(), DECISION_ID, id);
    r
}

/// The upstream that keeps files and batches: the first that speaks the
/// OpenAI API.
pub(crate) fn objects_upstream(gw: &Gateway) -> Option<&Upstream> {
    gw.loaded
        .config
        .upstream
        .iter()
        .find(|u| matches!(u.api, UpstreamApi::Openai | UpstreamApi::Both))
}

/// Whether `id` could be a provider's object id: 1 to 256 letters, digits,
/// `-` and `_`. Anything else is not looked up, and never reaches an
/// upstream path.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= cordon_store::provider_objects::MAX_OBJECT_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// At most 64 characters of an id, for a message.
fn bounded(id: &str) -> &str {
    match id.char_indices().nth(64) {
        Some((i, _)) => id.get(..i).unwrap_or(id),
        None => id,
    }
}
