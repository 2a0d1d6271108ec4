//! Arbitrary UTF-8 text as a signed checkpoint, a checkpoint body and a
//! verifier key.
//!
//! Checks: `Note::parse`, `Checkpoint::parse_body` and `VerifierKey::parse`
//! never panic; whatever parses prints back to the same text (a note's text
//! is a prefix of the input, a body re-encodes byte for byte, a key's text is
//! the input); `Checkpoint::open` with a fixed key never panics.
#![no_main]

use cordon_audit::{Checkpoint, Note, SigningKey, VerifierKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::from_bytes(data) {
        assert!(data.starts_with(note.text().as_bytes()));
        assert!(!note.signatures().is_empty());
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Checkpoint::parse_body(text) {
        assert_eq!(c.body(), text, "a parsed body does not print back");
    }
    if let Ok(key) = VerifierKey::parse(text) {
        assert_eq!(key.to_text(), text, "a parsed key does not print back");
    }
    let _ = SigningKey::parse(text).map(|k| k.verifier());
    if let Ok(key) = SigningKey::from_seed("audit.example.com/cordon", [0x42; 32]) {
        if let Err(e) = Checkpoint::open(text, &key.verifier()) {
            let _ = e.to_string();
        }
    }
});
