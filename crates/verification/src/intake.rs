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
use crate::vendor::Vendor;
use crate::webhook::{
    Delivery, Headers, OnfidoSignature, PersonaSignature, SignatureError, StandardWebhooks,
    StripeSignature, SumsubSignature, VeriffSignature,
};

/// The largest delivery body accepted, in bytes.
pub const MAX_BODY: usize = 256 * 1024;

/// How a source's deliveries are signed and its payloads read.
#[derive(Debug, Clone)]
pub enum Format {
    /// Cordon's own event format ([`cordon_format`]), signed with Standard
    /// Webhooks.
    Cordon(StandardWebhooks),
    /// Stripe Identity's `identity.verification_session.*` events
    /// ([`crate::vendor::stripe`]), signed with `Stripe-Signature`.
    StripeIdentity(StripeSignature),
    /// Persona's `inquiry.*` events ([`crate::vendor::persona`]), signed
    /// with `Persona-Signature`.
    Persona(PersonaSignature),
    /// Veriff's decision and event webhooks ([`crate::vendor::veriff`]),
    /// signed with `X-HMAC-SIGNATURE` and `X-AUTH-CLIENT`.
    Veriff(VeriffSignature),
    /// Onfido's webhook notifications ([`crate::vendor::onfido`]), signed
    /// with `X-SHA2-Signature`.
    Onfido(OnfidoSignature),
    /// Sumsub's applicant webhooks ([`crate::vendor::sumsub`]), signed with
    /// `X-Payload-Digest`.
    Sumsub(SumsubSignature),
}

impl Format {
    /// The name used in configuration and metrics: `cordon`, or the
    /// vendor's ([`Vendor::as_str`]).
    pub fn name(&self) -> &'static str {
        self.vendor().map_or("cordon", Vendor::as_str)
    }

    /// The vendor whose payloads this format reads, `None` for Cordon's
    /// own. A vendor is also how its verifications are refetched
    /// ([`crate::vendor::Refetch`]).
    pub fn vendor(&self) -> Option<Vendor> {
        match self {
            Format::Cordon(_) => None,
            Format::StripeIdentity(_) => Some(Vendor::StripeIdentity),
            Format::Persona(_) => Some(Vendor::Persona),
            Format::Veriff(_) => Some(Vendor::Veriff),
            Format::Onfido(_) => Some(Vendor::Onfido),
            Format::Sumsub(_) => Some(Vendor::Sumsub),
        }
    }

    /// Checks a delivery's signature.
    ///
    /// # Errors
    /// [`SignatureError`] naming the header that is missing, malformed or
    /// does not verify, or a timestamp outside the tolerance.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Delivery, SignatureError> {
        match self {
            Format::Cordon(s) => s.verify(headers, body, now),
            Format::StripeIdentity(s) => s.verify(headers, body, now),
            Format::Persona(s) => s.verify(headers, body, now),
            Format::Veriff(s) => s.verify(headers, body, now),
            Format::Onfido(s) => s.verify(headers, body, now),
            Format::Sumsub(s) => s.verify(headers, body, now),
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
    /// A vendor's event is what its webhook says. Where the source
    /// refetches, the gateway then fetches the object
    /// ([`crate::vendor::Refetch::refetch`]) and grants only what the
    /// fetched object says ([`Source::read_fetched`]); an Onfido event
    /// names no account (it is empty) and is always pending.
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
        let delivery = self.format.verify(headers, body, now)?;
        let event = match self.format.vendor() {
            None => cordon_format::parse(body, jurisdictions)?,
            Some(vendor) => vendor.parse_webhook(body, jurisdictions)?,
        };
        self.check_levels(&event)?;
        Ok(Received {
            delivery,
            event,
            payload_sha256: sha256_hex(body),
        })
    }

    /// Reads an object the gateway refetched from this source's vendor
    /// for `account`, and checks the levels it claims like a delivery's.
    /// The body's SHA-256 is returned beside the event, for the evidence
    /// rows.
    ///
    /// # Errors
    /// [`IntakeError::TooLarge`], [`IntakeError::Payload`] (also for a
    /// source in Cordon's own format, which has nothing to refetch), or
    /// [`IntakeError::LevelTooHigh`].
    pub fn read_fetched(
        &self,
        account: &str,
        body: &[u8],
        jurisdictions: &Jurisdictions,
    ) -> Result<(Event, String), IntakeError> {
        use crate::vendor::Refetch as _;
        if body.len() > MAX_BODY {
            return Err(IntakeError::TooLarge { len: body.len() });
        }
        let vendor = self.format.vendor().ok_or(PayloadError::Invalid {
            field: "(format)".into(),
            reason: "a source in Cordon's own format has nothing to refetch".into(),
        })?;
        let event = vendor.read_fetched(account, body, jurisdictions)?;
        self.check_levels(&event)?;
        Ok((event, sha256_hex(body)))
    }

    /// Refuses an event claiming a level above the source's maximum.
    fn check_levels(&self, event: &Event) -> Result<(), IntakeError> {
        match event.facts.iter().find(|f| f.level > self.max_level) {
            Some(f) => Err(IntakeError::LevelTooHigh {
                attribute: f.attribute.field(),
                level: f.level.as_str(),
                max: self.max_level.as_str(),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
