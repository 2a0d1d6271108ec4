//! Signed notes ([C2SP signed-note]) with Ed25519 keys.
//!
//! A signed note is a UTF-8 text ending in a newline, a blank line, and one
//! or more signature lines `— <key name> <base64(key id || signature)>`.
//! Checkpoints are signed notes; witnesses add their cosignatures as further
//! lines, which a verifier that does not know their keys ignores.
//!
//! [C2SP signed-note]: https://c2sp.org/signed-note

mod key;

pub use key::{ED25519_TYPE, KeyError, SigningKey, VerifierKey, check_key_name, key_id};

use key::hex_id;

/// The most signature lines a note may carry.
///
/// The spec asks verifiers to accept at least 16; witnesses rarely number more
/// than a handful, and a cap keeps a hostile note from costing much to parse.
pub const MAX_SIGNATURES: usize = 100;

/// The start of every signature line: em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a note was refused, could not be signed, or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not valid UTF-8.
    #[error("the note is not valid UTF-8 (first bad byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The note holds an ASCII control character other than newline.
    #[error("line {line} contains the control character U+{code:04X}; only newline is allowed")]
    ControlCharacter {
        /// 1-based line number.
        line: usize,
        /// The character's code point.
        code: u32,
    },
    /// The note does not end with a newline.
    #[error("the note does not end with a newline")]
    MissingFinalNewline,
    /// No blank line followed by signature lines ends the note.
    #[error(
        "the note has no signature block (a blank line, then `— <key name> <signature>` lines)"
    )]
    MissingSeparator,
    /// A signature line is malformed.
    #[error("line {line} is not a signature line `— <key name> <base64 signature>`: {reason}")]
    BadSignatureLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The note carries more signatures than [`MAX_SIGNATURES`].
    #[error("the note has more than {max} signature lines")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// The text to sign is not a valid note text.
    #[error("the text to sign is invalid: {reason}")]
    BadText {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No signature line is by the key asked for.
    #[error("the note has no signature by key `{name}` (key id `{key_id}`)")]
    NoSignature {
        /// The key's name.
        name: String,
        /// The key's id, as 8 hex digits.
        key_id: String,
    },
    /// A signature by the key asked for does not verify.
    #[error("the signature by key `{name}` (key id `{key_id}`) does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
        /// The key's id, as 8 hex digits.
        key_id: String,
    },
    /// The key asked for signed the note more than once.
    #[error("the note has more than one signature by key `{name}` (key id `{key_id}`)")]
    DuplicateSignature {
        /// The key's name.
        name: String,
        /// The key's id, as 8 hex digits.
        key_id: String,
    },
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signer's key name.
    pub name: String,
    /// The signer's key id.
    pub key_id: [u8; 4],
    /// The signature bytes after the key id (64 for Ed25519; other types differ).
    pub signature: Vec<u8>,
}

/// A parsed, not yet verified, signed note.
///
/// Its text must be ignored until [`Note::verify`] succeeds with a trusted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<Signature>,
}

/// Finds the first control character other than newline, with its 1-based line.
fn find_control(text: &str) -> Option<(usize, u32)> {
    let mut line = 1;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        } else if u32::from(c) < 0x20 {
            return Some((line, u32::from(c)));
        }
    }
    None
}

/// Parses one signature line (without its newline).
fn parse_signature_line(text: &str, line: usize) -> Result<Signature, NoteError> {
    let bad = |reason| NoteError::BadSignatureLine { line, reason };
    let rest = text
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or_else(|| bad("it does not start with an em dash (U+2014) and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or_else(|| bad("the key name and signature must be separated by a space"))?;
    check_key_name(name).map_err(|_| bad("the key name is empty or contains a space or `+`"))?;
    let bytes =
        crate::b64::decode(b64).ok_or_else(|| bad("the signature is not valid padded base64"))?;
    let [a, b, c, d, sig @ ..] = bytes.as_slice() else {
        return Err(bad("the signature is shorter than its 4-byte key id"));
    };
    if sig.is_empty() {
        return Err(bad("the signature has a key id but no signature bytes"));
    }
    Ok(Signature {
        name: name.to_owned(),
        key_id: [*a, *b, *c, *d],
        signature: sig.to_vec(),
    })
}

impl Note {
    /// Parses a signed note ([C2SP signed-note, Format]) without verifying it.
    ///
    /// The text ends at the last blank line; every line after it must be a
    /// signature line.
    ///
    /// # Errors
    /// When the note is malformed or has more than [`MAX_SIGNATURES`] signatures.
    ///
    /// [C2SP signed-note, Format]: https://c2sp.org/signed-note#format
    pub fn parse(note: &str) -> Result<Note, NoteError> {
        if let Some((line, code)) = find_control(note) {
            return Err(NoteError::ControlCharacter { line, code });
        }
        if !note.ends_with('\n') {
            return Err(NoteError::MissingFinalNewline);
        }
        let split = note.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let (text, block) = (note.get(..=split), note.get(split + 2..));
        let (Some(text), Some(block)) = (text, block) else {
            return Err(NoteError::MissingSeparator);
        };
        // The signature block starts on the line after the blank one.
        let first_line = text.matches('\n').count() + 2;
        let mut signatures = Vec::new();
        for (n, line) in block.split_terminator('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            signatures.push(parse_signature_line(line, first_line + n)?);
        }
        if signatures.is_empty() {
            return Err(NoteError::MissingSeparator);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses a signed note from bytes, refusing anything that is not UTF-8.
    ///
    /// # Errors
    /// [`NoteError::NotUtf8`], or any error of [`Note::parse`].
    pub fn from_bytes(note: &[u8]) -> Result<Note, NoteError> {
        let text = std::str::from_utf8(note).map_err(|e| NoteError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        Note::parse(text)
    }

    /// The signed text, including its final newline. Untrusted until verified.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every signature line, in order, whoever made it.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Checks the note's signature by `key` ([C2SP signed-note, Signatures]).
    ///
    /// Signatures by other keys (witness cosignatures, a rotated key) are
    /// ignored, even one sharing only the name or only the id.
    ///
    /// # Errors
    /// [`NoteError::NoSignature`] when `key` did not sign,
    /// [`NoteError::BadSignature`] when its signature fails,
    /// [`NoteError::DuplicateSignature`] when it signed twice.
    ///
    /// [C2SP signed-note, Signatures]: https://c2sp.org/signed-note#signatures
    pub fn verify(&self, key: &VerifierKey) -> Result<(), NoteError> {
        let name = || key.name().to_owned();
        let key_id = || hex_id(key.key_id());
        let mut by_key = self
            .signatures
            .iter()
            .filter(|s| s.name == key.name() && s.key_id == key.key_id());
        let Some(signature) = by_key.next() else {
            return Err(NoteError::NoSignature {
                name: name(),
                key_id: key_id(),
            });
        };
        if by_key.next().is_some() {
            return Err(NoteError::DuplicateSignature {
                name: name(),
                key_id: key_id(),
            });
        }
        if key.verify_bytes(self.text.as_bytes(), &signature.signature) {
            Ok(())
        } else {
            Err(NoteError::BadSignature {
                name: name(),
                key_id: key_id(),
            })
        }
    }
}

/// Checks that `text` can be the text of a signed note.
fn check_text(text: &str) -> Result<(), NoteError> {
    let reason = if text.is_empty() {
        "it is empty"
    } else if !text.ends_with('\n') {
        "it does not end with a newline"
    } else if find_control(text).is_some() {
        "it contains a control character other than newline"
    } else {
        return Ok(());
    };
    Err(NoteError::BadText { reason })
}

/// Signs `text` with `key`: the signed note `text || "\n" || "— <name> <base64(key id || signature)>\n"`
/// ([C2SP signed-note, Format]).
///
/// # Errors
/// [`NoteError::BadText`] when `text` is empty, does not end with a newline,
/// or contains a control character other than newline.
///
/// [C2SP signed-note, Format]: https://c2sp.org/signed-note#format
pub fn sign(text: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_text(text)?;
    let signature = key.sign_bytes(text.as_bytes());
    let mut blob = Vec::with_capacity(4 + signature.len());
    blob.extend_from_slice(&key.key_id());
    blob.extend_from_slice(&signature);
    Ok(format!(
        "{text}\n{SIGNATURE_PREFIX}{} {}\n",
        key.name(),
        crate::b64::encode(&blob)
    ))
}

#[cfg(test)]
mod tests;
