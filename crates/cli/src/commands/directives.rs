//! `cordon directives`: the lifecycle of a directive set.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use cordon_policy::{Directive, Policy};
use jiff::Timestamp;

use super::Format;
use crate::inputs::{self, World};

mod set_mode;

/// Arguments of `cordon directives`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Every directive's mode, times, standing now (or at --at) and next scheduled change.
    Status(StatusArgs),
    /// Sets one directive's mode (draft, shadow, enforced, retired) by
    /// rewriting the `mode` line of its file, after checking the whole set.
    SetMode(set_mode::Args),
}

#[derive(clap::Args)]
struct StatusArgs {
    /// The directive directory (default: `directives/`).
    dir: Option<PathBuf>,
    /// The model catalog (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Report as of this time (RFC 3339; default: now).
    #[arg(long)]
    at: Option<String>,
    /// Output format (text, json or csv).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Command::Status(s) => status(s),
        Command::SetMode(s) => set_mode::run(s),
    }
}

fn status(a: StatusArgs) -> Result<ExitCode> {
    let world = World::load()?;
    let at = super::time(a.at.as_deref())?;
    let catalog = inputs::catalog(a.catalog.as_deref())?;
    let policy = inputs::policy(a.dir.as_deref(), catalog, &world).map_err(|e| {
        anyhow!(
            "the directive set `{}` is invalid:\n{}",
            inputs::directives_label(a.dir.as_deref()),
            inputs::render_load_error(&e)
        )
    })?;
    let text = match a.format {
        Format::Text => text(&policy, at),
        Format::Json => serde_json::to_string_pretty(&json(&policy, at))? + "\n",
        Format::Csv => csv(&policy, at),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

fn next(d: &Directive, at: Timestamp) -> (String, String) {
    d.next_change(at).map_or_else(
        || ("-".to_owned(), "-".to_owned()),
        |(when, change)| (change.as_str().to_owned(), when.to_string()),
    )
}

fn text(policy: &Policy, at: Timestamp) -> String {
    let mut out = format!("as of {at} (policy {})\n\n", policy.version());
    let _ = writeln!(
        out,
        "{:<40} {:<9} {:<9} {:<21} {:<21} {:<21} next",
        "directive", "mode", "standing", "effective", "grace until", "expires"
    );
    for d in policy.directives() {
        let (change, when) = next(d, at);
        let next = if change == "-" {
            "-".to_owned()
        } else {
            format!("{change} at {when}")
        };
        let _ = writeln!(
            out,
            "{:<40} {:<9} {:<9} {:<21} {:<21} {:<21} {next}",
            d.id,
            d.mode.as_str(),
            d.standing(at).as_str(),
            d.effective.to_string(),
            time(d.grace_until),
            time(d.expires),
        );
    }
    out
}

fn json(policy: &Policy, at: Timestamp) -> serde_json::Value {
    let directives: Vec<serde_json::Value> = policy
        .directives()
        .iter()
        .map(|d| {
            let next = d.next_change(at).map(|(when, change)| {
                serde_json::json!({"change": change.as_str(), "at": when.to_string()})
            });
            serde_json::json!({
                "id": d.id,
                "file": d.source.name(),
                "mode": d.mode.as_str(),
                "standing": d.standing(at).as_str(),
                "effective": d.effective.to_string(),
                "grace_until": d.grace_until.map(|t| t.to_string()),
                "expires": d.expires.map(|t| t.to_string()),
                "next": next,
            })
        })
        .collect();
    serde_json::json!({
        "at": at.to_string(),
        "policy_version": policy.version(),
        "directives": directives,
    })
}

fn csv(policy: &Policy, at: Timestamp) -> String {
    let mut out =
        String::from("id,mode,standing,effective,grace_until,expires,next_change,next_at\n");
    for d in policy.directives() {
        let (change, when) = next(d, at);
        let blank = |s: String| if s == "-" { String::new() } else { s };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            d.id,
            d.mode.as_str(),
            d.standing(at).as_str(),
            d.effective,
            blank(time(d.grace_until)),
            blank(time(d.expires)),
            blank(change),
            blank(when),
        );
    }
    out
}
