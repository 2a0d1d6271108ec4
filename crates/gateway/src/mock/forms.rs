//! The mock's form endpoints: audio transcriptions and translations, image
//! edits and variations. Each reads the form as the gateway does and
//! records what it received (the fields' text and the files' names, never
//! their bytes) as the last body.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{MockState, ONE_PIXEL_PNG, REPLY};
use crate::multipart;

/// Reads a form and records it; returns the fields' text and the form, or
/// the 400 to send.
#[allow(clippy::result_large_err, reason = "the error is the response itself")]
pub(super) fn receive_form(
    state: &MockState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Map<String, Value>, multipart::Form), Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let form = multipart::parse(content_type, body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"error": {"message": e.to_string(), "type": "invalid_request_error"}}),
            ),
        )
            .into_response()
    })?;
    let mut fields = Map::new();
    let mut files = Vec::new();
    for p in &form.parts {
        if let Some(name) = &p.filename {
            files.push(json!({"field": p.name, "filename": name, "bytes": p.value.len()}));
        } else {
            let text = body
                .get(p.value.clone())
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            fields.insert(p.name.clone(), Value::String(text.into_owned()));
        }
    }
    state.requests.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut last) = state.last_body.lock() {
        let mut seen = fields.clone();
        seen.insert("files".into(), Value::Array(files));
        *last = Some(Value::Object(seen));
    }
    Ok((fields, form))
}

/// A transcription or a translation: the mock's sentence as the text, in
/// the `response_format` asked for (`json` by default, or `text`).
pub(super) async fn audio(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match receive_form(&state, &headers, &body) {
        Ok((f, _)) => f,
        Err(r) => return r,
    };
    match fields.get("response_format").and_then(Value::as_str) {
        Some("text") => REPLY.into_response(),
        _ => axum::Json(json!({"text": REPLY})).into_response(),
    }
}

/// An image edit or variation: a one-pixel PNG.
pub(super) async fn image(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = receive_form(&state, &headers, &body) {
        return r;
    }
    axum::Json(json!({"created": 1_764_201_600, "data": [{"b64_json": ONE_PIXEL_PNG}]}))
        .into_response()
}
