//! Arbitrary header values and bodies for every vendor's signature check.
//! The first byte picks the scheme (`% 5`: Stripe, Persona, Veriff, Onfido,
//! Sumsub) and, with its high bit, whether the first header is replaced by
//! a valid signature of the body; the rest is split at newlines into up to
//! two header values, and what follows the second newline is the body.
//!
//! Checks: no verifier panics and every error renders; a delivery signed
//! with the configured secret verifies, and its delivery id (read from the
//! arbitrary body once the MAC verified) is at most 256 bytes; a header
//! that is not the valid signature never verifies by accident.
#![no_main]

use cordon_verification::webhook::{
    Headers, OnfidoSignature, PersonaSignature, SharedSecret, StripeSignature, SumsubAlgorithm,
    SumsubSignature, VeriffSignature,
};
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use ring::hmac;

const SECRET: &str = "fuzz-secret";
const API_KEY: &str = "fuzz-api-key";
const NOW: i64 = 1_800_000_000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(message: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    hex(hmac::sign(&key, message).as_ref())
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let first = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let second = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let signed = selector & 0x80 != 0;
    let secrets = vec![SharedSecret::new(SECRET).expect("a secret")];
    let now = Timestamp::from_second(NOW).expect("a time");
    let timed = [NOW.to_string().as_bytes(), b".", body].concat();
    let pair = |name: &str, value: String| (name.to_owned(), value);
    let result = match (selector & 0x7f) % 5 {
        0 => {
            let value = if signed {
                format!("t={NOW},v1={}", mac(&timed))
            } else {
                first
            };
            StripeSignature {
                secrets,
                tolerance: 300,
            }
            .verify(&Headers::new([pair("Stripe-Signature", value)]), body, now)
        }
        1 => {
            let value = if signed {
                format!("t={NOW},v1={}", mac(&timed))
            } else {
                first
            };
            PersonaSignature {
                secrets,
                tolerance: 300,
            }
            .verify(&Headers::new([pair("Persona-Signature", value)]), body, now)
        }
        2 => {
            let value = if signed { mac(body) } else { first };
            let client = if signed { API_KEY.to_owned() } else { second };
            VeriffSignature {
                api_key: API_KEY.into(),
                secrets,
            }
            .verify(
                &Headers::new([
                    pair("X-HMAC-SIGNATURE", value),
                    pair("X-AUTH-CLIENT", client),
                ]),
                body,
                now,
            )
        }
        3 => {
            let value = if signed { mac(body) } else { first };
            OnfidoSignature { tokens: secrets }.verify(
                &Headers::new([pair("X-SHA2-Signature", value)]),
                body,
                now,
            )
        }
        _ => {
            let value = if signed { mac(body) } else { first };
            let mut headers = vec![pair("X-Payload-Digest", value)];
            if !signed && !second.is_empty() {
                headers.push(pair("X-Payload-Digest-Alg", second));
            }
            SumsubSignature {
                secrets,
                algorithms: SumsubAlgorithm::ALL.to_vec(),
            }
            .verify(&Headers::new(headers), body, now)
        }
    };
    match result {
        Ok(delivery) => {
            assert!(signed, "verified without the secret");
            assert!(delivery.id.is_none_or(|id| id.len() <= 256));
        }
        Err(e) => {
            assert!(!signed, "a valid signature was refused: {e}");
            let _ = e.to_string();
        }
    }
});
