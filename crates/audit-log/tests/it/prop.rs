//! Random batches of random leaves match an in-memory tree, across reopens.

use cordon_audit::merkle::{MemoryTree, leaf_hash};
use cordon_audit_log::{AuditLog, LogReader};
use proptest::prelude::*;

use crate::support::{self, TempDir, TestSigner};

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn size_and_root_match_a_memory_tree(
        batches in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..40),
            1..8,
        ),
        segment_bytes in prop::sample::select(vec![1_000u64, 10_000, 1 << 20]),
    ) {
        let tmp = TempDir::new("prop");
        let mut config = support::config(tmp.path());
        config.segment_bytes = segment_bytes;
        let mut tree = MemoryTree::new();
        let mut all: Vec<Vec<u8>> = Vec::new();
        for batch in batches {
            let (log, report) = AuditLog::open(config.clone(), TestSigner::default()).unwrap();
            prop_assert_eq!(report.size, tree.size());
            prop_assert_eq!(report.root, tree.root());
            for (k, r) in log.append_many(batch.clone()).into_iter().enumerate() {
                prop_assert_eq!(r.unwrap(), tree.size() + k as u64);
            }
            for leaf in batch {
                tree.push(leaf_hash(&leaf));
                all.push(leaf);
            }
            prop_assert_eq!(log.stats().size, tree.size());
            drop(log);
            let reader = LogReader::open(tmp.path()).unwrap();
            prop_assert_eq!(reader.size(), tree.size());
            prop_assert_eq!(reader.root(), tree.root());
            let last = tree.size() - 1;
            prop_assert_eq!(reader.entry(last).unwrap(), all[last as usize].clone());
        }
    }
}
