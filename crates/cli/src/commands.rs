//! One module per subcommand.

pub mod accounts;
pub mod audit;
pub mod check;
pub mod decide;
pub mod demo;
pub mod directives;
pub mod lists;
pub mod matrix;
pub mod mock_upstream;
pub mod screen;
pub mod serve;
pub mod simulate;

use anyhow::{Context, Result};
use jiff::Timestamp;

/// Output formats shared by the reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
    /// Comma-separated values (tables only).
    Csv,
}

/// Parses `--at`, or takes the current time.
pub fn time(at: Option<&str>) -> Result<Timestamp> {
    match at {
        Some(s) => s.parse().with_context(|| {
            format!("--at `{s}` is not an RFC 3339 time with an offset (e.g. 2026-12-01T12:00:00Z)")
        }),
        None => Ok(crate::clock::now()),
    }
}
