//! Log checkpoints ([C2SP tlog-checkpoint]): a signed note whose text is the
//! log's origin, tree size and root hash.
//!
//! ```text
//! audit.example.com/cordon
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — audit.example.com/cordon Az3grlgt…
//! ```
//!
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint

use crate::merkle::Hash;
use crate::note::{self, Note, NoteError, SigningKey, VerifierKey};

/// Why a checkpoint was refused or could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note around the checkpoint is malformed.
    #[error("malformed checkpoint note: {0}")]
    Note(NoteError),
    /// The log's signature does not verify.
    #[error("the checkpoint's signature by `{key}` does not verify")]
    BadSignature {
        /// The key's name.
        key: String,
    },
    /// The checkpoint carries no signature by the key asked for.
    #[error(
        "the checkpoint is not signed by key `{key}` (key id `{key_id}`); wrong key or wrong log"
    )]
    WrongKey {
        /// The key's name.
        key: String,
        /// The key's id, as 8 hex digits.
        key_id: String,
    },
    /// The origin line differs from the log key's name.
    #[error("the checkpoint's origin `{origin}` is not the key name `{key}`")]
    OriginMismatch {
        /// The checkpoint's origin line.
        origin: String,
        /// The key's name.
        key: String,
    },
    /// The body does not end with a newline.
    #[error("the checkpoint text does not end with a newline")]
    MissingFinalNewline,
    /// A mandatory line is missing.
    #[error("the checkpoint text has no {0} line")]
    MissingLine(&'static str),
    /// The origin line is empty or holds a character it may not.
    #[error("line 1: origin `{origin}` is invalid: {reason}")]
    BadOrigin {
        /// The origin as found.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The tree size line is not a canonical decimal `u64`.
    #[error(
        "line 2: tree size `{line}` is not a decimal number without leading zeros that fits 64 bits"
    )]
    BadSize {
        /// The line as found.
        line: String,
    },
    /// The root hash line is not the base64 of 32 bytes.
    #[error("line 3: root hash `{line}` is not the padded base64 of 32 bytes")]
    BadRoot {
        /// The line as found.
        line: String,
    },
    /// An extension line is empty or holds a newline.
    #[error("line {line}: extension lines must be non-empty single lines")]
    BadExtension {
        /// 1-based line number.
        line: usize,
    },
}

/// A log's signed statement of its tree: origin, size and root hash, plus
/// optional opaque extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity; equal to its key name.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 9162 root hash of the first `size` leaves.
    pub root: Hash,
    /// Extension lines, each non-empty (not auditable; we write none).
    pub extensions: Vec<String>,
}

/// Parses a tree size: ASCII decimal, no sign, no leading zero except `0`.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    let reason = if origin.is_empty() {
        "it is empty"
    } else if origin.contains('\n') {
        "it contains a newline"
    } else {
        return Ok(());
    };
    Err(CheckpointError::BadOrigin {
        origin: origin.to_owned(),
        reason,
    })
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Checkpoint {
        Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: origin, size and base64 root, each on its own line, then
    /// the extension lines ([C2SP tlog-checkpoint, Note text]).
    ///
    /// [C2SP tlog-checkpoint, Note text]: https://c2sp.org/tlog-checkpoint#note-text
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            crate::b64::encode(&self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a note text as a checkpoint ([C2SP tlog-checkpoint, Note text]).
    ///
    /// Strict: the size must have no leading zeros and the root must be
    /// canonical base64, so `parse_body(b)?.body() == b`.
    ///
    /// # Errors
    /// When a line is missing or malformed.
    ///
    /// [C2SP tlog-checkpoint, Note text]: https://c2sp.org/tlog-checkpoint#note-text
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let lines = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = lines.split('\n');
        let origin = lines.next().ok_or(CheckpointError::MissingLine("origin"))?;
        check_origin(origin)?;
        let size = lines
            .next()
            .ok_or(CheckpointError::MissingLine("tree size"))?;
        let size = parse_decimal(size).ok_or_else(|| CheckpointError::BadSize {
            line: size.to_owned(),
        })?;
        let root = lines
            .next()
            .ok_or(CheckpointError::MissingLine("root hash"))?;
        let root = crate::b64::decode_hash(root).ok_or_else(|| CheckpointError::BadRoot {
            line: root.to_owned(),
        })?;
        let mut extensions = Vec::new();
        for (n, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::BadExtension { line: n + 4 });
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint: the signed note text to publish.
    ///
    /// # Errors
    /// [`CheckpointError::OriginMismatch`] when the origin is not the key's
    /// name (verifiers would refuse it); [`CheckpointError::BadOrigin`] or
    /// [`CheckpointError::BadExtension`] for lines that would not parse back;
    /// [`CheckpointError::Note`] when the text is not signable (a control character).
    pub fn sign(&self, key: &SigningKey) -> Result<String, CheckpointError> {
        check_origin(&self.origin)?;
        if self.origin != key.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: self.origin.clone(),
                key: key.name().to_owned(),
            });
        }
        for (n, line) in self.extensions.iter().enumerate() {
            if line.is_empty() || line.contains('\n') {
                return Err(CheckpointError::BadExtension { line: n + 4 });
            }
        }
        note::sign(&self.body(), key).map_err(CheckpointError::Note)
    }

    /// Opens a signed checkpoint: parses the note, verifies the signature by
    /// `key`, parses the text and checks that the origin is the key's name
    /// ([C2SP tlog-checkpoint, Signatures]). Other signatures are ignored.
    ///
    /// # Errors
    /// [`CheckpointError::Note`] for a malformed note,
    /// [`CheckpointError::WrongKey`] when `key` did not sign it,
    /// [`CheckpointError::BadSignature`] when its signature fails,
    /// [`CheckpointError::OriginMismatch`], or a body error.
    ///
    /// [C2SP tlog-checkpoint, Signatures]: https://c2sp.org/tlog-checkpoint#signatures
    pub fn open(note_text: &str, key: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
        let note = Note::parse(note_text).map_err(CheckpointError::Note)?;
        note.verify(key).map_err(|e| match e {
            NoteError::NoSignature { name, key_id } => {
                CheckpointError::WrongKey { key: name, key_id }
            }
            NoteError::BadSignature { name, .. } => CheckpointError::BadSignature { key: name },
            other => CheckpointError::Note(other),
        })?;
        let checkpoint = Checkpoint::parse_body(note.text())?;
        if checkpoint.origin != key.name() {
            return Err(CheckpointError::OriginMismatch {
                origin: checkpoint.origin,
                key: key.name().to_owned(),
            });
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests;
