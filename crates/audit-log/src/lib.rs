//! Durable storage for the audit log: an append-only RFC 9162 Merkle log on
//! local disk with group commit, crash recovery, proofs, C2SP tiles and full
//! verification.
//!
//! # On-disk layout
//!
//! ```text
//! <dir>/
//!   LOCK                 held (flock) by the one writer
//!   segments/<16 hex>.seg  batch records; the name is the first entry's index
//!   tree/<height>        derived: 32-byte node hashes at that height, in order
//!   index/offsets        derived: 8 bytes per entry, its offset in its segment
//!   checkpoints          every signed checkpoint, length-prefixed, synced
//!   checkpoint           the latest signed checkpoint (for tile serving)
//!   quarantine/          torn tails cut at open, kept for inspection
//! ```
//!
//! A segment is a sequence of batch records. A record is a header (marker,
//! first index, count), the entries (`[u32 length][u64 index][32-byte leaf
//! hash][leaf bytes]`), and a trailer with the tree size and root after the
//! batch, the record length, and a SHA-256 over the whole record. A new
//! segment starts at a batch boundary once the current one passes
//! [`LogConfig::segment_bytes`].
//!
//! # Commit point
//!
//! One writer thread takes every leaf queued since its last commit (up to
//! [`LogConfig::max_batch`]), writes them as one record with one `pwrite`,
//! and calls `fdatasync` once: that sync is the commit point of the whole
//! batch. Only then are the callers told their indices. While one sync runs,
//! new leaves queue up and form the next batch, so the number of syncs per
//! second stays bounded by the disk while throughput grows with load (group
//! commit).
//!
//! If the write or the sync fails, every leaf of the batch gets
//! [`AppendError::Unavailable`] only after the segment is back at its
//! committed state: cut to its committed length, the cut synced (which is
//! what keeps a refused batch from coming back after a power loss, whatever
//! the page cache held), the file reopened and its last record read back.
//! When that fails too, the writer stops ([`LogHealth::Stopped`]) and says
//! how to cut the refused batch before a restart.
//!
//! The derived files (`tree/`, `index/`) are computed after the commit,
//! queued in memory and written a few hundred entries at a time (and when
//! the writer is idle, and at shutdown), and synced only before a
//! checkpoint is stored: they hold nothing the segments do not, so syncing
//! them per batch would double the cost of a commit for no durability. The
//! latest stored checkpoint's size is therefore how far they are trusted;
//! past it recovery rewrites them from the segments. Checkpoints are synced,
//! and the latest one is replaced with a rename and a directory sync.
//!
//! # Recovery
//!
//! Opening the writer reads the stored checkpoints, then parses the last
//! segment record by record (sealed segments get a check of their last
//! record, found from the end of the file, since a crash can only tear the
//! batch being written; damage inside a sealed segment is for [`verify()`]
//! and [`check_derived`] to find):
//! - a record that is short, has a bad checksum or a bad header, with nothing
//!   valid after it, is a torn tail. If the latest checkpoint covers it, it
//!   was acknowledged and the open is refused without cutting anything
//!   ([`OpenError::CheckpointedDamage`]); otherwise it is copied to
//!   `quarantine/` (synced), then cut, and reported in
//!   [`RecoveryReport::cut`];
//! - a damaged record followed by a valid one is corruption, not a crash:
//!   the writer refuses to open ([`OpenError::Corrupt`] names the first bad
//!   entry) rather than cut acknowledged entries;
//! - the derived files are trusted up to the latest checkpoint and rebuilt
//!   from the segments past it; the rebuilt root must equal the last batch's
//!   root, and the latest checkpoint's root must hold (if it does not, they
//!   are rebuilt from nothing before the open is refused);
//! - the last segment is synced, so that a batch a crashed writer left in
//!   the page cache is durable before anything signs it;
//! - the `checkpoints` file's torn tail is cut, and a checkpoint larger than
//!   the segments refuses the open ([`OpenError::CheckpointAhead`]).
//!
//! [`LogReader`] applies the same rules without writing: it ignores an
//! uncommitted tail and computes in memory what the derived files lack.
//! [`verify()`] re-reads every byte and recomputes everything.
//!
//! All file operations go through [`storage::Storage`]; the tests run the
//! log on a simulated disk that produces every state a crash may leave.
#![deny(missing_docs)]

mod check;
mod checkpoints;
#[cfg(test)]
mod crash_states;
mod derived;
mod error;
mod format;
mod keys;
mod reader;
mod recover;
mod scan;
pub mod storage;
mod verify;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cordon_audit::merkle::{Hash, SourceError};

pub use check::{
    DerivedCheck, DerivedProblem, LatestCheckpoint, MAX_LISTED, Repair, check_derived,
    repair_derived,
};
pub use error::{AppendError, CheckpointError, OpenError, ReadError, VerifyError};
pub use format::MAX_LEAF_LEN;
pub use reader::LogReader;
pub use scan::TornTail;
pub use verify::{VerifiedLeaves, VerifyReport, verify, verify_each};
#[doc(hidden)]
pub use writer::Fault;
pub use writer::{AuditLog, LogHealth, LogStats, RecoveryReport};

/// Where and how the log is stored.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The log directory; created if missing.
    pub dir: PathBuf,
    /// The file system the log is on: the operating system's, or a
    /// simulated one in tests.
    pub storage: Arc<dyn storage::Storage>,
    /// A new segment starts once the current one is at least this long.
    pub segment_bytes: u64,
    /// The most leaves committed by one sync.
    pub max_batch: usize,
    /// How long the writer waits after the first queued leaf to gather more.
    /// Zero commits whatever queued while the previous sync ran.
    pub batch_window: Duration,
    /// How often the writer signs a checkpoint when the tree has grown;
    /// `None` signs only on [`AuditLog::checkpoint_now`].
    pub checkpoint_interval: Option<Duration>,
    /// The log's origin line (C2SP tlog-checkpoint), for the integration's
    /// signer; the store itself only records it in messages.
    pub origin: String,
    /// Told of every batch once it is durable, before any appender is.
    pub observer: Option<Arc<dyn CommitObserver>>,
}

impl LogConfig {
    /// The defaults: 256 MiB segments, batches of up to 4,096 leaves, no
    /// batch window, no periodic checkpoints.
    pub fn new(dir: impl Into<PathBuf>, origin: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            storage: storage::os(),
            segment_bytes: 256 << 20,
            max_batch: 4096,
            batch_window: Duration::ZERO,
            checkpoint_interval: None,
            origin: origin.into(),
            observer: None,
        }
    }
}

/// Told of each batch the writer commits, the moment it is durable.
///
/// A copy of the log elsewhere (a shared store a fleet ships to) learns of
/// new entries here instead of reading them back from disk. The writer calls
/// it before it tells any appender its index, so an appender that then waits
/// for the copy waits for something the observer has already seen.
pub trait CommitObserver: Send + Sync {
    /// The batch of `leaves` from index `first` is durable. Runs on the
    /// writer thread, between batches: it must be quick (copy and signal).
    fn committed(&self, first: u64, leaves: &[&[u8]]);
}

impl std::fmt::Debug for dyn CommitObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitObserver")
    }
}

/// Signs checkpoints for the writer.
///
/// The private key stays with the signer, never in the log directory.
pub trait CheckpointSigner: Send {
    /// Returns the signed checkpoint text (a C2SP signed note) for the tree of
    /// `size` leaves with `root`.
    ///
    /// # Errors
    /// When signing fails; the writer keeps running and reports it.
    fn sign(&self, size: u64, root: &Hash) -> Result<String, SourceError>;
}

/// Opens signed checkpoints for [`verify()`].
pub trait CheckpointVerifier {
    /// Checks the signature of `note` and returns the size and root it signs.
    ///
    /// # Errors
    /// When the note does not parse or its signature does not verify.
    fn open(&self, note: &str) -> Result<(u64, Hash), SourceError>;
}
