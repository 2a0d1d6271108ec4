//! Stripe's webhook signatures
//! ([docs](https://docs.stripe.com/webhooks#verify-manually)):
//! `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `{t}.{raw body}` with the endpoint's secret (`whsec_…`, used as it is).
//! While a secret is being rolled Stripe sends one `v1` per secret in
//! force; one that verifies is enough. Other schemes (`v0`) are ignored.

use jiff::Timestamp;
use ring::hmac;

use super::{
    Delivery, Headers, MAX_SIGNATURES, SharedSecret, SignatureError, any_verifies, check_tolerance,
    delivery_id, hex_decode, require, unix_timestamp,
};

/// The header holding Stripe's signatures.
const HEADER: &str = "Stripe-Signature";

/// The verifier for one Stripe webhook endpoint.
#[derive(Debug, Clone)]
pub struct StripeSignature {
    /// Every endpoint secret in use (`whsec_…`; more than one while
    /// rolling).
    pub secrets: Vec<SharedSecret>,
    /// How far the signed timestamp may be from now, in seconds (Stripe's
    /// SDKs default to 300, [`super::DEFAULT_TOLERANCE`]).
    pub tolerance: i64,
}

impl StripeSignature {
    /// Verifies a delivery. Its id is the event's `id` (`evt_…`), read from
    /// the body once the signature verified.
    ///
    /// # Errors
    /// [`SignatureError`] naming `Stripe-Signature` when it is missing,
    /// malformed or verifies with no secret, or the timestamp outside the
    /// tolerance.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Delivery, SignatureError> {
        let header = require(headers, HEADER)?;
        let mut t = None;
        let mut signatures = Vec::new();
        for item in header.split(',') {
            let Some((key, value)) = item.trim().split_once('=') else {
                continue;
            };
            match key {
                "t" if t.is_none() => t = Some(value),
                "v1" => {
                    if let Some(sig) = hex_decode(value) {
                        signatures.push(sig);
                    }
                }
                _ => {}
            }
        }
        let t = t.ok_or_else(|| SignatureError::BadHeader {
            header: HEADER,
            reason: "it has no `t=` timestamp".into(),
        })?;
        let timestamp = unix_timestamp(HEADER, t)?;
        if signatures.is_empty() {
            return Err(SignatureError::BadHeader {
                header: HEADER,
                reason: "it has no `v1=<hex>` signature".into(),
            });
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(SignatureError::BadHeader {
                header: HEADER,
                reason: format!(
                    "it has {} `v1` signatures; at most {MAX_SIGNATURES} are checked",
                    signatures.len()
                ),
            });
        }
        let message = [t.as_bytes(), b".", body].concat();
        if !any_verifies(hmac::HMAC_SHA256, &self.secrets, &message, &signatures) {
            return Err(SignatureError::Mismatch { header: HEADER });
        }
        check_tolerance(timestamp, now, self.tolerance)?;
        Ok(Delivery {
            id: delivery_id(body, &[&["id"]]),
            timestamp: Some(timestamp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::hex_encode;

    const SECRET: &str = "whsec_test_secret_for_stripe";
    const NOW: i64 = 1_800_000_000;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let msg = [t.to_string().as_bytes(), b".", body].concat();
        hex_encode(hmac::sign(&key, &msg).as_ref())
    }

    fn headers(value: &str) -> Headers {
        Headers::new([("stripe-signature".to_owned(), value.to_owned())])
    }

    fn verifier() -> StripeSignature {
        StripeSignature {
            secrets: vec![SharedSecret::new(SECRET).unwrap()],
            tolerance: 300,
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(NOW).unwrap()
    }

    const BODY: &[u8] = br#"{"id":"evt_1","type":"identity.verification_session.verified"}"#;

    #[test]
    fn a_signed_delivery_verifies_and_its_id_is_the_event_s() {
        let h = headers(&format!("t={NOW},v1={}", sign(SECRET, NOW, BODY)));
        let d = verifier().verify(&h, BODY, now()).unwrap();
        assert_eq!(d.id.as_deref(), Some("evt_1"));
        assert_eq!(d.timestamp, Some(now()));
    }

    #[test]
    fn while_rolling_one_of_several_v1_signatures_is_enough() {
        let old = sign("whsec_the_old_one", NOW, BODY);
        let new = sign(SECRET, NOW, BODY);
        let h = headers(&format!("t={NOW},v1={old},v1={new},v0=abcd"));
        assert!(verifier().verify(&h, BODY, now()).is_ok());
        // And a verifier holding both secrets accepts either signature.
        let both = StripeSignature {
            secrets: vec![
                SharedSecret::new("whsec_the_old_one").unwrap(),
                SharedSecret::new(SECRET).unwrap(),
            ],
            tolerance: 300,
        };
        let h = headers(&format!("t={NOW},v1={old}"));
        assert!(both.verify(&h, BODY, now()).is_ok());
    }

    #[test]
    fn forged_tampered_stale_and_future_deliveries_are_refused() {
        let v = verifier();
        let forged = headers(&format!("t={NOW},v1={}", sign("whsec_guess", NOW, BODY)));
        assert_eq!(
            v.verify(&forged, BODY, now()),
            Err(SignatureError::Mismatch { header: HEADER })
        );
        let good = headers(&format!("t={NOW},v1={}", sign(SECRET, NOW, BODY)));
        assert_eq!(
            v.verify(&good, br#"{"id":"evt_2"}"#, now()),
            Err(SignatureError::Mismatch { header: HEADER }),
            "another body"
        );
        // The timestamp is signed: moving it breaks the signature.
        let moved = headers(&format!("t={},v1={}", NOW + 1, sign(SECRET, NOW, BODY)));
        assert!(matches!(
            v.verify(&moved, BODY, now()),
            Err(SignatureError::Mismatch { .. })
        ));
        let stale = NOW - 301;
        let h = headers(&format!("t={stale},v1={}", sign(SECRET, stale, BODY)));
        assert!(matches!(
            v.verify(&h, BODY, now()),
            Err(SignatureError::Stale { age: 301, .. })
        ));
        let future = NOW + 301;
        let h = headers(&format!("t={future},v1={}", sign(SECRET, future, BODY)));
        assert!(matches!(
            v.verify(&h, BODY, now()),
            Err(SignatureError::Future { ahead: 301, .. })
        ));
        let edge = NOW - 300;
        let h = headers(&format!("t={edge},v1={}", sign(SECRET, edge, BODY)));
        assert!(v.verify(&h, BODY, now()).is_ok(), "300 s is within");
    }

    #[test]
    fn malformed_headers_name_the_header() {
        let v = verifier();
        assert_eq!(
            v.verify(&Headers::default(), BODY, now()),
            Err(SignatureError::MissingHeader(HEADER))
        );
        for bad in [
            "v1=abcd".to_owned(),
            "t=soon,v1=abcd".to_owned(),
            format!("t={NOW}"),
            format!("t={NOW},v1=not-hex"),
            format!("t={NOW},{}", ["v1=abcd"; MAX_SIGNATURES + 1].join(",")),
        ] {
            let e = v.verify(&headers(&bad), BODY, now()).unwrap_err();
            assert!(
                matches!(e, SignatureError::BadHeader { header: HEADER, .. }),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains("`Stripe-Signature`"), "{e}");
        }
    }

    #[test]
    fn a_body_without_an_id_verifies_without_a_delivery_id() {
        let body = b"not json";
        let h = headers(&format!("t={NOW},v1={}", sign(SECRET, NOW, body)));
        assert_eq!(verifier().verify(&h, body, now()).unwrap().id, None);
    }
}
