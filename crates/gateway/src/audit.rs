//! The audit trail: every decision and every administrative change goes into
//! the tamper-evident log (docs/audit.md), and a decision is durable there
//! before it takes effect.
//!
//! A request handler builds a [`DecisionRecord`] with [`decision_record`],
//! awaits [`AuditTrail::record`], and only then answers or forwards. When the
//! append fails, a request that any directive consulted is refused; others
//! follow [`OnFailure`].

pub mod config;

mod activation;
mod journal;
mod metrics;
mod reader;
mod record;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use cordon_audit::leaf::{self, DecisionRecord, Record};
use cordon_audit::{Checkpoint, VerifierKey};
use cordon_audit_log::{AppendError, AuditLog, LogHealth, LogStats};
use cordon_policy::{Decision, Explanation, Request};

use crate::api_error::{self, Api, Code};
use crate::metrics::Histogram;
use crate::proxy;

pub use activation::activation_record;
pub use config::{AuditConfig, Durability, OnFailure};
pub use journal::{CopyError, CopyReport, admin_record, copy_journal};
pub use reader::{Receipt, ReceiptError};
pub use record::{
    DecisionContext, MAX_MODEL_NAME, bounded_model_name, controlled, decision_record,
};

/// Response header carrying the log index of the request's decision.
pub const AUDIT_INDEX: &str = "x-cordon-audit-index";

/// The actor of changes the gateway itself makes.
pub const SERVE_ACTOR: &str = "cordon serve";

/// Why a record is not in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cause}")]
pub struct AuditUnavailable {
    /// The cause, fit for a client: it names no file.
    pub cause: String,
    /// What the log reported, for operators.
    pub detail: String,
}

impl AuditUnavailable {
    fn from_append(e: &AppendError) -> Self {
        let cause = match e {
            AppendError::Unavailable(_) => "writing to the audit log's disk failed",
            AppendError::Stopped(_) => "the audit log stopped after a disk failure",
            AppendError::Closed => "the audit log is shut down",
            AppendError::TooLarge { .. } => "the record is larger than a log entry may be",
        };
        AuditUnavailable {
            cause: cause.into(),
            detail: e.to_string(),
        }
    }
}

/// A queued record's answer from the writer: its index once its batch is
/// synced, or why it was not committed.
type Committing = tokio::sync::oneshot::Receiver<Result<u64, AppendError>>;

#[derive(Default)]
struct Counters {
    appended: AtomicU64,
    failed: AtomicU64,
    unrecorded: AtomicU64,
}

/// The audit log as the gateway uses it: the writer, the pseudonym salt and
/// the settings that decide what a failed append means.
///
/// Dropping the last handle commits everything queued and stops the writer.
pub struct AuditTrail {
    log: AuditLog,
    salt: Vec<u8>,
    verifier: VerifierKey,
    on_failure: OnFailure,
    read_token: Option<String>,
    counters: Counters,
    wait: Histogram,
    reader: Mutex<Option<reader::Cached>>,
    replica: Option<Replica>,
}

/// The shared store's copy a decision waits for in `replicated` durability.
#[derive(Debug, Clone)]
struct Replica {
    /// How many entries the copy holds.
    confirmed: tokio::sync::watch::Receiver<u64>,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail")
            .field("log", &self.log)
            .field("on_failure", &self.on_failure)
            .finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// Wraps an open log. `verifier` is the public half of the key the log
    /// signs checkpoints with; receipts are checked against it before they
    /// are handed out.
    pub fn new(
        log: AuditLog,
        salt: impl Into<Vec<u8>>,
        verifier: VerifierKey,
        config: &AuditConfig,
    ) -> Self {
        AuditTrail {
            log,
            salt: salt.into(),
            verifier,
            on_failure: config.on_failure,
            read_token: config.read_token.clone(),
            counters: Counters::default(),
            wait: Histogram::default(),
            reader: Mutex::new(None),
            replica: None,
        }
    }

    /// Makes every decision wait, after its batch is on this node's disk,
    /// until `confirmed` (how many entries the shared store's copy holds)
    /// covers it: `[audit] durability = "replicated"`. A decision the copy
    /// does not confirm within `timeout` is not carried out.
    #[must_use]
    pub fn replicated(
        mut self,
        confirmed: tokio::sync::watch::Receiver<u64>,
        timeout: std::time::Duration,
    ) -> Self {
        self.replica = Some(Replica { confirmed, timeout });
        self
    }

    /// Whether decisions wait for the shared store's copy.
    pub fn durability(&self) -> Durability {
        if self.replica.is_some() {
            Durability::Replicated
        } else {
            Durability::Local
        }
    }

    /// Commits everything queued, signs a last checkpoint when checkpoints
    /// are periodic, and stops the writer.
    pub fn close(self) {
        self.log.shutdown();
    }

    /// The log writer.
    pub fn log(&self) -> &AuditLog {
        &self.log
    }

    /// The salt of pseudonyms for names and e-mail addresses.
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    /// The key checkpoints verify with.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// What happens to uncontrolled requests when an append fails.
    pub fn on_failure(&self) -> OnFailure {
        self.on_failure
    }

    /// The bearer token of the auditor endpoints, if they are enabled.
    pub fn read_token(&self) -> Option<&str> {
        self.read_token.as_deref()
    }

    /// Whether the last batch committed.
    pub fn health(&self) -> LogHealth {
        self.log.health()
    }

    /// The writer's counters.
    pub fn stats(&self) -> LogStats {
        self.log.stats()
    }

    /// Appends `record` and waits, without blocking the runtime, until the
    /// batch holding it is synced; returns its index in the log.
    ///
    /// While the writer's queue is full the call blocks the thread briefly,
    /// which is the backpressure a log slower than the request rate needs.
    ///
    /// # Errors
    /// [`AuditUnavailable`] when the record does not encode or its batch
    /// could not be written or synced.
    pub async fn record(&self, record: Record) -> Result<u64, AuditUnavailable> {
        let (rx, started) = self.queue(&record)?;
        self.committed(rx, started).await
    }

    /// Encodes `record` and queues it for the writer; the receiver gets its
    /// index once its batch is synced.
    fn queue(&self, record: &Record) -> Result<(Committing, Instant), AuditUnavailable> {
        let bytes = self.encode(record)?;
        let started = Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.append(bytes, move |r| {
            let _ = tx.send(r);
        });
        Ok((rx, started))
    }

    /// Waits for a queued record's batch to be synced.
    async fn committed(&self, rx: Committing, started: Instant) -> Result<u64, AuditUnavailable> {
        let result = rx.await.unwrap_or(Err(AppendError::Closed));
        self.settle(result, started)
    }

    /// [`Self::record`] for threads outside the async runtime.
    ///
    /// # Errors
    /// As [`Self::record`].
    pub fn record_blocking(&self, record: Record) -> Result<u64, AuditUnavailable> {
        let bytes = self.encode(&record)?;
        let started = Instant::now();
        let result = self.log.append_blocking(bytes);
        self.settle(result, started)
    }

    /// Records a decision; see [`Self::record`]. With `replicated`
    /// durability it also waits for the shared store's copy.
    ///
    /// # Errors
    /// As [`Self::record`].
    pub async fn record_decision(&self, record: DecisionRecord) -> Result<u64, AuditUnavailable> {
        let (rx, started) = self.queue(&Record::Decision(record))?;
        self.decision_durable(rx, started).await
    }

    /// Waits until a queued decision is durable as `durability` says.
    async fn decision_durable(
        &self,
        rx: Committing,
        started: Instant,
    ) -> Result<u64, AuditUnavailable> {
        let index = self.committed(rx, started).await?;
        if let Some(replica) = &self.replica {
            self.wait_replicated(replica, index).await?;
        }
        Ok(index)
    }

    /// Waits until the shared store's copy holds entry `index`.
    async fn wait_replicated(&self, replica: &Replica, index: u64) -> Result<(), AuditUnavailable> {
        let mut confirmed = replica.confirmed.clone();
        let waited =
            tokio::time::timeout(replica.timeout, confirmed.wait_for(|&size| size > index)).await;
        let detail = match waited {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(_)) => "the audit log shipper stopped".to_owned(),
            Err(_) => format!(
                "entry {index} is on this node's disk but the shared store did not confirm it within {} ms",
                replica.timeout.as_millis()
            ),
        };
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        tracing::error!(%detail, "a decision was not replicated to the shared store");
        Err(AuditUnavailable {
            cause: "the shared store did not confirm the decision's record".into(),
            detail,
        })
    }

    /// Whether a request whose decision could not be recorded may still be
    /// answered as decided: never when a directive consulted it, otherwise
    /// as `on_failure` says. Counts the requests let through.
    pub fn may_proceed_unrecorded(&self, controlled: bool) -> bool {
        let allow = !controlled && self.on_failure == OnFailure::Allow;
        if allow {
            self.counters.unrecorded.fetch_add(1, Ordering::Relaxed);
        }
        allow
    }

    fn encode(&self, record: &Record) -> Result<Vec<u8>, AuditUnavailable> {
        leaf::encode(record).map_err(|e| {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            AuditUnavailable {
                cause: "the record could not be encoded as a log entry".into(),
                detail: e.to_string(),
            }
        })
    }

    fn settle(
        &self,
        result: Result<u64, AppendError>,
        started: Instant,
    ) -> Result<u64, AuditUnavailable> {
        self.wait.observe(started.elapsed());
        match result {
            Ok(index) => {
                self.counters.appended.fetch_add(1, Ordering::Relaxed);
                Ok(index)
            }
            Err(e) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "a record could not be appended to the audit log");
                Err(AuditUnavailable::from_append(&e))
            }
        }
    }

    /// Opens a stored checkpoint with the log's key.
    fn open_checkpoint(&self, text: &str) -> Option<Checkpoint> {
        Checkpoint::open(text, &self.verifier).ok()
    }
}

/// Records a decision in `trail` before it takes effect; see
/// [`decision_record`] for what the leaf holds.
///
/// The caller reads the gateway's trail once per request and passes it here,
/// so the decision and its record see the same log.
///
/// Returns the log index, or `None` when the gateway keeps no log or
/// the request may proceed unrecorded (no directive consulted it and
/// `on_failure = "allow"`).
///
/// # Errors
/// [`AuditUnavailable`] when the decision must not take effect: answer
/// with [`unavailable`].
pub async fn record_decision(
    trail: Option<&Arc<AuditTrail>>,
    decision: &Decision,
    explanation: &Explanation,
    request: &Request,
    ctx: &DecisionContext<'_>,
) -> Result<Option<u64>, AuditUnavailable> {
    begin_decision(trail, decision, explanation, request, ctx)
        .durable()
        .await
}

/// Queues a decision's record and returns at once, so that work which
/// shows the customer nothing (sending the request upstream) can overlap
/// the sync; [`PendingRecord::durable`] then says whether the decision may
/// take effect, exactly as [`record_decision`] would have.
pub fn begin_decision(
    trail: Option<&Arc<AuditTrail>>,
    decision: &Decision,
    explanation: &Explanation,
    request: &Request,
    ctx: &DecisionContext<'_>,
) -> PendingRecord {
    let Some(trail) = trail else {
        return PendingRecord { state: None };
    };
    let record = Record::Decision(decision_record(decision, explanation, request, ctx));
    let queued = trail.queue(&record);
    PendingRecord {
        state: Some(Pending {
            trail: Arc::clone(trail),
            queued,
            controlled: controlled(explanation),
            id: ctx.id.to_owned(),
        }),
    }
}

/// A decision's record queued for the log and not yet known durable.
///
/// Until [`Self::durable`] returns `Ok`, nothing of the decision may reach
/// the customer: no refusal, no byte of an upstream's answer.
#[must_use = "a decision takes effect only once its record is durable"]
pub struct PendingRecord {
    /// `None` when the gateway keeps no log.
    state: Option<Pending>,
}

struct Pending {
    trail: Arc<AuditTrail>,
    /// The writer's answer, or why the record was never queued.
    queued: Result<(Committing, Instant), AuditUnavailable>,
    /// Whether a directive consulted the request.
    controlled: bool,
    /// The decision id, for the operators' log.
    id: String,
}

impl PendingRecord {
    /// A decision made without a log (or without an explanation to record).
    pub fn none() -> Self {
        PendingRecord { state: None }
    }

    /// The record, leaving [`Self::none`] in its place: once taken, it is
    /// the taker's to wait for.
    pub fn take(&mut self) -> Self {
        std::mem::replace(self, Self::none())
    }

    /// Waits until the record is durable (on the shared store's copy too
    /// in `replicated` durability); returns its index, or `None` when the
    /// gateway keeps no log or the request may proceed unrecorded (no
    /// directive consulted it and `on_failure = "allow"`).
    ///
    /// # Errors
    /// [`AuditUnavailable`] when the decision must not take effect: answer
    /// with [`unavailable`].
    pub async fn durable(self) -> Result<Option<u64>, AuditUnavailable> {
        let Some(Pending {
            trail,
            queued,
            controlled,
            id,
        }) = self.state
        else {
            return Ok(None);
        };
        let result = match queued {
            Ok((rx, started)) => trail.decision_durable(rx, started).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(index) => Ok(Some(index)),
            Err(e) if trail.may_proceed_unrecorded(controlled) => {
                tracing::warn!(decision_id = id, error = %e.detail, "answered an uncontrolled request without an audit record (`on_failure = \"allow\"`)");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The 503 for a request whose decision could not be recorded, in the
/// called API's error shape, code `audit_unavailable`.
pub fn unavailable(api: Api, e: &AuditUnavailable, id: &str) -> Response {
    let message = format!(
        "the decision on this request could not be recorded in the audit log ({}), so it was not carried out; retry later (decision {id})",
        e.cause
    );
    let mut r = api_error::response(
        api,
        StatusCode::SERVICE_UNAVAILABLE,
        Code::AuditUnavailable,
        &message,
    );
    let h = r.headers_mut();
    proxy::set_header(h, proxy::DECISION_ID, id);
    h.insert(
        axum::http::header::RETRY_AFTER,
        HeaderValue::from_static("1"),
    );
    r
}

/// Adds the [`AUDIT_INDEX`] header when the decision was recorded.
pub fn set_index(headers: &mut HeaderMap, index: Option<u64>) {
    if let Some(index) = index {
        headers.insert(
            HeaderName::from_static(AUDIT_INDEX),
            HeaderValue::from(index),
        );
    }
}
