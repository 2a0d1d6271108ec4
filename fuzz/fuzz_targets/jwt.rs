//! Arbitrary bytes as an identity assertion (`cordon_verification::oidc`,
//! the body of `POST /v1/verification/assertions`), against a fixed issuer
//! and JWK Set (the test RSA key and an Ed25519 key).
//!
//! The first byte picks what the rest is:
//! - even: the token itself, as UTF-8 text: its form, header, algorithm,
//!   key choice and signature are checked;
//! - odd: a claims set, which the target signs with the set's Ed25519 key,
//!   so that the checks behind the signature (registered claims,
//!   `verified_claims`) are reached.
//!
//! Checks: `verify_assertion` never panics and its errors render; an
//! accepted assertion is a `Completed` event for an account of 1 to 64
//! bytes, with at least one fact, `object_id` `iss#sub`, and the token's
//! SHA-256.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cordon_subject::VerificationLevel;
use cordon_verification::EventKind;
use cordon_verification::intake::sha256_hex;
use cordon_verification::oidc::{Issuer, Jwks, TrustFramework, verify_assertion};
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use ring::signature::{Ed25519KeyPair, KeyPair};
use std::sync::OnceLock;

const RSA_JWK: &str =
    include_str!("../../crates/verification/tests/fixtures/oidc/rsa2048.jwk.json");
const NOW: i64 = 1_796_637_600; // 2026-12-07T10:00:00Z

struct Fixed {
    key: Ed25519KeyPair,
    jwks: Jwks,
    issuer: Issuer,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let key = Ed25519KeyPair::from_seed_unchecked(&[7; 32]).expect("a 32-byte seed");
        let set = format!(
            r#"{{"keys": [{RSA_JWK}, {{"kty": "OKP", "crv": "Ed25519", "kid": "ed-1", "x": "{}"}}]}}"#,
            B64.encode(key.public_key().as_ref())
        );
        let jwks = Jwks::parse(set.as_bytes()).expect("the fixed JWK Set parses");
        let mut issuer = Issuer::new("https://sso.example.com", "cordon");
        issuer.trust_frameworks.insert(
            "de_aml".into(),
            TrustFramework::at(VerificationLevel::DocumentVerified),
        );
        let mut eidas = TrustFramework::at(VerificationLevel::SelfDeclared);
        eidas
            .assurance_levels
            .insert("high".into(), VerificationLevel::DocumentVerified);
        issuer.trust_frameworks.insert("eidas".into(), eidas);
        issuer.us_person_claim = Some("employee_us_person".into());
        Fixed { key, jwks, issuer }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let f = fixed();
    let token = if mode % 2 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        text.to_owned()
    } else {
        let input = format!(
            "{}.{}",
            B64.encode(br#"{"alg":"EdDSA","typ":"JWT","kid":"ed-1"}"#),
            B64.encode(rest)
        );
        let sig = f.key.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.as_ref()))
    };
    let now = Timestamp::from_second(NOW).expect("a valid time");
    match verify_assertion(&token, &f.issuer, &f.jwks, now) {
        Ok(a) => {
            assert_eq!(a.event.kind, EventKind::Completed);
            assert!((1..=64).contains(&a.event.account.len()));
            assert!(!a.event.facts.is_empty());
            let object = a.event.object_id.as_deref().expect("an object id");
            assert!(object.starts_with("https://sso.example.com#"));
            assert_eq!(a.token_sha256, sha256_hex(token.as_bytes()));
        }
        Err(e) => {
            let _ = e.to_string();
            let _ = e.wants_new_keys();
        }
    }
});
