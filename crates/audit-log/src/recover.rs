//! Bringing a log directory to a consistent committed state before the
//! writer starts: check the signed checkpoints, rebuild the derived files
//! past what was synced, quarantine and cut a torn tail that no checkpoint
//! covers.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_audit::merkle::{self, Completed, Frontier, empty_root};

use crate::OpenError;
use crate::checkpoints::{self, CheckpointStore, Stored};
use crate::derived::{self, DerivedWriter, TreeFiles};
use crate::scan::{self, Event, Scan, TornTail};
use crate::storage::{self, Cursor, OpenMode, Storage};

/// A log directory brought to its committed state.
pub(crate) struct Recovered {
    pub derived: DerivedWriter,
    pub frontier: Frontier,
    pub scan: Scan,
    /// The first entry whose derived records were rewritten.
    pub rebuilt_from: u64,
    pub checkpoints: RecoveredCheckpoints,
    /// Where the bytes of a cut torn tail were kept.
    pub quarantined: Option<PathBuf>,
}

/// Recovers the log in `dir` (see the crate docs): nothing a stored
/// checkpoint covers is ever cut, and a torn tail is copied to a synced
/// file under `quarantine/` before it is cut.
pub(crate) fn recover(storage: &Arc<dyn Storage>, dir: &Path) -> Result<Recovered, OpenError> {
    let stopped_cut = honour_stop_marker(storage.as_ref(), dir)?;
    // A writer that crashed may have left a whole batch in the page cache,
    // unsynced: it reads as committed, so it must be durable before the
    // derived files are marked durable over it or anything signs it.
    if let Some(last) = scan::list_segments(storage.as_ref(), dir)?.last() {
        storage
            .open(&last.path, OpenMode::Write)
            .and_then(|f| f.sync())
            .map_err(OpenError::io(&last.path))?;
    }
    let cp_path = checkpoints::all_path(dir);
    let loaded = checkpoints::load(storage.as_ref(), dir).map_err(OpenError::io(&cp_path))?;
    if let Some(offset) = loaded.damaged_at {
        return Err(OpenError::CheckpointsCorrupt {
            path: cp_path,
            offset,
        });
    }
    let latest = loaded.checkpoints.last().cloned();
    let signed = latest.as_ref().map_or(0, |c| c.size);
    let mut rebuilt =
        rebuild_derived(storage, dir, trusted_through(storage.as_ref(), dir, signed))?;
    let size = rebuilt.frontier.size();
    if let Some(cp) = &latest
        && cp.size > size
    {
        return Err(match &rebuilt.scan.tail {
            Some(tail) => OpenError::CheckpointedDamage {
                index: tail.lost.start,
                segment: tail.segment.clone(),
                offset: tail.offset,
                reason: tail.reason.clone(),
                checkpoint_size: cp.size,
            },
            None => OpenError::CheckpointAhead {
                path: cp_path,
                size,
                checkpoint_size: cp.size,
            },
        });
    }
    let mut quarantined = None;
    if let Some(tail) = &rebuilt.scan.tail {
        quarantined = Some(quarantine(storage.as_ref(), dir, tail)?);
        cut_tail(storage.as_ref(), tail)?;
        tracing::warn!(
            segment = %tail.segment.display(),
            offset = tail.offset,
            bytes = tail.bytes,
            lost = ?tail.lost,
            "cut a torn batch from the end of the audit log"
        );
    }
    let quarantined = quarantined.or(stopped_cut);
    if let Some(cp) = &latest
        && !signed_root_holds(storage.as_ref(), dir, cp, &rebuilt.frontier)
    {
        // The kept derived files may be damaged where the segments are not:
        // decide from the segments alone before calling it corruption.
        rebuilt = rebuild_derived(storage, dir, 0)?;
        if !signed_root_holds(storage.as_ref(), dir, cp, &rebuilt.frontier) {
            return Err(OpenError::Corrupt {
                index: cp.size.saturating_sub(1),
                segment: dir.join("segments"),
                offset: 0,
                reason: "the latest signed checkpoint's root differs from the tree of the segments at its size".into(),
            });
        }
    }
    let checkpoints = checkpoint_files(storage, dir, &loaded, latest)?;
    // Every name the log depends on durable in its directory, whatever an
    // earlier attempt managed: a segment created before its directory sync
    // failed, a `checkpoints` file whose creation was never synced.
    for d in [
        dir.to_owned(),
        dir.join("segments"),
        dir.join("tree"),
        dir.join("index"),
    ] {
        if storage.is_dir(&d) {
            storage.sync_dir(&d).map_err(OpenError::io(&d))?;
        }
    }
    Ok(Recovered {
        rebuilt_from: rebuilt.rebuilt_from,
        derived: rebuilt.derived,
        frontier: rebuilt.frontier,
        scan: rebuilt.scan,
        checkpoints,
        quarantined,
    })
}

/// How far the derived files may be trusted without re-deriving them: the
/// recorded durable mark, or, in a log written before the mark existed, the
/// latest checkpoint's size.
pub(crate) fn trusted_through(storage: &dyn Storage, dir: &Path, signed: u64) -> u64 {
    derived::synced_through(storage, dir).unwrap_or(signed)
}

/// Whether the tree of the recovered log has the root `cp` signs at its size.
fn signed_root_holds(storage: &dyn Storage, dir: &Path, cp: &Stored, frontier: &Frontier) -> bool {
    let at_size = if cp.size == frontier.size() {
        Some(frontier.root())
    } else {
        merkle::root(&TreeFiles::open(storage, dir, frontier.size()), cp.size).ok()
    };
    at_size == Some(cp.root)
}

/// The derived files rebuilt to match the segments, and the tree's edge.
pub(crate) struct Rebuilt {
    pub derived: DerivedWriter,
    pub frontier: Frontier,
    pub scan: Scan,
    /// The first entry whose derived records were rewritten.
    pub rebuilt_from: u64,
}

/// Cuts the derived files to what they cover and to `trusted` entries (how
/// far they are known durable), and rewrites the rest from the segments,
/// checking each batch's root on the way; when the kept part contradicts
/// the segments, rewrites them all.
///
/// The durable mark ([`derived::record_synced`]) is lowered to where the
/// rewrite starts before anything is rewritten, and raised to the end once
/// the rewritten files are synced: a crash in between leaves a mark that
/// claims nothing the disk may not hold.
pub(crate) fn rebuild_derived(
    storage: &Arc<dyn Storage>,
    dir: &Path,
    trusted: u64,
) -> Result<Rebuilt, OpenError> {
    let io_err = |(path, source)| OpenError::Io { path, source };
    let (tree_cov, offsets_cov) = derived::coverage(storage.as_ref(), dir);
    let mut from = tree_cov.min(offsets_cov).min(trusted);
    let marked = derived::synced_through(storage.as_ref(), dir);
    let lower = |from: u64| -> Result<(), OpenError> {
        if marked.is_none_or(|m| m > from) && storage.is_dir(&dir.join("index")) {
            derived::record_synced(storage.as_ref(), dir, from).map_err(io_err)?;
        }
        Ok(())
    };
    lower(from)?;
    loop {
        match rebuild_from(storage, dir, from)? {
            Ok(mut rebuilt) => {
                rebuilt.derived.sync().map_err(io_err)?;
                derived::record_synced(storage.as_ref(), dir, rebuilt.scan.size).map_err(io_err)?;
                return Ok(rebuilt);
            }
            // The stored nodes disagree with the segments: start over from
            // nothing, which only the segments decide.
            Err(_) if from > 0 => {
                from = 0;
                lower(0)?;
            }
            Err(damage) => return Err(damage),
        }
    }
}

type Attempt = Result<Rebuilt, OpenError>;

fn rebuild_from(storage: &Arc<dyn Storage>, dir: &Path, from: u64) -> Result<Attempt, OpenError> {
    let io_err = |(path, source)| OpenError::Io { path, source };
    let mut derived = DerivedWriter::open(Arc::clone(storage), dir, from).map_err(io_err)?;
    let tree = TreeFiles::open(storage.as_ref(), dir, from);
    let Ok(mut frontier) = Frontier::from_source(&tree, from) else {
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
    let scan = scan::scan(storage.as_ref(), dir, from, &mut sink)?;
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
        match Frontier::from_source(
            &TreeFiles::open(storage.as_ref(), dir, scan.size),
            scan.size,
        ) {
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

/// Copies a torn tail's bytes to `quarantine/<segment>.<offset>.torn`,
/// synced with its directory entry, so that cutting it loses nothing an
/// operator may need to look at.
fn quarantine(storage: &dyn Storage, dir: &Path, tail: &TornTail) -> Result<PathBuf, OpenError> {
    let qdir = dir.join("quarantine");
    storage::create_dir_durable(storage, &qdir)
        .map_err(|(path, source)| OpenError::Io { path, source })?;
    let seg_name = tail
        .segment
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let src_path = &tail.segment;
    let src = storage
        .open(src_path, OpenMode::Read)
        .map_err(OpenError::io(src_path))?;
    let mut bytes = Vec::new();
    Cursor::new(src, tail.offset)
        .read_to_end(&mut bytes)
        .map_err(OpenError::io(src_path))?;
    // A new name each time: an earlier copy is never overwritten.
    let mut k = 0u32;
    let (path, dst) = loop {
        let name = match k {
            0 => format!("{seg_name}.{}.torn", tail.offset),
            _ => format!("{seg_name}.{}.{k}.torn", tail.offset),
        };
        let path = qdir.join(name);
        match storage.open(&path, OpenMode::CreateNew) {
            Ok(f) => break (path, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && k < 10_000 => k += 1,
            Err(e) => return Err(OpenError::io(&path)(e)),
        }
    };
    let copy = || -> std::io::Result<()> {
        dst.write_all_at(&bytes, 0)?;
        dst.sync()?;
        storage.sync_dir(&qdir)
    };
    copy().map_err(OpenError::io(&path))?;
    Ok(path)
}

/// The marker a writer leaves when it stops with a segment it could not
/// restore: which segment, and its committed length.
pub(crate) fn stop_marker_path(dir: &Path) -> std::path::PathBuf {
    dir.join("STOPPED")
}

const STOP_TAG: &str = "cordon-writer-stopped";

/// The marker's text.
pub(crate) fn stop_marker(segment: &str, length: u64, reason: &str) -> String {
    let reason = reason.replace('\n', " ");
    format!("{STOP_TAG}\nsegment {segment}\nlength {length}\nreason {reason}\n")
}

/// Cuts what a stopped writer left after its committed length (keeping a
/// copy under `quarantine/`), then removes the marker.
fn honour_stop_marker(
    storage: &dyn Storage,
    dir: &Path,
) -> Result<Option<std::path::PathBuf>, OpenError> {
    let path = stop_marker_path(dir);
    let Some(bytes) = storage::read_file(storage, &path).map_err(OpenError::io(&path))? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let field =
        |line: Option<&str>, key: &str| line.and_then(|l| l.strip_prefix(key)).map(str::to_owned);
    let parsed = (lines.next() == Some(STOP_TAG))
        .then(|| {
            let segment = field(lines.next(), "segment ")?;
            let length = field(lines.next(), "length ")?.parse::<u64>().ok()?;
            Some((segment, length))
        })
        .flatten()
        .filter(|(s, _)| s.len() == 20 && s.ends_with(".seg") && !s.contains('/'));
    let Some((segment, length)) = parsed else {
        return Err(OpenError::Corrupt {
            index: 0,
            segment: path,
            offset: 0,
            reason: "the marker a stopped writer left does not read; compare its segment with `cordon audit verify`, cut what follows the last intact batch, then remove the marker".into(),
        });
    };
    let seg_path = dir.join("segments").join(&segment);
    let mut kept = None;
    if let Ok(len) = storage.file_len(&seg_path)
        && len > length
    {
        let tail = TornTail {
            segment: seg_path.clone(),
            offset: length,
            bytes: len - length,
            lost: 0..0,
            reason: "the batch a stopped writer refused".into(),
        };
        kept = Some(quarantine(storage, dir, &tail)?);
        cut_tail(storage, &tail)?;
        tracing::warn!(segment = %seg_path.display(), offset = length, bytes = len - length, "cut the batch a stopped audit log writer refused");
    }
    storage
        .remove_file(&path)
        .and_then(|()| storage.sync_dir(dir))
        .map_err(OpenError::io(&path))?;
    Ok(kept)
}

/// Cuts a torn tail off the last segment and makes the cut durable.
pub(crate) fn cut_tail(storage: &dyn Storage, tail: &TornTail) -> Result<(), OpenError> {
    let file = storage
        .open(&tail.segment, OpenMode::Write)
        .map_err(OpenError::io(&tail.segment))?;
    file.set_len(tail.offset)
        .and_then(|()| file.sync())
        .map_err(OpenError::io(&tail.segment))
}

/// The checkpoint files after recovery.
pub(crate) struct RecoveredCheckpoints {
    pub store: CheckpointStore,
    pub latest: Option<Stored>,
    pub count: usize,
    pub bytes_cut: u64,
}

/// Cuts a torn tail off `checkpoints` and restores the `checkpoint` file if
/// it is missing or stale.
fn checkpoint_files(
    storage: &Arc<dyn Storage>,
    dir: &Path,
    loaded: &checkpoints::Loaded,
    latest: Option<Stored>,
) -> Result<RecoveredCheckpoints, OpenError> {
    let path = checkpoints::all_path(dir);
    let store = CheckpointStore::open(Arc::clone(storage), dir, loaded.valid_len)
        .map_err(OpenError::io(&path))?;
    if let Some(cp) = &latest {
        let current = storage::read_file(storage.as_ref(), &checkpoints::latest_path(dir))
            .ok()
            .flatten();
        if current.as_deref() != Some(cp.text.as_bytes()) {
            checkpoints::write_latest(storage.as_ref(), dir, &cp.text)
                .map_err(|(path, source)| OpenError::Io { path, source })?;
        }
    }
    Ok(RecoveredCheckpoints {
        store,
        latest,
        count: loaded.checkpoints.len(),
        bytes_cut: loaded.file_len - loaded.valid_len,
    })
}
