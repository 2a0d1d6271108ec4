//! What is never OK: malformed check requests, bad keys, Cordon unable to
//! decide or to record; and the server stopping when told to.

use cordon_audit_log::Fault;

use super::*;

/// Asserts a denied 400 whose body names `needle`, in OpenAI's shape.
fn assert_bad_request(a: &Answer, needle: &str) {
    assert!(!a.allowed(), "{a:?}");
    assert_eq!((a.grpc, a.status), (7, 400), "{a:?}");
    assert_eq!(a.json()["error"]["code"], "invalid_request", "{a:?}");
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains(needle),
        "`{needle}` not in {}",
        a.body
    );
    assert!(a.header("x-cordon-decision-id").starts_with("dec_"));
}

#[tokio::test]
async fn malformed_check_requests_are_denied_with_a_400_never_ok() {
    let h = start(Setup::default()).await;
    let auth = format!("Bearer {}", h.key("us-citizen"));
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let body = hello("fable-5").to_string();

    // No HTTP attributes at all.
    let a = h.check(CheckRequest::default()).await;
    assert_bad_request(&a, "`attributes.request.http`");

    // Envoy without `with_request_body`: no body, no partial-body marker.
    let mut check = envoy_check("POST", "/v1/chat/completions", &headers, "");
    let http = check
        .attributes
        .as_mut()
        .unwrap()
        .request
        .as_mut()
        .unwrap()
        .http
        .as_mut()
        .unwrap();
    http.headers.remove("x-envoy-auth-partial-body");
    http.size = -1;
    assert_bad_request(&h.check(check).await, "`with_request_body`");

    // A raw body that is not UTF-8, and Anthropic's shape for its path.
    let mut check = envoy_check("POST", "/v1/messages", &headers, "");
    let http = check
        .attributes
        .as_mut()
        .unwrap()
        .request
        .as_mut()
        .unwrap()
        .http
        .as_mut()
        .unwrap();
    http.raw_body = vec![b'{', 0xc3, 0x28, b'}'];
    http.size = 4;
    let a = h.check(check).await;
    assert_eq!((a.grpc, a.status), (7, 400), "{a:?}");
    assert_eq!(a.json()["type"], "error");
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );

    // A header value no header may hold.
    let a = h
        .check(envoy_check(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", "Bearer ck_x\nx-api-key: other"),
                ("content-type", "application/json"),
            ],
            &body,
        ))
        .await;
    assert_bad_request(&a, "`authorization`");
    assert!(!a.body.contains("ck_x"), "credentials are not echoed");

    // A method that is not one, and a path that is not a path.
    assert_bad_request(
        &h.check(envoy_check("", "/v1/chat/completions", &headers, &body))
            .await,
        "method",
    );
    assert_bad_request(
        &h.check(envoy_check("POST", "v1/chat/completions", &headers, &body))
            .await,
        "`v1/chat/completions`",
    );

    // A query that no URI may hold, on a route Cordon authorises.
    assert_bad_request(
        &h.check(envoy_check(
            "POST",
            "/v1/chat/completions?a b",
            &headers,
            &body,
        ))
        .await,
        "is not a valid URI",
    );

    // A body Envoy cut short.
    let mut check = envoy_check("POST", "/v1/chat/completions", &headers, &body);
    check
        .attributes
        .as_mut()
        .unwrap()
        .request
        .as_mut()
        .unwrap()
        .http
        .as_mut()
        .unwrap()
        .headers
        .insert("x-envoy-auth-partial-body".into(), "true".into());
    let a = h.check(check).await;
    assert_eq!((a.grpc, a.status), (7, 413), "{a:?}");
    assert_eq!(a.json()["error"]["code"], "request_too_large");

    // A body that is not JSON, decided by the gateway's own reader.
    let a = h
        .check(envoy_check(
            "POST",
            "/v1/chat/completions",
            &headers,
            "{not json",
        ))
        .await;
    assert_eq!((a.grpc, a.status), (7, 400), "{a:?}");

    // A body larger than `limits.max_body_bytes`.
    let big =
        json!({"model": "fable-5", "messages": [{"role": "user", "content": "x".repeat(70_000)}]});
    let a = h
        .check(envoy_check(
            "POST",
            "/v1/chat/completions",
            &headers,
            &big.to_string(),
        ))
        .await;
    assert_eq!((a.grpc, a.status), (7, 413), "{a:?}");

    // Routes Cordon does not authorise.
    let a = h
        .check(envoy_check("GET", "/v1/models", &headers, ""))
        .await;
    assert_eq!((a.grpc, a.status), (7, 404), "{a:?}");
    let a = h
        .check(envoy_check(
            "POST",
            "/v1/chat/completions/",
            &headers,
            &body,
        ))
        .await;
    assert_eq!((a.grpc, a.status), (7, 404), "{a:?}");
}

#[tokio::test]
async fn bad_keys_are_unauthenticated() {
    let h = start(Setup::default()).await;
    let a = h
        .check(envoy_check(
            "POST",
            "/v1/chat/completions",
            &[
                ("authorization", "Bearer ck_bad_bad"),
                ("content-type", "application/json"),
            ],
            &hello("lyric-4").to_string(),
        ))
        .await;
    assert_eq!((a.grpc, a.status), (16, 401), "UNAUTHENTICATED: {a:?}");
    assert_eq!(a.json()["error"]["code"], "invalid_api_key");
    let a = h
        .check(envoy_check(
            "POST",
            "/v1/chat/completions",
            &[("content-type", "application/json")],
            &hello("lyric-4").to_string(),
        ))
        .await;
    assert_eq!(a.status, 401);
}

#[tokio::test]
async fn an_identity_store_that_fails_is_a_denied_503() {
    let h = start(Setup::default()).await;
    let db = rusqlite::Connection::open(&h.store).unwrap();
    db.execute_batch(
        "ALTER TABLE api_keys RENAME TO api_keys_gone; ALTER TABLE change_counter RENAME TO change_counter_gone;",
    )
    .unwrap();
    let a = h.chat("us-citizen", hello("fable-5")).await;
    assert!(!a.allowed(), "{a:?}");
    assert_eq!((a.grpc, a.status), (7, 503), "{a:?}");
    assert_eq!(a.json()["error"]["code"], "unavailable");
}

#[tokio::test]
async fn an_audit_log_that_refuses_is_a_denied_503() {
    let h = start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    h.gw.audit().unwrap().log().inject_fault(Fault::FailWrite);
    let a = h.chat("us-citizen", hello("fable-5")).await;
    assert!(!a.allowed(), "{a:?}");
    assert_eq!((a.grpc, a.status), (7, 503), "{a:?}");
    assert_eq!(a.json()["error"]["code"], "audit_unavailable");
    assert_eq!(a.header("x-cordon-audit-index"), "");
    h.gw.audit().unwrap().log().inject_fault(Fault::None);
    assert!(h.chat("us-citizen", hello("fable-5")).await.allowed());
}

#[tokio::test]
async fn the_server_stops_when_told_even_with_envoy_connected() {
    let mut h = start(Setup::default()).await;
    assert!(h.chat("us-citizen", hello("fable-5")).await.allowed());
    // The client's HTTP/2 connection stays open, as Envoy's does.
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), h.stop()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
    let after = h.grpc.clone().check(CheckRequest::default()).await;
    assert!(after.is_err(), "nothing answers after the stop: {after:?}");
}
