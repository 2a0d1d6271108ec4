//! Logging in with OpenID Connect: the link that starts a login, and the
//! callback the provider sends the browser back to ([`crate::oidc`]).
//!
//! The start is a plain link, not a form: the console's Content Security
//! Policy (`form-action 'self'`) would stop a form's redirect to the
//! provider. Starting a login changes nothing but this browser's pre-login
//! cookie; what binds the callback to the browser that started it is that
//! cookie, checked with `state`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::Console;
use crate::oidc::{self, LoginError, PENDING_COOKIE, pending};
use crate::session::{cookie, read_cookie, same_token};

/// `GET /console/oidc/login`: sends the browser to the provider.
pub async fn start(State(c): State<Arc<Console>>) -> Response {
    let Some(login) = c.oidc.clone() else {
        return not_configured();
    };
    let now = (c.clock)();
    let provider = login.provider.clone();
    let begun = tokio::task::spawn_blocking(move || oidc::begin(&provider, now)).await;
    let started = finished(begun).and_then(|(pending, url)| {
        // Not `Redirect::to`, which panics on a value that is no header:
        // the endpoint is the provider's to choose.
        let location = HeaderValue::from_str(&url).map_err(|_| {
            LoginError::Discovery(
                "its `authorization_endpoint` cannot be sent as a redirect".into(),
            )
        })?;
        Ok((login.pending.start(pending, now)?, location))
    });
    let (id, location) = match started {
        Ok(s) => s,
        Err(e) => return failure(&e),
    };
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    let lifetime = pending::LIFETIME.unsigned_abs();
    if let Ok(v) = cookie(PENDING_COOKIE, &id, Some(lifetime)).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// The callback's query: the authorization response
/// ([OIDC Core §3.1.2.5, §3.1.2.6](https://openid.net/specs/openid-connect-core-1_0.html#AuthResponse);
/// [RFC 9207](https://www.rfc-editor.org/rfc/rfc9207) `iss`).
#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// `GET /console/oidc/callback`: completes the login this browser started.
pub async fn callback(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    query: Result<Query<Callback>, QueryRejection>,
) -> Response {
    let Some(login) = c.oidc.clone() else {
        return not_configured();
    };
    let cookies = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let query = query.map(|Query(q)| q).map_err(|e| e.body_text());
    let identity = match identify(&c, &login, cookies, query).await {
        Ok(i) => i,
        Err(e) => return forget_pending(failure(&e)),
    };
    tracing::info!(
        user = %identity.user,
        shown = %identity.display,
        role = identity.role.as_str(),
        "console login with OpenID Connect"
    );
    forget_pending(super::login::open_session(
        &c,
        cookies,
        &identity.user,
        &identity.display,
        identity.role,
    ))
}

async fn identify(
    c: &Console,
    login: &oidc::Oidc,
    cookies: &str,
    query: Result<Callback, String>,
) -> Result<oidc::Identity, LoginError> {
    let id = read_cookie(cookies, PENDING_COOKIE)
        .filter(|id| !id.is_empty())
        .ok_or(LoginError::NoPendingCookie)?;
    // Taken before anything else is checked: a login is called back once.
    let pending = login
        .pending
        .take(id, (c.clock)())
        .ok_or(LoginError::NoPendingLogin)?;
    let q = query.map_err(LoginError::BadCallback)?;
    match q.state.as_deref() {
        Some(s) if same_token(s, &pending.state) => {}
        _ => return Err(LoginError::StateMismatch),
    }
    if let Some(iss) = q.iss
        && iss != login.provider.issuer
    {
        return Err(LoginError::WrongCallbackIssuer {
            found: iss,
            expected: login.provider.issuer.clone(),
        });
    }
    if let Some(error) = q.error {
        return Err(LoginError::Refused {
            error,
            description: q.error_description,
        });
    }
    let code = q.code.filter(|c| !c.is_empty()).ok_or(LoginError::NoCode)?;
    let provider = login.provider.clone();
    let clock = Arc::clone(&c.clock);
    finished(
        tokio::task::spawn_blocking(move || oidc::complete(&provider, &pending, &code, || clock()))
            .await,
    )
}

fn finished<T>(
    joined: Result<Result<T, LoginError>, tokio::task::JoinError>,
) -> Result<T, LoginError> {
    joined.map_err(|e| LoginError::Task(e.to_string()))?
}

/// The page for a login that failed, naming what was wrong; logged, and
/// no session opened.
fn failure(e: &LoginError) -> Response {
    let (status, title) = match e {
        LoginError::NoPendingCookie
        | LoginError::NoPendingLogin
        | LoginError::StateMismatch
        | LoginError::NoCode
        | LoginError::BadCallback(_)
        | LoginError::WrongCallbackIssuer { .. } => (StatusCode::BAD_REQUEST, "Login failed"),
        LoginError::Refused { .. }
        | LoginError::TokenRefused { .. }
        | LoginError::IdToken(_)
        | LoginError::Nonce
        | LoginError::AuthorizedParty(_) => (StatusCode::UNAUTHORIZED, "Login failed"),
        LoginError::NoRole(_) => (StatusCode::FORBIDDEN, "No console role"),
        LoginError::Url { .. }
        | LoginError::Unreachable { .. }
        | LoginError::Status { .. }
        | LoginError::Discovery(_)
        | LoginError::TokenResponse(_)
        | LoginError::Jwks(_) => (StatusCode::BAD_GATEWAY, "Login failed"),
        LoginError::Random(_) | LoginError::Task(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Login failed")
        }
    };
    tracing::warn!(error = %e, "console login with OpenID Connect refused");
    let message = format!("Logging in with OpenID Connect failed: {e}.");
    (status, super::bare(title, &message)).into_response()
}

fn not_configured() -> Response {
    (
        StatusCode::NOT_FOUND,
        super::bare(
            "Not configured",
            "Logging in with OpenID Connect is not configured for this console.",
        ),
    )
        .into_response()
}

/// Clears the pre-login cookie: its login has been used, whatever came of it.
fn forget_pending(mut r: Response) -> Response {
    if let Ok(v) = cookie(PENDING_COOKIE, "", Some(Duration::ZERO)).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
