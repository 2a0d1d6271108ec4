//! Full verification: re-read every byte, recompute every hash.

use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc;

use cordon_audit::merkle::{self, Hash, MemoryTree, leaf_hash};

use crate::checkpoints;
use crate::format::{BadRecord, EntryMeta, RecordInfo, RecordReader, Step};
use crate::scan;
use crate::storage::{Cursor, OpenMode, Storage};
use crate::{CheckpointVerifier, LogReader, ReadError, VerifyError};

/// What a successful verification checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries whose bytes, hashes and positions were checked.
    pub entries: u64,
    /// Batch records whose checksums and roots were checked.
    pub batches: u64,
    /// Segment files read.
    pub segments: usize,
    /// Checkpoints opened and checked against the recomputed tree.
    pub checkpoints: usize,
    /// The recomputed root of all entries.
    pub root: Hash,
    /// Bytes of an uncommitted tail at the end of the last segment, which a
    /// writer cuts on open.
    pub ignored_tail_bytes: u64,
}

enum Msg {
    /// Segment `segment` is read next.
    Segment(usize),
    Record {
        segment: usize,
        info: RecordInfo,
        entries: Vec<EntryMeta>,
        data: Vec<u8>,
    },
    Bad {
        segment: usize,
        bad: BadRecord,
        torn: bool,
        bytes: u64,
    },
    Failed(ReadError),
}

/// The leaves of one batch record, handed out by [`verify_each`] once the
/// record's checksum, every leaf's index and hash, and the tree root in its
/// trailer have been checked.
///
/// The bytes are the record's own buffer, moved out rather than copied, so a
/// caller can send them to another thread as they are.
#[derive(Debug)]
pub struct VerifiedLeaves {
    first: u64,
    entries: Vec<EntryMeta>,
    data: Vec<u8>,
}

impl VerifiedLeaves {
    /// The index of the first leaf.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// How many leaves the record holds (never zero: an empty record does
    /// not verify).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each leaf with its index, in log order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u64, &[u8])> + '_ {
        self.entries.iter().map(|e| {
            let bytes = self
                .data
                .get(e.data_start..e.data_start + e.len)
                .unwrap_or_default();
            (e.index, bytes)
        })
    }
}

/// Recomputes the log in `reader`'s directory from its segment bytes and
/// checks everything stored against it: each entry's hash and index, each
/// batch's checksum and (size, root) trailer, and every stored checkpoint
/// (signature through `verifier`, root at its size, and consistency with the
/// one before it, [RFC 9162 §2.1.4](https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4)).
///
/// Segments are read sequentially by one thread (which also checks batch
/// checksums) while another hashes leaves and builds the tree.
///
/// # Errors
/// The first discrepancy, naming the first bad entry, batch or checkpoint.
pub fn verify(
    reader: &LogReader,
    verifier: &dyn CheckpointVerifier,
) -> Result<VerifyReport, VerifyError> {
    verify_each(reader, verifier, |_| ControlFlow::Continue(()))
}

/// [`verify()`], handing every record's leaves to `sink` as soon as that
/// record has been checked, so a caller that needs the leaves reads the log
/// once instead of verifying it and then reading it again.
///
/// A leaf handed out is only proven part of an intact log once this returns
/// `Ok`: damage later in the log, or a checkpoint that does not match,
/// still fails the whole verification, so a caller must hold back whatever
/// it derives from the leaves until then. `sink` runs on the verifying
/// thread in log order; when it breaks it gets no more leaves, and the
/// verification still runs to the end.
///
/// # Errors
/// As [`verify()`].
pub fn verify_each(
    reader: &LogReader,
    verifier: &dyn CheckpointVerifier,
    mut sink: impl FnMut(VerifiedLeaves) -> ControlFlow<()>,
) -> Result<VerifyReport, VerifyError> {
    let dir = reader.dir();
    let storage = reader.storage().as_ref();
    let segments = scan::list_segments(storage, dir).map_err(|e| {
        VerifyError::Read(ReadError::Io {
            path: dir.join("segments"),
            offset: 0,
            source: std::io::Error::other(e.to_string()),
        })
    })?;
    let (tx, rx) = mpsc::sync_channel::<Msg>(8);
    let mut tree = MemoryTree::new();
    let mut report = VerifyReport {
        entries: 0,
        batches: 0,
        segments: segments.len(),
        checkpoints: 0,
        root: merkle::empty_root(),
        ignored_tail_bytes: 0,
    };
    std::thread::scope(|s| -> Result<(), VerifyError> {
        let segments = &segments;
        let parse = s.spawn(move || read_segments(storage, segments, &tx));
        let mut sinking = true;
        for msg in rx {
            match msg {
                // Every segment, empty ones included, must be named for the
                // entry that comes next.
                Msg::Segment(segment) => {
                    let (first, path) = segments
                        .get(segment)
                        .map_or((u64::MAX, Path::new("")), |s| (s.first, s.path.as_path()));
                    if first != tree.size() {
                        return Err(VerifyError::Batch {
                            index: tree.size(),
                            segment: path.to_owned(),
                            offset: 0,
                            reason: format!(
                                "the segment is named for entry {first} but entry {} comes next",
                                tree.size()
                            ),
                        });
                    }
                }
                Msg::Record {
                    segment,
                    info,
                    entries,
                    data,
                } => {
                    let path = segments
                        .get(segment)
                        .map_or(Path::new(""), |s| s.path.as_path());
                    check_record(&mut tree, path, &info, &entries, &data)?;
                    report.batches += 1;
                    if sinking {
                        let leaves = VerifiedLeaves {
                            first: info.first,
                            entries,
                            data,
                        };
                        sinking = sink(leaves).is_continue();
                    }
                }
                Msg::Bad {
                    segment,
                    bad,
                    torn,
                    bytes,
                } => {
                    if torn {
                        report.ignored_tail_bytes = bytes;
                        continue;
                    }
                    let path = segments
                        .get(segment)
                        .map(|s| s.path.clone())
                        .unwrap_or_default();
                    let base = tree.size();
                    let described = bad.kind;
                    return Err(match bad.bad_entry {
                        Some((k, stored)) => {
                            let index = base + u64::from(k);
                            let reason = if stored == index {
                                format!("its bytes do not match its stored hash ({described})")
                            } else {
                                format!(
                                    "the log holds entry {stored} where entry {index} belongs: entries were removed, inserted or reordered ({described})"
                                )
                            };
                            VerifyError::Entry {
                                index,
                                segment: path,
                                offset: bad.offset,
                                reason,
                            }
                        }
                        None => VerifyError::Batch {
                            index: base,
                            segment: path,
                            offset: bad.offset,
                            reason: format!("{described}; intact batches follow it"),
                        },
                    });
                }
                Msg::Failed(e) => return Err(e.into()),
            }
        }
        // The parser ends on its own once the channel closes or input ends.
        let _ = parse.join();
        Ok(())
    })?;
    report.entries = tree.size();
    report.root = tree.root();
    report.checkpoints = check_checkpoints(reader, &tree, verifier)?;
    Ok(report)
}

/// Parses every segment in order and sends its records; stops at the first
/// bad record.
fn read_segments(
    storage: &dyn Storage,
    segments: &[scan::SegmentInfo],
    tx: &mpsc::SyncSender<Msg>,
) {
    let count = segments.len();
    for (k, seg) in segments.iter().enumerate() {
        if tx.send(Msg::Segment(k)).is_err() {
            return;
        }
        let file = match storage.open(&seg.path, OpenMode::Read) {
            Ok(f) => f,
            Err(source) => {
                let _ = tx.send(Msg::Failed(ReadError::Io {
                    path: seg.path.clone(),
                    offset: 0,
                    source,
                }));
                return;
            }
        };
        let mut reader =
            RecordReader::new(BufReader::with_capacity(8 << 20, Cursor::new(file, 0)), 0);
        loop {
            let step = match reader.next_record() {
                Ok(s) => s,
                Err(source) => {
                    let _ = tx.send(Msg::Failed(ReadError::Io {
                        path: seg.path.clone(),
                        offset: reader.pos(),
                        source,
                    }));
                    return;
                }
            };
            let msg = match step {
                Step::End => break,
                Step::Record(info) => {
                    let (entries, data) = reader.take_record();
                    Msg::Record {
                        segment: k,
                        info,
                        entries,
                        data,
                    }
                }
                Step::Bad(bad) => {
                    // An unreadable file counts as data after the bad record: not torn.
                    let torn = k + 1 == count
                        && !scan::valid_record_after(storage, &seg.path, bad.offset + 1)
                            .unwrap_or(true);
                    let _ = tx.send(Msg::Bad {
                        segment: k,
                        bad,
                        torn,
                        bytes: seg.len.saturating_sub(bad.offset),
                    });
                    return;
                }
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    }
}

fn check_record(
    tree: &mut MemoryTree,
    path: &std::path::Path,
    info: &RecordInfo,
    entries: &[EntryMeta],
    data: &[u8],
) -> Result<(), VerifyError> {
    for e in entries {
        let expected = tree.size();
        let bad = |reason: String| VerifyError::Entry {
            index: expected,
            segment: path.to_owned(),
            offset: e.offset,
            reason,
        };
        if e.index != expected {
            return Err(bad(format!(
                "the log holds entry {} where entry {expected} belongs: entries were removed, inserted or reordered",
                e.index
            )));
        }
        let bytes = data
            .get(e.data_start..e.data_start + e.len)
            .unwrap_or_default();
        let h = leaf_hash(bytes);
        if h != e.hash {
            return Err(bad("its bytes do not match its stored hash".into()));
        }
        tree.push(h);
    }
    if info.size != tree.size() || info.root != tree.root() {
        return Err(VerifyError::Batch {
            index: info.first,
            segment: path.to_owned(),
            offset: info.offset,
            reason: format!(
                "the trailer's root for size {} differs from the tree recomputed from the entries",
                info.size
            ),
        });
    }
    Ok(())
}

fn check_checkpoints(
    reader: &LogReader,
    tree: &MemoryTree,
    verifier: &dyn CheckpointVerifier,
) -> Result<usize, VerifyError> {
    let dir = reader.dir();
    let loaded =
        checkpoints::load(reader.storage().as_ref(), dir).map_err(|source| ReadError::Io {
            path: checkpoints::all_path(dir),
            offset: 0,
            source,
        })?;
    if let Some(offset) = loaded.damaged_at {
        return Err(VerifyError::Checkpoint {
            number: loaded.checkpoints.len(),
            reason: format!("the record at byte {offset} of `checkpoints` is damaged"),
        });
    }
    let mut previous: Option<(u64, Hash)> = None;
    for (number, cp) in loaded.checkpoints.iter().enumerate() {
        let bad = |reason: String| VerifyError::Checkpoint { number, reason };
        let (size, root) = verifier
            .open(&cp.text)
            .map_err(|e| bad(format!("it does not verify: {e}")))?;
        if (size, root) != (cp.size, cp.root) {
            return Err(bad(
                "the size and root stored beside it differ from the signed ones".into(),
            ));
        }
        if size > tree.size() {
            return Err(bad(format!(
                "it signs {size} entries but the segments hold {}",
                tree.size()
            )));
        }
        let actual = merkle::root(tree, size).map_err(|e| bad(e.to_string()))?;
        if actual != root {
            return Err(bad(format!(
                "its root differs from the tree recomputed from the first {size} entries"
            )));
        }
        if let Some((old, old_root)) = previous {
            if size < old {
                return Err(bad(format!(
                    "it signs {size} entries, fewer than the {old} of the checkpoint before it"
                )));
            }
            let proof =
                merkle::consistency_proof(tree, old, size).map_err(|e| bad(e.to_string()))?;
            merkle::verify_consistency(old, size, &old_root, &root, &proof).map_err(|e| {
                bad(format!(
                    "it is not consistent with the checkpoint before it: {e}"
                ))
            })?;
        }
        previous = Some((size, root));
    }
    Ok(loaded.checkpoints.len())
}

#[cfg(test)]
mod tests;
