//! Identity assertions checked with a JWK Set fetched from the issuer:
//! fetched at start, fetched again at once when a token names a key the set
//! lacks (at most once per 30 s however many such tokens come), the keys
//! of a replaced set honoured for the grace window only, 503 while no set
//! was ever fetched or the last good one is too old.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::tls::{Logs, Provider, serve_http, set_of};
use crate::{Harness, Reply, SSO_ISSUER, Setup, sso_issuer, start};

/// A real clock that a test can move forward.
#[derive(Clone, Default)]
pub struct Wall(Arc<AtomicI64>);

impl Wall {
    pub fn clock(&self) -> cordon_gateway::Clock {
        let offset = Arc::clone(&self.0);
        Arc::new(move || {
            jiff::Timestamp::now() + jiff::SignedDuration::from_secs(offset.load(Ordering::SeqCst))
        })
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A token for `unverified` signed with the key of `seed`, naming `kid`.
pub fn token(kid: &str, seed: u8, jti: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as U;
    let header = json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"});
    let claims = json!({"iss": SSO_ISSUER, "aud": "cordon", "sub": "unverified",
        "iat": now(), "exp": now() + 7200, "jti": jti,
        "verified_claims": {"verification": {"trust_framework": "de_aml"},
                            "claims": {"nationalities": ["US"]}}});
    let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
    let signing = format!(
        "{}.{}",
        U.encode(header.to_string()),
        U.encode(claims.to_string())
    );
    let sig = pair.sign(signing.as_bytes());
    format!("{signing}.{}", U.encode(sig.as_ref()))
}

pub async fn assert(h: &Harness, token: String) -> Reply {
    h.send(
        "POST",
        "/v1/verification/assertions",
        &[("content-type", "application/jwt")],
        token,
    )
    .await
}

/// The issuer `corp-sso` with its keys at `url`.
pub fn issuer_at(url: &str) -> cordon_gateway::verification::config::IssuerConfig {
    cordon_gateway::verification::config::IssuerConfig {
        jwks_url: Some(url.to_owned()),
        ..sso_issuer()
    }
}

/// Waits until `cond` holds, for at most 10 s.
pub async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Waits until the gateway has taken `n` sets from the issuer (the
/// provider counts requests when they arrive, before it answers).
pub async fn fetched(h: &Harness, n: u64) {
    counted(h, "ok", n).await;
}

/// Waits until the gateway has counted `n` fetches with `result`.
async fn counted(h: &Harness, result: &str, n: u64) {
    for _ in 0..500 {
        if fetch_metric(h, result).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {n} fetches counted `{result}`");
}

/// The value of a `cordon_verification_jwks_fetches_total` line.
async fn fetch_metric(h: &Harness, result: &str) -> u64 {
    let text = h.get("/metrics", None).await.text();
    let prefix = format!(
        "cordon_verification_jwks_fetches_total{{issuer=\"corp-sso\",result=\"{result}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0, |n| n.parse().unwrap())
}

async fn provider_at(addr: SocketAddr, set: Value) -> (Arc<Provider>, String) {
    let p = Provider::new(set);
    let addr = serve_http(p.router(), addr).await;
    (p, format!("http://{addr}/jwks"))
}

#[tokio::test]
async fn a_rotated_key_is_fetched_at_once_and_the_old_one_honoured_for_the_grace() {
    let (idp, url) = provider_at("127.0.0.1:0".parse().unwrap(), set_of("a", 1)).await;
    let wall = Wall::default();
    let h = start(Setup {
        issuer: Some(issuer_at(&url)),
        wall: Some(wall.clock()),
        ..Setup::default()
    })
    .await;
    // Fetched at start, before any assertion.
    fetched(&h, 1).await;
    let r = assert(&h, token("a", 1, "t1")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(idp.fetches(), 1, "a fresh set is not fetched again");

    // The issuer rotates from `a` to `b`. Within 30 s of the last fetch a
    // token with the new kid is refused without a fetch.
    idp.serve(set_of("b", 2));
    let r = assert(&h, token("b", 2, "t2")).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.text().contains("`b`"), "{}", r.text());
    assert_eq!(idp.fetches(), 1);
    // Later, the unknown kid fetches the set at once: `b` is accepted.
    wall.advance(31);
    let r = assert(&h, token("b", 2, "t3")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(idp.fetches(), 2);
    // A token signed with `a` just before the rotation still verifies
    // during the grace (10 minutes by default)…
    wall.advance(9 * 60);
    let r = assert(&h, token("a", 1, "t4")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // … and not after it.
    wall.advance(60);
    let r = assert(&h, token("a", 1, "t5")).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.text()
            .contains("the key `a` is not in the issuer's JWK Set"),
        "{}",
        r.text()
    );
    assert!(!h.store.evidence("unverified").unwrap().is_empty());
    assert_eq!(fetch_metric(&h, "ok").await, idp.fetches() as u64);
    h.finish();
}

/// On several threads, so that the assertions of the burst check and
/// fetch truly at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_unknown_kids_costs_the_issuer_one_fetch() {
    let (idp, url) = provider_at("127.0.0.1:0".parse().unwrap(), set_of("a", 1)).await;
    let wall = Wall::default();
    let h = start(Setup {
        issuer: Some(issuer_at(&url)),
        wall: Some(wall.clock()),
        ..Setup::default()
    })
    .await;
    fetched(&h, 1).await;
    wall.advance(31);
    let h = Arc::new(h);
    let forged: Vec<_> = (0..40)
        .map(|i| {
            let h = Arc::clone(&h);
            tokio::spawn(async move {
                assert(&h, token(&format!("forged-{i}"), 9, &format!("f{i}")))
                    .await
                    .status
            })
        })
        .collect();
    for status in futures_util::future::join_all(forged).await {
        assert_eq!(status.unwrap(), 401);
    }
    assert_eq!(idp.fetches(), 2, "one fetch for the whole burst");
    // And none for the stragglers within the interval.
    for i in 0..10 {
        let r = assert(&h, token(&format!("late-{i}"), 9, &format!("l{i}"))).await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(idp.fetches(), 2);
    Arc::into_inner(h).unwrap().finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn assertions_that_arrive_during_a_fetch_wait_for_it_and_share_it() {
    let (idp, url) = provider_at("127.0.0.1:0".parse().unwrap(), set_of("a", 1)).await;
    let wall = Wall::default();
    let h = start(Setup {
        issuer: Some(issuer_at(&url)),
        wall: Some(wall.clock()),
        ..Setup::default()
    })
    .await;
    fetched(&h, 1).await;
    idp.serve(set_of("b", 2));
    *idp.delay.lock().unwrap() = Duration::from_millis(400);
    wall.advance(31);
    let h = Arc::new(h);
    let send = |i: usize| {
        let h = Arc::clone(&h);
        tokio::spawn(async move { assert(&h, token("b", 2, &format!("b{i}"))).await.status })
    };
    let first = send(0);
    until("the fetch is under way", || idp.fetches() >= 2).await;
    let rest: Vec<_> = (1..10).map(send).collect();
    assert_eq!(first.await.unwrap(), 200);
    for r in rest {
        assert_eq!(
            r.await.unwrap(),
            200,
            "checked with the set fetched for the first"
        );
    }
    assert_eq!(idp.fetches(), 2);
    Arc::into_inner(h).unwrap().finish();
}

#[tokio::test]
async fn an_issuer_whose_keys_cannot_be_fetched_is_answered_503_until_they_can() {
    let (logs, _guard) = Logs::capture();
    // Nothing listens on the issuer's port yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{port}/jwks");
    let wall = Wall::default();
    let h = start(Setup {
        issuer: Some(issuer_at(&url)),
        wall: Some(wall.clock()),
        ..Setup::default()
    })
    .await;
    until("the start fetch fails", || {
        logs.has(&["WARN", "could not be fetched", "connection refused"])
    })
    .await;
    let r = assert(&h, token("a", 1, "t1")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "unavailable");
    let text = r.text();
    assert!(text.contains("not available"), "{text}");
    assert!(text.contains("has not been fetched yet"), "{text}");
    assert!(text.contains("connection refused"), "{text}");
    assert_eq!(fetch_metric(&h, "failed").await, 1);
    assert!(h.store.evidence("unverified").unwrap().is_empty());

    // The issuer comes up; the next attempt is due 30 s after the last.
    let (idp, _) = provider_at(port, set_of("a", 1)).await;
    assert_eq!(assert(&h, token("a", 1, "t2")).await.status, 503);
    assert_eq!(idp.fetches(), 0, "no attempt before the interval");
    wall.advance(31);
    let r = assert(&h, token("a", 1, "t3")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(idp.fetches(), 1);
    assert_eq!(fetch_metric(&h, "ok").await, 1);
    let metrics = h.get("/metrics", None).await.text();
    assert!(
        metrics.contains(
            r#"cordon_verification_events_total{source="corp-sso",outcome="keys_unavailable"} 2"#
        ),
        "{metrics}"
    );
    h.finish();
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_set_until_the_hard_limit() {
    let (logs, _guard) = Logs::capture();
    let (idp, url) = provider_at("127.0.0.1:0".parse().unwrap(), set_of("a", 1)).await;
    // Fresh for 5 minutes (the shortest), used up to an hour past that.
    *idp.cache_control.lock().unwrap() = Some("max-age=60");
    let wall = Wall::default();
    let h = start(Setup {
        issuer: Some(cordon_gateway::verification::config::IssuerConfig {
            jwks_stale_secs: Some(3600),
            ..issuer_at(&url)
        }),
        wall: Some(wall.clock()),
        ..Setup::default()
    })
    .await;
    fetched(&h, 1).await;
    *idp.status.lock().unwrap() = 500;
    // Not stale yet: no fetch.
    wall.advance(299);
    assert_eq!(assert(&h, token("a", 1, "t1")).await.status, 200);
    assert_eq!(idp.fetches(), 1);
    // Stale: the refresh fails, the last good set still checks the token.
    wall.advance(2);
    let r = assert(&h, token("a", 1, "t2")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(idp.fetches(), 2);
    assert_eq!(fetch_metric(&h, "failed").await, 1);
    assert!(
        logs.has(&[
            "WARN",
            "could not be refreshed; the last good set stays in use",
            "500 Internal Server Error"
        ]),
        "{:#?}",
        logs.lines()
    );
    // Past the hard limit: no key is trusted any more.
    wall.advance(3600);
    let r = assert(&h, token("a", 1, "t3")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.text().contains("could not be refreshed since"),
        "{}",
        r.text()
    );
    assert!(
        r.text().contains("500 Internal Server Error"),
        "{}",
        r.text()
    );
    // The issuer recovers: keys again.
    *idp.status.lock().unwrap() = 200;
    wall.advance(600);
    let r = assert(&h, token("a", 1, "t4")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    h.finish();
}

#[tokio::test]
async fn a_bad_set_from_the_issuer_is_not_taken() {
    let (_idp, url) = provider_at(
        "127.0.0.1:0".parse().unwrap(),
        json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}]}),
    )
    .await;
    let wall = Wall::default();
    let h = start(Setup {
        issuer: Some(issuer_at(&url)),
        wall: Some(wall.clock()),
        ..Setup::default()
    })
    .await;
    counted(&h, "failed", 1).await;
    let r = assert(&h, token("a", 1, "t1")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("no usable signature key"), "{}", r.text());
    h.finish();
}
