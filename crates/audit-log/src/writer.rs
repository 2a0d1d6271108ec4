//! The writer: a handle that queues leaves and one thread that commits them
//! in batches with one sync each.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cordon_audit::merkle::{Completed, Frontier, Hash, leaf_hash};

use crate::checkpoints::{CheckpointStore, Stored};
use crate::derived::DerivedWriter;
use crate::format::{self, ENTRY_HEAD_LEN, HEADER_LEN, MAX_LEAF_LEN, MAX_RECORD_ENTRIES};
use crate::recover;
use crate::scan::{self, TornTail, segment_name};
use crate::storage::{self, LockError, LockGuard, OpenMode, Storage, StorageFile};
use crate::{AppendError, CheckpointError, CheckpointSigner, LogConfig, OpenError};

type Done = Box<dyn FnOnce(Result<u64, AppendError>) + Send>;

/// How long the writer waits idle before it writes out queued derived
/// records, so a quiet log's files catch up with its segments.
const DERIVED_IDLE_FLUSH: Duration = Duration::from_millis(50);

enum Request {
    Append(Vec<u8>, Done),
    /// Leaves sent together, so that they are committed together.
    AppendMany(Vec<(Vec<u8>, Done)>),
    Checkpoint(mpsc::Sender<Result<String, CheckpointError>>),
}

/// Whether the writer can commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogHealth {
    /// The last batch committed (or none was attempted).
    Ok,
    /// The last batches failed to commit.
    Failing {
        /// Why the latest batch failed.
        reason: String,
        /// How many batches in a row have failed.
        since_batches: u64,
    },
    /// A batch failed and the writer could not bring the segment back to a
    /// known committed state, so it commits nothing more until the log is
    /// reopened (which recovers it from the disk).
    Stopped {
        /// What failed, and what recovery needs.
        reason: String,
    },
}

/// Counters for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Committed entries.
    pub size: u64,
    /// Committed batches since open.
    pub batches: u64,
    /// Successful segment syncs since open.
    pub fsyncs: u64,
    /// Time the last commit's write and sync took, in microseconds.
    pub last_commit_micros: u64,
    /// Batches that failed since open.
    pub failures: u64,
    /// Checkpoints stored since open.
    pub checkpoints: u64,
    /// Checkpoints that failed (signer or storage) since open.
    pub checkpoint_failures: u64,
}

/// What opening the writer found and repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Committed entries.
    pub size: u64,
    /// The committed tree's root.
    pub root: Hash,
    /// The torn tail that was cut from the last segment, if any.
    pub cut: Option<TornTail>,
    /// Where the cut bytes were kept (`quarantine/` in the log directory).
    pub quarantined: Option<PathBuf>,
    /// The first entry whose derived records (tree nodes, offsets) were
    /// rewritten from the segments; `size` when none were.
    pub derived_rebuilt_from: u64,
    /// Stored checkpoints.
    pub checkpoints: usize,
    /// Bytes of a torn record cut from the `checkpoints` file.
    pub checkpoint_bytes_cut: u64,
}

/// A write failure injected for tests of the failure path.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    /// No fault.
    None = 0,
    /// The batch write fails before writing anything.
    FailWrite = 1,
    /// Half of the batch is written, then the write fails.
    PartialWrite = 2,
    /// Half of the batch is written, the write fails, and cutting the partial
    /// bytes fails too, so the writer stops.
    PartialWriteStuck = 3,
    /// The whole batch is written but the sync fails.
    FailSync = 4,
}

impl Fault {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::FailWrite,
            2 => Self::PartialWrite,
            3 => Self::PartialWriteStuck,
            4 => Self::FailSync,
            _ => Self::None,
        }
    }
}

struct Status {
    health: LogHealth,
    stats: LogStats,
}

struct Shared {
    status: Mutex<Status>,
    fault: AtomicU8,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut Status)) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut status);
    }
}

/// The single writer of a log directory.
///
/// Dropping it commits everything queued and joins the writer thread.
pub struct AuditLog {
    tx: Option<SyncSender<Request>>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    dir: PathBuf,
    // Held for the life of the writer; the OS releases the lock on close.
    _lock: Box<dyn LockGuard>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Locks `config.dir`, recovers it (see the crate docs) and starts the
    /// writer thread.
    ///
    /// # Errors
    /// [`OpenError::Locked`] when another writer holds the directory,
    /// [`OpenError::Corrupt`] when damaged data is followed by intact data,
    /// [`OpenError::CheckpointAhead`], or I/O errors.
    pub fn open(
        config: LogConfig,
        signer: impl CheckpointSigner + 'static,
    ) -> Result<(Self, RecoveryReport), OpenError> {
        if config.max_batch == 0 || config.max_batch > MAX_RECORD_ENTRIES as usize {
            return Err(OpenError::Config(format!(
                "`max_batch` is {}; it must be between 1 and {MAX_RECORD_ENTRIES}",
                config.max_batch
            )));
        }
        if config.segment_bytes == 0 {
            return Err(OpenError::Config("`segment_bytes` must be positive".into()));
        }
        let storage = Arc::clone(&config.storage);
        let dir = config.dir.clone();
        let seg_dir = dir.join("segments");
        storage::create_dir_durable(storage.as_ref(), &seg_dir)
            .map_err(|(path, source)| OpenError::Io { path, source })?;
        let lock_path = dir.join("LOCK");
        let lock = match storage.lock(&lock_path) {
            Ok(guard) => guard,
            Err(LockError::Held) => return Err(OpenError::Locked { dir }),
            Err(LockError::Io(e)) => return Err(OpenError::io(&lock_path)(e)),
        };

        let recovered = recover::recover(&storage, &dir)?;
        let size = recovered.frontier.size();
        let root = recovered.frontier.root();
        let (seg, seg_first, seg_len) = match recovered.scan.segments.last() {
            Some(last) => {
                let file = storage
                    .open(&last.path, OpenMode::Write)
                    .map_err(OpenError::io(&last.path))?;
                (file, last.first, last.len)
            }
            None => (
                create_segment(storage.as_ref(), &seg_dir, 0)
                    .map_err(|(p, e)| OpenError::io(p)(e))?,
                0,
                0,
            ),
        };
        let cps = recovered.checkpoints;
        let report = RecoveryReport {
            size,
            root,
            cut: recovered.scan.tail.clone(),
            quarantined: recovered.quarantined,
            derived_rebuilt_from: recovered.rebuilt_from,
            checkpoints: cps.count,
            checkpoint_bytes_cut: cps.bytes_cut,
        };
        let shared = Arc::new(Shared {
            status: Mutex::new(Status {
                health: LogHealth::Ok,
                stats: LogStats {
                    size,
                    ..LogStats::default()
                },
            }),
            fault: AtomicU8::new(0),
        });
        let capacity = config.max_batch.saturating_mul(2).max(1024);
        let (tx, rx) = mpsc::sync_channel(capacity);
        let writer = Writer {
            storage,
            seg,
            seg_first,
            seg_len,
            stopped: None,
            pending_count: 0,
            durable: recovered.frontier.size(),
            frontier: recovered.frontier,
            derived: Some(recovered.derived),
            last_repair: None,
            cps: cps.store,
            last_cp: cps.latest,
            signer: Box::new(signer),
            shared: Arc::clone(&shared),
            buf: Vec::new(),
            nodes: Vec::new(),
            offsets: Vec::new(),
            config,
        };
        let thread = std::thread::Builder::new()
            .name("audit-log-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(OpenError::io(&dir))?;
        Ok((
            Self {
                tx: Some(tx),
                thread: Some(thread),
                shared,
                dir,
                _lock: lock,
            },
            report,
        ))
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues `leaf`; `done` gets its index once the batch holding it is
    /// synced, or the reason it was not committed.
    ///
    /// `done` runs on the writer thread, so it must be quick (send on a
    /// channel). Blocks while the queue is full.
    pub fn append(
        &self,
        leaf: Vec<u8>,
        done: impl FnOnce(Result<u64, AppendError>) + Send + 'static,
    ) {
        if leaf.len() > MAX_LEAF_LEN {
            done(Err(AppendError::TooLarge { len: leaf.len() }));
            return;
        }
        let Some(tx) = &self.tx else {
            done(Err(AppendError::Closed));
            return;
        };
        if let Err(mpsc::SendError(Request::Append(_, done))) =
            tx.send(Request::Append(leaf, Box::new(done)))
        {
            done(Err(AppendError::Closed));
        }
    }

    /// Appends `leaf` and waits until it is durable.
    ///
    /// # Errors
    /// [`AppendError::TooLarge`], [`AppendError::Unavailable`] when the batch
    /// could not be written or synced, [`AppendError::Closed`].
    pub fn append_blocking(&self, leaf: Vec<u8>) -> Result<u64, AppendError> {
        let (tx, rx) = mpsc::channel();
        self.append(leaf, move |r| {
            let _ = tx.send(r);
        });
        rx.recv().unwrap_or(Err(AppendError::Closed))
    }

    /// Appends `leaves` in order and waits until all are settled; one result
    /// per leaf.
    ///
    /// The leaves reach the writer together, so they share a batch (or
    /// consecutive batches when they are more than `max_batch`).
    pub fn append_many(&self, leaves: Vec<Vec<u8>>) -> Vec<Result<u64, AppendError>> {
        let n = leaves.len();
        let (tx, rx) = mpsc::channel();
        let mut queued: Vec<(Vec<u8>, Done)> = Vec::with_capacity(n);
        for (k, leaf) in leaves.into_iter().enumerate() {
            let tx = tx.clone();
            let done = move |r| {
                let _ = tx.send((k, r));
            };
            if leaf.len() > MAX_LEAF_LEN {
                done(Err(AppendError::TooLarge { len: leaf.len() }));
            } else {
                queued.push((leaf, Box::new(done)));
            }
        }
        drop(tx);
        if !queued.is_empty() {
            match &self.tx {
                Some(sender) => {
                    if let Err(mpsc::SendError(Request::AppendMany(queued))) =
                        sender.send(Request::AppendMany(queued))
                    {
                        for (_, done) in queued {
                            done(Err(AppendError::Closed));
                        }
                    }
                }
                None => {
                    for (_, done) in queued {
                        done(Err(AppendError::Closed));
                    }
                }
            }
        }
        let mut out = vec![Err(AppendError::Closed); n];
        for (k, r) in rx {
            if let Some(slot) = out.get_mut(k) {
                *slot = r;
            }
        }
        out
    }

    /// Signs and stores a checkpoint of the committed tree, after committing
    /// what is queued; returns the stored one if the tree has not grown.
    ///
    /// # Errors
    /// [`CheckpointError::Signer`], [`CheckpointError::Io`] or
    /// [`CheckpointError::Closed`].
    pub fn checkpoint_now(&self) -> Result<String, CheckpointError> {
        let Some(tx) = &self.tx else {
            return Err(CheckpointError::Closed);
        };
        let (reply, rx) = mpsc::channel();
        tx.send(Request::Checkpoint(reply))
            .map_err(|_| CheckpointError::Closed)?;
        rx.recv().unwrap_or(Err(CheckpointError::Closed))
    }

    /// Whether the last batch committed.
    pub fn health(&self) -> LogHealth {
        let status = self
            .shared
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        status.health.clone()
    }

    /// Counters since open.
    pub fn stats(&self) -> LogStats {
        let status = self
            .shared
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        status.stats.clone()
    }

    #[doc(hidden)]
    /// Makes the following batch writes fail in the given way.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.fault.store(fault as u8, Ordering::SeqCst);
    }

    /// Commits everything queued, then stops the writer thread.
    pub fn shutdown(mut self) {
        self.close();
    }

    fn close(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(dir = %self.dir.display(), "the audit log writer thread panicked");
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// Creates (or takes over) the segment for entries from `first`.
///
/// A file of that name left by an earlier attempt whose directory sync
/// failed is reused and emptied: it cannot hold a committed entry, because
/// entry `first` is the next one to commit.
fn create_segment(
    storage: &dyn Storage,
    seg_dir: &Path,
    first: u64,
) -> Result<Arc<dyn StorageFile>, (PathBuf, std::io::Error)> {
    let path = seg_dir.join(segment_name(first));
    let file = storage
        .open(&path, OpenMode::Create)
        .map_err(|e| (path.clone(), e))?;
    if file.size().map_err(|e| (path.clone(), e))? != 0 {
        file.set_len(0)
            .and_then(|()| file.sync())
            .map_err(|e| (path.clone(), e))?;
    }
    // The new name must survive a crash before any batch in it is acknowledged.
    storage
        .sync_dir(seg_dir)
        .map_err(|e| (seg_dir.to_owned(), e))?;
    Ok(file)
}

/// Why a batch was not committed.
enum CommitFailure {
    /// This batch failed; the segment is back at its committed state.
    Batch(String),
    /// The writer has stopped.
    Stopped(String),
}

struct Writer {
    config: LogConfig,
    storage: Arc<dyn Storage>,
    seg: Arc<dyn StorageFile>,
    seg_first: u64,
    /// Committed bytes of the current segment.
    seg_len: u64,
    /// Why the writer stopped, once a failure could not be recovered from.
    stopped: Option<String>,
    /// Leaves in the batch being written.
    pending_count: u64,
    /// How far the derived files are durable (their recorded mark).
    durable: u64,
    frontier: Frontier,
    /// `None` after a derived write failed, until a rebuild succeeds.
    derived: Option<DerivedWriter>,
    last_repair: Option<Instant>,
    cps: CheckpointStore,
    last_cp: Option<Stored>,
    signer: Box<dyn CheckpointSigner>,
    shared: Arc<Shared>,
    buf: Vec<u8>,
    nodes: Vec<Completed>,
    /// The committed batch's entry offsets in their segment.
    offsets: Vec<u64>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Request>) {
        let interval = self.config.checkpoint_interval;
        let mut next_cp = interval.map(|i| Instant::now() + i);
        let mut batch: Vec<(Vec<u8>, Done)> = Vec::with_capacity(self.config.max_batch);
        let mut cp_requests = Vec::new();
        loop {
            let flush_at = self
                .derived
                .as_ref()
                .is_some_and(DerivedWriter::has_pending)
                .then(|| Instant::now() + DERIVED_IDLE_FLUSH);
            let wake = match (next_cp, flush_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let first = match wake {
                Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(r) => Some(r),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(r) => Some(r),
                    Err(_) => break,
                },
            };
            if first.is_none() {
                self.flush_derived();
            }
            let mut open = true;
            if let Some(first) = first {
                self.take(first, &mut batch, &mut cp_requests);
                if !self.config.batch_window.is_zero() && !batch.is_empty() {
                    let until = Instant::now() + self.config.batch_window;
                    while batch.len() < self.config.max_batch {
                        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                            Ok(r) => self.take(r, &mut batch, &mut cp_requests),
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => {
                                open = false;
                                break;
                            }
                        }
                    }
                }
                while batch.len() < self.config.max_batch {
                    match rx.try_recv() {
                        Ok(r) => self.take(r, &mut batch, &mut cp_requests),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                }
            }
            // Leaves sent together can outnumber `max_batch`.
            while batch.len() > self.config.max_batch {
                let rest = batch.split_off(self.config.max_batch);
                self.commit(&mut batch);
                batch.extend(rest);
            }
            if !batch.is_empty() {
                self.commit(&mut batch);
            }
            for reply in cp_requests.drain(..) {
                let _ = reply.send(self.checkpoint());
            }
            if let (Some(at), Some(every)) = (next_cp, interval)
                && Instant::now() >= at
            {
                self.periodic_checkpoint();
                next_cp = Some(Instant::now() + every);
            }
            if !open {
                break;
            }
        }
        // Everything queued has been committed; sign what the last interval added.
        if interval.is_some() {
            self.periodic_checkpoint();
        }
        // Durable derived files let the next open trust them all.
        if self.stopped.is_none()
            && self.durable < self.frontier.size()
            && let Err(e) = self.sync_derived()
        {
            tracing::warn!(error = %e, "the derived audit log files were not synced at shutdown; the next open rebuilds them");
        }
        self.flush_derived();
    }

    fn take(
        &self,
        r: Request,
        batch: &mut Vec<(Vec<u8>, Done)>,
        cps: &mut Vec<mpsc::Sender<Result<String, CheckpointError>>>,
    ) {
        match r {
            Request::Append(leaf, done) => batch.push((leaf, done)),
            Request::AppendMany(leaves) => batch.extend(leaves),
            Request::Checkpoint(reply) => cps.push(reply),
        }
    }

    fn commit(&mut self, batch: &mut Vec<(Vec<u8>, Done)>) {
        let first = self.frontier.size();
        let mut frontier = self.frontier.clone();
        self.nodes.clear();
        let nodes = &mut self.nodes;
        let leaves: Vec<(&[u8], Hash)> = batch
            .iter()
            .map(|(leaf, _)| {
                let h = leaf_hash(leaf);
                frontier.push(h, |c| nodes.push(c));
                (leaf.as_slice(), h)
            })
            .collect();
        let root = frontier.root();
        self.buf.clear();
        format::encode_batch(&mut self.buf, first, &leaves, frontier.size(), &root);
        drop(leaves);
        let started = Instant::now();
        self.pending_count = batch.len() as u64;
        match self.write_batch(first) {
            Ok(base) => {
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.frontier = frontier;
                let size = self.frontier.size();
                self.shared.update(|s| {
                    s.health = LogHealth::Ok;
                    s.stats.size = size;
                    s.stats.batches += 1;
                    s.stats.fsyncs += 1;
                    s.stats.last_commit_micros = micros;
                });
                if let Some(observer) = &self.config.observer {
                    let leaves: Vec<&[u8]> = batch.iter().map(|(l, _)| l.as_slice()).collect();
                    observer.committed(first, &leaves);
                }
                self.offsets.clear();
                let mut at = base + HEADER_LEN as u64;
                for (index, (leaf, done)) in (first..).zip(batch.drain(..)) {
                    self.offsets.push(at);
                    at += (ENTRY_HEAD_LEN + leaf.len()) as u64;
                    done(Ok(index));
                }
                self.write_derived(first);
            }
            Err(failure) => {
                let (error, health) = match failure {
                    CommitFailure::Batch(reason) => {
                        tracing::error!(dir = %self.config.dir.display(), %reason, "an audit log batch failed to commit");
                        (AppendError::Unavailable(reason.clone()), None)
                    }
                    CommitFailure::Stopped(reason) => (
                        AppendError::Stopped(reason.clone()),
                        Some(LogHealth::Stopped { reason }),
                    ),
                };
                let message = error.to_string();
                self.shared.update(|s| {
                    s.stats.failures += 1;
                    s.health = match (health, &s.health) {
                        (Some(stopped), _) => stopped,
                        (None, LogHealth::Failing { since_batches, .. }) => LogHealth::Failing {
                            reason: message,
                            since_batches: since_batches + 1,
                        },
                        (None, _) => LogHealth::Failing {
                            reason: message,
                            since_batches: 1,
                        },
                    };
                });
                for (_, done) in batch.drain(..) {
                    done(Err(error.clone()));
                }
            }
        }
    }

    /// Writes and syncs the encoded batch; returns the offset it starts at.
    ///
    /// After a failed write or sync nothing the page cache says about the
    /// segment is trusted ([`Self::restore_committed`]); when that fails too
    /// the writer stops.
    fn write_batch(&mut self, first: u64) -> Result<u64, CommitFailure> {
        if let Some(reason) = &self.stopped {
            return Err(CommitFailure::Stopped(reason.clone()));
        }
        let seg_dir = self.config.dir.join("segments");
        if self.seg_len >= self.config.segment_bytes && self.seg_len > 0 {
            let file =
                create_segment(self.storage.as_ref(), &seg_dir, first).map_err(|(p, e)| {
                    CommitFailure::Batch(format!("creating segment `{}`: {e}", p.display()))
                })?;
            self.seg = file;
            self.seg_first = first;
            self.seg_len = 0;
        }
        let path = seg_dir.join(segment_name(self.seg_first));
        let fault = Fault::from_u8(self.shared.fault.load(Ordering::SeqCst));
        let at = self.seg_len;
        let written = match fault {
            Fault::FailWrite => Err(std::io::Error::other("injected write failure")),
            Fault::PartialWrite | Fault::PartialWriteStuck => {
                let half = self.buf.get(..self.buf.len() / 2).unwrap_or_default();
                self.seg
                    .write_all_at(half, at)
                    .and(Err(std::io::Error::other("injected partial write")))
            }
            Fault::None | Fault::FailSync => self.seg.write_all_at(&self.buf, at),
        };
        let synced = written.and_then(|()| match fault {
            Fault::FailSync => Err(std::io::Error::other("injected sync failure")),
            _ => self.seg.sync(),
        });
        if let Err(e) = synced {
            let failure = format!("writing a batch to `{}` at byte {at}: {e}", path.display());
            return Err(match self.restore_committed(&path, fault) {
                Ok(()) => CommitFailure::Batch(failure),
                Err(second) => {
                    let end = first + self.pending_count;
                    let mut reason = format!(
                        "{failure}; then {second}. Nothing more is appended until the log is reopened. The refused batch (entries {first}..{end}) may still be on disk after byte {at} of `{}`",
                        path.display(),
                    );
                    // Leave the committed length where recovery finds it, so
                    // that a restart cuts the refused batch rather than take
                    // it for committed; if even that cannot be written, an
                    // operator must.
                    let marker =
                        crate::recover::stop_marker(&segment_name(self.seg_first), at, &reason);
                    match crate::checkpoints::write_atomic(
                        self.storage.as_ref(),
                        &self.config.dir,
                        "STOPPED",
                        marker.as_bytes(),
                    ) {
                        Ok(()) => reason.push_str(
                            ": the `STOPPED` marker in the log directory records the committed length, and a restart cuts the rest (keeping a copy under `quarantine/`); restart once the disk is healthy",
                        ),
                        Err((_, e)) => reason.push_str(&format!(
                            ", where a restart would take it for committed (the `STOPPED` marker could not be written either: {e}): once the disk is healthy, cut the file to {at} bytes (`truncate -s {at} {}`), then restart",
                            path.display()
                        )),
                    }
                    tracing::error!(dir = %self.config.dir.display(), %reason, "the audit log writer stopped");
                    self.stopped = Some(reason.clone());
                    CommitFailure::Stopped(reason)
                }
            });
        }
        self.seg_len += self.buf.len() as u64;
        Ok(at)
    }

    /// Brings the segment back to its committed state after a failed write
    /// or sync: cuts it to the committed length, makes the cut durable,
    /// reopens the file and reads its last record back, which must be the
    /// last batch committed.
    ///
    /// After a failed sync the kernel may have dropped the batch's dirty
    /// pages or still write them later, and it may report no error on the
    /// next sync: only a synced cut keeps a refused batch from reappearing
    /// after a power loss as if it had been committed.
    fn restore_committed(&mut self, path: &Path, fault: Fault) -> Result<(), String> {
        let len = self.seg_len;
        if fault == Fault::PartialWriteStuck {
            return Err(format!(
                "cutting `{}` back to byte {len} failed: injected failure",
                path.display()
            ));
        }
        self.seg
            .set_len(len)
            .and_then(|()| self.seg.sync())
            .map_err(|e| {
                format!(
                    "cutting `{}` back to byte {len} failed: {e}",
                    path.display()
                )
            })?;
        let file = self
            .storage
            .open(path, OpenMode::Write)
            .map_err(|e| format!("reopening `{}` failed: {e}", path.display()))?;
        let found = file
            .size()
            .map_err(|e| format!("reading the length of `{}` failed: {e}", path.display()))?;
        if found != len {
            return Err(format!(
                "`{}` is {found} bytes after the cut, not {len}",
                path.display()
            ));
        }
        if len > 0 {
            match scan::last_record(&file, len) {
                Ok(Ok((size, root)))
                    if size == self.frontier.size() && root == self.frontier.root() => {}
                Ok(_) => {
                    return Err(format!(
                        "the last record of `{}` read back is not the last committed batch (entries up to {})",
                        path.display(),
                        self.frontier.size()
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "reading back the last record of `{}` failed: {e}",
                        path.display()
                    ));
                }
            }
        }
        self.seg = file;
        Ok(())
    }

    /// Writes out the queued derived records.
    fn flush_derived(&mut self) {
        if let Some(derived) = &mut self.derived
            && let Err((path, e)) = derived.flush()
        {
            tracing::warn!(path = %path.display(), error = %e, "a derived audit log file fell behind; rebuilding it from the segments");
            self.derived = None;
        }
    }

    fn write_derived(&mut self, first: u64) {
        if let Some(derived) = &mut self.derived {
            if let Err((path, e)) = derived.append(&self.nodes, first, &self.offsets) {
                tracing::warn!(path = %path.display(), error = %e, "a derived audit log file fell behind; rebuilding it from the segments");
                self.derived = None;
            }
            return;
        }
        // Retry a rebuild at most once a second: it re-reads the last segment.
        if self
            .last_repair
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.repair_derived();
    }

    /// Rebuilds the derived files from the segments, from as far as the
    /// latest checkpoint made them durable.
    fn repair_derived(&mut self) {
        self.last_repair = Some(Instant::now());
        match recover::rebuild_derived(&self.storage, &self.config.dir, self.durable) {
            Ok(rebuilt) if rebuilt.frontier == self.frontier => {
                self.derived = Some(rebuilt.derived)
            }
            Ok(_) => tracing::error!("the rebuilt audit log tree differs from the writer's"),
            Err(e) => tracing::warn!(error = %e, "rebuilding the derived audit log files failed"),
        }
    }

    /// Writes out and syncs the derived files, rebuilding them first if an
    /// earlier write failed.
    fn sync_derived(&mut self) -> Result<(), CheckpointError> {
        if self.derived.is_none() {
            self.repair_derived();
        }
        let Some(derived) = &mut self.derived else {
            return Err(CheckpointError::Derived {
                path: self.config.dir.join("tree"),
                source: std::io::Error::other(
                    "the derived files could not be rebuilt from the segments",
                ),
            });
        };
        if let Err((path, source)) = derived.sync() {
            self.derived = None;
            return Err(CheckpointError::Derived { path, source });
        }
        let size = self.frontier.size();
        crate::derived::record_synced(self.storage.as_ref(), &self.config.dir, size)
            .map_err(|(path, source)| CheckpointError::Derived { path, source })?;
        self.durable = size;
        Ok(())
    }

    fn checkpoint(&mut self) -> Result<String, CheckpointError> {
        if let Some(reason) = &self.stopped {
            return Err(CheckpointError::Stopped(reason.clone()));
        }
        let size = self.frontier.size();
        if let Some(cp) = &self.last_cp
            && cp.size == size
        {
            return Ok(cp.text.clone());
        }
        // Recovery trusts the derived files as far as the latest stored
        // checkpoint, so they must be durable that far before it is stored;
        // a reader opened for this checkpoint then finds them covering it.
        if let Err(e) = self.sync_derived() {
            tracing::error!(error = %e, "an audit log checkpoint failed");
            self.shared.update(|s| s.stats.checkpoint_failures += 1);
            return Err(e);
        }
        let root = self.frontier.root();
        let result = self
            .signer
            .sign(size, &root)
            .map_err(|source| CheckpointError::Signer { size, source })
            .and_then(|text| {
                self.cps
                    .append(size, &root, &text)
                    .map_err(|(path, source)| CheckpointError::Io { path, source })?;
                Ok(text)
            });
        match &result {
            Ok(text) => {
                self.last_cp = Some(Stored {
                    size,
                    root,
                    text: text.clone(),
                });
                self.shared.update(|s| s.stats.checkpoints += 1);
            }
            Err(e) => {
                tracing::error!(error = %e, "an audit log checkpoint failed");
                self.shared.update(|s| s.stats.checkpoint_failures += 1);
            }
        }
        result
    }

    fn periodic_checkpoint(&mut self) {
        let grown = match &self.last_cp {
            Some(cp) => cp.size < self.frontier.size(),
            None => self.frontier.size() > 0,
        };
        if grown {
            let _ = self.checkpoint();
        }
    }
}

#[cfg(test)]
mod tests;
