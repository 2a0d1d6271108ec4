//! The log's signer and verifier, from the C2SP keys of `cordon-audit`.
//!
//! The origin line of every checkpoint is the signing key's name, as the
//! tlog-checkpoint spec recommends, so a verifier key names the log it checks.

use cordon_audit::{Checkpoint, Hash, SigningKey, SourceError, VerifierKey};

use crate::{CheckpointSigner, CheckpointVerifier};

impl CheckpointSigner for SigningKey {
    fn sign(&self, size: u64, root: &Hash) -> Result<String, SourceError> {
        let checkpoint = Checkpoint::new(self.name(), size, *root);
        Ok(checkpoint.sign(self)?)
    }
}

impl CheckpointVerifier for VerifierKey {
    fn open(&self, note: &str) -> Result<(u64, Hash), SourceError> {
        let checkpoint = Checkpoint::open(note, self)?;
        Ok((checkpoint.size, checkpoint.root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_checkpoint_opens_with_the_matching_key_only() {
        let key = SigningKey::from_seed("example.com/log", [7; 32]).unwrap();
        let other = SigningKey::from_seed("example.com/log", [8; 32]).unwrap();
        let root = [3u8; 32];
        let note = CheckpointSigner::sign(&key, 42, &root).unwrap();
        assert!(note.starts_with("example.com/log\n42\n"));
        assert_eq!(
            CheckpointVerifier::open(&key.verifier(), &note).unwrap(),
            (42, root)
        );
        assert!(CheckpointVerifier::open(&other.verifier(), &note).is_err());
    }
}
