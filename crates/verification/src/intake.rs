//! A configured source of verification events: how its deliveries are
//! signed, how its payloads read, and what it may establish.

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::VerificationLevel;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::PayloadError;
use crate::cordon_format;
use crate::event::Event;
use crate::evidence::SourceKind;
use crate::webhook::{Delivery, Headers, SignatureError, StandardWebhooks};

/// The largest delivery body accepted, in bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// How a source's deliveries are signed and its payloads read.
#[derive(Debug, Clone)]
pub enum Format {
    /// Cordon's own event format ([`cordon_format`]), signed with Standard
    /// Webhooks.
    Cordon(StandardWebhooks),
}

impl Format {
    /// The name used in configuration and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Cordon(_) => "cordon",
        }
    }
}

/// One configured source (`[[verification.source]]`).
#[derive(Debug, Clone)]
pub struct Source {
    /// Its name: the webhook path segment and the evidence's `source`.
    pub name: String,
    /// How its deliveries are signed and read.
    pub format: Format,
    /// What kind of party it is.
    pub kind: SourceKind,
    /// The highest level it may grant; an event claiming more is refused
    /// whole.
    pub max_level: VerificationLevel,
}

/// A delivery whose signature and payload checked.
#[derive(Debug, Clone)]
pub struct Received {
    /// What the signature established.
    pub delivery: Delivery,
    /// The event.
    pub event: Event,
    /// SHA-256 of the raw body, hex: all that is kept of the payload.
    pub payload_sha256: String,
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// The body is larger than [`MAX_BODY`].
    #[error("the body is {len} bytes; at most {MAX_BODY} are accepted")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The signature does not check.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The payload does not read.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// A fact claims a level above the source's maximum.
    #[error("the event claims `{attribute}` at `{level}`, above the `{max}` this source may grant")]
    LevelTooHigh {
        /// The attribute's field.
        attribute: &'static str,
        /// The level claimed.
        level: &'static str,
        /// The source's maximum.
        max: &'static str,
    },
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::webhook::hex_encode(&Sha256::digest(bytes))
}

impl Source {
    /// Checks a delivery's size and signature, then reads its event and
    /// checks the levels it claims. Nothing is read from the body before
    /// the signature verifies.
    ///
    /// # Errors
    /// [`IntakeError`]: what was wrong, naming the header or field.
    pub fn receive(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
        jurisdictions: &Jurisdictions,
    ) -> Result<Received, IntakeError> {
        if body.len() > MAX_BODY {
            return Err(IntakeError::TooLarge { len: body.len() });
        }
        let (delivery, event) = match &self.format {
            Format::Cordon(signing) => {
                let delivery = signing.verify(headers, body, now)?;
                (delivery, cordon_format::parse(body, jurisdictions)?)
            }
        };
        if let Some(f) = event.facts.iter().find(|f| f.level > self.max_level) {
            return Err(IntakeError::LevelTooHigh {
                attribute: f.attribute.field(),
                level: f.level.as_str(),
                max: self.max_level.as_str(),
            });
        }
        Ok(Received {
            delivery,
            event,
            payload_sha256: sha256_hex(body),
        })
    }
}
