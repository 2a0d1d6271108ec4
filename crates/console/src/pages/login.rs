//! Logging in and out.
//!
//! The login form's CSRF token is sent twice: in a `__Host-` cookie and in
//! the form, which must match, so a form another site sends (it cannot read
//! or set the cookie) is refused. A successful login opens a new session
//! under a new id and ends any the browser had: an id planted before login
//! is never promoted.

use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, html};
use serde::Deserialize;

use crate::Console;
use crate::session::{LOGIN_COOKIE, SESSION_COOKIE, cookie, read_cookie, same_token, token};

/// `GET /console/login`.
pub async fn form(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if super::session(&c, &headers).is_some() {
        return Redirect::to("/console/overview").into_response();
    }
    page(&c, StatusCode::OK, None)
}

fn page(c: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let csrf = match token() {
        Ok(t) => t,
        Err(e) => return super::failed("a token", &e),
    };
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            (super::head("Log in"))
            body {
                (super::skip_link())
                main id="main" {
                    h1 { "Cordon console" }
                    @if let Some(e) = error {
                        p class="error" role="alert" { (e) }
                    }
                    form class="login" method="post" action="/console/login" {
                        input type="hidden" name="csrf" value=(csrf);
                        label { "User name" input name="username" autocomplete="username" required; }
                        label { "Password" input name="password" type="password" autocomplete="current-password" required; }
                        button type="submit" { "Log in" }
                    }
                    @if let Some(o) = &c.oidc {
                        // A link, not a form: see `pages::oidc`.
                        p class="sso" {
                            a class="button" href="/console/oidc/login" { "Log in with " (o.provider.name) }
                        }
                    }
                }
            }
        }
    };
    (
        status,
        [(
            header::SET_COOKIE,
            cookie(LOGIN_COOKIE, &csrf, Some(Duration::from_secs(3600))),
        )],
        Html(body.into_string()),
    )
        .into_response()
}

/// The login form as posted.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /console/login`.
pub async fn submit(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let cookies = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let expected = read_cookie(cookies, LOGIN_COOKIE);
    match (expected, f.csrf.as_deref()) {
        (Some(a), Some(b)) if same_token(a, b) => {}
        _ => {
            return crate::security::refuse(
                "the login form's token is missing or does not match: open the login page and try again",
            );
        }
    }
    let users = c.users.clone();
    let (name, password) = (f.username.clone(), f.password);
    let checked = tokio::task::spawn_blocking(move || users.check(&name, &password)).await;
    let user = match checked {
        Ok(Ok(Some(u))) => u,
        Ok(Ok(None)) => {
            tracing::info!(user = %f.username, "console login refused");
            return page(
                &c,
                StatusCode::UNAUTHORIZED,
                Some("Wrong user name or password."),
            );
        }
        Ok(Err(e)) => return super::failed("the users file", &e),
        Err(e) => return super::failed("the users file", &e),
    };
    tracing::info!(user = %user.name, role = user.role.as_str(), "console login");
    let mut r = open_session(&c, cookies, &user.name, &user.name, user.role);
    if let Ok(v) = cookie(LOGIN_COOKIE, "", Some(Duration::ZERO)).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// Opens a session for `user` (shown as `display`) under a new id, ends
/// the one the browser brought in `cookies`, and sends it to the overview.
pub(crate) fn open_session(
    c: &Console,
    cookies: &str,
    user: &str,
    display: &str,
    role: crate::Role,
) -> Response {
    // Whatever session the browser brought ends here: an id planted before
    // login is never promoted.
    if let Some(old) = read_cookie(cookies, SESSION_COOKIE) {
        c.sessions.close(old);
    }
    let (id, _) = match c.sessions.open_shown(user, display, role) {
        Ok(s) => s,
        Err(e) => return super::failed("a session", &e),
    };
    let mut r = Redirect::to("/console/overview").into_response();
    if let Ok(v) = cookie(SESSION_COOKIE, &id, None).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenOnly {
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /console/logout`.
pub async fn logout(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<TokenOnly>,
) -> Response {
    if let Err(r) = super::checked(&c, &headers, f.csrf.as_deref()) {
        return *r;
    }
    if let Some((id, _)) = super::session(&c, &headers) {
        c.sessions.close(&id);
    }
    let mut r = Redirect::to("/console/login").into_response();
    if let Ok(v) = cookie(SESSION_COOKIE, "", Some(Duration::ZERO)).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
