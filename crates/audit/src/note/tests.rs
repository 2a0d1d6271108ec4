use super::*;

/// The example key of the Go `golang.org/x/mod/sumdb/note` package documentation.
const GO_SIGNER: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n\
                       \n\
                       \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn test_key() -> SigningKey {
    SigningKey::from_seed("audit.example.com/log", [7; 32]).unwrap()
}

#[test]
fn go_signing_key_signs_the_published_note_byte_for_byte() {
    let key = SigningKey::parse(GO_SIGNER).unwrap();
    assert_eq!(key.name(), "PeterNeumann");
    assert_eq!(key.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(key.to_text(), GO_SIGNER);
    assert_eq!(key.verifier().to_text(), GO_VERIFIER);
    assert_eq!(sign(GO_TEXT, &key).unwrap(), GO_NOTE);
}

#[test]
fn go_note_verifies_with_the_published_verifier_key() {
    let key = VerifierKey::parse(GO_VERIFIER).unwrap();
    assert_eq!(key.to_text(), GO_VERIFIER);
    let note = Note::parse(GO_NOTE).unwrap();
    assert_eq!(note.text(), GO_TEXT);
    note.verify(&key).unwrap();
}

#[test]
fn a_changed_text_fails_verification() {
    let key = VerifierKey::parse(GO_VERIFIER).unwrap();
    let note = Note::parse(&GO_NOTE.replace("cryptography", "cryptographY")).unwrap();
    assert!(matches!(
        note.verify(&key),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn generated_keys_differ_and_round_trip_through_text() {
    let a = SigningKey::generate("log.example").unwrap();
    let b = SigningKey::generate("log.example").unwrap();
    assert_ne!(a.verifier(), b.verifier());
    let again = SigningKey::parse(&a.to_text()).unwrap();
    assert_eq!(again.verifier(), a.verifier());
    assert_eq!(
        VerifierKey::parse(&a.verifier().to_text()).unwrap(),
        a.verifier()
    );
}

#[test]
fn debug_never_prints_the_seed() {
    let key = test_key();
    let debug = format!("{key:?}");
    let text = key.to_text();
    let secret = text.rsplit('+').next().unwrap();
    assert!(!debug.contains(secret), "{debug}");
    assert!(!debug.contains("[7, 7"), "{debug}");
    assert!(debug.contains("audit.example.com/log"), "{debug}");
}

#[test]
fn key_names_follow_the_spec() {
    for bad in [
        "",
        "a+b",
        "a b",
        "a\nb",
        "a\u{a0}b",
        "a\u{2003}b",
        "a\tb",
        "a\u{1}b",
    ] {
        assert!(
            matches!(check_key_name(bad), Err(KeyError::BadName { .. })),
            "{bad:?} was accepted"
        );
        assert!(SigningKey::from_seed(bad, [1; 32]).is_err());
    }
    check_key_name("example.com/log-1").unwrap();
    check_key_name("\u{e9}t\u{e9}").unwrap();
}

#[test]
fn verifier_key_text_is_checked() {
    let good = test_key().verifier().to_text();
    let (name, rest) = good.split_once('+').unwrap();
    let (id, material) = rest.split_once('+').unwrap();
    // A wrong key id.
    let flipped = format!(
        "{name}+{}+{material}",
        if id.starts_with('0') { "1" } else { "0" }.to_owned() + &id[1..]
    );
    assert!(matches!(
        VerifierKey::parse(&flipped),
        Err(KeyError::IdMismatch { .. })
    ));
    // Upper-case id digits, wrong lengths, missing parts.
    assert!(
        VerifierKey::parse(&format!("{name}+{}+{material}", id.to_uppercase())).is_err()
            || !id.chars().any(|c| c.is_ascii_alphabetic())
    );
    assert!(VerifierKey::parse(&format!("{name}+{}+{material}", &id[1..])).is_err());
    assert!(VerifierKey::parse(&format!("{name}+{id}")).is_err());
    assert!(VerifierKey::parse(&format!("{name}+{id}+")).is_err());
    assert!(VerifierKey::parse(&format!("{name}+{id}+{material}=")).is_err());
    // Another signature type byte.
    let mut bytes = crate::b64::decode(material).unwrap();
    bytes[0] = 0x04;
    let other = format!("{name}+{id}+{}", crate::b64::encode(&bytes));
    assert_eq!(
        VerifierKey::parse(&other),
        Err(KeyError::UnsupportedType(4))
    );
    // A private key is not a verifier key, and vice versa.
    assert!(VerifierKey::parse(GO_SIGNER).is_err());
    assert!(SigningKey::parse(GO_VERIFIER).is_err());
}

#[test]
fn small_order_public_keys_are_refused() {
    // The identity point encodes as 1 followed by zeros.
    let mut point = [0u8; 32];
    point[0] = 1;
    let id = key_id("weak", &point);
    let mut material = vec![ED25519_TYPE];
    material.extend_from_slice(&point);
    let text = format!("weak+{}+{}", key::hex_id(id), crate::b64::encode(&material));
    assert_eq!(VerifierKey::parse(&text), Err(KeyError::WeakKey));
}

#[test]
fn private_key_with_wrong_id_is_refused() {
    let text = GO_SIGNER.replace("c74f20a3", "c74f20a4");
    assert!(matches!(
        SigningKey::parse(&text),
        Err(KeyError::IdMismatch { .. })
    ));
}

#[test]
fn sign_refuses_invalid_texts() {
    let key = test_key();
    for bad in ["", "no newline", "tab\there\n", "cr\r\n"] {
        assert!(
            matches!(sign(bad, &key), Err(NoteError::BadText { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn text_may_contain_blank_lines_and_ends_at_the_last() {
    let key = test_key();
    let text = "one\n\ntwo\n";
    let signed = sign(text, &key).unwrap();
    let note = Note::parse(&signed).unwrap();
    assert_eq!(note.text(), text);
    note.verify(&key.verifier()).unwrap();
}

#[test]
fn unknown_signatures_are_ignored() {
    let key = test_key();
    let witness = SigningKey::from_seed("witness.example", [9; 32]).unwrap();
    let signed = sign("hello\n", &key).unwrap();
    let cosigned = sign("hello\n", &witness).unwrap();
    let witness_line = cosigned.lines().last().unwrap();
    let both = format!("{signed}{witness_line}\n");
    let note = Note::parse(&both).unwrap();
    assert_eq!(note.signatures().len(), 2);
    note.verify(&key.verifier()).unwrap();
    note.verify(&witness.verifier()).unwrap();
    // A key that signed nothing.
    let stranger = SigningKey::from_seed("stranger.example", [3; 32]).unwrap();
    assert!(matches!(
        note.verify(&stranger.verifier()),
        Err(NoteError::NoSignature { .. })
    ));
}

#[test]
fn same_name_different_key_is_not_a_signature() {
    let key = test_key();
    let impostor = SigningKey::from_seed(key.name(), [8; 32]).unwrap();
    let note = Note::parse(&sign("hello\n", &impostor).unwrap()).unwrap();
    assert!(matches!(
        note.verify(&key.verifier()),
        Err(NoteError::NoSignature { .. })
    ));
}

#[test]
fn duplicate_signatures_by_the_key_are_refused() {
    let key = test_key();
    let signed = sign("hello\n", &key).unwrap();
    let line = signed.lines().last().unwrap();
    let note = Note::parse(&format!("{signed}{line}\n")).unwrap();
    assert!(matches!(
        note.verify(&key.verifier()),
        Err(NoteError::DuplicateSignature { .. })
    ));
}

/// Recognises the error a case expects.
type Expect = fn(&NoteError) -> bool;

#[test]
fn malformed_notes_are_refused_with_the_reason() {
    let key = test_key();
    let signed = sign("hello\n", &key).unwrap();
    let line = signed.lines().last().unwrap().to_owned();
    let cases: Vec<(String, Expect)> = vec![
        (signed.trim_end().to_owned(), |e| {
            *e == NoteError::MissingFinalNewline
        }),
        ("hello\n".to_owned(), |e| *e == NoteError::MissingSeparator),
        ("hello\n\n".to_owned(), |e| {
            *e == NoteError::MissingSeparator
        }),
        (format!("\n{line}\n"), |e| *e == NoteError::MissingSeparator),
        (signed.replace('\u{2014}', "-"), |e| {
            matches!(e, NoteError::BadSignatureLine { line: 3, .. })
        }),
        (format!("{signed}garbage\n"), |e| {
            matches!(e, NoteError::BadSignatureLine { line: 4, .. })
        }),
        (signed.replace("log ", "log  "), |e| {
            matches!(e, NoteError::BadSignatureLine { .. })
        }),
        ("hello\n\n\u{2014} name AAAA\n".to_owned(), |e| {
            matches!(e, NoteError::BadSignatureLine { .. })
        }),
        ("hello\n\n\u{2014} name AAAAAA==\n".to_owned(), |e| {
            matches!(e, NoteError::BadSignatureLine { .. })
        }),
        (format!("hel\rlo\n\n{line}\n"), |e| {
            matches!(
                e,
                NoteError::ControlCharacter {
                    line: 1,
                    code: 0x0d
                }
            )
        }),
        (
            format!("{signed}{}", format!("{line}\n").repeat(MAX_SIGNATURES)),
            |e| matches!(e, NoteError::TooManySignatures { .. }),
        ),
    ];
    for (text, expected) in cases {
        let err = Note::parse(&text).unwrap_err();
        assert!(expected(&err), "{text:?} gave {err:?}");
    }
    // Exactly the limit is accepted.
    let many = format!("{signed}{}", format!("{line}\n").repeat(MAX_SIGNATURES - 1));
    assert_eq!(
        Note::parse(&many).unwrap().signatures().len(),
        MAX_SIGNATURES
    );
}

#[test]
fn non_utf8_notes_are_refused() {
    let mut bytes = GO_NOTE.as_bytes().to_vec();
    bytes[3] = 0xff;
    assert_eq!(
        Note::from_bytes(&bytes),
        Err(NoteError::NotUtf8 { offset: 3 })
    );
    Note::from_bytes(GO_NOTE.as_bytes()).unwrap();
}
