//! Appending, reading back, proofs, reopening, rollover, derived files, lock.

use std::ops::ControlFlow;

use cordon_audit::merkle::{self, MemoryTree, NodeSource, leaf_hash};
use cordon_audit_log::{AppendError, AuditLog, LogReader, OpenError, ReadError, verify};

use crate::support::{self, TempDir, TestSigner, TestVerifier, fill, leaf, open};

fn memory_tree(leaves: &[Vec<u8>]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in leaves {
        t.push(leaf_hash(l));
    }
    t
}

#[test]
fn appended_leaves_read_back_with_proofs_that_verify() {
    let tmp = TempDir::new("readback");
    let (log, report) = open(tmp.path());
    assert_eq!(report.size, 0);
    assert_eq!(report.root, merkle::empty_root());
    let leaves = fill(&log, 0, 300, 37);
    assert_eq!(log.stats().size, 300);
    assert_eq!(log.append_blocking(leaf(300)).unwrap(), 300);
    log.shutdown();

    let mut all = leaves.clone();
    all.push(leaf(300));
    let reader = LogReader::open(tmp.path()).unwrap();
    let tree = memory_tree(&all);
    assert_eq!(reader.size(), 301);
    assert_eq!(reader.root(), tree.root());
    for i in [0u64, 1, 36, 37, 150, 299, 300] {
        assert_eq!(reader.entry(i).unwrap(), all[i as usize]);
    }
    let mut seen = Vec::new();
    reader
        .scan(10..60, |i, data| {
            seen.push((i, data.to_vec()));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|(i, d)| *d == all[*i as usize]));
    for size in [1u64, 2, 7, 64, 200, 301] {
        let root = reader.root_at(size).unwrap();
        assert_eq!(root, merkle::root(&tree, size).unwrap());
        for index in [0, size / 2, size - 1] {
            let proof = reader.inclusion_proof(index, size).unwrap();
            merkle::verify_inclusion(&leaf_hash(&all[index as usize]), index, size, &proof, &root)
                .unwrap();
        }
    }
    let proof = reader.consistency_proof(100, 301).unwrap();
    merkle::verify_consistency(
        100,
        301,
        &reader.root_at(100).unwrap(),
        &reader.root(),
        &proof,
    )
    .unwrap();
    assert!(matches!(
        reader.entry(301),
        Err(ReadError::OutOfRange {
            index: 301,
            size: 301
        })
    ));
    assert!(matches!(
        reader.inclusion_proof(0, 302),
        Err(ReadError::TooLarge { asked: 302, .. })
    ));
    let report = verify(&reader, &TestVerifier).unwrap();
    assert_eq!(report.entries, 301);
    assert_eq!(report.root, tree.root());
}

#[test]
fn oversized_leaves_are_refused_and_the_limit_itself_is_accepted() {
    let tmp = TempDir::new("oversize");
    let (log, _) = open(tmp.path());
    assert_eq!(
        log.append_blocking(vec![b'a'; 65_536]),
        Err(AppendError::TooLarge { len: 65_536 })
    );
    assert_eq!(log.append_blocking(vec![b'a'; 65_535]), Ok(0));
    assert_eq!(log.append_blocking(Vec::new()), Ok(1));
}

#[test]
fn reopening_keeps_every_entry_and_continues_the_indices() {
    let tmp = TempDir::new("reopen");
    let (log, _) = open(tmp.path());
    let mut all = fill(&log, 0, 50, 7);
    drop(log);
    let (log, report) = open(tmp.path());
    assert_eq!(report.size, 50);
    assert_eq!(report.cut, None);
    // The shutdown made the derived files durable: nothing is rewritten.
    assert_eq!(report.derived_rebuilt_from, 50);
    assert_eq!(log.append_blocking(leaf(50)).unwrap(), 50);
    all.push(leaf(50));
    drop(log);
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.root(), memory_tree(&all).root());
    verify(&reader, &TestVerifier).unwrap();
}

#[test]
fn segments_roll_over_at_batch_boundaries() {
    let tmp = TempDir::new("rollover");
    let mut config = support::config(tmp.path());
    config.segment_bytes = 4000;
    let (log, _) = AuditLog::open(config.clone(), TestSigner::default()).unwrap();
    let mut all = fill(&log, 0, 120, 5);
    drop(log);
    let segs = support::segments(tmp.path());
    assert!(segs.len() > 5, "{} segments", segs.len());
    let (log, report) = AuditLog::open(config, TestSigner::default()).unwrap();
    assert_eq!(report.size, 120);
    all.extend(fill(&log, 120, 30, 4));
    drop(log);
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.size(), 150);
    assert_eq!(reader.root(), memory_tree(&all).root());
    for i in 0..150 {
        assert_eq!(reader.entry(i).unwrap(), all[i as usize], "entry {i}");
    }
    let mut n = 0;
    reader
        .scan(0..150, |i, d| {
            assert_eq!(d, all[i as usize]);
            n += 1;
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(n, 150);
    let report = verify(&reader, &TestVerifier).unwrap();
    assert_eq!(report.segments, support::segments(tmp.path()).len());
}

#[test]
fn deleted_derived_files_are_rebuilt_by_the_writer_and_computed_by_the_reader() {
    let tmp = TempDir::new("derived");
    let (log, _) = open(tmp.path());
    let all = fill(&log, 0, 100, 9);
    drop(log);
    let root = memory_tree(&all).root();
    std::fs::remove_dir_all(tmp.path().join("tree")).unwrap();
    std::fs::remove_dir_all(tmp.path().join("index")).unwrap();

    // The reader computes in memory and writes nothing.
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.root(), root);
    assert_eq!(reader.entry(42).unwrap(), all[42]);
    assert!(!tmp.path().join("tree").exists());

    let (log, report) = open(tmp.path());
    assert_eq!(report.derived_rebuilt_from, 0);
    drop(log);
    assert_eq!(
        std::fs::metadata(tmp.path().join("tree/0")).unwrap().len(),
        100 * 32
    );
    assert_eq!(
        std::fs::metadata(tmp.path().join("tree/6")).unwrap().len(),
        32
    );
    assert_eq!(
        std::fs::metadata(tmp.path().join("index/offsets"))
            .unwrap()
            .len(),
        800
    );

    // A short and a garbled derived file are repaired too.
    let t0 = tmp.path().join("tree/0");
    let f = std::fs::OpenOptions::new().write(true).open(&t0).unwrap();
    f.set_len(50 * 32).unwrap();
    let t2 = tmp.path().join("tree/2");
    let mut bytes = std::fs::read(&t2).unwrap();
    bytes[5] ^= 1;
    std::fs::write(&t2, bytes).unwrap();
    let (log, report) = open(tmp.path());
    assert_eq!(report.root, root);
    assert!(report.derived_rebuilt_from < 100);
    drop(log);
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.root(), root);
    let proof = reader.inclusion_proof(3, 100).unwrap();
    merkle::verify_inclusion(&leaf_hash(&all[3]), 3, 100, &proof, &root).unwrap();
}

#[test]
fn a_second_writer_is_refused_with_the_directory_named() {
    let tmp = TempDir::new("lock");
    let (log, _) = open(tmp.path());
    let err = AuditLog::open(support::config(tmp.path()), TestSigner::default()).unwrap_err();
    assert!(matches!(&err, OpenError::Locked { dir } if dir == tmp.path()));
    assert!(err.to_string().contains(&tmp.path().display().to_string()));
    // Readers need no lock.
    LogReader::open(tmp.path()).unwrap();
    drop(log);
    open(tmp.path());
}

#[test]
fn checkpoints_are_stored_in_order_and_bound_tiles() {
    let tmp = TempDir::new("checkpoints");
    let (log, _) = open(tmp.path());
    let all = fill(&log, 0, 300, 50);
    let first = log.checkpoint_now().unwrap();
    assert_eq!(
        log.checkpoint_now().unwrap(),
        first,
        "no growth, no new signature"
    );
    let more = fill(&log, 300, 300, 100);
    let second = log.checkpoint_now().unwrap();
    fill(&log, 600, 10, 10);
    assert_eq!(log.stats().checkpoints, 2);
    drop(log);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("checkpoint")).unwrap(),
        second
    );

    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.checkpoints(), vec![first, second.clone()]);
    assert_eq!(reader.latest_checkpoint(), Some(second));

    let tree = memory_tree(&all.iter().chain(&more).cloned().collect::<Vec<_>>());
    // Full level-0 tiles 0 and 1 and the partial tile 2 of width 88 fit 600.
    let tile = reader.hash_tile(0, 1, 256).unwrap();
    assert_eq!(tile.len(), 256 * 32);
    assert_eq!(&tile[..32], &merkle::leaf_hash(&leaf(256))[..]);
    let partial = reader.hash_tile(0, 2, 88).unwrap();
    assert_eq!(&partial[87 * 32..], &tree.node(0, 599).unwrap()[..]);
    assert!(matches!(
        reader.hash_tile(0, 2, 89),
        Err(ReadError::BeyondCheckpoint {
            needed: 601,
            checkpoint_size: 600
        })
    ));
    let level1 = reader.hash_tile(1, 0, 2).unwrap();
    assert_eq!(&level1[32..], &tree.node(8, 1).unwrap()[..]);
    assert!(reader.hash_tile(1, 0, 3).is_err());
    assert!(matches!(
        reader.hash_tile(0, 0, 0),
        Err(ReadError::BadTile(_))
    ));

    let bundle = reader.entry_bundle(2, 88).unwrap();
    let mut at = 0;
    for i in 512..600u64 {
        let len = u16::from_be_bytes([bundle[at], bundle[at + 1]]) as usize;
        assert_eq!(&bundle[at + 2..at + 2 + len], &leaf(i)[..]);
        at += 2 + len;
    }
    assert_eq!(at, bundle.len());
    assert!(reader.entry_bundle(2, 89).is_err());

    let report = verify(&reader, &TestVerifier).unwrap();
    assert_eq!(report.checkpoints, 2);
}

#[test]
fn the_writer_signs_periodically_when_the_tree_grew() {
    let tmp = TempDir::new("periodic");
    let mut config = support::config(tmp.path());
    config.checkpoint_interval = Some(std::time::Duration::from_millis(50));
    let signer = TestSigner::default();
    let (log, _) = AuditLog::open(config, signer.clone()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    assert_eq!(
        signer.calls.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing to sign"
    );
    fill(&log, 0, 10, 10);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(log.stats().checkpoints, 1);
    fill(&log, 10, 5, 5);
    drop(log);
    let reader = LogReader::open(tmp.path()).unwrap();
    let cps = reader.checkpoints();
    assert_eq!(
        cps.len(),
        2,
        "the shutdown signs what the last interval added"
    );
    assert!(cps[1].contains("\n15\n"));
    verify(&reader, &TestVerifier).unwrap();
}

#[test]
fn the_batch_window_groups_concurrent_appends() {
    let tmp = TempDir::new("window");
    let mut config = support::config(tmp.path());
    config.batch_window = std::time::Duration::from_millis(30);
    let (log, _) = AuditLog::open(config, TestSigner::default()).unwrap();
    let log = std::sync::Arc::new(log);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || log.append_blocking(leaf(t)).unwrap())
        })
        .collect();
    let mut got: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    got.sort();
    assert_eq!(got, (0..8).collect::<Vec<_>>());
    assert!(log.stats().batches <= 3, "{:?}", log.stats());
}
