//! Integration tests of the policy core against the shipped directive packs.

mod checker;
mod engine;
mod packs;
mod snapshots;
mod support;
