//! `POST /v1/screen`: restricted-party screening of one name.
//!
//! Input `{"name", "type"?: "person"|"org", "country"?, "birth_year"?,
//! "threshold"?, "limit"?}`; output `{"query", "snapshot", "threshold", "hits"}`
//! with the same hit shape as `cordon screen --format json`. Requires the
//! configured `decision_token`: it is a compliance tool, not a customer API.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cordon_jurisdiction::CountryCode;
use cordon_screening::screener::{DEFAULT_LIMIT, DEFAULT_THRESHOLD, PartyKind, Query};
use serde::Deserialize;

use crate::api_error::Code;
use crate::decision_api::{authorized, bad};
use crate::state::Gateway;

/// Longest name accepted, in bytes; list names are far shorter.
const MAX_NAME_BYTES: usize = 1024;
/// Most hits a caller may ask for.
const MAX_LIMIT: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScreenRequest {
    name: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    birth_year: Option<u16>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    limit: Option<usize>,
}

/// Handles `POST /v1/screen`.
pub async fn screen(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Err(r) = authorized(&gw, &headers) {
        return *r;
    }
    let body = match crate::decision_api::read_authorized_body(&gw, &headers, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let req: ScreenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return bad(
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &format!("invalid screening request: {e}"),
            );
        }
    };
    let invalid = |m: String| bad(StatusCode::BAD_REQUEST, Code::InvalidRequest, &m);
    if req.name.len() > MAX_NAME_BYTES {
        return invalid(format!("`name` is longer than {MAX_NAME_BYTES} bytes"));
    }
    let kind = match req.kind.as_deref() {
        None => None,
        Some(k) => match PartyKind::parse(k) {
            Some(k) => Some(k),
            None => return invalid(format!("`type`: `{k}` is neither `person` nor `org`")),
        },
    };
    let country = match req.country.as_deref().map(CountryCode::parse).transpose() {
        Ok(c) => c,
        Err(e) => return invalid(format!("`country`: {e}")),
    };
    let threshold = req.threshold.unwrap_or(DEFAULT_THRESHOLD);
    if !(0.0..=1.0).contains(&threshold) {
        return invalid(format!("`threshold`: {threshold} is outside 0 to 1"));
    }
    let limit = req.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let Some(lists) = gw.screening() else {
        return bad(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            "no restricted-party lists are loaded: import them with `cordon lists import`",
        );
    };
    let query = Query {
        name: &req.name,
        kind,
        country,
        birth_year: req.birth_year,
        threshold,
        limit,
    };
    let hits = lists.screener.screen(&query);
    let views: Vec<_> = hits.iter().filter_map(|h| lists.screener.view(h)).collect();
    axum::Json(serde_json::json!({
        "query": req.name,
        "snapshot": lists.snapshot,
        "threshold": threshold,
        "hits": views,
    }))
    .into_response()
}
