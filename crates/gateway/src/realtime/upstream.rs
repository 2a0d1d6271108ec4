//! Opening a WebSocket to the upstream: TCP (and TLS for `https://`), one
//! HTTP/1.1 upgrade request, and the upgraded connection once it answers 101.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Request, Response, StatusCode, Uri, header};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long opening the connection (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the upstream's WebSocket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The upstream URL does not make a WebSocket URL.
    #[error("bad upstream URL `{0}`")]
    BadUrl(String),
    /// TCP or TLS failed, or took too long.
    #[error("cannot connect to `{addr}`: {reason}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// What failed.
        reason: String,
    },
    /// The HTTP exchange failed.
    #[error("the upgrade request failed: {0}")]
    Http(#[from] hyper::Error),
}

/// The upstream's answer to the upgrade: 101 with the upgraded
/// connection, or any other response, to relay to the client as it is.
pub enum Answer {
    /// Switched: the headers of the 101 and the connection.
    Switched(HeaderMap, Upgraded),
    /// Refused by the upstream.
    Refused(Response<Incoming>),
}

/// Opens `path_and_query` on the upstream at `url` as a WebSocket, with
/// `headers` (the handshake's and the upstream's key). `tls` is the
/// upstream's configuration for an `https://` URL.
///
/// # Errors
/// [`OpenError`] when no answer could be had.
pub async fn open(
    url: &str,
    path_and_query: &str,
    headers: HeaderMap,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Answer, OpenError> {
    let full = format!("{}{path_and_query}", url.trim_end_matches('/'));
    let uri: Uri = full.parse().map_err(|_| OpenError::BadUrl(full.clone()))?;
    let host = uri
        .host()
        .ok_or_else(|| OpenError::BadUrl(full.clone()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(OpenError::BadUrl(full)),
    };
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addr = format!("{host}:{port}");
    let connect_error = |reason: String| OpenError::Connect {
        addr: addr.clone(),
        reason,
    };
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| connect_error("timed out".into()))?
        .map_err(|e| connect_error(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let target = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let host_header = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let mut req = Request::builder()
        .method("GET")
        .uri(target)
        .header(header::HOST, host_header)
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|_| OpenError::BadUrl(full.clone()))?;
    req.headers_mut().extend(headers);
    if https {
        let config = tls.ok_or_else(|| connect_error("no TLS configuration".into()))?;
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| connect_error(e.to_string()))?;
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio_rustls::TlsConnector::from(config).connect(name, tcp),
        )
        .await
        .map_err(|_| connect_error("TLS handshake timed out".into()))?
        .map_err(|e| connect_error(format!("TLS: {e}")))?;
        exchange(TokioIo::new(stream), req).await
    } else {
        exchange(TokioIo::new(tcp), req).await
    }
}

async fn exchange<T>(io: TokioIo<T>, req: Request<Empty<bytes::Bytes>>) -> Result<Answer, OpenError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        // Ends when the connection is upgraded or closed.
        let _ = conn.with_upgrades().await;
    });
    let mut resp = sender.send_request(req).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        return Ok(Answer::Refused(resp));
    }
    let headers = std::mem::take(resp.headers_mut());
    let upgraded = hyper::upgrade::on(resp).await?;
    Ok(Answer::Switched(headers, upgraded))
}
