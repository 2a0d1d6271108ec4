//! The gRPC `Check` service on a real gateway, asked by a tonic client the
//! way Envoy asks it; the gateway's HTTP `ext_authz` endpoint beside it, to
//! show both decide alike.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod checks;
mod failures;
mod raw;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_audit::SigningKey;
use cordon_audit_log::{AuditLog, LogConfig};
use cordon_gateway::audit::AuditTrail;
use cordon_gateway::config::AuditConfig;
use cordon_gateway::{Config, Gateway};
use cordon_store::SqliteStore;
use envoy_types::ext_authz::v3::pb::{CheckRequest, CheckResponse, HttpResponse};
use envoy_types::pb::envoy::config::core::v3::address::Address as AddressKind;
use envoy_types::pb::envoy::config::core::v3::{Address, SocketAddress};
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Peer, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use serde_json::{Value, json};
use tonic::transport::Channel;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The accounts, each screened by the KYC vendor with no hit
/// (`"screening": []`): never screened would be refused by `restricted-parties`.
const ACCOUNTS: &[(&str, &str)] = &[
    (
        "us-citizen",
        r#"{"verification": "document_verified", "citizenships": ["US"], "residence_country": "US", "screening": []}"#,
    ),
    (
        "foreign-national",
        r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE", "screening": []}"#,
    ),
    (
        "unverified",
        r#"{"verification": "self_declared", "citizenships": ["FR"], "screening": []}"#,
    ),
];

/// Which directives the gateway enforces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Directives {
    /// The shipped set.
    Shipped,
    /// The shipped set with the partial frontier directive (obligations
    /// instead of refusals) enforced and the full one retired.
    Partial,
}

struct Setup {
    refusal_status: &'static str,
    audit: bool,
    directives: Directives,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            refusal_status: "451",
            audit: false,
            directives: Directives::Shipped,
        }
    }
}

struct Harness {
    gw: Arc<Gateway>,
    grpc: AuthorizationClient<Channel>,
    grpc_addr: SocketAddr,
    http: SocketAddr,
    keys: BTreeMap<String, String>,
    dir: PathBuf,
    store: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), cordon_envoy::ServeError>>>,
}

/// A fresh directory for one harness.
fn scratch() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cordon-envoy-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn directives(dir: &Path, which: Directives) -> PathBuf {
    let shipped = root().join("directives");
    if which == Directives::Shipped {
        return shipped;
    }
    let out = dir.join("directives");
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(&shipped).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let text = match p.file_name().unwrap().to_str().unwrap() {
            "foreign-national-frontier-partial.toml" => {
                text.replace("mode = \"draft\"", "mode = \"enforced\"")
            }
            "foreign-national-frontier.toml" => {
                text.replace("mode = \"enforced\"", "mode = \"retired\"")
            }
            _ => text,
        };
        std::fs::write(out.join(p.file_name().unwrap()), text).unwrap();
    }
    out
}

async fn start(setup: Setup) -> Harness {
    let dir = scratch();
    let store_path = dir.join("identity.db");
    // The configuration as an operator writes it, `[envoy]` included.
    let text = format!(
        r#"
listen = "127.0.0.1:0"
directives = "{directives}"
catalog = "{root}/catalog.toml"
store = "{store}"
refusal_status = "{status}"
[operator]
name = "Test operator"
url = "https://operator.test/"
[geo]
databases = ["{root}/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"
accept_missing_regions = ["UA"]
[limits]
max_body_bytes = 65536
[audit]
enabled = {audit}
[envoy]
grpc_listen = "127.0.0.1:0"
"#,
        directives = directives(&dir, setup.directives).display(),
        root = root().display(),
        store = store_path.display(),
        status = setup.refusal_status,
        audit = setup.audit,
    );
    let loaded = Config::parse(&cordon_source::SourceFile::new("cordon.toml", text), &dir).unwrap();
    assert_eq!(
        loaded.config.envoy.grpc_listen,
        Some("127.0.0.1:0".parse().unwrap())
    );
    let store = Arc::new(SqliteStore::open(&store_path).unwrap().with_actor("tests"));
    let mut keys = BTreeMap::new();
    for (id, subject) in ACCOUNTS {
        store
            .add_account(id, serde_json::from_str(subject).unwrap())
            .unwrap();
        keys.insert((*id).to_owned(), store.create_key(id, None).unwrap().key);
    }
    let at: jiff::Timestamp = "2026-12-10T12:00:00Z".parse().unwrap();
    let gw = Arc::new(Gateway::new(loaded, store, Arc::new(move || at)).unwrap());
    if setup.audit {
        let origin = "test.example/audit";
        let key = SigningKey::from_seed(origin, [7; 32]).unwrap();
        let verifier = key.verifier();
        let (log, _) = AuditLog::open(LogConfig::new(dir.join("audit"), origin), key).unwrap();
        gw.set_audit(AuditTrail::new(
            log,
            b"test salt".to_vec(),
            verifier,
            &AuditConfig::default(),
        ));
    }

    // The HTTP gateway, for the `/ext_authz` endpoint.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let serving = Arc::clone(&gw);
    tokio::spawn(async move {
        cordon_gateway::serve(serving, listener, std::future::pending())
            .await
            .unwrap()
    });
    // The gRPC service.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(cordon_envoy::serve(Arc::clone(&gw), listener, async {
        let _ = stopped.await;
    }));
    let client = AuthorizationClient::connect(format!("http://{grpc}"))
        .await
        .unwrap();
    Harness {
        gw,
        grpc: client,
        grpc_addr: grpc,
        http,
        keys,
        dir,
        store: store_path,
        stop: Some(stop),
        served: Some(served),
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What Envoy sends for one request: method, path, headers (pseudo-headers
/// and the partial-body marker included, as Envoy sends them), the body
/// as `body`, and the client's address.
fn envoy_check(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> CheckRequest {
    let mut all: std::collections::HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    all.insert(":method".into(), method.into());
    all.insert(":path".into(), path.into());
    all.insert(":authority".into(), "models.example".into());
    all.insert("x-envoy-auth-partial-body".into(), "false".into());
    CheckRequest {
        attributes: Some(AttributeContext {
            source: Some(Peer {
                address: Some(Address {
                    address: Some(AddressKind::SocketAddress(SocketAddress {
                        address: "127.0.0.1".into(),
                        ..SocketAddress::default()
                    })),
                }),
                ..Peer::default()
            }),
            request: Some(Request {
                time: None,
                http: Some(HttpRequest {
                    id: "req-1".into(),
                    method: method.into(),
                    headers: all,
                    path: path.into(),
                    host: "models.example".into(),
                    scheme: "http".into(),
                    size: i64::try_from(body.len()).unwrap(),
                    protocol: "HTTP/1.1".into(),
                    body: body.into(),
                    ..HttpRequest::default()
                }),
            }),
            ..AttributeContext::default()
        }),
    }
}

/// A one-message chat completion request body.
fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]})
}

/// An answer, read the way Envoy reads it.
#[derive(Debug)]
struct Answer {
    /// The gRPC status code in the answer (0 = OK).
    grpc: i32,
    /// The HTTP status Envoy sends the client when refused; 200 when OK.
    status: i32,
    /// Headers: set on the upstream request (OK) or on the client's
    /// response (refused).
    headers: Vec<(String, String)>,
    /// Headers added to the client's response (OK).
    client: Vec<(String, String)>,
    /// Headers removed from the upstream request (OK).
    removed: Vec<String>,
    body: String,
}

impl Answer {
    fn of(r: CheckResponse) -> Answer {
        let grpc = r.status.map_or(-1, |s| s.code);
        let pairs = |v: Vec<envoy_types::ext_authz::v3::pb::HeaderValueOption>| {
            v.into_iter()
                .map(|o| {
                    let h = o.header.unwrap();
                    (h.key, h.value)
                })
                .collect::<Vec<_>>()
        };
        match r.http_response {
            Some(HttpResponse::OkResponse(ok)) => Answer {
                grpc,
                status: 200,
                headers: pairs(ok.headers),
                client: pairs(ok.response_headers_to_add),
                removed: ok.headers_to_remove,
                body: String::new(),
            },
            Some(HttpResponse::DeniedResponse(d)) => Answer {
                grpc,
                status: d.status.map_or(403, |s| s.code),
                headers: pairs(d.headers),
                client: Vec::new(),
                removed: Vec::new(),
                body: d.body,
            },
            other => panic!("neither OK nor denied: {other:?}"),
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn allowed(&self) -> bool {
        self.grpc == 0
    }
}

impl Harness {
    fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    fn key(&self, who: &str) -> String {
        self.keys[who].clone()
    }

    async fn check(&self, request: CheckRequest) -> Answer {
        let r = self.grpc.clone().check(request).await.unwrap();
        Answer::of(r.into_inner())
    }

    /// A chat completion request from `who`, as Envoy describes it.
    async fn chat(&self, who: &str, body: Value) -> Answer {
        self.post(who, "/v1/chat/completions", body).await
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> Answer {
        let auth = format!("Bearer {}", self.key(who));
        self.check(envoy_check(
            "POST",
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            &body.to_string(),
        ))
        .await
    }

    /// The same request to the HTTP `ext_authz` endpoint: status, headers, body.
    async fn http_ext_authz(
        &self,
        who: &str,
        path: &str,
        body: Value,
    ) -> (u16, axum::http::HeaderMap, String) {
        use http_body_util::{BodyExt, Full};
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<bytes::Bytes>>();
        let req = hyper::Request::post(format!("http://{}/ext_authz{path}", self.http))
            .header("authorization", format!("Bearer {}", self.key(who)))
            .header("content-type", "application/json")
            .body(Full::new(bytes::Bytes::from(body.to_string())))
            .unwrap();
        let r = client.request(req).await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    /// Stops the gRPC server and waits for it to return.
    async fn stop(&mut self) -> Result<(), cordon_envoy::ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.served.take().unwrap().await.unwrap()
    }
}
