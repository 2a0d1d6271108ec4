//! What the tests of requests to other servers stand up: a certificate
//! authority made for the test, HTTPS and HTTP servers on loopback, an
//! identity provider that serves a JWK Set and a Veriff-like decision API,
//! and a capture of the gateway's log lines.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

/// A certificate authority made for one test.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate, PEM.
    pub pem: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses) and
    /// its key.
    pub fn server_cert(
        &self,
        names: &[&str],
    ) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }

    /// A server certificate for `names` and its key, both PEM.
    pub fn server_cert_pem(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A client certificate for mutual TLS, and its key, both PEM.
    pub fn client_cert_pem(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Writes the CA's certificate to `dir/name` and returns the path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}

/// Serves `app` over TLS with `cert` on a loopback port, offering HTTP/2
/// and HTTP/1.1 by ALPN; returns the address and the count of connections
/// accepted. Handshakes the client aborts are ignored.
pub async fn serve_https(
    app: axum::Router,
    cert: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
) -> (SocketAddr, Arc<AtomicUsize>) {
    serve_tls(app, cert, None).await
}

/// [`serve_https`], requiring a client certificate issued by `client_ca`
/// when one is given (mutual TLS).
pub async fn serve_tls(
    app: axum::Router,
    (chain, key): (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
    client_ca: Option<&Ca>,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            use rustls::pki_types::pem::PemObject as _;
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
                .unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                let io = hyper_util::rt::TokioIo::new(tls);
                let svc = hyper_util::service::TowerToHyperService::new(app);
                let _ = if h2 {
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(io, svc)
                        .await
                } else {
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await
                };
            });
        }
    });
    (addr, accepted)
}

/// Serves `app` over plain HTTP on `addr` (port 0: any).
pub async fn serve_http(app: axum::Router, addr: SocketAddr) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// An identity provider's JWK Set endpoint (`GET /jwks`) and a vendor's
/// decision API (`GET /v1/sessions/{id}/decision`, Veriff's shape, always
/// approved), with what they were asked.
pub struct Provider {
    /// The JWK Set served.
    pub jwks: Mutex<Value>,
    /// The `Cache-Control` of the set's answers.
    pub cache_control: Mutex<Option<&'static str>>,
    /// The status of the set's answers (200 serves the set).
    pub status: Mutex<u16>,
    /// How long the set's answers take.
    pub delay: Mutex<std::time::Duration>,
    fetches: AtomicUsize,
    decisions: AtomicUsize,
    /// The HTTP versions the set was fetched with.
    pub versions: Mutex<Vec<Version>>,
}

impl Provider {
    pub fn new(jwks: Value) -> Arc<Provider> {
        Arc::new(Provider {
            jwks: Mutex::new(jwks),
            cache_control: Mutex::new(Some("public, max-age=3600")),
            status: Mutex::new(200),
            delay: Mutex::new(std::time::Duration::ZERO),
            fetches: AtomicUsize::new(0),
            decisions: AtomicUsize::new(0),
            versions: Mutex::new(Vec::new()),
        })
    }

    /// How often the set was asked for.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// How often a decision was asked for.
    pub fn decisions(&self) -> usize {
        self.decisions.load(Ordering::SeqCst)
    }

    /// Serves the set from now on.
    pub fn serve(&self, jwks: Value) {
        *self.jwks.lock().unwrap() = jwks;
    }

    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/jwks", get(jwks))
            .route("/v1/sessions/{id}/decision", get(decision))
            .with_state(Arc::clone(self))
    }
}

async fn jwks(State(p): State<Arc<Provider>>, req: axum::extract::Request) -> Response {
    p.fetches.fetch_add(1, Ordering::SeqCst);
    p.versions.lock().unwrap().push(req.version());
    let delay = *p.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let status = StatusCode::from_u16(*p.status.lock().unwrap()).unwrap();
    if status != StatusCode::OK {
        return (status, "the key service is down").into_response();
    }
    let mut r = (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        p.jwks.lock().unwrap().to_string(),
    )
        .into_response();
    if let Some(cc) = *p.cache_control.lock().unwrap() {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cc));
    }
    r
}

async fn decision(State(p): State<Arc<Provider>>, UrlPath(id): UrlPath<String>) -> Response {
    p.decisions.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"status": "success", "verification": {
        "id": id, "attemptId": "att-1", "code": 9001, "status": "approved",
        "vendorData": "unverified", "decisionTime": "2026-12-07T10:00:00.000Z",
        "person": {"nationality": "US"},
        "document": {"type": "PASSPORT", "country": "US", "validUntil": "2031-01-01"}
    }}))
    .into_response()
}

/// An Ed25519 JWK whose private key is the seed `[seed; 32]`.
pub fn jwk(kid: &str, seed: u8) -> Value {
    use base64::Engine as _;
    use ring::signature::KeyPair as _;
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"})
}

/// A JWK Set of one key.
pub fn set_of(kid: &str, seed: u8) -> Value {
    json!({ "keys": [jwk(kid, seed)] })
}

/// Log lines the gateway writes on this thread (every test's runtime runs
/// on its own thread), each as its message and fields.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    /// Captures until the guard is dropped.
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        // With a single dispatcher registered, `tracing` computes a new
        // callsite's interest from the thread that first reaches it, and
        // another test's thread would then silence the callsite for this
        // one. A second dispatcher, kept for the whole run, makes it ask
        // every live dispatcher instead.
        static ANCHOR: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
        ANCHOR.get_or_init(|| tracing::Dispatch::new(Quiet));
        let logs = Logs::default();
        let guard = tracing::subscriber::set_default(Capture(logs.clone()));
        (logs, guard)
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Whether a line contains every one of `parts`.
    pub fn has(&self, parts: &[&str]) -> bool {
        self.lines()
            .iter()
            .any(|l| parts.iter().all(|p| l.contains(p)))
    }
}

struct Capture(Logs);

/// A subscriber that wants nothing.
struct Quiet;

impl tracing::Subscriber for Quiet {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, _: &tracing::Event<'_>) {}

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!(" {}={}", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(format!("{}", event.metadata().level()));
        event.record(&mut fields);
        self.0.0.lock().unwrap().push(fields.0);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
