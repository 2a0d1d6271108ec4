//! Finding the committed end of the segments, shared by the writer's recovery
//! and the read-only reader.
//!
//! Only the last segment can hold a torn batch: a segment is sealed once a
//! later one exists, and every batch in it was synced before. So sealed
//! segments before the scan start are checked cheaply (their last record,
//! found from the end, must be intact and end where the next segment
//! starts), and segments from the scan start on are parsed record by record.

use std::io::{BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};

use cordon_audit::merkle::{Hash, empty_root};

use crate::OpenError;
use crate::format::{self, RecordReader, Step, TRAILER_LEN};
use crate::storage::{self, Cursor, OpenMode, Storage};

/// A segment file.
#[derive(Debug, Clone)]
pub(crate) struct SegmentInfo {
    /// Index of its first entry (also its file name).
    pub first: u64,
    /// Its path.
    pub path: PathBuf,
    /// Bytes of committed records (the file may be longer by a torn tail).
    pub len: u64,
}

/// A torn tail found at the end of the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file.
    pub segment: PathBuf,
    /// Where the committed records end.
    pub offset: u64,
    /// How many bytes follow them.
    pub bytes: u64,
    /// Entries the torn batch claimed, when its header was readable; they
    /// were never durable, or were damaged after they were.
    pub lost: Range<u64>,
    /// Why the tail record was rejected.
    pub reason: String,
}

/// Damage in the middle of the log.
#[derive(Debug, Clone)]
pub(crate) struct Damage {
    pub index: u64,
    pub segment: PathBuf,
    pub offset: u64,
    pub reason: String,
}

/// `entry N (`segment`, byte B): reason`, for messages.
impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entry {} (`{}`, byte {}): {}",
            self.index,
            self.segment.display(),
            self.offset,
            self.reason
        )
    }
}

impl Damage {
    pub(crate) fn into_open_error(self) -> OpenError {
        OpenError::Corrupt {
            index: self.index,
            segment: self.segment,
            offset: self.offset,
            reason: self.reason,
        }
    }
}

/// What a scan saw, in order.
pub(crate) enum Event {
    /// An entry of a valid record.
    Entry { index: u64, hash: Hash, offset: u64 },
    /// The end of a valid record and the tree it claims.
    BatchEnd { size: u64, root: Hash, offset: u64 },
}

/// The committed state of the segments.
#[derive(Debug)]
pub(crate) struct Scan {
    pub segments: Vec<SegmentInfo>,
    /// Entries committed before any damage.
    pub size: u64,
    /// The root claimed by the last committed batch.
    pub root: Hash,
    pub tail: Option<TornTail>,
    pub damage: Option<Damage>,
}

/// The name of the segment starting at `first`.
pub(crate) fn segment_name(first: u64) -> String {
    format!("{first:016x}.seg")
}

/// Lists `<dir>/segments/*.seg` in index order.
pub(crate) fn list_segments(
    storage: &dyn Storage,
    dir: &Path,
) -> Result<Vec<SegmentInfo>, OpenError> {
    let seg_dir = dir.join("segments");
    let names = match storage.list(&seg_dir) {
        Ok(names) => names,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(OpenError::io(&seg_dir)(e)),
    };
    let mut out = Vec::new();
    for name in names {
        let Some(stem) = name.strip_suffix(".seg") else {
            continue;
        };
        let Ok(first) = u64::from_str_radix(stem, 16) else {
            continue;
        };
        if stem.len() != 16 {
            continue;
        }
        let path = seg_dir.join(&name);
        let len = storage.file_len(&path).map_err(OpenError::io(&path))?;
        out.push(SegmentInfo { first, path, len });
    }
    out.sort_by_key(|s| s.first);
    Ok(out)
}

/// Scans the log in `dir`: sealed segments wholly before entry `from` get the
/// cheap check, the rest are parsed and reported to `sink`.
pub(crate) fn scan(
    storage: &dyn Storage,
    dir: &Path,
    from: u64,
    sink: &mut dyn FnMut(Event),
) -> Result<Scan, OpenError> {
    let mut segments = list_segments(storage, dir)?;
    let mut out = Scan {
        segments: Vec::new(),
        size: 0,
        root: empty_root(),
        tail: None,
        damage: None,
    };
    let Some(last_first) = segments.last().map(|s| s.first) else {
        return Ok(out);
    };
    let parse_from = segments
        .iter()
        .rposition(|s| s.first <= from.min(last_first))
        .unwrap_or(0);
    let count = segments.len();
    let mut expected = 0u64;
    for (i, seg) in segments.iter_mut().enumerate() {
        let damage = |index, offset, reason: String| Damage {
            index,
            segment: seg.path.clone(),
            offset,
            reason,
        };
        if seg.first != expected {
            out.damage = Some(damage(
                expected,
                0,
                format!(
                    "the segment starts at entry {} but the previous one ends at entry {expected}",
                    seg.first
                ),
            ));
            break;
        }
        let is_last = i + 1 == count;
        if i < parse_from {
            // On failure, the full parse below finds the exact first bad entry.
            if let Ok((size, root)) = check_sealed(storage, seg)? {
                expected = size;
                out.root = root;
                out.size = size;
                out.segments.push(seg.clone());
                continue;
            }
        }
        let file = storage
            .open(&seg.path, OpenMode::Read)
            .map_err(OpenError::io(&seg.path))?;
        let mut reader =
            RecordReader::new(BufReader::with_capacity(1 << 20, Cursor::new(file, 0)), 0);
        loop {
            let step = reader.next_record().map_err(OpenError::io(&seg.path))?;
            match step {
                Step::End => break,
                Step::Record(rec) => {
                    let bad_entry = reader
                        .entries()
                        .iter()
                        .enumerate()
                        .find(|(k, e)| e.index != expected + *k as u64);
                    if rec.first != expected || bad_entry.is_some() {
                        let (k, offset) = bad_entry
                            .map(|(k, e)| (k as u64, e.offset))
                            .unwrap_or((0, rec.offset));
                        out.damage = Some(damage(
                            expected + k,
                            offset,
                            format!(
                                "the batch claims to start at entry {} where entry {expected} belongs",
                                rec.first
                            ),
                        ));
                        break;
                    }
                    for e in reader.entries() {
                        sink(Event::Entry {
                            index: e.index,
                            hash: e.hash,
                            offset: e.offset,
                        });
                    }
                    sink(Event::BatchEnd {
                        size: rec.size,
                        root: rec.root,
                        offset: rec.offset,
                    });
                    expected = rec.size;
                    out.size = rec.size;
                    out.root = rec.root;
                }
                Step::Bad(bad) => {
                    let first_bad = expected + bad.bad_entry.map_or(0, |(k, _)| u64::from(k));
                    let reason = match bad.bad_entry {
                        Some((_, stored)) if stored != first_bad => format!(
                            "{}; it holds entry {stored} where entry {first_bad} belongs",
                            bad.kind
                        ),
                        Some(_) => format!(
                            "{}; entry {first_bad}'s bytes do not match its stored hash",
                            bad.kind
                        ),
                        None => bad.kind.to_string(),
                    };
                    let later = !is_last || valid_record_after(storage, &seg.path, bad.offset + 1)?;
                    if later {
                        out.damage = Some(damage(first_bad, bad.offset, reason));
                    } else {
                        let lost = match bad.header {
                            Some((first, n)) if first == expected => {
                                first..first.saturating_add(u64::from(n))
                            }
                            _ => expected..expected,
                        };
                        out.tail = Some(TornTail {
                            segment: seg.path.clone(),
                            offset: bad.offset,
                            bytes: seg.len.saturating_sub(bad.offset),
                            lost,
                            reason,
                        });
                    }
                    seg.len = bad.offset;
                    break;
                }
            }
        }
        if out.damage.is_some() {
            break;
        }
        seg.len = seg.len.min(reader.pos());
        out.segments.push(seg.clone());
    }
    Ok(out)
}

/// Checks a sealed segment's last record from the end of the file.
///
/// Returns the tree size and root after it, or `Err(())` when the record is
/// damaged (the caller then parses the segment to locate the damage).
fn check_sealed(
    storage: &dyn Storage,
    seg: &SegmentInfo,
) -> Result<Result<(u64, Hash), ()>, OpenError> {
    let file = storage
        .open(&seg.path, OpenMode::Read)
        .map_err(OpenError::io(&seg.path))?;
    last_record(&file, seg.len).map_err(OpenError::io(&seg.path))
}

/// Reads the record that ends at byte `len` of `file`, found from its
/// trailer: the tree size and root after it, or `Err(())` when the bytes
/// there are not one valid record ending exactly at `len`.
///
/// # Errors
/// Read failures.
pub(crate) fn last_record(
    file: &std::sync::Arc<dyn storage::StorageFile>,
    len: u64,
) -> std::io::Result<Result<(u64, Hash), ()>> {
    let Some(trailer_at) = len.checked_sub(TRAILER_LEN as u64) else {
        return Ok(Err(()));
    };
    let mut trailer = [0u8; TRAILER_LEN];
    storage::read_exact_at(file.as_ref(), &mut trailer, trailer_at)?;
    let mut record_len = [0u8; 8];
    record_len.copy_from_slice(trailer.get(40..48).unwrap_or(&[0; 8]));
    let Some(start) = len.checked_sub(u64::from_be_bytes(record_len)) else {
        return Ok(Err(()));
    };
    let input = Cursor::new(std::sync::Arc::clone(file), start).take(len - start);
    let mut reader = RecordReader::new(BufReader::new(input), start);
    match reader.next_record()? {
        Step::Record(rec) if reader.pos() == len => Ok(Ok((rec.size, rec.root))),
        _ => Ok(Err(())),
    }
}

/// Whether a valid record starts anywhere at or after `offset` in `path`.
pub(crate) fn valid_record_after(
    storage: &dyn Storage,
    path: &Path,
    offset: u64,
) -> Result<bool, OpenError> {
    let file = storage
        .open(path, OpenMode::Read)
        .map_err(OpenError::io(path))?;
    let mut rest = Vec::new();
    Cursor::new(file, offset)
        .read_to_end(&mut rest)
        .map_err(OpenError::io(path))?;
    Ok(format::contains_valid_record(&rest))
}
