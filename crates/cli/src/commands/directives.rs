//! `cordon directives`: the lifecycle of a directive set.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use cordon_policy::{Directive, Policy};
use jiff::Timestamp;

use super::Format;
use crate::inputs::{self, World};

mod publish;
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
    /// Checks a set and publishes it to a fleet's shared store as its
    /// signed, content-addressed active version; every node loads it.
    Publish(publish::Args),
    /// Makes a publisher's key pair for `publish`.
    Keygen(publish::KeygenArgs),
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
    /// The identity store whose licence records to list with the
    /// directives they lift (the files' own exemptions are always listed).
    #[arg(long, value_name = "DB")]
    store: Option<PathBuf>,
    /// Output format (text, json or csv).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// A licence that lifts a directive: a file exemption or a store record.
struct Lifting {
    directive: String,
    licence: String,
    holder: String,
    /// `file` for a directive's `[[exemption]]`, else the record's status.
    source: &'static str,
    expires: Option<Timestamp>,
}

impl Lifting {
    /// `expired` once past its expiry, else the source's own standing.
    fn standing(&self, at: Timestamp) -> &'static str {
        if self.expires.is_some_and(|x| at >= x) {
            "expired"
        } else {
            self.source
        }
    }
}

/// Every licence that lifts a directive of `policy`, soonest expiry first.
fn liftings(policy: &Policy, store: Option<&std::path::Path>) -> Result<Vec<Lifting>> {
    let mut out = Vec::new();
    for d in policy.directives() {
        for x in &d.exemptions {
            out.push(Lifting {
                directive: d.id.clone(),
                licence: x.licence.clone(),
                holder: x.holder.clone(),
                source: "file",
                expires: x.expires,
            });
        }
    }
    if let Some(path) = store {
        let store = super::accounts::open_existing(path)?;
        for r in store
            .licences()
            .with_context(|| format!("cannot read the licences in `{}`", path.display()))?
        {
            for directive in &r.licence.directives {
                out.push(Lifting {
                    directive: directive.clone(),
                    licence: r.licence.number.clone(),
                    holder: r.licence.holder.clone(),
                    source: r.status.as_str(),
                    expires: Some(r.licence.expires),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (a.expires.is_none(), a.expires, &a.directive, &a.licence).cmp(&(
            b.expires.is_none(),
            b.expires,
            &b.directive,
            &b.licence,
        ))
    });
    Ok(out)
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Command::Status(s) => status(s),
        Command::SetMode(s) => set_mode::run(s),
        Command::Publish(s) => publish::run(s),
        Command::Keygen(s) => publish::keygen(s),
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
    let liftings = liftings(&policy, a.store.as_deref())?;
    let text = match a.format {
        Format::Text => text(&policy, &liftings, at),
        Format::Json => serde_json::to_string_pretty(&json(&policy, &liftings, at))? + "\n",
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

fn text(policy: &Policy, liftings: &[Lifting], at: Timestamp) -> String {
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
    if !liftings.is_empty() {
        let _ = writeln!(out, "\nlicences, soonest expiry first:");
        let _ = writeln!(
            out,
            "{:<40} {:<20} {:<24} {:<8} expires",
            "directive", "licence", "holder", "standing"
        );
        for l in liftings {
            let _ = writeln!(
                out,
                "{:<40} {:<20} {:<24} {:<8} {}",
                l.directive,
                l.licence,
                l.holder,
                l.standing(at),
                time(l.expires)
            );
        }
    }
    out
}

fn json(policy: &Policy, liftings: &[Lifting], at: Timestamp) -> serde_json::Value {
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
                "licences": liftings
                    .iter()
                    .filter(|l| l.directive == d.id)
                    .map(|l| serde_json::json!({
                        "licence": l.licence,
                        "holder": l.holder,
                        "source": if l.source == "file" { "file" } else { "store" },
                        "standing": l.standing(at),
                        "expires": l.expires.map(|t| t.to_string()),
                    }))
                    .collect::<Vec<_>>(),
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
