//! Onfido's (Entrust's) webhook signatures
//! ([docs](https://documentation.identity.entrust.com/api/manual-webhook-signature-verification/)):
//! `X-SHA2-Signature` is the hex HMAC-SHA256 of the raw body with the
//! webhook's token.
//!
//! Nothing signed says when the delivery was made, so there is no
//! tolerance: replays are caught by the delivery id, and grants come only
//! from the refetched report.

use jiff::Timestamp;
use ring::hmac;

use super::{
    Delivery, Headers, SharedSecret, SignatureError, any_verifies, delivery_id, hex_decode, require,
};

/// The header holding the MAC.
const HEADER: &str = "X-SHA2-Signature";

/// The verifier for one Onfido webhook.
#[derive(Debug, Clone)]
pub struct OnfidoSignature {
    /// Every webhook token in use (more than one while rotating).
    pub tokens: Vec<SharedSecret>,
}

impl OnfidoSignature {
    /// Verifies a delivery. `now` is unused (nothing signed carries a
    /// time). The delivery id, read once the MAC verified, is
    /// `{payload.object.id}:{payload.action}` (`…:report.completed`).
    ///
    /// # Errors
    /// [`SignatureError`] naming `X-SHA2-Signature` when it is missing, not
    /// hex or verifies with no token.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<Delivery, SignatureError> {
        let text = require(headers, HEADER)?;
        let signature = hex_decode(text.trim()).ok_or_else(|| SignatureError::BadHeader {
            header: HEADER,
            reason: "it is not hex".into(),
        })?;
        if !any_verifies(hmac::HMAC_SHA256, &self.tokens, body, &[signature]) {
            return Err(SignatureError::Mismatch { header: HEADER });
        }
        Ok(Delivery {
            id: delivery_id(
                body,
                &[&["payload", "object", "id"], &["payload", "action"]],
            ),
            timestamp: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::hex_encode;

    const TOKEN: &str = "onfido-webhook-token";
    const BODY: &[u8] = br#"{"payload":{"resource_type":"report","action":"report.completed","object":{"id":"r1","status":"complete"}}}"#;

    fn sign(token: &str, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes());
        hex_encode(hmac::sign(&key, body).as_ref())
    }

    fn headers(sig: &str) -> Headers {
        Headers::new([("x-sha2-signature".to_owned(), sig.to_owned())])
    }

    fn verifier() -> OnfidoSignature {
        OnfidoSignature {
            tokens: vec![SharedSecret::new(TOKEN).unwrap()],
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn a_signed_delivery_verifies_with_an_id_of_resource_and_action() {
        let d = verifier()
            .verify(&headers(&sign(TOKEN, BODY)), BODY, now())
            .unwrap();
        assert_eq!(d.id.as_deref(), Some("r1:report.completed"));
        let two = OnfidoSignature {
            tokens: vec![
                SharedSecret::new("old").unwrap(),
                SharedSecret::new(TOKEN).unwrap(),
            ],
        };
        assert!(
            two.verify(&headers(&sign("old", BODY)), BODY, now())
                .is_ok()
        );
    }

    #[test]
    fn forged_tampered_and_malformed_deliveries_are_refused() {
        let v = verifier();
        assert_eq!(
            v.verify(&headers(&sign("guess", BODY)), BODY, now()),
            Err(SignatureError::Mismatch { header: HEADER })
        );
        assert_eq!(
            v.verify(&headers(&sign(TOKEN, BODY)), b"{}", now()),
            Err(SignatureError::Mismatch { header: HEADER })
        );
        assert!(matches!(
            v.verify(&headers("0x12"), BODY, now()),
            Err(SignatureError::BadHeader { header: HEADER, .. })
        ));
        assert_eq!(
            v.verify(&Headers::default(), BODY, now()),
            Err(SignatureError::MissingHeader(HEADER))
        );
    }
}
