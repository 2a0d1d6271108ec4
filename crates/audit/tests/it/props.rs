//! Property tests: proofs, tiles, bundles, notes and leaves.

use std::collections::BTreeMap;

use cordon_audit::leaf::{self, AttributeUsed, Mode, Obligations, Provenance, Source};
use cordon_audit::merkle::{self, Hash, MemoryTree};
use cordon_audit::tile::{self, TileId, TilePath};
use cordon_audit::{
    AdminRecord, Checkpoint, ConsistencyBundle, DecisionRecord, InclusionBundle, Note, Record,
    VerifierKey,
};
use proptest::prelude::*;

use crate::test_key;

fn tree(n: u64) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push(merkle::leaf_hash(&i.to_le_bytes()));
    }
    t
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8 % 32] ^= 1 << (bit % 8);
    h
}

/// A tree size in 1..=4096 and an index inside it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1u64..=4096).prop_flat_map(|size| (Just(size), 0..size))
}

/// Sizes `old <= new` with `new` in 0..=4096.
fn old_and_new() -> impl Strategy<Value = (u64, u64)> {
    (0u64..=4096).prop_flat_map(|new| (0..=new, Just(new)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn inclusion_proofs_verify_and_any_bit_flip_breaks_them(
        (size, index) in size_and_index(),
        which in any::<usize>(),
        bit in 0usize..256,
    ) {
        let t = tree(size);
        let leaf = merkle::leaf_hash(&index.to_le_bytes());
        let root = t.root();
        let proof = merkle::inclusion_proof(&t, index, size).unwrap();
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &root).is_ok());

        prop_assert!(merkle::verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
        prop_assert!(merkle::verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(merkle::verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_any_bit_flip_breaks_them(
        (old, new) in old_and_new(),
        which in any::<usize>(),
        bit in 0usize..256,
    ) {
        let t = tree(new);
        let old_root = tree(old).root();
        let new_root = t.root();
        let proof = merkle::consistency_proof(&t, old, new).unwrap();
        prop_assert!(merkle::verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());

        prop_assert!(merkle::verify_consistency(old, new, &flip(&old_root, bit), &new_root, &proof).is_err());
        // With an empty old tree any new root is consistent; otherwise the new root is bound.
        if old > 0 {
            prop_assert!(merkle::verify_consistency(old, new, &old_root, &flip(&new_root, bit), &proof).is_err());
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], bit);
            prop_assert!(merkle::verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
        }
    }

    #[test]
    fn receipts_round_trip_and_check(
        (size, index) in (1u64..=300).prop_flat_map(|s| (Just(s), 0..s)),
    ) {
        let key = test_key();
        let mut t = MemoryTree::new();
        let leaves: Vec<Vec<u8>> = (0..size).map(|i| format!("leaf {i}").into_bytes()).collect();
        for l in &leaves {
            t.push(merkle::leaf_hash(l));
        }
        let bundle = InclusionBundle {
            extra: Some(leaves[index as usize].clone()),
            index,
            proof: merkle::inclusion_proof(&t, index, size).unwrap(),
            checkpoint: Checkpoint::new(key.name(), size, t.root()).sign(&key).unwrap(),
        };
        let parsed = InclusionBundle::parse(&bundle.encode()).unwrap();
        prop_assert_eq!(&parsed, &bundle);
        let checked = parsed.check(&key.verifier()).unwrap();
        prop_assert_eq!(checked.leaf, leaves[index as usize].clone());
    }

    #[test]
    fn tile_paths_round_trip(level in 0u8..=7, raw in any::<u64>(), width in 1u16..=256) {
        // Keep the index inside the range a tree of u64 size can reach.
        let shift = 8 * (u32::from(level) + 1);
        let index = if shift >= 64 { 0 } else { raw >> shift };
        let id = TileId::new(level, index, width).unwrap();
        prop_assert_eq!(tile::parse_tile_path(&id.path()).unwrap(), TilePath::Hash(id));
        let entries = tile::entry_bundle_path(raw >> 8, width).unwrap();
        prop_assert_eq!(
            tile::parse_tile_path(&entries).unwrap(),
            TilePath::Entries { index: raw >> 8, width }
        );
    }

    #[test]
    fn tile_path_parser_never_panics(path in "tile/[0-9a-z./x]{0,40}") {
        if let Ok(TilePath::Hash(id)) = tile::parse_tile_path(&path) {
            // Whatever it accepts is canonical.
            prop_assert_eq!(id.path(), path);
        }
    }

    #[test]
    fn entry_bundles_round_trip(
        entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..=256),
    ) {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let bytes = tile::encode_entry_bundle(&refs).unwrap();
        prop_assert_eq!(tile::parse_entry_bundle(&bytes).unwrap(), refs);
    }

    #[test]
    fn entry_bundle_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(entries) = tile::parse_entry_bundle(&bytes) {
            prop_assert_eq!(tile::encode_entry_bundle(&entries).unwrap(), bytes);
        }
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in any::<String>()) {
        let _ = Note::parse(&text);
        let _ = Checkpoint::parse_body(&text);
        let _ = VerifierKey::parse(&text);
        let _ = InclusionBundle::parse(&text);
        let _ = ConsistencyBundle::parse(&text);
        let _ = tile::parse_tile_path(&text);
        let _ = leaf::decode(text.as_bytes());
    }

    #[test]
    fn parsers_never_panic_on_note_like_text(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("\n".to_owned()),
                Just("\u{2014} ".to_owned()),
                Just("\u{2014} audit.example.com/cordon ".to_owned()),
                Just("c2sp.org/tlog-proof@v1\n".to_owned()),
                Just("cordon.audit/consistency-proof@v1\n".to_owned()),
                Just("index 3\n".to_owned()),
                Just("extra ".to_owned()),
                "[A-Za-z0-9+/=]{0,90}",
                "[0-9]{1,21}",
                Just("+".to_owned()),
                Just(" ".to_owned()),
            ],
            0..24,
        ),
    ) {
        let text = parts.concat();
        if let Ok(note) = Note::parse(&text) {
            prop_assert!(text.starts_with(note.text()));
        }
        if let Ok(c) = Checkpoint::parse_body(&text) {
            prop_assert_eq!(c.body(), text.clone());
        }
        if let Ok(b) = InclusionBundle::parse(&text) {
            prop_assert_eq!(b.encode(), text.clone());
        }
        if let Ok(b) = ConsistencyBundle::parse(&text) {
            prop_assert_eq!(b.encode(), text.clone());
        }
        let _ = Checkpoint::open(&text, &test_key().verifier());
    }

    #[test]
    fn checkpoints_sign_and_open(size in any::<u64>(), root in any::<[u8; 32]>()) {
        let key = test_key();
        let c = Checkpoint::new(key.name(), size, root);
        let text = c.sign(&key).unwrap();
        prop_assert_eq!(Checkpoint::open(&text, &key.verifier()).unwrap(), c);
    }

    #[test]
    fn leaves_round_trip(record in record()) {
        let bytes = leaf::encode(&record).unwrap();
        let decoded = leaf::decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &record);
        prop_assert_eq!(leaf::encode(&decoded).unwrap(), bytes);
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9_.-]{0,16}",
        1 => any::<String>().prop_map(|s| s.chars().take(24).collect()),
    ]
}

fn provenance() -> impl Strategy<Value = Provenance> {
    (
        proptest::option::of(text()),
        text(),
        proptest::option::of(text()),
    )
        .prop_map(|(source, verification, verified_at)| Provenance {
            source,
            verification,
            verified_at,
        })
}

fn decision() -> impl Strategy<Value = DecisionRecord> {
    let attribute = (text(), text(), proptest::option::of(provenance())).prop_map(
        |(name, value, provenance)| AttributeUsed {
            name,
            value,
            provenance,
        },
    );
    (
        (
            text(),
            text(),
            proptest::option::of(text()),
            text(),
            proptest::option::of(text()),
            text(),
            text(),
            prop_oneof![Just(Mode::Enforced), Just(Mode::Shadow)],
        ),
        (
            proptest::option::of(text()),
            proptest::collection::vec(text(), 0..4),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec(text(), 0..3),
            proptest::collection::vec(attribute, 0..4),
            text(),
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(any::<bool>()),
            ),
            prop_oneof![
                Just(Source::Gateway),
                Just(Source::DecisionApi),
                Just(Source::Cli)
            ],
        ),
    )
        .prop_map(
            |(
                (id, time, account, model_requested, model, endpoint, effect, mode),
                (
                    decided_by,
                    consulted,
                    max_tokens,
                    remove_features,
                    attributes,
                    policy_version,
                    (client_country, client_region, anonymizer),
                    source,
                ),
            )| DecisionRecord {
                id,
                time,
                account,
                model_requested,
                model,
                endpoint,
                effect,
                mode,
                decided_by,
                consulted,
                obligations: Obligations {
                    max_tokens,
                    remove_features,
                },
                attributes,
                policy_version,
                client_country,
                client_region,
                anonymizer,
                source,
                shadow: Vec::new(),
                features: Vec::new(),
                end_user: None,
            },
        )
}

fn admin() -> impl Strategy<Value = AdminRecord> {
    (
        text(),
        text(),
        text(),
        text(),
        proptest::option::of(text()),
        proptest::collection::btree_map(text(), text(), 0..5),
    )
        .prop_map(
            |(id, time, actor, action, subject, details): (_, _, _, _, _, BTreeMap<_, _>)| {
                AdminRecord {
                    id,
                    time,
                    actor,
                    action,
                    subject,
                    details,
                }
            },
        )
}

fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        decision().prop_map(Record::Decision),
        admin().prop_map(Record::Admin),
    ]
}
