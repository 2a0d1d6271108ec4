//! Objects the provider keeps for a customer: stored responses, fine-tuning
//! jobs and message batches are recorded as their creator's, answered for
//! only to that account, and decided again when read.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use cordon_store::{ObjectKind, ProviderObject};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::audit::Trail;
use super::{Directives, Harness, Reply, Setup, movable_clock, start};

const FRONTIER: &str = "foreign-national-frontier-2026";

/// The harness with the frontier directive only, an audit log, and a clock
/// the test moves: it starts one second before the directive takes effect.
pub(super) async fn before_the_directive() -> (Harness, Arc<AtomicI64>) {
    let effective: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let (clock, now) = movable_clock(Timestamp::from_second(effective.as_second() - 1).unwrap());
    let h = start(Setup {
        accounts: Some(&["us-citizen", "foreign-national"]),
        directives: Directives::Only(&["foreign-national-frontier.toml"]),
        audit: Some(Trail::default()),
        clock: Some(clock),
        ..Setup::default()
    })
    .await;
    (h, now)
}

/// The harness with every shipped directive and only these accounts.
async fn started(accounts: &'static [&'static str]) -> Harness {
    start(Setup {
        accounts: Some(accounts),
        ..Setup::default()
    })
    .await
}

/// Moves the clock to the directive's effective time.
pub(super) fn directive_takes_effect(now: &AtomicI64) {
    let effective: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    now.store(effective.as_second(), Ordering::SeqCst);
}

impl Harness {
    /// A call by `who` in the Anthropic API.
    pub(super) async fn anthropic(
        &self,
        who: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let key = self.key(who);
        let mut headers = vec![
            ("x-api-key", key.as_str()),
            ("anthropic-version", "2023-06-01"),
        ];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.send(method, path, &headers, body).await
    }

    /// Creates a stored response as `who` and returns its id.
    async fn stored_response(&self, who: &str, model: &str, extra: Value) -> String {
        let mut body = json!({"model": model, "input": "Hi"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.post(who, "/v1/responses", body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// A GET in the Anthropic API by `who`.
    async fn batch_get(&self, who: &str, path: &str) -> Reply {
        self.anthropic(who, "GET", path, None).await
    }

    /// Creates a message batch as `who`, one request per model; its id.
    async fn message_batch(&self, who: &str, models: &[&str]) -> String {
        let body = Some(batch_of(models));
        let r = self
            .anthropic(who, "POST", "/v1/messages/batches", body)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_owned()
    }

    /// Asserts that the provider got no request since it had `before`.
    fn nothing_forwarded_since(&self, before: usize) {
        assert_eq!(self.upstream_requests(), before, "nothing was forwarded");
    }

    fn owner(&self, kind: ObjectKind, id: &str) -> Option<ProviderObject> {
        self.store.object(kind, id).unwrap()
    }
}

/// An OpenAI-shaped 404 that says nothing about whose the object is.
fn assert_openai_not_found(r: &Reply) {
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "not_found_error", "{}", r.text());
    assert!(r.header("x-cordon-decision-id").starts_with("dec_"));
}

#[tokio::test]
async fn a_stored_response_is_answered_only_to_its_owner() {
    let h = started(&["us-citizen", "foreign-national"]).await;
    let id = h.stored_response("us-citizen", "lyric-4", json!({})).await;
    let kept = h.owner(ObjectKind::Response, &id).expect("recorded");
    assert_eq!(
        (kept.account.as_str(), kept.model.as_deref()),
        ("us-citizen", Some("lyric-4"))
    );

    let mine = h
        .call("us-citizen", "GET", &format!("/v1/responses/{id}"))
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text());
    assert_eq!(mine.json()["id"], id.as_str());
    assert_eq!(mine.header("x-cordon-effect"), "allow");

    let upstream_before = h.upstream_requests();
    let theirs = h
        .call("foreign-national", "GET", &format!("/v1/responses/{id}"))
        .await;
    assert_openai_not_found(&theirs);
    let never = h
        .call("foreign-national", "GET", "/v1/responses/resp_0000000000")
        .await;
    assert_openai_not_found(&never);
    // Another account's id and an id nobody made read the same.
    assert_eq!(
        theirs.json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace(&id, "ID"),
        never.json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace("resp_0000000000", "ID")
    );
    for path in ["cancel", "input_items"] {
        let method = if path == "cancel" { "POST" } else { "GET" };
        let r = h
            .call(
                "foreign-national",
                method,
                &format!("/v1/responses/{id}/{path}"),
            )
            .await;
        assert_openai_not_found(&r);
    }
    let r = h
        .call("foreign-national", "DELETE", &format!("/v1/responses/{id}"))
        .await;
    assert_openai_not_found(&r);
    h.nothing_forwarded_since(upstream_before);
    assert!(
        h.owner(ObjectKind::Response, &id).is_some(),
        "still the owner's"
    );

    let items = h
        .call(
            "us-citizen",
            "GET",
            &format!("/v1/responses/{id}/input_items"),
        )
        .await;
    assert_eq!(items.status, 200, "{}", items.text());
    assert_eq!(items.json()["data"][0]["content"][0]["text"], "Hi");
    h.finish();
}

#[tokio::test]
async fn an_id_that_is_no_provider_id_is_a_404_not_a_path_to_elsewhere() {
    let h = started(&["us-citizen"]).await;
    for path in [
        "/v1/responses/..%2Fmodels",
        "/v1/responses/resp%5Fx",
        "/v1/fine_tuning/jobs/a%20b",
    ] {
        let r = h.call("us-citizen", "GET", path).await;
        assert_openai_not_found(&r);
    }
    assert_eq!(h.upstream_requests(), 0);
    h.finish();
}

#[tokio::test]
async fn a_stored_response_whose_model_became_refused_is_refused_and_recorded() {
    let (h, now) = before_the_directive().await;
    let id = h
        .stored_response("foreign-national", "fable-5", json!({"background": true}))
        .await;
    let queued = h
        .call("foreign-national", "GET", &format!("/v1/responses/{id}"))
        .await;
    assert_eq!(queued.status, 200, "allowed before: {}", queued.text());

    directive_takes_effect(&now);
    let upstream_before = h.upstream_requests();
    let r = h
        .call(
            "foreign-national",
            "GET",
            &format!("/v1/responses/{id}?stream=true"),
        )
        .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.header("x-cordon-directive"), FRONTIER);
    assert_eq!(r.json()["error"]["code"], "cordon_denied");
    let d = h.decision_at(&r);
    assert_eq!(d.id, r.header("x-cordon-decision-id"));
    assert_eq!(
        (
            d.effect.as_str(),
            d.model.as_deref(),
            d.endpoint.as_str(),
            d.decided_by.as_deref()
        ),
        ("deny", Some("fable-5"), "responses", Some(FRONTIER))
    );
    for (method, path) in [
        ("POST", format!("/v1/responses/{id}/cancel")),
        ("GET", format!("/v1/responses/{id}/input_items")),
        ("DELETE", format!("/v1/responses/{id}")),
    ] {
        let r = h.call("foreign-national", method, &path).await;
        assert_eq!(r.status, 451, "{method} {path}: {}", r.text());
    }
    h.nothing_forwarded_since(upstream_before);
    h.finish();
}

#[tokio::test]
async fn deleting_a_stored_response_forgets_it() {
    let h = started(&["us-citizen"]).await;
    let id = h.stored_response("us-citizen", "fable-5", json!({})).await;
    let r = h
        .call("us-citizen", "DELETE", &format!("/v1/responses/{id}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["deleted"], true);
    assert!(h.owner(ObjectKind::Response, &id).is_none(), "forgotten");
    let upstream_before = h.upstream_requests();
    let again = h
        .call("us-citizen", "GET", &format!("/v1/responses/{id}"))
        .await;
    assert_openai_not_found(&again);
    h.nothing_forwarded_since(upstream_before);
    h.finish();
}

#[tokio::test]
async fn a_background_response_is_recorded_and_cancelled_by_its_owner() {
    let h = started(&["us-citizen"]).await;
    let r = h
        .post(
            "us-citizen",
            "/v1/responses",
            json!({"model": "mythos-5", "input": "Hi", "background": true}),
        )
        .await;
    assert_eq!(r.json()["status"], "queued");
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let cancelled = h
        .call("us-citizen", "POST", &format!("/v1/responses/{id}/cancel"))
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text());
    assert_eq!(cancelled.json()["status"], "cancelled");
    h.finish();
}

/// Reads a streamed response frame by frame; returns the frames and
/// whether the provider's stream was still open when the first arrived.
async fn stream_frames(h: &Harness, uri: String, auth: String, body: Value) -> (Vec<Bytes>, bool) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut frames = Vec::new();
    let mut open_at_first = false;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            if frames.is_empty() {
                open_at_first = h.mock.state.open_streams.load(Ordering::SeqCst) > 0;
            }
            frames.push(data);
        }
    }
    (frames, open_at_first)
}

#[tokio::test]
async fn a_streamed_create_records_the_id_without_changing_a_byte() {
    let h = start(Setup {
        accounts: Some(&["us-citizen"]),
        token_delay: std::time::Duration::from_millis(20),
        ..Setup::default()
    })
    .await;
    let body = json!({"model": "fable-5", "input": "Hi", "stream": true});
    let (through, open_at_first) = stream_frames(
        &h,
        format!("http://{}/v1/responses", h.addr),
        format!("Bearer {}", h.key("us-citizen")),
        body.clone(),
    )
    .await;
    assert!(
        open_at_first,
        "the first event reached the client while the provider was still streaming"
    );
    let through: Vec<u8> = through.concat();
    let text = String::from_utf8(through.clone()).unwrap();
    let first = text.split("\n\n").next().unwrap();
    assert!(first.starts_with("event: response.created\n"), "{first}");
    let data: Value = serde_json::from_str(first.split("data: ").nth(1).unwrap()).unwrap();
    let id = data["response"]["id"].as_str().unwrap().to_owned();
    let kept = h.owner(ObjectKind::Response, &id).expect("recorded");
    assert_eq!(
        (kept.account.as_str(), kept.model.as_deref()),
        ("us-citizen", Some("fable-5"))
    );

    // The provider's own stream for the same request differs only in the id.
    let (direct, _) = stream_frames(
        &h,
        format!("http://{}/v1/responses", h.mock.addr),
        "Bearer upstream-secret".into(),
        body,
    )
    .await;
    let direct = String::from_utf8(direct.concat()).unwrap();
    let direct_id = direct
        .split("\"id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    assert_ne!(direct_id, id);
    assert_eq!(direct.replace(direct_id, &id).into_bytes(), through);
    h.finish();
}

/// Records `file` as uploaded by `who`, as the files endpoints do.
fn uploaded(h: &Harness, who: &str, file: &str) {
    h.store
        .record_object(&ProviderObject {
            kind: ObjectKind::File,
            id: file.into(),
            account: who.into(),
            model: None,
            details: json!({}),
        })
        .unwrap();
}

#[tokio::test]
async fn a_fine_tuning_job_on_a_refused_base_model_is_refused() {
    let (h, now) = before_the_directive().await;
    uploaded(&h, "foreign-national", "file-fn");
    uploaded(&h, "us-citizen", "file-us");
    let job = |model: &str, file: &str| json!({"model": model, "training_file": file});
    let allowed = h
        .post(
            "foreign-national",
            "/v1/fine_tuning/jobs",
            job("fable-5", "file-fn"),
        )
        .await;
    assert_eq!(allowed.status, 200, "before: {}", allowed.text());
    let early = allowed.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.owner(ObjectKind::FineTuningJob, &early)
            .unwrap()
            .model
            .as_deref(),
        Some("fable-5")
    );

    directive_takes_effect(&now);
    let upstream_before = h.upstream_requests();
    let r = h
        .post(
            "foreign-national",
            "/v1/fine_tuning/jobs",
            job("fable-5", "file-fn"),
        )
        .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.header("x-cordon-directive"), FRONTIER);
    let d = h.decision_at(&r);
    assert_eq!(
        (d.endpoint.as_str(), d.features.clone(), d.effect.as_str()),
        ("fine_tuning", vec!["fine_tuning".to_owned()], "deny")
    );
    // The job made before is decided again on its base model.
    for suffix in ["", "/events", "/checkpoints", "/cancel"] {
        let method = if suffix == "/cancel" { "POST" } else { "GET" };
        let r = h
            .call(
                "foreign-national",
                method,
                &format!("/v1/fine_tuning/jobs/{early}{suffix}"),
            )
            .await;
        assert_eq!(r.status, 451, "{suffix}: {}", r.text());
    }
    h.nothing_forwarded_since(upstream_before);
    h.finish();
}

#[tokio::test]
async fn a_fine_tuning_job_needs_the_callers_own_files_and_is_theirs() {
    let h = started(&["us-citizen", "foreign-national"]).await;
    uploaded(&h, "us-citizen", "file-us");
    uploaded(&h, "foreign-national", "file-fn");
    let upstream_before = h.upstream_requests();
    for (body, param) in [
        (
            json!({"model": "lyric-4", "training_file": "file-fn"}),
            "training_file",
        ),
        (
            json!({"model": "lyric-4", "training_file": "file-nobody"}),
            "training_file",
        ),
        (json!({"model": "lyric-4"}), "training_file"),
        (
            json!({"model": "lyric-4", "training_file": 7}),
            "training_file",
        ),
        (
            json!({"model": "lyric-4", "training_file": "file-us", "validation_file": "file-fn"}),
            "validation_file",
        ),
    ] {
        let r = h
            .post("us-citizen", "/v1/fine_tuning/jobs", body.clone())
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["param"], param, "{body}");
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains(param)
        );
    }
    h.nothing_forwarded_since(upstream_before);

    let mine = h
        .post(
            "us-citizen",
            "/v1/fine_tuning/jobs",
            json!({"model": "lyric-4", "training_file": "file-us", "validation_file": "file-us"}),
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text());
    let mine = mine.json()["id"].as_str().unwrap().to_owned();
    let theirs = h
        .post(
            "foreign-national",
            "/v1/fine_tuning/jobs",
            json!({"model": "lyric-4", "training_file": "file-fn"}),
        )
        .await;
    let theirs = theirs.json()["id"].as_str().unwrap().to_owned();

    let listed = h.call("us-citizen", "GET", "/v1/fine_tuning/jobs").await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let ids: Vec<Value> = listed.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(mine)]);
    assert_eq!(listed.json()["first_id"], mine.as_str());

    let r = h
        .call(
            "us-citizen",
            "GET",
            &format!("/v1/fine_tuning/jobs/{theirs}"),
        )
        .await;
    assert_openai_not_found(&r);
    let r = h
        .call(
            "us-citizen",
            "GET",
            &format!("/v1/fine_tuning/jobs/{mine}/events"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "allow");
    h.finish();
}

pub(super) fn batch_of(models: &[&str]) -> Value {
    let requests: Vec<Value> = models
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"custom_id": format!("r{i}"), "params": {"model": m, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}}))
        .collect();
    json!({ "requests": requests })
}

/// An Anthropic-shaped 404.
fn assert_anthropic_not_found(r: &Reply) {
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "not_found_error", "{}", r.text());
}

#[tokio::test]
async fn a_message_batch_is_read_only_by_its_owner_with_its_results_here() {
    let h = started(&["us-citizen", "foreign-national"]).await;
    let id = h.message_batch("us-citizen", &["fable-5", "lyric-4"]).await;
    let kept = h.owner(ObjectKind::MessageBatch, &id).expect("recorded");
    assert_eq!(kept.details, json!({"models": ["fable-5", "lyric-4"]}));
    let other = h.message_batch("foreign-national", &["lyric-4"]).await;

    let got = h
        .batch_get("us-citizen", &format!("/v1/messages/batches/{id}"))
        .await;
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json()["processing_status"], "ended");
    // The provider's results URL would send the SDK around the gateway.
    assert_eq!(
        got.json()["results_url"],
        format!("/v1/messages/batches/{id}/results")
    );
    let results = h
        .batch_get("us-citizen", &format!("/v1/messages/batches/{id}/results"))
        .await;
    assert_eq!(results.status, 200, "{}", results.text());
    let lines: Vec<Value> = results
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["result"]["type"], "succeeded");

    let listed = h
        .anthropic("us-citizen", "GET", "/v1/messages/batches", None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let data = listed.json()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 1, "{data:?}");
    assert_eq!(data[0]["id"], id.as_str());
    assert_eq!(
        data[0]["results_url"],
        format!("/v1/messages/batches/{id}/results")
    );
    assert_eq!(listed.json()["last_id"], id.as_str());

    for (method, path) in [
        ("GET", format!("/v1/messages/batches/{other}")),
        ("GET", format!("/v1/messages/batches/{other}/results")),
        ("POST", format!("/v1/messages/batches/{other}/cancel")),
        ("DELETE", format!("/v1/messages/batches/{other}")),
    ] {
        let r = h.anthropic("us-citizen", method, &path, None).await;
        assert_anthropic_not_found(&r);
    }
    let deleted = h
        .anthropic(
            "us-citizen",
            "DELETE",
            &format!("/v1/messages/batches/{id}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert!(h.owner(ObjectKind::MessageBatch, &id).is_none());
    h.finish();
}

#[tokio::test]
async fn a_message_batchs_results_are_refused_once_one_of_its_models_is() {
    let (h, now) = before_the_directive().await;
    let id = h
        .message_batch("foreign-national", &["lyric-4", "fable-5"])
        .await;

    directive_takes_effect(&now);
    let r = h
        .batch_get(
            "foreign-national",
            &format!("/v1/messages/batches/{id}/results"),
        )
        .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "permission_error");
    let d = h.decision_at(&r);
    assert_eq!(
        (d.model.as_deref(), d.effect.as_str()),
        (Some("fable-5"), "deny")
    );
    // Its status is not what a model made: still the owner's to read.
    let status = h
        .batch_get("foreign-national", &format!("/v1/messages/batches/{id}"))
        .await;
    assert_eq!(status.status, 200, "{}", status.text());
    h.finish();
}
