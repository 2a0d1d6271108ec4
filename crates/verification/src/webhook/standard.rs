//! The Standard Webhooks scheme, v1.0.0
//! ([spec](https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)):
//! `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`
//! (space-separated `v1,<base64 HMAC-SHA256>` and `v1a,<base64 Ed25519>`)
//! over `{id}.{timestamp}.{body}`. Several signatures let a sender rotate
//! secrets without downtime: one that verifies is enough.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::Timestamp;
use ring::{hmac, signature};

use super::{Delivery, Headers, MAX_SIGNATURES, SignatureError, check_tolerance};

/// The longest `webhook-id` accepted; the store keys deliveries on it.
const MAX_ID_LEN: usize = 256;

/// A Standard Webhooks secret: a symmetric `whsec_` key (HMAC-SHA256, 24 to
/// 64 bytes) or an Ed25519 public key `whpk_` (32 bytes).
#[derive(Clone)]
pub enum Secret {
    /// `v1` signatures.
    Hmac(hmac::Key),
    /// `v1a` signatures.
    Ed25519([u8; 32]),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Secret::Hmac(_) => "Secret::Hmac(<redacted>)",
            Secret::Ed25519(_) => "Secret::Ed25519(..)",
        })
    }
}

impl Secret {
    /// A new random `whsec_` secret of 32 bytes, as text.
    ///
    /// # Errors
    /// When the system's random source fails.
    pub fn generate() -> Result<String, String> {
        use ring::rand::SecureRandom as _;
        let mut raw = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| "the system's random source failed".to_owned())?;
        Ok(format!("whsec_{}", B64.encode(raw)))
    }

    /// Parses `whsec_<base64>` or `whpk_<base64>`.
    ///
    /// # Errors
    /// A message naming what is wrong (never the secret itself).
    pub fn parse(text: &str) -> Result<Secret, String> {
        let text = text.trim();
        if let Some(b) = text.strip_prefix("whsec_") {
            let raw = B64
                .decode(b)
                .map_err(|e| format!("the `whsec_` secret is not base64: {e}"))?;
            if !(24..=64).contains(&raw.len()) {
                return Err(format!(
                    "a `whsec_` secret holds 24 to 64 bytes, this one {}",
                    raw.len()
                ));
            }
            return Ok(Secret::Hmac(hmac::Key::new(hmac::HMAC_SHA256, &raw)));
        }
        if let Some(b) = text.strip_prefix("whpk_") {
            let raw = B64
                .decode(b)
                .map_err(|e| format!("the `whpk_` key is not base64: {e}"))?;
            let key: [u8; 32] = raw
                .try_into()
                .map_err(|r: Vec<u8>| format!("a `whpk_` key is 32 bytes, this one {}", r.len()))?;
            return Ok(Secret::Ed25519(key));
        }
        Err("a Standard Webhooks secret starts with `whsec_` (HMAC) or `whpk_` (Ed25519 public key)".into())
    }
}

/// The Standard Webhooks verifier for one source.
#[derive(Debug, Clone)]
pub struct StandardWebhooks {
    /// Every secret in use (more than one while rotating).
    pub secrets: Vec<Secret>,
    /// How far the signed timestamp may be from now, in seconds.
    pub tolerance: i64,
}

impl StandardWebhooks {
    /// Verifies a delivery.
    ///
    /// # Errors
    /// [`SignatureError`] naming the header that is missing or malformed, a
    /// timestamp outside the tolerance, or no verifying signature.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Delivery, SignatureError> {
        let id = headers
            .get("webhook-id")
            .ok_or(SignatureError::MissingHeader("webhook-id"))?;
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(SignatureError::BadHeader {
                header: "webhook-id",
                reason: format!("it must be 1 to {MAX_ID_LEN} characters"),
            });
        }
        let ts_text = headers
            .get("webhook-timestamp")
            .ok_or(SignatureError::MissingHeader("webhook-timestamp"))?;
        let seconds: i64 = ts_text
            .trim()
            .parse()
            .map_err(|_| SignatureError::BadHeader {
                header: "webhook-timestamp",
                reason: format!("`{ts_text}` is not an integer number of seconds"),
            })?;
        let timestamp = Timestamp::from_second(seconds).map_err(|e| SignatureError::BadHeader {
            header: "webhook-timestamp",
            reason: e.to_string(),
        })?;
        let sigs = headers
            .get("webhook-signature")
            .ok_or(SignatureError::MissingHeader("webhook-signature"))?;
        // The signature is checked before the timestamp's age: an unsigned
        // timestamp says nothing.
        let mut signed = Vec::with_capacity(id.len() + ts_text.len() + body.len() + 2);
        signed.extend_from_slice(id.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(ts_text.as_bytes());
        signed.push(b'.');
        signed.extend_from_slice(body);
        // Each entry costs a MAC or a signature check over the whole body:
        // an unauthenticated sender may not set how many.
        let entries = sigs.split(' ').filter(|s| !s.is_empty()).count();
        if entries > MAX_SIGNATURES {
            return Err(SignatureError::BadHeader {
                header: "webhook-signature",
                reason: format!(
                    "it has {entries} signatures; at most {MAX_SIGNATURES} are checked"
                ),
            });
        }
        let mut any = false;
        let mut verified = false;
        for entry in sigs.split(' ').filter(|s| !s.is_empty()) {
            let Some((version, b64)) = entry.split_once(',') else {
                continue;
            };
            let Ok(sig) = B64.decode(b64) else {
                continue;
            };
            any = true;
            for secret in &self.secrets {
                let ok = match (version, secret) {
                    ("v1", Secret::Hmac(key)) => hmac::verify(key, &signed, &sig).is_ok(),
                    ("v1a", Secret::Ed25519(pk)) => {
                        signature::UnparsedPublicKey::new(&signature::ED25519, pk)
                            .verify(&signed, &sig)
                            .is_ok()
                    }
                    _ => false,
                };
                verified |= ok;
            }
        }
        if !any {
            return Err(SignatureError::BadHeader {
                header: "webhook-signature",
                reason: "it holds no `v1,<base64>` or `v1a,<base64>` signature".into(),
            });
        }
        if !verified {
            return Err(SignatureError::Mismatch {
                header: "webhook-signature",
            });
        }
        check_tolerance(timestamp, now, self.tolerance)?;
        Ok(Delivery {
            id: Some(id.to_owned()),
            timestamp: Some(timestamp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn sign(key: &[u8], id: &str, ts: i64, body: &[u8]) -> String {
        let k = hmac::Key::new(hmac::HMAC_SHA256, key);
        let msg = [id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body].concat();
        format!("v1,{}", B64.encode(hmac::sign(&k, &msg).as_ref()))
    }

    fn headers(id: &str, ts: i64, sig: &str) -> Headers {
        Headers::new([
            ("Webhook-Id".to_owned(), id.to_owned()),
            ("webhook-timestamp".to_owned(), ts.to_string()),
            ("webhook-signature".to_owned(), sig.to_owned()),
        ])
    }

    fn verifier() -> StandardWebhooks {
        StandardWebhooks {
            secrets: vec![Secret::parse(SECRET).unwrap()],
            tolerance: 300,
        }
    }

    fn raw() -> Vec<u8> {
        B64.decode(SECRET.strip_prefix("whsec_").unwrap()).unwrap()
    }

    #[test]
    fn the_spec_example_verifies() {
        // The example of the Standard Webhooks spec: this id, timestamp,
        // body and secret sign to this signature.
        let body = br#"{"test": 2432232314}"#;
        let h = headers(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        );
        let now = Timestamp::from_second(1614265330).unwrap();
        let d = verifier().verify(&h, body, now).unwrap();
        assert_eq!(d.id.as_deref(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
    }

    #[test]
    fn more_signatures_than_are_checked_are_refused_before_any_is_checked() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let body = b"{}";
        let good = sign(&raw(), "m1", 1_800_000_000, body);
        let other = sign(&[7u8; 32], "m1", 1_800_000_000, body);
        let mut many = vec![other; MAX_SIGNATURES];
        many.push(good.clone());
        let h = headers("m1", 1_800_000_000, &many.join(" "));
        let e = verifier().verify(&h, body, now).unwrap_err();
        assert!(e.to_string().contains("at most 8"), "{e}");
        many.remove(0);
        let h = headers("m1", 1_800_000_000, &many.join(" "));
        assert!(verifier().verify(&h, body, now).is_ok());
    }

    #[test]
    fn one_verifying_signature_among_several_is_enough() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let body = b"{}";
        let good = sign(&raw(), "m1", 1_800_000_000, body);
        let other = sign(&[7u8; 32], "m1", 1_800_000_000, body);
        let h = headers("m1", 1_800_000_000, &format!("{other} {good}"));
        assert!(verifier().verify(&h, body, now).is_ok());
    }

    #[test]
    fn forged_tampered_stale_and_future_deliveries_are_refused() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let body = br#"{"a":1}"#;
        let v = verifier();
        let forged = headers(
            "m",
            1_800_000_000,
            &sign(b"not-the-secret-but-long-enough", "m", 1_800_000_000, body),
        );
        assert_eq!(
            v.verify(&forged, body, now),
            Err(SignatureError::Mismatch {
                header: "webhook-signature"
            })
        );
        let ok = headers("m", 1_800_000_000, &sign(&raw(), "m", 1_800_000_000, body));
        assert!(v.verify(&ok, br#"{"a":2}"#, now).is_err(), "another body");
        let reid = headers("m2", 1_800_000_000, &sign(&raw(), "m", 1_800_000_000, body));
        assert!(v.verify(&reid, body, now).is_err(), "another id");
        let stale = 1_800_000_000 - 301;
        let h = headers("m", stale, &sign(&raw(), "m", stale, body));
        assert!(matches!(
            v.verify(&h, body, now),
            Err(SignatureError::Stale { age: 301, .. })
        ));
        let future = 1_800_000_000 + 301;
        let h = headers("m", future, &sign(&raw(), "m", future, body));
        assert!(matches!(
            v.verify(&h, body, now),
            Err(SignatureError::Future { .. })
        ));
        let h = headers("m", 1_800_000_000, "v2,abc");
        assert!(matches!(
            v.verify(&h, body, now),
            Err(SignatureError::BadHeader { .. })
        ));
        let missing = Headers::new([("webhook-id".to_owned(), "m".to_owned())]);
        assert_eq!(
            v.verify(&missing, body, now),
            Err(SignatureError::MissingHeader("webhook-timestamp"))
        );
    }

    #[test]
    fn ed25519_signatures_verify_with_the_public_key() {
        let seed = [5u8; 32];
        let pair = signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        use signature::KeyPair as _;
        let pk = B64.encode(pair.public_key().as_ref());
        let v = StandardWebhooks {
            secrets: vec![Secret::parse(&format!("whpk_{pk}")).unwrap()],
            tolerance: 300,
        };
        let body = b"{}";
        let msg = [b"m.1800000000.".as_slice(), body].concat();
        let sig = format!("v1a,{}", B64.encode(pair.sign(&msg).as_ref()));
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        assert!(
            v.verify(&headers("m", 1_800_000_000, &sig), body, now)
                .is_ok()
        );
        // A v1 HMAC made with the public key's bytes is not a v1a signature.
        let hmac_with_pk = sign(pair.public_key().as_ref(), "m", 1_800_000_000, body);
        assert!(
            v.verify(&headers("m", 1_800_000_000, &hmac_with_pk), body, now)
                .is_err()
        );
    }

    #[test]
    fn generated_secrets_parse_and_differ() {
        let a = Secret::generate().unwrap();
        assert!(matches!(Secret::parse(&a), Ok(Secret::Hmac(_))));
        assert_ne!(a, Secret::generate().unwrap());
    }

    #[test]
    fn secrets_are_checked() {
        assert!(
            Secret::parse("whsec_c2hvcnQ=")
                .unwrap_err()
                .contains("24 to 64")
        );
        assert!(Secret::parse("plain").unwrap_err().contains("whsec_"));
        assert!(Secret::parse("whpk_AAAA").unwrap_err().contains("32 bytes"));
    }
}
