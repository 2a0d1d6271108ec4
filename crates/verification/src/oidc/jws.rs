//! The compact serialization of a signed JWT: `header.payload.signature`
//! ([RFC 7515 §7.1](https://www.rfc-editor.org/rfc/rfc7515#section-7.1)),
//! its JOSE header ([RFC 7515 §4.1](https://www.rfc-editor.org/rfc/rfc7515#section-4.1))
//! and the signature algorithms accepted
//! ([RFC 7518 §3.1](https://www.rfc-editor.org/rfc/rfc7518#section-3.1),
//! [RFC 8037 §3.1](https://www.rfc-editor.org/rfc/rfc8037#section-3.1)).

use std::fmt;

use serde_json::Value;

use super::TokenError;
use super::json;

/// The longest token accepted, in bytes. An ID token with a handful of
/// `verified_claims` is a few KiB; anything larger is refused before any
/// decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// An asymmetric JWS algorithm Cordon verifies. There is deliberately no
/// `none` and no `HS*`: an issuer's key is public, and an HMAC keyed with
/// public bytes proves nothing
/// ([RFC 8725 §2.1, §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// EdDSA; Cordon verifies Ed25519 only (RFC 8037).
    EdDsa,
}

impl Algorithm {
    /// Every algorithm, in the order [`Algorithm::as_str`] lists them.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::EdDsa,
    ];

    /// The `alg` value (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm of an `alg` value, case-sensitively as JOSE spells it.
    pub fn parse(alg: &str) -> Option<Algorithm> {
        Self::ALL.into_iter().find(|a| a.as_str() == alg)
    }

    /// Whether the algorithm takes an RSA key.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            Algorithm::Rs256
                | Algorithm::Rs384
                | Algorithm::Rs512
                | Algorithm::Ps256
                | Algorithm::Ps384
                | Algorithm::Ps512
        )
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of a compact token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header.
    Header,
    /// The claims set.
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// A token split into its parts, its header read and its algorithm
/// checked; nothing of the payload is read yet.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    /// The algorithm the header names.
    pub alg: Algorithm,
    /// The key id the header names.
    pub kid: Option<String>,
    /// `header.payload`, the bytes the signature covers
    /// ([RFC 7515 §5.2](https://www.rfc-editor.org/rfc/rfc7515#section-5.2) step 8).
    pub signing_input: &'a [u8],
    /// The payload, still base64url.
    pub payload: &'a str,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// Splits a compact JWS and reads its header
/// ([RFC 7515 §5.2](https://www.rfc-editor.org/rfc/rfc7515#section-5.2)
/// steps 1–5, [RFC 7519 §7.2](https://www.rfc-editor.org/rfc/rfc7519#section-7.2)
/// steps 1–5).
///
/// # Errors
/// [`TokenError`]: the token is too long or not three parts, a part is not
/// strict base64url, the header is not a JSON object, names no usable
/// `alg`, or has a header parameter Cordon refuses (`crit`, a nested
/// `cty`, a `typ` other than `JWT`).
pub(crate) fn split(token: &str) -> Result<Compact<'_>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong { len: token.len() });
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(TokenError::Segments { found: parts.len() });
    };
    let header_bytes = json::b64url(header).map_err(|reason| TokenError::Base64 {
        part: Part::Header,
        reason,
    })?;
    let header_json = json::strict(&header_bytes).map_err(|reason| TokenError::Json {
        part: Part::Header,
        reason,
    })?;
    let Value::Object(h) = header_json else {
        return Err(TokenError::Json {
            part: Part::Header,
            reason: "it is not a JSON object".into(),
        });
    };
    let text = |name: &'static str| -> Result<Option<&str>, TokenError> {
        match h.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(TokenError::Header {
                parameter: name,
                reason: "it must be a string".into(),
            }),
        }
    };
    let alg_text = text("alg")?.ok_or(TokenError::Header {
        parameter: "alg",
        reason: "it is missing".into(),
    })?;
    let alg = algorithm(alg_text)?;
    let kid = text("kid")?.map(str::to_owned);
    if h.contains_key("crit") {
        // RFC 7515 §4.1.11: a recipient must refuse a token whose `crit`
        // names an extension it does not understand; Cordon understands
        // none (not even `b64`, RFC 7797).
        return Err(TokenError::Header {
            parameter: "crit",
            reason: "critical header extensions are not supported".into(),
        });
    }
    if let Some(typ) = text("typ")? {
        // RFC 7515 §4.1.9 (an optional `application/` prefix);
        // RFC 8725 §3.11: other types (`at+jwt`, `logout+jwt`, …) are other
        // kinds of token and must not pass for an identity assertion.
        let bare = strip_application(typ);
        if !bare.eq_ignore_ascii_case("jwt") {
            return Err(TokenError::Header {
                parameter: "typ",
                reason: format!("`{typ}` is not `JWT`"),
            });
        }
    }
    if let Some(cty) = text("cty")? {
        // RFC 7519 §5.2: `cty: JWT` announces a nested token.
        if strip_application(cty).eq_ignore_ascii_case("jwt") {
            return Err(TokenError::Header {
                parameter: "cty",
                reason: "nested tokens are not accepted".into(),
            });
        }
    }
    let signature = json::b64url(signature).map_err(|reason| TokenError::Base64 {
        part: Part::Signature,
        reason,
    })?;
    // INVARIANT: `header` and `payload` are the first two `.`-separated
    // parts of `token`, so `header.payload` is its prefix.
    let signing_len = header.len() + 1 + payload.len();
    let signing_input = token.as_bytes().get(..signing_len).unwrap_or_default();
    Ok(Compact {
        alg,
        kid,
        signing_input,
        payload,
        signature,
    })
}

/// The algorithm an `alg` value names, refusing `none` and the symmetric
/// algorithms by name.
fn algorithm(alg: &str) -> Result<Algorithm, TokenError> {
    if alg.eq_ignore_ascii_case("none") {
        return Err(TokenError::Unsigned);
    }
    if let Some(a) = Algorithm::parse(alg) {
        return Ok(a);
    }
    if alg.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) {
        return Err(TokenError::Symmetric {
            alg: alg.to_owned(),
        });
    }
    Err(TokenError::UnsupportedAlgorithm {
        alg: alg.to_owned(),
    })
}

fn strip_application(media_type: &str) -> &str {
    media_type
        .get(..12)
        .filter(|p| p.eq_ignore_ascii_case("application/"))
        .and_then(|_| media_type.get(12..))
        .unwrap_or(media_type)
}
