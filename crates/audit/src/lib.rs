//! The audit log's formats and mathematics.
//!
//! A regulator must be able to check a provider's decision log without trusting
//! the provider. This crate defines what is logged (canonical, versioned
//! leaves), how the log commits to it (an RFC 9162 Merkle tree), and the
//! artefacts a verifier receives (C2SP signed checkpoints, tiles and proof
//! bundles). It does no I/O: storage lives in `cordon-audit-log`.
#![deny(missing_docs)]

pub mod merkle;

pub use merkle::{Completed, Frontier, Hash, MemoryTree, NodeSource, ProofError, SourceError};
