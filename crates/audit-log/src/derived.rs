//! Files derived from the segments: `tree/<height>` (32 bytes per node) and
//! `index/offsets` (8 bytes per entry: its byte offset in its segment).
//!
//! They are derived after a batch commits, queued in memory and written a
//! few hundred entries at a time. They are synced only before a checkpoint
//! is stored, so the latest stored checkpoint's size is how far they can be
//! trusted after a crash: past it a crash can leave them short, long, or
//! with unwritten (zeroed) blocks inside their length, and recovery rewrites
//! that part from the segments. Written in order, they are always a prefix
//! of what the segments derive: a node is written only after every node
//! before it at its height.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_audit::merkle::{Completed, Hash, NodeSource, SourceError};

use crate::storage::{self, OpenMode, Storage, StorageFile};

/// Heights a tree of up to 2^64 leaves can have.
const HEIGHTS: u32 = 64;

pub(crate) fn tree_dir(dir: &Path) -> PathBuf {
    dir.join("tree")
}

pub(crate) fn tree_path(dir: &Path, height: u32) -> PathBuf {
    tree_dir(dir).join(height.to_string())
}

pub(crate) fn offsets_path(dir: &Path) -> PathBuf {
    dir.join("index").join("offsets")
}

/// The file recording how far the derived files are durable.
pub(crate) fn synced_path(dir: &Path) -> PathBuf {
    dir.join("index").join("synced")
}

const SYNCED_TAG: &str = "cordon-derived-synced";

/// How many leaves the derived files are durable through, as last
/// recorded by [`record_synced`]; `None` when nothing (readable) is
/// recorded.
pub(crate) fn synced_through(storage: &dyn Storage, dir: &Path) -> Option<u64> {
    let bytes = storage::read_file(storage, &synced_path(dir)).ok()??;
    let text = std::str::from_utf8(&bytes).ok()?;
    let n = text
        .strip_prefix(SYNCED_TAG)?
        .strip_prefix(' ')?
        .strip_suffix('\n')?;
    n.parse().ok()
}

/// Records durably that the derived files are durable through `leaves`:
/// a new file, synced, renamed over the old one, and the directory synced,
/// so a crash leaves the old figure or the new one.
///
/// Lowered before any rewrite of what it covers, raised only after the
/// rewritten files are synced.
pub(crate) fn record_synced(
    storage: &dyn Storage,
    dir: &Path,
    leaves: u64,
) -> Result<(), (PathBuf, io::Error)> {
    let path = synced_path(dir);
    let tmp = dir.join("index").join("synced.tmp");
    let write = || -> io::Result<()> {
        let f = storage.open(&tmp, OpenMode::Create)?;
        f.set_len(0)?;
        f.write_all_at(format!("{SYNCED_TAG} {leaves}\n").as_bytes(), 0)?;
        f.sync()?;
        storage.rename(&tmp, &path)?;
        storage.sync_dir(&dir.join("index"))
    };
    write().map_err(|e| (path.clone(), e))
}

fn file_len(storage: &dyn Storage, path: &Path) -> u64 {
    storage.file_len(path).unwrap_or(0)
}

/// How many leaves the tree files cover: the largest `c` such that every
/// node wholly inside the first `c` leaves is stored.
///
/// A node at height `h` with index `i` lies inside `c` leaves when
/// `i < c >> h`, so height `h` holding `n` nodes allows `c < (n + 1) << h`.
pub(crate) fn tree_coverage(node_counts: impl Fn(u32) -> u64) -> u64 {
    let mut c = u64::MAX;
    for h in 0..HEIGHTS {
        let n = u128::from(node_counts(h));
        let limit = ((n + 1) << h) - 1;
        c = c.min(u64::try_from(limit).unwrap_or(u64::MAX));
    }
    c
}

/// Leaves covered by the tree files and entries covered by the offsets file.
pub(crate) fn coverage(storage: &dyn Storage, dir: &Path) -> (u64, u64) {
    let tree = tree_coverage(|h| file_len(storage, &tree_path(dir, h)) / 32);
    let offsets = file_len(storage, &offsets_path(dir)) / 8;
    (tree, offsets)
}

/// Pending derived bytes past which [`DerivedWriter::append`] writes them
/// out: about 800 entries' nodes and offsets.
///
/// Buffering turns one `pwrite` per height and batch into one per height
/// every few hundred entries, while keeping what a reader has to recompute
/// from the segments (everything past the files' coverage) small.
pub(crate) const FLUSH_BYTES: usize = 32 << 10;

/// One derived file: what is on disk and what is queued behind it.
struct Level {
    file: Arc<dyn StorageFile>,
    /// Records on disk.
    stored: u64,
    /// Records after `stored`, not yet written.
    pending: Vec<u8>,
}

impl Level {
    /// Records on disk and pending, for `width`-byte records.
    fn next(&self, width: u64) -> u64 {
        self.stored + self.pending.len() as u64 / width
    }

    fn flush(
        &mut self,
        width: u64,
        path: impl FnOnce() -> PathBuf,
    ) -> Result<(), (PathBuf, io::Error)> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.pending, self.stored * width)
            .map_err(|e| (path(), e))?;
        self.stored += self.pending.len() as u64 / width;
        self.pending.clear();
        Ok(())
    }
}

/// The writer's handles on the derived files.
///
/// Appends are queued in memory and written in order, each file from where
/// its disk copy ends, so every file stays a prefix of what the segments
/// derive: a reader sees the files lag, never gaps, and computes the rest
/// from the segments.
pub(crate) struct DerivedWriter {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    /// By height, opened as the tree grows.
    tree: Vec<Level>,
    offsets: Level,
    /// Bytes queued in all files.
    pending: usize,
    /// A file was created since the directories were last synced.
    new_files: bool,
}

impl DerivedWriter {
    /// Opens (creating) the derived files and truncates them to `leaves`.
    pub(crate) fn open(
        storage: Arc<dyn Storage>,
        dir: &Path,
        leaves: u64,
    ) -> Result<Self, (PathBuf, io::Error)> {
        storage::create_dir_durable(storage.as_ref(), &tree_dir(dir))?;
        storage::create_dir_durable(storage.as_ref(), &dir.join("index"))?;
        let op = offsets_path(dir);
        let new_files = storage.file_len(&op).is_err();
        let offsets = storage
            .open(&op, OpenMode::Create)
            .map_err(|e| (op.clone(), e))?;
        let mut w = Self {
            storage,
            dir: dir.to_owned(),
            tree: Vec::new(),
            offsets: Level {
                file: offsets,
                stored: 0,
                pending: Vec::new(),
            },
            pending: 0,
            new_files,
        };
        w.truncate(leaves)?;
        Ok(w)
    }

    /// Cuts every derived file to what the first `leaves` entries produce,
    /// writing out what is queued first.
    pub(crate) fn truncate(&mut self, leaves: u64) -> Result<(), (PathBuf, io::Error)> {
        self.flush()?;
        for h in 0..HEIGHTS {
            let path = tree_path(&self.dir, h);
            let nodes = leaves >> h;
            let exists = (h as usize) < self.tree.len() || self.storage.file_len(&path).is_ok();
            if nodes == 0 && !exists {
                continue;
            }
            self.ensure_height(h)?;
            if let Some(level) = self.tree.get_mut(h as usize) {
                level.file.set_len(nodes * 32).map_err(|e| (path, e))?;
                level.stored = nodes;
            }
        }
        let op = offsets_path(&self.dir);
        self.offsets.file.set_len(leaves * 8).map_err(|e| (op, e))?;
        self.offsets.stored = leaves;
        Ok(())
    }

    fn ensure_height(&mut self, h: u32) -> Result<(), (PathBuf, io::Error)> {
        while self.tree.len() <= h as usize {
            let path = tree_path(&self.dir, self.tree.len() as u32);
            if self.storage.file_len(&path).is_err() {
                self.new_files = true;
            }
            let file = self
                .storage
                .open(&path, OpenMode::Create)
                .map_err(|e| (path.clone(), e))?;
            let stored = file.size().map_err(|e| (path, e))? / 32;
            self.tree.push(Level {
                file,
                stored,
                pending: Vec::new(),
            });
        }
        Ok(())
    }

    /// Queues the nodes a batch completed and its entries' offsets, and
    /// writes everything queued once it passes [`FLUSH_BYTES`].
    ///
    /// # Errors
    /// On I/O failure, or when the nodes would leave a gap (a previous append
    /// failed); the caller then rebuilds from the segments.
    pub(crate) fn append(
        &mut self,
        nodes: &[Completed],
        first: u64,
        offsets: &[u64],
    ) -> Result<(), (PathBuf, io::Error)> {
        for node in nodes {
            self.ensure_height(node.height)?;
            let Some(level) = self.tree.get_mut(node.height as usize) else {
                continue;
            };
            let next = level.next(32);
            if next != node.index {
                return Err((tree_path(&self.dir, node.height), gap(next, node.index)));
            }
            level.pending.extend_from_slice(&node.hash);
        }
        self.pending += nodes.len() * 32;
        if !offsets.is_empty() {
            let next = self.offsets.next(8);
            if next != first {
                return Err((offsets_path(&self.dir), gap(next, first)));
            }
            for o in offsets {
                self.offsets.pending.extend_from_slice(&o.to_be_bytes());
            }
            self.pending += offsets.len() * 8;
        }
        if self.pending >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Whether appends are queued in memory.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending > 0
    }

    /// Writes everything queued, one `pwrite` per file.
    ///
    /// # Errors
    /// On I/O failure; what a file did not take stays queued, so the caller
    /// must rebuild before appending again.
    pub(crate) fn flush(&mut self) -> Result<(), (PathBuf, io::Error)> {
        if self.pending == 0 {
            return Ok(());
        }
        for (h, level) in self.tree.iter_mut().enumerate() {
            level.flush(32, || tree_path(&self.dir, h as u32))?;
        }
        self.offsets.flush(8, || offsets_path(&self.dir))?;
        self.pending = 0;
        Ok(())
    }

    /// Writes everything queued and makes every derived file durable, with
    /// the directory entries of files created since the last sync.
    ///
    /// Called before a checkpoint is stored: the stored checkpoint's size is
    /// then how far recovery trusts these files.
    ///
    /// # Errors
    /// On I/O failure, with the file that failed.
    pub(crate) fn sync(&mut self) -> Result<(), (PathBuf, io::Error)> {
        self.flush()?;
        for (h, level) in self.tree.iter().enumerate() {
            level
                .file
                .sync()
                .map_err(|e| (tree_path(&self.dir, h as u32), e))?;
        }
        self.offsets
            .file
            .sync()
            .map_err(|e| (offsets_path(&self.dir), e))?;
        if self.new_files {
            for d in [tree_dir(&self.dir), self.dir.join("index")] {
                self.storage.sync_dir(&d).map_err(|e| (d.clone(), e))?;
            }
            self.new_files = false;
        }
        Ok(())
    }
}

fn gap(stored: u64, next: u64) -> io::Error {
    io::Error::other(format!(
        "the file holds {stored} records but the next one is {next}; it will be rebuilt"
    ))
}

/// Read-only handles on the tree files as they are at open time.
pub(crate) struct TreeFiles {
    dir: PathBuf,
    /// `(file, nodes trusted)` by height; `None` where the file is missing.
    files: Vec<Option<(Arc<dyn StorageFile>, u64)>>,
}

impl TreeFiles {
    /// Opens every tree file present, trusting at most the nodes that lie
    /// within the first `limit` leaves.
    pub(crate) fn open(storage: &dyn Storage, dir: &Path, limit: u64) -> Self {
        let files = (0..HEIGHTS)
            .map(|h| {
                let file = storage.open(&tree_path(dir, h), OpenMode::Read).ok()?;
                let n = (file.size().ok()? / 32).min(limit >> h);
                Some((file, n))
            })
            .collect();
        Self {
            dir: dir.to_owned(),
            files,
        }
    }

    /// Leaves the files cover (see [`tree_coverage`]).
    pub(crate) fn coverage(&self) -> u64 {
        tree_coverage(|h| {
            self.files
                .get(h as usize)
                .and_then(|f| f.as_ref().map(|(_, n)| *n))
                .unwrap_or(0)
        })
    }

    /// Reads `count` consecutive nodes at `height` from `index`, as bytes.
    pub(crate) fn read_run(&self, height: u32, index: u64, count: u64) -> io::Result<Vec<u8>> {
        let path = tree_path(&self.dir, height);
        match self.files.get(height as usize) {
            Some(Some((file, n))) if index.saturating_add(count) <= *n => {
                let len = usize::try_from(count * 32).map_err(io::Error::other)?;
                let mut buf = vec![0u8; len];
                storage::read_exact_at(file.as_ref(), &mut buf, index * 32)?;
                Ok(buf)
            }
            _ => Err(io::Error::other(format!(
                "`{}` does not hold nodes {index}..{}",
                path.display(),
                index.saturating_add(count)
            ))),
        }
    }
}

impl NodeSource for TreeFiles {
    fn node(&self, height: u32, index: u64) -> Result<Hash, SourceError> {
        let bytes = self.read_run(height, index, 1)?;
        let mut h = [0u8; 32];
        h.copy_from_slice(bytes.get(..32).ok_or("short read")?);
        Ok(h)
    }
}

#[cfg(test)]
mod tests;
