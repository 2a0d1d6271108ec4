//! Ships a node's audit log to the shared store, exactly once, in order.
//!
//! Each shipment is one transaction that must start where the shared copy
//! ends and carries the root of the node's tree after it; on every (re)start
//! the shipper first checks the shared copy against the node's log on disk
//! (its size and root), so a copy that diverged, or a node whose disk lost
//! shipped entries, stops shipping with an error that says so instead of
//! growing a log that would not verify.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cordon_audit::merkle::leaf_hash;
use cordon_audit::{Checkpoint, Frontier, ProofError, VerifierKey};
use cordon_audit_log::{LogReader, OpenError, ReadError};
use cordon_store::StoreError;
use cordon_store::postgres::{PostgresStore, Shipment};
use tokio::sync::watch;

use crate::queue::{CommitQueue, Taken};

/// The most entries one shipment carries.
pub const MAX_SHIPMENT: usize = 4096;

/// How often signed checkpoints are looked for and shipped.
pub const CHECKPOINT_LOOK: Duration = Duration::from_secs(1);

/// How long the shipper waits before trying again after a failure, at first
/// and at most.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// How many recent shipments the lag figures cover.
const LAG_SAMPLES: usize = 4096;

/// Why a shipment failed.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// The shared store refused or could not be reached.
    #[error("the shared store: {0}")]
    Store(#[from] StoreError),
    /// The node's log could not be opened for reading.
    #[error("cannot read the audit log: {0}")]
    Open(#[from] OpenError),
    /// An entry of the node's log could not be read.
    #[error("cannot read an entry of the audit log: {0}")]
    Read(#[from] ReadError),
    /// The node's tree could not be rebuilt at the shipped size.
    #[error("cannot compute the audit log's root at the shipped size: {0}")]
    Tree(#[from] ProofError),
    /// The shared copy is longer than the log on this node's disk.
    #[error(
        "the shared store holds {shipped} entries of node `{node}`'s log but its disk holds only {local}: the disk lost entries it had shipped; restore the log directory, or give this node a new name so its new log is shipped apart"
    )]
    AheadOfDisk {
        /// The node.
        node: String,
        /// Entries in the shared copy.
        shipped: u64,
        /// Entries on disk.
        local: u64,
    },
    /// The shared copy and the node's log differ.
    #[error(
        "the shared store's copy of node `{node}`'s log has another root at size {size} than the log on its disk: they diverged, so shipping stopped; keep both for an investigation and give this node a new name"
    )]
    Diverged {
        /// The node.
        node: String,
        /// The size compared at.
        size: u64,
    },
}

/// What the shipper reports about itself.
#[derive(Debug, Clone, Default)]
pub struct ShipperStatus {
    /// Entries the shared store has confirmed.
    pub shipped: u64,
    /// Why the last attempt failed, until one succeeds.
    pub failing: Option<String>,
    /// Shipments made since the node started.
    pub shipments: u64,
    /// Recent shipping lags (local commit of a shipment's oldest entry to
    /// its commit in the shared store), in microseconds, oldest first.
    lags: std::collections::VecDeque<u64>,
}

impl ShipperStatus {
    /// The quantiles `qs` (each 0 to 1) of recent shipping lags, from one
    /// sort; `None` each before anything shipped.
    pub fn lag_quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<Duration>; N] {
        let mut v: Vec<u64> = self.lags.iter().copied().collect();
        v.sort_unstable();
        qs.map(|q| {
            let last = v.len().checked_sub(1)?;
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss,
                reason = "an index into a vector of at most LAG_SAMPLES, rounded"
            )]
            let at = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
            v.get(at.min(last)).map(|&us| Duration::from_micros(us))
        })
    }

    fn lagged(&mut self, lag: Duration) {
        if self.lags.len() == LAG_SAMPLES {
            self.lags.pop_front();
        }
        self.lags
            .push_back(u64::try_from(lag.as_micros()).unwrap_or(u64::MAX));
    }
}

/// Ships one node's audit log to the shared store on a thread of its own.
pub struct Shipper {
    store: Arc<PostgresStore>,
    node: String,
    log_dir: PathBuf,
    key: VerifierKey,
    queue: Arc<CommitQueue>,
    confirmed: watch::Sender<u64>,
    status: Arc<Mutex<ShipperStatus>>,
    stop: Arc<AtomicBool>,
}

/// Where the shared copy ends, as this shipper knows it.
struct Position {
    size: u64,
    frontier: Frontier,
    /// Entries on disk the queue never held: ship them from disk first.
    disk_end: u64,
    /// The largest checkpoint size shipped.
    checkpoint: u64,
    next_look: Instant,
}

/// A running shipper: its confirmations and status, and how to stop it.
pub struct ShipperHandle {
    confirmed: watch::Receiver<u64>,
    status: Arc<Mutex<ShipperStatus>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ShipperHandle {
    /// How many entries the shared store holds, updated after each shipment:
    /// in `replicated` durability a decision waits here for its index.
    pub fn confirmed(&self) -> watch::Receiver<u64> {
        self.confirmed.clone()
    }

    /// What the shipper last reported.
    pub fn status(&self) -> ShipperStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the shipper after its current shipment and waits for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Shipper {
    /// A shipper of the log in `log_dir`, signed with the key `key`
    /// verifies, as node `node`; `queue` must be the log writer's
    /// [`cordon_audit_log::LogConfig::observer`].
    pub fn new(
        store: Arc<PostgresStore>,
        node: &str,
        log_dir: PathBuf,
        key: VerifierKey,
        queue: Arc<CommitQueue>,
    ) -> Self {
        Shipper {
            store,
            node: node.to_owned(),
            log_dir,
            key,
            queue,
            confirmed: watch::channel(0).0,
            status: Arc::default(),
            stop: Arc::default(),
        }
    }

    /// Starts shipping on a thread of its own.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn spawn(self) -> std::io::Result<ShipperHandle> {
        let confirmed = self.confirmed.subscribe();
        let status = Arc::clone(&self.status);
        let stop = Arc::clone(&self.stop);
        let thread = std::thread::Builder::new()
            .name("audit-shipper".into())
            .spawn(move || self.run())?;
        Ok(ShipperHandle {
            confirmed,
            status,
            stop,
            thread: Some(thread),
        })
    }

    fn run(self) {
        let mut pos: Option<Position> = None;
        let mut backoff = BACKOFF.0;
        while !self.stop.load(Ordering::SeqCst) {
            match self.step(&mut pos) {
                Ok(()) => {
                    backoff = BACKOFF.0;
                    self.update(|s| s.failing = None);
                }
                Err(e) => {
                    tracing::warn!(error = %e, node = %self.node, "cannot ship the audit log; retrying");
                    self.update(|s| s.failing = Some(e.to_string()));
                    // Start again from what the shared store holds.
                    pos = None;
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF.1);
                }
            }
        }
    }

    fn update(&self, f: impl FnOnce(&mut ShipperStatus)) {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn step(&self, pos: &mut Option<Position>) -> Result<(), ShipError> {
        let p = match pos {
            Some(p) => p,
            None => pos.insert(self.resume()?),
        };
        if p.size < p.disk_end {
            self.ship_from_disk(p, p.disk_end)?;
        } else {
            let wait = p.next_look.saturating_duration_since(Instant::now());
            match self.queue.take(p.size, MAX_SHIPMENT, wait) {
                Taken::Entries { leaves, oldest } => {
                    let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
                    self.ship(p, &refs, &[])?;
                    self.update(|s| s.lagged(oldest.elapsed()));
                }
                Taken::Gap { until } => {
                    let until = match until {
                        Some(u) => u,
                        None => LogReader::open(&self.log_dir)?.size(),
                    };
                    p.disk_end = until;
                    self.ship_from_disk(p, until)?;
                }
                Taken::Nothing => {}
            }
        }
        if Instant::now() >= p.next_look {
            self.ship_checkpoints(p)?;
            p.next_look = Instant::now() + CHECKPOINT_LOOK;
        }
        Ok(())
    }

    /// Registers the log and checks the shared copy against the disk.
    fn resume(&self) -> Result<Position, ShipError> {
        self.store.register_log(&self.node, &self.key.to_text())?;
        let head = self.store.shipped_head(&self.node)?;
        let reader = LogReader::open(&self.log_dir)?;
        if head.size > reader.size() {
            return Err(ShipError::AheadOfDisk {
                node: self.node.clone(),
                shipped: head.size,
                local: reader.size(),
            });
        }
        let frontier = Frontier::from_source(&reader, head.size)?;
        if head.root.is_some_and(|r| r != frontier.root()) {
            return Err(ShipError::Diverged {
                node: self.node.clone(),
                size: head.size,
            });
        }
        self.confirm(head.size);
        Ok(Position {
            size: head.size,
            frontier,
            disk_end: reader.size(),
            checkpoint: head.checkpoint,
            next_look: Instant::now(),
        })
    }

    fn ship_from_disk(&self, p: &mut Position, until: u64) -> Result<(), ShipError> {
        let reader = LogReader::open(&self.log_dir)?;
        let end = until
            .min(reader.size())
            .min(p.size.saturating_add(MAX_SHIPMENT as u64));
        let leaves = (p.size..end)
            .map(|i| reader.entry(i))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&[u8]> = leaves.iter().map(Vec::as_slice).collect();
        self.ship(p, &refs, &[])
    }

    fn ship_checkpoints(&self, p: &mut Position) -> Result<(), ShipError> {
        let reader = LogReader::open(&self.log_dir)?;
        let fresh: Vec<(u64, String)> = reader
            .checkpoints()
            .into_iter()
            .filter_map(|text| {
                let cp = Checkpoint::open(&text, &self.key).ok()?;
                (cp.size > p.checkpoint && cp.size <= p.size).then_some((cp.size, text))
            })
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        self.ship(p, &[], &fresh)
    }

    /// One shipment from `p.size`; `p` moves only once it committed.
    fn ship(
        &self,
        p: &mut Position,
        leaves: &[&[u8]],
        checkpoints: &[(u64, String)],
    ) -> Result<(), ShipError> {
        let mut frontier = p.frontier.clone();
        for leaf in leaves {
            frontier.push(leaf_hash(leaf), |_| {});
        }
        let size = self.store.ship(
            &self.node,
            &Shipment {
                first: p.size,
                entries: leaves,
                root: frontier.root(),
                checkpoints,
            },
        )?;
        p.size = size;
        p.frontier = frontier;
        p.checkpoint = checkpoints
            .iter()
            .map(|(s, _)| *s)
            .fold(p.checkpoint, u64::max);
        self.confirm(size);
        self.update(|s| {
            s.shipped = size;
            s.shipments += 1;
        });
        Ok(())
    }

    fn confirm(&self, size: u64) {
        self.confirmed.send_if_modified(|c| {
            let grew = size > *c;
            *c = (*c).max(size);
            grew
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::ShipperStatus;

    #[test]
    fn lag_quantiles_come_from_the_recent_lags() {
        let mut s = ShipperStatus::default();
        assert_eq!(s.lag_quantiles([0.5, 0.99]), [None, None]);
        for ms in (1..=100).rev() {
            s.lagged(Duration::from_millis(ms));
        }
        assert_eq!(
            s.lag_quantiles([0.0, 0.5, 0.99, 1.0]),
            [1, 51, 99, 100].map(|ms| Some(Duration::from_millis(ms)))
        );
    }
}
