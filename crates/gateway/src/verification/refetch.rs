//! Fetching a vendor's verification object before granting anything, when a
//! source says `refetch = true`: what a webhook claims is then only a
//! notice, and the facts come from the vendor's own API.
//!
//! One short-lived HTTP/1 connection per fetch, bounded in time and size.
//! The gateway speaks plain HTTP to other servers for now, so a refetch
//! reaches an `http://` base URL (a local mock, or a TLS-terminating
//! egress proxy) and refuses `https://` with a message saying so.

use std::time::Duration;

use axum::http::{Request, Uri, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

use cordon_verification::vendor::FetchRequest;

/// How long one fetch may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Performs `req` and returns the body of a 2xx answer.
///
/// # Errors
/// A message naming what failed: the URL, the connection, the status.
pub(crate) async fn fetch(req: &FetchRequest, max_body: usize) -> Result<Bytes, String> {
    tokio::time::timeout(TIMEOUT, fetch_inner(req, max_body))
        .await
        .map_err(|_| {
            format!(
                "fetching `{}` took longer than {} s",
                req.url,
                TIMEOUT.as_secs()
            )
        })?
}

async fn fetch_inner(req: &FetchRequest, max_body: usize) -> Result<Bytes, String> {
    if req.url.starts_with("https://") {
        return Err(format!(
            "`{}`: the gateway reaches other servers over plain HTTP only for now; point `api_base` at an HTTP egress proxy that adds TLS",
            req.url
        ));
    }
    let uri: Uri = req
        .url
        .parse()
        .map_err(|e| format!("`{}` is not a URL: {e}", req.url))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("`{}` names no host", req.url))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to `{host}:{port}`: {e}"))?;
    let (mut sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("`{host}:{port}`: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let mut builder = Request::builder()
        .method(req.method)
        .uri(path)
        .header(header::HOST, format!("{host}:{port}"))
        .header(header::ACCEPT, "application/json");
    for (name, value) in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let request = builder
        .body(Full::new(Bytes::new()))
        .map_err(|e| format!("cannot build the request to `{}`: {e}", req.url))?;
    let resp = sender
        .send_request(request)
        .await
        .map_err(|e| format!("`{}`: {e}", req.url))?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), max_body)
        .collect()
        .await
        .map_err(|e| format!("reading `{}`: {e}", req.url))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("`{}` answered {status}", req.url));
    }
    Ok(body)
}
