//! The gateway in process, in front of the mock model server, driven over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod api_surface;
mod audit;
mod durable_first;
mod egress;
mod end_users;
mod files;
mod forms;
mod hardening;
mod integrations;
mod keys;
mod licences;
mod lifecycle;
mod listener_tls;
mod proxy;
mod realtime;
mod stored;
mod tls;
mod upstream_tls;
mod verification;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cordon_gateway::config::{
    AuditConfig, GeoConfig, Limits, Operator, RefusalStatus, Upstream, UpstreamApi,
};
use cordon_gateway::mock::{self, Mock};
use cordon_gateway::{Config, Gateway, Loaded};
use cordon_jurisdiction::CountryCode;
use cordon_store::SqliteStore;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const ACCOUNTS: &[(&str, &str)] = &[
    (
        "us-citizen",
        r#"{"verification": "document_verified", "citizenships": ["US"], "residence_country": "US"}"#,
    ),
    (
        "foreign-national",
        r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#,
    ),
    (
        "unverified",
        r#"{"verification": "self_declared", "citizenships": ["FR"]}"#,
    ),
];

/// The shipped directives with the partial foreign-national order enforced
/// in place of the full one, in a directory of their own named by `tag`.
fn partial_directives(tag: &str) -> PathBuf {
    edited_directives(&format!("partial-{tag}"), |name, text| match name {
        "foreign-national-frontier-partial.toml" => {
            text.replace("mode = \"draft\"", "mode = \"enforced\"")
        }
        "foreign-national-frontier.toml" => {
            text.replace("mode = \"enforced\"", "mode = \"retired\"")
        }
        _ => text,
    })
}

/// The shipped directives, each file's text passed through `edit` (with
/// its file name), in a directory of their own named by `tag`.
fn edited_directives(tag: &str, edit: impl Fn(&str, String) -> String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cordon-gw-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_owned();
        let text = edit(&name, std::fs::read_to_string(&p).unwrap());
        std::fs::write(dir.join(&name), text).unwrap();
    }
    dir
}

struct Harness {
    addr: SocketAddr,
    mock: Mock,
    keys: BTreeMap<String, String>,
    store: Arc<SqliteStore>,
    gw: Arc<Gateway>,
    dir: PathBuf,
}

/// Which directive files the gateway loads.
enum Directives {
    /// Every file in the repository's `directives/`.
    Shipped,
    /// Only these files of `directives/`, copied into the harness's directory.
    Only(&'static [&'static str]),
    /// Every file in this directory, which the test may change under the gateway.
    Dir(PathBuf),
}

struct Setup {
    refusal_status: RefusalStatus,
    at: &'static str,
    geoip: Option<PathBuf>,
    trusted_proxies: Vec<&'static str>,
    directives: Directives,
    max_body: usize,
    token_delay: Duration,
    /// Only these of `ACCOUNTS` are created, each with a key (all when `None`).
    accounts: Option<&'static [&'static str]>,
    /// Where every account's attributes came from (their `source`), if anywhere.
    account_source: Option<&'static str>,
    /// The audit trail the gateway records to, if any.
    audit: Option<audit::Trail>,
    /// The base URL of a mock Veriff API: adds a source `veriff-api` that
    /// refetches every decision from it.
    vendor_api: Option<String>,
    /// The gateway's clock; fixed at `at` when `None`.
    clock: Option<cordon_gateway::Clock>,
    /// The header that names an organisation's end user, if one.
    end_user_header: Option<&'static str>,
    /// The one upstream, instead of the mock model server.
    upstream: Option<Upstream>,
    /// TLS on the gateway's listener.
    tls: Option<cordon_gateway::listener_tls::ListenerTlsConfig>,
    /// Connection limits (body size and upstream timeout are set apart).
    limits: Limits,
    /// The gateway's real clock (signed timestamps, tokens, key caching);
    /// the system's when `None`.
    wall: Option<cordon_gateway::Clock>,
    /// The issuer `corp-sso` as configured; with its keys in a file when
    /// `None`.
    issuer: Option<cordon_gateway::verification::config::IssuerConfig>,
    /// `[egress]`; the defaults when `None`.
    egress: Option<cordon_gateway::egress::EgressConfig>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            refusal_status: RefusalStatus::Status451,
            at: "2026-12-10T12:00:00Z",
            geoip: None,
            trusted_proxies: Vec::new(),
            directives: Directives::Shipped,
            max_body: 64 * 1024,
            token_delay: Duration::from_millis(5),
            accounts: None,
            account_source: None,
            audit: None,
            clock: None,
            wall: None,
            vendor_api: None,
            end_user_header: None,
            upstream: None,
            tls: None,
            limits: Limits::default(),
            issuer: None,
            egress: None,
        }
    }
}

async fn start(setup: Setup) -> Harness {
    let mock = mock::start(
        "127.0.0.1:0".parse().unwrap(),
        setup.token_delay,
        Duration::ZERO,
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!(
        "cordon-gw-{}-{}",
        std::process::id(),
        mock.addr.port()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let directives = match setup.directives {
        Directives::Shipped => root().join("directives"),
        Directives::Dir(d) => d,
        Directives::Only(files) => {
            let d = dir.join("directives");
            std::fs::create_dir_all(&d).unwrap();
            for f in files {
                std::fs::copy(root().join("directives").join(f), d.join(f)).unwrap();
            }
            d
        }
    };
    let store = Arc::new(
        SqliteStore::open_in_memory()
            .unwrap()
            .with_actor("cordon tests"),
    );
    store
        .save_snapshot(sdn_excerpt(), None, jiff::Timestamp::UNIX_EPOCH)
        .unwrap();
    let mut keys = BTreeMap::new();
    for (id, subject) in ACCOUNTS {
        if setup.accounts.is_some_and(|only| !only.contains(id)) {
            continue;
        }
        let mut subject: Value = serde_json::from_str(subject).unwrap();
        if let Some(source) = setup.account_source {
            subject["source"] = source.into();
        }
        store.add_account(id, subject).unwrap();
        keys.insert((*id).to_owned(), store.create_key(id, None).unwrap().key);
    }
    let trusted: Vec<String> = setup
        .trusted_proxies
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let mut verification = test_verification(&dir, setup.vendor_api.as_deref());
    if let Some(issuer) = setup.issuer {
        verification.issuers = vec![issuer];
    }
    let loaded = Loaded {
        config: Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            directives,
            catalog: root().join("catalog.toml"),
            store: Some(dir.join("unused.db")),
            operator: Operator {
                name: "Test operator".into(),
                url: "https://operator.test/".into(),
            },
            refusal_status: setup.refusal_status,
            trusted_proxies: trusted.clone(),
            geo: GeoConfig {
                databases: vec![
                    setup
                        .geoip
                        .unwrap_or_else(|| root().join("data/geoip/geo-whois-asn-country.mmdb")),
                ],
                allow_missing: false,
                internal_country: Some("US".into()),
                anonymizer_lists: Vec::new(),
                // The shipped database is country-only.
                accept_missing_regions: vec!["UA".into()],
            },
            limits: Limits {
                max_body_bytes: setup.max_body,
                upstream_timeout_secs: 5,
                ..setup.limits.clone()
            },
            decision_token: Some("t0ken".into()),
            reload_interval_secs: 1,
            upstream: vec![setup.upstream.clone().unwrap_or_else(|| Upstream {
                name: "mock".into(),
                url: format!("http://{}", mock.addr),
                models: vec![],
                families: vec![
                    "fable".into(),
                    "mythos".into(),
                    "lyric".into(),
                    "echo".into(),
                ],
                api: UpstreamApi::Both,
                api_key: Some("upstream-secret".into()),
                ca_bundle: None,
                client_certificate: None,
                client_key: None,
            })],
            audit: AuditConfig::default(),
            verification: verification.clone(),
            end_user_header: setup.end_user_header.map(str::to_owned),
            tls: setup.tls.clone(),
            egress: setup.egress.unwrap_or_default(),
            envoy: Default::default(),
            fleet: Default::default(),
            postgres: Default::default(),
            cached_keys_trusted_ms: 250,
        },
        trusted_proxies: trusted
            .iter()
            .map(|s| cordon_gateway::cidr::Cidr::parse(s).unwrap())
            .collect(),
        internal_country: Some(CountryCode::US),
        verification: verification.sources().unwrap(),
        issuers: verification.issuers().unwrap(),
        link_key: verification.link_key().unwrap(),
        refetching: verification.refetching().unwrap(),
    };
    let at: jiff::Timestamp = setup.at.parse().unwrap();

    let clock = setup.clock.unwrap_or_else(|| Arc::new(move || at));
    let mut gw = Gateway::new(loaded, store.clone(), clock).unwrap();
    if let Some(wall) = setup.wall {
        gw = gw.with_wall_clock(wall);
    }
    let gw = Arc::new(gw);
    if let Some(trail) = &setup.audit {
        trail.attach(&gw, &dir);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = gw.clone();
    tokio::spawn(async move {
        cordon_gateway::serve(serving, listener, std::future::pending())
            .await
            .unwrap()
    });
    Harness {
        addr,
        mock,
        keys,
        store,
        gw,
        dir,
    }
}

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Harness {
    fn key(&self, who: &str) -> String {
        self.keys[who].clone()
    }

    /// A call by `who` with no body, in the OpenAI API.
    async fn call(&self, who: &str, method: &str, path: &str) -> Reply {
        let auth = format!("Bearer {}", self.key(who));
        self.send(method, path, &[("authorization", &auth)], "")
            .await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Reply {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let mut req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = client
            .request(req.body(Full::new(body.into())).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn chat(&self, who: &str, body: Value) -> Reply {
        self.post(who, "/v1/chat/completions", body).await
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> Reply {
        let auth = format!("Bearer {}", self.key(who));
        self.send(
            "POST",
            path,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
        .await
    }

    /// A GET, with `bearer` as the bearer token if there is one.
    async fn get(&self, path: &str, bearer: Option<&str>) -> Reply {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.send("GET", path, &headers, "").await
    }

    /// Asks the decision API, with the right token.
    async fn decide(&self, body: Value) -> Reply {
        self.send(
            "POST",
            "/v1/decide",
            &[("authorization", "Bearer t0ken")],
            body.to_string(),
        )
        .await
    }

    async fn nginx(&self, who: &str, model: &str) -> Reply {
        let auth = format!("Bearer {}", self.key(who));
        self.send(
            "GET",
            "/nginx/auth",
            &[
                ("authorization", &auth),
                ("x-original-uri", "/v1/chat/completions"),
                ("x-original-method", "POST"),
                ("x-cordon-model", model),
            ],
            "",
        )
        .await
    }

    async fn authzen(&self, subject: Value, model: &str, ctx: Value) -> Reply {
        let body = json!({"subject": subject, "action": {"name": "chat"}, "resource": {"type": "model", "id": model}, "context": ctx});
        self.send(
            "POST",
            "/access/v1/evaluation",
            &[
                ("authorization", "Bearer t0ken"),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
        .await
    }

    /// Starts a streamed chat completion and returns the response with its client
    /// (dropping the client closes the connection).
    async fn open_stream(
        &self,
        who: &str,
        model: &str,
    ) -> (
        hyper::Response<hyper::body::Incoming>,
        Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    ) {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let body = json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "Hi"}]});
        let req = Request::builder()
            .method("POST")
            .uri(format!("http://{}/v1/chat/completions", self.addr))
            .header("authorization", format!("Bearer {}", self.key(who)))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        (resp, client)
    }

    fn upstream_requests(&self) -> usize {
        self.mock.state.requests.load(Ordering::SeqCst)
    }

    /// Stops the harness and removes its directory.
    fn finish(self) {
        let dir = self.dir.clone();
        drop(self);
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The gateway with the shipped directives but the partial foreign-national
/// order enforced (a token cap and no tools) in place of the full one, and
/// the directory of those directives (the test removes it).
async fn start_partial(tag: &str) -> (Harness, PathBuf) {
    let dir = partial_directives(tag);
    let h = start(Setup {
        directives: Directives::Dir(dir.clone()),
        ..Setup::default()
    })
    .await;
    (h, dir)
}

/// A clock the test moves, at `start` until then: the gateway reads the
/// returned second on every request.
/// The first entries of the shipped SDN list, as the store's active list
/// snapshot: like a store where lists were imported, every account is screened
/// when it is created (never screened is unknown, and the restricted-party
/// directive refuses it). A short excerpt keeps each test's index small.
fn sdn_excerpt() -> &'static cordon_screening::snapshot::Snapshot {
    static SNAPSHOT: std::sync::OnceLock<cordon_screening::snapshot::Snapshot> =
        std::sync::OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let sdn = std::fs::read_to_string(root().join("data/sanctions/sdn.csv")).unwrap();
        let excerpt: String = sdn.lines().take(50).map(|l| format!("{l}\n")).collect();
        cordon_screening::snapshot::import(&[cordon_screening::lists::ListFile {
            name: "sdn.csv",
            bytes: excerpt.as_bytes(),
        }])
        .unwrap()
    })
}

fn movable_clock(start: jiff::Timestamp) -> (cordon_gateway::Clock, Arc<AtomicI64>) {
    let now = Arc::new(AtomicI64::new(start.as_second()));
    let read = Arc::clone(&now);
    let clock: cordon_gateway::Clock =
        Arc::new(move || jiff::Timestamp::from_second(read.load(Ordering::SeqCst)).unwrap());
    (clock, now)
}

/// A one-message chat completion request.
fn ask(model: &str, prompt: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": prompt}]})
}

fn hello(model: &str) -> Value {
    ask(model, "Hello")
}

/// The hex HMAC-SHA256 of `body` under `secret`: how Veriff and Onfido sign
/// a delivery.
fn hex_hmac(secret: &str, body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::sign(&k, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The webhook token of the harness's refetching Onfido source `onfido-api`.
pub const ONFIDO_TOKEN: &str = "onfido-webhook-token-0123456789";

/// The signing secret of the harness's verification source `test-kyc`.
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The sources `test-kyc` (Cordon's own format, up to `document_verified`)
/// and `veriff`, with `veriff-api` refetching from `vendor_api` when given;
/// the issuer `corp-sso`.
fn test_verification(
    dir: &std::path::Path,
    vendor_api: Option<&str>,
) -> cordon_gateway::verification::config::VerificationConfig {
    use base64::Engine as _;
    use ring::signature::KeyPair as _;
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&SSO_SEED).unwrap();
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    let jwks = dir.join("sso-jwks.json");
    std::fs::write(
        &jwks,
        serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1", "alg": "EdDSA", "use": "sig"}]}).to_string(),
    )
    .unwrap();
    cordon_gateway::verification::config::VerificationConfig {
        link_secret: Some(LINK_SECRET.into()),
        issuers: vec![cordon_gateway::verification::config::IssuerConfig {
            jwks_file: Some(jwks),
            ..sso_issuer()
        }],
        start_url: Some("https://verify.test/start".into()),
        sources: vec![
            source("test-kyc", "cordon", WEBHOOK_SECRET, None),
            cordon_gateway::verification::config::SourceConfig {
                api_key: Some("veriff-api-key".into()),
                ..source("veriff", "veriff", VERIFF_SECRET, None)
            },
        ]
        .into_iter()
        .chain(
            vendor_api.map(|base| cordon_gateway::verification::config::SourceConfig {
                api_key: Some("veriff-api-key".into()),
                ..source("veriff-api", "veriff", VERIFF_SECRET, Some(base))
            }),
        )
        .chain(
            vendor_api.map(|base| cordon_gateway::verification::config::SourceConfig {
                api_key: Some("onfido-api-token".into()),
                ..source("onfido-api", "onfido", ONFIDO_TOKEN, Some(base))
            }),
        )
        .collect(),
    }
}

/// The issuer `corp-sso`, `SSO_ISSUER`, without its keys.
fn sso_issuer() -> cordon_gateway::verification::config::IssuerConfig {
    cordon_gateway::verification::config::IssuerConfig {
        name: "corp-sso".into(),
        issuer: SSO_ISSUER.into(),
        audience: "cordon".into(),
        trust_frameworks: [("de_aml".to_owned(), "document_verified".to_owned())]
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

/// A source with the defaults; refetching from `api_base` when given.
fn source(
    name: &str,
    format: &str,
    secret: &str,
    api_base: Option<&str>,
) -> cordon_gateway::verification::config::SourceConfig {
    cordon_gateway::verification::config::SourceConfig {
        name: name.into(),
        format: format.into(),
        secrets: vec![secret.into()],
        api_key: None,
        algorithms: Vec::new(),
        kind: None,
        max_level: None,
        tolerance_secs: None,
        refetch: api_base.is_some(),
        api_base: api_base.map(str::to_owned),
        api_secret: api_base.map(|_| secret.to_owned()),
    }
}

/// The seed of the Ed25519 key the harness's identity provider signs with.
pub const SSO_SEED: [u8; 32] = [11; 32];

/// The secret the harness signs start links with.
pub const LINK_SECRET: &str = "test link secret, 16+ characters";

/// The harness's identity provider.
pub const SSO_ISSUER: &str = "https://sso.test";

/// The shared secret of the harness's Veriff source `veriff`.
pub const VERIFF_SECRET: &str = "veriff-shared-secret";
