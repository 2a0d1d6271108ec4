//! Fetching a vendor's verification object before granting anything, when a
//! source says `refetch = true`: what a webhook claims is then only a
//! notice, and the facts come from the vendor's own API.
//!
//! Through the gateway's [`Egress`] client: `https://` to the vendor
//! (certificates checked against the built-in roots and
//! `egress.ca_bundle`), or `http://` to a local mock or an egress proxy;
//! bounded in time (`egress.timeout_secs`) and size.

use axum::http::{Method, header};
use bytes::Bytes;

use cordon_verification::vendor::FetchRequest;

use crate::egress::{Egress, Failure, FetchError};

/// Performs `req` and returns the body of a 2xx answer.
///
/// # Errors
/// A message naming the URL and what failed: the connection, the TLS
/// handshake (an unknown CA, a certificate for another name), the time,
/// the size, the status.
pub(crate) async fn fetch(
    egress: &Egress,
    req: &FetchRequest,
    max_body: usize,
) -> Result<Bytes, String> {
    let method = Method::from_bytes(req.method.as_bytes())
        .map_err(|e| format!("`{}`: the method `{}`: {e}", req.url, req.method))?;
    let mut headers: Vec<(&str, &str)> = vec![(header::ACCEPT.as_str(), "application/json")];
    headers.extend(req.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let got = egress
        .fetch(method, &req.url, &headers, max_body)
        .await
        .map_err(|e| e.to_string())?;
    if !got.status.is_success() {
        return Err(FetchError::new(&req.url, Failure::Status(got.status)).to_string());
    }
    Ok(got.body)
}
