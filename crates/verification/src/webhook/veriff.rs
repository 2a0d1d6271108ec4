//! Veriff's webhook signatures
//! ([decision webhook](https://devdocs.veriff.com/docs/decision-webhook),
//! [API](https://devdocs.veriff.com/apidocs)): `X-HMAC-SIGNATURE` is the
//! hex HMAC-SHA256 of the raw body with the integration's shared secret
//! key, and `X-AUTH-CLIENT` is the integration's API key, which must be the
//! configured one.
//!
//! Nothing signed says when the delivery was made, so there is no
//! tolerance: replays are caught by the delivery id, and grants should
//! come from the refetched decision.

use jiff::Timestamp;
use ring::hmac;
use serde_json::Value;

use super::{Delivery, Headers, SharedSecret, SignatureError, any_verifies, hex_decode, require};

/// The header holding the MAC.
const SIGNATURE: &str = "X-HMAC-SIGNATURE";
/// The header holding the API key.
const CLIENT: &str = "X-AUTH-CLIENT";

/// The verifier for one Veriff integration.
#[derive(Clone)]
pub struct VeriffSignature {
    /// The integration's API key, expected in `X-AUTH-CLIENT`.
    pub api_key: String,
    /// Every shared secret key in use (more than one while rotating).
    pub secrets: Vec<SharedSecret>,
}

impl std::fmt::Debug for VeriffSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VeriffSignature")
            .field("api_key", &"<redacted>")
            .field("secrets", &self.secrets)
            .finish()
    }
}

impl VeriffSignature {
    /// Verifies a delivery. `now` is unused (nothing signed carries a
    /// time) and kept for the common shape.
    ///
    /// The delivery id, read once the MAC verified, is
    /// `{verification.id}:{verification.attemptId}:{verification.status}`
    /// for a decision (the status is part of it because a session in
    /// `review` gets a second decision for the same attempt), and
    /// `{id}:{attemptId}:{action}` for an event webhook (`started`,
    /// `submitted`); a missing `attemptId` is left out.
    ///
    /// # Errors
    /// [`SignatureError`] naming `X-AUTH-CLIENT` when it is missing or not
    /// the configured API key, or `X-HMAC-SIGNATURE` when it is missing,
    /// not hex or verifies with no secret.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<Delivery, SignatureError> {
        let client = require(headers, CLIENT)?;
        // The key is compared in constant time as a MAC under a fixed key:
        // equal texts have equal MACs.
        let fixed = hmac::Key::new(hmac::HMAC_SHA256, b"cordon X-AUTH-CLIENT");
        let expected = hmac::sign(&fixed, self.api_key.as_bytes());
        if hmac::verify(&fixed, client.trim().as_bytes(), expected.as_ref()).is_err() {
            return Err(SignatureError::BadHeader {
                header: CLIENT,
                reason: "it is not the configured API key".into(),
            });
        }
        let text = require(headers, SIGNATURE)?;
        let signature = hex_decode(text.trim()).ok_or_else(|| SignatureError::BadHeader {
            header: SIGNATURE,
            reason: "it is not hex".into(),
        })?;
        if !any_verifies(hmac::HMAC_SHA256, &self.secrets, body, &[signature]) {
            return Err(SignatureError::Mismatch { header: SIGNATURE });
        }
        Ok(Delivery {
            id: delivery_id(body),
            timestamp: None,
        })
    }
}

/// The delivery id of a verified Veriff body (see [`VeriffSignature::verify`]).
fn delivery_id(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let (at, last) = match v.get("verification").filter(|x| x.is_object()) {
        Some(ver) => (ver, "status"),
        None => (&v, "action"),
    };
    let id = text(at, "id").filter(|s| !s.is_empty())?;
    let parts: Vec<String> = [Some(id), text(at, "attemptId"), text(at, last)]
        .into_iter()
        .flatten()
        .collect();
    let joined = parts.join(":");
    (joined.len() <= 256).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::hex_encode;

    const SECRET: &str = "veriff-shared-secret";
    const KEY: &str = "veriff-api-key";
    const BODY: &[u8] =
        br#"{"status":"success","verification":{"id":"s1","attemptId":"a1","status":"approved"}}"#;

    fn sign(secret: &str, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        hex_encode(hmac::sign(&key, body).as_ref())
    }

    fn headers(client: &str, sig: &str) -> Headers {
        Headers::new([
            ("x-auth-client".to_owned(), client.to_owned()),
            ("x-hmac-signature".to_owned(), sig.to_owned()),
        ])
    }

    fn verifier() -> VeriffSignature {
        VeriffSignature {
            api_key: KEY.into(),
            secrets: vec![SharedSecret::new(SECRET).unwrap()],
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn a_signed_decision_verifies_with_an_id_of_session_attempt_and_status() {
        let d = verifier()
            .verify(&headers(KEY, &sign(SECRET, BODY)), BODY, now())
            .unwrap();
        assert_eq!(d.id.as_deref(), Some("s1:a1:approved"));
        assert_eq!(d.timestamp, None);
        // Upper-case hex is hex.
        let upper = sign(SECRET, BODY).to_uppercase();
        assert!(
            verifier()
                .verify(&headers(KEY, &upper), BODY, now())
                .is_ok()
        );
    }

    #[test]
    fn an_event_webhook_s_id_is_session_attempt_and_action() {
        let body = br#"{"id":"s1","attemptId":"a2","action":"submitted","vendorData":"acct"}"#;
        let d = verifier()
            .verify(&headers(KEY, &sign(SECRET, body)), body, now())
            .unwrap();
        assert_eq!(d.id.as_deref(), Some("s1:a2:submitted"));
    }

    #[test]
    fn either_secret_verifies_while_rotating() {
        let v = VeriffSignature {
            api_key: KEY.into(),
            secrets: vec![
                SharedSecret::new("old").unwrap(),
                SharedSecret::new(SECRET).unwrap(),
            ],
        };
        assert!(
            v.verify(&headers(KEY, &sign("old", BODY)), BODY, now())
                .is_ok()
        );
        assert!(
            v.verify(&headers(KEY, &sign(SECRET, BODY)), BODY, now())
                .is_ok()
        );
    }

    #[test]
    fn forged_tampered_and_foreign_deliveries_are_refused() {
        let v = verifier();
        assert_eq!(
            v.verify(&headers(KEY, &sign("guess", BODY)), BODY, now()),
            Err(SignatureError::Mismatch { header: SIGNATURE })
        );
        assert_eq!(
            v.verify(&headers(KEY, &sign(SECRET, BODY)), b"{}", now()),
            Err(SignatureError::Mismatch { header: SIGNATURE })
        );
        let e = v
            .verify(&headers("another-key", &sign(SECRET, BODY)), BODY, now())
            .unwrap_err();
        assert!(matches!(
            e,
            SignatureError::BadHeader { header: CLIENT, .. }
        ));
        assert!(e.to_string().contains("`X-AUTH-CLIENT`"), "{e}");
        assert_eq!(
            v.verify(&headers(KEY, "xyz"), BODY, now()),
            Err(SignatureError::BadHeader {
                header: SIGNATURE,
                reason: "it is not hex".into()
            })
        );
        assert_eq!(
            v.verify(&Headers::default(), BODY, now()),
            Err(SignatureError::MissingHeader(CLIENT))
        );
        let only_client = Headers::new([("X-AUTH-CLIENT".to_owned(), KEY.to_owned())]);
        assert_eq!(
            v.verify(&only_client, BODY, now()),
            Err(SignatureError::MissingHeader(SIGNATURE))
        );
    }
}
