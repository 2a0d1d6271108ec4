//! The requests of a batch, each decided as the request it is: the step
//! both kinds of batch share (Anthropic's message batches, whose requests
//! are in the body, and OpenAI's batches, whose lines are in an uploaded
//! file), and the refusal of a batch whole when any request is refused.
//!
//! Every request of a batch is decided with feature `batch` besides its
//! own, so a directive scoped to batches sees the requests of both.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header, request::Parts};
use axum::response::IntoResponse;
use cordon_audit::leaf::Source;
use cordon_policy::{Endpoint, Feature};
use cordon_store::Principal;
use serde_json::{Value, json};

use crate::api_error::{self, Api, Code};
use crate::audit::AUDIT_INDEX;
use crate::inspect::Inspected;
use crate::proxy::{self, Ask, DECISION_ID, Decided, set_header};
use crate::state::Gateway;

/// The most bytes of a request's refusal read for its message.
const MAX_REFUSAL_BYTES: usize = 1 << 20;

/// One batch being decided: who sent it, from where.
pub(crate) struct Batch<'a> {
    /// The gateway.
    pub(crate) gw: &'a Arc<Gateway>,
    /// The API whose shape the batch speaks.
    pub(crate) api: Api,
    /// The key's principal, authenticated once for the whole batch.
    pub(crate) principal: &'a Arc<Principal>,
    /// The connection's peer.
    pub(crate) peer: SocketAddr,
    /// The batch request's head: its headers locate the client and may
    /// name the end user.
    pub(crate) parts: &'a Parts,
}

impl Batch<'_> {
    /// Decides one request of the batch, sent to `route` as `endpoint`,
    /// under its own decision id `id`; the decision is recorded before
    /// this returns.
    ///
    /// # Errors
    /// The request's refusal, as the batch's refusal names it.
    pub(crate) async fn decide(
        &self,
        endpoint: Endpoint,
        route: &str,
        mut inspected: Inspected,
        id: &str,
    ) -> Result<(Inspected, Decided), Refused> {
        inspected.features.insert(Feature::Batch);
        let ask = Ask {
            endpoint,
            route,
            peer: self.peer,
            parts: self.parts,
            inspected: &inspected,
            id,
            started: Instant::now(),
            source: Source::Gateway,
        };
        let principal = Arc::clone(self.principal);
        match proxy::decide_asked(self.gw, self.api, principal, &ask).await {
            Ok(decided) => Ok((inspected, decided)),
            Err(r) => Err(Refused::read(r).await),
        }
    }

    /// Whether `status` is the configured status of a legal refusal.
    pub(crate) fn legal(&self, status: StatusCode) -> bool {
        status == self.gw.loaded.config.refusal_status.code()
    }

    /// The refusal of the whole batch under decision id `id`: the legal
    /// status (451 or 403) when every request was refused under a
    /// directive, otherwise 400; `message` names the refused requests and
    /// `cordon` lists them.
    pub(crate) fn refuse_whole(
        &self,
        legal: bool,
        message: &str,
        cordon: Value,
        id: &str,
    ) -> Response<Body> {
        let (status, code) = if legal {
            (self.gw.loaded.config.refusal_status.code(), Code::Denied)
        } else {
            (StatusCode::BAD_REQUEST, Code::InvalidRequest)
        };
        let body = api_error::body(self.api, code, message, None, Some(cordon));
        let mut r = (status, axum::Json(body)).into_response();
        let h = r.headers_mut();
        set_header(h, DECISION_ID, id);
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert("x-should-retry", HeaderValue::from_static("false"));
        r
    }
}

/// Why one request of a batch is refused.
pub(crate) struct Refused {
    /// The status its own refusal had.
    pub(crate) status: StatusCode,
    /// The decision's effect, when a decision refused it.
    pub(crate) effect: Option<String>,
    /// The directive that decided, if one.
    pub(crate) directive: Option<String>,
    /// Where its decision is in the audit log.
    pub(crate) audit_index: Option<u64>,
    /// What its refusal said.
    pub(crate) message: Option<String>,
}

impl Refused {
    /// A request refused for what it is, before any decision (a 400).
    pub(crate) fn invalid(message: String) -> Self {
        Refused {
            status: StatusCode::BAD_REQUEST,
            effect: None,
            directive: None,
            audit_index: None,
            message: Some(message),
        }
    }

    /// The refusal a request got, read from its response.
    async fn read(r: Response<Body>) -> Self {
        let (head, body) = r.into_parts();
        let header = |name: &str| {
            head.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let message = axum::body::to_bytes(body, MAX_REFUSAL_BYTES)
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_owned));
        Refused {
            status: head.status,
            effect: header("x-cordon-effect"),
            directive: header("x-cordon-directive"),
            audit_index: header(AUDIT_INDEX).and_then(|i| i.parse().ok()),
            message,
        }
    }

    /// The request's entry in the batch's refusal.
    pub(crate) fn json(&self, custom_id: &str, decision_id: &str) -> Value {
        json!({
            "custom_id": custom_id,
            "decision_id": decision_id,
            "status": self.status.as_u16(),
            "effect": self.effect,
            "directive": self.directive,
            "audit_index": self.audit_index,
            "message": self.message,
        })
    }
}
