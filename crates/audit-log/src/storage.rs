//! The log's file operations behind one small interface.
//!
//! Everything the log does to a disk — open, positional read and write,
//! truncate, sync, list, create a directory, rename, sync a directory, lock —
//! goes through [`Storage`], so that the tests can run the writer, recovery,
//! the reader and verification on a simulated disk that records every
//! operation and produces the states a crash may leave. [`OsStorage`] is the
//! real file system.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How a file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the file must exist.
    Write,
    /// Read and write, created empty if missing, never truncated.
    Create,
    /// Read and write; fails with `AlreadyExists` if the file exists.
    CreateNew,
}

/// Why a directory lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another holder has it.
    Held,
    /// The lock file could not be opened or locked.
    Io(io::Error),
}

/// An open file: positional reads and writes, so one handle serves many
/// readers without a shared cursor.
pub trait StorageFile: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; 0 at or past the end.
    ///
    /// # Errors
    /// What the operating system reports.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Writes all of `buf` at `offset`, extending the file as needed.
    ///
    /// # Errors
    /// What the operating system reports; part of `buf` may have been written.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;

    /// Cuts or extends the file to `len` bytes.
    ///
    /// # Errors
    /// What the operating system reports.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Makes the file's data and length durable (`fdatasync`).
    ///
    /// # Errors
    /// What the operating system reports; after a failure nothing written
    /// since the last successful sync may be assumed durable, or absent.
    fn sync(&self) -> io::Result<()>;

    /// The file's current length.
    ///
    /// # Errors
    /// What the operating system reports.
    fn size(&self) -> io::Result<u64>;
}

/// A held directory lock; dropping it releases the lock.
pub trait LockGuard: Send + Sync {}

/// A file system, real or simulated.
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Opens `path`.
    ///
    /// # Errors
    /// What the operating system reports (`NotFound`, `AlreadyExists`, …).
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>>;

    /// The length of the file at `path`.
    ///
    /// # Errors
    /// `NotFound` when there is no such file.
    fn file_len(&self, path: &Path) -> io::Result<u64>;

    /// The names of the entries of directory `dir`.
    ///
    /// # Errors
    /// `NotFound` when there is no such directory.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;

    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;

    /// Creates one directory whose parent exists.
    ///
    /// # Errors
    /// `AlreadyExists`, `NotFound` for a missing parent, or what the
    /// operating system reports.
    fn create_dir(&self, path: &Path) -> io::Result<()>;

    /// Renames `from` to `to`, replacing `to`.
    ///
    /// # Errors
    /// What the operating system reports.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes the file at `path`.
    ///
    /// # Errors
    /// What the operating system reports.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Makes the entries of directory `dir` durable: files created, renamed
    /// or removed in it.
    ///
    /// # Errors
    /// What the operating system reports.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Takes the exclusive lock on the file `path` (created if missing) for
    /// as long as the guard lives.
    ///
    /// # Errors
    /// [`LockError::Held`] when another holder has it.
    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError>;
}

/// The operating system's file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsStorage;

impl StorageFile for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn sync(&self) -> io::Result<()> {
        self.sync_data()
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl LockGuard for File {}

impl Storage for OsStorage {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        let mut o = OpenOptions::new();
        o.read(true);
        match mode {
            OpenMode::Read => {}
            OpenMode::Write => {
                o.write(true);
            }
            OpenMode::Create => {
                o.write(true).create(true).truncate(false);
            }
            OpenMode::CreateNew => {
                o.write(true).create_new(true);
            }
        }
        Ok(Arc::new(o.open(path)?))
    }

    fn file_len(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for item in fs::read_dir(dir)? {
            if let Ok(name) = item?.file_name().into_string() {
                out.push(name);
            }
        }
        Ok(out)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        fs::create_dir(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(LockError::Io)?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(file)),
            Err(TryLockError::WouldBlock) => Err(LockError::Held),
            Err(TryLockError::Error(e)) => Err(LockError::Io(e)),
        }
    }
}

/// The real file system as a shared handle, the default everywhere.
pub(crate) fn os() -> Arc<dyn Storage> {
    Arc::new(OsStorage)
}

/// Reads exactly `buf.len()` bytes at `offset`.
///
/// # Errors
/// `UnexpectedEof` when the file ends first, or what the read reports.
pub(crate) fn read_exact_at(
    file: &dyn StorageFile,
    mut buf: &mut [u8],
    mut offset: u64,
) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = buf.get_mut(n..).unwrap_or_default();
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads the whole file at `path`; `Ok(None)` when it does not exist.
///
/// # Errors
/// What opening or reading reports, other than `NotFound`.
pub(crate) fn read_file(storage: &dyn Storage, path: &Path) -> io::Result<Option<Vec<u8>>> {
    let file = match storage.open(path, OpenMode::Read) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    Cursor::new(file, 0).read_to_end(&mut out)?;
    Ok(Some(out))
}

/// Creates `dir` and any missing parents, then syncs the parent of every
/// component of the path, so that the directories survive a crash.
///
/// Every parent is synced, not only those a directory was just created in:
/// an earlier attempt may have created a directory whose parent's sync
/// failed, and it exists now without being durable.
///
/// # Errors
/// The path and what failed.
pub(crate) fn create_dir_durable(
    storage: &dyn Storage,
    dir: &Path,
) -> Result<(), (PathBuf, io::Error)> {
    let chain: Vec<&Path> = dir
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty() && p.parent().is_some())
        .collect();
    for component in chain.iter().rev() {
        if storage.is_dir(component) {
            continue;
        }
        match storage.create_dir(component) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && storage.is_dir(component) => {}
            Err(e) => return Err(((*component).to_owned(), e)),
        }
    }
    for component in chain.iter().rev() {
        let parent = match component.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => p.to_owned(),
            None => PathBuf::from("."),
        };
        storage.sync_dir(&parent).map_err(|e| (parent, e))?;
    }
    Ok(())
}

/// A sequential reader over a [`StorageFile`], for `BufReader`.
pub(crate) struct Cursor {
    file: Arc<dyn StorageFile>,
    pos: u64,
}

impl Cursor {
    /// A reader starting at `pos`.
    pub(crate) fn new(file: Arc<dyn StorageFile>, pos: u64) -> Self {
        Self { file, pos }
    }
}

impl Read for Cursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Cursor {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let base = match to {
            SeekFrom::Start(p) => {
                self.pos = p;
                return Ok(p);
            }
            SeekFrom::End(d) => (self.file.size()?, d),
            SeekFrom::Current(d) => (self.pos, d),
        };
        self.pos = base
            .0
            .checked_add_signed(base.1)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(any(test, feature = "sim"))]
pub mod sim;
