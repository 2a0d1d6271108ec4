//! Group commit for verification events: every event that arrives while
//! the store is committing the previous batch is recorded with the next one,
//! in one transaction and one sync, so the rate of durable intake grows with
//! concurrency instead of being one sync per event.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};

use cordon_store::{Delivered, IdentityStore, Intake};
use cordon_verification::{Event, SourceKind};

/// The most events one transaction records.
const MAX_BATCH: usize = 256;

/// An event to record, owned so it can cross to the writer thread.
pub(crate) struct Pending {
    pub source: String,
    pub kind: SourceKind,
    pub delivery_id: Option<String>,
    pub payload_sha256: String,
    pub event: Event,
}

type Reply = tokio::sync::oneshot::Sender<Result<Intake, String>>;

/// The queue in front of the store's writer thread.
pub struct IntakeQueue {
    tx: SyncSender<(Pending, Reply)>,
}

impl std::fmt::Debug for IntakeQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntakeQueue")
    }
}

impl IntakeQueue {
    /// Starts the writer thread; it stops when the queue is dropped.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start(store: Arc<dyn IdentityStore>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(MAX_BATCH * 4);
        std::thread::Builder::new()
            .name("verification-intake".into())
            .spawn(move || run(&*store, &rx))?;
        Ok(IntakeQueue { tx })
    }

    /// Records `p` with whatever else is queued, and waits for its outcome.
    ///
    /// # Errors
    /// The store's error, or that the writer has stopped.
    pub(crate) async fn record(&self, p: Pending) -> Result<Intake, String> {
        let stopped = || "the verification writer has stopped".to_owned();
        let (reply, rx) = tokio::sync::oneshot::channel();
        match self.tx.try_send((p, reply)) {
            Ok(()) => {}
            // A full queue waits for room: the backpressure a slow disk needs.
            Err(std::sync::mpsc::TrySendError::Full(item)) => {
                let tx = self.tx.clone();
                let sent = tokio::task::spawn_blocking(move || tx.send(item).is_ok())
                    .await
                    .map_err(|e| e.to_string())?;
                if !sent {
                    return Err(stopped());
                }
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        rx.await.map_err(|_| stopped())?
    }
}

fn run(store: &dyn IdentityStore, rx: &Receiver<(Pending, Reply)>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let delivered: Vec<Delivered<'_>> = batch
            .iter()
            .map(|(p, _)| Delivered {
                source: &p.source,
                kind: p.kind,
                delivery_id: p.delivery_id.as_deref(),
                payload_sha256: &p.payload_sha256,
                event: &p.event,
            })
            .collect();
        match store.record_events(&delivered) {
            Ok(outcomes) => {
                for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "a batch of verification events could not be recorded");
                let message = e.to_string();
                for (_, reply) in batch {
                    let _ = reply.send(Err(message.clone()));
                }
            }
        }
    }
}
