//! One module per subcommand.

pub mod accounts;
pub mod analyze;
pub mod audit;
pub mod check;
pub mod console;
pub mod decide;
pub mod demo;
pub mod demo_verify;
pub mod directives;
pub mod fleet;
pub mod identity;
pub mod licences;
pub mod lists;
pub mod matrix;
pub mod mock_upstream;
pub mod screen;
pub mod serve;
pub mod shapes;
pub mod simulate;
pub mod store;

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

/// Parses a `--since`/`--until` style value: an RFC 3339 time, or an age
/// back from `now` (`90s`, `30m`, `24h`, `7d`). `flag` names it in errors.
pub fn time_or_age(flag: &str, text: &str, now: Timestamp) -> Result<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let bad = || {
        anyhow::anyhow!(
            "{flag} `{text}` is neither an RFC 3339 time (2026-01-31T00:00:00Z) nor an age such as 90s, 30m, 24h or 7d"
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = (
        text.get(..split).ok_or_else(bad)?,
        text.get(split..).ok_or_else(bad)?,
    );
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let age = n
        .checked_mul(seconds_per)
        .map(jiff::SignedDuration::from_secs)
        .ok_or_else(bad)?;
    now.checked_sub(age).map_err(|_| bad())
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
