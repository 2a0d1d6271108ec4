use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cordon_subject::VerificationLevel::DocumentVerified;
use proptest::prelude::*;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde_json::json;

use super::*;
use crate::oidc::{TokenError, TrustFramework};

const ISS: &str = "https://sso.example.com";
const T0: i64 = 1_796_637_600; // 2026-12-07T10:00:00Z

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(T0 + secs).unwrap()
}

fn pair(seed: u8) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap()
}

/// A set of one Ed25519 key per `(kid, seed)`.
fn set(keys: &[(&str, u8)]) -> Jwks {
    let keys: Vec<_> = keys
        .iter()
        .map(|(kid, seed)| {
            json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
                   "x": B64.encode(pair(*seed).public_key().as_ref())})
        })
        .collect();
    Jwks::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
}

fn issuer() -> Issuer {
    let mut i = Issuer::new(ISS, "cordon");
    i.trust_frameworks
        .insert("de_aml".into(), TrustFramework::at(DocumentVerified));
    i
}

/// A token signed with the key of `seed`, naming `kid`, issued at `iat`
/// (seconds after `T0`) and valid for a day.
fn token(kid: &str, seed: u8, iat: i64) -> String {
    let header = json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"});
    let claims = json!({
        "iss": ISS, "aud": "cordon", "sub": "u-1",
        "iat": T0 + iat, "exp": T0 + iat + 86_400,
        "verified_claims": {"verification": {"trust_framework": "de_aml"},
                            "claims": {"nationalities": ["DE"]}}
    });
    let signing = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let sig = pair(seed).sign(signing.as_bytes());
    format!("{signing}.{}", B64.encode(sig.as_ref()))
}

fn fetched_at(jwks: Jwks, secs: i64) -> KeyCache {
    let r = Rotation::default();
    let mut c = KeyCache::new();
    c.attempting(at(secs));
    c.fetched(jwks, r.freshness(None), &r, at(secs));
    c
}

#[test]
fn unknown_keys_fetch_at_most_once_per_interval() {
    let r = Rotation::default();
    assert!(KeyCache::new().should_fetch(&r, at(0), Trigger::Routine));
    let c = fetched_at(set(&[("a", 1)]), 0);
    assert!(!c.should_fetch(&r, at(29), Trigger::UnknownKey));
    assert!(c.should_fetch(&r, at(30), Trigger::UnknownKey));
    // Fresh for an hour: a routine look fetches only then.
    assert!(!c.should_fetch(&r, at(30), Trigger::Routine));
    assert!(!c.should_fetch(&r, at(3599), Trigger::Routine));
    assert!(c.should_fetch(&r, at(3600), Trigger::Routine));
    // A clock that went back allows one fetch.
    assert!(c.should_fetch(&r, at(-100), Trigger::UnknownKey));
}

#[test]
fn freshness_is_the_stated_max_age_within_the_bounds() {
    let r = Rotation::default();
    let s = SignedDuration::from_secs;
    assert_eq!(r.freshness(None), s(3600));
    assert_eq!(r.freshness(Some(s(0))), s(300), "no-cache");
    assert_eq!(r.freshness(Some(s(7200))), s(7200));
    assert_eq!(r.freshness(Some(s(90 * 86_400))), s(86_400));
    let inverted = Rotation {
        min_freshness: s(600),
        max_freshness: s(60),
        ..r
    };
    assert_eq!(inverted.freshness(None), s(60), "the upper bound wins");
}

#[test]
fn failures_back_off_to_the_cap() {
    let r = Rotation::default();
    let waits: Vec<i64> = [0, 1, 2, 3, 4, 5, 6, 1000]
        .iter()
        .map(|f| r.retry_interval(*f).as_secs())
        .collect();
    assert_eq!(waits, [30, 30, 60, 120, 240, 300, 300, 300]);
    let mut c = KeyCache::new();
    c.attempting(at(0));
    assert_eq!(
        c.failed("refused", &r, at(0)),
        None,
        "no set to fall back on"
    );
    c.attempting(at(30));
    c.failed("refused", &r, at(30));
    assert!(!c.should_fetch(&r, at(89), Trigger::Routine));
    assert!(c.should_fetch(&r, at(90), Trigger::Routine));
    assert_eq!(c.failures(), 2);
}

#[test]
fn a_replaced_set_s_keys_verify_during_the_grace_only() {
    let r = Rotation::default();
    let mut c = fetched_at(set(&[("a", 1)]), 0);
    let by_a = token("a", 1, 50);
    let by_b = token("b", 2, 100);
    let keys = c.keys(&r, at(60)).unwrap();
    assert!(keys.verify(&by_a, &issuer(), at(60)).is_ok());
    let e = keys.verify(&by_b, &issuer(), at(100)).unwrap_err();
    assert!(e.wants_new_keys(), "{e}");

    c.attempting(at(100));
    let change = c.fetched(set(&[("b", 2)]), r.freshness(None), &r, at(100));
    assert_eq!(
        change,
        Change::Rotated {
            grace_until: at(700)
        }
    );
    let keys = c.keys(&r, at(699)).unwrap();
    assert!(keys.verify(&by_b, &issuer(), at(699)).is_ok());
    assert!(keys.verify(&by_a, &issuer(), at(699)).is_ok(), "in grace");
    let keys = c.keys(&r, at(700)).unwrap();
    assert_eq!(keys.previous().count(), 0);
    let e = keys.verify(&by_a, &issuer(), at(700)).unwrap_err();
    assert_eq!(
        e,
        AssertionError::Token(TokenError::UnknownKid { kid: "a".into() })
    );
}

#[test]
fn without_grace_a_replaced_set_is_dropped_at_once() {
    let r = Rotation {
        grace: SignedDuration::ZERO,
        ..Rotation::default()
    };
    let mut c = fetched_at(set(&[("a", 1)]), 0);
    c.fetched(set(&[("b", 2)]), r.freshness(None), &r, at(100));
    let keys = c.keys(&r, at(100)).unwrap();
    assert!(keys.verify(&token("a", 1, 50), &issuer(), at(100)).is_err());
}

#[test]
fn a_kid_the_current_set_holds_is_never_checked_with_an_older_key() {
    let r = Rotation::default();
    let mut c = fetched_at(set(&[("k", 1)]), 0);
    // The issuer reuses the kid for a new key.
    c.fetched(set(&[("k", 2)]), r.freshness(None), &r, at(100));
    let keys = c.keys(&r, at(110)).unwrap();
    let e = keys
        .verify(&token("k", 1, 50), &issuer(), at(110))
        .unwrap_err();
    assert!(
        matches!(e, AssertionError::Token(TokenError::BadSignature { .. })),
        "{e}"
    );
    assert!(keys.verify(&token("k", 2, 105), &issuer(), at(110)).is_ok());
}

#[test]
fn the_same_set_again_changes_nothing_and_a_set_brought_back_is_current() {
    let r = Rotation::default();
    let mut c = fetched_at(set(&[("a", 1)]), 0);
    assert_eq!(
        c.fetched(set(&[("a", 1)]), r.freshness(None), &r, at(50)),
        Change::Unchanged
    );
    assert_eq!(c.keys(&r, at(50)).unwrap().previous().count(), 0);
    c.fetched(set(&[("b", 2)]), r.freshness(None), &r, at(100));
    c.fetched(set(&[("a", 1)]), r.freshness(None), &r, at(200));
    let keys = c.keys(&r, at(200)).unwrap();
    let previous: Vec<&Jwks> = keys.previous().collect();
    assert_eq!(previous, [&set(&[("b", 2)])], "a is current, b retired");
}

#[test]
fn a_failed_refresh_keeps_the_last_good_set_until_the_hard_limit() {
    let r = Rotation::default();
    let mut c = fetched_at(set(&[("a", 1)]), 0);
    c.attempting(at(3600));
    let until = c.failed(
        "`https://sso.example.com/jwks`: connection refused",
        &r,
        at(3600),
    );
    assert_eq!(until, Some(at(3600 + 86_400)));
    let keys = c.keys(&r, at(3600 + 86_399)).unwrap();
    assert!(
        keys.verify(&token("a", 1, 3600), &issuer(), at(3700))
            .is_ok()
    );
    let e = c.keys(&r, at(3600 + 86_400)).unwrap_err();
    assert!(matches!(e, KeysUnavailable::TooStale { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains("connection refused"), "{text}");
    assert!(text.contains("86400 s"), "{text}");
    // A fetch that succeeds again restores the keys.
    c.attempting(at(90_000));
    c.fetched(set(&[("a", 1)]), r.freshness(None), &r, at(90_000));
    assert!(c.keys(&r, at(90_000)).is_ok());
    assert_eq!(c.last_error(), None);
}

#[test]
fn never_fetched_keys_are_unavailable_and_say_why() {
    let r = Rotation::default();
    let mut c = KeyCache::new();
    assert_eq!(
        c.keys(&r, at(0)).unwrap_err(),
        KeysUnavailable::NeverFetched { last_error: None }
    );
    c.attempting(at(0));
    c.failed("`http://127.0.0.1:9/jwks`: connection refused", &r, at(0));
    let text = c.keys(&r, at(1)).unwrap_err().to_string();
    assert_eq!(
        text,
        "the issuer's JWK Set has not been fetched yet (last attempt: `http://127.0.0.1:9/jwks`: connection refused)"
    );
}

#[test]
fn at_most_a_few_replaced_sets_are_kept() {
    let r = Rotation::default();
    let mut c = fetched_at(set(&[("k0", 1)]), 0);
    for i in 1..10u8 {
        let kid = format!("k{i}");
        c.fetched(
            set(&[(&kid, i + 1)]),
            r.freshness(None),
            &r,
            at(i64::from(i)),
        );
    }
    assert_eq!(c.keys(&r, at(10)).unwrap().previous().count(), MAX_RETIRED);
}

/// One step of a proptest run.
#[derive(Debug, Clone)]
enum Step {
    /// Time passes, by this many seconds (negative: the clock goes back).
    Wait(i64),
    /// A look; a fetch, if the cache says so, that yields this set (by
    /// seed) or fails.
    Look {
        unknown_key: bool,
        outcome: Option<u8>,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (-5i64..4000).prop_map(Step::Wait),
        1 => (-200i64..-1).prop_map(Step::Wait),
        4 => (any::<bool>(), proptest::option::of(1u8..4))
            .prop_map(|(unknown_key, outcome)| Step::Look { unknown_key, outcome }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever happens: fetches are spaced by at least the minimum
    /// interval while the clock runs forward; keys are only ever handed
    /// out within the hard limit of a set actually fetched; the routine
    /// due time agrees with `should_fetch`.
    #[test]
    fn the_cache_keeps_its_promises(steps in proptest::collection::vec(step(), 1..60)) {
        let r = Rotation::default();
        let mut c = KeyCache::new();
        let mut now = at(0);
        let mut last_fetch: Option<Timestamp> = None;
        let mut last_success: Option<Timestamp> = None;
        for s in steps {
            match s {
                Step::Wait(secs) => now = now.checked_add(SignedDuration::from_secs(secs)).unwrap(),
                Step::Look { unknown_key, outcome } => {
                    let trigger = if unknown_key { Trigger::UnknownKey } else { Trigger::Routine };
                    let due = c.next_due(&r, now) == SignedDuration::ZERO;
                    prop_assert_eq!(due, c.should_fetch(&r, now, Trigger::Routine));
                    if !c.should_fetch(&r, now, trigger) {
                        continue;
                    }
                    if let Some(last) = last_fetch && now >= last {
                        prop_assert!(now.duration_since(last) >= r.min_interval);
                    }
                    last_fetch = Some(now);
                    c.attempting(now);
                    match outcome {
                        Some(seed) => {
                            c.fetched(set(&[("k", seed)]), r.freshness(None), &r, now);
                            last_success = Some(now);
                        }
                        None => { c.failed("down", &r, now); }
                    }
                }
            }
            match (c.keys(&r, now), last_success) {
                (Ok(keys), Some(fetched)) => {
                    prop_assert!(keys.previous().count() <= MAX_RETIRED);
                    let limit = fetched
                        .checked_add(r.max_freshness + r.max_stale)
                        .unwrap();
                    prop_assert!(now < limit);
                }
                (Ok(_), None) => prop_assert!(false, "keys without any fetch"),
                (Err(_), _) => {}
            }
        }
    }
}
