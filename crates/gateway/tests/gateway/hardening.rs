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
