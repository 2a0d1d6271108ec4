#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use cordon_audit::SigningKey;

use super::{Bundle, BundleError, BundleFile, SignedBundle};

fn file(name: &str, text: &str) -> BundleFile {
    BundleFile {
        name: name.into(),
        text: text.into(),
    }
}

fn bundle() -> Bundle {
    Bundle::new(
        "sha256:policy",
        vec![
            file("b.toml", "id = \"b\"\n"),
            file("a.toml", "id = \"a\"\n"),
        ],
        file("catalog.toml", "[[model]]\n"),
    )
}

fn key(name: &str, seed: u8) -> SigningKey {
    SigningKey::from_seed(name, [seed; 32]).unwrap()
}

#[test]
fn the_same_set_in_any_order_has_one_id() {
    let a = bundle().sign(&key("publisher", 1)).unwrap();
    let reordered = Bundle::new(
        "sha256:policy",
        vec![
            file("a.toml", "id = \"a\"\n"),
            file("b.toml", "id = \"b\"\n"),
        ],
        file("catalog.toml", "[[model]]\n"),
    );
    assert_eq!(reordered.sign(&key("publisher", 1)).unwrap().id, a.id);
    assert!(a.id.starts_with("sha256:") && a.id.len() == 71, "{}", a.id);
    let changed = Bundle::new(
        "sha256:policy",
        vec![file("a.toml", "id = \"a2\"\n")],
        file("catalog.toml", "[[model]]\n"),
    );
    assert_ne!(changed.sign(&key("publisher", 1)).unwrap().id, a.id);
}

#[test]
fn a_bundle_opens_under_a_trusted_key_only() {
    let publisher = key("publisher", 1);
    let signed = bundle().sign(&publisher).unwrap();
    assert_eq!(signed.open(&[publisher.verifier()]).unwrap(), bundle());
    let other = key("publisher", 2).verifier();
    match signed.open(&[other]) {
        Err(BundleError::Untrusted { signers, .. }) => assert_eq!(signers, "`publisher`"),
        r => panic!("{r:?}"),
    }
    assert!(matches!(
        signed.open(&[]),
        Err(BundleError::Untrusted { .. })
    ));
}

#[test]
fn altered_content_or_a_borrowed_signature_is_refused() {
    let publisher = key("publisher", 1);
    let signed = bundle().sign(&publisher).unwrap();
    let trusted = [publisher.verifier()];

    let mut altered = signed.clone();
    altered.content = altered
        .content
        .iter()
        .map(|&b| if b == b'a' { b'c' } else { b })
        .collect();
    assert!(matches!(
        altered.open(&trusted),
        Err(BundleError::Altered { .. })
    ));

    // Another bundle's signature, stored with this one's content and id.
    let other = Bundle::new("sha256:other", vec![], file("catalog.toml", ""))
        .sign(&publisher)
        .unwrap();
    let borrowed = SignedBundle {
        signature: other.signature,
        ..signed.clone()
    };
    assert!(matches!(
        borrowed.open(&trusted),
        Err(BundleError::Signature(_))
    ));

    let garbage = SignedBundle {
        signature: "not a note".into(),
        ..signed
    };
    assert!(matches!(
        garbage.open(&trusted),
        Err(BundleError::Signature(_))
    ));
}

#[test]
fn content_that_is_not_a_bundle_is_malformed() {
    let publisher = key("publisher", 1);
    for content in [&b"{}"[..], b"[1,2]", b"{\"format\":2}", b"\xff"] {
        let id = super::content_id(content);
        let signature = cordon_audit::note::sign(&super::note_text(&id, "v"), &publisher).unwrap();
        let stored = SignedBundle {
            id,
            content: content.to_vec(),
            signature,
        };
        assert!(
            matches!(
                stored.open(&[publisher.verifier()]),
                Err(BundleError::Malformed(_))
            ),
            "{content:?}"
        );
    }
}
