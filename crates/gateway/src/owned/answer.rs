//! An upstream's answer about kept objects, read whole: for the answers the
//! gateway must read before passing on (a list to filter, an object whose
//! id or fields it records or rewrites), which are small JSON objects.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header, response::Parts};
use bytes::Bytes;
use serde_json::Value;

use crate::api_error::{Api, Code};
use crate::proxy;
use crate::state::Gateway;

/// The most an answer read whole may be: the provider pages its lists.
const MAX_ANSWER_BYTES: usize = 16 << 20;

/// A successful upstream answer read whole: its head, its bytes and its
/// JSON.
pub(crate) struct Whole {
    /// The status and headers, the decision id among them.
    pub(crate) parts: Parts,
    /// The body as received.
    pub(crate) bytes: Bytes,
    /// The body as JSON.
    pub(crate) json: Value,
}

impl Whole {
    /// The answer as received.
    pub(crate) fn into_response(self) -> Response<Body> {
        Response::from_parts(self.parts, Body::from(self.bytes))
    }

    /// The answer with its JSON as changed since it was read.
    pub(crate) fn into_changed(self, api: Api, id: &str) -> Response<Body> {
        let Whole {
            mut parts, json, ..
        } = self;
        match serde_json::to_vec(&json) {
            Ok(body) => {
                parts.headers.remove(header::CONTENT_LENGTH);
                parts.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Response::from_parts(parts, Body::from(body))
            }
            Err(e) => bad_upstream(api, &format!("cannot be re-encoded: {e}"), id),
        }
    }
}

/// `r` read whole within [`MAX_ANSWER_BYTES`] and the upstream timeout.
///
/// # Errors
/// An answer that is not a success, as it is (the client reads the
/// provider's own error); or the 502 for one that is too large, late or
/// not JSON.
pub(crate) async fn read_whole(
    gw: &Gateway,
    api: Api,
    r: Response<Body>,
    id: &str,
) -> Result<Whole, Response<Body>> {
    if !r.status().is_success() {
        return Err(r);
    }
    let (parts, body) = r.into_parts();
    let patience = Duration::from_secs(gw.loaded.config.limits.upstream_timeout_secs);
    let read = tokio::time::timeout(patience, axum::body::to_bytes(body, MAX_ANSWER_BYTES)).await;
    let bytes = match read {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => {
            return Err(bad_upstream(
                api,
                &format!("is larger than {MAX_ANSWER_BYTES} bytes or was cut off"),
                id,
            ));
        }
        Err(_) => return Err(bad_upstream(api, "did not arrive in time", id)),
    };
    let json = serde_json::from_slice(&bytes).map_err(|_| bad_upstream(api, "is not JSON", id))?;
    Ok(Whole { parts, bytes, json })
}

/// The 502 for an upstream answer the gateway cannot read.
pub(crate) fn bad_upstream(api: Api, what: &str, id: &str) -> Response<Body> {
    proxy::error(
        api,
        StatusCode::BAD_GATEWAY,
        Code::UpstreamError,
        &format!("the upstream's answer {what}"),
        id,
    )
}
