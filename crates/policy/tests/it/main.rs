//! Integration tests of the policy core against the shipped directive packs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod authoring;
mod checker;
mod detail;
mod engine;
mod kleene;
mod licences;
mod packs;
mod schedule;
mod snapshots;
mod support;
