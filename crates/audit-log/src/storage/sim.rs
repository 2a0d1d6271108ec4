//! A simulated disk for crash-state testing, after ALICE and CrashMonkey.
//!
//! [`SimFs`] keeps two views of every file and directory: what processes
//! see (the page cache) and what is durable. A write or truncate changes
//! the first at once and is queued against the file until a successful
//! `sync`; creating, renaming or removing a name is queued against its
//! directory until that directory is synced. After any operation the
//! simulation can produce the disk images a crash at that moment may leave
//! ([`Snapshot::crash_images`]): queued operations dropped, applied as a
//! prefix, applied alone out of order, torn, or with their blocks unwritten
//! (zeros inside the new length); queued directory entries present or not.
//!
//! A failed `sync` follows Linux after an I/O error on write-back: the
//! queued writes are no longer queued (the pages are marked clean, and the
//! next sync succeeds without writing them), and whether they reached the
//! disk is unknown, so crash images are made both with and without them.
//!
//! Faults are injected by operation number ([`SimFs::fail_at`]); every
//! operation, reads included, counts.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{LockError, LockGuard, OpenMode, Storage, StorageFile};

/// An injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFault {
    /// `EIO`: a write applies its first half, a sync loses track of what it
    /// was syncing, anything else fails without effect.
    Eio,
    /// `ENOSPC`: the operation fails without effect.
    NoSpace,
}

impl SimFault {
    fn error(self) -> io::Error {
        match self {
            Self::Eio => io::Error::other("simulated EIO"),
            Self::NoSpace => io::Error::new(io::ErrorKind::StorageFull, "simulated ENOSPC"),
        }
    }
}

/// A change to a file not yet known to be durable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileOp {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

impl FileOp {
    fn apply(&self, content: &mut Vec<u8>) {
        match self {
            Self::Write { offset, data } => {
                let start = usize::try_from(*offset).unwrap_or(usize::MAX);
                let end = start.saturating_add(data.len());
                if content.len() < end {
                    content.resize(end, 0);
                }
                if let Some(dst) = content.get_mut(start..end) {
                    dst.copy_from_slice(data);
                }
            }
            Self::SetLen(len) => content.resize(usize::try_from(*len).unwrap_or(0), 0),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Inode {
    /// What processes see.
    data: Vec<u8>,
    /// What the disk holds for certain.
    durable: Vec<u8>,
    /// After a failed sync: the disk's content had the lost writes reached it.
    limbo: Option<Vec<u8>>,
    /// Changes since the last sync, in order.
    pending: Vec<FileOp>,
}

/// A change to a directory not yet known to be durable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NameOp {
    Link { path: PathBuf, ino: usize },
    Unlink { path: PathBuf },
    Mkdir { path: PathBuf },
}

impl NameOp {
    fn dir(&self) -> &Path {
        let p = match self {
            Self::Link { path, .. } | Self::Unlink { path } | Self::Mkdir { path } => path,
        };
        p.parent().unwrap_or(Path::new("/"))
    }
}

#[derive(Debug, Clone, Default)]
struct Namespace {
    dirs: BTreeSet<PathBuf>,
    names: BTreeMap<PathBuf, usize>,
}

impl Namespace {
    fn apply(&mut self, op: &NameOp) {
        match op {
            NameOp::Link { path, ino } => {
                self.names.insert(path.clone(), *ino);
            }
            NameOp::Unlink { path } => {
                self.names.remove(path);
            }
            NameOp::Mkdir { path } => {
                self.dirs.insert(path.clone());
            }
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// What processes see.
    live: Namespace,
    /// What the disk holds for certain.
    durable: Namespace,
    pending_names: Vec<NameOp>,
    inodes: Vec<Inode>,
    locks: BTreeSet<PathBuf>,
    /// Operations so far, reads included.
    ops: u64,
    /// Operations that fail, by number, and how.
    faults: BTreeMap<u64, SimFault>,
    /// A snapshot after every operation that changed anything, when recording.
    recording: bool,
    snapshots: Vec<Snapshot>,
}

/// The state of the disk after one operation, from which crash images are
/// made.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// How many operations had run.
    pub ops: u64,
    live: Namespace,
    durable: Namespace,
    pending_names: Vec<NameOp>,
    inodes: Vec<Inode>,
}

/// What a crash leaves: every directory and file on the disk.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Image {
    /// The directories.
    pub dirs: BTreeSet<PathBuf>,
    /// The files and their bytes.
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

/// A simulated file system; clones share one disk.
#[derive(Debug, Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

impl SimFs {
    /// An empty disk with the root directory `/`.
    pub fn new() -> Self {
        let fs = Self::default();
        {
            let mut s = fs.lock_state();
            s.live.dirs.insert(PathBuf::from("/"));
            s.durable.dirs.insert(PathBuf::from("/"));
        }
        fs
    }

    /// A disk holding exactly `image`, all of it durable.
    pub fn from_image(image: &Image) -> Self {
        let fs = Self::new();
        {
            let mut s = fs.lock_state();
            for d in &image.dirs {
                s.live.dirs.insert(d.clone());
                s.durable.dirs.insert(d.clone());
            }
            for (path, bytes) in &image.files {
                let ino = s.inodes.len();
                s.inodes.push(Inode {
                    data: bytes.clone(),
                    durable: bytes.clone(),
                    ..Inode::default()
                });
                s.live.names.insert(path.clone(), ino);
                s.durable.names.insert(path.clone(), ino);
            }
        }
        fs
    }

    /// The disk as a process that crashed at `snap` left it: the page cache
    /// intact (a process crash, not a power loss) and still unsynced, and
    /// the operation count going on from there.
    pub fn resume(snap: &Snapshot) -> Self {
        let fs = Self::default();
        {
            let mut s = fs.lock_state();
            s.live = snap.live.clone();
            s.durable = snap.durable.clone();
            s.pending_names = snap.pending_names.clone();
            s.inodes = snap.inodes.clone();
            s.ops = snap.ops;
        }
        fs
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes operation number `op` (counting from 0, reads included) fail.
    pub fn fail_at(&self, op: u64, fault: SimFault) {
        self.lock_state().faults.insert(op, fault);
    }

    /// Operations run so far.
    pub fn ops(&self) -> u64 {
        self.lock_state().ops
    }

    /// Starts keeping a snapshot after every operation that changes the
    /// disk or what is durable on it.
    pub fn record(&self) {
        let mut s = self.lock_state();
        s.recording = true;
        let snap = snapshot(&s);
        s.snapshots.push(snap);
    }

    /// The snapshots kept since [`Self::record`].
    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.lock_state().snapshots.clone()
    }

    /// What processes see now, as an image (a clean shutdown's disk).
    pub fn live_image(&self) -> Image {
        let s = self.lock_state();
        Image {
            dirs: s.live.dirs.clone(),
            files: s
                .live
                .names
                .iter()
                .filter_map(|(p, ino)| Some((p.clone(), s.inodes.get(*ino)?.data.clone())))
                .collect(),
        }
    }

    /// Counts an operation; the injected fault for it, if any.
    fn step(s: &mut State) -> Option<SimFault> {
        let n = s.ops;
        s.ops += 1;
        s.faults.get(&n).copied()
    }

    fn changed(s: &mut State) {
        if s.recording {
            let snap = snapshot(s);
            s.snapshots.push(snap);
        }
    }
}

fn snapshot(s: &State) -> Snapshot {
    Snapshot {
        ops: s.ops,
        live: s.live.clone(),
        durable: s.durable.clone(),
        pending_names: s.pending_names.clone(),
        inodes: s.inodes.clone(),
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("`{}` does not exist", path.display()),
    )
}

fn parent_exists(s: &State, path: &Path) -> bool {
    path.parent().is_some_and(|p| s.live.dirs.contains(p))
}

struct SimFile {
    fs: SimFs,
    ino: usize,
    writable: bool,
}

impl SimFile {
    fn with_inode<T>(
        &self,
        f: impl FnOnce(&mut Inode, Option<SimFault>) -> io::Result<T>,
        changes: bool,
    ) -> io::Result<T> {
        let mut s = self.fs.lock_state();
        let fault = SimFs::step(&mut s);
        let out = match s.inodes.get_mut(self.ino) {
            Some(inode) => f(inode, fault),
            None => Err(io::Error::other("stale simulated inode")),
        };
        if changes {
            SimFs::changed(&mut s);
        }
        out
    }

    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the file is open read-only",
            ))
        }
    }
}

impl StorageFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.with_inode(
            |inode, fault| {
                if let Some(f) = fault {
                    return Err(f.error());
                }
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let avail = inode.data.get(start..).unwrap_or_default();
                let n = avail.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), avail.get(..n)) {
                    dst.copy_from_slice(src);
                }
                Ok(n)
            },
            false,
        )
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check_writable()?;
        self.with_inode(
            |inode, fault| {
                let data = match fault {
                    None => buf.to_vec(),
                    Some(SimFault::Eio) => buf.get(..buf.len() / 2).unwrap_or_default().to_vec(),
                    Some(SimFault::NoSpace) => Vec::new(),
                };
                if !data.is_empty() {
                    let op = FileOp::Write { offset, data };
                    op.apply(&mut inode.data);
                    inode.pending.push(op);
                }
                match fault {
                    Some(f) => Err(f.error()),
                    None => Ok(()),
                }
            },
            true,
        )
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        self.with_inode(
            |inode, fault| {
                if let Some(f) = fault {
                    return Err(f.error());
                }
                let op = FileOp::SetLen(len);
                op.apply(&mut inode.data);
                inode.pending.push(op);
                Ok(())
            },
            true,
        )
    }

    fn sync(&self) -> io::Result<()> {
        self.with_inode(
            |inode, fault| {
                let pending = std::mem::take(&mut inode.pending);
                let mut with = inode.limbo.take();
                if let Some(alt) = &mut with {
                    for op in &pending {
                        op.apply(alt);
                    }
                }
                match fault {
                    // Write-back errors (EIO, and ENOSPC on file systems that
                    // allocate late) leave it unknown whether the writes
                    // reached the disk, and they are never retried.
                    Some(SimFault::Eio | SimFault::NoSpace) => {
                        let mut reached = with.unwrap_or_else(|| inode.durable.clone());
                        for op in &pending {
                            op.apply(&mut reached);
                        }
                        inode.limbo = Some(reached);
                        Err(fault.map_or_else(|| SimFault::Eio.error(), SimFault::error))
                    }
                    None => {
                        for op in &pending {
                            op.apply(&mut inode.durable);
                        }
                        inode.limbo = with;
                        Ok(())
                    }
                }
            },
            true,
        )
    }

    fn size(&self) -> io::Result<u64> {
        self.with_inode(
            |inode, fault| match fault {
                Some(f) => Err(f.error()),
                None => Ok(inode.data.len() as u64),
            },
            false,
        )
    }
}

struct SimLock {
    fs: SimFs,
    path: PathBuf,
}

impl LockGuard for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.fs.lock_state().locks.remove(&self.path);
    }
}

impl Storage for SimFs {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(f.error());
        }
        let existing = s.live.names.get(path).copied();
        let ino = match (existing, mode) {
            (Some(_), OpenMode::CreateNew) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("`{}` exists", path.display()),
                ));
            }
            (Some(ino), _) => ino,
            (None, OpenMode::Read | OpenMode::Write) => return Err(not_found(path)),
            (None, OpenMode::Create | OpenMode::CreateNew) => {
                if !parent_exists(&s, path) {
                    return Err(not_found(path.parent().unwrap_or(path)));
                }
                let ino = s.inodes.len();
                s.inodes.push(Inode::default());
                s.live.names.insert(path.to_owned(), ino);
                s.pending_names.push(NameOp::Link {
                    path: path.to_owned(),
                    ino,
                });
                Self::changed(&mut s);
                ino
            }
        };
        drop(s);
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            writable: mode != OpenMode::Read,
        }))
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(f.error());
        }
        let ino = *s.live.names.get(path).ok_or_else(|| not_found(path))?;
        Ok(s.inodes.get(ino).map_or(0, |i| i.data.len() as u64))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(f.error());
        }
        if !s.live.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let files = s.live.names.keys();
        let dirs = s.live.dirs.iter();
        Ok(files
            .chain(dirs)
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| Some(p.file_name()?.to_str()?.to_owned()))
            .collect())
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.lock_state().live.dirs.contains(path)
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(f.error());
        }
        if s.live.dirs.contains(path) || s.live.names.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("`{}` exists", path.display()),
            ));
        }
        if !parent_exists(&s, path) {
            return Err(not_found(path.parent().unwrap_or(path)));
        }
        s.live.dirs.insert(path.to_owned());
        s.pending_names.push(NameOp::Mkdir {
            path: path.to_owned(),
        });
        Self::changed(&mut s);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(f.error());
        }
        let ino = s.live.names.remove(from).ok_or_else(|| not_found(from))?;
        s.live.names.insert(to.to_owned(), ino);
        // The new name first: a crash never loses both.
        s.pending_names.push(NameOp::Link {
            path: to.to_owned(),
            ino,
        });
        s.pending_names.push(NameOp::Unlink {
            path: from.to_owned(),
        });
        Self::changed(&mut s);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(f.error());
        }
        s.live.names.remove(path).ok_or_else(|| not_found(path))?;
        s.pending_names.push(NameOp::Unlink {
            path: path.to_owned(),
        });
        Self::changed(&mut s);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(f.error());
        }
        if !s.live.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        let (done, rest): (Vec<NameOp>, Vec<NameOp>) = std::mem::take(&mut s.pending_names)
            .into_iter()
            .partition(|op| op.dir() == dir);
        for op in &done {
            s.durable.apply(op);
        }
        s.pending_names = rest;
        Self::changed(&mut s);
        Ok(())
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError> {
        let mut s = self.lock_state();
        if let Some(f) = Self::step(&mut s) {
            return Err(LockError::Io(f.error()));
        }
        if !s.locks.insert(path.to_owned()) {
            return Err(LockError::Held);
        }
        if !s.live.names.contains_key(path) {
            if !parent_exists(&s, path) {
                s.locks.remove(path);
                return Err(LockError::Io(not_found(path)));
            }
            let ino = s.inodes.len();
            s.inodes.push(Inode::default());
            s.live.names.insert(path.to_owned(), ino);
            s.pending_names.push(NameOp::Link {
                path: path.to_owned(),
                ino,
            });
        }
        drop(s);
        Ok(Box::new(SimLock {
            fs: self.clone(),
            path: path.to_owned(),
        }))
    }
}

/// How much of one file's queued changes a crash image keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// None of them.
    None,
    /// All of them.
    All,
    /// The first `n`.
    Prefix(usize),
    /// Only change `n`.
    Only(usize),
    /// All before the last, and the first half of the last write.
    TornLast,
    /// All before the last; the last write's range reads as zeros (its
    /// length reached the disk, its blocks did not).
    ZeroedLast,
}

/// At most this many prefixes and lone changes per file and image base:
/// the first, the last and evenly spread ones between.
const SAMPLES: usize = 4;

fn spread(n: usize) -> Vec<usize> {
    if n <= SAMPLES {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..SAMPLES).map(|k| k * (n - 1) / (SAMPLES - 1)).collect();
    v.dedup();
    v
}

impl Inode {
    fn crash_content(&self, keep: Keep, limbo: bool) -> Vec<u8> {
        let mut out = match (&self.limbo, limbo) {
            (Some(alt), true) => alt.clone(),
            _ => self.durable.clone(),
        };
        let n = self.pending.len();
        let last = n.saturating_sub(1);
        match keep {
            Keep::None => {}
            Keep::All => self.pending.iter().for_each(|op| op.apply(&mut out)),
            Keep::Prefix(k) => self
                .pending
                .iter()
                .take(k)
                .for_each(|op| op.apply(&mut out)),
            Keep::Only(k) => {
                if let Some(op) = self.pending.get(k) {
                    op.apply(&mut out);
                }
            }
            Keep::TornLast | Keep::ZeroedLast => {
                self.pending
                    .iter()
                    .take(last)
                    .for_each(|op| op.apply(&mut out));
                match self.pending.get(last) {
                    Some(FileOp::Write { offset, data }) => {
                        let part = if keep == Keep::TornLast {
                            data.get(..data.len() / 2).unwrap_or_default().to_vec()
                        } else {
                            vec![0; data.len()]
                        };
                        FileOp::Write {
                            offset: *offset,
                            data: part,
                        }
                        .apply(&mut out);
                    }
                    Some(op) => op.apply(&mut out),
                    None => {}
                }
            }
        }
        out
    }

    fn variants(&self) -> Vec<Keep> {
        let n = self.pending.len();
        let mut v = Vec::new();
        if n > 1 {
            v.extend(spread(n - 1).into_iter().map(|k| Keep::Prefix(k + 1)));
            v.extend(spread(n).into_iter().map(Keep::Only));
        }
        if matches!(self.pending.last(), Some(FileOp::Write { data, .. }) if data.len() > 1) {
            v.push(Keep::TornLast);
            v.push(Keep::ZeroedLast);
        }
        v
    }
}

impl Snapshot {
    fn image(&self, names: &Namespace, keep: &dyn Fn(usize) -> Keep, limbo: bool) -> Image {
        Image {
            dirs: names.dirs.clone(),
            files: names
                .names
                .iter()
                .filter_map(|(path, ino)| {
                    let inode = self.inodes.get(*ino)?;
                    Some((path.clone(), inode.crash_content(keep(*ino), limbo)))
                })
                .collect(),
        }
    }

    /// The disk images a crash right after this snapshot may leave.
    ///
    /// The bases are every queued change lost and every one kept, with the
    /// queued directory entries applied as each prefix; from each base, one
    /// file at a time takes each of its partial variants (a prefix of its
    /// queued changes, one change alone, a torn or zeroed last write); and
    /// files whose last sync failed take the content they would have had if
    /// the lost writes had reached the disk.
    pub fn crash_images(&self) -> Vec<Image> {
        let mut out = BTreeSet::new();
        let mut namespaces = Vec::new();
        let mut ns = self.durable.clone();
        namespaces.push(ns.clone());
        for op in &self.pending_names {
            ns.apply(op);
            namespaces.push(ns.clone());
        }
        // Only what the names reach matters; a file unlinked for good is gone.
        for names in &namespaces {
            for base in [Keep::None, Keep::All] {
                for limbo in [false, true] {
                    out.insert(self.image(names, &|_| base, limbo));
                }
            }
        }
        let Some(full) = namespaces.last() else {
            return out.into_iter().collect();
        };
        for (&ino, inode) in full.names.values().map(|i| (i, self.inodes.get(*i))) {
            let Some(inode) = inode else { continue };
            for variant in inode.variants() {
                for base in [Keep::None, Keep::All] {
                    let keep = |i: usize| if i == ino { variant } else { base };
                    out.insert(self.image(full, &keep, false));
                }
            }
        }
        out.into_iter().collect()
    }
}
