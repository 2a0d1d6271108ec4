//! Standard padded base64 ([RFC 4648 §4]), strict on decode.
//!
//! The engine rejects missing padding and non-zero trailing bits, so every
//! byte string has exactly one accepted encoding: a parsed line re-encodes to
//! the same text.
//!
//! [RFC 4648 §4]: https://www.rfc-editor.org/rfc/rfc4648#section-4

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::merkle::Hash;

/// Encodes bytes as standard padded base64.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64, or `None` when it is not canonical.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Decodes one base64 SHA-256 hash (44 characters).
pub(crate) fn decode_hash(text: &str) -> Option<Hash> {
    if text.len() != 44 {
        return None;
    }
    decode(text)?.try_into().ok()
}
