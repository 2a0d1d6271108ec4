//! How facts about a customer arrive, with their evidence.
//!
//! A verification *event* (a KYC vendor's webhook, Cordon's own format, an
//! identity assertion, an attestation, a declaration) states *facts* about
//! one account: an attribute of the subject JSON (docs/subjects.md), a
//! value, the level it was verified at, and how. Each fact received becomes
//! one [`evidence::Evidence`] row in the store, and the account's subject is
//! [derived](evidence::derive) from its record and the evidence in force.
//!
//! This crate does no I/O and knows nothing of HTTP: it checks signatures
//! on raw bytes, parses payloads into events, and derives subjects; time is
//! passed in. The gateway receives deliveries and the store keeps the rows.
#![deny(missing_docs)]

pub mod cordon_format;
pub mod event;
pub mod evidence;
pub mod fact;
pub mod intake;
pub mod link;
pub mod oidc;
pub mod record;
pub mod statement;
pub mod vendor;
pub mod webhook;

pub use event::{Event, EventKind};
pub use evidence::{Contradiction, Derived, Evidence, SourceKind, derive};
pub use fact::{Attribute, Fact};
pub use intake::{Format, IntakeError, Received, Source};
pub use vendor::{ApiCredentials, FetchRequest, Refetch, RefetchError, Vendor};

/// Why a delivery's payload could not be read as an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The body is not JSON.
    #[error("the body is not JSON (line {line}, column {column}): {reason}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser reported.
        reason: String,
    },
    /// A required field is absent.
    #[error("the field `{0}` is missing")]
    Missing(String),
    /// A field has the wrong JSON type.
    #[error("the field `{field}` must be {expected}")]
    WrongType {
        /// The field's path.
        field: String,
        /// What it must be.
        expected: &'static str,
    },
    /// The event type is not one this source understands.
    #[error("the event type `{found}` is not {expected}")]
    UnknownType {
        /// The type found.
        found: String,
        /// What is understood.
        expected: &'static str,
    },
    /// A field's value is not acceptable.
    #[error("the field `{field}` is invalid: {reason}")]
    Invalid {
        /// The field's path.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The subject does not check (the message names the subject field).
    #[error("the field `subject` does not check: {0}")]
    Subject(String),
}
