//! `POST /v1/verification/assertions`: identity assertions from configured
//! issuers, checked with the issuer's keys ([`super::keys`]) and recorded
//! like any other verification event.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cordon_verification::intake;
use serde_json::Value;

use super::keys::Refused;
use super::{finish, queue};
use crate::api_error::Code;
use crate::decision_api::bad;
use crate::state::Gateway;

/// The `iss` a token claims, read without checking anything: only to pick
/// the configured issuer whose keys then check it.
fn claimed_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

/// `POST /v1/verification/assertions`: an identity assertion (a signed ID
/// token or userinfo JWT with `verified_claims`) from a configured issuer,
/// as the body (`application/jwt`) or as `{"assertion": "…"}`.
///
/// 200 when its facts were recorded (or it repeats one already taken: by
/// `jti`, else by the token's hash), 202 for an unknown account, 401 when
/// the token does not check (signature, key, `iss`, `aud`, times), 400 when
/// its `verified_claims` cannot be used (journaled), 503 when the issuer's
/// keys are not available (never fetched, or too long unrefreshed).
pub(crate) async fn assertion(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    use cordon_verification::oidc::AssertionError;
    let route = "/v1/verification/assertions";
    let Ok(body) = axum::body::to_bytes(body, intake::MAX_BODY).await else {
        gw.metrics.response(route, 413);
        return bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTooLarge,
            "the body is too large",
        );
    };
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let token = if is_json {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("assertion")?.as_str().map(str::to_owned))
    } else {
        std::str::from_utf8(&body).ok().map(|t| t.trim().to_owned())
    };
    let Some(token) = token else {
        gw.metrics.response(route, 400);
        return bad(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "send the token as the body (`application/jwt`) or as `{\"assertion\": \"…\"}`",
        );
    };
    let claimed = claimed_issuer(&token);
    let found = gw
        .loaded
        .issuers
        .iter()
        .zip(&gw.issuer_keys)
        .find(|(i, _)| Some(&i.issuer.issuer) == claimed.as_ref());
    let Some((issuer, keys)) = found else {
        gw.metrics.response(route, 401);
        return bad(
            StatusCode::UNAUTHORIZED,
            Code::InvalidSignature,
            &format!(
                "no configured issuer is `{}`",
                claimed.as_deref().unwrap_or("(no readable `iss`)")
            ),
        );
    };
    let checked = keys.verify(&gw, &issuer.issuer, &token).await;
    let assertion = match checked {
        Ok(a) => a,
        Err(Refused::Unavailable(reason)) => {
            gw.metrics.verification(&issuer.name, "keys_unavailable");
            gw.metrics.response(route, 503);
            return bad(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                &format!(
                    "the keys of issuer `{}` are not available, so its assertions cannot be checked: {reason}; send the assertion again later",
                    issuer.issuer.issuer
                ),
            );
        }
        Err(Refused::Token(e @ (AssertionError::Token(_) | AssertionError::Claims(_)))) => {
            gw.metrics.verification(&issuer.name, "bad_token");
            gw.metrics.response(route, 401);
            return bad(
                StatusCode::UNAUTHORIZED,
                Code::InvalidSignature,
                &e.to_string(),
            );
        }
        Err(Refused::Token(e)) => {
            let reason = e.to_string();
            let store = Arc::clone(&gw.store);
            let name = issuer.name.clone();
            let sha = intake::sha256_hex(token.as_bytes());
            let why = reason.clone();
            let _ = tokio::task::spawn_blocking(move || {
                store.record_rejection(&name, None, &sha, &why)
            })
            .await;
            gw.metrics.verification(&issuer.name, "bad_claims");
            gw.metrics.response(route, 400);
            return bad(StatusCode::BAD_REQUEST, Code::InvalidRequest, &reason);
        }
    };
    let account = assertion.event.account.clone();
    let recorded = gw
        .intake
        .record(queue::Pending {
            source: issuer.name.clone(),
            kind: cordon_verification::SourceKind::Oidc,
            delivery_id: Some(
                assertion
                    .jti
                    .clone()
                    .unwrap_or_else(|| assertion.token_sha256.clone()),
            ),
            payload_sha256: assertion.token_sha256,
            event: assertion.event,
        })
        .await
        .map(|i| (i, account));
    finish(&gw, &issuer.name, route, recorded)
}
