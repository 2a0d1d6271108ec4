//! Ed25519 signer and verifier keys in the text encodings of the Go
//! `sumdb/note` package, which [C2SP signed-note] builds on.
//!
//! A verifier key is `<name>+<8 hex key id>+<base64(0x01 || public key)>`; a
//! signing key is the same with the `PRIVATE+KEY+` prefix and the 32-byte
//! seed in place of the public key.
//!
//! [C2SP signed-note]: https://c2sp.org/signed-note

use std::fmt;

use ed25519_dalek::Signer as _;
use sha2::{Digest, Sha256};

/// The signature type byte of Ed25519 ([C2SP signed-note, Signature types]).
///
/// [C2SP signed-note, Signature types]: https://c2sp.org/signed-note#signature-types
pub const ED25519_TYPE: u8 = 0x01;

/// The prefix of the private-key text encoding.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Why a key name or key text was refused, or a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key name breaks the signed-note rules.
    #[error("key name `{name}` is invalid: {reason}")]
    BadName {
        /// The offending name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The key text does not have the `<name>+<key id>+<base64 key>` shape.
    #[error("key text is malformed: {0}")]
    Malformed(&'static str),
    /// The key id in the text is not the one the name and key give.
    #[error("key id `{found}` does not match the key, which has id `{expected}`")]
    IdMismatch {
        /// The id written in the text.
        found: String,
        /// The id computed from name and key.
        expected: String,
    },
    /// The key is of a signature type other than Ed25519.
    #[error("signature type 0x{0:02x} is not supported; only Ed25519 (0x01) is")]
    UnsupportedType(u8),
    /// The public key is not usable for verification.
    #[error("the public key is not a valid Ed25519 key (not on the curve, or of small order)")]
    WeakKey,
    /// The operating system's random source failed.
    #[error("the system random generator failed: {0}")]
    Random(String),
}

/// Checks a key name against [C2SP signed-note, Format]: non-empty, no
/// Unicode space, no `+`; control characters are refused too since a note may
/// not contain them.
///
/// # Errors
/// [`KeyError::BadName`] naming the rule broken.
///
/// [C2SP signed-note, Format]: https://c2sp.org/signed-note#format
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains('+') {
        "it contains `+`"
    } else if name.chars().any(char::is_whitespace) {
        "it contains a space or line break"
    } else if name.chars().any(char::is_control) {
        "it contains a control character"
    } else {
        return Ok(());
    };
    Err(KeyError::BadName {
        name: name.to_owned(),
        reason,
    })
}

/// The key id: the first four bytes of
/// `SHA-256(name || 0x0A || 0x01 || public key)` ([C2SP signed-note, Ed25519 signatures]).
///
/// [C2SP signed-note, Ed25519 signatures]: https://c2sp.org/signed-note#ed25519-signatures
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    let [a, b, c, d, ..] = digest;
    [a, b, c, d]
}

/// Formats a key id as the 8 hex digits used in key texts and messages.
pub(crate) fn hex_id(id: [u8; 4]) -> String {
    format!("{:08x}", u32::from_be_bytes(id))
}

/// Parses exactly eight lowercase hex digits, the form every encoder writes.
fn parse_hex_id(text: &str) -> Option<[u8; 4]> {
    let ok = text.len() == 8
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !ok {
        return None;
    }
    u32::from_str_radix(text, 16).ok().map(u32::to_be_bytes)
}

/// Splits `<name>+<hex id>+<base64>`, checks name and id syntax and decodes
/// `type byte || 32-byte key`.
fn split_key_text(text: &str) -> Result<(&str, [u8; 4], [u8; 32]), KeyError> {
    // The base64 part may itself contain `+`, so split only twice.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KeyError::Malformed(
            "expected `<name>+<8 hex digit key id>+<base64 key>`",
        ));
    };
    check_key_name(name)?;
    let id = parse_hex_id(id).ok_or(KeyError::Malformed(
        "the key id must be 8 lowercase hex digits",
    ))?;
    let bytes = crate::b64::decode(material).ok_or(KeyError::Malformed(
        "the key material is not valid padded base64",
    ))?;
    let Some((&kind, key)) = bytes.split_first() else {
        return Err(KeyError::Malformed("the key material is empty"));
    };
    if kind != ED25519_TYPE {
        return Err(KeyError::UnsupportedType(kind));
    }
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| KeyError::Malformed("an Ed25519 key is one type byte and 32 key bytes"))?;
    Ok((name, id, key))
}

/// A log's Ed25519 signing key with its signed-note name.
///
/// The seed is secret: [`fmt::Debug`] never prints it and only
/// [`SigningKey::to_text`] reveals it.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// Makes a new key from 32 bytes of operating-system randomness.
    ///
    /// # Errors
    /// [`KeyError::BadName`] for an invalid name, [`KeyError::Random`] when
    /// the random source fails.
    pub fn generate(name: &str) -> Result<SigningKey, KeyError> {
        check_key_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = SigningKey::from_seed(name, seed);
        // Best effort: do not leave a copy of the seed on the stack.
        std::hint::black_box(&mut seed).fill(0);
        key
    }

    /// A key from a fixed seed (deterministic; for tests and key import).
    ///
    /// # Errors
    /// [`KeyError::BadName`] for an invalid name.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<SigningKey, KeyError> {
        check_key_name(name)?;
        Ok(SigningKey {
            name: name.to_owned(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>`.
    ///
    /// # Errors
    /// When the text is malformed, the type is not Ed25519, or the key id
    /// does not match the key. Messages never contain the seed.
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        let rest = text
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(KeyError::Malformed(
                "a private key starts with `PRIVATE+KEY+`",
            ))?;
        let (name, id, seed) = split_key_text(rest)?;
        let key = SigningKey::from_seed(name, seed)?;
        let expected = key.key_id();
        if id != expected {
            return Err(KeyError::IdMismatch {
                found: hex_id(id),
                expected: hex_id(expected),
            });
        }
        Ok(key)
    }

    /// The secret text encoding, `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`.
    ///
    /// Whoever holds this text can sign checkpoints for the log.
    pub fn to_text(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(ED25519_TYPE);
        material.extend_from_slice(self.key.as_bytes());
        let text = format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            hex_id(self.key_id()),
            crate::b64::encode(&material)
        );
        std::hint::black_box(&mut material).fill(0);
        text
    }

    /// The matching verifier key, to publish.
    pub fn verifier(&self) -> VerifierKey {
        let public = self.key.verifying_key();
        VerifierKey {
            id: key_id(&self.name, public.as_bytes()),
            name: self.name.clone(),
            key: public,
        }
    }

    /// The key name (for a log, its origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, see [`key_id`].
    pub fn key_id(&self) -> [u8; 4] {
        key_id(&self.name, self.key.verifying_key().as_bytes())
    }

    /// Signs `message` with Ed25519 ([RFC 8032]).
    ///
    /// [RFC 8032]: https://www.rfc-editor.org/rfc/rfc8032
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("key_id", &hex_id(self.key_id()))
            .finish_non_exhaustive()
    }
}

/// A log's public Ed25519 key with its signed-note name: what an auditor
/// needs to check checkpoints and proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    key: ed25519_dalek::VerifyingKey,
}

impl VerifierKey {
    /// Parses `<name>+<8 hex key id>+<base64(0x01 || public key)>`.
    ///
    /// # Errors
    /// When the text is malformed, the type is not Ed25519, the key is weak
    /// (small order) or the key id does not match.
    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let (name, id, public) = split_key_text(text)?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&public).map_err(|_| KeyError::WeakKey)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        let expected = key_id(name, &public);
        if id != expected {
            return Err(KeyError::IdMismatch {
                found: hex_id(id),
                expected: hex_id(expected),
            });
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The text encoding, `<name>+<key id>+<base64(0x01 || public key)>`.
    pub fn to_text(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(ED25519_TYPE);
        material.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex_id(self.id),
            crate::b64::encode(&material)
        )
    }

    /// The key name (for a log, its origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id, see [`key_id`].
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// Checks an Ed25519 signature strictly (canonical encodings, no
    /// small-order points), as [RFC 8032 §5.1.7] allows.
    ///
    /// [RFC 8032 §5.1.7]: https://www.rfc-editor.org/rfc/rfc8032#section-5.1.7
    pub(crate) fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        self.key.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
