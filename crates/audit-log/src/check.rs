//! Checking the derived files against the segments, and rebuilding them,
//! for operators (`cordon audit check`).
//!
//! The derived files (`tree/`, `index/offsets`, the `checkpoint` file) hold
//! nothing the segments and the `checkpoints` file do not, so they can
//! always be recomputed; but a reader trusts them as far as the latest
//! checkpoint, and tiles served from them are cached for a year. A bit that
//! flips inside that range after the sync is noticed only by reading every
//! record against the segments, which is what [`check_derived`] does.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_audit::merkle::{Frontier, Hash};

use crate::OpenError;
use crate::checkpoints;
use crate::derived::{self, DerivedWriter};
use crate::recover;
use crate::scan::{self, Event, TornTail};
use crate::storage::{self, Cursor, LockError, OpenMode, Storage};

/// How many problems a check lists; the rest are only counted.
pub const MAX_LISTED: usize = 20;

/// One derived record that differs from what the segments derive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedProblem {
    /// The derived file.
    pub path: PathBuf,
    /// The record's position in the file (node index, or entry index).
    pub record: u64,
    /// What is wrong.
    pub reason: String,
}

/// Whether the `checkpoint` file is the latest stored checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatestCheckpoint {
    /// No checkpoint is stored, so none is expected.
    NoneStored,
    /// It holds the latest stored checkpoint.
    Matches,
    /// It is missing or holds another text.
    Stale,
}

/// What [`check_derived`] compared and found.
#[derive(Debug, Clone)]
pub struct DerivedCheck {
    /// Entries in the segments, up to any damage.
    pub entries: u64,
    /// Node hashes compared with the tree files.
    pub nodes: u64,
    /// Entry offsets compared with the offsets file.
    pub offsets: u64,
    /// The first [`MAX_LISTED`] problems.
    pub problems: Vec<DerivedProblem>,
    /// How many problems there are in all.
    pub problem_count: u64,
    /// The `checkpoint` file's state.
    pub latest: LatestCheckpoint,
    /// Damage in the segments that stopped the scan: `verify` says more.
    pub segment_damage: Option<String>,
    /// An uncommitted tail at the end of the last segment.
    pub torn_tail: Option<TornTail>,
    /// Whether a writer held the log during the check (or its lock could
    /// not be taken): its files may then lag or lead the scan, which is not
    /// counted as a problem.
    pub writer_running: bool,
}

impl DerivedCheck {
    /// Whether the derived files agree with the segments.
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0 && self.latest != LatestCheckpoint::Stale
    }

    fn problem(&mut self, path: PathBuf, record: u64, reason: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(DerivedProblem {
                path,
                record,
                reason,
            });
        }
    }
}

/// A derived file read front to back, record by record.
struct Records {
    path: PathBuf,
    reader: Option<BufReader<Cursor>>,
    /// Records the file holds.
    len: u64,
    /// Records read so far.
    read: u64,
}

impl Records {
    fn open(storage: &dyn Storage, path: PathBuf, width: u64) -> Self {
        let file = storage.open(&path, OpenMode::Read).ok();
        let len = file
            .as_ref()
            .and_then(|f| f.size().ok())
            .map_or(0, |n| n / width);
        Self {
            path,
            reader: file.map(|f| BufReader::with_capacity(1 << 16, Cursor::new(f, 0))),
            len,
            read: 0,
        }
    }

    /// The next record, `None` past the end of the file.
    fn next<const N: usize>(&mut self) -> std::io::Result<Option<[u8; N]>> {
        if self.read >= self.len {
            return Ok(None);
        }
        let Some(reader) = &mut self.reader else {
            return Ok(None);
        };
        let mut buf = [0u8; N];
        reader.read_exact(&mut buf)?;
        self.read += 1;
        Ok(Some(buf))
    }
}

/// Recomputes every node hash and entry offset from the segments and
/// compares each with the derived files; checks that the `checkpoint` file
/// holds the latest stored checkpoint. Reads only.
///
/// # Errors
/// When a segment or derived file cannot be read.
pub fn check_derived(storage: &dyn Storage, dir: &Path) -> Result<DerivedCheck, OpenError> {
    // Held through the check, so no writer starts half-way. A copy the
    // checker cannot write to (an auditor's) cannot be locked: it is checked
    // as if a writer might be running, which only spares lagging files.
    let guard = storage.lock(&dir.join("LOCK")).ok();
    let writer_running = guard.is_none();
    let mut out = DerivedCheck {
        entries: 0,
        nodes: 0,
        offsets: 0,
        problems: Vec::new(),
        problem_count: 0,
        latest: LatestCheckpoint::NoneStored,
        segment_damage: None,
        torn_tail: None,
        writer_running,
    };
    let mut trees: Vec<Records> = Vec::new();
    let mut offsets = Records::open(storage, derived::offsets_path(dir), 8);
    let mut frontier = Frontier::new();
    let mut failure: Option<OpenError> = None;
    let mut sink = |event: Event| {
        if failure.is_some() {
            return;
        }
        let Event::Entry {
            index,
            hash,
            offset,
        } = event
        else {
            return;
        };
        if index != frontier.size() {
            return;
        }
        let mut completed = Vec::new();
        frontier.push(hash, |c| completed.push(c));
        match offsets.next::<8>() {
            Ok(Some(stored)) => {
                out.offsets += 1;
                if u64::from_be_bytes(stored) != offset {
                    out.problem(
                        offsets.path.clone(),
                        index,
                        format!(
                            "entry {index} is at byte {offset} of its segment, the file says byte {}",
                            u64::from_be_bytes(stored)
                        ),
                    );
                }
            }
            Ok(None) => {}
            Err(e) => {
                failure = Some(OpenError::io(offsets.path.clone())(e));
                return;
            }
        }
        for node in completed {
            let h = node.height as usize;
            while trees.len() <= h {
                let path = derived::tree_path(dir, trees.len() as u32);
                trees.push(Records::open(storage, path, 32));
            }
            let Some(file) = trees.get_mut(h) else {
                continue;
            };
            match file.next::<32>() {
                Ok(Some(stored)) => {
                    out.nodes += 1;
                    if stored != node.hash {
                        out.problem(
                            file.path.clone(),
                            node.index,
                            format!(
                                "node {} at height {} differs from the hash of the entries below it",
                                node.index, node.height
                            ),
                        );
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    failure = Some(OpenError::io(file.path.clone())(e));
                    return;
                }
            }
        }
    };
    let scanned = scan::scan(storage, dir, 0, &mut sink)?;
    if let Some(e) = failure {
        return Err(e);
    }
    out.entries = scanned.size;
    out.segment_damage = scanned.damage.map(|d| d.to_string());
    out.torn_tail = scanned.tail;
    if !writer_running && out.segment_damage.is_none() {
        // Records past what the segments derive: the files lead the log.
        let extra = |len: u64, derivable: u64| len.saturating_sub(derivable);
        for (h, file) in trees.iter().enumerate() {
            let n = extra(file.len, scanned.size >> h);
            if n > 0 {
                let (path, at) = (file.path.clone(), scanned.size >> h);
                out.problem(path, at, format!("{n} node(s) past the end of the log"));
            }
        }
        let n = extra(offsets.len, scanned.size);
        if n > 0 {
            let path = offsets.path.clone();
            out.problem(
                path,
                scanned.size,
                format!("{n} offset(s) past the end of the log"),
            );
        }
    }
    let cp_path = checkpoints::all_path(dir);
    let loaded = checkpoints::load(storage, dir).map_err(OpenError::io(&cp_path))?;
    if let Some(cp) = loaded.checkpoints.last() {
        let current = storage::read_file(storage, &checkpoints::latest_path(dir))
            .map_err(OpenError::io(checkpoints::latest_path(dir)))?;
        out.latest = if current.as_deref() == Some(cp.text.as_bytes()) {
            LatestCheckpoint::Matches
        } else {
            LatestCheckpoint::Stale
        };
    }
    Ok(out)
}

/// What [`repair_derived`] did.
#[derive(Debug, Clone)]
pub struct Repair {
    /// Entries in the log.
    pub entries: u64,
    /// The root of their tree.
    pub root: Hash,
    /// A torn tail that no checkpoint covered, cut as on every open.
    pub cut: Option<TornTail>,
    /// Where the cut bytes were kept.
    pub quarantined: Option<PathBuf>,
}

/// Rewrites every derived file from the segments and restores the
/// `checkpoint` file, under the log's lock, with the same recovery as
/// opening the writer (which refuses to cut anything a checkpoint covers).
///
/// # Errors
/// [`OpenError::Locked`] while a writer runs, the recovery's refusals, or
/// I/O errors.
pub fn repair_derived(storage: &Arc<dyn Storage>, dir: &Path) -> Result<Repair, OpenError> {
    let lock_path = dir.join("LOCK");
    let _guard = match storage.lock(&lock_path) {
        Ok(guard) => guard,
        Err(LockError::Held) => {
            return Err(OpenError::Locked {
                dir: dir.to_owned(),
            });
        }
        Err(LockError::Io(e)) => return Err(OpenError::io(&lock_path)(e)),
    };
    // Nothing of the files may be trusted while they are rewritten.
    crate::derived::record_synced(storage.as_ref(), dir, 0)
        .map_err(|(path, source)| OpenError::Io { path, source })?;
    let mut emptied = DerivedWriter::open(Arc::clone(storage), dir, 0)
        .map_err(|(path, source)| OpenError::Io { path, source })?;
    emptied
        .sync()
        .map_err(|(path, source)| OpenError::Io { path, source })?;
    drop(emptied);
    let recovered = recover::recover(storage, dir)?;
    let mut derived = recovered.derived;
    derived
        .sync()
        .map_err(|(path, source)| OpenError::Io { path, source })?;
    Ok(Repair {
        entries: recovered.frontier.size(),
        root: recovered.frontier.root(),
        cut: recovered.scan.tail,
        quarantined: recovered.quarantined,
    })
}
