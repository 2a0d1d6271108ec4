//! Bringing a log directory to a consistent committed state before the
//! writer starts: cut a torn tail, rebuild derived files, check checkpoints.

use std::fs::{self, OpenOptions};
use std::path::Path;

use cordon_audit::merkle::{self, Completed, Frontier, Hash, empty_root};

use crate::OpenError;
use crate::checkpoints::{self, CheckpointStore, Stored};
use crate::derived::{self, DerivedWriter, TreeFiles};
use crate::scan::{self, Event, Scan, TornTail};

/// The derived files rebuilt to match the segments, and the tree's edge.
pub(crate) struct Rebuilt {
    pub derived: DerivedWriter,
    pub frontier: Frontier,
    pub scan: Scan,
    /// The first entry whose derived records were rewritten.
    pub rebuilt_from: u64,
}

/// Cuts the derived files to what they cover and rewrites the rest from the
/// segments, checking each batch's root on the way.
///
/// Does not modify segments; a torn tail is reported in the scan.
pub(crate) fn rebuild_derived(dir: &Path) -> Result<Rebuilt, OpenError> {
    let (tree_cov, offsets_cov) = derived::coverage(dir);
    let mut from = tree_cov.min(offsets_cov);
    loop {
        match rebuild_from(dir, from)? {
            Ok(rebuilt) => return Ok(rebuilt),
            // The stored nodes disagree with the segments: start over from
            // nothing, which only the segments decide.
            Err(_) if from > 0 => from = 0,
            Err(damage) => return Err(damage),
        }
    }
}

type Attempt = Result<Rebuilt, OpenError>;

fn rebuild_from(dir: &Path, from: u64) -> Result<Attempt, OpenError> {
    let io_err = |(path, source)| OpenError::Io { path, source };
    let mut derived = DerivedWriter::open(dir, from).map_err(io_err)?;
    let Ok(mut frontier) = Frontier::from_source(&TreeFiles::open(dir), from) else {
        return Ok(Err(mismatch(dir, from, "a stored node could not be read")));
    };
    let mut nodes: Vec<Completed> = Vec::new();
    let mut offsets: Vec<u64> = Vec::new();
    let mut batch_first = from;
    let mut failure: Option<OpenError> = None;
    let mut sink = |event: Event| {
        if failure.is_some() {
            return;
        }
        match event {
            Event::Entry {
                index,
                hash,
                offset,
                ..
            } => {
                if index < from || index != frontier.size() {
                    return;
                }
                if offsets.is_empty() {
                    batch_first = index;
                }
                frontier.push(hash, |c| nodes.push(c));
                offsets.push(offset);
            }
            Event::BatchEnd {
                size, root, offset, ..
            } => {
                if size <= from || frontier.size() != size {
                    return;
                }
                if frontier.root() != root {
                    failure = Some(OpenError::Corrupt {
                        index: batch_first,
                        segment: dir.join("segments"),
                        offset,
                        reason: format!(
                            "the batch trailer's root for size {size} differs from the tree of its entries"
                        ),
                    });
                    return;
                }
                if let Err((path, source)) = derived.append(&nodes, batch_first, &offsets) {
                    failure = Some(OpenError::Io { path, source });
                }
                nodes.clear();
                offsets.clear();
            }
        }
    };
    let scan = scan::scan(dir, from, &mut sink)?;
    if let Some(failure) = failure {
        return match failure {
            OpenError::Io { .. } => Err(failure),
            other => Ok(Err(other)),
        };
    }
    if let Some(damage) = scan.damage.clone() {
        return Err(damage.into_open_error());
    }
    let rebuilt_from = from.min(scan.size);
    if from > scan.size {
        // The derived files ran ahead of a tail that was cut.
        derived.truncate(scan.size).map_err(io_err)?;
        match Frontier::from_source(&TreeFiles::open(dir), scan.size) {
            Ok(f) => frontier = f,
            Err(_) => {
                return Ok(Err(mismatch(
                    dir,
                    scan.size,
                    "a stored node could not be read",
                )));
            }
        }
    }
    let root = if scan.size == 0 {
        empty_root()
    } else {
        scan.root
    };
    if frontier.size() != scan.size || frontier.root() != root {
        return Ok(Err(mismatch(
            dir,
            scan.size,
            "the stored tree does not lead to the last batch's root",
        )));
    }
    derived.flush().map_err(io_err)?;
    Ok(Ok(Rebuilt {
        derived,
        frontier,
        scan,
        rebuilt_from,
    }))
}

fn mismatch(dir: &Path, at: u64, reason: &str) -> OpenError {
    OpenError::Corrupt {
        index: at,
        segment: dir.join("tree"),
        offset: 0,
        reason: reason.to_owned(),
    }
}

/// Cuts a torn tail off the last segment and makes the cut durable.
pub(crate) fn cut_tail(tail: &TornTail) -> Result<(), OpenError> {
    let file = OpenOptions::new()
        .write(true)
        .open(&tail.segment)
        .map_err(OpenError::io(&tail.segment))?;
    file.set_len(tail.offset)
        .and_then(|()| file.sync_all())
        .map_err(OpenError::io(&tail.segment))
}

/// The checkpoint files after recovery.
pub(crate) struct RecoveredCheckpoints {
    pub store: CheckpointStore,
    pub latest: Option<Stored>,
    pub count: usize,
    pub bytes_cut: u64,
}

/// Cuts a torn tail off `checkpoints`, refuses checkpoints beyond `size`, and
/// restores the `checkpoint` file if it is missing or stale.
pub(crate) fn checkpoints(
    dir: &Path,
    size: u64,
    root: &Hash,
) -> Result<RecoveredCheckpoints, OpenError> {
    let path = checkpoints::all_path(dir);
    let loaded = checkpoints::load(dir).map_err(OpenError::io(&path))?;
    if let Some(offset) = loaded.damaged_at {
        return Err(OpenError::CheckpointsCorrupt { path, offset });
    }
    let count = loaded.checkpoints.len();
    let latest = loaded.checkpoints.last().cloned();
    if let Some(cp) = &latest {
        if cp.size > size {
            return Err(OpenError::CheckpointAhead {
                path,
                size,
                checkpoint_size: cp.size,
            });
        }
        let at_size = if cp.size == size {
            Some(*root)
        } else {
            merkle::root(&TreeFiles::open(dir), cp.size).ok()
        };
        if at_size != Some(cp.root) {
            return Err(OpenError::Corrupt {
                index: cp.size.saturating_sub(1),
                segment: dir.join("segments"),
                offset: 0,
                reason: "the latest signed checkpoint's root differs from the tree of the segments at its size".into(),
            });
        }
    }
    let store = CheckpointStore::open(dir, loaded.valid_len).map_err(OpenError::io(&path))?;
    if let Some(cp) = &latest {
        let current = fs::read_to_string(checkpoints::latest_path(dir)).ok();
        if current.as_deref() != Some(cp.text.as_str()) {
            checkpoints::write_latest(dir, &cp.text)
                .map_err(|(path, source)| OpenError::Io { path, source })?;
        }
    }
    Ok(RecoveredCheckpoints {
        store,
        latest,
        count,
        bytes_cut: loaded.file_len - loaded.valid_len,
    })
}
