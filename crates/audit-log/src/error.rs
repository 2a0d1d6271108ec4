//! Errors of opening, appending to, reading and verifying a log.

use std::io;
use std::path::PathBuf;

use cordon_audit::merkle::{ProofError, SourceError};

/// Why a log could not be opened for writing or reading.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A file or directory could not be read, created or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What the operating system reported.
        source: io::Error,
    },
    /// Another writer holds the directory's `LOCK` file.
    #[error(
        "the audit log in `{dir}` is already open for writing (its `LOCK` file is held by another process or handle); stop the other writer first"
    )]
    Locked {
        /// The log directory.
        dir: PathBuf,
    },
    /// A batch that is followed by intact batches is damaged: this is not a
    /// torn write and the writer refuses to cut it.
    #[error(
        "the audit log is corrupt at entry {index} (`{segment}`, byte {offset}): {reason}; intact data follows it, so it is not a torn write: run `verify` and restore the segment from a replica"
    )]
    Corrupt {
        /// The first entry that cannot be trusted.
        index: u64,
        /// The segment file holding it.
        segment: PathBuf,
        /// Byte offset of the damaged record in the segment.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The end of the log is damaged inside what the latest signed checkpoint
    /// covers: those entries were acknowledged, so the damage is not cut.
    #[error(
        "the audit log is damaged at entry {index} (`{segment}`, byte {offset}): {reason}; the signed checkpoint covers {checkpoint_size} entries, so these were acknowledged and nothing was cut: restore the segment from a replica or backup"
    )]
    CheckpointedDamage {
        /// The first entry that cannot be trusted.
        index: u64,
        /// The segment file holding it.
        segment: PathBuf,
        /// Byte offset of the damaged record in the segment.
        offset: u64,
        /// What is wrong.
        reason: String,
        /// Entries the latest signed checkpoint covers.
        checkpoint_size: u64,
    },
    /// A stored checkpoint signs a larger tree than the segments hold, so
    /// committed entries are missing.
    #[error(
        "`{path}` holds a checkpoint for {checkpoint_size} entries but the segments hold only {size}: committed entries are missing; restore the segments from a replica"
    )]
    CheckpointAhead {
        /// The checkpoints file.
        path: PathBuf,
        /// Entries in the segments.
        size: u64,
        /// Size signed by the latest checkpoint.
        checkpoint_size: u64,
    },
    /// A record in the middle of the `checkpoints` file is damaged.
    #[error(
        "`{path}` is damaged at byte {offset} and intact checkpoints follow: restore it from a replica"
    )]
    CheckpointsCorrupt {
        /// The checkpoints file.
        path: PathBuf,
        /// Byte offset of the damaged record.
        offset: u64,
    },
    /// The configuration cannot work.
    #[error("invalid log configuration: {0}")]
    Config(String),
}

impl OpenError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// Why a leaf was not appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The leaf is longer than a C2SP entry bundle can carry.
    #[error("the leaf is {len} bytes; the log accepts at most {MAX_LEAF_LEN} bytes per leaf", MAX_LEAF_LEN = crate::MAX_LEAF_LEN)]
    TooLarge {
        /// The leaf's length.
        len: usize,
    },
    /// Writing or syncing the batch failed; nothing of it is committed and the
    /// next batch retries.
    #[error("the audit log is unavailable: {0}")]
    Unavailable(String),
    /// The writer stopped after a failure it could not recover from; nothing
    /// is appended until the log is reopened.
    #[error("the audit log writer has stopped: {0}")]
    Stopped(String),
    /// The log has been shut down or its writer thread has stopped.
    #[error("the audit log is closed")]
    Closed,
}

/// Why a checkpoint could not be made on demand.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The signer refused or failed.
    #[error("signing the checkpoint for size {size} failed: {source}")]
    Signer {
        /// The tree size being signed.
        size: u64,
        /// What the signer reported.
        source: SourceError,
    },
    /// Storing the checkpoint failed.
    #[error("storing the checkpoint in `{path}` failed: {source}")]
    Io {
        /// The checkpoint file.
        path: PathBuf,
        /// What the operating system reported.
        source: io::Error,
    },
    /// The derived files could not be made durable, so no checkpoint may
    /// vouch for them.
    #[error("syncing `{path}` before the checkpoint failed: {source}")]
    Derived {
        /// The derived file or directory.
        path: PathBuf,
        /// What the operating system reported.
        source: io::Error,
    },
    /// The writer has stopped after an unrecoverable failure.
    #[error("the audit log writer has stopped: {0}")]
    Stopped(String),
    /// The log has been shut down or its writer thread has stopped.
    #[error("the audit log is closed")]
    Closed,
}

/// Why a read from the log failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file could not be read.
    #[error("reading `{path}` at byte {offset}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// Where the read started.
        offset: u64,
        /// What the operating system reported.
        source: io::Error,
    },
    /// The entry is not in the log.
    #[error("entry {index} is outside the log of {size} entries")]
    OutOfRange {
        /// The requested entry.
        index: u64,
        /// How many entries the log holds.
        size: u64,
    },
    /// A proof or tile was asked for a tree larger than the log holds.
    #[error("tree size {asked} is larger than the log's {size} entries")]
    TooLarge {
        /// The requested size.
        asked: u64,
        /// How many entries the log holds.
        size: u64,
    },
    /// A tile reaches past the latest checkpoint, which clients cannot check.
    #[error(
        "the tile needs {needed} entries but the latest checkpoint covers {checkpoint_size}; wait for the next checkpoint"
    )]
    BeyondCheckpoint {
        /// Entries the tile needs.
        needed: u64,
        /// Entries the latest checkpoint covers (0 without a checkpoint).
        checkpoint_size: u64,
    },
    /// A tile was requested with an invalid width or position.
    #[error("invalid tile: {0}")]
    BadTile(String),
    /// Stored bytes are not what the log wrote.
    #[error("`{path}` is damaged at byte {offset}: {reason}")]
    Corrupt {
        /// The file involved.
        path: PathBuf,
        /// Where the damage is.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Proof generation failed.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// The first discrepancy a full verification found.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A file could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// An entry is wrong: its bytes do not hash to the stored hash, or it is
    /// not at the position its index says (removed, inserted or reordered).
    #[error("entry {index} is bad (`{segment}`, byte {offset}): {reason}")]
    Entry {
        /// The first bad entry (the position in the log where it was found).
        index: u64,
        /// The segment holding it.
        segment: PathBuf,
        /// Byte offset of the entry.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A batch record is damaged or its trailer disagrees with the tree
    /// recomputed from the entries.
    #[error("the batch starting at entry {index} is bad (`{segment}`, byte {offset}): {reason}")]
    Batch {
        /// The first entry of the batch (the first entry that cannot be trusted).
        index: u64,
        /// The segment holding it.
        segment: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A stored checkpoint does not open or does not match the recomputed tree.
    #[error("checkpoint {number} (counting from 0) is bad: {reason}")]
    Checkpoint {
        /// Position of the checkpoint in the `checkpoints` file.
        number: usize,
        /// What is wrong.
        reason: String,
    },
}
