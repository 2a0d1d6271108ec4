//! Integration tests of policy analysis: the shipped packs, seeded mistakes
//! in copies of them, and random sets checked against brute-force decisions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod differential;
mod mutations;
mod shipped;
mod support;
