//! Persona's webhook signatures
//! ([docs](https://docs.withpersona.com/docs/webhooks-best-practices)):
//! `Persona-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `{t}.{raw body}` with the webhook's secret (`wbhsec_…`, used as it is).
//! While a secret is being rotated the header holds two space-separated
//! `t=…,v1=…` sets, one per secret; one set that verifies is enough, and
//! its own `t` is the one held to the tolerance.

use jiff::Timestamp;
use ring::hmac;

use super::{
    Delivery, Headers, MAX_SIGNATURES, SharedSecret, SignatureError, any_verifies, check_tolerance,
    delivery_id, hex_decode, require, unix_timestamp,
};

/// The header holding Persona's signatures.
const HEADER: &str = "Persona-Signature";

/// The verifier for one Persona webhook.
#[derive(Debug, Clone)]
pub struct PersonaSignature {
    /// Every webhook secret in use (`wbhsec_…`; more than one while
    /// rotating).
    pub secrets: Vec<SharedSecret>,
    /// How far the signed timestamp may be from now, in seconds
    /// ([`super::DEFAULT_TOLERANCE`] is usual).
    pub tolerance: i64,
}

/// One `t=…,v1=…` set of the header.
struct Set<'h> {
    t: &'h str,
    timestamp: Timestamp,
    signatures: Vec<Vec<u8>>,
}

impl PersonaSignature {
    /// Verifies a delivery. Its id is the event's id (`data.id`, `evt_…`),
    /// read from the body once the signature verified.
    ///
    /// # Errors
    /// [`SignatureError`] naming `Persona-Signature` when it is missing,
    /// malformed or verifies with no secret, or the timestamp outside the
    /// tolerance.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Delivery, SignatureError> {
        let header = require(headers, HEADER)?;
        let mut sets = Vec::new();
        let mut count = 0usize;
        for text in header.split_whitespace() {
            let mut t = None;
            let mut signatures = Vec::new();
            for item in text.split(',') {
                match item.split_once('=') {
                    Some(("t", value)) if t.is_none() => t = Some(value),
                    Some(("v1", value)) => {
                        if let Some(sig) = hex_decode(value) {
                            signatures.push(sig);
                        }
                    }
                    _ => {}
                }
            }
            let Some(t) = t else { continue };
            if signatures.is_empty() {
                continue;
            }
            count += signatures.len();
            if count > MAX_SIGNATURES {
                return Err(SignatureError::BadHeader {
                    header: HEADER,
                    reason: format!("it has more than {MAX_SIGNATURES} signatures"),
                });
            }
            sets.push(Set {
                t,
                timestamp: unix_timestamp(HEADER, t)?,
                signatures,
            });
        }
        if sets.is_empty() {
            return Err(SignatureError::BadHeader {
                header: HEADER,
                reason: "it holds no `t=<unix seconds>,v1=<hex>` set".into(),
            });
        }
        let mut verified: Option<Timestamp> = None;
        for set in &sets {
            let message = [set.t.as_bytes(), b".", body].concat();
            if any_verifies(hmac::HMAC_SHA256, &self.secrets, &message, &set.signatures) {
                verified = verified.max(Some(set.timestamp));
            }
        }
        let timestamp = verified.ok_or(SignatureError::Mismatch { header: HEADER })?;
        check_tolerance(timestamp, now, self.tolerance)?;
        Ok(Delivery {
            id: delivery_id(body, &[&["data", "id"]]),
            timestamp: Some(timestamp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::hex_encode;

    const SECRET: &str = "wbhsec_persona_test_secret";
    const NOW: i64 = 1_800_000_000;
    const BODY: &[u8] =
        br#"{"data":{"type":"event","id":"evt_p1","attributes":{"name":"inquiry.approved"}}}"#;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let msg = [t.to_string().as_bytes(), b".", body].concat();
        format!("t={t},v1={}", hex_encode(hmac::sign(&key, &msg).as_ref()))
    }

    fn headers(value: &str) -> Headers {
        Headers::new([("persona-signature".to_owned(), value.to_owned())])
    }

    fn verifier() -> PersonaSignature {
        PersonaSignature {
            secrets: vec![SharedSecret::new(SECRET).unwrap()],
            tolerance: 300,
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(NOW).unwrap()
    }

    #[test]
    fn a_signed_delivery_verifies_and_its_id_is_the_event_s() {
        let d = verifier()
            .verify(&headers(&sign(SECRET, NOW, BODY)), BODY, now())
            .unwrap();
        assert_eq!(d.id.as_deref(), Some("evt_p1"));
        assert_eq!(d.timestamp, Some(now()));
    }

    #[test]
    fn while_rotating_one_of_two_sets_is_enough() {
        let old = sign("wbhsec_old", NOW - 1, BODY);
        let new = sign(SECRET, NOW, BODY);
        for h in [format!("{old} {new}"), format!("{new} {old}")] {
            let d = verifier().verify(&headers(&h), BODY, now()).unwrap();
            assert_eq!(d.timestamp, Some(now()));
        }
        // The set that verifies is the one held to the tolerance: a fresh
        // set under an unknown secret does not make a stale one fresh.
        let stale = sign(SECRET, NOW - 1000, BODY);
        let fresh_other = sign("wbhsec_other", NOW, BODY);
        assert!(matches!(
            verifier().verify(&headers(&format!("{fresh_other} {stale}")), BODY, now()),
            Err(SignatureError::Stale { .. })
        ));
    }

    #[test]
    fn forged_tampered_stale_and_future_deliveries_are_refused() {
        let v = verifier();
        assert_eq!(
            v.verify(&headers(&sign("wbhsec_guess", NOW, BODY)), BODY, now()),
            Err(SignatureError::Mismatch { header: HEADER })
        );
        assert_eq!(
            v.verify(&headers(&sign(SECRET, NOW, BODY)), b"{}", now()),
            Err(SignatureError::Mismatch { header: HEADER })
        );
        assert!(matches!(
            v.verify(&headers(&sign(SECRET, NOW - 301, BODY)), BODY, now()),
            Err(SignatureError::Stale { age: 301, .. })
        ));
        assert!(matches!(
            v.verify(&headers(&sign(SECRET, NOW + 301, BODY)), BODY, now()),
            Err(SignatureError::Future { ahead: 301, .. })
        ));
    }

    #[test]
    fn malformed_headers_name_the_header() {
        let v = verifier();
        assert_eq!(
            v.verify(&Headers::default(), BODY, now()),
            Err(SignatureError::MissingHeader(HEADER))
        );
        let many = vec![sign(SECRET, NOW, BODY); MAX_SIGNATURES + 1].join(" ");
        for bad in [
            "",
            "v1=abcd",
            "t=1",
            "t=x,v1=abcd",
            "t=1,v1=zz",
            many.as_str(),
        ] {
            let e = v.verify(&headers(bad), BODY, now()).unwrap_err();
            assert!(
                matches!(e, SignatureError::BadHeader { header: HEADER, .. }),
                "{bad}: {e}"
            );
        }
    }
}
