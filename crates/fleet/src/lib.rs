//! Gateway nodes as one fleet on a shared PostgreSQL store.
//!
//! Each node keeps its own audit log on its own disk, durable there before a
//! decision takes effect, and ships it to the shared store
//! ([`shipper::Shipper`]): within a second in `local` durability, and before
//! the decision takes effect in `replicated` durability, where the node's
//! gateway waits on [`shipper::Shipper::confirmed`]. Entries reach the
//! shipper from the log writer as each batch commits ([`queue::CommitQueue`]);
//! what the queue no longer holds (after a restart, an outage longer than its
//! memory) is read back from the log on disk, so shipping resumes exactly
//! where the shared store's copy ends.
//!
//! One policy version for the fleet: `cordon directives publish` stores a
//! checked directive set as a [`bundle::Bundle`], content-addressed and
//! signed by its publisher; every node loads the active one and reports it.

pub mod bundle;
pub mod queue;
pub mod shipper;

pub use bundle::{Bundle, BundleError, BundleFile, SignedBundle};
pub use queue::CommitQueue;
pub use shipper::{ShipError, Shipper, ShipperStatus};
