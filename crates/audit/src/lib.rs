//! The audit log's formats and mathematics.
//!
//! A regulator must be able to check a provider's decision log without trusting
//! the provider. This crate defines what is logged (canonical, versioned
//! leaves), how the log commits to it (an RFC 9162 Merkle tree), and the
//! artefacts a verifier receives (C2SP signed checkpoints, tiles and proof
//! bundles). It does no I/O: storage lives in `cordon-audit-log`.
#![deny(missing_docs)]

mod b64;
pub mod checkpoint;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod shipped;
pub mod tile;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use leaf::{AdminRecord, DecisionRecord, LeafError, Pseudonym, Record};
pub use merkle::{Completed, Frontier, Hash, MemoryTree, NodeSource, ProofError, SourceError};
pub use note::{KeyError, Note, NoteError, Signature, SigningKey, VerifierKey};
pub use proof::{BundleError, Checked, CheckedConsistency, ConsistencyBundle, InclusionBundle};
pub use tile::{LevelTiles, TileError, TileId, TileNodes, TilePath};
