use std::time::Duration;

use cordon_audit::merkle::{Hash, SourceError};

use super::*;
use crate::LogReader;
use crate::derived::coverage;
use crate::storage::OsStorage;
use std::fs;

struct Signer;

impl CheckpointSigner for Signer {
    fn sign(&self, size: u64, _root: &Hash) -> Result<String, SourceError> {
        Ok(format!("unit.example/log\n{size}\n"))
    }
}

struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "cordon-audit-log-writer-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&p);
        Temp(p)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn leaf(i: u64) -> Vec<u8> {
    format!("{{\"leaf\":{i}}}").into_bytes()
}

fn open(dir: &Path, max_batch: usize) -> (AuditLog, RecoveryReport) {
    let mut config = LogConfig::new(dir, "unit.example/log");
    config.max_batch = max_batch;
    AuditLog::open(config, Signer).unwrap()
}

#[test]
fn readers_see_committed_entries_whose_derived_records_are_still_queued() {
    let tmp = Temp::new("queued");
    let (log, _) = open(&tmp.0, 64);
    for i in 0..5 {
        assert_eq!(log.append_blocking(leaf(i)).unwrap(), i);
    }
    // The files may lag the segments, never lead them.
    let (tree, offsets) = coverage(&OsStorage, &tmp.0);
    assert!(tree <= 5 && offsets <= 5, "{tree} {offsets}");
    let reader = LogReader::open(&tmp.0).unwrap();
    assert_eq!(reader.size(), 5);
    for i in 0..5 {
        assert_eq!(reader.entry(i).unwrap(), leaf(i));
    }
    let mut expected = Frontier::new();
    for i in 0..5 {
        expected.push(leaf_hash(&leaf(i)), |_| {});
    }
    assert_eq!(reader.root(), expected.root());
    drop(log);
}

#[test]
fn an_idle_writer_writes_out_its_derived_records() {
    let tmp = Temp::new("idle");
    let (log, _) = open(&tmp.0, 64);
    log.append_many((0..7).map(leaf).collect());
    let deadline = Instant::now() + Duration::from_secs(5);
    while coverage(&OsStorage, &tmp.0) != (7, 7) && Instant::now() < deadline {
        std::thread::sleep(DERIVED_IDLE_FLUSH / 2);
    }
    assert_eq!(coverage(&OsStorage, &tmp.0), (7, 7));
    drop(log);
}

#[test]
fn shutdown_and_checkpoints_write_out_derived_records() {
    let tmp = Temp::new("shutdown");
    let (log, _) = open(&tmp.0, 64);
    log.append_many((0..3).map(leaf).collect());
    log.checkpoint_now().unwrap();
    // The checkpoint wrote the files up to its size before signing.
    assert_eq!(coverage(&OsStorage, &tmp.0), (3, 3));
    log.append_many((3..11).map(leaf).collect());
    log.shutdown();
    assert_eq!(coverage(&OsStorage, &tmp.0), (11, 11));
    // The shutdown made them durable, so the next open rebuilds nothing.
    let (log, report) = open(&tmp.0, 64);
    assert_eq!(report.size, 11);
    assert_eq!(report.derived_rebuilt_from, 11);
    drop(log);
    // Without the mark, the files are trusted only as far as the latest
    // checkpoint, and the rest is rewritten.
    std::fs::remove_file(tmp.0.join("index").join("synced")).unwrap();
    let (log, report) = open(&tmp.0, 64);
    assert_eq!(report.derived_rebuilt_from, 3);
    drop(log);
}

#[test]
fn leaves_sent_together_share_batches_of_at_most_max_batch() {
    let tmp = Temp::new("many");
    let (log, _) = open(&tmp.0, 4);
    let mut leaves: Vec<Vec<u8>> = (0..10).map(leaf).collect();
    leaves.insert(3, vec![b'x'; MAX_LEAF_LEN + 1]);
    let results = log.append_many(leaves);
    assert!(matches!(
        results.get(3),
        Some(Err(AppendError::TooLarge { .. }))
    ));
    let indices: Vec<u64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(indices, (0..10).collect::<Vec<_>>());
    // 10 leaves with max_batch 4: batches of 4, 4 and 2.
    assert_eq!(log.stats().batches, 3);
    drop(log);
    let reader = LogReader::open(&tmp.0).unwrap();
    for i in 0..10 {
        assert_eq!(reader.entry(i).unwrap(), leaf(i));
    }
}
