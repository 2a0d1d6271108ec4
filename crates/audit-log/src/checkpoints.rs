//! The `checkpoints` file (every signed checkpoint, append-only, synced) and
//! the `checkpoint` file (the latest, replaced atomically for tile serving).
//!
//! A record is magic `CRDNCKP1`, text length (u32), tree size (u64), root
//! (32), the signed text, and a SHA-256 of all of that. The size and root are
//! stored beside the text so readers can bound tiles without a verifier;
//! `verify` checks them against the signed text.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cordon_audit::merkle::Hash;
use sha2::{Digest, Sha256};

use crate::storage::{self, OpenMode, Storage, StorageFile};

const MAGIC: [u8; 8] = *b"CRDNCKP1";
const HEAD_LEN: usize = 8 + 4 + 8 + 32;
/// A signed checkpoint is a few hundred bytes; this bounds a corrupt length.
const MAX_TEXT: usize = 1 << 20;

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stored {
    pub size: u64,
    pub root: Hash,
    pub text: String,
}

/// The parsed `checkpoints` file.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub checkpoints: Vec<Stored>,
    /// Bytes of valid records.
    pub valid_len: u64,
    /// Bytes in the file.
    pub file_len: u64,
    /// A bad record followed by valid ones: its offset.
    pub damaged_at: Option<u64>,
}

pub(crate) fn all_path(dir: &Path) -> PathBuf {
    dir.join("checkpoints")
}

pub(crate) fn latest_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint")
}

fn encode(size: u64, root: &Hash, text: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEAD_LEN + text.len() + 32);
    buf.extend_from_slice(&MAGIC);
    buf.extend_from_slice(&(text.len() as u32).to_be_bytes());
    buf.extend_from_slice(&size.to_be_bytes());
    buf.extend_from_slice(root);
    buf.extend_from_slice(text.as_bytes());
    let sum: [u8; 32] = Sha256::digest(&buf).into();
    buf.extend_from_slice(&sum);
    buf
}

/// Parses one record at the start of `bytes`: the checkpoint and its length.
fn decode(bytes: &[u8]) -> Option<(Stored, usize)> {
    if bytes.get(..8)? != MAGIC {
        return None;
    }
    let text_len = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?) as usize;
    if text_len > MAX_TEXT {
        return None;
    }
    let size = u64::from_be_bytes(bytes.get(12..20)?.try_into().ok()?);
    let root: Hash = bytes.get(20..52)?.try_into().ok()?;
    let body_end = HEAD_LEN + text_len;
    let text = std::str::from_utf8(bytes.get(HEAD_LEN..body_end)?).ok()?;
    let sum = bytes.get(body_end..body_end + 32)?;
    let computed: [u8; 32] = Sha256::digest(bytes.get(..body_end)?).into();
    if sum != computed {
        return None;
    }
    Some((
        Stored {
            size,
            root,
            text: text.to_owned(),
        },
        body_end + 32,
    ))
}

/// Reads every valid checkpoint; a missing file is an empty list.
pub(crate) fn load(storage: &dyn Storage, dir: &Path) -> io::Result<Loaded> {
    let Some(bytes) = storage::read_file(storage, &all_path(dir))? else {
        return Ok(Loaded::default());
    };
    Ok(parse(&bytes))
}

/// Parses the bytes of a `checkpoints` file: the valid records up to the
/// first bad one, and whether a valid record follows that.
pub(crate) fn parse(bytes: &[u8]) -> Loaded {
    let mut out = Loaded {
        file_len: bytes.len() as u64,
        ..Loaded::default()
    };
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = bytes.get(at..).unwrap_or_default();
        match decode(rest) {
            Some((cp, len)) => {
                out.checkpoints.push(cp);
                at += len;
            }
            None => {
                let later = (1..rest.len()).any(|k| {
                    rest.get(k..)
                        .is_some_and(|r| r.starts_with(&MAGIC) && decode(r).is_some())
                });
                if later {
                    out.damaged_at = Some(at as u64);
                }
                break;
            }
        }
    }
    out.valid_len = at as u64;
    out
}

/// The writer's handle on the checkpoint files.
pub(crate) struct CheckpointStore {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    file: Arc<dyn StorageFile>,
    len: u64,
}

impl CheckpointStore {
    /// Opens the `checkpoints` file, cutting it to `valid_len` bytes.
    pub(crate) fn open(storage: Arc<dyn Storage>, dir: &Path, valid_len: u64) -> io::Result<Self> {
        let path = all_path(dir);
        let created = storage.file_len(&path).is_err();
        let file = storage.open(&path, OpenMode::Create)?;
        if file.size()? != valid_len {
            file.set_len(valid_len)?;
            file.sync()?;
        }
        if created {
            storage.sync_dir(dir)?;
        }
        Ok(Self {
            storage,
            dir: dir.to_owned(),
            file,
            len: valid_len,
        })
    }

    /// Appends a checkpoint durably, then replaces the `checkpoint` file.
    ///
    /// # Errors
    /// With the path of the file that failed; a failed append leaves the
    /// `checkpoints` file as it was.
    pub(crate) fn append(
        &mut self,
        size: u64,
        root: &Hash,
        text: &str,
    ) -> Result<(), (PathBuf, io::Error)> {
        let buf = encode(size, root, text);
        let path = all_path(&self.dir);
        let written = self
            .file
            .write_all_at(&buf, self.len)
            .and_then(|()| self.file.sync());
        if let Err(e) = written {
            // Leave no partial record behind for the next append, durably:
            // after a failed sync the page cache is no guide to the disk.
            let _ = self.file.set_len(self.len).and_then(|()| self.file.sync());
            return Err((path, e));
        }
        self.len += buf.len() as u64;
        write_latest(self.storage.as_ref(), &self.dir, text)
    }
}

/// Replaces the `checkpoint` file with `text`: temp file, sync, rename, and
/// a sync of the directory.
pub(crate) fn write_latest(
    storage: &dyn Storage,
    dir: &Path,
    text: &str,
) -> Result<(), (PathBuf, io::Error)> {
    write_atomic(storage, dir, "checkpoint", text.as_bytes())
}

/// Replaces `dir/name` with `bytes` so that a crash leaves the old content
/// or the new: a temp file, synced, renamed over the name, and the
/// directory synced.
pub(crate) fn write_atomic(
    storage: &dyn Storage,
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<(), (PathBuf, io::Error)> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let write = || -> io::Result<()> {
        let f = storage.open(&tmp, OpenMode::Create)?;
        f.set_len(0)?;
        f.write_all_at(bytes, 0)?;
        f.sync()?;
        storage.rename(&tmp, &path)?;
        storage.sync_dir(dir)
    };
    write().map_err(|e| (path.clone(), e))
}
