//! Proxied model requests: forwarding, refusals in each API's shape, streams,
//! disconnects, keys, malformed input, forwarding headers, obligations,
//! model listing and reloads.

use super::*;

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
            .contains("Verify `subject.citizenships` at `document_verified`")
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
    assert_eq!(r.header("x-cordon-directive"), "ofac-iran");
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
    let (h, dir) = start_partial("proxy").await;
    let body = json!({"model": "fable-5", "max_tokens": 9000, "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto", "messages": [{"role": "user", "content": "Hi"}]});
    let r = h.chat("foreign-national", body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-cordon-effect"), "allow_with_obligations");
    assert_eq!(
        r.header("x-cordon-obligations"),
        "max_tokens=4096, remove=tools"
    );
    // The reason travels with the limits: the obligating directive's title
    // (its rule has no message of its own) and its id.
    assert_eq!(
        r.header("x-cordon-obligations-reason"),
        "Foreign nationals may use fable-5 and mythos-5 only without tools and with at most 4096 output tokens (foreign-national-frontier-2026-partial)"
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
