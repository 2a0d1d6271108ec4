//! Torn tails are cut; damage followed by intact data is refused and named.

use cordon_audit::merkle::{MemoryTree, leaf_hash};
use cordon_audit_log::{AuditLog, LogReader, OpenError, VerifyError, verify};

use crate::support::{self, Rec, TempDir, TestSigner, TestVerifier, encode, fill, open, records};

/// Four batches of 10 in one segment; returns the leaves and the segment path.
fn four_batches(tmp: &TempDir) -> (Vec<Vec<u8>>, std::path::PathBuf) {
    // A window long enough that each `append_many` of 10 is one batch.
    let mut config = support::config(tmp.path());
    config.batch_window = std::time::Duration::from_millis(30);
    let (log, _) = AuditLog::open(config, TestSigner::default()).unwrap();
    let leaves = fill(&log, 0, 40, 10);
    drop(log);
    let segs = support::segments(tmp.path());
    assert_eq!(segs.len(), 1);
    assert_eq!(records(&segs[0]).len(), 4);
    (leaves, segs[0].clone())
}

fn root_of(leaves: &[Vec<u8>]) -> [u8; 32] {
    let mut t = MemoryTree::new();
    for l in leaves {
        t.push(leaf_hash(l));
    }
    t.root()
}

fn assert_cut_to_30(tmp: &TempDir, leaves: &[Vec<u8>], bytes: u64, lost: std::ops::Range<u64>) {
    // The reader ignores the tail without touching it.
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.size(), 30);
    assert_eq!(reader.ignored_tail().unwrap().bytes, bytes);
    verify(&reader, &TestVerifier).unwrap();

    let (log, report) = open(tmp.path());
    let cut = report.cut.clone().expect("a cut tail");
    // The cut bytes are kept for an operator to look at.
    let kept = report.quarantined.clone().expect("the cut bytes are kept");
    assert!(
        kept.starts_with(tmp.path().join("quarantine")),
        "{}",
        kept.display()
    );
    assert_eq!(std::fs::read(&kept).unwrap().len() as u64, bytes);
    assert_eq!(report.size, 30);
    assert_eq!(cut.bytes, bytes);
    assert_eq!(cut.lost, lost);
    assert_eq!(report.root, root_of(&leaves[..30]));
    // The log continues at 30 and stays valid.
    assert_eq!(log.append_blocking(b"after".to_vec()).unwrap(), 30);
    drop(log);
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.size(), 31);
    assert!(reader.ignored_tail().is_none());
    for i in 0..30 {
        assert_eq!(reader.entry(i).unwrap(), leaves[i as usize]);
    }
    verify(&reader, &TestVerifier).unwrap();
}

#[test]
fn a_last_batch_cut_in_the_middle_is_a_torn_tail() {
    let tmp = TempDir::new("torn-truncate");
    let (leaves, seg) = four_batches(&tmp);
    let last = records(&seg)[3].clone();
    let keep = last.offset + last.len / 2;
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(keep as u64).unwrap();
    drop(f);
    assert_cut_to_30(&tmp, &leaves, (last.len / 2) as u64, 30..40);
}

#[test]
fn garbage_after_the_last_batch_is_a_torn_tail() {
    let tmp = TempDir::new("torn-garbage");
    let (leaves, seg) = four_batches(&tmp);
    // Drop the last batch and write garbage in its place, as a crash in the
    // middle of a write could leave.
    let last = records(&seg)[3].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.truncate(last.offset);
    bytes.extend_from_slice(&[0xAB; 333]);
    std::fs::write(&seg, bytes).unwrap();
    assert_cut_to_30(&tmp, &leaves, 333, 30..30);
}

#[test]
fn a_flipped_byte_in_the_last_batch_is_cut_and_reported() {
    let tmp = TempDir::new("torn-flip");
    let (leaves, seg) = four_batches(&tmp);
    let last = records(&seg)[3].clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[last.offset + 200] ^= 0x01;
    std::fs::write(&seg, bytes).unwrap();
    assert_cut_to_30(&tmp, &leaves, last.len as u64, 30..40);
}

#[test]
fn a_flipped_bit_in_a_checkpointed_last_batch_refuses_the_open_and_cuts_nothing() {
    let tmp = TempDir::new("checkpointed-flip");
    let (log, _) = open(tmp.path());
    fill(&log, 0, 17, 6);
    log.checkpoint_now().unwrap();
    drop(log);
    let seg = support::segments(tmp.path())[0].clone();
    let last = records(&seg).last().unwrap().clone();
    assert_eq!(last.first, 12);
    let mut bytes = std::fs::read(&seg).unwrap();
    // A bit of the last batch's root, as a failing disk might flip it.
    let at = bytes.len() - 48;
    bytes[at] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();

    let err = AuditLog::open(support::config(tmp.path()), TestSigner::default()).unwrap_err();
    match &err {
        OpenError::CheckpointedDamage {
            index,
            offset,
            checkpoint_size,
            ..
        } => {
            assert_eq!(
                (*index, *offset, *checkpoint_size),
                (12, last.offset as u64, 17)
            );
        }
        other => panic!("{other}"),
    }
    let message = err.to_string();
    assert!(message.contains("nothing was cut"), "{message}");
    assert!(message.contains(&seg.display().to_string()), "{message}");
    assert_eq!(
        std::fs::read(&seg).unwrap(),
        bytes,
        "the segment is untouched"
    );
    assert!(!tmp.path().join("quarantine").exists());
    // A reader still serves what precedes the damage; verify names it.
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.size(), 12);
    assert!(verify(&reader, &TestVerifier).is_err());
}

#[test]
fn a_flipped_byte_in_an_earlier_batch_refuses_the_open_and_fails_verify() {
    let tmp = TempDir::new("corrupt-flip");
    let (_, seg) = four_batches(&tmp);
    let recs = records(&seg);
    // Entry 13 is the fourth entry of the second batch; flip a data byte.
    let mut bytes = std::fs::read(&seg).unwrap();
    let mut at = recs[1].offset + 20;
    for (_, _, data) in &recs[1].entries[..3] {
        at += 44 + data.len();
    }
    bytes[at + 44 + 5] ^= 0x20;
    std::fs::write(&seg, &bytes).unwrap();

    let err = AuditLog::open(support::config(tmp.path()), TestSigner::default()).unwrap_err();
    match &err {
        OpenError::Corrupt { index, offset, .. } => {
            assert_eq!(*index, 13);
            assert_eq!(*offset, recs[1].offset as u64);
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("entry 13"), "{err}");
    // Nothing was cut.
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);

    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.size(), 10, "the reader stops before the damage");
    assert!(reader.damage().unwrap().contains("entry 13"));
    match verify(&reader, &TestVerifier).unwrap_err() {
        VerifyError::Entry { index, .. } => assert_eq!(index, 13),
        other => panic!("{other}"),
    }
}

#[test]
fn a_damaged_sealed_segment_is_found_by_verify() {
    let tmp = TempDir::new("corrupt-sealed");
    let mut config = support::config(tmp.path());
    config.segment_bytes = 3000;
    let (log, _) = AuditLog::open(config.clone(), TestSigner::default()).unwrap();
    fill(&log, 0, 60, 3);
    drop(log);
    let segs = support::segments(tmp.path());
    assert!(segs.len() >= 3);
    let recs = records(&segs[1]);
    let first_bad = recs[0].first;
    let mut bytes = std::fs::read(&segs[1]).unwrap();
    bytes[recs[0].offset + 20 + 44 + 3] ^= 0x40;
    std::fs::write(&segs[1], bytes).unwrap();
    let reader = LogReader::open(tmp.path()).unwrap();
    match verify(&reader, &TestVerifier).unwrap_err() {
        VerifyError::Entry { index, segment, .. } => {
            assert_eq!(index, first_bad);
            assert_eq!(segment, segs[1]);
        }
        other => panic!("{other}"),
    }
    // A damaged last record of a sealed segment is caught on open.
    let recs = records(&segs[0]);
    let last = recs.last().unwrap();
    let mut bytes = std::fs::read(&segs[0]).unwrap();
    bytes[last.offset + last.len - 50] ^= 1;
    std::fs::write(&segs[0], bytes).unwrap();
    let err = AuditLog::open(config, TestSigner::default()).unwrap_err();
    assert!(
        matches!(err, OpenError::Corrupt { index, .. } if index == last.first),
        "{err}"
    );
}

fn rewrite(seg: &std::path::Path, f: impl FnOnce(&mut Vec<Rec>)) {
    let mut recs = records(seg);
    f(&mut recs);
    let bytes: Vec<u8> = recs.iter().flat_map(encode).collect();
    std::fs::write(seg, bytes).unwrap();
}

#[test]
fn a_removed_entry_is_named_by_verify() {
    let tmp = TempDir::new("removed");
    let (_, seg) = four_batches(&tmp);
    // Remove entry 17 with valid checksums, keeping everyone's stored index.
    rewrite(&seg, |recs| {
        recs[1].entries.remove(7);
    });
    std::fs::remove_dir_all(tmp.path().join("tree")).unwrap();
    let reader = LogReader::open(tmp.path()).unwrap();
    match verify(&reader, &TestVerifier).unwrap_err() {
        VerifyError::Entry { index, reason, .. } => {
            assert_eq!(index, 17);
            assert!(
                reason.contains("entry 18 where entry 17 belongs"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn reordered_entries_are_named_by_verify() {
    let tmp = TempDir::new("reordered");
    let (_, seg) = four_batches(&tmp);
    rewrite(&seg, |recs| recs[2].entries.swap(4, 6));
    let reader = LogReader::open(tmp.path()).unwrap();
    match verify(&reader, &TestVerifier).unwrap_err() {
        VerifyError::Entry { index, .. } => assert_eq!(index, 24),
        other => panic!("{other}"),
    }
}

#[test]
fn renumbered_entries_are_caught_by_the_batch_root() {
    let tmp = TempDir::new("renumbered");
    let (_, seg) = four_batches(&tmp);
    // Swap two entries and their indices: every entry looks in place, but
    // the batch trailer's root no longer matches.
    rewrite(&seg, |recs| {
        let e = &mut recs[2].entries;
        e.swap(4, 6);
        let (a, b) = (e[4].0, e[6].0);
        e[4].0 = b;
        e[6].0 = a;
    });
    let reader = LogReader::open(tmp.path()).unwrap();
    match verify(&reader, &TestVerifier).unwrap_err() {
        VerifyError::Batch { index, .. } => assert_eq!(index, 20),
        other => panic!("{other}"),
    }
}

#[test]
fn a_rewritten_history_is_caught_by_the_signed_checkpoints() {
    let tmp = TempDir::new("history");
    let (log, _) = open(tmp.path());
    fill(&log, 0, 20, 10);
    log.checkpoint_now().unwrap();
    fill(&log, 20, 20, 10);
    log.checkpoint_now().unwrap();
    drop(log);
    let seg = &support::segments(tmp.path())[0];
    // Replace entry 5 and recompute everything the writer stores: only the
    // signatures stand in the way.
    rewrite(seg, |recs| {
        let mut t = MemoryTree::new();
        for r in recs.iter_mut() {
            for e in r.entries.iter_mut() {
                if e.0 == 5 {
                    e.2 = b"forged".to_vec();
                    e.1 = leaf_hash(&e.2);
                }
                t.push(e.1);
            }
            r.root = t.root();
        }
    });
    std::fs::remove_dir_all(tmp.path().join("tree")).unwrap();
    let reader = LogReader::open(tmp.path()).unwrap();
    match verify(&reader, &TestVerifier).unwrap_err() {
        VerifyError::Checkpoint { number, .. } => assert_eq!(number, 0),
        other => panic!("{other}"),
    }
    // The writer notices the latest checkpoint no longer matches.
    assert!(AuditLog::open(support::config(tmp.path()), TestSigner::default()).is_err());
}

#[test]
fn a_torn_checkpoint_record_is_cut() {
    let tmp = TempDir::new("torn-checkpoint");
    let (log, _) = open(tmp.path());
    fill(&log, 0, 5, 5);
    let cp = log.checkpoint_now().unwrap();
    drop(log);
    let path = tmp.path().join("checkpoints");
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    let half = bytes[..len / 2].to_vec();
    bytes.extend_from_slice(&half);
    std::fs::write(&path, bytes).unwrap();
    std::fs::remove_file(tmp.path().join("checkpoint")).unwrap();
    let (log, report) = open(tmp.path());
    assert_eq!(report.checkpoints, 1);
    assert_eq!(report.checkpoint_bytes_cut, (len / 2) as u64);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("checkpoint")).unwrap(),
        cp
    );
    drop(log);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len as u64);
}

#[test]
fn a_zeroed_node_under_the_last_checkpoint_is_rebuilt_rather_than_refused() {
    let tmp = TempDir::new("zeroed-node");
    let (log, _) = open(tmp.path());
    let leaves = fill(&log, 0, 64, 8);
    log.checkpoint_now().unwrap();
    drop(log);
    // The root of 64 leaves is the one node at height 6: zero it, as a
    // lost block would.
    let top = tmp.path().join("tree").join("6");
    assert_eq!(std::fs::metadata(&top).unwrap().len(), 32);
    std::fs::write(&top, [0u8; 32]).unwrap();

    let (log, report) = open(tmp.path());
    assert_eq!(report.size, 64);
    assert_eq!(report.root, root_of(&leaves));
    assert_eq!(report.derived_rebuilt_from, 0, "rebuilt from the segments");
    drop(log);
    assert_ne!(std::fs::read(&top).unwrap(), vec![0u8; 32]);
    verify(&LogReader::open(tmp.path()).unwrap(), &TestVerifier).unwrap();
}

#[test]
fn a_misnamed_empty_segment_fails_verify() {
    let tmp = TempDir::new("misnamed-empty");
    let (log, _) = open(tmp.path());
    fill(&log, 0, 10, 5);
    drop(log);
    std::fs::write(
        tmp.path().join("segments").join(format!("{:016x}.seg", 40)),
        b"",
    )
    .unwrap();
    match verify(&LogReader::open(tmp.path()).unwrap(), &TestVerifier).unwrap_err() {
        VerifyError::Batch { index, reason, .. } => {
            assert_eq!(index, 10);
            assert!(reason.contains("named for entry 40"), "{reason}");
        }
        other => panic!("{other}"),
    }
}
