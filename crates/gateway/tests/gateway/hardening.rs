//! What an unauthenticated or hostile request body cannot do: fill the
//! audit log, smuggle a second model past the decision, or get an answer in
//! any shape but the API's own.

use std::time::Duration;

use cordon_audit::leaf::{self, Record};
use cordon_audit_log::LogReader;
use serde_json::json;

use super::{Setup, hello, start};

#[tokio::test]
async fn a_huge_model_name_is_refused_and_recorded_bounded() {
    let h = start(Setup {
        audit: Some(super::audit::Trail::default()),
        token_delay: Duration::from_millis(1),
        max_body: 2 * 1024 * 1024,
        ..Setup::default()
    })
    .await;
    let name = "x".repeat(1024 * 1024);
    let r = h
        .chat(
            "us-citizen",
            json!({"model": name, "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", &r.text()[..200.min(r.text().len())]);
    assert!(
        r.body.len() < 4096,
        "the refusal echoes a bounded name: {} bytes",
        r.body.len()
    );
    let index: u64 = r
        .header(cordon_gateway::audit::AUDIT_INDEX)
        .parse()
        .unwrap();
    let reader = LogReader::open(h.dir.join("audit")).unwrap();
    let Record::Decision(d) = leaf::decode(&reader.entry(index).unwrap()).unwrap() else {
        panic!("not a decision")
    };
    assert!(d.model_requested.len() < 200, "{}", d.model_requested.len());
    assert!(d.model_requested.contains("sha256:"));
    assert_eq!(d.effect, "deny");
    // An ordinary request still goes through after it.
    let r = h.chat("us-citizen", hello("lyric-4")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn a_second_model_in_the_body_is_a_400_and_reaches_no_upstream() {
    let h = start(Setup::default()).await;
    let auth = format!("Bearer {}", h.key("foreign-national"));
    for body in [
        // A parser that takes the first `model` would serve fable-5.
        r#"{"model": "fable-5", "model": "lyric-4", "messages": [{"role": "user", "content": "Hi"}]}"#,
        r#"{"model": "fable-5", "m\u006fdel": "lyric-4", "messages": []}"#,
        r#"{"model": "lyric-4", "models": ["fable-5"], "messages": []}"#,
        r#"{"model": "lyric-4", "extra_body": {"model": "fable-5"}, "messages": []}"#,
    ] {
        let r = h
            .send(
                "POST",
                "/v1/chat/completions",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                body.to_owned(),
            )
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["type"], "invalid_request_error");
        assert!(r.json()["error"]["param"].is_string(), "{}", r.text());
        assert!(!r.header("x-cordon-decision-id").is_empty());
    }
    assert_eq!(h.upstream_requests(), 0);
    h.finish();
}

#[tokio::test]
async fn a_wrong_method_and_an_oversized_declared_body_are_answered_in_the_api_s_shape() {
    let h = start(Setup {
        max_body: 1024,
        ..Setup::default()
    })
    .await;
    let r = h.send("GET", "/v1/chat/completions", &[], "").await;
    assert_eq!(r.status, 405, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    assert!(!r.header("x-cordon-decision-id").is_empty());
    let r = h
        .send(
            "DELETE",
            "/v1/messages",
            &[("anthropic-version", "2023-06-01")],
            "",
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["type"], "error", "Anthropic's shape: {}", r.text());

    // A declared length over the limit: 413 from the headers alone.
    let auth = format!("Bearer {}", h.key("us-citizen"));
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("content-length", "999999"),
            ],
            "",
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "request_too_large");
    // The decision API checks its token before reading anything.
    let r = h
        .send(
            "POST",
            "/v1/decide",
            &[
                ("authorization", "Bearer wrong"),
                ("content-length", "999999"),
            ],
            "",
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = h
        .send(
            "POST",
            "/v1/decide",
            &[("authorization", "Bearer t0ken")],
            "x".repeat(4096),
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "request_too_large");
    h.finish();
}

/// Reads from a raw connection until the server closes it or `within`
/// passes; returns what arrived and whether it closed.
async fn until_closed(tcp: &mut tokio::net::TcpStream, within: Duration) -> (Vec<u8>, bool) {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (got, closed)
}

fn limits(header: u64, body: u64, per_ip: usize) -> cordon_gateway::config::Limits {
    cordon_gateway::config::Limits {
        header_read_timeout_secs: header,
        body_read_timeout_secs: body,
        max_connections_per_ip: per_ip,
        ..cordon_gateway::config::Limits::default()
    }
}

#[tokio::test]
async fn slow_headers_a_trickled_body_and_an_idle_connection_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let h = start(Setup {
        limits: limits(1, 1, 0),
        ..Setup::default()
    })
    .await;
    // Headers that never end: closed, with no request handled.
    let mut slow = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    slow.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let (_, closed) = until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(
        closed,
        "a connection that never finishes its headers is closed"
    );

    // A body that stops arriving: 408 in the API's shape.
    let key = h.key("us-citizen");
    let mut trickle = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    trickle
        .write_all(
            format!(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"model\""
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let (answer, _) = until_closed(&mut trickle, Duration::from_secs(5)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // A kept-alive connection left idle after its answer: closed.
    let mut idle = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    assert!(closed, "an idle keep-alive connection is closed");
    h.finish();
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections() {
    let h = start(Setup {
        limits: limits(30, 30, 3),
        ..Setup::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(h.addr).await.unwrap());
    }
    // Let the gateway count them.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while h.gw.connections.open_from("127.0.0.1".parse().unwrap()) < 3 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut fourth = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let (_, closed) = until_closed(&mut fourth, Duration::from_secs(5)).await;
    assert!(
        closed,
        "the fourth connection from one address is closed at once"
    );
    assert_eq!(h.gw.connections.refused(), 1);
    // One of the three goes away: a new connection is served again.
    drop(held.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while h.gw.connections.open_from("127.0.0.1".parse().unwrap()) > 2 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let r = h.send("GET", "/healthz", &[], "").await;
    assert_eq!(r.status, 200);
    h.finish();
}

#[tokio::test]
async fn headers_over_the_limits_are_a_431_in_the_api_s_shape() {
    let h = start(Setup::default()).await;
    let auth = format!("Bearer {}", h.key("us-citizen"));
    let big = "x".repeat(40 * 1024);
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[("authorization", &auth), ("x-padding", &big)],
            "{}",
        )
        .await;
    assert_eq!(r.status, 431, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "request_too_large");
    assert!(!r.header("x-cordon-decision-id").is_empty());
    // Too many fields, to the Anthropic API: its shape.
    let names: Vec<String> = (0..150).map(|i| format!("x-h{i}")).collect();
    let mut headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    headers.push(("anthropic-version", "2023-06-01"));
    let r = h.send("POST", "/v1/messages", &headers, "{}").await;
    assert_eq!(r.status, 431, "{}", r.text());
    assert_eq!(r.json()["type"], "error", "{}", r.text());
    assert_eq!(h.upstream_requests(), 0);
    // Within the limits, the same request is decided as usual.
    let r = h
        .send(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", &auth),
                ("x-padding", "small"),
                ("content-type", "application/json"),
            ],
            r#"{"model":"lyric-4","messages":[{"role":"user","content":"Hi"}]}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    h.finish();
}
