//! Byte compatibility with published signed-note vectors.

use cordon_audit::note::{self, Note, SigningKey, VerifierKey};
use cordon_audit::{Checkpoint, CheckpointError};

/// The example of the Go `golang.org/x/mod/sumdb/note` package documentation:
/// its signer and verifier keys and the note it signs.
const GO_SIGNER: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
     then you don't know what your problem is.\n\
     \n\
     \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

/// Another verifier key from the same package's tests; it signed nothing here.
const GO_OTHER_VERIFIER: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";

#[test]
fn go_example_is_reproduced_byte_for_byte() {
    let signer = SigningKey::parse(GO_SIGNER).unwrap();
    assert_eq!(signer.verifier().to_text(), GO_VERIFIER);
    assert_eq!(note::sign(GO_TEXT, &signer).unwrap(), GO_NOTE);
}

#[test]
fn go_example_verifies_and_foreign_keys_are_not_signers() {
    let note = Note::parse(GO_NOTE).unwrap();
    note.verify(&VerifierKey::parse(GO_VERIFIER).unwrap())
        .unwrap();
    let other = VerifierKey::parse(GO_OTHER_VERIFIER).unwrap();
    assert_eq!(other.name(), "EnochRoot");
    assert!(note.verify(&other).is_err());
}

#[test]
fn go_example_is_not_a_checkpoint() {
    let key = VerifierKey::parse(GO_VERIFIER).unwrap();
    // The signature is good, but the text has no tree size line.
    assert!(matches!(
        Checkpoint::open(GO_NOTE, &key),
        Err(CheckpointError::BadSize { .. })
    ));
}

#[test]
fn spec_checkpoint_body_is_accepted() {
    // The example body of c2sp.org/tlog-checkpoint.
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let c = Checkpoint::parse_body(body).unwrap();
    assert_eq!(
        (c.origin.as_str(), c.size),
        ("example.com/behind-the-sofa", 20_852_163)
    );
    assert_eq!(c.body(), body);
}
