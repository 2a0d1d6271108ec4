use super::*;
use crate::merkle::{MemoryTree, consistency_proof, inclusion_proof, leaf_hash};
use crate::note::SigningKey;

fn key() -> SigningKey {
    SigningKey::from_seed("audit.example.com/log", [7; 32]).unwrap()
}

fn leaf(i: u64) -> Vec<u8> {
    format!("leaf {i}").into_bytes()
}

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(leaf_hash(&leaf(i)));
    }
    t
}

fn signed(t: &MemoryTree) -> String {
    Checkpoint::new(key().name(), t.size(), t.root())
        .sign(&key())
        .unwrap()
}

fn receipt(t: &MemoryTree, index: u64) -> InclusionBundle {
    InclusionBundle {
        extra: Some(leaf(index)),
        index,
        proof: inclusion_proof(t, index, t.size()).unwrap(),
        checkpoint: signed(t),
    }
}

#[test]
fn receipt_round_trips_and_checks() {
    let t = tree(13);
    for index in 0..13 {
        let bundle = receipt(&t, index);
        let text = bundle.encode();
        let parsed = InclusionBundle::parse(&text).unwrap();
        assert_eq!(parsed, bundle);
        assert_eq!(parsed.encode(), text);
        let checked = parsed.check(&key().verifier()).unwrap();
        assert_eq!(checked.leaf, leaf(index));
        assert_eq!(checked.checkpoint.size, 13);
    }
}

#[test]
fn receipt_layout_follows_tlog_proof() {
    let text = receipt(&tree(3), 2).encode();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "c2sp.org/tlog-proof@v1");
    assert_eq!(lines[1], "extra bGVhZiAy");
    assert_eq!(lines[2], "index 2");
    assert_eq!(lines[3].len(), 44);
    assert_eq!(lines[4], "");
    assert_eq!(lines[5], "audit.example.com/log");
}

#[test]
fn a_receipt_for_another_leaf_fails() {
    let t = tree(8);
    let mut bundle = receipt(&t, 3);
    bundle.extra = Some(leaf(4));
    assert!(matches!(
        bundle.check(&key().verifier()),
        Err(BundleError::Proof(ProofError::RootMismatch))
    ));
    bundle.extra = None;
    assert!(matches!(
        bundle.check(&key().verifier()),
        Err(BundleError::MissingLeaf)
    ));
    let mut moved = receipt(&t, 3);
    moved.index = 2;
    assert!(moved.check(&key().verifier()).is_err());
}

#[test]
fn a_receipt_under_another_key_fails() {
    let bundle = receipt(&tree(5), 1);
    let other = SigningKey::from_seed("audit.example.com/log", [1; 32]).unwrap();
    assert!(matches!(
        bundle.check(&other.verifier()),
        Err(BundleError::Checkpoint {
            source: CheckpointError::WrongKey { .. },
            ..
        })
    ));
}

#[test]
fn receipt_without_extra_or_proof_parses() {
    let t = tree(1);
    let bundle = InclusionBundle {
        extra: None,
        index: 0,
        proof: Vec::new(),
        checkpoint: signed(&t),
    };
    let text = bundle.encode();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n\naudit.example.com/log\n1\n"));
    assert_eq!(InclusionBundle::parse(&text).unwrap(), bundle);
    let empty_extra = InclusionBundle {
        extra: Some(Vec::new()),
        ..bundle
    };
    assert_eq!(
        InclusionBundle::parse(&empty_extra.encode()).unwrap(),
        empty_extra
    );
}

/// Recognises the error a case expects.
type Expect = fn(&BundleError) -> bool;

#[test]
fn malformed_receipts_name_the_problem() {
    let good = receipt(&tree(6), 4).encode();
    let checkpoint = signed(&tree(6));
    let hash = crate::b64::encode(&[1; 32]);
    let cases: Vec<(String, Expect)> = vec![
        (String::new(), |e| {
            matches!(e, BundleError::BadHeader { .. })
        }),
        (good.replacen("@v1", "@v2", 1), |e| {
            matches!(e, BundleError::BadHeader { .. })
        }),
        (good.replacen("extra bGVhZiA0", "extra bGVhZiA0=", 1), |e| {
            matches!(e, BundleError::BadExtra { line: 2 })
        }),
        (good.replacen("index 4", "index 04", 1), |e| {
            matches!(e, BundleError::BadIndex { line: 3 })
        }),
        (good.replacen("index 4", "index -4", 1), |e| {
            matches!(e, BundleError::BadIndex { line: 3 })
        }),
        (good.replacen("index 4", "index  4", 1), |e| {
            matches!(e, BundleError::BadIndex { line: 3 })
        }),
        (good.replacen("index 4\n", "", 1), |e| {
            matches!(e, BundleError::BadIndex { line: 3 })
        }),
        (
            format!("{INCLUSION_HEADER}\nindex 1\nAAAA\n\n{checkpoint}"),
            |e| matches!(e, BundleError::BadHash { line: 3 }),
        ),
        (format!("{INCLUSION_HEADER}\nindex 1\n{hash}\n\n"), |e| {
            matches!(e, BundleError::Truncated("checkpoint"))
        }),
        (format!("{INCLUSION_HEADER}\nindex 1\n{hash}\n"), |e| {
            matches!(e, BundleError::Truncated("blank line after the proof"))
        }),
        (format!("{INCLUSION_HEADER}\nindex 1\n{hash}"), |e| {
            matches!(e, BundleError::Truncated(_))
        }),
        (
            format!(
                "{INCLUSION_HEADER}\nindex 1\n{}\n{checkpoint}",
                format!("{hash}\n").repeat(65)
            ),
            |e| matches!(e, BundleError::TooManyHashes { max: 64 }),
        ),
        (
            format!("{INCLUSION_HEADER}\nindex 1\n\nnot a note\n"),
            |e| matches!(e, BundleError::Checkpoint { .. }),
        ),
        (
            format!(
                "{INCLUSION_HEADER}\nindex 1\n\n{}",
                crate::note::sign("hello\n", &key()).unwrap()
            ),
            |e| {
                matches!(
                    e,
                    BundleError::Checkpoint {
                        source: CheckpointError::MissingLine(_),
                        ..
                    }
                )
            },
        ),
    ];
    for (text, expected) in cases {
        let err = InclusionBundle::parse(&text).unwrap_err();
        assert!(expected(&err), "{text:?} gave {err:?}");
        assert!(!err.to_string().is_empty());
    }
}

fn consistency(t_old: &MemoryTree, t_new: &MemoryTree) -> ConsistencyBundle {
    ConsistencyBundle {
        old: signed(t_old),
        new: signed(t_new),
        proof: consistency_proof(t_new, t_old.size(), t_new.size()).unwrap(),
    }
}

#[test]
fn consistency_bundle_round_trips_and_checks() {
    let t_new = tree(21);
    for old in [0, 1, 7, 8, 20, 21] {
        let bundle = consistency(&tree(old), &t_new);
        let text = bundle.encode();
        let parsed = ConsistencyBundle::parse(&text).unwrap();
        assert_eq!(parsed, bundle, "{text}");
        assert_eq!(parsed.encode(), text);
        let checked = parsed.check(&key().verifier()).unwrap();
        assert_eq!((checked.old.size, checked.new.size), (old, 21));
    }
}

#[test]
fn consistency_bundle_with_cosigned_checkpoints_parses() {
    let witness = SigningKey::from_seed("witness.example", [2; 32]).unwrap();
    let cosign = |t: &MemoryTree| {
        let mine = signed(t);
        let theirs = crate::note::sign(
            &Checkpoint::new(key().name(), t.size(), t.root()).body(),
            &witness,
        )
        .unwrap();
        format!("{mine}{}\n", theirs.lines().last().unwrap())
    };
    let (a, b) = (tree(3), tree(9));
    let bundle = ConsistencyBundle {
        old: cosign(&a),
        new: cosign(&b),
        proof: consistency_proof(&b, 3, 9).unwrap(),
    };
    let parsed = ConsistencyBundle::parse(&bundle.encode()).unwrap();
    assert_eq!(parsed, bundle);
    parsed.check(&key().verifier()).unwrap();
}

#[test]
fn consistency_between_forks_fails() {
    let old = tree(5);
    let mut fork = MemoryTree::new();
    for i in 0..9 {
        fork.push(leaf_hash(&leaf(if i == 2 { 99 } else { i })));
    }
    let mut bundle = consistency(&old, &tree(9));
    bundle.new = signed(&fork);
    assert!(matches!(
        bundle.check(&key().verifier()),
        Err(BundleError::Proof(_))
    ));
    // Swapped old and new.
    let good = consistency(&old, &tree(9));
    let swapped = ConsistencyBundle {
        old: good.new.clone(),
        new: good.old.clone(),
        proof: good.proof.clone(),
    };
    assert!(matches!(
        swapped.check(&key().verifier()),
        Err(BundleError::Proof(ProofError::SizeOrder { .. }))
    ));
}

#[test]
fn malformed_consistency_bundles_are_refused() {
    let good = consistency(&tree(3), &tree(9)).encode();
    let old = signed(&tree(3));
    let cases = [
        good.replacen("cordon.audit", "cordon.audits", 1),
        good.trim_end_matches('\n').to_owned(),
        format!("{CONSISTENCY_HEADER}\n\n{old}"),
        format!("{CONSISTENCY_HEADER}\n\n{old}\n"),
        format!("{CONSISTENCY_HEADER}\n\n{old}{old}"),
        format!("{CONSISTENCY_HEADER}\n\n{old}\nnot a note\n"),
        format!("{CONSISTENCY_HEADER}\n"),
    ];
    for text in cases {
        assert!(ConsistencyBundle::parse(&text).is_err(), "{text:?}");
    }
}
