//! OpenAI files and batches through the gateway: ownership, batch input
//! files read line by line, and batches decided line by line.

use cordon_audit::leaf::{self, Record};
use cordon_audit_log::LogReader;

use super::*;

impl Harness {
    /// Uploads `content` as a file for `purpose` with `who`'s key.
    async fn upload(&self, who: &str, purpose: &str, content: &str) -> Reply {
        let file = (
            "file",
            Some("input.jsonl"),
            Some("application/jsonl"),
            content.as_bytes(),
        );
        self.form(
            who,
            "/v1/files",
            &[("purpose", None, None, purpose.as_bytes()), file],
        )
        .await
    }

    /// Uploads a batch input file and returns its id.
    async fn batch_file(&self, who: &str, lines: &[Value]) -> String {
        let content: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let r = self.upload(who, "batch", &content).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["id"].as_str().unwrap().to_owned()
    }

    async fn create_batch(&self, who: &str, file: &str) -> Reply {
        self.post(
            who,
            "/v1/batches",
            json!({"input_file_id": file, "endpoint": "/v1/chat/completions", "completion_window": "24h"}),
        )
        .await
    }
}

/// A chat line of a batch input file.
fn chat_line(custom_id: &str, model: &str, extra: Value) -> Value {
    let mut body =
        json!({"model": model, "messages": [{"role": "user", "content": "a private prompt"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    json!({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})
}

fn ids(r: &Reply) -> Vec<String> {
    r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_file_is_answered_only_to_the_account_that_uploaded_it() {
    let h = start(Setup::default()).await;
    let mine = h
        .batch_file("us-citizen", &[chat_line("a", "fable-5", json!({}))])
        .await;
    let theirs = h.upload("foreign-national", "fine-tune", "{}\n").await;
    assert_eq!(theirs.status, 200, "{}", theirs.text());
    let theirs = theirs.json()["id"].as_str().unwrap().to_owned();

    let r = h
        .call("us-citizen", "GET", &format!("/v1/files/{mine}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["purpose"], "batch");
    assert!(r.header("x-cordon-decision-id").starts_with("dec_"));

    // Another account's file is exactly a file that does not exist.
    let other = h
        .call("us-citizen", "GET", &format!("/v1/files/{theirs}"))
        .await;
    let none = h.call("us-citizen", "GET", "/v1/files/file-nosuch").await;
    assert_eq!((other.status, none.status), (404, 404));
    assert_eq!(
        other.text().replace(&theirs, "ID"),
        none.text().replace("file-nosuch", "ID")
    );
    assert!(other.header("x-cordon-decision-id").starts_with("dec_"));
    for (method, path) in [
        ("GET", format!("/v1/files/{theirs}/content")),
        ("DELETE", format!("/v1/files/{theirs}")),
        ("GET", "/v1/files/..%2Fbatches".to_owned()),
    ] {
        let r = h.call("us-citizen", method, &path).await;
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text());
    }

    // Each list shows only the caller's own files.
    assert_eq!(
        ids(&h.call("us-citizen", "GET", "/v1/files").await),
        [mine.as_str()]
    );
    assert_eq!(
        ids(&h.call("foreign-national", "GET", "/v1/files").await),
        [theirs.as_str()]
    );
    let r = h
        .call("us-citizen", "GET", &format!("/v1/files?after={theirs}"))
        .await;
    assert_eq!(r.status, 400, "another's id is no cursor: {}", r.text());

    // The owner downloads and deletes; then it is gone for them too.
    let r = h
        .call("us-citizen", "GET", &format!("/v1/files/{mine}/content"))
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("a private prompt"));
    let r = h
        .call("us-citizen", "DELETE", &format!("/v1/files/{mine}"))
        .await;
    assert_eq!((r.status, r.json()["deleted"].clone()), (200, json!(true)));
    let r = h
        .call("us-citizen", "GET", &format!("/v1/files/{mine}"))
        .await;
    assert_eq!(r.status, 404);
    // The record keeps no prompt.
    let kept = h
        .store
        .object(cordon_store::ObjectKind::File, &theirs)
        .unwrap()
        .unwrap();
    assert_eq!(kept.account, "foreign-national");
}

#[tokio::test]
async fn a_bad_batch_line_refuses_the_upload_naming_its_line() {
    let h = start(Setup::default()).await;
    let good = chat_line("a", "lyric-4", json!({}));
    let cases = [
        ("{not json".to_owned(), "line 2"),
        (
            r#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "a", "model": "b"}}"#.to_owned(),
            "`body.model`",
        ),
        (
            json!({"custom_id": "b", "method": "POST", "url": "/v1/fine_tuning/jobs", "body": {"model": "a"}}).to_string(),
            "`url`",
        ),
        (
            json!({"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}).to_string(),
            "missing required parameter `model`",
        ),
        (chat_line("a", "lyric-4", json!({})).to_string(), "`custom_id` `a` is also on line 1"),
    ];
    for (bad, says) in cases {
        let r = h
            .upload("us-citizen", "batch", &format!("{good}\n{bad}\n"))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        let v = r.json();
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("line 2 of the batch input file"),
            "{message}"
        );
        assert!(message.contains(says), "{message} should say {says}");
        assert_eq!(v["error"]["param"], "file");
    }
    assert_eq!(h.upstream_requests(), 0, "no bad file reached the upstream");
    // A file for another purpose is not read as requests.
    assert_eq!(
        h.upload("us-citizen", "fine-tune", "{not json\n")
            .await
            .status,
        200
    );
    // A form without a purpose.
    let r = h
        .form(
            "us-citizen",
            "/v1/files",
            &[("file", Some("f"), None, b"x")],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"]["param"].clone()),
        (400, json!("purpose"))
    );
    // Two files: which one the upstream keeps would be a guess.
    let line = good.to_string();
    let two = [
        ("purpose", None, None, &b"batch"[..]),
        ("file", Some("a.jsonl"), None, line.as_bytes()),
        ("file", Some("b.jsonl"), None, b"not read"),
    ];
    let r = h.form("us-citizen", "/v1/files", &two).await;
    assert_eq!(
        (r.status, r.json()["error"]["param"].clone()),
        (400, json!("file"))
    );
    assert_eq!(
        h.upstream_requests(),
        1,
        "only the good upload went upstream"
    );
}

#[tokio::test]
async fn a_batch_with_a_refused_line_is_a_451_and_every_line_is_in_the_audit_log() {
    let h = start(Setup {
        audit: Some(audit::Trail::default()),
        ..Setup::default()
    })
    .await;
    let file = h
        .batch_file(
            "foreign-national",
            &[
                chat_line("ok", "lyric-4", json!({})),
                chat_line("frontier", "fable", json!({})),
            ],
        )
        .await;
    let before = h.upstream_requests();
    let r = h.create_batch("foreign-national", &file).await;
    assert_eq!(r.status, 451, "{}", r.text());
    let v = r.json();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("1 of 2 requests"), "{message}");
    assert!(message.contains("line 2 `frontier`"), "{message}");
    assert!(
        message.contains("foreign-national-frontier-2026"),
        "{message}"
    );
    assert!(!message.contains("line 1"), "{message}");
    assert_eq!(v["cordon"]["refused"].as_array().unwrap().len(), 1);
    assert_eq!(v["cordon"]["refused"][0]["custom_id"], "frontier");
    assert_eq!(h.upstream_requests(), before, "the batch was not created");

    // Each line's decision is in the log, as the request it is, as a batch.
    let reader = LogReader::open(h.dir.join("audit")).unwrap();
    for line in v["cordon"]["lines"].as_array().unwrap() {
        let index = line["audit_index"]
            .as_u64()
            .unwrap_or_else(|| panic!("{line}"));
        let Record::Decision(d) = leaf::decode(&reader.entry(index).unwrap()).unwrap() else {
            panic!("entry {index} is not a decision");
        };
        assert_eq!(d.id, line["decision_id"].as_str().unwrap());
        assert_eq!(d.account.as_deref(), Some("foreign-national"));
        assert_eq!(d.endpoint, "chat");
        assert_eq!(d.effect, line["effect"].as_str().unwrap());
        assert!(d.features.contains(&"batch".to_owned()), "{:?}", d.features);
    }
    assert_eq!(v["cordon"]["lines"][1]["effect"], "deny");

    // Nobody else may make a batch of the file.
    let r = h.create_batch("us-citizen", &file).await;
    assert_eq!(r.status, 404, "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn an_allowed_batch_is_the_creators_and_so_are_its_results() {
    let h = start(Setup::default()).await;
    let file = h
        .batch_file(
            "us-citizen",
            &[
                chat_line("one", "fable", json!({})),
                chat_line("two", "lyric-4", json!({"max_tokens": 10})),
            ],
        )
        .await;
    let r = h.create_batch("us-citizen", &file).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let batch = r.json()["id"].as_str().unwrap().to_owned();
    let sent = h.mock.state.last_body.lock().unwrap().clone().unwrap();
    assert_eq!(sent["input_file_id"], file.as_str());

    let other = h
        .call("foreign-national", "GET", &format!("/v1/batches/{batch}"))
        .await;
    assert_eq!(other.status, 404);
    let cancel = h
        .call(
            "foreign-national",
            "POST",
            &format!("/v1/batches/{batch}/cancel"),
        )
        .await;
    assert_eq!(cancel.status, 404);

    let done = h
        .call("us-citizen", "GET", &format!("/v1/batches/{batch}"))
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.json()["status"], "completed");
    let output = done.json()["output_file_id"].as_str().unwrap().to_owned();
    let results = h
        .call("us-citizen", "GET", &format!("/v1/files/{output}/content"))
        .await;
    assert_eq!(results.status, 200);
    assert_eq!(results.text().lines().count(), 2);
    let r = h
        .call(
            "foreign-national",
            "GET",
            &format!("/v1/files/{output}/content"),
        )
        .await;
    assert_eq!(r.status, 404);

    // A second batch, cancelled before it completes.
    let second = h.create_batch("us-citizen", &file).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h
        .call(
            "us-citizen",
            "POST",
            &format!("/v1/batches/{second}/cancel"),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (200, json!("cancelled"))
    );

    // Lists show only one's own.
    let foreign = h
        .batch_file("foreign-national", &[chat_line("x", "lyric-4", json!({}))])
        .await;
    assert_eq!(
        h.create_batch("foreign-national", &foreign).await.status,
        200
    );
    let mine = ids(&h.call("us-citizen", "GET", "/v1/batches").await);
    assert_eq!(mine, [second.clone(), batch.clone()]);
    assert_eq!(
        ids(&h.call("foreign-national", "GET", "/v1/batches").await).len(),
        1
    );
    let files = ids(&h.call("us-citizen", "GET", "/v1/files").await);
    assert!(
        files.contains(&output) && !files.contains(&foreign),
        "{files:?}"
    );
}

#[tokio::test]
async fn a_line_allowed_only_within_limits_must_state_them() {
    let (h, dir) = start_partial("batches").await;
    let file = h
        .batch_file(
            "foreign-national",
            &[
                chat_line("capped", "fable-5", json!({"max_tokens": 100})),
                chat_line("uncapped", "fable-5", json!({})),
                chat_line(
                    "tools",
                    "fable-5",
                    json!({"max_tokens": 5, "tools": [{"type": "function", "function": {"name": "f"}}]}),
                ),
            ],
        )
        .await;
    let r = h.create_batch("foreign-national", &file).await;
    assert_eq!(r.status, 451, "{}", r.text());
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("2 of 3"), "{message}");
    assert!(
        message.contains("line 2 `uncapped`: This model is available to you only within limits: set `max_tokens` to 4096 or less"),
        "{message}"
    );
    assert!(
        message.contains("line 3 `tools`") && message.contains("do not use tools"),
        "{message}"
    );
    let r = h.upload("foreign-national", "batch", "").await;
    assert_eq!(r.status, 400, "an empty batch file: {}", r.text());
    let file = h
        .batch_file(
            "foreign-national",
            &[chat_line("capped", "fable-5", json!({"max_tokens": 100}))],
        )
        .await;
    assert_eq!(h.create_batch("foreign-national", &file).await.status, 200);
    // A file uploaded for another purpose has no lines to decide.
    let other = h
        .upload("foreign-national", "fine-tune", "{}\n")
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = h.create_batch("foreign-national", &other).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["param"], "input_file_id");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The decision recorded at `index` in the harness's audit log.
fn decision_at_index(h: &Harness, index: &Value) -> leaf::DecisionRecord {
    let reader = LogReader::open(h.dir.join("audit")).unwrap();
    let index = index
        .as_u64()
        .unwrap_or_else(|| panic!("no index: {index}"));
    match leaf::decode(&reader.entry(index).unwrap()).unwrap() {
        Record::Decision(d) => d,
        Record::Admin(a) => panic!("entry {index} is an admin leaf: {a:?}"),
    }
}

impl Harness {
    /// `who`'s Anthropic message batch of one request on `model`.
    async fn message_batch_of(&self, who: &str, model: &str) -> Reply {
        let body = super::stored::batch_of(&[model]);
        self.anthropic(who, "POST", "/v1/messages/batches", Some(body))
            .await
    }

    /// `who`'s OpenAI batch of one chat line on `model`.
    async fn batch_of_one(&self, who: &str, model: &str) -> Reply {
        let file = self
            .batch_file(who, &[chat_line("a", model, json!({}))])
            .await;
        self.create_batch(who, &file).await
    }
}

#[tokio::test]
async fn a_directive_scoped_to_batches_sees_the_requests_of_both_kinds_of_batch() {
    // The frontier order, moved from its models to every batched request.
    let dir = std::env::temp_dir().join(format!("cordon-gw-batch-scope-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let order = std::fs::read_to_string(root().join("directives/foreign-national-frontier.toml"))
        .unwrap()
        .replace(
            r#"models = ["fable-5", "mythos-5"]"#,
            r#"features = ["batch"]"#,
        );
    std::fs::write(dir.join("batches.toml"), order).unwrap();
    let h = start(Setup {
        directives: Directives::Dir(dir.clone()),
        audit: Some(audit::Trail::default()),
        ..Setup::default()
    })
    .await;
    // Not a batch: the directive does not apply.
    let r = h.chat("foreign-national", ask("lyric-4", "Hi")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // An Anthropic message batch's request is decided with `batch`.
    let r = h.message_batch_of("foreign-national", "lyric-4").await;
    assert_eq!(r.status, 451, "{}", r.text());
    let refused = &r.json()["cordon"]["refused"][0];
    assert_eq!(refused["directive"], "foreign-national-frontier-2026");
    let d = decision_at_index(&h, &refused["audit_index"]);
    assert_eq!(
        (d.endpoint.as_str(), d.effect.as_str()),
        ("messages", "deny")
    );
    assert!(d.features.contains(&"batch".to_owned()), "{:?}", d.features);

    // So is an OpenAI batch's line.
    let r = h.batch_of_one("foreign-national", "lyric-4").await;
    assert_eq!(r.status, 451, "{}", r.text());
    let refused = &r.json()["cordon"]["refused"][0];
    assert_eq!(refused["directive"], "foreign-national-frontier-2026");

    // Both kinds are open to whom the directive does not refuse.
    let r = h.message_batch_of("us-citizen", "lyric-4").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.batch_of_one("us-citizen", "lyric-4").await;
    assert_eq!(r.status, 200, "{}", r.text());
    h.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_batchs_output_is_decided_again_when_read_and_its_input_is_not() {
    let (h, now) = super::stored::before_the_directive().await;
    let file = h
        .batch_file("foreign-national", &[chat_line("a", "fable-5", json!({}))])
        .await;
    let r = h.create_batch("foreign-national", &file).await;
    assert_eq!(r.status, 200, "before the directive: {}", r.text());
    let batch = r.json()["id"].as_str().unwrap().to_owned();
    let done = h
        .call("foreign-national", "GET", &format!("/v1/batches/{batch}"))
        .await;
    let output = done.json()["output_file_id"].as_str().unwrap().to_owned();
    let results = format!("/v1/files/{output}/content");
    let r = h.call("foreign-national", "GET", &results).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "allow");

    super::stored::directive_takes_effect(&now);
    let before = h.upstream_requests();
    let r = h.call("foreign-national", "GET", &results).await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(h.upstream_requests(), before, "nothing was forwarded");
    let d = h.decision_at(&r);
    assert_eq!(
        (d.endpoint.as_str(), d.model.as_deref(), d.effect.as_str()),
        ("chat", Some("fable-5"), "deny")
    );
    assert!(d.features.contains(&"batch".to_owned()), "{:?}", d.features);
    // What the customer uploaded, and the batch's status, are not what a
    // model made: still theirs to read.
    for path in [
        format!("/v1/files/{file}/content"),
        format!("/v1/batches/{batch}"),
    ] {
        let r = h.call("foreign-national", "GET", &path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    h.finish();
}

#[tokio::test]
async fn a_list_reads_on_past_other_accounts_objects_and_takes_only_ones_own_cursors() {
    let h = start(Setup::default()).await;
    let upload = |who: &'static str| {
        let h = &h;
        async move {
            let r = h.upload(who, "fine-tune", "{}\n").await;
            r.json()["id"].as_str().unwrap().to_owned()
        }
    };
    let mine = upload("us-citizen").await;
    let mut theirs = Vec::new();
    for _ in 0..3 {
        theirs.push(upload("foreign-national").await);
    }
    // Newest first, one a page: three pages of another's files come first.
    let r = h.call("us-citizen", "GET", "/v1/files?limit=1").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(ids(&r), [mine.as_str()]);
    assert_eq!(
        (r.json()["first_id"].clone(), r.json()["last_id"].clone()),
        (json!(mine), json!(mine))
    );
    // Past eight pages of others' the answer is an empty page with more.
    for _ in 0..6 {
        theirs.push(upload("foreign-national").await);
    }
    let r = h.call("us-citizen", "GET", "/v1/files?limit=1").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(ids(&r).is_empty(), "{}", r.text());
    assert_eq!(r.json()["has_more"], true);
    assert_eq!(r.json()["last_id"], Value::Null);
    // The caller's own cursor pages on; another's is no cursor.
    let r = h
        .call(
            "foreign-national",
            "GET",
            &format!("/v1/files?after={}", theirs[0]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        ids(&r).is_empty(),
        "nothing of theirs is older: {}",
        r.text()
    );
    let r = h
        .call(
            "foreign-national",
            "GET",
            &format!("/v1/files?after={mine}"),
        )
        .await;
    assert_eq!(
        (r.status, r.json()["error"]["param"].clone()),
        (400, json!("after"))
    );
    let batch = h.message_batch_of("us-citizen", "lyric-4").await;
    let batch = batch.json()["id"].as_str().unwrap().to_owned();
    for cursor in ["after_id", "before_id"] {
        let path = format!("/v1/messages/batches?{cursor}={batch}");
        let r = h.anthropic("foreign-national", "GET", &path, None).await;
        assert_eq!(r.status, 400, "{cursor}: {}", r.text());
        let r = h.anthropic("us-citizen", "GET", &path, None).await;
        assert_eq!(r.status, 200, "{cursor}: {}", r.text());
    }
}
