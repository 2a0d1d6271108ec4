//! Requests to other servers over HTTPS: the operator's CA trusted through
//! `egress.ca_bundle`, HTTP/2 by ALPN, pooled connections; an unknown CA,
//! a certificate for another name, a refused connection, a server that
//! never answers and an answer too large, each refused with the URL and
//! the reason; JWK Sets and vendor refetches over HTTPS through the
//! gateway.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::{Method, Version};
use cordon_gateway::egress::{Egress, EgressConfig, Failure};
use serde_json::json;

use crate::keys::{assert, fetched, issuer_at, token, until};
use crate::tls::{Ca, Logs, Provider, serve_http, serve_https, set_of};
use crate::{Harness, Setup, start};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cordon-egress-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn trusting(ca: Option<&Path>) -> EgressConfig {
    EgressConfig {
        ca_bundle: ca.map(Path::to_path_buf),
        ..EgressConfig::default()
    }
}

/// Accepts connections and counts them, without ever answering.
async fn silent_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn https_with_the_operator_s_ca_speaks_http2_by_alpn_over_one_pooled_connection() {
    let dir = temp_dir("good");
    let ca = Ca::new("Cordon test CA");
    let bundle = ca.write(&dir, "ca.pem");
    let idp = Provider::new(set_of("a", 1));
    let (addr, connections) =
        serve_https(idp.router(), ca.server_cert(&["127.0.0.1", "localhost"])).await;
    let egress = Egress::new(&trusting(Some(&bundle))).unwrap();
    let url = format!("https://127.0.0.1:{}/jwks", addr.port());
    for _ in 0..3 {
        let got = egress
            .fetch(Method::GET, &url, &[], 64 * 1024)
            .await
            .unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(
            got.headers["cache-control"].to_str().unwrap(),
            "public, max-age=3600"
        );
        let set: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(set["keys"][0]["kid"], "a");
    }
    assert_eq!(*idp.versions.lock().unwrap(), vec![Version::HTTP_2; 3]);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one pooled connection"
    );

    // The name in the URL is what the certificate is checked against.
    let by_name = format!("https://localhost:{}/jwks", addr.port());
    assert_eq!(
        egress
            .fetch(Method::GET, &by_name, &[], 64 * 1024)
            .await
            .unwrap()
            .status,
        200
    );

    // Plain HTTP to loopback, HTTP/1.1.
    let plain = serve_http(idp.router(), "127.0.0.1:0".parse().unwrap()).await;
    let got = egress
        .fetch(Method::GET, &format!("http://{plain}/jwks"), &[], 64 * 1024)
        .await
        .unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(idp.versions.lock().unwrap().last(), Some(&Version::HTTP_11));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unknown_ca_and_a_certificate_for_another_name_are_refused_and_named() {
    let dir = temp_dir("bad-certs");
    let ca = Ca::new("Cordon test CA");
    let bundle = ca.write(&dir, "ca.pem");
    let idp = Provider::new(set_of("a", 1));
    let (good, _) = serve_https(idp.router(), ca.server_cert(&["127.0.0.1"])).await;
    let url = format!("https://127.0.0.1:{}/jwks", good.port());

    // The built-in roots alone do not know the test's CA.
    let e = Egress::new(&EgressConfig::default())
        .unwrap()
        .fetch(Method::GET, &url, &[], 1024)
        .await
        .unwrap_err();
    assert!(matches!(e.failure, Failure::UnknownCa), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "`{url}`: the server's certificate is not issued by a trusted certificate authority (unknown CA); if the server uses a private CA, add that CA to `egress.ca_bundle`"
        )
    );

    // A certificate the trusted CA issued for another name.
    let (other, _) = serve_https(idp.router(), ca.server_cert(&["sso.example.test"])).await;
    let url = format!("https://127.0.0.1:{}/jwks", other.port());
    let e = Egress::new(&trusting(Some(&bundle)))
        .unwrap()
        .fetch(Method::GET, &url, &[], 1024)
        .await
        .unwrap_err();
    assert!(matches!(e.failure, Failure::WrongName { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "`{url}`: the server's certificate is not valid for the name `127.0.0.1` (it names `sso.example.test`)"
        )
    );
    assert_eq!(idp.fetches(), 0, "nothing was sent to either server");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn refusals_timeouts_and_oversized_answers_are_named() {
    let egress = Egress::new(&EgressConfig {
        timeout_secs: 1,
        ..EgressConfig::default()
    })
    .unwrap();

    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{free}/jwks");
    let e = egress
        .fetch(Method::GET, &url, &[], 1024)
        .await
        .unwrap_err();
    assert!(matches!(e.failure, Failure::Refused), "{e:?}");
    assert_eq!(e.to_string(), format!("`{url}`: connection refused"));

    let (silent, _) = silent_server().await;
    let url = format!("http://{silent}/jwks");
    let started = Instant::now();
    let e = egress
        .fetch(Method::GET, &url, &[], 1024)
        .await
        .unwrap_err();
    assert!(matches!(e.failure, Failure::Timeout(_)), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        e.to_string(),
        format!("`{url}`: no complete answer within 1 s (`egress.timeout_secs`)")
    );

    let app = axum::Router::new()
        .route(
            "/big",
            axum::routing::get(|| async { vec![b'x'; 300 * 1024] }),
        )
        .route(
            "/streamed",
            axum::routing::get(|| async {
                let chunks = (0..300).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 1024]));
                axum::body::Body::from_stream(futures_util::stream::iter(chunks))
            }),
        );
    let big = serve_http(app, "127.0.0.1:0".parse().unwrap()).await;
    for path in ["big", "streamed"] {
        let url = format!("http://{big}/{path}");
        let e = egress
            .fetch(Method::GET, &url, &[], 256 * 1024)
            .await
            .unwrap_err();
        assert!(matches!(e.failure, Failure::TooLarge { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("`{url}`: the answer is larger than 262144 bytes")
        );
        assert!(
            egress
                .fetch(Method::GET, &url, &[], 400 * 1024)
                .await
                .is_ok()
        );
    }

    let e = egress
        .fetch(Method::GET, "ftp://example.test/x", &[], 1)
        .await
        .unwrap_err();
    assert!(matches!(e.failure, Failure::BadUrl(_)), "{e:?}");
}

#[test]
fn a_ca_bundle_that_cannot_be_used_stops_the_start_naming_the_field() {
    let dir = temp_dir("bundle");
    let missing = dir.join("missing.pem");
    let (field, message) = trusting(Some(&missing)).problem().unwrap();
    assert_eq!(field, "egress.ca_bundle");
    assert!(message.contains("missing.pem"), "{message}");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let (_, message) = trusting(Some(&empty)).problem().unwrap();
    assert!(message.contains("holds no PEM certificate"), "{message}");
    let ca = Ca::new("Cordon test CA");
    assert_eq!(trusting(Some(&ca.write(&dir, "ca.pem"))).problem(), None);
    let zero = EgressConfig {
        timeout_secs: 0,
        ..EgressConfig::default()
    };
    assert_eq!(zero.problem().unwrap().0, "egress.timeout_secs");
    let _ = std::fs::remove_dir_all(dir);
}

/// A Veriff decision webhook for `unverified` to the refetching source.
async fn veriff_webhook(h: &Harness, attempt: &str) -> crate::Reply {
    let body = json!({"status": "success", "verification": {
        "id": "sess-9", "attemptId": attempt, "code": 9001, "status": "approved",
        "vendorData": "unverified", "decisionTime": "2026-12-07T10:00:00.000Z",
        "person": {"nationality": "US"},
        "document": {"type": "PASSPORT", "country": "US", "validUntil": "2031-01-01"}
    }})
    .to_string();
    let sig = crate::hex_hmac(crate::VERIFF_SECRET, body.as_bytes());
    h.send(
        "POST",
        "/v1/verification/webhooks/veriff-api",
        &[
            ("content-type", "application/json"),
            ("x-hmac-signature", &sig),
            ("x-auth-client", "veriff-api-key"),
        ],
        body,
    )
    .await
}

/// A gateway whose issuer and refetching vendor are both the provider at
/// `addr`, over HTTPS, trusting `bundle` if given.
async fn gateway_for(addr: SocketAddr, bundle: Option<&Path>) -> Harness {
    let base = format!("https://127.0.0.1:{}", addr.port());
    start(Setup {
        issuer: Some(issuer_at(&format!("{base}/jwks"))),
        vendor_api: Some(base),
        egress: Some(trusting(bundle)),
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn the_gateway_fetches_key_sets_and_refetches_over_https() {
    let dir = temp_dir("gw-good");
    let ca = Ca::new("Cordon test CA");
    let bundle = ca.write(&dir, "ca.pem");
    let idp = Provider::new(set_of("a", 1));
    let (addr, _) = serve_https(idp.router(), ca.server_cert(&["127.0.0.1"])).await;
    let h = gateway_for(addr, Some(&bundle)).await;
    fetched(&h, 1).await;
    let r = assert(&h, token("a", 1, "t1")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let r = veriff_webhook(&h, "a1").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(idp.decisions(), 1);
    let rows = h.store.evidence("unverified").unwrap();
    assert!(rows.iter().any(|r| r.source == "veriff-api"), "{rows:?}");
    h.finish();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unknown_ca_answers_503_for_refetches_and_assertions_and_is_logged() {
    let (logs, _guard) = Logs::capture();
    let ca = Ca::new("Cordon test CA");
    let idp = Provider::new(set_of("a", 1));
    let (addr, _) = serve_https(idp.router(), ca.server_cert(&["127.0.0.1"])).await;
    let h = gateway_for(addr, None).await;
    until("the start fetch fails", || {
        logs.has(&["WARN", "could not be fetched", "unknown CA"])
    })
    .await;

    let r = veriff_webhook(&h, "a1").await;
    assert_eq!(r.status, 503, "{}", r.text());
    let expected = format!(
        "`https://127.0.0.1:{}/v1/sessions/sess-9/decision`: the server's certificate is not issued by a trusted certificate authority (unknown CA)",
        addr.port()
    );
    assert!(r.text().contains(&expected), "{}", r.text());
    assert!(
        logs.has(&["WARN", "could not be refetched", &expected]),
        "{:#?}",
        logs.lines()
    );

    let r = assert(&h, token("a", 1, "t1")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("unknown CA"), "{}", r.text());
    assert!(h.store.evidence("unverified").unwrap().is_empty());
    assert_eq!(idp.fetches() + idp.decisions(), 0);
    h.finish();
}

#[tokio::test]
async fn a_certificate_for_another_name_answers_503() {
    let dir = temp_dir("gw-name");
    let ca = Ca::new("Cordon test CA");
    let bundle = ca.write(&dir, "ca.pem");
    let idp = Provider::new(set_of("a", 1));
    let (addr, _) = serve_https(idp.router(), ca.server_cert(&["sso.example.test"])).await;
    let h = gateway_for(addr, Some(&bundle)).await;

    let r = veriff_webhook(&h, "a1").await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.text()
            .contains("not valid for the name `127.0.0.1` (it names `sso.example.test`)"),
        "{}",
        r.text()
    );
    let r = assert(&h, token("a", 1, "t1")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("not valid for the name"), "{}", r.text());
    h.finish();
    let _ = std::fs::remove_dir_all(dir);
}
