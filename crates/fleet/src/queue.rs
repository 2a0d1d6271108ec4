//! The entries a node's log committed and the shared store has not taken yet.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use cordon_audit_log::CommitObserver;

/// How many bytes of entries the queue holds before it lets go of them all;
/// the shipper then reads them back from the log on disk.
pub const DEFAULT_LIMIT_BYTES: usize = 64 << 20;

/// Committed entries waiting to be shipped, filled by the log writer
/// ([`CommitObserver`]) and drained by the shipper.
///
/// Bounded in bytes: while the shared store is away the queue would grow
/// without end, so past its limit it drops what it holds and starts again
/// from the next batch. The gap that leaves is not lost: the entries are on
/// the node's disk, and [`CommitQueue::take`] reports it for the shipper to
/// read them back.
#[derive(Debug)]
pub struct CommitQueue {
    inner: Mutex<Inner>,
    grown: Condvar,
    limit_bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// The index of `entries[0]`.
    first: u64,
    entries: VecDeque<Entry>,
    bytes: usize,
}

#[derive(Debug)]
struct Entry {
    leaf: Vec<u8>,
    committed_at: Instant,
}

impl Inner {
    fn end(&self) -> u64 {
        self.first + self.entries.len() as u64
    }
}

/// What [`CommitQueue::take`] found from the index asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// Consecutive entries from the index asked for, and when the oldest
    /// of them committed.
    Entries {
        /// The leaves, in index order.
        leaves: Vec<Vec<u8>>,
        /// When the first of them was committed locally.
        oldest: Instant,
    },
    /// The queue does not hold the entries from the index asked for up to
    /// `until` (exclusive): read them from the log on disk. `until` is
    /// `None` when the queue holds nothing past the index at all.
    Gap {
        /// The first index the queue holds, if any.
        until: Option<u64>,
    },
    /// Nothing new committed within the wait.
    Nothing,
}

impl Default for CommitQueue {
    fn default() -> Self {
        Self::new(DEFAULT_LIMIT_BYTES)
    }
}

impl CommitQueue {
    /// An empty queue that holds at most `limit_bytes` of entries.
    pub fn new(limit_bytes: usize) -> Self {
        CommitQueue {
            inner: Mutex::new(Inner::default()),
            grown: Condvar::new(),
            limit_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The queue's state stays consistent across a panic: every change
        // is a push or a pop.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The index after the last committed entry the queue has seen, or 0.
    pub fn end(&self) -> u64 {
        self.lock().end()
    }

    /// Waits up to `wait` for entries from index `from` and takes at most
    /// `max` of them. Entries before `from` are already shipped and dropped.
    pub fn take(&self, from: u64, max: usize, wait: Duration) -> Taken {
        let deadline = Instant::now() + wait;
        let mut inner = self.lock();
        while inner.end() <= from {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Taken::Nothing;
            }
            inner = self
                .grown
                .wait_timeout(inner, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        while inner.first < from {
            if let Some(e) = inner.entries.pop_front() {
                inner.bytes -= e.leaf.len();
            }
            inner.first += 1;
        }
        if inner.first > from {
            return Taken::Gap {
                until: (!inner.entries.is_empty()).then_some(inner.first),
            };
        }
        let n = inner.entries.len().min(max);
        let oldest = inner
            .entries
            .front()
            .map_or_else(Instant::now, |e| e.committed_at);
        let leaves: Vec<Vec<u8>> = inner.entries.drain(..n).map(|e| e.leaf).collect();
        inner.bytes -= leaves.iter().map(Vec::len).sum::<usize>();
        inner.first += n as u64;
        Taken::Entries { leaves, oldest }
    }
}

impl CommitObserver for CommitQueue {
    fn committed(&self, first: u64, leaves: &[&[u8]]) {
        let now = Instant::now();
        let mut inner = self.lock();
        if inner.entries.is_empty() || inner.end() != first {
            inner.entries.clear();
            inner.bytes = 0;
            inner.first = first;
        }
        for leaf in leaves {
            inner.bytes += leaf.len();
            inner.entries.push_back(Entry {
                leaf: leaf.to_vec(),
                committed_at: now,
            });
        }
        if inner.bytes > self.limit_bytes {
            // Past the limit: keep nothing; the shipper reads from disk.
            let end = inner.end();
            inner.entries.clear();
            inner.bytes = 0;
            inner.first = end;
        }
        drop(inner);
        self.grown.notify_all();
    }
}

#[cfg(test)]
mod tests;
