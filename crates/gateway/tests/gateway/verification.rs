//! Verification webhooks: a refused account verifies and its very next
//! request is allowed; forged, stale, malformed, over-claiming and replayed
//! deliveries change nothing.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::{Harness, Setup, WEBHOOK_SECRET, start};

const PATH: &str = "/v1/verification/webhooks/test-kyc";

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

fn sign(key: &[u8], id: &str, ts: i64, body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let msg = [id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body].concat();
    format!("v1,{}", B64.encode(ring::hmac::sign(&k, &msg).as_ref()))
}

fn secret() -> Vec<u8> {
    B64.decode(WEBHOOK_SECRET.strip_prefix("whsec_").unwrap())
        .unwrap()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

async fn deliver(h: &Harness, id: &str, ts: i64, key: &[u8], event: &Value) -> crate::Reply {
    let body = event.to_string();
    let sig = sign(key, id, ts, body.as_bytes());
    let ts = ts.to_string();
    h.send(
        "POST",
        PATH,
        &[
            ("content-type", "application/json"),
            ("webhook-id", id),
            ("webhook-timestamp", &ts),
            ("webhook-signature", &sig),
        ],
        body,
    )
    .await
}

fn us_citizen_of(account: &str) -> Value {
    json!({"type": "verification.completed", "account": account, "id": "run-1",
           "subject": {"verification": "document_verified", "citizenships": ["US"]}})
}

#[tokio::test]
async fn a_verified_account_s_very_next_request_is_allowed() {
    let h = start(Setup::default()).await;
    let r = h.chat("unverified", hello("fable-5")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "verification_required");

    // The refusal says what to verify and where to start, with a link that
    // is good for this account only.
    let remedy = r.json()["cordon"]["remedy_verify"].clone();
    assert!(!remedy["verify"].as_array().unwrap().is_empty(), "{remedy}");
    let start = remedy["start"].as_array().unwrap();
    let link = start.iter().find(|s| s["way"] == "test-kyc").unwrap();
    let url = link["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://verify.test/start?account=unverified&way=test-kyc"),
        "{url}"
    );
    let field = |name: &str| {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, crate::LINK_SECRET.as_bytes());
    let expires: i64 = field("expires").parse().unwrap();
    let now_ts = jiff::Timestamp::now();
    assert!(
        cordon_verification::link::verify(
            &key,
            "unverified",
            "test-kyc",
            expires,
            &field("sig"),
            now_ts
        )
        .is_ok()
    );
    assert!(
        cordon_verification::link::verify(
            &key,
            "us-citizen",
            "test-kyc",
            expires,
            &field("sig"),
            now_ts
        )
        .is_err()
    );

    let status = h.get("/v1/verification", Some(&h.key("unverified"))).await;
    assert_eq!(status.status, 200, "{}", status.text());
    let models = status.json()["models"].clone();
    let fable = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "fable-5")
        .unwrap_or_else(|| panic!("{models}"));
    assert_eq!(fable["effect"], "verification_required");
    assert!(!fable["verify"].as_array().unwrap().is_empty());
    assert_eq!(status.json()["ways"][0]["source"], "test-kyc");

    let ok = deliver(&h, "msg-1", now(), &secret(), &us_citizen_of("unverified")).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["status"], "accepted");
    assert_eq!(ok.json()["changed"], true);
    // No wait: the gateway dropped its cached principals.
    let r = h.chat("unverified", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let rows = h.store.evidence("unverified").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].source, "test-kyc");
    assert_eq!(rows[0].delivery_id.as_deref(), Some("msg-1"));
    assert_eq!(rows[0].object_id.as_deref(), Some("run-1"));
    let evidence = h.get("/v1/verification", Some(&h.key("unverified"))).await;
    assert_eq!(evidence.json()["evidence"][0]["attribute"], "citizenships");
    let metrics = h.get("/metrics", None).await.text();
    assert!(
        metrics.contains(
            r#"cordon_verification_events_total{source="test-kyc",outcome="accepted"} 1"#
        ),
        "{metrics}"
    );
    h.finish();
}

#[tokio::test]
async fn bad_deliveries_change_nothing() {
    let h = start(Setup::default()).await;
    let ev = us_citizen_of("unverified");
    let v0 = cordon_store::IdentityStore::version(&*h.store).unwrap();
    let forged = deliver(&h, "m1", now(), b"another-secret-of-enough-length", &ev).await;
    assert_eq!(forged.status, 401, "{}", forged.text());
    assert_eq!(forged.json()["error"]["code"], "invalid_signature");
    let stale = deliver(&h, "m2", now() - 3600, &secret(), &ev).await;
    assert_eq!(stale.status, 401);
    assert!(stale.text().contains("old"), "{}", stale.text());
    let future = deliver(&h, "m3", now() + 3600, &secret(), &ev).await;
    assert_eq!(future.status, 401);
    let malformed = json!({"type": "verification.completed", "account": "unverified",
                           "subject": {"citizenships": ["XX"]}});
    let r = deliver(&h, "m4", now(), &secret(), &malformed).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("citizenships[0]"), "{}", r.text());
    let too_high = json!({"type": "verification.completed", "account": "unverified",
                          "subject": {"verification": "attested", "us_person": true}});
    let r = deliver(&h, "m5", now(), &secret(), &too_high).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("attested"), "{}", r.text());
    let missing = h
        .send(
            "POST",
            PATH,
            &[("content-type", "application/json")],
            ev.to_string(),
        )
        .await;
    assert_eq!(missing.status, 401);
    assert!(missing.text().contains("webhook-id"), "{}", missing.text());
    let unknown = h
        .send("POST", "/v1/verification/webhooks/nobody", &[], "{}")
        .await;
    assert_eq!(unknown.status, 404);
    let huge = h
        .send(
            "POST",
            PATH,
            &[("webhook-id", "m6")],
            vec![b' '; 300 * 1024],
        )
        .await;
    assert_eq!(huge.status, 413);

    assert_eq!(cordon_store::IdentityStore::version(&*h.store).unwrap(), v0);
    assert!(h.store.evidence("unverified").unwrap().is_empty());
    let r = h.chat("unverified", hello("fable-5")).await;
    assert_eq!(r.status, 451);
    // Only the authenticated refusals are on the record.
    let journal = h.store.pending_changes(100).unwrap();
    let rejected: Vec<_> = journal
        .iter()
        .filter(|c| c.action == "verification.rejected")
        .collect();
    assert_eq!(rejected.len(), 2, "{journal:?}");
    h.finish();
}

#[tokio::test]
async fn a_replay_answers_2xx_and_changes_nothing_and_orphans_are_kept() {
    let h = start(Setup::default()).await;
    let ok = deliver(&h, "m1", now(), &secret(), &us_citizen_of("unverified")).await;
    assert_eq!(ok.status, 200);
    let other = json!({"type": "verification.completed", "account": "unverified",
                       "subject": {"verification": "document_verified", "citizenships": ["DE"],
                                   "permanent_residencies": [], "protected_individual": false}});
    let replay = deliver(&h, "m1", now(), &secret(), &other).await;
    assert_eq!(replay.status, 200, "{}", replay.text());
    assert_eq!(replay.json()["status"], "replay");
    assert_eq!(h.store.evidence("unverified").unwrap().len(), 1);
    let r = h.chat("unverified", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let orphan = deliver(&h, "m2", now(), &secret(), &us_citizen_of("nobody")).await;
    assert_eq!(orphan.status, 202, "{}", orphan.text());
    assert_eq!(orphan.json()["status"], "orphan");

    // A revocation withdraws what the source said: refused again.
    let revoke = json!({"type": "verification.revoked", "account": "unverified"});
    let r = deliver(&h, "m3", now(), &secret(), &revoke).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.chat("unverified", hello("fable-5")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn a_vendor_s_decision_webhook_restores_access() {
    let h = start(Setup::default()).await;
    let decision = json!({"status": "success", "verification": {
        "id": "sess-1", "attemptId": "att-1", "code": 9001, "status": "approved",
        "vendorData": "unverified", "decisionTime": "2026-12-07T10:00:00.000Z",
        "person": {"nationality": "US"},
        "document": {"type": "PASSPORT", "country": "US", "validUntil": "2031-01-01"}
    }})
    .to_string();
    let sig = crate::hex_hmac(crate::VERIFF_SECRET, decision.as_bytes());
    let send = |sig: String, client: &'static str| {
        let body = decision.clone();
        let h = &h;
        async move {
            h.send(
                "POST",
                "/v1/verification/webhooks/veriff",
                &[
                    ("content-type", "application/json"),
                    ("x-hmac-signature", &sig),
                    ("x-auth-client", client),
                ],
                body,
            )
            .await
        }
    };
    let wrong_client = send(sig.clone(), "someone-else").await;
    assert_eq!(wrong_client.status, 401, "{}", wrong_client.text());
    let ok = send(sig, "veriff-api-key").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let rows = h.store.evidence("unverified").unwrap();
    assert_eq!(rows[0].document_country.as_deref(), Some("US"));
    assert_eq!(rows[0].method.as_deref(), Some("passport"));
    let r = h.chat("unverified", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    h.finish();
}

fn token(header: Value, claims: Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as U;
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&crate::SSO_SEED).unwrap();
    let signing = format!(
        "{}.{}",
        U.encode(header.to_string()),
        U.encode(claims.to_string())
    );
    let sig = pair.sign(signing.as_bytes());
    format!("{signing}.{}", U.encode(sig.as_ref()))
}

fn claims(sub: &str, exp: i64) -> Value {
    json!({"iss": crate::SSO_ISSUER, "aud": "cordon", "sub": sub, "iat": now(), "exp": exp,
           "jti": format!("jti-{sub}-{exp}"),
           "verified_claims": {"verification": {"trust_framework": "de_aml"},
                               "claims": {"nationalities": ["US"]}}})
}

async fn assert_token(h: &Harness, t: &str) -> crate::Reply {
    h.send(
        "POST",
        "/v1/verification/assertions",
        &[("content-type", "application/jwt")],
        t.to_owned(),
    )
    .await
}

#[tokio::test]
async fn an_identity_assertion_from_the_company_s_sso_restores_access() {
    let h = start(Setup::default()).await;
    let header = json!({"alg": "EdDSA", "kid": "k1", "typ": "JWT"});
    let expired = assert_token(
        &h,
        &token(header.clone(), claims("unverified", now() - 600)),
    )
    .await;
    assert_eq!(expired.status, 401, "{}", expired.text());
    let unknown_kid = assert_token(
        &h,
        &token(
            json!({"alg": "EdDSA", "kid": "k9"}),
            claims("unverified", now() + 600),
        ),
    )
    .await;
    assert_eq!(unknown_kid.status, 401);
    assert!(unknown_kid.text().contains("k9"), "{}", unknown_kid.text());
    let none = assert_token(
        &h,
        "eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL3Nzby50ZXN0In0.",
    )
    .await;
    assert_eq!(none.status, 401, "{}", none.text());
    let mut wrong_aud = claims("unverified", now() + 600);
    wrong_aud["aud"] = json!("someone-else");
    let r = assert_token(&h, &token(header.clone(), wrong_aud)).await;
    assert_eq!(r.status, 401);
    assert_eq!(h.chat("unverified", hello("fable-5")).await.status, 451);

    let good = token(header, claims("unverified", now() + 600));
    let ok = assert_token(&h, &good).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let r = h.chat("unverified", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = h.store.evidence("unverified").unwrap();
    assert_eq!(rows[0].source, "corp-sso");
    assert_eq!(rows[0].trust_framework.as_deref(), Some("de_aml"));
    // The same token again is a replay.
    let again = assert_token(&h, &good).await;
    assert_eq!(again.json()["status"], "replay");
    assert_eq!(h.store.evidence("unverified").unwrap().len(), 1);
    h.finish();
}

async fn post_as(h: &Harness, key: &str, path: &str, body: Value) -> crate::Reply {
    let auth = format!("Bearer {key}");
    h.send(
        "POST",
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await
}

#[tokio::test]
async fn a_self_declaration_is_recorded_at_self_declared_only() {
    let h = start(Setup::default()).await;
    let key = h.key("unverified");
    let path = "/v1/verification/declarations";
    let claim_more = json!({"statement": "cordon-self-declaration/1",
                            "subject": {"verification": "document_verified", "citizenships": ["US"]}});
    let r = post_as(&h, &key, path, claim_more).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("document_verified"), "{}", r.text());
    let declared = json!({"statement": "cordon-self-declaration/1",
                          "subject": {"residence_country": "FR"}});
    let r = post_as(&h, &key, path, declared).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = h.store.evidence("unverified").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].level.as_str(), "self_declared");
    assert_eq!(rows[0].source_kind.as_str(), "self_declaration");
    assert!(rows[0].method.as_deref().unwrap().contains("declared from"));
    let r = h
        .send("POST", path, &[("content-type", "application/json")], "{}")
        .await;
    assert_eq!(r.status, 401, "a declaration needs the customer's own key");
    h.finish();
}

#[tokio::test]
async fn an_organisation_attests_for_its_members_only() {
    let h = start(Setup::default()).await;
    h.store
        .add_account("acme", json!({"kind": "organization", "name": "Acme Labs"}))
        .unwrap();
    let org_key = h.store.create_key("acme", None).unwrap().key;
    h.store
        .add_account(
            "acme-dev",
            json!({"verification": "self_declared", "citizenships": ["FR"],
                                          "organization": {"name": "Acme Labs"}}),
        )
        .unwrap();
    let dev_key = h.store.create_key("acme-dev", None).unwrap().key;
    let path = "/v1/organizations/acme/attestations";
    let att = |members: Value| {
        json!({"statement": "cordon-attestation/1", "id": "att-1", "members": members,
               "subject": {"citizenships": ["US"]}, "expires": "2030-01-01T00:00:00Z"})
    };
    // A member's own key is not the organisation's.
    let r = post_as(&h, &dev_key, path, att(json!(["acme-dev"]))).await;
    assert_eq!(r.status, 403, "{}", r.text());
    // Someone else's account cannot be attested for.
    let r = post_as(&h, &org_key, path, att(json!(["acme-dev", "unverified"]))).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("`unverified`"), "{}", r.text());
    assert!(
        h.store.evidence("acme-dev").unwrap().is_empty(),
        "taken whole or not at all"
    );

    let chat = |key: String| {
        let h = &h;
        async move {
            let auth = format!("Bearer {key}");
            h.send(
                "POST",
                "/v1/chat/completions",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                ],
                hello("fable-5").to_string(),
            )
            .await
        }
    };
    assert_eq!(chat(dev_key.clone()).await.status, 451);
    let r = post_as(&h, &org_key, path, att(json!(["acme-dev"]))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = h.store.evidence("acme-dev").unwrap();
    assert_eq!(rows[0].level.as_str(), "attested");
    assert_eq!(rows[0].object_id.as_deref(), Some("att-1"));
    assert_eq!(chat(dev_key).await.status, 200);
    h.finish();
}

/// A mock Veriff API: `GET /v1/sessions/{id}/decision` answers the decision
/// in `status` (empty: no server answer but 500).
async fn mock_veriff(status: std::sync::Arc<std::sync::Mutex<&'static str>>) -> String {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/v1/sessions/{id}/decision",
        get(move |axum::extract::Path(id): axum::extract::Path<String>| {
            let status = *status.lock().unwrap();
            async move {
                if status.is_empty() {
                    return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, String::new());
                }
                let body = json!({"status": "success", "verification": {
                    "id": id, "attemptId": "att-1", "code": 9001, "status": status,
                    "vendorData": "unverified", "decisionTime": "2026-12-07T10:00:00.000Z",
                    "person": {"nationality": "US"},
                    "document": {"type": "PASSPORT", "country": "US", "validUntil": "2031-01-01"}
                }});
                (axum::http::StatusCode::OK, body.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_refetching_source_grants_what_the_vendor_s_api_says_not_the_webhook() {
    let status = std::sync::Arc::new(std::sync::Mutex::new("declined"));
    let base = mock_veriff(status.clone()).await;
    let h = start(Setup {
        vendor_api: Some(base),
        ..Setup::default()
    })
    .await;
    let webhook = |attempt: &str| {
        json!({"status": "success", "verification": {
            "id": "sess-9", "attemptId": attempt, "code": 9001, "status": "approved",
            "vendorData": "unverified", "decisionTime": "2026-12-07T10:00:00.000Z",
            "person": {"nationality": "US"},
            "document": {"type": "PASSPORT", "country": "US", "validUntil": "2031-01-01"}
        }})
        .to_string()
    };
    let send = |body: String| {
        let sig = crate::hex_hmac(crate::VERIFF_SECRET, body.as_bytes());
        let h = &h;
        async move {
            h.send(
                "POST",
                "/v1/verification/webhooks/veriff-api",
                &[
                    ("content-type", "application/json"),
                    ("x-hmac-signature", &sig),
                    ("x-auth-client", "veriff-api-key"),
                ],
                body,
            )
            .await
        }
    };
    // The webhook says approved; the API says declined: nothing is granted.
    let r = send(webhook("a1")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(h.store.evidence("unverified").unwrap().is_empty());
    assert_eq!(h.chat("unverified", hello("fable-5")).await.status, 451);
    // The API cannot be reached: the vendor is asked to deliver again.
    *status.lock().unwrap() = "";
    let r = send(webhook("a2")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    // The API says approved: granted, from the fetched object.
    *status.lock().unwrap() = "approved";
    let r = send(webhook("a3")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.store.evidence("unverified").unwrap().len(), 1);
    assert_eq!(h.chat("unverified", hello("fable-5")).await.status, 200);
    h.finish();
}

#[tokio::test]
async fn an_onfido_report_is_granted_to_the_account_its_check_is_tagged_with() {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/v3.6/reports/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    axum::Json(json!({"id": id, "name": "document", "status": "complete",
                    "result": "clear", "sub_result": "clear", "check_id": "chk-1",
                    "created_at": "2026-12-07T09:58:00Z",
                    "properties": {"nationality": "USA", "issuing_country": "USA",
                        "document_type": "passport", "date_of_expiry": "2032-03-01"}}))
                },
            ),
        )
        .route(
            "/v3.6/checks/{id}",
            get(
                |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    axum::Json(json!({"id": id, "tags": ["cordon-account:unverified"]}))
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let h = start(Setup {
        vendor_api: Some(base),
        ..Setup::default()
    })
    .await;
    assert_eq!(h.chat("unverified", hello("fable-5")).await.status, 451);
    let body = json!({"payload": {"resource_type": "report", "action": "report.completed",
        "object": {"id": "rep-1", "status": "complete",
            "completed_at_iso8601": "2026-12-07T10:00:00Z",
            "href": "https://api.onfido.com/v3.6/reports/rep-1"}}})
    .to_string();
    let sig = crate::hex_hmac(crate::ONFIDO_TOKEN, body.as_bytes());
    let r = h
        .send(
            "POST",
            "/v1/verification/webhooks/onfido-api",
            &[
                ("content-type", "application/json"),
                ("x-sha2-signature", &sig),
            ],
            body,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rows = h.store.evidence("unverified").unwrap();
    assert!(
        rows.iter()
            .any(|r| r.source == "onfido-api" && r.object_id.as_deref() == Some("rep-1")),
        "{rows:?}"
    );
    assert_eq!(h.chat("unverified", hello("fable-5")).await.status, 200);
    h.finish();
}
