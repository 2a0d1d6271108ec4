//! TLS on the gateway's own listener: HTTP/2 and HTTP/1.1 by ALPN, the
//! customer's request decided as over plain HTTP, and a renewed certificate
//! served after a reload without a restart.

use std::path::Path;

use axum::http::{Method, Request, Version, header};
use bytes::Bytes;
use cordon_gateway::egress::{Egress, EgressConfig, client_tls};
use cordon_gateway::listener_tls::ListenerTlsConfig;
use http_body_util::{BodyExt, Full};

use super::tls::Ca;
use super::{Setup, hello, start};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cordon-listener-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes a certificate for 127.0.0.1 issued by `ca` where the gateway reads it.
fn install(ca: &Ca, dir: &Path) -> ListenerTlsConfig {
    let (cert, key) = ca.server_cert_pem(&["127.0.0.1"]);
    std::fs::write(dir.join("server.pem"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
    ListenerTlsConfig {
        certificate: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// A fresh client (no pooled connection) trusting only what `bundle` holds
/// besides the public roots.
fn client(bundle: &Path) -> Egress {
    let config = EgressConfig::default();
    Egress::with_tls(&config, client_tls(&config, Some(bundle), None).unwrap())
}

#[tokio::test]
async fn the_listener_speaks_tls_decides_as_usual_and_serves_a_renewed_certificate_after_a_reload()
{
    let dir = temp_dir("serve");
    let first = Ca::new("Listener CA one");
    let first_bundle = first.write(&dir, "one.pem");
    let tls = install(&first, &dir);
    let h = start(Setup {
        tls: Some(tls),
        ..Setup::default()
    })
    .await;
    let base = format!("https://127.0.0.1:{}", h.addr.port());

    // HTTP/2 by ALPN, and the request decided exactly as over plain HTTP.
    let chat = |key: String| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("{base}/v1/chat/completions"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(hello("fable-5").to_string())))
            .unwrap()
    };
    let c = client(&first_bundle);
    let r = c.send(chat(h.key("us-citizen"))).await.unwrap();
    assert_eq!(r.version(), Version::HTTP_2);
    assert_eq!(r.status(), 200);
    let r = c.send(chat(h.key("foreign-national"))).await.unwrap();
    assert_eq!(r.status(), 451);
    let body = r.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("foreign-national-frontier-2026"));

    // Plain HTTP on the TLS port gets no answer from the API.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(h.addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tcp.read_to_end(&mut answer),
        )
        .await;
        assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
    }

    // A renewed certificate from another CA: new connections get it.
    let second = Ca::new("Listener CA two");
    let second_bundle = second.write(&dir, "two.pem");
    install(&second, &dir);
    h.gw.tls.as_ref().unwrap().reload().unwrap();
    let fetched = client(&second_bundle)
        .fetch(Method::GET, &format!("{base}/healthz"), &[], 1 << 16)
        .await
        .unwrap();
    assert_eq!(fetched.status, 200);
    let refused = client(&first_bundle)
        .fetch(Method::GET, &format!("{base}/healthz"), &[], 1 << 16)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("unknown CA"), "{refused}");

    // A broken renewal is refused and the served certificate stays.
    std::fs::write(dir.join("server.key"), "not a key").unwrap();
    let e = h.gw.tls.as_ref().unwrap().reload().unwrap_err();
    assert!(e.to_string().contains("server.key"), "{e}");
    let still = client(&second_bundle)
        .fetch(Method::GET, &format!("{base}/healthz"), &[], 1 << 16)
        .await
        .unwrap();
    assert_eq!(still.status, 200);
    h.finish();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_certificate_and_key_that_do_not_go_together_are_refused_naming_the_file() {
    let dir = temp_dir("mismatch");
    let ca = Ca::new("Listener CA");
    let (cert, _) = ca.server_cert_pem(&["127.0.0.1"]);
    let (_, other_key) = ca.server_cert_pem(&["127.0.0.1"]);
    std::fs::write(dir.join("c.pem"), cert).unwrap();
    std::fs::write(dir.join("k.pem"), other_key).unwrap();
    let config = ListenerTlsConfig {
        certificate: dir.join("c.pem"),
        key: dir.join("k.pem"),
    };
    let e = cordon_gateway::listener_tls::ListenerTls::new(&config).unwrap_err();
    assert!(e.to_string().contains("k.pem"), "{e}");
    let missing = ListenerTlsConfig {
        certificate: dir.join("none.pem"),
        key: dir.join("k.pem"),
    };
    let e = cordon_gateway::listener_tls::ListenerTls::new(&missing).unwrap_err();
    assert!(e.to_string().contains("none.pem"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}
