//! End users behind an organisation's key: a request the organisation sends
//! for a registered end user is decided on that person, and recorded so.

use cordon_audit::leaf::{self, Record};
use cordon_audit_log::LogReader;
use serde_json::{Value, json};

use super::{Harness, Reply, Setup, hello, start};

/// A U.S.-incorporated organisation (not a licence holder of the shipped
/// order) with a key, a verified German member
/// (`nw-bob`) and an unverified one (`nw-cy`); returns the organisation's key.
fn organisation(h: &Harness) -> String {
    h.store
        .add_account(
            "northwind",
            json!({"kind": "organization", "name": "Tailspin Robotics", "verification": "attested",
                   "organization": {"name": "Tailspin Robotics", "country": "US"}}),
        )
        .unwrap();
    h.store
        .add_account(
            "nw-bob",
            json!({"verification": "document_verified", "citizenships": ["DE"],
                   "permanent_residencies": [], "protected_individual": false,
                   "organization": {"name": "Tailspin Robotics"}}),
        )
        .unwrap();
    h.store
        .add_account(
            "nw-cy",
            json!({"organization": {"name": "Tailspin Robotics"}}),
        )
        .unwrap();
    h.store.create_key("northwind", None).unwrap().key
}

async fn send_as(h: &Harness, key: &str, method: &str, path: &str, body: Value) -> Reply {
    send_with(h, key, method, path, &[], body).await
}

async fn send_with(
    h: &Harness,
    key: &str,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    body: Value,
) -> Reply {
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    if path == "/v1/messages" {
        headers.push(("anthropic-version", "2023-06-01"));
    }
    h.send(method, path, &headers, body.to_string()).await
}

/// A `fable-5` chat request naming `field: end_user` (none when `field` is empty).
fn chat_for(field: &str, end_user: &str) -> Value {
    let mut b = hello("fable-5");
    if !field.is_empty() {
        b[field] = end_user.into();
    }
    b
}

async fn register(h: &Harness, key: &str, list: Value) -> Reply {
    send_as(
        h,
        key,
        "POST",
        "/v1/organizations/northwind/end-users",
        json!({ "end_users": list }),
    )
    .await
}

#[tokio::test]
async fn a_registered_end_user_is_decided_on_as_the_person_not_the_organisation() {
    let h = start(Setup::default()).await;
    let org = organisation(&h);
    // Before registration the organisation is decided on, whoever it names:
    // its own account cannot answer an order about natural persons.
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "bob@nw.example"),
    )
    .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "verification_required");

    let r = register(
        &h,
        &org,
        json!([{"id": "bob@nw.example", "account": "nw-bob"},
               {"id": "ann@nw.example", "account": "nw.ann"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["created"], json!(["nw.ann"]));

    // The verified German national is refused the model the order covers, in
    // each API's own field.
    for field in ["user", "safety_identifier"] {
        let r = send_as(
            &h,
            &org,
            "POST",
            "/v1/chat/completions",
            chat_for(field, "bob@nw.example"),
        )
        .await;
        assert_eq!(r.status, 451, "{field}: {}", r.text());
        assert_eq!(r.header("x-cordon-effect"), "deny");
    }
    let mut messages = hello("fable-5");
    messages["max_tokens"] = 16.into();
    messages["metadata"] = json!({"user_id": "bob@nw.example"});
    let r = send_as(&h, &org, "POST", "/v1/messages", messages).await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "permission_error");

    // The new member account knows nothing yet: verification, with the
    // links made out for the person, not the organisation.
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "ann@nw.example"),
    )
    .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "verification_required");
    let links = r.json()["error"]["cordon"]["remedy_verify"].to_string();
    assert!(!links.contains("northwind"), "{links}");

    // The organisation attests for its member; the next request passes.
    let att = json!({"statement": "cordon-attestation/1", "id": "att-9", "members": ["nw.ann"],
                     "subject": {"citizenships": ["US"]}, "expires": "2030-01-01T00:00:00Z"});
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/organizations/northwind/attestations",
        att,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "ann@nw.example"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // An unregistered end user, and no end user, are the organisation.
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "zed@nw.example"),
    )
    .await;
    assert_eq!(r.header("x-cordon-effect"), "verification_required");
    let r = send_as(&h, &org, "POST", "/v1/chat/completions", chat_for("", "")).await;
    assert_eq!(r.header("x-cordon-effect"), "verification_required");

    // Removing the registration gives the organisation's decision back.
    let r = send_as(
        &h,
        &org,
        "DELETE",
        "/v1/organizations/northwind/end-users",
        json!({"end_users": ["bob@nw.example"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["removed"], 1);
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "bob@nw.example"),
    )
    .await;
    assert_eq!(r.header("x-cordon-effect"), "verification_required");
    h.finish();
}

/// The foreign-national order is about natural persons: behind an
/// organisation's key it is decided on the end user, and the organisation's
/// own decision leaves it out rather than refusing on it.
mod person_orders {
    use super::*;

    /// `/v1/chat/completions` for `fable-5` naming `who` (no one when
    /// empty). Where the request comes from plays no part in the order.
    async fn ask_fable(h: &Harness, key: &str, who: &str) -> Reply {
        let field = if who.is_empty() { "" } else { "user" };
        send_as(h, key, "POST", "/v1/chat/completions", chat_for(field, who)).await
    }

    #[tokio::test]
    async fn an_organisation_with_a_verified_us_citizen_end_user_is_allowed() {
        let h = start(Setup::default()).await;
        let org = organisation(&h);
        h.store
            .add_account(
                "nw-us",
                json!({"verification": "document_verified", "citizenships": ["US"],
                       "organization": {"name": "Tailspin Robotics"}}),
            )
            .unwrap();
        register(&h, &org, json!([{"id": "una", "account": "nw-us"}])).await;
        let r = ask_fable(&h, &org, "una").await;
        assert_eq!(r.status, 200, "{}", r.text());
        h.finish();
    }

    #[tokio::test]
    async fn an_organisation_with_no_end_user_gets_the_orders_unknown() {
        // A U.S.-incorporated organisation with no individual data used to
        // pass: incorporation says nothing about the person at the keyboard.
        let h = start(Setup::default()).await;
        let org = organisation(&h);
        let r = ask_fable(&h, &org, "").await;
        assert_eq!(r.status, 451, "{}", r.text());
        assert_eq!(r.header("x-cordon-effect"), "verification_required");
        assert_eq!(
            r.header("x-cordon-directive"),
            "foreign-national-frontier-2026"
        );
        // Models the order does not cover are untouched.
        let r = send_as(&h, &org, "POST", "/v1/chat/completions", hello("lyric-4")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        // The listing is the organisation's: it shows the order's models,
        // which each request then decides on the end user it names.
        let r = send_as(&h, &org, "GET", "/v1/models", Value::Null).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let listed = r.json();
        let ids: Vec<&str> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["id"].as_str())
            .collect();
        assert!(ids.contains(&"fable-5"), "{ids:?}");
        h.finish();
    }

    #[tokio::test]
    async fn an_organisation_whose_end_user_is_a_german_national_is_refused() {
        let h = start(Setup::default()).await;
        let org = organisation(&h);
        register(&h, &org, json!([{"id": "bob", "account": "nw-bob"}])).await;
        let r = ask_fable(&h, &org, "bob").await;
        assert_eq!(r.status, 451, "{}", r.text());
        assert_eq!(r.header("x-cordon-effect"), "deny");
        assert_eq!(
            r.header("x-cordon-directive"),
            "foreign-national-frontier-2026"
        );
        h.finish();
    }
}

#[tokio::test]
async fn one_account_can_stand_for_every_unregistered_end_user() {
    let h = start(Setup::default()).await;
    let org = organisation(&h);
    let r = register(
        &h,
        &org,
        json!([{"id": "*", "account": "nw.everyone"}, {"id": "bob", "account": "nw-bob"}]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for (field, who) in [("user", "zed"), ("", "")] {
        let r = send_as(
            &h,
            &org,
            "POST",
            "/v1/chat/completions",
            chat_for(field, who),
        )
        .await;
        assert_eq!(r.status, 451, "{who:?}: {}", r.text());
        assert_eq!(r.header("x-cordon-effect"), "verification_required");
    }
    // Everyone the organisation has not registered is a U.S. person, it says.
    let att = json!({"statement": "cordon-attestation/1", "id": "att-all", "members": ["nw.everyone"],
                     "subject": {"citizenships": ["US"]}, "expires": "2030-01-01T00:00:00Z"});
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/organizations/northwind/attestations",
        att,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "zed"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A registered person is still themself.
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "bob"),
    )
    .await;
    assert_eq!(r.status, 451, "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn a_configured_header_names_the_end_user_and_must_agree_with_the_body() {
    let h = start(Setup {
        end_user_header: Some("x-end-user-id"),
        ..Setup::default()
    })
    .await;
    let org = organisation(&h);
    register(&h, &org, json!([{"id": "bob", "account": "nw-bob"}])).await;
    let path = "/v1/chat/completions";
    let by_header = [("x-end-user-id", "bob")];
    let r = send_with(&h, &org, "POST", path, &by_header, chat_for("", "")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    let r = send_with(&h, &org, "POST", path, &by_header, chat_for("user", "bob")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    let r = send_with(&h, &org, "POST", path, &by_header, chat_for("user", "zed")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("x-end-user-id"), "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn ambiguous_end_users_disabled_members_and_other_keys_are_refused() {
    let h = start(Setup::default()).await;
    let org = organisation(&h);
    register(&h, &org, json!([{"id": "cy", "account": "nw-cy"}])).await;
    let path = "/v1/chat/completions";
    let mut both = chat_for("user", "a");
    both["safety_identifier"] = "b".into();
    let r = send_as(&h, &org, "POST", path, both).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["param"], "safety_identifier");
    let r = send_as(&h, &org, "POST", path, chat_for("user", &"x".repeat(257))).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let mut numeric = hello("fable-5");
    numeric["user"] = 7.into();
    let r = send_as(&h, &org, "POST", path, numeric).await;
    assert_eq!(r.status, 400, "{}", r.text());

    h.store.disable("nw-cy").unwrap();
    let r = send_as(&h, &org, "POST", path, chat_for("user", "cy")).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "end_user_disabled");
    assert_eq!(
        h.upstream_requests(),
        0,
        "nothing refused reached the upstream"
    );

    // An individual's key: the `user` field is the caller's own business.
    let r = h.chat("us-citizen", chat_for("user", "cy")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Registration: only the organisation's key, only its members, whole.
    let member_key = h.store.create_key("nw-bob", None).unwrap().key;
    let r = send_as(
        &h,
        &member_key,
        "POST",
        "/v1/organizations/northwind/end-users",
        json!({"end_users": [{"id": "x", "account": "nw-bob"}]}),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
    let cases = [
        (
            json!({"end_users": [{"id": "x", "account": "nw-new"}, {"id": "y", "account": "us-citizen"}]}),
            "`us-citizen` is not an individual member",
        ),
        (json!({"end_users": [{"id": "x"}]}), "end_users[0]"),
        (json!({"end_users": []}), "1 to 1000"),
        (json!({"users": []}), "`end_users` list"),
        (
            json!({"end_users": [{"id": "x", "account": "Bad Id"}]}),
            "not an account id",
        ),
        (
            json!({"end_users": [{"id": "", "account": "nw-new"}]}),
            "end_users[0].id",
        ),
    ];
    for (body, expected) in cases {
        let r = send_as(
            &h,
            &org,
            "POST",
            "/v1/organizations/northwind/end-users",
            body,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains(expected), "{expected}: {}", r.text());
    }
    assert!(h.store.get("nw-new").unwrap().is_none(), "nothing recorded");
    let big = format!(r#"{{"end_users": ["{}"]}}"#, "x".repeat(2 * 1024 * 1024));
    let auth = format!("Bearer {org}");
    let r = h
        .send(
            "POST",
            "/v1/organizations/northwind/end-users",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            big,
        )
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn the_decision_leaf_names_the_end_user_decided_for() {
    let h = start(Setup {
        audit: Some(super::audit::Trail::default()),
        ..Setup::default()
    })
    .await;
    let org = organisation(&h);
    register(
        &h,
        &org,
        json!([{"id": "bob@nw.example", "account": "nw-bob"}]),
    )
    .await;
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/chat/completions",
        chat_for("user", "bob@nw.example"),
    )
    .await;
    assert_eq!(r.status, 451, "{}", r.text());
    let index: u64 = r
        .header(cordon_gateway::audit::AUDIT_INDEX)
        .parse()
        .unwrap();
    let reader = LogReader::open(h.dir.join("audit")).unwrap();
    let entry = reader.entry(index).unwrap();
    let Record::Decision(d) = leaf::decode(&entry).unwrap() else {
        panic!("not a decision")
    };
    assert_eq!(d.account.as_deref(), Some("northwind"));
    assert_eq!(d.end_user.as_deref(), Some("nw-bob"));
    assert_eq!(d.effect, "deny");
    // The organisation's identifier for the person is nowhere in the log.
    let text = String::from_utf8_lossy(&entry);
    assert!(!text.contains("bob@nw.example"), "{text}");
    let r = send_as(&h, &org, "POST", "/v1/chat/completions", chat_for("", "")).await;
    let index: u64 = r
        .header(cordon_gateway::audit::AUDIT_INDEX)
        .parse()
        .unwrap();
    let reader = LogReader::open(h.dir.join("audit")).unwrap();
    let Record::Decision(d) = leaf::decode(&reader.entry(index).unwrap()).unwrap() else {
        panic!("not a decision")
    };
    assert_eq!(d.end_user, None);
    h.finish();
}

#[tokio::test]
async fn registering_end_users_never_lifts_what_applies_to_the_organisation() {
    let h = start(Setup::default()).await;
    let org = organisation(&h);
    // The organisation itself is on the SDN list, confirmed by a reviewer.
    h.store
        .set_attributes(
            "northwind",
            json!({"screening": [{"list": "SDN", "status": "confirmed", "entry": "1"}]}),
        )
        .unwrap();
    let r = send_as(&h, &org, "POST", "/v1/chat/completions", chat_for("", "")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "deny");
    register(
        &h,
        &org,
        json!([{"id": "*", "account": "nw.front"}, {"id": "bob", "account": "nw-bob"}]),
    )
    .await;
    let att = json!({"statement": "cordon-attestation/1", "id": "att-front", "members": ["nw.front"],
                     "subject": {"citizenships": ["US"]}, "expires": "2030-01-01T00:00:00Z"});
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/organizations/northwind/attestations",
        att,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for who in ["", "anyone", "bob"] {
        let r = send_as(
            &h,
            &org,
            "POST",
            "/v1/chat/completions",
            chat_for("user", who),
        )
        .await;
        assert_eq!(r.status, 451, "{who:?}: {}", r.text());
        assert_eq!(r.header("x-cordon-effect"), "deny", "{who:?}");
    }
    h.finish();
}

#[tokio::test]
async fn an_organisation_cannot_rename_itself_or_its_members_by_statement() {
    let h = start(Setup::default()).await;
    let org = organisation(&h);
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/verification/declarations",
        json!({"statement": "cordon-self-declaration/1", "subject": {"name": "Northwind Labs"}}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("subject.name"), "{}", r.text());
    let att = json!({"statement": "cordon-attestation/1", "id": "att-move", "members": ["nw-bob"],
                     "subject": {"organization": {"name": "Northwind Labs"}}, "expires": "2030-01-01T00:00:00Z"});
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/organizations/northwind/attestations",
        att,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("subject.organization"), "{}", r.text());
    assert!(h.store.evidence("nw-bob").unwrap().is_empty());
    h.finish();
}

#[tokio::test]
async fn each_request_of_a_message_batch_is_decided_on_its_own_end_user() {
    let h = start(Setup::default()).await;
    let org = organisation(&h);
    // Everyone but bob is the `*` account, a verified U.S. citizen: the
    // order is decided on a person for every line.
    h.store
        .add_account(
            "nw-us",
            json!({"verification": "document_verified", "citizenships": ["US"],
                   "organization": {"name": "Tailspin Robotics"}}),
        )
        .unwrap();
    register(
        &h,
        &org,
        json!([{"id": "bob", "account": "nw-bob"}, {"id": "*", "account": "nw-us"}]),
    )
    .await;
    let line = |id: &str, user: &str| {
        json!({"custom_id": id, "params": {"model": "fable-5", "max_tokens": 8,
            "metadata": {"user_id": user}, "messages": [{"role": "user", "content": "Hi"}]}})
    };
    let r = send_as(
        &h,
        &org,
        "POST",
        "/v1/messages/batches",
        json!({"requests": [line("for-zed", "zed"), line("for-bob", "bob")]}),
    )
    .await;
    assert_eq!(r.status, 451, "{}", r.text());
    let refused = r.json()["cordon"]["refused"].clone();
    assert_eq!(refused.as_array().unwrap().len(), 1, "{refused}");
    assert_eq!(refused[0]["custom_id"], "for-bob");
    h.finish();
}
