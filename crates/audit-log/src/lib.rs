//! Durable storage for the audit log.
#![deny(missing_docs)]
