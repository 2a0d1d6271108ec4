//! `check_derived` finds derived records that differ from the segments, and
//! `repair_derived` rewrites them.

use std::os::unix::fs::FileExt;

use cordon_audit_log::storage::OsStorage;
use cordon_audit_log::{LatestCheckpoint, LogReader, OpenError, check_derived, repair_derived};

use crate::support::{TempDir, fill, open};

fn checkpointed_log(tmp: &TempDir) {
    let (log, _) = open(tmp.path());
    fill(&log, 0, 300, 25);
    log.checkpoint_now().unwrap();
    drop(log);
}

#[test]
fn a_clean_log_checks_clean() {
    let tmp = TempDir::new("check-clean");
    checkpointed_log(&tmp);
    let check = check_derived(&OsStorage, tmp.path()).unwrap();
    assert!(check.is_clean(), "{check:?}");
    assert_eq!(check.entries, 300);
    assert_eq!(check.offsets, 300);
    // 300 leaves complete 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 nodes.
    assert_eq!(check.nodes, 596);
    assert_eq!(check.latest, LatestCheckpoint::Matches);
}

#[test]
fn a_zeroed_leaf_hash_is_found_and_repaired() {
    let tmp = TempDir::new("check-zeroed");
    checkpointed_log(&tmp);
    let tree0 = tmp.path().join("tree").join("0");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&tree0)
        .unwrap();
    file.write_all_at(&[0u8; 32], 7 * 32).unwrap();
    drop(file);
    // The reader trusts the synced files: the level-0 tile now carries the
    // zeroed hash, which is why operators need the check.
    let reader = LogReader::open(tmp.path()).unwrap();
    let tile = reader.hash_tile(0, 0, 256).unwrap();
    assert_eq!(&tile[7 * 32..8 * 32], &[0u8; 32]);

    let check = check_derived(&OsStorage, tmp.path()).unwrap();
    assert!(!check.is_clean());
    assert_eq!(check.problem_count, 1, "{check:?}");
    assert_eq!(check.problems[0].path, tree0);
    assert_eq!(check.problems[0].record, 7);
    assert!(check.problems[0].reason.contains("node 7 at height 0"));

    let storage: std::sync::Arc<dyn cordon_audit_log::storage::Storage> =
        std::sync::Arc::new(OsStorage);
    let repair = repair_derived(&storage, tmp.path()).unwrap();
    assert_eq!(repair.entries, 300);
    assert!(repair.cut.is_none());
    assert!(check_derived(&OsStorage, tmp.path()).unwrap().is_clean());
    let reader = LogReader::open(tmp.path()).unwrap();
    let tile = reader.hash_tile(0, 0, 256).unwrap();
    assert_ne!(&tile[7 * 32..8 * 32], &[0u8; 32]);
}

#[test]
fn a_stale_checkpoint_file_and_wrong_offsets_are_found() {
    let tmp = TempDir::new("check-stale");
    checkpointed_log(&tmp);
    std::fs::write(tmp.path().join("checkpoint"), "old\n").unwrap();
    let offsets = tmp.path().join("index").join("offsets");
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&offsets)
        .unwrap();
    file.write_all_at(&9u64.to_be_bytes(), 3 * 8).unwrap();
    drop(file);
    let check = check_derived(&OsStorage, tmp.path()).unwrap();
    assert_eq!(check.latest, LatestCheckpoint::Stale);
    assert_eq!(check.problem_count, 1);
    assert_eq!(check.problems[0].record, 3);
    assert!(check.problems[0].reason.contains("the file says byte 9"));
}

#[test]
fn repair_refuses_while_a_writer_runs() {
    let tmp = TempDir::new("check-locked");
    checkpointed_log(&tmp);
    let (log, _) = open(tmp.path());
    let storage: std::sync::Arc<dyn cordon_audit_log::storage::Storage> =
        std::sync::Arc::new(OsStorage);
    assert!(matches!(
        repair_derived(&storage, tmp.path()),
        Err(OpenError::Locked { .. })
    ));
    // A check while the writer runs still compares what both hold.
    let check = check_derived(&OsStorage, tmp.path()).unwrap();
    assert!(check.writer_running);
    assert!(check.is_clean(), "{check:?}");
    drop(log);
}
