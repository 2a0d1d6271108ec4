//! HTTPS upstreams: the gateway forwards an allowed request over TLS
//! (HTTP/2 when offered), trusting only the roots it is told to, presenting
//! a client certificate when the upstream asks, and answers a clear 502
//! with a log line when the upstream's certificate is not trusted.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Version};
use axum::routing::post;
use cordon_gateway::config::{Upstream, UpstreamApi};
use serde_json::{Value, json};

use super::tls::{Ca, Logs, serve_tls};
use super::{Harness, Setup, hello, start};

/// What the upstream saw of each request: HTTP version, headers and body.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(Version, HeaderMap, Value)>>>);

impl Seen {
    fn all(&self) -> Vec<(Version, HeaderMap, Value)> {
        self.0.lock().unwrap().clone()
    }
}

/// An OpenAI-shaped upstream that answers every chat request.
fn provider(seen: &Seen) -> axum::Router {
    let seen = seen.clone();
    axum::Router::new().route(
        "/v1/chat/completions",
        post(move |req: axum::extract::Request| {
            let seen = seen.clone();
            async move {
                let (parts, body) = req.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let body: Value = serde_json::from_slice(&bytes).unwrap();
                seen.0
                    .lock()
                    .unwrap()
                    .push((parts.version, parts.headers, body));
                axum::Json(json!({"id": "chatcmpl-tls", "object": "chat.completion",
                    "model": "fable-5", "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "over TLS"}}]}))
            }
        }),
    )
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cordon-upstream-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn upstream(port: u16, ca_bundle: Option<&Path>) -> Upstream {
    Upstream {
        name: "provider".into(),
        url: format!("https://127.0.0.1:{port}"),
        models: vec![],
        families: vec![
            "fable".into(),
            "mythos".into(),
            "lyric".into(),
            "echo".into(),
        ],
        api: UpstreamApi::Openai,
        api_key: Some("sk-upstream".into()),
        ca_bundle: ca_bundle.map(Path::to_path_buf),
        client_certificate: None,
        client_key: None,
    }
}

async fn gateway(upstream: Upstream) -> Harness {
    start(Setup {
        upstream: Some(upstream),
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn an_allowed_request_reaches_an_https_upstream_over_http2_with_only_its_own_key_header() {
    let dir = temp_dir("good");
    let ca = Ca::new("Upstream test CA");
    let bundle = ca.write(&dir, "ca.pem");
    let seen = Seen::default();
    let (addr, _) = serve_tls(provider(&seen), ca.server_cert(&["127.0.0.1"]), None).await;
    let h = gateway(upstream(addr.port(), Some(&bundle))).await;
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["choices"][0]["message"]["content"], "over TLS");
    let r = h.chat("us-citizen", hello("lyric-4")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = seen.all();
    assert_eq!(seen.len(), 2);
    let (version, headers, body) = &seen[0];
    assert_eq!(*version, Version::HTTP_2, "HTTP/2 by ALPN");
    assert_eq!(headers["authorization"], "Bearer sk-upstream");
    assert!(
        headers.get("x-api-key").is_none(),
        "an OpenAI upstream gets only its header"
    );
    assert_eq!(body["model"], "fable-5");
    // A refused request never reaches it.
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 451);
    assert_eq!(seen.len(), 2);
    h.finish();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_untrusted_or_misnamed_upstream_certificate_is_a_502_and_a_log_line() {
    let (logs, _guard) = Logs::capture();
    let ca = Ca::new("Unknown test CA");
    let seen = Seen::default();
    // Nothing trusts this CA.
    let (addr, _) = serve_tls(provider(&seen), ca.server_cert(&["127.0.0.1"]), None).await;
    let h = gateway(upstream(addr.port(), None)).await;
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "upstream_error");
    assert!(
        r.text().contains("TLS: its certificate is not trusted"),
        "{}",
        r.text()
    );
    assert!(!r.header("x-cordon-decision-id").is_empty());
    assert!(
        logs.has(&["upstream request failed", "unknown CA"]),
        "{:?}",
        logs.lines()
    );
    h.finish();

    // Trusted, but for another name.
    let dir = temp_dir("name");
    let bundle = ca.write(&dir, "ca.pem");
    let (addr, _) = serve_tls(
        provider(&seen),
        ca.server_cert(&["api.example.invalid"]),
        None,
    )
    .await;
    let h = gateway(upstream(addr.port(), Some(&bundle))).await;
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        logs.has(&[
            "upstream request failed",
            "not valid for the name `127.0.0.1`",
            "api.example.invalid"
        ]),
        "{:?}",
        logs.lines()
    );
    assert!(
        seen.all().is_empty(),
        "no request went to an untrusted upstream"
    );
    h.finish();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_upstream_that_asks_for_a_client_certificate_gets_the_configured_one() {
    let dir = temp_dir("mtls");
    let server_ca = Ca::new("Upstream server CA");
    let client_ca = Ca::new("Upstream client CA");
    let bundle = server_ca.write(&dir, "ca.pem");
    let (cert, key) = client_ca.client_cert_pem("cordon-gateway");
    std::fs::write(dir.join("client.pem"), cert).unwrap();
    std::fs::write(dir.join("client.key"), key).unwrap();
    let seen = Seen::default();
    let (addr, _) = serve_tls(
        provider(&seen),
        server_ca.server_cert(&["127.0.0.1"]),
        Some(&client_ca),
    )
    .await;
    // Without a client certificate the upstream refuses the handshake.
    let h = gateway(upstream(addr.port(), Some(&bundle))).await;
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 502, "{}", r.text());
    h.finish();
    let mut with_identity = upstream(addr.port(), Some(&bundle));
    with_identity.client_certificate = Some(dir.join("client.pem"));
    with_identity.client_key = Some(dir.join("client.key"));
    let h = gateway(with_identity).await;
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(seen.all().len(), 1);
    h.finish();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn upstream_tls_settings_are_checked_with_the_field_named() {
    use cordon_gateway::Config;
    let dir = temp_dir("config");
    let base = "listen = \"127.0.0.1:1\"\ndirectives = \"d\"\ncatalog = \"c.toml\"\n[operator]\nname = \"o\"\nurl = \"https://o\"\n";
    let parse = |upstream: &str| {
        let text = format!("{base}[[upstream]]\nname = \"u\"\nfamilies = [\"fable\"]\n{upstream}");
        Config::parse(&cordon_source::SourceFile::new("c.toml", text), &dir)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    parse("url = \"https://api.openai.com\"\n").unwrap();
    let e = parse("url = \"ftp://x\"\n").unwrap_err();
    assert!(
        e.contains("upstream[0].url") && e.contains("https:// or http://"),
        "{e}"
    );
    let e = parse("url = \"http://x\"\nca_bundle = \"ca.pem\"\n").unwrap_err();
    assert!(
        e.contains("upstream[0].ca_bundle") && e.contains("plain http://"),
        "{e}"
    );
    let e = parse("url = \"https://x\"\nclient_certificate = \"c.pem\"\n").unwrap_err();
    assert!(e.contains("`client_key` is missing"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
