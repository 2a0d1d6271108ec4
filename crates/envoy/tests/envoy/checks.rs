//! Decisions: allowed, refused, verification required, unknown models,
//! obligations, and the same answers as the HTTP `ext_authz` endpoint.

use cordon_audit::leaf::{self, Record, Source};
use cordon_audit_log::LogReader;

use super::*;

#[tokio::test]
async fn an_allowed_request_is_ok_with_the_decision_for_the_upstream_and_the_client() {
    let h = start(Setup::default()).await;
    let mut check = envoy_check(
        "POST",
        "/v1/chat/completions",
        &[
            ("authorization", &format!("Bearer {}", h.key("us-citizen"))),
            ("content-type", "application/json"),
            // A client pretending Cordon already decided.
            ("x-cordon-audit-index", "7"),
            ("x-cordon-effect", "allow"),
        ],
        &hello("fable-5").to_string(),
    );
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
        .id = "req-allowed".into();
    let a = h.check(check).await;
    assert!(a.allowed(), "{a:?}");
    assert!(
        a.header("x-cordon-decision-id").starts_with("dec_"),
        "{a:?}"
    );
    assert_eq!(a.header("x-cordon-effect"), "allow");
    assert_eq!(a.header("x-cordon-model"), "fable-5");
    assert_eq!(
        a.headers
            .iter()
            .filter(|(k, _)| k == "x-cordon-effect")
            .count(),
        1,
        "Cordon's effect replaces the client's"
    );
    assert_eq!(
        a.removed,
        ["x-cordon-audit-index"],
        "without an audit log Cordon sets no index, so the client's is removed"
    );
    let client: Vec<&str> = a.client.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(client, ["x-cordon-decision-id", "x-cordon-effect"]);
    let metrics = h.gw.metrics.render("v");
    assert!(
        metrics.contains(r#"route="envoy.service.auth.v3.Authorization/Check",status="200""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_refusal_is_a_451_with_cordons_body_and_headers() {
    let h = start(Setup::default()).await;
    let a = h.chat("foreign-national", hello("fable-5")).await;
    assert!(!a.allowed());
    assert_eq!(a.grpc, 7, "PERMISSION_DENIED");
    assert_eq!(a.status, 451);
    let e = a.json();
    assert_eq!(e["error"]["code"], "cordon_denied");
    assert_eq!(e["error"]["type"], "permission_error");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("foreign-national-frontier-2026"),
        "{e}"
    );
    assert_eq!(e["cordon"]["directive"], "foreign-national-frontier-2026");
    assert_eq!(a.header("content-type"), "application/json");
    assert_eq!(
        a.header("link"),
        "<https://operator.test/>; rel=\"blocked-by\""
    );
    assert_eq!(a.header("cache-control"), "no-store");
    assert_eq!(a.header("x-should-retry"), "false");
    assert_eq!(a.header("x-cordon-effect"), "deny");
    assert_eq!(
        a.header("x-cordon-directive"),
        "foreign-national-frontier-2026"
    );
    assert_eq!(
        a.header("x-cordon-decision-id"),
        e["cordon"]["decision_id"].as_str().unwrap()
    );
    assert_eq!(a.header("content-length"), "", "Envoy sets its own");

    // The Anthropic API gets its own error shape.
    let a = h
        .post(
            "foreign-national",
            "/v1/messages",
            json!({"model": "fable-5", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(a.status, 451);
    assert_eq!(a.json()["type"], "error");
    assert_eq!(a.json()["error"]["type"], "permission_error");
}

#[tokio::test]
async fn the_configured_refusal_status_is_used() {
    let h = start(Setup {
        refusal_status: "403",
        ..Setup::default()
    })
    .await;
    let a = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!((a.grpc, a.status), (7, 403));
    assert_eq!(a.json()["error"]["code"], "cordon_denied");
}

/// Removes the decision ids from a body, which differ between two decisions.
fn without_ids(body: &str) -> Value {
    let mut v: Value = serde_json::from_str(body).unwrap();
    if let Some(c) = v.get_mut("cordon").and_then(Value::as_object_mut) {
        c.remove("decision_id");
    }
    if let Some(m) = v.pointer_mut("/error/message")
        && let Some(text) = m.as_str()
    {
        *m = text
            .split(" (decision dec_")
            .next()
            .unwrap()
            .to_owned()
            .into();
    }
    v
}

#[tokio::test]
async fn grpc_and_http_ext_authz_give_the_same_answers() {
    let h = start(Setup::default()).await;
    let cases = [
        ("us-citizen", "/v1/chat/completions", hello("fable-5")),
        ("foreign-national", "/v1/chat/completions", hello("fable-5")),
        ("unverified", "/v1/chat/completions", hello("mythos-5")),
        ("us-citizen", "/v1/chat/completions", hello("fable-9")),
        (
            "foreign-national",
            "/v1/messages",
            json!({"model": "mythos-5", "max_tokens": 5, "messages": []}),
        ),
        (
            "us-citizen",
            "/v1/chat/completions",
            json!({"messages": []}),
        ),
    ];
    for (who, path, body) in cases {
        let a = h.post(who, path, body.clone()).await;
        let (status, headers, text) = h.http_ext_authz(who, path, body.clone()).await;
        assert_eq!(i32::from(status), a.status, "{who} {path} {body}");
        if status == 200 {
            assert!(a.allowed());
            assert_eq!(
                headers["x-cordon-effect"].to_str().unwrap(),
                a.header("x-cordon-effect")
            );
            continue;
        }
        assert_eq!(
            without_ids(&text),
            without_ids(&a.body),
            "{who} {path} {body}"
        );
        for (name, value) in &headers {
            // The id differs; hyper adds the length and the date itself.
            if ["x-cordon-decision-id", "content-length", "date"].contains(&name.as_str()) {
                continue;
            }
            assert_eq!(
                a.header(name.as_str()),
                value.to_str().unwrap(),
                "header `{name}` for {who} {path} {body}"
            );
        }
    }
}

#[tokio::test]
async fn verification_required_and_unknown_models() {
    let h = start(Setup::default()).await;
    let a = h.chat("unverified", hello("mythos-5")).await;
    assert_eq!(a.status, 451);
    assert_eq!(a.json()["error"]["code"], "cordon_verification_required");
    assert_eq!(a.header("x-cordon-effect"), "verification_required");
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Verification required.")
    );

    let a = h.chat("us-citizen", hello("fable-9")).await;
    assert_eq!((a.grpc, a.status), (7, 404));
    assert_eq!(a.json()["error"]["code"], "model_not_found");
}

#[tokio::test]
async fn an_obligation_breach_is_refused_with_the_limits_and_a_request_within_them_is_ok() {
    let h = start(Setup {
        directives: Directives::Partial,
        ..Setup::default()
    })
    .await;
    let over = json!({"model": "fable-5", "max_tokens": 9000, "tools": [{"type": "function", "function": {"name": "f"}}], "messages": [{"role": "user", "content": "Hi"}]});
    let a = h.chat("foreign-national", over).await;
    assert_eq!((a.grpc, a.status), (7, 451), "{a:?}");
    let message = a.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("set `max_tokens` to 4096 or less")
            && message.contains("do not use tools"),
        "{message}"
    );
    assert_eq!(a.json()["cordon"]["effect"], "allow_with_obligations");
    assert_eq!(
        a.header("link"),
        "<https://operator.test/>; rel=\"blocked-by\""
    );
    let no_cap = json!({"model": "fable-5", "messages": [{"role": "user", "content": "Hi"}]});
    assert_eq!(
        h.chat("foreign-national", no_cap).await.status,
        451,
        "no `max_tokens` is no cap"
    );

    let within = json!({"model": "fable-5", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]});
    let a = h.chat("foreign-national", within).await;
    assert!(a.allowed(), "{a:?}");
    assert_eq!(a.header("x-cordon-effect"), "allow_with_obligations");
}

#[tokio::test]
async fn every_decision_is_in_the_audit_log_before_the_answer() {
    let h = start(Setup {
        audit: true,
        ..Setup::default()
    })
    .await;
    let allowed = h.chat("us-citizen", hello("fable-5")).await;
    assert!(allowed.allowed());
    let refused = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(refused.status, 451);
    let reader = LogReader::open(h.dir.join("audit")).unwrap();
    for (a, effect) in [(&allowed, "allow"), (&refused, "deny")] {
        let index: u64 = a.header("x-cordon-audit-index").parse().unwrap();
        let Record::Decision(d) = leaf::decode(&reader.entry(index).unwrap()).unwrap() else {
            panic!("entry {index} is not a decision");
        };
        assert_eq!(d.id, a.header("x-cordon-decision-id"));
        assert_eq!(d.effect, effect);
        assert_eq!(d.model.as_deref(), Some("fable-5"));
        assert_eq!(d.source, Source::DecisionApi);
    }
    assert!(allowed.removed.is_empty(), "the index is Cordon's own");
    let client: Vec<&str> = allowed.client.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        client,
        [
            "x-cordon-decision-id",
            "x-cordon-effect",
            "x-cordon-audit-index"
        ]
    );
}
