use std::path::{Path, PathBuf};

use cordon_audit::merkle::SourceError;

use super::*;
use crate::format;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "cordon-audit-log-verify-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(path.join("segments")).unwrap();
        Self(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct NoCheckpoints;

impl CheckpointVerifier for NoCheckpoints {
    fn open(&self, _note: &str) -> Result<(u64, Hash), SourceError> {
        Err("no checkpoint expected".into())
    }
}

fn leaf(i: usize) -> Vec<u8> {
    format!("{{\"leaf\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 7)).into_bytes()
}

/// Writes one segment of `batches` records of `per` leaves; returns the
/// leaves and the byte offset of each record.
fn write_log(dir: &Path, batches: usize, per: usize) -> (Vec<Vec<u8>>, Vec<usize>) {
    let mut tree = MemoryTree::new();
    let mut buf = Vec::new();
    let mut leaves = Vec::new();
    let mut offsets = Vec::new();
    for b in 0..batches {
        let first = tree.size();
        let batch: Vec<Vec<u8>> = (0..per).map(|k| leaf(b * per + k)).collect();
        let hashed: Vec<(&[u8], Hash)> = batch
            .iter()
            .map(|l| {
                let h = leaf_hash(l);
                tree.push(h);
                (l.as_slice(), h)
            })
            .collect();
        offsets.push(buf.len());
        format::encode_batch(&mut buf, first, &hashed, tree.size(), &tree.root());
        leaves.extend(batch);
    }
    let seg = dir.join("segments").join(scan::segment_name(0));
    std::fs::write(seg, buf).unwrap();
    (leaves, offsets)
}

/// Leaves handed out, with their indices.
type Seen = Vec<(u64, Vec<u8>)>;

fn collect(reader: &LogReader) -> (Result<VerifyReport, VerifyError>, Seen) {
    let mut seen = Vec::new();
    let result = verify_each(reader, &NoCheckpoints, |leaves| {
        assert_eq!(leaves.len(), leaves.iter().len());
        assert!(!leaves.is_empty());
        assert_eq!(leaves.iter().next().map(|(i, _)| i), Some(leaves.first()));
        seen.extend(leaves.iter().map(|(i, l)| (i, l.to_vec())));
        ControlFlow::Continue(())
    });
    (result, seen)
}

#[test]
fn every_leaf_is_handed_out_once_in_order() {
    let dir = Dir::new("all");
    let (leaves, _) = write_log(&dir.0, 5, 7);
    let reader = LogReader::open(&dir.0).unwrap();
    let (result, seen) = collect(&reader);
    let report = result.unwrap();
    assert_eq!(report, verify(&reader, &NoCheckpoints).unwrap());
    assert_eq!(report.entries, 35);
    assert_eq!(report.batches, 5);
    let expected: Vec<(u64, Vec<u8>)> = (0..).zip(leaves).collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_sink_that_breaks_gets_no_more_and_the_log_is_still_verified() {
    let dir = Dir::new("break");
    write_log(&dir.0, 4, 3);
    let reader = LogReader::open(&dir.0).unwrap();
    let mut calls = 0;
    let report = verify_each(&reader, &NoCheckpoints, |_| {
        calls += 1;
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(calls, 1);
    assert_eq!(report.entries, 12);
}

#[test]
fn damage_fails_the_verification_after_the_leaves_before_it() {
    let dir = Dir::new("damage");
    let (leaves, offsets) = write_log(&dir.0, 4, 3);
    let seg = dir.0.join("segments").join(scan::segment_name(0));
    let mut bytes = std::fs::read(&seg).unwrap();
    // A data byte of the second record's first leaf.
    bytes[offsets[1] + format::HEADER_LEN + format::ENTRY_HEAD_LEN + 2] ^= 0x01;
    std::fs::write(&seg, bytes).unwrap();
    let reader = LogReader::open(&dir.0).unwrap();
    let (result, seen) = collect(&reader);
    match result.unwrap_err() {
        VerifyError::Entry { index, .. } => assert_eq!(index, 3),
        other => panic!("{other}"),
    }
    let expected: Vec<(u64, Vec<u8>)> = (0..).zip(leaves).take(3).collect();
    assert_eq!(seen, expected, "only the records before the damage");
}
