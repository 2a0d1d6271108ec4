//! Arbitrary bytes as what an OpenID provider sends the console during a
//! login: the first byte picks a discovery document
//! (`cordon_console::oidc::discovery::parse`) or a token endpoint's answer
//! (`cordon_console::oidc::token::id_token`, the second byte its status).
//!
//! Checks: neither parser panics and their errors render; a discovery
//! document that reads names the configured issuer and endpoints that are
//! `https` (or `http` to loopback) without a fragment; an ID token read
//! from an answer is the `id_token` string of a 200 JSON object whose
//! `token_type` is `Bearer`.
#![no_main]

use cordon_console::oidc::http::{Answer, acceptable_url};
use cordon_console::oidc::{discovery, token};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://login.example.com/realms/cordon";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        match discovery::parse(rest, ISSUER) {
            Ok(d) => {
                for url in [&d.authorization_endpoint, &d.token_endpoint, &d.jwks_uri] {
                    assert!(acceptable_url(url).is_ok(), "{url}");
                    assert!(!url.contains('#'), "{url}");
                }
                let doc: serde_json::Value = serde_json::from_slice(rest).unwrap();
                assert_eq!(doc["issuer"], ISSUER);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
        return;
    }
    let Some((&status, body)) = rest.split_first() else {
        return;
    };
    let status = if status < 128 { 200 } else { 300 + u16::from(status) };
    let answer = Answer {
        status,
        body: body.to_vec(),
    };
    match token::id_token(&answer) {
        Ok(t) => {
            assert_eq!(status, 200);
            let doc: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(doc["id_token"].as_str(), Some(t.as_str()));
            let kind = doc["token_type"].as_str().unwrap();
            assert!(kind.eq_ignore_ascii_case("bearer"));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
