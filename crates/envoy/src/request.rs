//! From Envoy's `CheckRequest` to the original HTTP request the gateway
//! decides on: the same method, path, headers and body the HTTP `ext_authz`
//! endpoint receives.
//!
//! A `CheckRequest` is untrusted input (anyone who reaches the listener can
//! send one), so every field is checked and nothing here panics; the fuzz
//! target `check_request` holds it to that.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use bytes::Bytes;
use envoy_types::ext_authz::v3::pb::CheckRequest;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::HttpRequest;

/// The header Envoy adds when it sends a request body: `true` when it cut
/// the body at `max_request_bytes`, `false` when the body is whole.
pub const PARTIAL_BODY: &str = "x-envoy-auth-partial-body";

/// The original request a `CheckRequest` describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// The request method.
    pub method: Method,
    /// The request target as the client sent it: the path and the query.
    pub path_and_query: String,
    /// The request headers, without HTTP/2 pseudo-headers (`:authority`,
    /// `:method`, `:path`, …).
    pub headers: HeaderMap,
    /// The request body, whole.
    pub body: Bytes,
}

/// Why a `CheckRequest` does not describe a request Cordon can decide on.
///
/// Each becomes a denied answer with a 400 (a 413 for a cut-off body) in
/// the error shape of the API the path names; none is ever an OK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// `attributes.request.http` is missing.
    #[error(
        "the check request describes no HTTP request (`attributes.request.http` is missing); Cordon authorises HTTP requests only"
    )]
    NoHttp,
    /// The method is empty or not an HTTP method.
    #[error("the original request's method `{0}` is not an HTTP method")]
    Method(String),
    /// The path is empty or does not start with `/`.
    #[error("the original request's path `{0}` does not start with `/`")]
    Path(String),
    /// A header name is not a valid HTTP header name.
    #[error("the original request's header name `{0}` is not a valid header name")]
    HeaderName(String),
    /// A header value holds bytes a header may not hold; the value itself is
    /// not repeated, since it may be a credential.
    #[error("the value of the original request's header `{0}` is not a valid header value")]
    HeaderValue(String),
    /// A `POST` came without a body.
    #[error(
        "the check request carries no request body: the request had none, or Envoy's ext_authz filter lacks `with_request_body` (Cordon decides on the body's model, tools and token cap)"
    )]
    NoBody,
    /// Envoy sent part of the body only.
    #[error(
        "Envoy sent the request body cut short (`{PARTIAL_BODY}: true`, or fewer bytes than the request's size): set `with_request_body.allow_partial_message: false` and `max_request_bytes` to at least Cordon's `limits.max_body_bytes`"
    )]
    PartialBody,
    /// `raw_body` is not UTF-8, so it cannot be JSON.
    #[error("the request body (`raw_body`) is not UTF-8, so it is not JSON")]
    NotUtf8,
}

impl MapError {
    /// Whether the answer is a 413 (the body was cut short) rather than a 400.
    pub fn cut_off(&self) -> bool {
        matches!(self, MapError::PartialBody)
    }
}

impl Original {
    /// The original request `check` describes.
    ///
    /// Headers come from `header_map` when Envoy sends raw headers
    /// (`encode_raw_headers: true`; repeated names stay separate values), else
    /// from `headers` (repeated names already merged by Envoy). The body is
    /// `raw_body` (`pack_as_bytes: true`) or `body`; a `POST` without either
    /// is refused rather than judged on an empty body, and so is a body that
    /// Envoy marked as cut short or that is shorter than the size Envoy gives.
    ///
    /// # Errors
    /// A [`MapError`] naming the field that does not describe a request.
    pub fn from_check(check: CheckRequest) -> Result<Original, MapError> {
        let http = check
            .attributes
            .and_then(|a| a.request)
            .and_then(|r| r.http)
            .ok_or(MapError::NoHttp)?;
        Self::from_http(http)
    }

    fn from_http(http: HttpRequest) -> Result<Original, MapError> {
        let method = Method::from_bytes(http.method.as_bytes())
            .map_err(|_| MapError::Method(http.method.clone()))?;
        if !http.path.starts_with('/') {
            return Err(MapError::Path(http.path));
        }
        let mut headers = HeaderMap::new();
        match http.header_map.filter(|m| !m.headers.is_empty()) {
            Some(raw) => {
                for h in raw.headers {
                    let value = if h.raw_value.is_empty() {
                        h.value.into_bytes()
                    } else {
                        h.raw_value
                    };
                    add(&mut headers, &h.key, &value)?;
                }
            }
            None => {
                for (name, value) in &http.headers {
                    add(&mut headers, name, value.as_bytes())?;
                }
            }
        }
        let body = if http.raw_body.is_empty() {
            Bytes::from(http.body.into_bytes())
        } else {
            if std::str::from_utf8(&http.raw_body).is_err() {
                return Err(MapError::NotUtf8);
            }
            Bytes::from(http.raw_body)
        };
        let marked = headers.get(PARTIAL_BODY).map(HeaderValue::as_bytes);
        if marked.is_some_and(|v| v.eq_ignore_ascii_case(b"true")) {
            return Err(MapError::PartialBody);
        }
        // `size` is the request's Content-Length, or -1 when it has none.
        if let Ok(size) = usize::try_from(http.size)
            && size > body.len()
        {
            return Err(MapError::PartialBody);
        }
        if method == Method::POST && body.is_empty() && marked.is_none() {
            return Err(MapError::NoBody);
        }
        Ok(Original {
            method,
            path_and_query: http.path,
            headers,
            body,
        })
    }
}

/// Adds one header, skipping HTTP/2 pseudo-headers (`:path` and the like),
/// which the method and path already carry.
fn add(headers: &mut HeaderMap, name: &str, value: &[u8]) -> Result<(), MapError> {
    if name.starts_with(':') {
        return Ok(());
    }
    let header =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| MapError::HeaderName(name.into()))?;
    let value = HeaderValue::from_bytes(value).map_err(|_| MapError::HeaderValue(name.into()))?;
    headers.append(header, value);
    Ok(())
}

#[cfg(test)]
mod tests;
