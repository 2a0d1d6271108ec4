//! Integration tests of the log store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test fixtures fail the test loudly"
)]

mod basic;
mod check;
mod crash;
mod failure;
mod observer;
mod prop;
mod recovery;
mod support;
