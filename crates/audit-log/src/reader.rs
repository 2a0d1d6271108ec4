//! Read-only access to a log directory: entries, proofs, checkpoints and
//! C2SP tiles.

use std::io::{BufReader, Read};
use std::ops::{ControlFlow, Range};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_audit::merkle::{self, Frontier, Hash, NodeSource, SourceError, leaf_hash};

use crate::checkpoints::{self, Stored};
use crate::derived::{self, TreeFiles};
use crate::format::{self, ENTRY_HEAD_LEN};
use crate::scan::{self, Damage, Event, SegmentInfo, TornTail};
use crate::storage::{self, Cursor, OpenMode, Storage, StorageFile};
use crate::{OpenError, ReadError};

/// Hashes per full C2SP tile.
const TILE_WIDTH: u64 = 256;

/// A read-only view of a log directory as of [`LogReader::open`].
///
/// Takes no lock and never writes: it ignores an uncommitted tail, and what
/// the derived files do not cover yet (a writer appends them after each
/// commit, and a crash can lose them) it computes in memory from the
/// segments.
///
/// What it sees of a running log may include a batch that is written but
/// not yet synced, which the writer can still refuse: its size and root are
/// for reading and proving against stored checkpoints, never for signing.
pub struct LogReader {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    segments: Vec<(SegmentInfo, Arc<dyn StorageFile>)>,
    size: u64,
    root: Hash,
    tree: TreeFiles,
    offsets_file: Option<Arc<dyn StorageFile>>,
    /// Entries below `base` come from the derived files, the rest from memory.
    base: u64,
    /// `overlay[h][i]` is node `(h, (base >> h) + i)`.
    overlay: Vec<Vec<Hash>>,
    /// Offsets of entries from `base` on.
    overlay_offsets: Vec<u64>,
    checkpoints: Vec<Stored>,
    damage: Option<Damage>,
    tail: Option<TornTail>,
}

impl std::fmt::Debug for LogReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("dir", &self.dir)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl LogReader {
    /// Opens the log in `dir` read-only.
    ///
    /// Damage in the middle of the log does not fail the open: the reader
    /// stops before it, and [`crate::verify()`] reports it.
    ///
    /// # Errors
    /// I/O errors, or a derived tree that contradicts the segments twice.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_on(storage::os(), dir.as_ref())
    }

    /// [`Self::open`] on the given file system.
    ///
    /// The derived files are trusted as far as the writer recorded them
    /// durable (at each checkpoint and at shutdown; in a log written before
    /// that record existed, as far as the latest checkpoint); the rest is
    /// computed from the segments.
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_on(storage: Arc<dyn Storage>, dir: &Path) -> Result<Self, OpenError> {
        let cp_path = checkpoints::all_path(dir);
        let loaded = checkpoints::load(storage.as_ref(), dir).map_err(OpenError::io(&cp_path))?;
        let signed = loaded.checkpoints.last().map_or(0, |c| c.size);
        let trusted = crate::recover::trusted_through(storage.as_ref(), dir, signed);
        let tree = TreeFiles::open(storage.as_ref(), dir, trusted);
        let offsets_len = storage
            .file_len(&derived::offsets_path(dir))
            .map(|len| len / 8)
            .unwrap_or(0);
        let base = tree.coverage().min(offsets_len).min(trusted);
        match Self::open_from(&storage, dir, tree, base, &loaded.checkpoints)? {
            Ok(reader) => Ok(reader),
            // The derived files contradict the segments: use the segments only.
            Err(_) => {
                let tree = TreeFiles::open(storage.as_ref(), dir, 0);
                Self::open_from(&storage, dir, tree, 0, &loaded.checkpoints)?
            }
        }
    }

    fn open_from(
        storage: &Arc<dyn Storage>,
        dir: &Path,
        tree: TreeFiles,
        base: u64,
        stored: &[Stored],
    ) -> Result<Result<Self, OpenError>, OpenError> {
        let mut frontier = match Frontier::from_source(&tree, base) {
            Ok(f) => f,
            Err(_) if base > 0 => return Ok(Err(derived_mismatch(dir))),
            Err(_) => Frontier::new(),
        };
        let mut overlay: Vec<Vec<Hash>> = Vec::new();
        let mut overlay_offsets = Vec::new();
        let mut sink = |event: Event| {
            if let Event::Entry {
                index,
                hash,
                offset,
                ..
            } = event
            {
                if index < base || index != frontier.size() {
                    return;
                }
                overlay_offsets.push(offset);
                frontier.push(hash, |c| {
                    let h = c.height as usize;
                    if overlay.len() <= h {
                        overlay.resize_with(h + 1, Vec::new);
                    }
                    if let Some(level) = overlay.get_mut(h) {
                        level.push(c.hash);
                    }
                });
            }
        };
        let scanned = scan::scan(storage.as_ref(), dir, base, &mut sink)?;
        let size = scanned.size;
        if base > size {
            // Derived files ahead of a cut tail: nodes within `size` are still
            // a valid prefix, so rebase there.
            return Ok(Err(derived_mismatch(dir)));
        }
        if frontier.size() != size || (size > 0 && frontier.root() != scanned.root) {
            return Ok(Err(derived_mismatch(dir)));
        }
        let mut segments = Vec::with_capacity(scanned.segments.len());
        for seg in scanned.segments {
            let file = storage
                .open(&seg.path, OpenMode::Read)
                .map_err(OpenError::io(&seg.path))?;
            segments.push((seg, file));
        }
        // A checkpoint for entries the reader cannot see (a writer is mid-way,
        // or the log is damaged) is not offered.
        let checkpoints = stored
            .iter()
            .take_while(|cp| cp.size <= size)
            .cloned()
            .collect();
        Ok(Ok(Self {
            storage: Arc::clone(storage),
            dir: dir.to_owned(),
            segments,
            size,
            root: frontier.root(),
            tree,
            offsets_file: storage
                .open(&derived::offsets_path(dir), OpenMode::Read)
                .ok(),
            base,
            overlay,
            overlay_offsets,
            checkpoints,
            damage: scanned.damage,
            tail: scanned.tail,
        }))
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file system the log is read from.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Committed entries visible to this reader.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree of [`Self::size`] entries.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The uncommitted tail the reader ignored, if any.
    pub fn ignored_tail(&self) -> Option<&TornTail> {
        self.tail.as_ref()
    }

    /// A description of damage the reader stopped at, if any.
    pub fn damage(&self) -> Option<String> {
        self.damage.as_ref().map(ToString::to_string)
    }

    /// Where entry `index` starts: its segment and byte offset.
    fn locate(&self, index: u64) -> Result<(usize, u64), ReadError> {
        if index >= self.size {
            return Err(ReadError::OutOfRange {
                index,
                size: self.size,
            });
        }
        let offset = if index >= self.base {
            let k = usize::try_from(index - self.base).unwrap_or(usize::MAX);
            self.overlay_offsets
                .get(k)
                .copied()
                .ok_or(ReadError::OutOfRange {
                    index,
                    size: self.size,
                })?
        } else {
            let path = derived::offsets_path(&self.dir);
            let Some(file) = &self.offsets_file else {
                return Err(ReadError::Corrupt {
                    path,
                    offset: 0,
                    reason: "the offsets file is missing".into(),
                });
            };
            let mut b = [0u8; 8];
            storage::read_exact_at(file.as_ref(), &mut b, index * 8).map_err(|source| {
                ReadError::Io {
                    path,
                    offset: index * 8,
                    source,
                }
            })?;
            u64::from_be_bytes(b)
        };
        let seg = self
            .segments
            .partition_point(|(s, _)| s.first <= index)
            .saturating_sub(1);
        Ok((seg, offset))
    }

    /// The bytes of entry `index`, checked against its stored hash.
    ///
    /// # Errors
    /// [`ReadError::OutOfRange`], I/O errors, or [`ReadError::Corrupt`] when
    /// the stored entry is not the one expected.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, ReadError> {
        let (seg, offset) = self.locate(index)?;
        let Some((info, file)) = self.segments.get(seg) else {
            return Err(ReadError::OutOfRange {
                index,
                size: self.size,
            });
        };
        let io = |source| ReadError::Io {
            path: info.path.clone(),
            offset,
            source,
        };
        let mut data = Vec::new();
        let mut at = offset;
        read_entry(&info.path, offset, index, &mut data, |buf| {
            storage::read_exact_at(file.as_ref(), buf, at).map_err(io)?;
            at += buf.len() as u64;
            Ok(())
        })?;
        Ok(data)
    }

    /// Calls `f` with each entry in `range` in order, until it breaks.
    ///
    /// # Errors
    /// As [`Self::entry`].
    pub fn scan(
        &self,
        range: Range<u64>,
        mut f: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
    ) -> Result<(), ReadError> {
        if range.end > self.size {
            return Err(ReadError::OutOfRange {
                index: range.end.saturating_sub(1),
                size: self.size,
            });
        }
        let mut current: Option<(usize, BufReader<Cursor>, u64)> = None;
        let mut data = Vec::new();
        for index in range {
            let (seg, offset) = self.locate(index)?;
            let Some((info, file)) = self.segments.get(seg) else {
                return Err(ReadError::OutOfRange {
                    index,
                    size: self.size,
                });
            };
            let io = |source| ReadError::Io {
                path: info.path.clone(),
                offset,
                source,
            };
            let reader = match &mut current {
                Some((s, r, pos)) if *s == seg && *pos <= offset => {
                    let skip = i64::try_from(offset - *pos).unwrap_or(i64::MAX);
                    r.seek_relative(skip).map_err(io)?;
                    r
                }
                _ => {
                    let f = Cursor::new(Arc::clone(file), offset);
                    current = Some((seg, BufReader::with_capacity(1 << 20, f), offset));
                    match &mut current {
                        Some((_, r, _)) => r,
                        None => continue,
                    }
                }
            };
            let len = read_entry(&info.path, offset, index, &mut data, |buf| {
                reader.read_exact(buf).map_err(io)
            })?;
            if let Some((_, _, pos)) = &mut current {
                *pos = offset + (ENTRY_HEAD_LEN + len) as u64;
            }
            if f(index, &data).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn check_size(&self, size: u64) -> Result<(), ReadError> {
        if size > self.size {
            return Err(ReadError::TooLarge {
                asked: size,
                size: self.size,
            });
        }
        Ok(())
    }

    /// The root of the tree of the first `size` entries.
    ///
    /// # Errors
    /// [`ReadError::TooLarge`] or a failure reading nodes.
    pub fn root_at(&self, size: u64) -> Result<Hash, ReadError> {
        self.check_size(size)?;
        Ok(merkle::root(self, size)?)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries
    /// ([RFC 9162 §2.1.3.1](https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1)).
    ///
    /// # Errors
    /// [`ReadError::TooLarge`] or a proof error.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ReadError> {
        self.check_size(size)?;
        Ok(merkle::inclusion_proof(self, index, size)?)
    }

    /// The consistency proof from the tree of `old` entries to that of `new`
    /// ([RFC 9162 §2.1.4.1](https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1)).
    ///
    /// # Errors
    /// [`ReadError::TooLarge`] or a proof error.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ReadError> {
        self.check_size(new)?;
        Ok(merkle::consistency_proof(self, old, new)?)
    }

    /// Every stored checkpoint the reader's entries cover, oldest first.
    pub fn checkpoints(&self) -> Vec<String> {
        self.checkpoints.iter().map(|c| c.text.clone()).collect()
    }

    /// The latest stored checkpoint the reader's entries cover.
    pub fn latest_checkpoint(&self) -> Option<String> {
        self.checkpoints.last().map(|c| c.text.clone())
    }

    fn checkpoint_size(&self) -> u64 {
        self.checkpoints.last().map_or(0, |c| c.size)
    }

    /// Checks a tile request and returns its first position and width.
    fn tile_span(&self, height: u32, index: u64, width: u64) -> Result<(u64, u64), ReadError> {
        if !(1..=TILE_WIDTH).contains(&width) {
            return Err(ReadError::BadTile(format!(
                "width {width} is outside 1..=256"
            )));
        }
        let start = index
            .checked_mul(TILE_WIDTH)
            .ok_or_else(|| ReadError::BadTile(format!("index {index} is too large")))?;
        let needed = (u128::from(start) + u128::from(width)) << height;
        let checkpoint_size = self.checkpoint_size();
        if needed > u128::from(checkpoint_size) {
            return Err(ReadError::BeyondCheckpoint {
                needed: u64::try_from(needed).unwrap_or(u64::MAX),
                checkpoint_size,
            });
        }
        Ok((start, width))
    }

    /// The contents of hash tile `tile/<level>/<index>[.p/<width>]`: the
    /// concatenated hashes of `width` nodes at tree height `8 * level`
    /// ([C2SP tlog-tiles](https://c2sp.org/tlog-tiles)).
    ///
    /// # Errors
    /// [`ReadError::BadTile`], [`ReadError::BeyondCheckpoint`] when the tile
    /// reaches past the latest checkpoint, or a read failure.
    pub fn hash_tile(&self, level: u8, index: u64, width: u16) -> Result<Vec<u8>, ReadError> {
        let height = u32::from(level) * 8;
        if height >= 64 {
            return Err(ReadError::BadTile(format!("level {level} is too high")));
        }
        let (start, width) = self.tile_span(height, index, u64::from(width))?;
        // Fast path: the whole tile is in the derived file.
        if start + width <= self.base >> height
            && let Ok(bytes) = self.tree.read_run(height, start, width)
        {
            return Ok(bytes);
        }
        let mut out = Vec::with_capacity(usize::try_from(width * 32).unwrap_or(0));
        for i in start..start + width {
            let h = self.node(height, i).map_err(|e| ReadError::Corrupt {
                path: derived::tree_path(&self.dir, height),
                offset: i * 32,
                reason: e.to_string(),
            })?;
            out.extend_from_slice(&h);
        }
        Ok(out)
    }

    /// The contents of entry bundle `tile/entries/<index>[.p/<width>]`: each
    /// entry prefixed with its length as a big-endian u16
    /// ([C2SP tlog-tiles](https://c2sp.org/tlog-tiles)).
    ///
    /// # Errors
    /// As [`Self::hash_tile`].
    pub fn entry_bundle(&self, index: u64, width: u16) -> Result<Vec<u8>, ReadError> {
        let (start, width) = self.tile_span(0, index, u64::from(width))?;
        let mut out = Vec::new();
        self.scan(start..start + width, |_, data| {
            // Leaves are at most `MAX_LEAF_LEN` bytes, checked on append and on read.
            let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(data);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }
}

impl NodeSource for LogReader {
    fn node(&self, height: u32, index: u64) -> Result<Hash, SourceError> {
        let end = u128::from(index + 1) << height;
        if end > u128::from(self.size) {
            return Err(format!(
                "node ({height}, {index}) is not complete in a tree of {}",
                self.size
            )
            .into());
        }
        let first_overlay = self.base >> height;
        if index < first_overlay {
            return self.tree.node(height, index);
        }
        usize::try_from(index - first_overlay)
            .ok()
            .and_then(|k| self.overlay.get(height as usize)?.get(k).copied())
            .ok_or_else(|| format!("node ({height}, {index}) is not held in memory").into())
    }
}

/// Reads the entry at `offset` (its head, then its bytes, through `read`)
/// into `data` and checks that it is entry `index` with the bytes its hash
/// names. Returns the entry's length.
fn read_entry(
    path: &Path,
    offset: u64,
    index: u64,
    data: &mut Vec<u8>,
    mut read: impl FnMut(&mut [u8]) -> Result<(), ReadError>,
) -> Result<usize, ReadError> {
    let mut head = [0u8; ENTRY_HEAD_LEN];
    read(&mut head)?;
    let (len, stored_index, hash) = format::parse_entry_head(&head);
    if stored_index != index || len > crate::MAX_LEAF_LEN {
        return Err(corrupt(
            path,
            offset,
            index,
            "the entry at its offset has another index",
        ));
    }
    data.resize(len, 0);
    read(data)?;
    if leaf_hash(data) != hash {
        return Err(corrupt(
            path,
            offset,
            index,
            "the entry's bytes do not match its hash",
        ));
    }
    Ok(len)
}

fn corrupt(path: &Path, offset: u64, index: u64, reason: &str) -> ReadError {
    ReadError::Corrupt {
        path: path.to_owned(),
        offset,
        reason: format!("entry {index}: {reason}"),
    }
}

fn derived_mismatch(dir: &Path) -> OpenError {
    OpenError::Corrupt {
        index: 0,
        segment: dir.join("tree"),
        offset: 0,
        reason: "the derived tree files contradict the segments".into(),
    }
}
