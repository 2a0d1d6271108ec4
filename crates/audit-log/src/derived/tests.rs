use std::fs::{self, File};
use std::os::unix::fs::FileExt;

use crate::storage::{self as st, OsStorage};

use super::*;

#[test]
fn coverage_is_limited_by_the_shortest_height() {
    // A complete tree of 5 leaves: 5, 2 and 1 nodes at heights 0, 1, 2.
    let full = |h: u32| [5u64, 2, 1].get(h as usize).copied().unwrap_or(0);
    assert_eq!(tree_coverage(full), 5);
    // Height 1 lost its second node: only leaves 0..2 are fully covered, and
    // leaf 2 starts a node that must be recomputed.
    let short = |h: u32| [5u64, 1, 1].get(h as usize).copied().unwrap_or(0);
    assert_eq!(tree_coverage(short), 3);
    // Nothing stored covers nothing.
    assert_eq!(tree_coverage(|_| 0), 0);
    // Files ahead of a tree do not limit it.
    let ahead = |h: u32| [9u64, 4, 2, 1].get(h as usize).copied().unwrap_or(0);
    assert_eq!(tree_coverage(ahead), 9);
}

struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "cordon-audit-log-derived-{}-{name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Temp(p)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Appends leaves `first..first + n` as one batch to `w`, tracking `frontier`.
fn append_leaves(
    w: &mut DerivedWriter,
    frontier: &mut cordon_audit::merkle::Frontier,
    first: u64,
    n: u64,
) {
    let mut nodes = Vec::new();
    for i in first..first + n {
        frontier.push(cordon_audit::merkle::leaf_hash(&i.to_be_bytes()), |c| {
            nodes.push(c)
        });
    }
    let offsets: Vec<u64> = (first..first + n).map(|i| i * 100).collect();
    w.append(&nodes, first, &offsets).unwrap();
}

#[test]
fn appends_stay_in_memory_until_flushed_and_files_stay_prefixes() {
    let tmp = Temp::new("buffer");
    let mut w = DerivedWriter::open(st::os(), &tmp.0, 0).unwrap();
    let mut f = cordon_audit::merkle::Frontier::new();
    append_leaves(&mut w, &mut f, 0, 5);
    append_leaves(&mut w, &mut f, 5, 3);
    assert!(w.has_pending());
    // Nothing written yet: a reader sees empty files and covers nothing.
    assert_eq!(coverage(&OsStorage, &tmp.0), (0, 0));

    w.flush().unwrap();
    assert!(!w.has_pending());
    assert_eq!(coverage(&OsStorage, &tmp.0), (8, 8));
    assert_eq!(file_len(&OsStorage, &tree_path(&tmp.0, 0)), 8 * 32);
    assert_eq!(file_len(&OsStorage, &tree_path(&tmp.0, 3)), 32);
    let files = TreeFiles::open(&OsStorage, &tmp.0, u64::MAX);
    let from_files = cordon_audit::merkle::Frontier::from_source(&files, 8).unwrap();
    assert_eq!(from_files.root(), f.root());
    let mut offsets = vec![0u8; 8];
    File::open(offsets_path(&tmp.0))
        .unwrap()
        .read_exact_at(&mut offsets, 7 * 8)
        .unwrap();
    assert_eq!(u64::from_be_bytes(offsets.try_into().unwrap()), 700);
}

#[test]
fn pending_records_count_when_checking_for_gaps() {
    let tmp = Temp::new("gap");
    let mut w = DerivedWriter::open(st::os(), &tmp.0, 0).unwrap();
    let mut f = cordon_audit::merkle::Frontier::new();
    append_leaves(&mut w, &mut f, 0, 4);
    // Entry 4 is next, queued or not; 3 or 5 would leave a hole.
    assert!(w.append(&[], 5, &[1]).is_err());
    assert!(w.append(&[], 3, &[1]).is_err());
    append_leaves(&mut w, &mut f, 4, 1);
    w.flush().unwrap();
    assert_eq!(coverage(&OsStorage, &tmp.0), (5, 5));
}

#[test]
fn a_full_buffer_is_written_without_a_flush() {
    let tmp = Temp::new("threshold");
    let mut w = DerivedWriter::open(st::os(), &tmp.0, 0).unwrap();
    let mut f = cordon_audit::merkle::Frontier::new();
    // About 72 bytes per entry (a node at height 0, one more node on
    // average above it, and an offset): this passes FLUSH_BYTES.
    let n = (FLUSH_BYTES / 64) as u64;
    let mut first = 0;
    while first < n {
        append_leaves(&mut w, &mut f, first, 10);
        first += 10;
    }
    let (tree, offsets) = coverage(&OsStorage, &tmp.0);
    assert!(offsets > 0 && offsets <= first, "{offsets}");
    assert!(tree > 0, "{tree}");
    // Truncating writes out the rest first, then cuts.
    w.truncate(first - 3).unwrap();
    assert!(!w.has_pending());
    assert_eq!(coverage(&OsStorage, &tmp.0), (first - 3, first - 3));
}
