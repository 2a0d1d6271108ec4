//! Requests the gateway makes to other servers: a vendor's API when a
//! verification is refetched, an identity provider's JWK Set, and (later)
//! the model upstreams.
//!
//! One [`Egress`] client per gateway: HTTP/1.1, or HTTP/2 when a TLS server
//! offers it by ALPN; connections pooled per host and reused; a connect
//! timeout, an overall timeout and a bound on the response body; TLS by
//! rustls on `ring` with SNI, trusting the Mozilla root programme's
//! certificate authorities as the `webpki-roots` crate compiles them in,
//! plus those of an optional PEM bundle (`egress.ca_bundle`,
//! docs/configuration.md). Plain `http://` is spoken too: tests, local
//! mocks and egress proxies use it.
//!
//! Roots compiled in rather than read from the system: the gateway trusts
//! the same authorities on every machine and in every container image
//! (distroless images have no `/etc/ssl`), the set is pinned by
//! `Cargo.lock` and changes only with a reviewed dependency update, and an
//! operator whose egress passes a TLS-inspecting proxy or reaches a
//! private CA names that CA in `egress.ca_bundle`.
//!
//! Every failure names the URL and what failed ([`FetchError`]).

pub mod cache_control;
mod error;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

use axum::http::{HeaderMap, Method, Request, Response, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::Deserialize;

pub use error::{EgressError, Failure, FetchError};
pub use tls::{ClientIdentity, client_tls, tls_config};

/// How long an idle pooled connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most idle connections kept per host.
const MAX_IDLE_PER_HOST: usize = 8;

/// The `[egress]` section of `cordon.toml`: how the gateway reaches other
/// servers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressConfig {
    /// A PEM file of CA certificates trusted besides the built-in roots
    /// (relative to the configuration file): a private CA, or the CA of a
    /// TLS-inspecting egress proxy.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// How long opening a connection (TCP, not TLS) may take, in seconds.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// How long a whole request may take, connection, TLS handshake and
    /// body included, in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_connect_timeout() -> u64 {
    5
}

fn default_timeout() -> u64 {
    10
}

impl Default for EgressConfig {
    fn default() -> Self {
        EgressConfig {
            ca_bundle: None,
            connect_timeout_secs: default_connect_timeout(),
            timeout_secs: default_timeout(),
        }
    }
}

impl EgressConfig {
    /// The first wrong value, as `(field, message)`; the CA bundle is read.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.connect_timeout_secs == 0 {
            return Some(("egress.connect_timeout_secs", "must be at least 1".into()));
        }
        if self.timeout_secs == 0 {
            return Some(("egress.timeout_secs", "must be at least 1".into()));
        }
        tls_config(self)
            .err()
            .map(|e| ("egress.ca_bundle", e.to_string()))
    }
}

/// An answer read whole.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Its status.
    pub status: StatusCode,
    /// Its header fields.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// The gateway's client for other servers (see the module docs).
#[derive(Clone)]
pub struct Egress {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    connect_timeout: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Egress {
    /// A client as `config` says.
    ///
    /// # Errors
    /// [`EgressError`] when the CA bundle cannot be read or used.
    pub fn new(config: &EgressConfig) -> Result<Egress, EgressError> {
        Ok(Egress::with_tls(config, tls_config(config)?))
    }

    /// A client with its own TLS configuration (an upstream's, from
    /// [`client_tls`]) and `config`'s timeouts.
    pub fn with_tls(config: &EgressConfig, tls: rustls::ClientConfig) -> Egress {
        let connect_timeout = Duration::from_secs(config.connect_timeout_secs.max(1));
        let mut http = HttpConnector::new();
        // The scheme is the TLS connector's to check: `https://` gets TLS.
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .pool_timer(TokioTimer::new())
            .build(https);
        Egress {
            client,
            connect_timeout,
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
        }
    }

    /// The overall timeout of [`Egress::fetch`].
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `req`, whose URI is an absolute `http://` or `https://` URL,
    /// and returns the answer once its head has arrived, within the overall
    /// timeout; its body streams, unbounded: the caller reads it.
    ///
    /// # Errors
    /// [`FetchError`]: the URL, and what failed (the connection, the TLS
    /// handshake and why, the timeout, the protocol).
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, FetchError> {
        let url = req.uri().to_string();
        let host = check_url(req.uri()).map_err(|f| FetchError::new(&url, f))?;
        match tokio::time::timeout(self.timeout, self.client.request(req)).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(FetchError::new(
                &url,
                error::classify(&e, &host, self.connect_timeout),
            )),
            Err(_) => Err(FetchError::new(&url, Failure::Timeout(self.timeout))),
        }
    }

    /// `method url` with `headers` and no body: the whole answer, read
    /// within the overall timeout, its body at most `max_body` bytes.
    /// Any status is an answer; the caller decides what a 404 means.
    ///
    /// # Errors
    /// [`FetchError`], as for [`Egress::send`], and
    /// [`Failure::TooLarge`] for a body over `max_body`.
    pub async fn fetch(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        max_body: usize,
    ) -> Result<Fetched, FetchError> {
        let uri: Uri = url.parse().map_err(|e: axum::http::uri::InvalidUri| {
            FetchError::new(url, Failure::BadUrl(e.to_string()))
        })?;
        let host = check_url(&uri).map_err(|f| FetchError::new(url, f))?;
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let req = builder
            .body(Full::new(Bytes::new()))
            .map_err(|e| FetchError::new(url, Failure::BadRequest(e.to_string())))?;
        let whole = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| error::classify(&e, &host, self.connect_timeout))?;
            let declared = resp
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|n| n > max_body as u64) {
                return Err(Failure::TooLarge { limit: max_body });
            }
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, max_body)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        Failure::TooLarge { limit: max_body }
                    } else {
                        Failure::Http(error::chain(&*e))
                    }
                })?
                .to_bytes();
            Ok(Fetched {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(self.timeout, whole).await {
            Ok(r) => r.map_err(|f| FetchError::new(url, f)),
            Err(_) => Err(FetchError::new(url, Failure::Timeout(self.timeout))),
        }
    }
}

/// The host of an absolute `http://` or `https://` URL.
fn check_url(uri: &Uri) -> Result<String, Failure> {
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(Failure::BadUrl(format!(
                "the scheme `{other}` is not http or https"
            )));
        }
        None => return Err(Failure::BadUrl("it is not an absolute URL".into())),
    }
    uri.host()
        .filter(|h| !h.is_empty())
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
        .ok_or_else(|| Failure::BadUrl("it names no host".into()))
}
