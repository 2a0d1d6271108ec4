//! Webhook signatures: each scheme a vendor documents, checked on the raw
//! body before anything in it is read.
//!
//! Every comparison of a MAC is constant-time (`ring::hmac::verify`);
//! schemes that sign a timestamp get a tolerance on it; every scheme yields
//! the delivery's id where it has one, which the store remembers so that a
//! replay changes nothing.

mod standard;

use jiff::Timestamp;

pub use standard::{Secret, StandardWebhooks};

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
