//! Offline-verifiable proof bundles.
//!
//! A receipt is a [C2SP tlog-proof] whose `extra` line carries the leaf bytes,
//! so an auditor needs only the receipt and the log's public key to check
//! that exactly this leaf is in the log. A consistency bundle is our own
//! format in the same style: two signed checkpoints and the RFC 9162 proof
//! that the later tree extends the earlier one.
//!
//! [C2SP tlog-proof]: https://c2sp.org/tlog-proof

use crate::checkpoint::{Checkpoint, CheckpointError, parse_decimal};
use crate::merkle::{self, Hash, ProofError};
use crate::note::{Note, VerifierKey};

/// The first line of an inclusion bundle ([C2SP tlog-proof, Format]).
///
/// [C2SP tlog-proof, Format]: https://c2sp.org/tlog-proof#format
pub const INCLUSION_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The first line of a consistency bundle.
pub const CONSISTENCY_HEADER: &str = "cordon.audit/consistency-proof@v1";

/// The most hashes a proof may carry: a tree of at most `2^64 - 1` leaves
/// needs at most 63 for inclusion and 64 for consistency.
pub const MAX_PROOF_HASHES: usize = 64;

/// Why a bundle was refused or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The first line is not the format's header.
    #[error("line 1: expected `{expected}`, found `{found}`")]
    BadHeader {
        /// The header the format requires.
        expected: &'static str,
        /// What the first line holds (cut to 80 characters).
        found: String,
    },
    /// The bundle ends before a required part.
    #[error("the bundle ends before its {0}")]
    Truncated(&'static str),
    /// The `extra` line is not `extra <base64>`.
    #[error("line {line}: the `extra` data is not valid padded base64")]
    BadExtra {
        /// 1-based line number.
        line: usize,
    },
    /// The index line is not `index <decimal>`.
    #[error("line {line}: expected `index <decimal without leading zeros>`")]
    BadIndex {
        /// 1-based line number.
        line: usize,
    },
    /// A proof line is not the base64 of a 32-byte hash.
    #[error("line {line}: a proof hash must be the padded base64 of 32 bytes")]
    BadHash {
        /// 1-based line number.
        line: usize,
    },
    /// More proof hashes than any tree needs.
    #[error("the proof has more than {max} hashes")]
    TooManyHashes {
        /// The limit.
        max: usize,
    },
    /// A checkpoint inside the bundle is malformed, unsigned or does not verify.
    #[error("{which} checkpoint: {source}")]
    Checkpoint {
        /// Which checkpoint: `the`, `the old` or `the new`.
        which: &'static str,
        /// What is wrong with it.
        source: CheckpointError,
    },
    /// The receipt has no `extra` line, so there is no leaf to check.
    #[error("the bundle carries no leaf in its `extra` line, so it proves nothing checkable")]
    MissingLeaf,
    /// The proof does not verify against the checkpoint(s).
    #[error("the proof does not verify: {0}")]
    Proof(ProofError),
}

/// Cuts untrusted text for an error message.
fn excerpt(line: &str) -> String {
    line.chars().take(80).collect()
}

/// Reads newline-terminated lines, counting them for error messages.
struct Lines<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            rest: text,
            line: 0,
        }
    }

    /// The next line without its newline; `None` when no complete line is left.
    fn next(&mut self) -> Option<&'a str> {
        let (line, rest) = self.rest.split_once('\n')?;
        self.rest = rest;
        self.line += 1;
        Some(line)
    }

    /// Looks at the next line without consuming it.
    fn peek(&self) -> Option<&'a str> {
        self.rest.split_once('\n').map(|(line, _)| line)
    }

    /// Reads proof hashes up to and including the blank line that ends them.
    fn hashes(&mut self) -> Result<Vec<Hash>, BundleError> {
        let mut proof = Vec::new();
        loop {
            let line = self
                .next()
                .ok_or(BundleError::Truncated("blank line after the proof"))?;
            if line.is_empty() {
                return Ok(proof);
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(BundleError::TooManyHashes {
                    max: MAX_PROOF_HASHES,
                });
            }
            let hash =
                crate::b64::decode_hash(line).ok_or(BundleError::BadHash { line: self.line })?;
            proof.push(hash);
        }
    }
}

fn header(lines: &mut Lines<'_>, expected: &'static str) -> Result<(), BundleError> {
    match lines.next() {
        Some(line) if line == expected => Ok(()),
        Some(line) => Err(BundleError::BadHeader {
            expected,
            found: excerpt(line),
        }),
        None => Err(BundleError::BadHeader {
            expected,
            found: excerpt(lines.rest),
        }),
    }
}

/// Checks that `text` is a signed note holding a well-formed checkpoint,
/// without verifying any signature.
fn precheck(text: &str, which: &'static str) -> Result<(), BundleError> {
    let fail = |source| BundleError::Checkpoint { which, source };
    let note = Note::parse(text).map_err(|e| fail(CheckpointError::Note(e)))?;
    Checkpoint::parse_body(note.text()).map_err(fail)?;
    Ok(())
}

fn write_hashes(out: &mut String, proof: &[Hash]) {
    for hash in proof {
        out.push_str(&crate::b64::encode(hash));
        out.push('\n');
    }
}

/// A receipt: the proof that a leaf is in the log ([C2SP tlog-proof]).
///
/// ```text
/// c2sp.org/tlog-proof@v1
/// extra <base64 leaf bytes>
/// index <leaf index>
/// <base64 proof hash, leaf's sibling first>
/// …
///
/// <signed checkpoint>
/// ```
///
/// [C2SP tlog-proof]: https://c2sp.org/tlog-proof
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionBundle {
    /// Unauthenticated extra data; our receipts carry the leaf bytes here,
    /// which [`InclusionBundle::check`] authenticates through the proof.
    pub extra: Option<Vec<u8>>,
    /// The leaf's zero-based index in the log.
    pub index: u64,
    /// The RFC 9162 inclusion proof, the leaf's sibling first.
    pub proof: Vec<Hash>,
    /// The signed checkpoint the proof leads to, verbatim.
    pub checkpoint: String,
}

/// What a verified receipt proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The verified checkpoint the leaf is included in.
    pub checkpoint: Checkpoint,
    /// The leaf bytes, now authenticated.
    pub leaf: Vec<u8>,
}

impl InclusionBundle {
    /// The bundle's text ([C2SP tlog-proof, Format]).
    ///
    /// [C2SP tlog-proof, Format]: https://c2sp.org/tlog-proof#format
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(128 + 45 * self.proof.len() + self.checkpoint.len());
        out.push_str(INCLUSION_HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&crate::b64::encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        write_hashes(&mut out, &self.proof);
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a bundle ([C2SP tlog-proof, Format]) and checks that its
    /// checkpoint is a well-formed signed note; signatures and the proof are
    /// checked only by [`InclusionBundle::check`].
    ///
    /// # Errors
    /// When a line is missing or malformed.
    ///
    /// [C2SP tlog-proof, Format]: https://c2sp.org/tlog-proof#format
    pub fn parse(text: &str) -> Result<InclusionBundle, BundleError> {
        let mut lines = Lines::new(text);
        header(&mut lines, INCLUSION_HEADER)?;
        let extra = match lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            Some(b64) => {
                lines.next();
                let bytes =
                    crate::b64::decode(b64).ok_or(BundleError::BadExtra { line: lines.line })?;
                Some(bytes)
            }
            None => None,
        };
        let line = lines.next().ok_or(BundleError::Truncated("index line"))?;
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(BundleError::BadIndex { line: lines.line })?;
        let proof = lines.hashes()?;
        let checkpoint = lines.rest;
        if checkpoint.is_empty() {
            return Err(BundleError::Truncated("checkpoint"));
        }
        precheck(checkpoint, "the")?;
        Ok(InclusionBundle {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Verifies the receipt against the log's key: opens the checkpoint and
    /// checks that `leaf_hash(extra)` is at `index` in its tree
    /// ([RFC 9162 §2.1.3.2]).
    ///
    /// # Errors
    /// [`BundleError::Checkpoint`] when the checkpoint does not open with
    /// `key`, [`BundleError::MissingLeaf`] without `extra`, and
    /// [`BundleError::Proof`] when the proof fails.
    ///
    /// [RFC 9162 §2.1.3.2]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2
    pub fn check(&self, key: &VerifierKey) -> Result<Checked, BundleError> {
        let checkpoint =
            Checkpoint::open(&self.checkpoint, key).map_err(|source| BundleError::Checkpoint {
                which: "the",
                source,
            })?;
        let leaf = self.extra.as_ref().ok_or(BundleError::MissingLeaf)?;
        merkle::verify_inclusion(
            &merkle::leaf_hash(leaf),
            self.index,
            checkpoint.size,
            &self.proof,
            &checkpoint.root,
        )
        .map_err(BundleError::Proof)?;
        Ok(Checked {
            checkpoint,
            leaf: leaf.clone(),
        })
    }
}

/// The proof that a log only grew between two signed checkpoints, for
/// `cordon audit consistency OLD NEW`.
///
/// ```text
/// cordon.audit/consistency-proof@v1
/// <base64 proof hash, deepest first>
/// …
///
/// <old signed checkpoint>
///
/// <new signed checkpoint>
/// ```
///
/// A checkpoint's text has no blank line, so the old one ends at its last
/// signature line; the blank line after it separates the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyBundle {
    /// The earlier signed checkpoint, verbatim.
    pub old: String,
    /// The later signed checkpoint, verbatim.
    pub new: String,
    /// The RFC 9162 consistency proof from `old` to `new`.
    pub proof: Vec<Hash>,
}

/// What a verified consistency bundle proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedConsistency {
    /// The earlier verified checkpoint.
    pub old: Checkpoint,
    /// The later verified checkpoint, whose tree extends the earlier one.
    pub new: Checkpoint,
}

/// Splits `<old note>\n<new note>` after the old note's signature lines.
fn split_notes(text: &str) -> Option<(&str, &str)> {
    // Old checkpoint text: non-empty lines up to the first blank line.
    let blank = text.find("\n\n")?;
    let mut end = blank + 2;
    // Then its signature lines, each starting with an em dash.
    while let Some(rest) = text.get(end..) {
        if !rest.starts_with('\u{2014}') {
            break;
        }
        end += rest.find('\n')? + 1;
    }
    let old = text.get(..end)?;
    let new = text.get(end..)?.strip_prefix('\n')?;
    Some((old, new))
}

impl ConsistencyBundle {
    /// The bundle's text (see the type's documentation).
    pub fn encode(&self) -> String {
        let mut out =
            String::with_capacity(64 + 45 * self.proof.len() + self.old.len() + self.new.len());
        out.push_str(CONSISTENCY_HEADER);
        out.push('\n');
        write_hashes(&mut out, &self.proof);
        out.push('\n');
        out.push_str(&self.old);
        out.push('\n');
        out.push_str(&self.new);
        out
    }

    /// Parses a bundle and checks that both checkpoints are well-formed
    /// signed notes; signatures and the proof are checked only by
    /// [`ConsistencyBundle::check`].
    ///
    /// # Errors
    /// When a line is missing or malformed.
    pub fn parse(text: &str) -> Result<ConsistencyBundle, BundleError> {
        let mut lines = Lines::new(text);
        header(&mut lines, CONSISTENCY_HEADER)?;
        let proof = lines.hashes()?;
        if lines.rest.is_empty() {
            return Err(BundleError::Truncated("old checkpoint"));
        }
        let (old, new) = split_notes(lines.rest).ok_or(BundleError::Truncated("new checkpoint"))?;
        precheck(old, "the old")?;
        precheck(new, "the new")?;
        Ok(ConsistencyBundle {
            old: old.to_owned(),
            new: new.to_owned(),
            proof,
        })
    }

    /// Verifies both checkpoints with the log's key and the proof that the
    /// new tree extends the old one ([RFC 9162 §2.1.4.2]).
    ///
    /// # Errors
    /// [`BundleError::Checkpoint`] when a checkpoint does not open with `key`,
    /// [`BundleError::Proof`] when the proof fails (including an old tree
    /// larger than the new one).
    ///
    /// [RFC 9162 §2.1.4.2]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2
    pub fn check(&self, key: &VerifierKey) -> Result<CheckedConsistency, BundleError> {
        let old = Checkpoint::open(&self.old, key).map_err(|source| BundleError::Checkpoint {
            which: "the old",
            source,
        })?;
        let new = Checkpoint::open(&self.new, key).map_err(|source| BundleError::Checkpoint {
            which: "the new",
            source,
        })?;
        merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &self.proof)
            .map_err(BundleError::Proof)?;
        Ok(CheckedConsistency { old, new })
    }
}

#[cfg(test)]
mod tests;
