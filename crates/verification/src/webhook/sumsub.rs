//! Sumsub's webhook signatures
//! ([docs](https://docs.sumsub.com/docs/webhook-manager)):
//! `X-Payload-Digest` is the hex HMAC of the raw body with the webhook's
//! secret key, by the algorithm `X-Payload-Digest-Alg` names:
//! `HMAC_SHA1_HEX`, `HMAC_SHA256_HEX` (the default when the header is
//! absent) or `HMAC_SHA512_HEX`.
//!
//! Nothing signed says when the delivery was made, so there is no
//! tolerance: replays are caught by the delivery id, and grants come only
//! from the refetched applicant.

use jiff::Timestamp;
use ring::hmac;

use super::{
    Delivery, Headers, SharedSecret, SignatureError, any_verifies, delivery_id, hex_decode, require,
};

/// The header holding the MAC.
const DIGEST: &str = "X-Payload-Digest";
/// The header naming the MAC's algorithm.
const ALGORITHM: &str = "X-Payload-Digest-Alg";

/// The MAC algorithms Sumsub signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumsubAlgorithm {
    /// `HMAC_SHA1_HEX`.
    Sha1,
    /// `HMAC_SHA256_HEX`, the default.
    Sha256,
    /// `HMAC_SHA512_HEX`.
    Sha512,
}

impl SumsubAlgorithm {
    /// Every algorithm.
    pub const ALL: [SumsubAlgorithm; 3] = [
        SumsubAlgorithm::Sha1,
        SumsubAlgorithm::Sha256,
        SumsubAlgorithm::Sha512,
    ];

    /// The name `X-Payload-Digest-Alg` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            SumsubAlgorithm::Sha1 => "HMAC_SHA1_HEX",
            SumsubAlgorithm::Sha256 => "HMAC_SHA256_HEX",
            SumsubAlgorithm::Sha512 => "HMAC_SHA512_HEX",
        }
    }

    /// The algorithm `X-Payload-Digest-Alg` names.
    pub fn parse(name: &str) -> Option<SumsubAlgorithm> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    fn ring(self) -> hmac::Algorithm {
        match self {
            SumsubAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            SumsubAlgorithm::Sha256 => hmac::HMAC_SHA256,
            SumsubAlgorithm::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// The verifier for one Sumsub webhook.
#[derive(Debug, Clone)]
pub struct SumsubSignature {
    /// Every webhook secret key in use (more than one while rotating).
    pub secrets: Vec<SharedSecret>,
    /// The algorithms accepted. Sumsub lets the sender pick in the
    /// dashboard; an operator who picked SHA-256 or SHA-512 can leave
    /// SHA-1 out so that a delivery naming it is refused.
    pub algorithms: Vec<SumsubAlgorithm>,
}

impl SumsubSignature {
    /// Verifies a delivery. `now` is unused (nothing signed carries a
    /// time). The delivery id, read once the MAC verified, is
    /// `{applicantId}:{type}:{createdAtMs}`.
    ///
    /// # Errors
    /// [`SignatureError`] naming `X-Payload-Digest-Alg` when it names an
    /// algorithm unknown or not accepted, or `X-Payload-Digest` when it is
    /// missing, not hex or verifies with no secret.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<Delivery, SignatureError> {
        let algorithm = match headers.get(ALGORITHM).map(str::trim) {
            None => SumsubAlgorithm::Sha256,
            Some(name) => {
                SumsubAlgorithm::parse(name).ok_or_else(|| SignatureError::BadHeader {
                    header: ALGORITHM,
                    reason: format!(
                        "`{name}` is not `HMAC_SHA1_HEX`, `HMAC_SHA256_HEX` or `HMAC_SHA512_HEX`"
                    ),
                })?
            }
        };
        if !self.algorithms.contains(&algorithm) {
            return Err(SignatureError::BadHeader {
                header: ALGORITHM,
                reason: format!("`{}` is not accepted here", algorithm.as_str()),
            });
        }
        let text = require(headers, DIGEST)?;
        let signature = hex_decode(text.trim()).ok_or_else(|| SignatureError::BadHeader {
            header: DIGEST,
            reason: "it is not hex".into(),
        })?;
        if !any_verifies(algorithm.ring(), &self.secrets, body, &[signature]) {
            return Err(SignatureError::Mismatch { header: DIGEST });
        }
        Ok(Delivery {
            id: delivery_id(body, &[&["applicantId"], &["type"], &["createdAtMs"]]),
            timestamp: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::hex_encode;

    const SECRET: &str = "sumsub-webhook-secret";
    const BODY: &[u8] = br#"{"applicantId":"ap1","type":"applicantReviewed","externalUserId":"acct","createdAtMs":"2026-12-07 10:00:00.123","reviewResult":{"reviewAnswer":"GREEN"}}"#;

    fn sign(alg: hmac::Algorithm, secret: &str, body: &[u8]) -> String {
        hex_encode(hmac::sign(&hmac::Key::new(alg, secret.as_bytes()), body).as_ref())
    }

    fn headers(sig: &str, alg: Option<&str>) -> Headers {
        let mut pairs = vec![("x-payload-digest".to_owned(), sig.to_owned())];
        if let Some(a) = alg {
            pairs.push(("x-payload-digest-alg".to_owned(), a.to_owned()));
        }
        Headers::new(pairs)
    }

    fn verifier() -> SumsubSignature {
        SumsubSignature {
            secrets: vec![SharedSecret::new(SECRET).unwrap()],
            algorithms: SumsubAlgorithm::ALL.to_vec(),
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn each_algorithm_verifies_and_sha256_is_the_default() {
        let v = verifier();
        let cases = [
            (hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, Some("HMAC_SHA1_HEX")),
            (hmac::HMAC_SHA256, Some("HMAC_SHA256_HEX")),
            (hmac::HMAC_SHA512, Some("HMAC_SHA512_HEX")),
            (hmac::HMAC_SHA256, None),
        ];
        for (alg, name) in cases {
            let d = v
                .verify(&headers(&sign(alg, SECRET, BODY), name), BODY, now())
                .unwrap();
            assert_eq!(
                d.id.as_deref(),
                Some("ap1:applicantReviewed:2026-12-07 10:00:00.123")
            );
        }
        // A SHA-512 MAC announced as the default is not a SHA-256 one.
        let sha512 = sign(hmac::HMAC_SHA512, SECRET, BODY);
        assert_eq!(
            v.verify(&headers(&sha512, None), BODY, now()),
            Err(SignatureError::Mismatch { header: DIGEST })
        );
    }

    #[test]
    fn forged_tampered_and_malformed_deliveries_are_refused() {
        let v = verifier();
        let good = sign(hmac::HMAC_SHA256, SECRET, BODY);
        assert_eq!(
            v.verify(
                &headers(&sign(hmac::HMAC_SHA256, "guess", BODY), None),
                BODY,
                now()
            ),
            Err(SignatureError::Mismatch { header: DIGEST })
        );
        assert_eq!(
            v.verify(&headers(&good, None), b"{}", now()),
            Err(SignatureError::Mismatch { header: DIGEST })
        );
        let e = v
            .verify(&headers(&good, Some("HMAC_MD5_HEX")), BODY, now())
            .unwrap_err();
        assert!(e.to_string().contains("`X-Payload-Digest-Alg`"), "{e}");
        assert!(matches!(
            v.verify(&headers("g00d", None), BODY, now()),
            Err(SignatureError::BadHeader { header: DIGEST, .. })
        ));
        assert_eq!(
            v.verify(&Headers::default(), BODY, now()),
            Err(SignatureError::MissingHeader(DIGEST))
        );
    }

    #[test]
    fn an_algorithm_left_out_is_refused() {
        let v = SumsubSignature {
            secrets: vec![SharedSecret::new(SECRET).unwrap()],
            algorithms: vec![SumsubAlgorithm::Sha256, SumsubAlgorithm::Sha512],
        };
        let sha1 = sign(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, SECRET, BODY);
        let e = v
            .verify(&headers(&sha1, Some("HMAC_SHA1_HEX")), BODY, now())
            .unwrap_err();
        assert!(e.to_string().contains("not accepted"), "{e}");
    }
}
