//! Reading the log while it is written: a cached reader for tiles and receipts.

use std::sync::{Arc, PoisonError};

use cordon_audit::leaf::{self, Record};
use cordon_audit::{Checkpoint, InclusionBundle};
use cordon_audit_log::{LogReader, OpenError, ReadError};

use super::AuditTrail;

/// A reader and the writer's checkpoint count when it was opened.
pub(super) struct Cached {
    reader: Arc<LogReader>,
    checkpoints: u64,
}

/// A checked receipt for one leaf and the record it holds.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The C2SP tlog-proof with the leaf bytes in `extra`.
    pub bundle: InclusionBundle,
    /// The leaf, decoded.
    pub record: Record,
}

/// Why a receipt could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The index is past the end of the log.
    #[error("entry {index} is not in the log, which holds {size} entries")]
    NotFound {
        /// The requested entry.
        index: u64,
        /// Committed entries.
        size: u64,
    },
    /// No checkpoint covers the entry and none could be signed.
    #[error("no signed checkpoint covers entry {index}: {reason}")]
    NoCheckpoint {
        /// The requested entry.
        index: u64,
        /// Why signing one failed.
        reason: String,
    },
    /// The log could not be read.
    #[error("the audit log cannot be read: {0}")]
    Read(String),
    /// The receipt made from the stored data does not verify: the log is damaged.
    #[error("the receipt for entry {index} does not verify against the log's key: {reason}")]
    Invalid {
        /// The requested entry.
        index: u64,
        /// What failed.
        reason: String,
    },
}

impl From<OpenError> for ReceiptError {
    fn from(e: OpenError) -> Self {
        ReceiptError::Read(e.to_string())
    }
}

impl From<ReadError> for ReceiptError {
    fn from(e: ReadError) -> Self {
        ReceiptError::Read(e.to_string())
    }
}

impl AuditTrail {
    /// A reader of the committed log, reopened only when a checkpoint was
    /// signed since the cached one was opened, so tiles and receipts see
    /// every checkpoint without a directory scan per request. Blocking.
    ///
    /// # Errors
    /// When the log directory cannot be read.
    pub fn reader(&self) -> Result<Arc<LogReader>, OpenError> {
        let stamp = self.log.stats().checkpoints;
        let mut slot = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = slot.as_ref()
            && cached.checkpoints == stamp
        {
            return Ok(Arc::clone(&cached.reader));
        }
        let reader = Arc::new(LogReader::open(self.log.dir())?);
        *slot = Some(Cached {
            reader: Arc::clone(&reader),
            checkpoints: stamp,
        });
        Ok(reader)
    }

    /// The receipt of entry `index` ([C2SP tlog-proof](https://c2sp.org/tlog-proof)):
    /// its inclusion proof against the latest stored checkpoint, with the
    /// leaf in `extra`. When no stored checkpoint covers the entry yet, one is
    /// signed now. The receipt is checked with the log's key before it is
    /// returned. Blocking.
    ///
    /// # Errors
    /// [`ReceiptError::NotFound`] past the end of the log, or when the log
    /// cannot be read, signed or verified.
    pub fn receipt(&self, index: u64) -> Result<Receipt, ReceiptError> {
        let size = self.log.stats().size;
        if index >= size {
            return Err(ReceiptError::NotFound { index, size });
        }
        let mut reader = self.reader()?;
        let mut covering = self.covering(&reader, index);
        if covering.is_none() {
            self.log
                .checkpoint_now()
                .map_err(|e| ReceiptError::NoCheckpoint {
                    index,
                    reason: e.to_string(),
                })?;
            reader = self.reader()?;
            covering = self.covering(&reader, index);
        }
        let Some((text, checkpoint)) = covering else {
            return Err(ReceiptError::NoCheckpoint {
                index,
                reason: "the latest checkpoint is older than the entry".into(),
            });
        };
        let leaf = reader.entry(index)?;
        let proof = reader.inclusion_proof(index, checkpoint.size)?;
        let bundle = InclusionBundle {
            extra: Some(leaf),
            index,
            proof,
            checkpoint: text,
        };
        let invalid = |reason: String| ReceiptError::Invalid { index, reason };
        let checked = bundle
            .check(self.verifier())
            .map_err(|e| invalid(e.to_string()))?;
        let record = leaf::decode(&checked.leaf).map_err(|e| invalid(e.to_string()))?;
        Ok(Receipt { bundle, record })
    }

    /// The reader's latest checkpoint, opened, if it covers `index`.
    fn covering(&self, reader: &LogReader, index: u64) -> Option<(String, Checkpoint)> {
        let text = reader.latest_checkpoint()?;
        let checkpoint = self.open_checkpoint(&text)?;
        (checkpoint.size > index).then_some((text, checkpoint))
    }
}
