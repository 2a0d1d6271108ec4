//! Webhook signatures: each scheme a vendor documents, checked on the raw
//! body before anything in it is read.
//!
//! Every comparison of a MAC is constant-time (`ring::hmac::verify`);
//! schemes that sign a timestamp get a tolerance on it; every scheme yields
//! the delivery's id where it has one, which the store remembers so that a
//! replay changes nothing.

mod onfido;
mod persona;
mod standard;
mod stripe;
mod sumsub;
mod veriff;

use jiff::Timestamp;
use ring::hmac;
use serde_json::Value;

pub use onfido::OnfidoSignature;
pub use persona::PersonaSignature;
pub use standard::{Secret, StandardWebhooks};
pub use stripe::StripeSignature;
pub use sumsub::{SumsubAlgorithm, SumsubSignature};
pub use veriff::VeriffSignature;

/// The tolerance, in seconds, that the vendors' SDKs default to for schemes
/// that sign a timestamp (Stripe, Persona).
pub const DEFAULT_TOLERANCE: i64 = 300;

/// The most signatures one header may carry. Each is checked against every
/// configured secret over the whole body, so a header listing thousands
/// would make one delivery cost thousands of MACs.
pub const MAX_SIGNATURES: usize = 8;

/// A vendor's shared webhook secret, used as the bytes of its text exactly
/// as the vendor's dashboard shows it (Stripe's `whsec_…` and Persona's
/// `wbhsec_…` included: neither is decoded).
#[derive(Clone)]
pub struct SharedSecret(Vec<u8>);

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// Why a configured secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The secret is empty (or only whitespace).
    #[error("the webhook secret is empty")]
    Empty,
}

impl SharedSecret {
    /// The secret `text`, without surrounding whitespace.
    ///
    /// # Errors
    /// [`SecretError::Empty`] if nothing is left.
    pub fn new(text: &str) -> Result<SharedSecret, SecretError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(SharedSecret(text.as_bytes().to_vec()))
    }

    /// The secret as an HMAC key for `algorithm`.
    pub(crate) fn key(&self, algorithm: hmac::Algorithm) -> hmac::Key {
        hmac::Key::new(algorithm, &self.0)
    }
}

/// Whether any of `signatures` is the `algorithm` MAC of `message` under
/// any of `secrets`. Every pair is tried, each in constant time
/// (`ring::hmac::verify`).
pub(crate) fn any_verifies(
    algorithm: hmac::Algorithm,
    secrets: &[SharedSecret],
    message: &[u8],
    signatures: &[Vec<u8>],
) -> bool {
    let mut verified = false;
    for secret in secrets {
        let key = secret.key(algorithm);
        for sig in signatures {
            verified |= hmac::verify(&key, message, sig).is_ok();
        }
    }
    verified
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of hex text (either case), `None` unless it is an even
/// number of hex digits.
pub(crate) fn hex_decode(text: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect()
}

/// A header's value, or [`SignatureError::MissingHeader`].
pub(crate) fn require<'h>(
    headers: &'h Headers,
    name: &'static str,
) -> Result<&'h str, SignatureError> {
    headers.get(name).ok_or(SignatureError::MissingHeader(name))
}

/// A signed `t=` timestamp: integer unix seconds.
pub(crate) fn unix_timestamp(
    header: &'static str,
    text: &str,
) -> Result<Timestamp, SignatureError> {
    let seconds: i64 = text.parse().map_err(|_| SignatureError::BadHeader {
        header,
        reason: format!("the timestamp `{text}` is not an integer number of seconds"),
    })?;
    Timestamp::from_second(seconds).map_err(|e| SignatureError::BadHeader {
        header,
        reason: e.to_string(),
    })
}

/// The longest delivery id kept; the store keys deliveries on it.
const MAX_DELIVERY_ID: usize = 256;

/// A delivery id made of the texts at `paths` in a verified body, joined
/// with `:`; `None` unless the body is JSON and every path holds a
/// non-empty string (or number) and the whole is at most 256 bytes.
/// Called only once the body's signature verified.
pub(crate) fn delivery_id(body: &[u8], paths: &[&[&str]]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let mut parts = Vec::with_capacity(paths.len());
    for path in paths {
        let mut at = &v;
        for key in *path {
            at = at.get(key)?;
        }
        let part = match at {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        parts.push(part);
    }
    let id = parts.join(":");
    (id.len() <= MAX_DELIVERY_ID).then_some(id)
}

/// A delivery's headers, looked up case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    pairs: Vec<(String, String)>,
}

impl Headers {
    /// Headers from name–value pairs; values that are not text are left out
    /// by the caller.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Headers {
            pairs: pairs.into_iter().collect(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a valid signature established about a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The sender's id of this delivery (the idempotency key), if the
    /// scheme has one.
    pub id: Option<String>,
    /// The signed timestamp, if the scheme signs one.
    pub timestamp: Option<Timestamp>,
}

/// Why a delivery's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header the scheme needs is absent.
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    /// A header does not have the scheme's form.
    #[error("the `{header}` header is malformed: {reason}")]
    BadHeader {
        /// The header.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The signed timestamp is older than the tolerance allows.
    #[error(
        "the signed timestamp {timestamp} is {age} s old; deliveries older than {tolerance} s are refused"
    )]
    Stale {
        /// The signed time.
        timestamp: Timestamp,
        /// Its age in seconds.
        age: i64,
        /// The tolerance in seconds.
        tolerance: i64,
    },
    /// The signed timestamp is further in the future than the tolerance.
    #[error(
        "the signed timestamp {timestamp} is {ahead} s in the future; the tolerance is {tolerance} s"
    )]
    Future {
        /// The signed time.
        timestamp: Timestamp,
        /// How far ahead, in seconds.
        ahead: i64,
        /// The tolerance in seconds.
        tolerance: i64,
    },
    /// No signature verifies with any configured secret.
    #[error("no signature in `{header}` verifies with the configured secret(s)")]
    Mismatch {
        /// The header holding the signatures.
        header: &'static str,
    },
}

/// Checks a signed timestamp against `now` with a tolerance of `tolerance`
/// seconds either way.
///
/// # Errors
/// [`SignatureError::Stale`] or [`SignatureError::Future`].
pub(crate) fn check_tolerance(
    timestamp: Timestamp,
    now: Timestamp,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let age = now.as_second() - timestamp.as_second();
    if age > tolerance {
        return Err(SignatureError::Stale {
            timestamp,
            age,
            tolerance,
        });
    }
    if -age > tolerance {
        return Err(SignatureError::Future {
            timestamp,
            ahead: -age,
            tolerance,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_reads_both_cases_and_nothing_else() {
        assert_eq!(hex_decode("00ff7Aa0"), Some(vec![0x00, 0xff, 0x7a, 0xa0]));
        for bad in ["", "0", "0g", "0x00", " 00", "ä0"] {
            assert_eq!(hex_decode(bad), None, "{bad:?}");
        }
        assert_eq!(hex_encode(&[0x00, 0xff, 0x7a]), "00ff7a");
    }

    #[test]
    fn secrets_are_not_empty_and_not_shown() {
        assert_eq!(SharedSecret::new("  ").unwrap_err(), SecretError::Empty);
        let s = SharedSecret::new(" whsec_abc ").unwrap();
        assert_eq!(s.0, b"whsec_abc");
        assert!(!format!("{s:?}").contains("abc"));
    }

    #[test]
    fn delivery_ids_join_the_texts_found() {
        let body = br#"{"a":{"b":"x"},"n":7,"e":"","o":{}}"#;
        assert_eq!(
            delivery_id(body, &[&["a", "b"], &["n"]]).as_deref(),
            Some("x:7")
        );
        assert_eq!(delivery_id(body, &[&["a", "c"]]), None);
        assert_eq!(delivery_id(body, &[&["e"]]), None);
        assert_eq!(delivery_id(body, &[&["o"]]), None);
        assert_eq!(delivery_id(b"[", &[&["a"]]), None);
        let long = format!("{{\"id\":\"{}\"}}", "x".repeat(300));
        assert_eq!(delivery_id(long.as_bytes(), &[&["id"]]), None);
    }
}
