use super::*;

/// The RFC 6962 reference tree's leaves, as used by Certificate Transparency's
/// own test vectors.
fn reference_leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    })
    .collect()
}

fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// `MTH` written straight from the RFC's recursive definition.
fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}

fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
    let mut t = MemoryTree::new();
    let mut leaves = Vec::new();
    for i in 0..n {
        let h = leaf_hash(&i.to_be_bytes());
        leaves.push(h);
        t.push(h);
    }
    (t, leaves)
}

#[test]
fn reference_tree_root_matches_the_published_vector() {
    let mut t = MemoryTree::new();
    for leaf in reference_leaves() {
        t.push(leaf_hash(&leaf));
    }
    assert_eq!(
        hex(&t.root()),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    assert_eq!(
        hex(&empty_root()),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn frontier_and_stored_nodes_agree_with_the_recursive_definition() {
    for n in 0..300u64 {
        let (t, leaves) = tree(n);
        assert_eq!(t.root(), naive_root(&leaves), "size {n}");
        assert_eq!(root(&t, n).unwrap(), t.root(), "size {n}");
        assert_eq!(Frontier::from_source(&t, n).unwrap().root(), t.root());
    }
}

#[test]
fn every_inclusion_proof_verifies_and_a_wrong_index_does_not() {
    let (t, leaves) = tree(200);
    for size in 1..=200u64 {
        let r = root(&t, size).unwrap();
        for index in 0..size {
            let proof = inclusion_proof(&t, index, size).unwrap();
            verify_inclusion(&leaves[index as usize], index, size, &proof, &r).unwrap();
            if size > 1 {
                let other = (index + 1) % size;
                assert!(
                    verify_inclusion(&leaves[index as usize], other, size, &proof, &r).is_err()
                );
            }
        }
    }
}

#[test]
fn every_consistency_proof_verifies_and_swapped_roots_do_not() {
    let (t, _) = tree(130);
    for new in 0..=130u64 {
        let new_root = root(&t, new).unwrap();
        for old in 0..=new {
            let old_root = root(&t, old).unwrap();
            let proof = consistency_proof(&t, old, new).unwrap();
            verify_consistency(old, new, &old_root, &new_root, &proof)
                .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
            if old != new && old > 0 {
                assert!(verify_consistency(old, new, &new_root, &old_root, &proof).is_err());
            }
        }
    }
}

#[test]
fn out_of_range_requests_are_errors_not_panics() {
    let (t, leaves) = tree(5);
    assert!(matches!(
        inclusion_proof(&t, 5, 5),
        Err(ProofError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        consistency_proof(&t, 6, 5),
        Err(ProofError::SizeOrder { .. })
    ));
    assert!(matches!(
        inclusion_proof(&t, 3, 9),
        Err(ProofError::Source { .. })
    ));
    let r = t.root();
    assert!(matches!(
        verify_inclusion(&leaves[0], 0, 5, &[], &r),
        Err(ProofError::WrongLength { .. })
    ));
    assert!(verify_inclusion(&leaves[0], 0, 0, &[], &r).is_err());
}
