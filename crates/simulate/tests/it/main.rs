//! Integration tests: hand-built subjects and small directive sets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod support;

mod accounts;
mod matrix;
mod replay;
mod report;
mod shapes;
mod ways;
