//! What every console response carries, and what every state change must.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The Content Security Policy of every page: nothing but the console's own
/// stylesheet and forms; no script at all, inline or not; never framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response, and refuses a state change
/// that a browser says comes from another site (`Sec-Fetch-Site`).
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = if request.method() != Method::GET
        && request.method() != Method::HEAD
        && !same_site(request.headers())
    {
        refuse("this form was sent from another site")
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    // A page that frames or is framed (a proposal and its impact report)
    // sets its own policy; every other page gets the strict one.
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    response
}

/// Whether the request is from the console's own pages, as far as the
/// browser says: no `Sec-Fetch-Site` (not a browser, or an old one; the
/// CSRF token still guards it), `same-origin`, or `none` (typed by the user).
fn same_site(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => matches!(site, "same-origin" | "none"),
    }
}

/// A 403 page saying why.
pub fn refuse(why: &str) -> Response {
    (StatusCode::FORBIDDEN, crate::pages::bare("Refused", why)).into_response()
}
