//! The gateway in process, in front of the mock model server, driven over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod audit;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    let loaded = Loaded {
        config: Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            directives,
            catalog: root().join("catalog.toml"),
            store: dir.join("unused.db"),
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
            },
            limits: Limits {
                max_body_bytes: setup.max_body,
                upstream_timeout_secs: 5,
            },
            decision_token: Some("t0ken".into()),
            reload_interval_secs: 1,
            upstream: vec![Upstream {
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
            }],
            audit: AuditConfig::default(),
        },
        trusted_proxies: trusted
            .iter()
            .map(|s| cordon_gateway::cidr::Cidr::parse(s).unwrap())
            .collect(),
        internal_country: Some(CountryCode::US),
    };
    let at: jiff::Timestamp = setup.at.parse().unwrap();
    let gw = Arc::new(Gateway::new(loaded, store.clone(), Arc::new(move || at)).unwrap());
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

/// A one-message chat completion request.
fn ask(model: &str, prompt: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": prompt}]})
}

fn hello(model: &str) -> Value {
    ask(model, "Hello")
}

#[tokio::test]
async fn an_allowed_request_is_forwarded_with_the_canonical_model_and_without_the_callers_key() {
    let h = start(Setup::default()).await;
    let r = h.chat("us-citizen", hello("Fable")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["choices"][0]["message"]["content"], mock::REPLY);
    assert!(r.header("x-cordon-decision-id").starts_with("dec_"));
    assert_eq!(r.header("x-cordon-effect"), "allow");
    let seen = h.mock.state.last_body.lock().unwrap().clone().unwrap();
    assert_eq!(seen["model"], "fable-5");
}

#[tokio::test]
async fn a_denial_is_a_451_in_the_openai_shape_and_never_reaches_the_upstream() {
    let h = start(Setup::default()).await;
    let before = h.upstream_requests();
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 451);
    assert_eq!(
        r.header("link"),
        "<https://operator.test/>; rel=\"blocked-by\""
    );
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("x-should-retry"), "false");
    assert_eq!(
        r.header("x-cordon-directive"),
        "foreign-national-frontier-2026"
    );
    let v = r.json();
    assert_eq!(v["error"]["code"], "cordon_denied");
    assert_eq!(v["error"]["type"], "permission_error");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("foreign-national-frontier-2026")
            && msg.contains("Remedy: https://cordon.example/verify-nationality"),
        "{msg}"
    );
    assert_eq!(v["cordon"]["directive"], "foreign-national-frontier-2026");
    assert_eq!(h.upstream_requests(), before);
    // The same customer may use an unrestricted model.
    assert_eq!(
        h.chat("foreign-national", hello("lyric-4")).await.status,
        200
    );
}

#[tokio::test]
async fn verification_required_is_a_451_naming_what_to_verify() {
    let h = start(Setup::default()).await;
    let r = h.chat("unverified", hello("mythos-5")).await;
    assert_eq!(r.status, 451);
    let v = r.json();
    assert_eq!(v["error"]["code"], "cordon_verification_required");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Verify `subject.us_person` at `document_verified`")
    );
}

#[tokio::test]
async fn anthropic_requests_get_anthropic_shaped_errors_and_streams() {
    let h = start(Setup::default()).await;
    let key = h.key("foreign-national");
    let headers = [
        ("x-api-key", key.as_str()),
        ("anthropic-version", "2023-06-01"),
        ("content-type", "application/json"),
    ];
    let body = json!({"model": "fable-5", "max_tokens": 50, "messages": [{"role": "user", "content": "Hi"}]});
    let r = h
        .send("POST", "/v1/messages", &headers, body.to_string())
        .await;
    assert_eq!(r.status, 451);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "permission_error");
    let key = h.key("us-citizen");
    let headers = [
        ("x-api-key", key.as_str()),
        ("anthropic-version", "2023-06-01"),
        ("content-type", "application/json"),
    ];
    let body = json!({"model": "fable-5", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "Hi"}]});
    let r = h
        .send("POST", "/v1/messages", &headers, body.to_string())
        .await;
    assert_eq!(r.status, 200);
    let text = String::from_utf8_lossy(&r.body);
    assert!(
        text.starts_with("event: message_start") && text.contains("event: message_stop"),
        "{text}"
    );
}

#[tokio::test]
async fn streams_arrive_chunk_by_chunk_before_the_upstream_finishes() {
    let h = start(Setup {
        token_delay: Duration::from_millis(60),
        ..Setup::default()
    })
    .await;
    let started = Instant::now();
    let (resp, _client) = h.open_stream("us-citizen", "mythos-5").await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            frames.push((started.elapsed(), data));
        }
    }
    let tokens = mock::REPLY.split(' ').count();
    let text: String = frames
        .iter()
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .collect();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let words: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(words, mock::REPLY, "every chunk, in order");
    // The first chunk arrived long before the last: nothing was buffered whole.
    assert!(frames.len() >= tokens / 2, "{} frames", frames.len());
    let (first, _) = frames.first().unwrap();
    let (last, _) = frames.last().unwrap();
    assert!(
        *last - *first >= Duration::from_millis(60 * (tokens as u64 - 2)),
        "first {first:?} last {last:?}"
    );
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_the_upstream_stream() {
    let h = start(Setup {
        token_delay: Duration::from_millis(200),
        ..Setup::default()
    })
    .await;
    let (resp, client) = h.open_stream("us-citizen", "lyric-4").await;
    let mut body = resp.into_body();
    let _first = body.frame().await;
    assert_eq!(h.mock.state.open_streams.load(Ordering::SeqCst), 1);
    drop(body);
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.mock.state.open_streams.load(Ordering::SeqCst) != 0 {
        assert!(
            Instant::now() < deadline,
            "the upstream stream was not closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bad_keys_and_revoked_keys_are_401() {
    let h = start(Setup::default()).await;
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            hello("lyric-4").to_string(),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", "Bearer ck_nope_nope"),
                ("content-type", "application/json"),
            ],
            hello("lyric-4").to_string(),
        )
        .await;
    assert_eq!(r.status, 401);
    let key = h.key("us-citizen");
    let prefix: String = key.splitn(3, '_').take(2).collect::<Vec<_>>().join("_");
    h.store.revoke_key(&prefix).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.chat("us-citizen", hello("lyric-4")).await.status,
        401,
        "a revoked key stops working"
    );
}

#[tokio::test]
async fn malformed_requests_get_the_right_status_and_never_reach_the_upstream() {
    let h = start(Setup {
        max_body: 2048,
        ..Setup::default()
    })
    .await;
    let before = h.upstream_requests();
    let key = format!("Bearer {}", h.key("us-citizen"));
    let json_ct = ("content-type", "application/json");
    /// Path, headers, body, expected status, expected error code.
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "/v1/chat/completions",
            vec![json_ct],
            "{\"model\": ".into(),
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct],
            "not json".into(),
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            vec![("content-type", "text/plain")],
            hello("lyric-4").to_string(),
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct],
            json!({"messages": []}).to_string(),
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct],
            json!({"model": 7}).to_string(),
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct],
            format!(
                "{{\"model\": \"lyric-4\", \"x\": \"{}\"}}",
                "a".repeat(5000)
            ),
            413,
            "request_too_large",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct],
            hello("fable-6").to_string(),
            404,
            "model_not_found",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct],
            hello("fаble-5").to_string(),
            404,
            "model_not_found",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct],
            hello("gpt-4o").to_string(),
            404,
            "model_not_found",
        ),
        (
            "/v1/chat/completions?model=fable-5",
            vec![json_ct],
            hello("lyric-4").to_string(),
            400,
            "invalid_request",
        ),
        (
            "/v1/chat/completions",
            vec![json_ct, ("x-model", "fable-5")],
            hello("lyric-4").to_string(),
            400,
            "invalid_request",
        ),
        (
            "//v1/chat/completions",
            vec![json_ct],
            hello("lyric-4").to_string(),
            404,
            "not_found",
        ),
        (
            "/v1/chat/completions/",
            vec![json_ct],
            hello("lyric-4").to_string(),
            404,
            "not_found",
        ),
        (
            "/v1%2Fchat/completions",
            vec![json_ct],
            hello("lyric-4").to_string(),
            404,
            "not_found",
        ),
        (
            "/v1/models/../chat/completions",
            vec![json_ct],
            hello("lyric-4").to_string(),
            404,
            "not_found",
        ),
    ];
    for (path, mut headers, body, status, code) in cases {
        headers.push(("authorization", key.as_str()));
        let r = h.send("POST", path, &headers, body.clone()).await;
        assert_eq!(
            r.status,
            status,
            "{path} {body:.60}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.json()["error"]["code"], code, "{path} {body:.60}");
    }
    assert_eq!(h.upstream_requests(), before);
    // Odd spellings of an allowed model still work and are resolved.
    assert_eq!(
        h.chat("us-citizen", hello(" LYRIC-4-2026-03-02 "))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn forwarding_headers_are_believed_only_from_trusted_proxies() {
    let h = start(Setup::default()).await;
    let key = format!("Bearer {}", h.key("us-citizen"));
    // Untrusted peer claims to be in Iran: ignored, loopback counts as the US.
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &key),
                ("content-type", "application/json"),
                ("x-forwarded-for", "2.144.0.1"),
            ],
            hello("lyric-4").to_string(),
        )
        .await;
    assert_eq!(r.status, 200);
    let h = start(Setup {
        trusted_proxies: vec!["127.0.0.1/32"],
        ..Setup::default()
    })
    .await;
    let key = format!("Bearer {}", h.key("us-citizen"));
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &key),
                ("content-type", "application/json"),
                ("x-forwarded-for", "2.144.0.1"),
            ],
            hello("lyric-4").to_string(),
        )
        .await;
    assert_eq!(r.status, 451, "a trusted proxy says the client is in Iran");
    assert_eq!(
        r.header("x-cordon-directive"),
        "ofac-comprehensive-sanctions"
    );
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &key),
                ("content-type", "application/json"),
                ("forwarded", "for=8.8.8.8"),
            ],
            hello("lyric-4").to_string(),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &key),
                ("content-type", "application/json"),
                ("x-forwarded-for", "garbage"),
            ],
            hello("lyric-4").to_string(),
        )
        .await;
    assert_eq!(
        r.status, 451,
        "an unreadable chain from a trusted proxy leaves the location unknown: fail closed"
    );
}

#[tokio::test]
async fn obligations_are_applied_before_forwarding_and_named_in_a_header() {
    let dir = std::env::temp_dir().join(format!("cordon-gw-partial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
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
        std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
    }
    let h = start(Setup {
        directives: Directives::Dir(dir.clone()),
        ..Setup::default()
    })
    .await;
    let body = json!({"model": "fable-5", "max_tokens": 9000, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto", "messages": [{"role": "user", "content": "Hi"}]});
    let r = h.chat("foreign-national", body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-cordon-effect"), "allow_with_obligations");
    assert_eq!(
        r.header("x-cordon-obligations"),
        "max_tokens=4096, remove=tools"
    );
    let seen = h.mock.state.last_body.lock().unwrap().clone().unwrap();
    assert_eq!(seen["max_tokens"], 4096);
    assert!(seen.get("tools").is_none() && seen.get("tool_choice").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn models_lists_only_what_the_caller_may_use() {
    let h = start(Setup::default()).await;
    let list = |r: Reply| -> Vec<String> {
        r.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let us = list(
        h.send(
            "GET",
            "/v1/models",
            &[("authorization", &format!("Bearer {}", h.key("us-citizen")))],
            "",
        )
        .await,
    );
    assert!(
        us.contains(&"fable-5".to_owned()) && us.contains(&"mythos-5".to_owned()),
        "{us:?}"
    );
    let foreign = list(
        h.send(
            "GET",
            "/v1/models",
            &[(
                "authorization",
                &format!("Bearer {}", h.key("foreign-national")),
            )],
            "",
        )
        .await,
    );
    assert!(
        !foreign.contains(&"fable-5".to_owned()) && !foreign.contains(&"mythos-5".to_owned()),
        "{foreign:?}"
    );
    assert!(foreign.contains(&"lyric-4".to_owned()));
}

#[tokio::test]
async fn a_bad_directive_set_is_rejected_on_reload_and_the_old_one_stays() {
    let dir = std::env::temp_dir().join(format!("cordon-gw-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let h = start(Setup {
        directives: Directives::Dir(dir.clone()),
        ..Setup::default()
    })
    .await;
    let v1 = h.gw.compiled().policy.version().to_owned();
    std::fs::write(dir.join("broken.toml"), "id = \"broken\"\n").unwrap();
    assert!(h.gw.reload().is_err());
    assert_eq!(h.gw.compiled().policy.version(), v1);
    assert_eq!(
        h.chat("foreign-national", hello("fable-5")).await.status,
        451,
        "the old set is still enforced"
    );
    std::fs::remove_file(dir.join("broken.toml")).unwrap();
    let text = std::fs::read_to_string(dir.join("foreign-national-frontier.toml")).unwrap();
    std::fs::write(
        dir.join("foreign-national-frontier.toml"),
        text.replace("mode = \"enforced\"", "mode = \"shadow\""),
    )
    .unwrap();
    // The watcher polls every second.
    let deadline = Instant::now() + Duration::from_secs(10);
    while h.gw.compiled().policy.version() == v1 {
        assert!(Instant::now() < deadline, "the change was not picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        h.chat("foreign-national", hello("fable-5")).await.status,
        200
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_decision_api_health_and_metrics() {
    let h = start(Setup::default()).await;
    let body = json!({"subject": {"citizenships": ["US"], "verification": "document_verified"}, "model": "lyric-4", "ip": "2.144.0.1"});
    let r = h.decide(body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["effect"], "deny");
    assert_eq!(r.json()["decided_by"], "ofac-comprehensive-sanctions");
    let r = h
        .send(
            "POST",
            "/v1/decide",
            &[("authorization", "Bearer wrong")],
            body.to_string(),
        )
        .await;
    assert_eq!(r.status, 401);
    let body = json!({"api_key": h.key("foreign-national"), "model": "fable-5", "country": "DE"});
    let r = h.decide(body).await;
    assert_eq!(r.json()["effect"], "deny");
    let r = h.send("GET", "/healthz", &[], "").await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["policy_version"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    h.chat("foreign-national", hello("fable-5")).await;
    let r = h.send("GET", "/metrics", &[], "").await;
    let text = String::from_utf8_lossy(&r.body);
    assert!(text.contains("cordon_decisions_total{effect=\"deny\",directive=\"foreign-national-frontier-2026\",model=\"fable-5\"}"), "{text}");
    assert!(text.contains("cordon_decision_seconds_bucket"));
    assert!(!text.contains(&h.key("foreign-national")));
    h.finish();
}

#[test]
fn the_example_configuration_file_loads() {
    let loaded = Config::load(&root().join("cordon.toml")).unwrap();
    assert_eq!(loaded.config.upstream.len(), 2);
    assert_eq!(loaded.internal_country, Some(CountryCode::US));
    assert!(loaded.config.directives.ends_with("directives"));
    let bad =
        cordon_source::SourceFile::new("c.toml", "listen = \"127.0.0.1:1\"\nlisten_port = 3\n");
    let e = Config::parse(&bad, Path::new(".")).unwrap_err().to_string();
    assert!(e.contains("listen_port"), "{e}");
}

#[tokio::test]
async fn envoy_ext_authz_decides_on_the_original_request() {
    let h = start(Setup::default()).await;
    let before = h.upstream_requests();
    let r = h
        .post(
            "us-citizen",
            "/ext_authz/v1/chat/completions",
            hello("fable-5"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-cordon-effect"), "allow");
    assert_eq!(r.header("x-cordon-model"), "fable-5");
    let r = h
        .post(
            "foreign-national",
            "/ext_authz/v1/chat/completions",
            hello("fable-5"),
        )
        .await;
    assert_eq!(r.status, 451);
    assert_eq!(r.json()["error"]["code"], "cordon_denied");
    let r = h
        .post(
            "foreign-national",
            "/ext_authz/v1/messages",
            json!({"model": "fable-5", "max_tokens": 5, "messages": []}),
        )
        .await;
    assert_eq!(r.json()["type"], "error");
    assert_eq!(
        h.post(
            "us-citizen",
            "/ext_authz/v1/embeddings",
            hello("echo-embed-2")
        )
        .await
        .status,
        404,
        "unknown routes are not authorised"
    );
    assert_eq!(h.upstream_requests(), before, "ext_authz never forwards");
}

#[tokio::test]
async fn nginx_auth_request_answers_200_401_or_403_with_the_refusal_in_headers() {
    let h = start(Setup::default()).await;
    assert_eq!(h.nginx("us-citizen", "fable-5").await.status, 200);
    let r = h.nginx("foreign-national", "fable-5").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-cordon-status"), "451");
    assert_eq!(r.header("x-cordon-code"), "cordon_denied");
    assert!(
        r.header("x-cordon-message")
            .contains("foreign-national-frontier-2026")
    );
    assert_eq!(
        r.header("x-cordon-directive"),
        "foreign-national-frontier-2026"
    );
    let r = h.nginx("us-citizen", "fable-9").await;
    assert_eq!((r.status, r.header("x-cordon-status")), (403, "404"));
    let r = h
        .send(
            "GET",
            "/nginx/auth",
            &[
                ("authorization", "Bearer ck_bad_bad"),
                ("x-original-uri", "/v1/chat/completions"),
                ("x-cordon-model", "lyric-4"),
            ],
            "",
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn authzen_evaluation() {
    let h = start(Setup::default()).await;
    let r = h
        .authzen(
            json!({"type": "account", "id": "us-citizen"}),
            "fable-5",
            json!({"country": "US"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["decision"], true);
    let r = h
        .authzen(
            json!({"type": "account", "id": "foreign-national"}),
            "fable-5",
            json!({"country": "DE"}),
        )
        .await;
    assert_eq!(r.json()["decision"], false);
    assert_eq!(
        r.json()["context"]["reason_admin"]["decided_by"],
        "foreign-national-frontier-2026"
    );
    let r = h.authzen(json!({"type": "subject", "id": "x", "properties": {"citizenships": ["US"], "verification": "document_verified"}}), "lyric-4", json!({"ip": "2.144.0.1"})).await;
    assert_eq!(r.json()["decision"], false, "a request from Iran");
    let r = h
        .authzen(
            json!({"type": "account", "id": "us-citizen"}),
            "fable-5",
            json!({}),
        )
        .await;
    assert_eq!(
        r.json()["decision"],
        false,
        "no location given: unknown, and the sanctions pack fails closed"
    );
    let r = h
        .authzen(json!({"type": "robot", "id": "x"}), "fable-5", json!({}))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn operators_can_choose_403_for_legal_refusals() {
    let h = start(Setup {
        refusal_status: RefusalStatus::Status403,
        ..Setup::default()
    })
    .await;
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["code"], "cordon_denied");
    assert_eq!(r.header("x-should-retry"), "false");
}

#[tokio::test]
async fn aliases_and_snapshots_of_a_restricted_model_are_refused_too() {
    let h = start(Setup::default()).await;
    for model in [
        "fable",
        "FABLE-5",
        "fable-5-2026-09-15",
        "Mythos Latest",
        " mythos ",
    ] {
        assert_eq!(
            h.chat("foreign-national", hello(model)).await.status,
            451,
            "{model}"
        );
    }
}

#[tokio::test]
async fn a_missing_geoip_database_is_a_start_up_error() {
    let mock = mock::start(
        "127.0.0.1:0".parse().unwrap(),
        Duration::ZERO,
        Duration::ZERO,
    )
    .await
    .unwrap();
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndirectives = \"{d}\"\ncatalog = \"{c}\"\nstore = \"/tmp/x.db\"\n[operator]\nname = \"o\"\nurl = \"https://o\"\n[geo]\ndatabases = [\"/nonexistent/geo.mmdb\"]\n[[upstream]]\nname = \"m\"\nurl = \"http://{m}\"\nfamilies = [\"lyric\"]\n",
        d = root().join("directives").display(),
        c = root().join("catalog.toml").display(),
        m = mock.addr
    );
    let loaded = Config::parse(
        &cordon_source::SourceFile::new("c.toml", text.clone()),
        Path::new("."),
    )
    .unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let clock: cordon_gateway::Clock = Arc::new(|| "2026-12-10T00:00:00Z".parse().unwrap());
    let err = Gateway::new(loaded, store.clone(), clock.clone())
        .err()
        .expect("a missing database must stop the start");
    assert!(
        err.to_string().contains("/nonexistent/geo.mmdb")
            && err.to_string().contains("allow_missing"),
        "{err}"
    );
    let text = text.replace("[geo]\n", "[geo]\nallow_missing = true\n");
    let loaded = Config::parse(
        &cordon_source::SourceFile::new("c.toml", text),
        Path::new("."),
    )
    .unwrap();
    assert!(
        Gateway::new(loaded, store, clock).is_ok(),
        "explicitly allowed"
    );
}

#[tokio::test]
async fn during_the_grace_period_unknowns_pass_with_a_warning_header() {
    let h = start(Setup {
        at: "2026-11-25T12:00:00Z",
        ..Setup::default()
    })
    .await;
    let r = h.chat("unverified", hello("mythos-5")).await;
    assert_eq!(r.status, 200);
    let warning = r.header("x-cordon-warning");
    assert!(
        warning.contains("foreign-national-frontier-2026")
            && warning.contains("grace period ends 2026-12-04T00:00:00Z"),
        "{warning}"
    );
    // Known foreign nationals are refused from the effective date, grace or not.
    assert_eq!(
        h.chat("foreign-national", hello("mythos-5")).await.status,
        451
    );
}

#[tokio::test]
async fn one_runtime_per_worker_serves_the_same_gateway_on_one_port() {
    let h = start(Setup::default()).await;
    let servers = cordon_gateway::PerCore::bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
    let addr = servers.local_addr();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let gw = h.gw.clone();
    let thread = std::thread::spawn(move || servers.serve(gw, stopped));
    let per_core = Harness { addr, ..h };
    for _ in 0..8 {
        assert_eq!(
            per_core.chat("us-citizen", hello("lyric-4")).await.status,
            200
        );
        assert_eq!(
            per_core
                .chat("foreign-national", hello("fable-5"))
                .await
                .status,
            451
        );
    }
    stop.send(true).unwrap();
    tokio::task::spawn_blocking(move || thread.join().unwrap().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_screening_api_answers_from_the_loaded_lists() {
    let h = start(Setup::default()).await;
    let body = json!({"name": "Radovan KARADZIC", "type": "person"}).to_string();
    let auth = [("authorization", "Bearer t0ken")];
    // Before any lists are loaded the endpoint says so rather than "no hit".
    let r = h.send("POST", "/v1/screen", &auth, body.clone()).await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));

    let sdn = std::fs::read(root().join("data/sanctions/sdn.csv")).unwrap();
    let snapshot = cordon_screening::snapshot::import(&[cordon_screening::lists::ListFile {
        name: "sdn.csv",
        bytes: &sdn,
    }])
    .unwrap();
    h.gw.set_screening(cordon_gateway::Screening {
        screener: cordon_screening::screener::Screener::new(snapshot.entries),
        snapshot: json!({"content_hash": snapshot.content_hash}),
    });
    let r = h.send("POST", "/v1/screen", &auth, body.clone()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["hits"][0]["list"], "SDN");
    assert_eq!(v["hits"][0]["uid"], "7705");
    assert_eq!(v["snapshot"]["content_hash"], json!(snapshot.content_hash));

    let r = h
        .send(
            "POST",
            "/v1/screen",
            &[("authorization", "Bearer wrong")],
            body,
        )
        .await;
    assert_eq!(r.status, 401);
    let r = h
        .send(
            "POST",
            "/v1/screen",
            &auth,
            json!({"name": "x", "type": "ship"}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`type`")
    );
    let r = h
        .send(
            "POST",
            "/v1/screen",
            &auth,
            json!({"name": "x".repeat(5000)}).to_string(),
        )
        .await;
    assert_eq!(r.status, 400);
}
