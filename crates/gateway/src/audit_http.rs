//! The audit log over HTTP.
//!
//! For auditors, with `audit.read_token` as bearer token, the log in the
//! [C2SP tlog-tiles](https://c2sp.org/tlog-tiles) layout under `/audit/`:
//! `checkpoint`, `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`.
//! Tiles are immutable once served, so any tlog-tiles client can mirror and
//! verify the whole log. `POST /audit/checkpoint` has the writer sign and
//! store a checkpoint now, for a receipt no stored checkpoint covers yet.
//!
//! For customers, with their own API key, `GET /v1/audit/receipts/{index}`:
//! the [C2SP tlog-proof](https://c2sp.org/tlog-proof) receipt of one of
//! their own decisions, which `cordon audit check-proof` verifies offline.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cordon_audit::leaf::Record;
use cordon_audit::tile::{TilePath, parse_tile_path};
use cordon_audit_log::{OpenError, ReadError};

use crate::api_error::Code;
use crate::audit::{AuditTrail, ReceiptError};
use crate::decision_api::{bad, constant_time};
use crate::proxy;
use crate::state::Gateway;

/// Full and partial tiles never change once they exist (C2SP tlog-tiles).
const IMMUTABLE: HeaderValue = HeaderValue::from_static("private, max-age=31536000, immutable");

/// The trail, if the caller presents the read token.
fn auditor(gw: &Gateway, headers: &HeaderMap) -> Result<Arc<AuditTrail>, Box<Response>> {
    let disabled = || {
        Box::new(bad(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "the auditor endpoints are disabled (set `audit.read_token`)",
        ))
    };
    let trail = gw.audit().ok_or_else(disabled)?;
    let Some(token) = trail.read_token() else {
        return Err(disabled());
    };
    match proxy::presented_key(headers) {
        Some(k) if constant_time::eq(k.as_bytes(), token.as_bytes()) => Ok(trail),
        _ => {
            let mut r = bad(
                StatusCode::UNAUTHORIZED,
                Code::InvalidApiKey,
                "the auditor endpoints need `Authorization: Bearer <audit.read_token>`",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(Box::new(r))
        }
    }
}

fn unreadable(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "the audit log could not be read");
    bad(
        StatusCode::SERVICE_UNAVAILABLE,
        Code::Unavailable,
        "the audit log cannot be read right now",
    )
}

/// `GET /audit/checkpoint`: the latest signed checkpoint.
pub(crate) async fn checkpoint(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    let trail = match auditor(&gw, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let latest =
        tokio::task::spawn_blocking(move || trail.reader().map(|r| r.latest_checkpoint())).await;
    match latest {
        Ok(Ok(Some(text))) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            text,
        )
            .into_response(),
        Ok(Ok(None)) => bad(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "the log has no signed checkpoint yet",
        ),
        Ok(Err(e)) => unreadable(&e),
        Err(e) => unreadable(&e),
    }
}

/// `POST /audit/checkpoint`: has the log's writer sign and store a checkpoint
/// of the committed tree now (after committing what is queued) and returns
/// it; the stored one when the tree has not grown since.
///
/// For `cordon audit prove` while the gateway holds the log: only the writer
/// signs, and only what it has synced.
pub(crate) async fn sign_checkpoint(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
) -> Response {
    let trail = match auditor(&gw, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let signed = tokio::task::spawn_blocking(move || trail.log().checkpoint_now()).await;
    let failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "a checkpoint asked for by an auditor could not be signed and stored");
        bad(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            "the audit log cannot sign and store a checkpoint right now",
        )
    };
    match signed {
        Ok(Ok(text)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            text,
        )
            .into_response(),
        Ok(Err(e)) => failed(&e),
        Err(e) => failed(&e),
    }
}

/// `GET /audit/tile/…`: a hash tile or an entry bundle, exactly as
/// `LogReader` reads it; only tiles within the latest checkpoint are served.
pub(crate) async fn tile(
    State(gw): State<Arc<Gateway>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    let trail = match auditor(&gw, &headers) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let path = format!("tile/{rest}");
    let tile = match parse_tile_path(&path) {
        Ok(t) => t,
        Err(e) => return bad(StatusCode::NOT_FOUND, Code::NotFound, &e.to_string()),
    };
    let read = tokio::task::spawn_blocking(move || {
        let reader = trail.reader()?;
        Ok::<_, OpenError>(match tile {
            TilePath::Hash(id) => reader.hash_tile(id.level(), id.index(), id.width()),
            TilePath::Entries { index, width } => reader.entry_bundle(index, width),
        })
    })
    .await;
    match read {
        Ok(Ok(Ok(bytes))) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                ),
                (header::CACHE_CONTROL, IMMUTABLE),
            ],
            bytes,
        )
            .into_response(),
        Ok(Ok(Err(e @ (ReadError::BeyondCheckpoint { .. } | ReadError::BadTile(_))))) => {
            bad(StatusCode::NOT_FOUND, Code::NotFound, &e.to_string())
        }
        Ok(Ok(Err(e))) => unreadable(&e),
        Ok(Err(e)) => unreadable(&e),
        Err(e) => unreadable(&e),
    }
}

/// `GET /v1/audit/receipts/{index}`: the receipt of a decision on the
/// caller's own account.
pub(crate) async fn receipt(
    State(gw): State<Arc<Gateway>>,
    Path(index): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(key) = proxy::presented_key(&headers) else {
        return bad(
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "missing API key: send `Authorization: Bearer <key>` or `x-api-key`",
        );
    };
    let principal = match gw.authenticate(key).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return bad(
                StatusCode::UNAUTHORIZED,
                Code::InvalidApiKey,
                "invalid or revoked API key",
            );
        }
        Err(_) => {
            return bad(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "the gateway cannot verify API keys right now",
            );
        }
    };
    let Some(trail) = gw.audit() else {
        return bad(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            "this gateway keeps no audit log",
        );
    };
    let Ok(index) = index.parse::<u64>() else {
        return bad(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            &format!("`{index}` is not a log index (a decimal number)"),
        );
    };
    let not_yours = || {
        bad(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            &format!("log entry {index} is not a decision on your account"),
        )
    };
    match tokio::task::spawn_blocking(move || trail.receipt(index)).await {
        Ok(Ok(receipt)) => match &receipt.record {
            Record::Decision(d) if d.account.as_deref() == Some(principal.account.as_str()) => {
                let mut r = Response::new(Body::from(receipt.bundle.encode()));
                let h = r.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            }
            _ => not_yours(),
        },
        Ok(Err(ReceiptError::NotFound { .. })) => not_yours(),
        Ok(Err(e)) => unreadable(&e),
        Err(e) => unreadable(&e),
    }
}
