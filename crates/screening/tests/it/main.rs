//! Integration tests of list reading and matching against the real list files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

mod accuracy;
mod labelled;
mod lists;
mod matching;
mod precision;
