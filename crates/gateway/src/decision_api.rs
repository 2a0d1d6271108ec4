//! `POST /v1/decide`: the decision API for other gateways and tools.
//!
//! Input: an API key (to decide for that account) or a subject record, the
//! model, and the context (IP or country/region, endpoint, features, time).
//! Output: the full explanation. Requires the configured `decision_token`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use constant_time::eq;
use cordon_audit::leaf::{Mode, Source};
use cordon_geo::IpLocation;
use cordon_jurisdiction::{CountryCode, RegionCode};
use cordon_policy::{Decision, Detail, Endpoint, Explanation, Feature, ToolType};
use cordon_subject::SubjectRecord;
use serde::Deserialize;
use serde_json::Value;

use crate::api_error::{self, Api, Code};
use crate::audit::{self, DecisionContext};
use crate::decide::{self, Origin};
use crate::proxy;
use crate::state::Gateway;

pub(crate) mod constant_time {
    /// Compares two byte strings in time independent of where they differ.
    pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideRequest {
    model: String,
    #[serde(default)]
    ip: Option<IpAddr>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    tool_types: Vec<String>,
    #[serde(default)]
    max_tokens: Option<u32>,
    #[serde(default)]
    at: Option<jiff::Timestamp>,
}

/// An error in the OpenAI shape, which the tool APIs answer in.
pub(crate) fn bad(status: StatusCode, code: Code, msg: &str) -> Response {
    api_error::response(Api::OpenAi, status, code, msg)
}

/// Records a decision made for another service (the decision API, AuthZEN)
/// under a fresh decision id, before it is answered.
///
/// Returns the id and the log index to name in the response (`None` when
/// nothing was recorded: no explanation, or no log).
///
/// # Errors
/// The refusal to send instead when the log cannot take the decision.
pub(crate) async fn record(
    gw: &Gateway,
    decision: &Decision,
    explanation: Option<&Explanation>,
    request: &cordon_policy::Request,
    account: Option<&str>,
) -> Result<(String, Option<u64>), Box<Response>> {
    let id = proxy::decision_id();
    let Some(explanation) = explanation else {
        return Ok((id, None));
    };
    let ctx = DecisionContext {
        id: &id,
        account,
        end_user: None,
        mode: Mode::Enforced,
        source: Source::DecisionApi,
    };
    match audit::record_decision(gw.audit().as_ref(), decision, explanation, request, &ctx).await {
        Ok(index) => Ok((id, index)),
        Err(e) => Err(Box::new(audit::unavailable(Api::OpenAi, &e, &id))),
    }
}

/// Whether the request carries the configured decision token.
pub fn authorized(gw: &Gateway, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(token) = gw.loaded.config.decision_token.as_deref() else {
        return Err(Box::new(bad(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "the decision API is disabled (set `decision_token`)",
        )));
    };
    match proxy::presented_key(headers) {
        Some(k) if eq(k.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(Box::new(bad(
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "the decision API needs `Authorization: Bearer <decision_token>`",
        ))),
    }
}

/// Reads a request body of at most `limits.max_body_bytes`, after the
/// caller was authorised: a declared `Content-Length` over the limit is a
/// 413 before anything is read, and so is a body that turns out longer.
///
/// # Errors
/// The 413 response, in the OpenAI error shape.
pub(crate) async fn read_authorized_body(
    gw: &Gateway,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Bytes, Box<Response>> {
    let limit = gw.loaded.config.limits.max_body_bytes;
    let too_large = || {
        Box::new(bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTooLarge,
            &format!("the request body is larger than {limit} bytes"),
        ))
    };
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let patience = std::time::Duration::from_secs(gw.loaded.config.limits.body_read_timeout_secs);
    match tokio::time::timeout(patience, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|_| too_large()),
        Err(_) => Err(Box::new(bad(
            StatusCode::REQUEST_TIMEOUT,
            Code::RequestTimeout,
            &format!(
                "the request body did not arrive within {} s",
                patience.as_secs()
            ),
        ))),
    }
}

/// The `Content-Length` a request declares, if it declares one that parses.
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Builds the engine's request from a decision-API input object (`model`, `ip` or
/// `country`/`region`, `endpoint`, `features`, `tool_types`, `max_tokens`, `at`).
///
/// Without `ip`, `country` or `region` the location is unknown: the caller of a
/// decision API is another gateway, whose own address says nothing of the user.
///
/// # Errors
/// A message naming the bad field.
pub(crate) fn request_from(gw: &Gateway, input: &Value) -> Result<cordon_policy::Request, String> {
    let req: DecideRequest = serde_json::from_value(input.clone())
        .map_err(|e| format!("invalid decision request: {e}"))?;
    let origin = if let Some(ip) = req.ip {
        decide::locate(gw, SocketAddr::new(ip, 0), &HeaderMap::new())
    } else {
        let country = req
            .country
            .as_deref()
            .map(CountryCode::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        let region = req
            .region
            .as_deref()
            .map(RegionCode::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        if let Some(c) = country.filter(|c| !gw.jurisdictions.is_country(*c)) {
            return Err(format!(
                "`country`: `{c}` is not an assigned ISO 3166-1 code"
            ));
        }
        if let Some(r) = region.filter(|r| !gw.jurisdictions.is_region(*r)) {
            return Err(format!("`region`: `{r}` is not a known ISO 3166-2 code"));
        }
        Origin {
            ip: None,
            location: IpLocation {
                country: country.or(region.map(|r| r.country())),
                region,
                ..IpLocation::default()
            },
        }
    };
    let endpoint = match req.endpoint.as_deref() {
        None => Endpoint::Chat,
        Some(e) => Endpoint::parse(e).ok_or_else(|| {
            format!(
                "unknown endpoint `{e}` (expected one of: {})",
                Endpoint::names()
            )
        })?,
    };
    let compiled = gw.compiled();
    let model = decide::resolve(&compiled, &req.model);
    let mut request = decide::request(gw, model, endpoint, None, &origin);
    for f in &req.features {
        request.features.insert(Feature::parse(f).ok_or_else(|| {
            format!(
                "unknown feature `{f}` (expected one of: {})",
                Feature::names()
            )
        })?);
    }
    for t in &req.tool_types {
        request.tool_types.insert(ToolType::parse(t).ok_or_else(|| {
            format!(
                "unknown tool type `{t}` (expected one of: {})",
                ToolType::names()
            )
        })?);
    }
    request.max_tokens = req.max_tokens;
    if let Some(at) = req.at {
        request.at = at;
    }
    Ok(request)
}

pub(crate) async fn decide(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Err(r) = authorized(&gw, &headers) {
        return *r;
    }
    let body = match read_authorized_body(&gw, &headers, body).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let mut input: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return bad(
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &format!("invalid decision request: {e}"),
            );
        }
    };
    let api_key = input
        .get("api_key")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let subject_json = input.get("subject").cloned();
    if let Some(obj) = input.as_object_mut() {
        obj.remove("api_key");
        obj.remove("subject");
    }
    let (subject, account) = match (api_key, subject_json) {
        (Some(k), None) => match gw.authenticate(&k).await {
            Ok(Some(p)) => (p.subject.clone(), Some(p.account.clone())),
            Ok(None) => {
                return bad(
                    StatusCode::UNAUTHORIZED,
                    Code::InvalidApiKey,
                    "`api_key` is invalid or revoked",
                );
            }
            Err(_) => {
                return bad(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Code::Unavailable,
                    "the identity store is unavailable",
                );
            }
        },
        (None, Some(s)) => match SubjectRecord::from_value(s).into_subject(gw.jurisdictions) {
            Ok(s) => (s, None),
            Err(e) => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidRequest,
                    &e.to_string(),
                );
            }
        },
        _ => {
            return bad(
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                "give exactly one of `api_key` and `subject`",
            );
        }
    };
    let request = match request_from(&gw, &input) {
        Ok(r) => r,
        Err(msg) => return bad(StatusCode::BAD_REQUEST, Code::InvalidRequest, &msg),
    };
    let model = input
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let compiled = gw.compiled();
    let (decision, explanation) =
        decide::decide(&compiled, &subject, &request, &model, true, Detail::Full);
    gw.metrics.decision(
        decision.effect.as_str(),
        explanation.as_ref().and_then(|e| e.decided_by.as_deref()),
        &model,
    );
    let (id, index) = match record(
        &gw,
        &decision,
        explanation.as_ref(),
        &request,
        account.as_deref(),
    )
    .await
    {
        Ok(recorded) => recorded,
        Err(r) => return *r,
    };
    let mut body = serde_json::to_value(&explanation).unwrap_or(Value::Null);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("decision_id".into(), Value::String(id.clone()));
    }
    let mut r = axum::Json(body).into_response();
    proxy::set_header(r.headers_mut(), proxy::DECISION_ID, &id);
    audit::set_index(r.headers_mut(), index);
    r
}
