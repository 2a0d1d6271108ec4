//! The pages, one module each, and what they share: the layout, the
//! session a request belongs to, and the form checks.

pub mod accounts;
pub mod audit;
pub mod audit_verify;
mod checkpoints;
pub mod directives;
pub mod login;
pub mod oidc;
pub mod overview;
pub mod screening;
pub mod simulation;
pub mod what_if;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};

use crate::Console;
use crate::session::{SESSION_COOKIE, Session, read_cookie, same_token};

/// The console's stylesheet, compiled in.
const STYLESHEET: &str = include_str!("../static/console.css");

/// The console's icon, compiled in: without one a browser asks for
/// `/favicon.ico`, outside the console.
const FAVICON: &str = include_str!("../static/favicon.svg");

/// `GET /console/static/favicon.svg`.
pub async fn favicon() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON).into_response()
}

/// `GET /console/static/console.css`.
pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// `GET /console`: the overview when logged in, else the login form itself
/// (not a redirect), so the console's address is its login page.
pub async fn root(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    match session(&c, &headers) {
        Some(_) => Redirect::to("/console/overview").into_response(),
        None => login::form(State(c), headers).await,
    }
}

/// The session the request's cookie names, if it is live.
pub(crate) fn session(c: &Console, headers: &HeaderMap) -> Option<(String, Session)> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let id = read_cookie(cookies, SESSION_COOKIE)?;
    c.sessions.get(id).map(|s| (id.to_owned(), s))
}

/// The answer to a request that may not go on, boxed: it is answered at
/// once, never held.
pub(crate) type Refusal = Box<Response>;

/// The session, or the response that sends the browser to log in.
pub(crate) fn logged_in(c: &Console, headers: &HeaderMap) -> Result<Session, Refusal> {
    session(c, headers)
        .map(|(_, s)| s)
        .ok_or_else(|| Box::new(Redirect::to("/console/login").into_response()))
}

/// The session of a state change: live, and the form's CSRF token its own.
pub(crate) fn checked(
    c: &Console,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<Session, Refusal> {
    let Some((_, s)) = session(c, headers) else {
        return Err(Box::new(crate::security::refuse(
            "you are not logged in (or your session ended): log in again",
        )));
    };
    match csrf {
        Some(token) if same_token(token, &s.csrf) => Ok(s),
        _ => Err(Box::new(crate::security::refuse(
            "the form's token is missing or stale: reload the page and send it again",
        ))),
    }
}

/// A page with the console's navigation for the logged-in `s`.
pub(crate) fn layout(s: &Session, title: &str, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    (skip_link())
                    header {
                        nav aria-label="Console" {
                            a href="/console/overview" { "Overview" }
                            a href="/console/directives" { "Directives" }
                            @if s.role.may_see_accounts() {
                                a href="/console/accounts" { "Accounts" }
                                a href="/console/screening" { "Screening" }
                            }
                            a href="/console/audit" { "Audit" }
                        }
                        form method="post" action="/console/logout" class="who" {
                            span { (s.display) " (" (s.role.as_str()) ")" }
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { "Log out" }
                        }
                    }
                    main id="main" {
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
        .into_string(),
    )
}

/// The first thing on every page, and its first stop for the keyboard: a
/// link past the navigation to the page's `main` (WCAG 2.4.1), shown when
/// it has focus.
pub(crate) fn skip_link() -> Markup {
    html! { a class="skip" href="#main" { "Skip to content" } }
}

/// Every page's `head`.
pub(crate) fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Cordon console" }
            link rel="stylesheet" href="/console/static/console.css";
            link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml";
        }
    }
}

/// A page without navigation: errors, and pages before login.
pub fn bare(title: &str, message: &str) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    (skip_link())
                    main id="main" {
                        h1 { (title) }
                        p { (message) }
                        p { a href="/console/login" { "To the login page" } }
                    }
                }
            }
        }
        .into_string(),
    )
}

/// A 500 page for a store that failed, naming no internals to the browser.
pub(crate) fn failed(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "the console could not read {what}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        bare(
            "Unavailable",
            &format!("The console could not read {what}; the server's log says why."),
        ),
    )
        .into_response()
}

/// A time as its RFC 3339 text, to the second.
pub(crate) fn when(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Second)
        .map_or_else(|_| t.to_string(), |r| r.to_string())
}
