//! Arbitrary bytes as an issuer's JWK Set (`cordon_verification::oidc::Jwks`).
//!
//! Checks: `Jwks::parse` never panics and its errors render; a set that
//! parses has at least one key; choosing a key for every algorithm, with
//! each key's `kid` and without one, never panics, and a key chosen fits the
//! algorithm.
#![no_main]

use cordon_verification::oidc::{Algorithm, Jwks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let jwks = match Jwks::parse(data) {
        Ok(j) => j,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(!jwks.keys().is_empty());
    let mut kids: Vec<Option<&str>> = vec![None];
    kids.extend(jwks.keys().iter().map(|k| k.kid.as_deref()));
    kids.extend(jwks.skipped().iter().map(|s| s.kid.as_deref()));
    for alg in Algorithm::ALL {
        for kid in &kids {
            match jwks.select(*kid, alg) {
                Ok(key) => {
                    assert!(key.fits(alg).is_ok());
                    let _ = key.verify(alg, b"header.payload", &[0; 64]);
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
});
