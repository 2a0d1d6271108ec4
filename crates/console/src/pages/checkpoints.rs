//! Whether a signed checkpoint holds for this log: signed with the log's
//! public key, and naming the root the log's own entries have.

use cordon_audit::{Checkpoint, VerifierKey};
use cordon_audit_log::LogReader;

/// Whether a checkpoint holds for this log.
pub(crate) enum Standing {
    /// Signed by the log's key, and its root is this log's own over as
    /// many entries.
    Verified { size: u64 },
    /// Not checked: the console was given no public key.
    Unchecked,
    /// It does not hold, and why.
    Failed(String),
}

/// Checks the checkpoint `text` against `key` and `reader`'s entries.
pub(crate) fn standing(reader: &LogReader, text: &str, key: Option<&VerifierKey>) -> Standing {
    let Some(key) = key else {
        return Standing::Unchecked;
    };
    match Checkpoint::open(text, key) {
        Err(e) => Standing::Failed(format!("its signature does not verify: {e}")),
        Ok(cp) => match reader.root_at(cp.size) {
            Ok(root) if root == cp.root => Standing::Verified { size: cp.size },
            Ok(_) => Standing::Failed(format!(
                "it is signed, but this log's first {} entries have another root",
                cp.size
            )),
            Err(e) => Standing::Failed(format!(
                "this log's root over its first {} entries does not read: {e}",
                cp.size
            )),
        },
    }
}

/// How many of the newest checkpoints the audit page checks and lists.
pub(crate) const LISTED: usize = 20;

/// The newest [`LISTED`] stored checkpoints, newest first: each one's size
/// (when it reads) and standing.
pub(crate) fn newest(
    reader: &LogReader,
    key: Option<&VerifierKey>,
) -> Vec<(Option<u64>, Standing)> {
    reader
        .checkpoints()
        .iter()
        .rev()
        .take(LISTED)
        .map(|text| {
            // The note's body is what comes before its signature lines.
            let size = text
                .split_once("\n\n")
                .and_then(|(body, _)| Checkpoint::parse_body(&format!("{body}\n")).ok())
                .map(|c| c.size);
            (size, standing(reader, text, key))
        })
        .collect()
}
