//! Verifying a log from a copy of its entries and checkpoints, as a node
//! ships them to the fleet's store: every checkpoint must carry the log's
//! signature and sign the root of exactly the entries shipped before it
//! ([RFC 9162 §2.1](https://www.rfc-editor.org/rfc/rfc9162#section-2.1)).
//!
//! Recomputing each root from the entries themselves (not from stored
//! hashes) means a shipped entry that was altered, dropped or reordered
//! fails the first checkpoint after it.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::merkle::{Frontier, leaf_hash};
use crate::note::VerifierKey;

/// What verifying a shipped log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedReport {
    /// Entries shipped.
    pub entries: u64,
    /// Checkpoints verified.
    pub checkpoints: u64,
    /// Size of the latest checkpoint (0 when none): entries after it are
    /// shipped but not yet covered by a signature.
    pub signed: u64,
}

/// Why a shipped log does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ShippedError {
    /// A checkpoint does not open under the log's key.
    #[error("the checkpoint at size {size} does not verify: {source}")]
    Checkpoint {
        /// The size the checkpoint was stored under.
        size: u64,
        /// Why.
        #[source]
        source: CheckpointError,
    },
    /// A checkpoint was stored under a size it does not sign.
    #[error("a checkpoint stored at size {stored} signs size {signed}")]
    Misfiled {
        /// The size it was stored under.
        stored: u64,
        /// The size it signs.
        signed: u64,
    },
    /// A checkpoint signs more entries than were shipped.
    #[error(
        "the checkpoint at size {size} signs more entries than the {entries} shipped: entries are missing"
    )]
    Missing {
        /// The checkpoint's size.
        size: u64,
        /// Entries shipped.
        entries: u64,
    },
    /// The shipped entries do not hash to the root a checkpoint signs.
    #[error(
        "the first {size} shipped entries do not hash to the root their checkpoint signs: an entry was altered, dropped or reordered"
    )]
    Root {
        /// The checkpoint's size.
        size: u64,
    },
}

/// Verifies `entries` (from index 0, in order) against `checkpoints` (each
/// with the size it was stored under, in any order) under `key`.
///
/// # Errors
/// The first [`ShippedError`] found, in checkpoint size order.
pub fn verify_shipped(
    entries: &[Vec<u8>],
    checkpoints: &[(u64, String)],
    key: &VerifierKey,
) -> Result<ShippedReport, ShippedError> {
    let mut sorted: Vec<&(u64, String)> = checkpoints.iter().collect();
    sorted.sort_by_key(|(size, _)| *size);
    let total = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    let mut frontier = Frontier::new();
    let mut leaves = entries.iter();
    let mut signed = 0;
    for (stored, note) in sorted {
        let cp = Checkpoint::open(note, key).map_err(|source| ShippedError::Checkpoint {
            size: *stored,
            source,
        })?;
        if cp.size != *stored {
            return Err(ShippedError::Misfiled {
                stored: *stored,
                signed: cp.size,
            });
        }
        if cp.size > total {
            return Err(ShippedError::Missing {
                size: cp.size,
                entries: total,
            });
        }
        while frontier.size() < cp.size {
            let Some(leaf) = leaves.next() else {
                return Err(ShippedError::Missing {
                    size: cp.size,
                    entries: total,
                });
            };
            frontier.push(leaf_hash(leaf), |_| {});
        }
        if frontier.root() != cp.root {
            return Err(ShippedError::Root { size: cp.size });
        }
        signed = cp.size;
    }
    Ok(ShippedReport {
        entries: total,
        checkpoints: u64::try_from(checkpoints.len()).unwrap_or(u64::MAX),
        signed,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]

    use super::*;
    use crate::note::SigningKey;

    const ORIGIN: &str = "cordon.example/node-1";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed(ORIGIN, [seed; 32]).unwrap()
    }

    /// Entries `0..n` and checkpoints signed at each of `sizes`.
    fn log(n: u8, sizes: &[u64], signer: &SigningKey) -> (Vec<Vec<u8>>, Vec<(u64, String)>) {
        let entries: Vec<Vec<u8>> = (0..n).map(|i| vec![i; 3]).collect();
        let checkpoints = sizes
            .iter()
            .map(|&size| {
                let mut f = Frontier::new();
                for e in entries.iter().take(usize::try_from(size).unwrap()) {
                    f.push(leaf_hash(e), |_| {});
                }
                let note = Checkpoint::new(ORIGIN, size, f.root())
                    .sign(signer)
                    .unwrap();
                (size, note)
            })
            .collect();
        (entries, checkpoints)
    }

    #[test]
    fn a_faithful_copy_verifies_every_checkpoint() {
        let k = key(1);
        let (entries, cps) = log(5, &[4, 2], &k);
        let r = verify_shipped(&entries, &cps, &k.verifier()).unwrap();
        assert_eq!(
            r,
            ShippedReport {
                entries: 5,
                checkpoints: 2,
                signed: 4
            }
        );
    }

    #[test]
    fn an_altered_dropped_or_unsigned_copy_fails() {
        let k = key(1);
        let (mut entries, cps) = log(5, &[2, 4], &k);
        entries[3] = b"forged".to_vec();
        assert!(matches!(
            verify_shipped(&entries, &cps, &k.verifier()),
            Err(ShippedError::Root { size: 4 })
        ));
        let (entries, cps) = log(5, &[2, 4], &k);
        assert!(matches!(
            verify_shipped(&entries[..3], &cps, &k.verifier()),
            Err(ShippedError::Missing {
                size: 4,
                entries: 3
            })
        ));
        assert!(matches!(
            verify_shipped(&entries, &cps, &key(2).verifier()),
            Err(ShippedError::Checkpoint { size: 2, .. })
        ));
        let misfiled = vec![(3, cps[0].1.clone())];
        assert!(matches!(
            verify_shipped(&entries, &misfiled, &k.verifier()),
            Err(ShippedError::Misfiled {
                stored: 3,
                signed: 2
            })
        ));
    }
}
