//! A directive set as a fleet shares it: every directive file, the model
//! catalog, the policy version they compile to, content-addressed and signed.
//!
//! The bundle's id is the SHA-256 of its canonical JSON encoding (fields in
//! declaration order, files sorted by name, no whitespace), so the same set
//! published twice has one id. Its signature is a C2SP signed note whose
//! text names the id and the policy version
//! ([`SIGNED_NOTE_HEADER`]); a node loads a bundle only when the note
//! verifies under a publisher key it trusts and names the bundle's own id.
//! Country groups are compiled into each node, so they are not carried:
//! a node whose groups differ compiles the files to another version, and
//! refuses the bundle instead of enforcing something else under its name.

use cordon_audit::note::{self, Note};
use cordon_audit::{SigningKey, VerifierKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first line of a bundle's signed note.
pub const SIGNED_NOTE_HEADER: &str = "cordon policy bundle v1";

/// The format of [`Bundle`] this build reads and writes.
pub const FORMAT: u32 = 1;

/// The largest bundle accepted, in bytes of its encoding.
pub const MAX_BUNDLE_BYTES: usize = 16 << 20;

/// A file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleFile {
    /// The file's name where it was published from, without its directory.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A checked directive set, as published to a fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT`].
    pub format: u32,
    /// The policy version the files compile to where they were published.
    pub policy_version: String,
    /// Every directive file, sorted by name.
    pub directives: Vec<BundleFile>,
    /// The model catalog.
    pub catalog: BundleFile,
}

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The stored bytes are not a bundle of this format.
    #[error("the bundle does not read: {0}")]
    Malformed(String),
    /// The stored bytes are not what the id names.
    #[error("the bundle's content hashes to `{actual}`, not to its id `{id}`")]
    Altered {
        /// The id it is stored under.
        id: String,
        /// The hash of its content.
        actual: String,
    },
    /// The signature is not a signed note naming this bundle.
    #[error("the bundle's signature does not name it: {0}")]
    Signature(String),
    /// No trusted publisher key signed it.
    #[error(
        "no trusted publisher signed bundle `{id}` (signed by {signers}); add the publisher's public key to `fleet.publisher_keys`"
    )]
    Untrusted {
        /// The bundle.
        id: String,
        /// Who signed it, by key name.
        signers: String,
    },
    /// Signing failed.
    #[error("cannot sign the bundle: {0}")]
    Sign(String),
}

/// A bundle with its id and signature, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBundle {
    /// `sha256:` and the hex SHA-256 of [`Self::content`].
    pub id: String,
    /// The bundle's canonical encoding.
    pub content: Vec<u8>,
    /// The signed note naming the id and the policy version.
    pub signature: String,
}

impl Bundle {
    /// A bundle of `directives` (any order) and `catalog`, which compile to
    /// `policy_version`.
    pub fn new(policy_version: &str, mut directives: Vec<BundleFile>, catalog: BundleFile) -> Self {
        directives.sort_by(|a, b| a.name.cmp(&b.name));
        Bundle {
            format: FORMAT,
            policy_version: policy_version.to_owned(),
            directives,
            catalog,
        }
    }

    /// Its canonical encoding.
    ///
    /// # Errors
    /// Never for a bundle built by [`Bundle::new`]; the error is serde's.
    pub fn encode(&self) -> Result<Vec<u8>, BundleError> {
        serde_json::to_vec(self).map_err(|e| BundleError::Malformed(e.to_string()))
    }

    /// Encodes the bundle and signs its id with `key`.
    ///
    /// # Errors
    /// [`BundleError::Sign`] when the note cannot be signed.
    pub fn sign(&self, key: &SigningKey) -> Result<SignedBundle, BundleError> {
        let content = self.encode()?;
        let id = content_id(&content);
        let signature = note::sign(&note_text(&id, &self.policy_version), key)
            .map_err(|e| BundleError::Sign(e.to_string()))?;
        Ok(SignedBundle {
            id,
            content,
            signature,
        })
    }
}

impl SignedBundle {
    /// Checks the stored bundle: its content is what its id names, its
    /// signature is a note naming that id and its policy version, signed by
    /// one of `trusted`. Returns the bundle.
    ///
    /// # Errors
    /// [`BundleError`] saying which check failed.
    pub fn open(&self, trusted: &[VerifierKey]) -> Result<Bundle, BundleError> {
        if self.content.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::Malformed(format!(
                "it is {} bytes; at most {MAX_BUNDLE_BYTES} are accepted",
                self.content.len()
            )));
        }
        let actual = content_id(&self.content);
        if actual != self.id {
            return Err(BundleError::Altered {
                id: self.id.clone(),
                actual,
            });
        }
        let bundle: Bundle = serde_json::from_slice(&self.content)
            .map_err(|e| BundleError::Malformed(e.to_string()))?;
        if bundle.format != FORMAT {
            return Err(BundleError::Malformed(format!(
                "format {} is not {FORMAT}, the one this build reads",
                bundle.format
            )));
        }
        let note =
            Note::parse(&self.signature).map_err(|e| BundleError::Signature(e.to_string()))?;
        if note.text() != note_text(&self.id, &bundle.policy_version) {
            return Err(BundleError::Signature(format!(
                "its note reads {:?}, not this bundle's id and policy version",
                note.text()
            )));
        }
        if trusted.iter().any(|k| note.verify(k).is_ok()) {
            return Ok(bundle);
        }
        let signers: Vec<String> = note
            .signatures()
            .iter()
            .map(|s| format!("`{}`", s.name))
            .collect();
        Err(BundleError::Untrusted {
            id: self.id.clone(),
            signers: if signers.is_empty() {
                "nobody".to_owned()
            } else {
                signers.join(", ")
            },
        })
    }
}

/// The id of a bundle's encoding.
pub fn content_id(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let mut id = String::with_capacity(7 + 64);
    id.push_str("sha256:");
    for b in digest {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

fn note_text(id: &str, policy_version: &str) -> String {
    format!("{SIGNED_NOTE_HEADER}\n{id}\n{policy_version}\n")
}

#[cfg(test)]
mod tests;
