//! The upstream HTTP/1 client: kept-alive connections pooled per thread.
//!
//! With one single-threaded runtime per core (see [`crate::PerCore`]), a
//! request, its upstream connection and that connection's task all run on one
//! thread. Checking a connection out and back in is then a `RefCell` borrow,
//! not a lock, and nothing is spawned per request: a connection goes back to
//! the pool when its response body has been read to the end, and a body
//! dropped before its end (a client that went away) closes its connection.

use std::cell::RefCell;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, Request, Response, Uri, header};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

/// Idle connections older than this are closed instead of reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening a TCP connection to an upstream may take: far less than
/// the upstream's time to answer, which a model may need minutes for.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an upstream request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The upstream URL does not parse as `http://host[:port][/path]`.
    #[error("{0}")]
    BadUrl(String),
    /// No connection could be opened.
    #[error("cannot connect to `{addr}`: {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The connection failed or the response was malformed.
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

type Sender = SendRequest<Full<Bytes>>;

/// The connections to one upstream URL, most recently used last.
struct Pool {
    url: Arc<str>,
    host: String,
    port: u16,
    host_header: HeaderValue,
    /// The URL's path without its trailing `/`; usually empty.
    prefix: String,
    idle: Vec<(Sender, Instant)>,
}

thread_local! {
    static POOLS: RefCell<Vec<Pool>> = const { RefCell::new(Vec::new()) };
}

impl Pool {
    fn new(url: &str, route: &str) -> Result<Pool, ClientError> {
        let full = format!("{}{}", url.trim_end_matches('/'), route);
        let uri = Uri::try_from(full.as_str()).map_err(|e| ClientError::BadUrl(e.to_string()))?;
        let bad = |what: &str| ClientError::BadUrl(format!("{what} in `{url}`"));
        if uri.scheme_str() != Some("http") {
            return Err(bad("not an http:// URL"));
        }
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        // The Host header names the port only when it is not the default.
        let host_header = match uri.port_u16() {
            Some(p) if p != 80 => format!("{host}:{p}"),
            _ => host.to_owned(),
        };
        // The route's query is not part of the URL's path.
        let route_path = route.split('?').next().unwrap_or(route);
        let prefix = uri
            .path()
            .strip_suffix(route_path)
            .unwrap_or("")
            .trim_end_matches('/')
            .to_owned();
        Ok(Pool {
            url: Arc::from(url),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: uri.port_u16().unwrap_or(80),
            host_header: HeaderValue::try_from(host_header)
                .map_err(|e| ClientError::BadUrl(e.to_string()))?,
            prefix,
            idle: Vec::new(),
        })
    }

    /// The most recently used open connection, dropping expired ones.
    fn checkout(&mut self) -> Option<Sender> {
        let now = Instant::now();
        if self
            .idle
            .first()
            .is_some_and(|(_, at)| now.duration_since(*at) > IDLE_TIMEOUT)
        {
            self.idle
                .retain(|(_, at)| now.duration_since(*at) <= IDLE_TIMEOUT);
        }
        while let Some((sender, _)) = self.idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }
}

/// Closes the idle connections of this thread's pools that were idle longer
/// than [`IDLE_TIMEOUT`] at `now`. Returns how many were closed.
///
/// Without this an idle connection would be closed only when the next
/// request to its upstream looks at the pool, which may be never: the
/// upstream (or a NAT in between) then drops it first, and descriptors stay
/// held meanwhile.
pub fn sweep_at(now: Instant) -> usize {
    POOLS
        .try_with(|pools| {
            let Ok(mut pools) = pools.try_borrow_mut() else {
                return 0;
            };
            let mut closed = 0;
            for p in pools.iter_mut() {
                let before = p.idle.len();
                p.idle.retain(|(sender, at)| {
                    now.saturating_duration_since(*at) <= IDLE_TIMEOUT && !sender.is_closed()
                });
                closed += before - p.idle.len();
            }
            closed
        })
        .unwrap_or(0)
}

/// Sweeps this thread's pools every second, on the current runtime (one
/// task per worker thread: the pools are per thread).
pub fn spawn_sweeper() {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            sweep_at(Instant::now());
        }
    });
}

/// The idle connections in this thread's pools.
#[cfg(test)]
fn idle_count() -> usize {
    POOLS.with(|pools| pools.borrow().iter().map(|p| p.idle.len()).sum())
}

/// What a request needs from its pool, copied out so no borrow is held
/// across an await.
struct Route {
    url: Arc<str>,
    host_header: HeaderValue,
    uri: Uri,
    pooled: Option<Sender>,
}

fn route(url: &str, path: &str) -> Result<Route, ClientError> {
    POOLS.with(|pools| {
        let mut pools = pools
            .try_borrow_mut()
            .map_err(|_| ClientError::BadUrl("the connection pool is busy".into()))?;
        let i = match pools.iter().position(|p| &*p.url == url) {
            Some(i) => i,
            None => {
                pools.push(Pool::new(url, path)?);
                pools.len() - 1
            }
        };
        let pool = pools
            .get_mut(i)
            .ok_or_else(|| ClientError::BadUrl("the connection pool is busy".into()))?;
        let uri = if pool.prefix.is_empty() {
            Uri::try_from(path).map_err(|e| ClientError::BadUrl(e.to_string()))?
        } else {
            Uri::try_from(format!("{}{path}", pool.prefix))
                .map_err(|e| ClientError::BadUrl(e.to_string()))?
        };
        Ok(Route {
            url: Arc::clone(&pool.url),
            host_header: pool.host_header.clone(),
            uri,
            pooled: pool.checkout(),
        })
    })
}

fn checkin(url: &Arc<str>, sender: Sender) {
    // During thread teardown the pool is gone; the connection just closes.
    let _ = POOLS.try_with(|pools| {
        if let Ok(mut pools) = pools.try_borrow_mut()
            && let Some(p) = pools.iter_mut().find(|p| *p.url == **url)
        {
            p.idle.push((sender, Instant::now()));
        }
    });
}

async fn connect(url: &str) -> Result<Sender, ClientError> {
    let (host, port) = POOLS
        .with(|pools| {
            let pools = pools.try_borrow().ok()?;
            let p = pools.iter().find(|p| &*p.url == url)?;
            Some((p.host.clone(), p.port))
        })
        .ok_or_else(|| ClientError::BadUrl(format!("no pool for `{url}`")))?;
    let addr = |source| ClientError::Connect {
        addr: format!("{host}:{port}"),
        source,
    };
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await
    .map_err(|_| {
        addr(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
        ))
    })?
    .map_err(addr)?;
    stream.set_nodelay(true).map_err(addr)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream connection closed");
        }
    });
    Ok(sender)
}

/// Sends `req` to `url` followed by `path`, on a pooled connection when one
/// is open.
///
/// The method and headers are the caller's; the URI and `Host` are set here.
/// A request that a reused connection closed before taking is sent again on
/// a new one, as it never reached the upstream.
///
/// # Errors
/// A [`ClientError`] for a bad URL, a failed connection or a failed exchange.
pub async fn send(
    url: &str,
    path: &str,
    mut req: Request<Full<Bytes>>,
) -> Result<Response<PooledBody>, ClientError> {
    let Route {
        url,
        host_header,
        uri,
        mut pooled,
    } = route(url, path)?;
    *req.uri_mut() = uri;
    req.headers_mut().insert(header::HOST, host_header);
    loop {
        let (mut sender, reused) = match pooled.take() {
            Some(mut s) => match s.ready().await {
                Ok(()) => (s, true),
                Err(_) => {
                    pooled = route(&url, path)?.pooled;
                    continue;
                }
            },
            None => (connect(&url).await?, false),
        };
        match sender.try_send_request(req).await {
            Ok(resp) => {
                let (parts, body) = resp.into_parts();
                let body = PooledBody {
                    inner: body,
                    conn: Some((sender, url)),
                };
                return Ok(Response::from_parts(parts, body));
            }
            Err(mut e) => match e.take_message() {
                Some(unsent) if reused => {
                    req = unsent;
                    pooled = route(&url, path)?.pooled;
                }
                _ => return Err(e.into_error().into()),
            },
        }
    }
}

/// An upstream response body that returns its connection to the pool once
/// read to the end.
pub struct PooledBody {
    inner: Incoming,
    conn: Option<(Sender, Arc<str>)>,
}

impl PooledBody {
    /// Returns the connection once the body has ended: a known length fully
    /// read, or a chunked body's last chunk (which `is_end_stream` cannot see).
    fn release_if_done(&mut self, ended: bool) {
        if (ended || self.inner.is_end_stream())
            && let Some((sender, url)) = self.conn.take()
        {
            checkin(&url, sender);
        }
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => self.release_if_done(false),
            Poll::Ready(None) => self.release_if_done(true),
            Poll::Ready(Some(Err(_))) => self.conn = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body dropped before its end leaves the connection mid-response:
        // dropping the sender with it closes that connection.
        self.release_if_done(false);
    }
}

#[cfg(test)]
mod tests;
