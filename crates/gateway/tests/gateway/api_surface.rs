//! The endpoints beyond chat and messages, each decided before anything is
//! forwarded and refused in its API's own shape.

use serde_json::json;

use super::{Setup, start};

#[tokio::test]
async fn the_responses_api_is_decided_like_a_chat_and_forwarded_when_allowed() {
    let h = start(Setup::default()).await;
    let body = |model: &str| json!({"model": model, "input": "Hello"});
    let r = h
        .post("foreign-national", "/v1/responses", body("fable-5"))
        .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "cordon_denied");
    assert_eq!(h.upstream_requests(), 0);
    let r = h
        .post("foreign-national", "/v1/responses", body("lyric-4"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["output"][0]["content"][0]["type"], "output_text");
    let r = h.post("us-citizen", "/v1/responses", body("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Its own fields are read: a list input's image part, a non-list input.
    let r = h
        .post(
            "us-citizen",
            "/v1/responses",
            json!({"model": "fable-5", "input": 7}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["param"], "input");
    h.finish();
}

#[tokio::test]
async fn counting_tokens_for_a_model_is_decided_as_using_it() {
    let h = start(Setup::default()).await;
    let send = |who: &str, model: &str| {
        let key = h.key(who);
        let h = &h;
        let model = model.to_owned();
        async move {
            h.send(
                "POST",
                "/v1/messages/count_tokens",
                &[
                    ("x-api-key", &key),
                    ("anthropic-version", "2023-06-01"),
                    ("content-type", "application/json"),
                ],
                json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
                    .to_string(),
            )
            .await
        }
    };
    let r = send("foreign-national", "mythos-5").await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.json()["type"], "error", "Anthropic's shape: {}", r.text());
    assert_eq!(h.upstream_requests(), 0);
    let r = send("us-citizen", "mythos-5").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["input_tokens"], 5);
    h.finish();
}

#[tokio::test]
async fn a_message_batch_goes_upstream_only_when_every_request_is_allowed() {
    let h = start(Setup {
        audit: Some(super::audit::Trail::default()),
        ..Setup::default()
    })
    .await;
    let line = |id: &str, model: &str| {
        json!({"custom_id": id, "params": {"model": model, "max_tokens": 8,
            "messages": [{"role": "user", "content": "Hi"}]}})
    };
    let send = |who: &str, body: serde_json::Value| {
        let key = h.key(who);
        let h = &h;
        async move {
            h.send(
                "POST",
                "/v1/messages/batches",
                &[
                    ("x-api-key", &key),
                    ("anthropic-version", "2023-06-01"),
                    ("content-type", "application/json"),
                ],
                body.to_string(),
            )
            .await
        }
    };
    let mixed =
        json!({"requests": [line("a", "lyric-4"), line("b", "fable-5"), line("c", "Lyric")]});
    let r = send("foreign-national", mixed.clone()).await;
    assert_eq!(r.status, 451, "{}", r.text());
    let body = r.json();
    assert_eq!(body["type"], "error");
    let refused = body["cordon"]["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["custom_id"], "b");
    assert_eq!(refused[0]["effect"], "deny");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1 of 3")
    );
    assert_eq!(h.upstream_requests(), 0, "a refused batch is not sent");
    // Each request's decision is in the log, the refusal too.
    let reader = cordon_audit_log::LogReader::open(h.dir.join("audit")).unwrap();
    assert!(reader.size() >= 3, "{}", reader.size());

    // All allowed: the batch goes upstream, aliases resolved to the catalog id.
    let r = send("us-citizen", mixed).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["type"], "message_batch");
    assert_eq!(h.upstream_requests(), 1);
    let sent = h.mock.state.last_body.lock().unwrap().clone().unwrap();
    assert_eq!(sent["requests"][2]["params"]["model"], "lyric-4", "{sent}");
    // A malformed batch is a 400.
    let r = send("us-citizen", json!({"requests": [{"custom_id": "x"}]})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn completions_embeddings_moderations_and_anthropic_complete_are_decided() {
    let h = start(Setup::default()).await;
    for (path, body) in [
        (
            "/v1/completions",
            json!({"model": "fable-5", "prompt": "Hi", "max_tokens": 8}),
        ),
        (
            "/v1/embeddings",
            json!({"model": "fable-5", "input": ["Hi", "there"]}),
        ),
        (
            "/v1/moderations",
            json!({"model": "fable-5", "input": "Hi"}),
        ),
    ] {
        let r = h.post("foreign-national", path, body.clone()).await;
        assert_eq!(r.status, 451, "{path}: {}", r.text());
        let r = h.post("us-citizen", path, body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    // A moderation that names no model would let the provider choose one.
    let r = h
        .post("us-citizen", "/v1/moderations", json!({"input": "Hi"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["param"], "model");
    let key = h.key("foreign-national");
    let r = h
        .send(
            "POST",
            "/v1/complete",
            &[
                ("x-api-key", &key),
                ("anthropic-version", "2023-06-01"),
                ("content-type", "application/json"),
            ],
            json!({"model": "fable-5", "prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 8})
                .to_string(),
        )
        .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.json()["type"], "error");
    h.finish();
}

#[tokio::test]
async fn one_model_is_described_only_to_a_caller_who_may_use_it() {
    let h = start(Setup::default()).await;
    let key = h.key("foreign-national");
    let r = h.get("/v1/models/lyric-4", Some(&key)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], "lyric-4");
    let r = h.get("/v1/models/fable-5", Some(&key)).await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    let r = h
        .get("/v1/models/fable-5", Some(&h.key("us-citizen")))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.get("/v1/models/no-such-model", Some(&key)).await;
    assert_eq!(r.status, 404);
    let r = h.get("/v1/models/lyric-4", None).await;
    assert_eq!(r.status, 401);
    h.finish();
}
