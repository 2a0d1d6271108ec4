//! `cordon simulate`: what a proposed directive set would change for every
//! stored account, before it takes effect.
//!
//! Exit 0 when the report was produced, 2 when an input cannot be used (an
//! invalid directive set, a store from another schema version, an audit log
//! that fails verification, an output directory that cannot be written). On
//! exit 2 nothing new is left in `--out` or at `--notify-out`.

mod accounts;
mod output;
mod summary;
mod traffic;
mod ways;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use cordon_jurisdiction::CountryCode;
use cordon_policy::Policy;
use cordon_simulate::{Location, ReportInputs, Simulation, TrafficSource};
use cordon_store::SqliteStore;
use jiff::Timestamp;

use super::shapes::ShapeArgs;
use crate::inputs::{self, World};
use output::Staged;

/// Exit code: an input could not be used.
const EXIT_INPUT: u8 = 2;

/// Arguments of `cordon simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// The proposed directive directory.
    #[arg(long, value_name = "NEW")]
    directives: PathBuf,
    /// The directive set in force (default: `directives/` in the working directory; --builtin for the built-in set).
    #[arg(long, value_name = "CURRENT")]
    baseline: Option<PathBuf>,
    /// The model catalog, for both sets (default: `catalog.toml` in the working directory; --builtin for the built-in one).
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// The identity store whose accounts are simulated (read only).
    #[arg(long, value_name = "DB")]
    store: PathBuf,
    /// An audit log directory whose decisions are replayed under the proposed set, after it is verified.
    #[arg(long, value_name = "LOG_DIR")]
    traffic: Option<PathBuf>,
    /// The audit log's public key (default: `audit-key.pub` beside the log, in its data directory).
    #[arg(long, value_name = "FILE", requires = "traffic")]
    traffic_key: Option<PathBuf>,
    /// Replay only decisions from this time: an age (7d, 24h, 90m) or an RFC 3339 time.
    #[arg(long, value_name = "DURATION", requires = "traffic")]
    since: Option<String>,
    /// Simulate as of this time (RFC 3339; default: now, or when the proposed changes first take effect if all are pending).
    #[arg(long, value_name = "T")]
    at: Option<String>,
    /// Write report.json, report.csv and report.html into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write one CSV row per affected account and change, for notifying customers.
    #[arg(long, value_name = "FILE")]
    notify_out: Option<PathBuf>,
    /// A gateway configuration (`cordon.toml`) whose `[verification]` ways are
    /// counted for accounts asked to verify (default: self-declaration only).
    #[arg(long, value_name = "CONFIG")]
    ways: Option<PathBuf>,
    /// Where simulated requests come from: `residence` (each account's recorded
    /// country of residence), `unknown` (as a failed geolocation), or a country code.
    #[arg(long, value_name = "WHERE", default_value = "residence")]
    location: String,
    /// The request shapes decided for every account × model (default: a
    /// plain chat request only).
    #[command(flatten)]
    shapes: ShapeArgs,
    /// What goes to standard output.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

/// Standard output: a summary or the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TextOrJson {
    /// A text summary.
    Text,
    /// The whole report as JSON.
    Json,
}

pub fn run(a: Args) -> Result<ExitCode> {
    match simulate(a) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(EXIT_INPUT))
        }
    }
}

fn simulate(a: Args) -> Result<()> {
    let now = crate::clock::now();
    let at = a.at.as_deref().map(|t| super::time(Some(t))).transpose()?;
    let since = a
        .since
        .as_deref()
        .map(|t| super::time_or_age("--since", t, now))
        .transpose()?;
    // Refuse unusable outputs before the long passes.
    if let Some(dir) = &a.out {
        output::check_out_dir(dir)?;
    }
    if let Some(file) = &a.notify_out {
        output::check_parent(file, "--notify-out")?;
    }

    let ways = a.ways.as_deref().map(ways::load).transpose()?;
    let world = World::load()?;
    let location = location(&a.location, &world)?;
    let catalog = inputs::catalog(a.catalog.as_deref())?;
    let proposed = load_set(Some(&a.directives), catalog.clone(), &world)?;
    let baseline = load_set(a.baseline.as_deref(), catalog, &world)?;
    let store = SqliteStore::open_read_only(&a.store)
        .with_context(|| format!("cannot read the identity store `{}`", a.store.display()))?;
    // A log that does not verify stops the run before the account pass.
    let mut log = a
        .traffic
        .as_deref()
        .map(|d| traffic::open_verified_since(d, since, a.traffic_key.as_deref()))
        .transpose()?;
    let (sim, at_note) = simulation(baseline, proposed, at, now)?;
    let mut sim = sim
        .with_location(location)
        .with_notice_from(now)
        .with_shapes(a.shapes.shapes());
    if let Some(w) = &ways {
        sim = sim.with_ways(w.ways.clone());
        if let Some(url) = &w.start_url {
            sim = sim.with_start_url(url.clone());
        }
    }

    let mut staged = Staged::default();
    let notify = a
        .notify_out
        .as_deref()
        .map(|f| staged.create(f))
        .transpose()?;
    // The licences the gateway would attach to each account's subject.
    let licences = store
        .licence_index()
        .with_context(|| format!("cannot read the licences in `{}`", a.store.display()))?;
    let bar = progress(store.account_count()?, "simulating accounts")?;
    let scanned = accounts::scan(&store, &sim, world.jurisdictions, &licences, notify, &bar);
    bar.finish_and_clear();
    let mut scanned = scanned?;
    eprintln!(
        "simulated {} account(s) in {:.2} s",
        scanned.tally.accounts(),
        scanned.took.as_secs_f64()
    );

    let replayed = match &mut log {
        Some(log) => {
            eprintln!(
                "verified {} audit log entries in {:.2} s",
                log.report.entries,
                log.took.as_secs_f64()
            );
            let bar = progress(log.report.entries, "replaying decisions")?;
            let r = traffic::replay(log, &sim, &store, world.jurisdictions, &licences, &bar);
            bar.finish_and_clear();
            let r = r?;
            eprintln!(
                "replayed {} decision(s) in {:.2} s",
                r.tally.decisions(),
                r.took.as_secs_f64()
            );
            Some(r)
        }
        None => None,
    };

    let mut notes = Vec::new();
    notes.extend(at_note);
    notes.extend(ways.into_iter().flat_map(|w| w.notes));
    notes.extend(account_notes(&scanned));
    if let Some(r) = &replayed
        && r.undecodable > 0
    {
        notes.push(format!(
            "{} audit log entr{} could not be decoded by this version and {} skipped",
            r.undecodable,
            if r.undecodable == 1 { "y" } else { "ies" },
            if r.undecodable == 1 { "was" } else { "were" }
        ));
    }
    let (traffic_tally, traffic_source) = match (replayed, &log) {
        (Some(r), Some(log)) => (
            Some(r.tally),
            Some(TrafficSource {
                log: log.dir.display().to_string(),
                since,
                first: r.first,
                last: r.last,
            }),
        ),
        _ => (None, None),
    };
    let inputs = ReportInputs {
        baseline_label: inputs::directives_label(a.baseline.as_deref()),
        proposed_label: a.directives.display().to_string(),
        traffic: traffic_source,
    };
    let mut report = cordon_simulate::report(&sim, scanned.tally, traffic_tally, inputs);
    for (k, note) in notes.into_iter().enumerate() {
        report.notes.insert(k.min(report.notes.len()), note);
    }

    let json = report.to_json()?;
    if let Some(dir) = &a.out {
        staged.prepare_dir(dir)?;
        staged.write(&dir.join("report.json"), json.as_bytes())?;
        staged.write(&dir.join("report.csv"), report.to_csv().as_bytes())?;
        let html = cordon_simulate::html::render(&report);
        staged.write(&dir.join("report.html"), html.as_bytes())?;
    }
    if let (Some(w), Some(path)) = (scanned.notify.take(), &a.notify_out) {
        Staged::seal(w, path)?;
    }
    staged.commit()?;

    match a.format {
        TextOrJson::Json => print!("{json}"),
        TextOrJson::Text => {
            let written = summary::Written {
                out: a.out.as_deref(),
                notify: a.notify_out.as_deref().map(|p| (p, scanned.notify_rows)),
            };
            print!("{}", summary::text(&report, &written)?);
        }
    }
    Ok(())
}

/// Loads a directive set, rendering its diagnostics (file and line) on failure.
fn load_set(
    dir: Option<&Path>,
    catalog: cordon_catalog::Catalog,
    world: &World,
) -> Result<Arc<Policy>> {
    inputs::policy(dir, catalog, world)
        .map(Arc::new)
        .map_err(|e| {
            anyhow!(
                "the directive set `{}` is invalid:\n{}",
                inputs::directives_label(dir),
                inputs::render_load_error(&e).trim_end()
            )
        })
}

/// Parses `--location`.
fn location(arg: &str, world: &World) -> Result<Location> {
    match arg {
        "residence" => Ok(Location::Residence),
        "unknown" => Ok(Location::Unknown),
        code => CountryCode::parse(code)
            .ok()
            .filter(|c| world.jurisdictions.is_country(*c))
            .map(Location::Country)
            .ok_or_else(|| {
                anyhow!(
                    "--location `{code}` is not `residence`, `unknown` or an ISO 3166-1 alpha-2 country code"
                )
            }),
    }
}

/// Builds the simulation at `--at`, or by default at now or when the
/// proposed set's first new directive takes effect
/// ([`Simulation::at_first_change`]), saying so.
fn simulation(
    baseline: Arc<Policy>,
    proposed: Arc<Policy>,
    at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(Simulation, Option<String>)> {
    if let Some(at) = at {
        return Ok((Simulation::new(baseline, proposed, at)?, None));
    }
    let (sim, moved) = Simulation::at_first_change(baseline, proposed, now)?;
    let note = moved.map(|first| format!(
        "every changed directive of the proposed set is new and not yet in effect; simulated at {first}, when the first of them takes effect (pass --at to choose another time)"
    ));
    Ok((sim, note))
}

/// Notes about accounts the simulation left out.
fn account_notes(s: &accounts::Scanned) -> Vec<String> {
    let mut notes = Vec::new();
    if s.unreadable > 0 {
        let named: Vec<String> = s
            .unreadable_named
            .iter()
            .map(|(id, why)| format!("`{id}` ({why})"))
            .collect();
        let more = s.unreadable.saturating_sub(named.len() as u64);
        notes.push(format!(
            "{} account record(s) could not be read and were left out: {}{}",
            s.unreadable,
            named.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        ));
    }
    if s.disabled > 0 {
        notes.push(format!(
            "{} disabled account(s) were left out: their keys do not authenticate",
            s.disabled
        ));
    }
    notes
}

/// A progress bar on standard error when it is a terminal; hidden otherwise,
/// so logs and pipes get no control characters.
fn progress(len: u64, label: &str) -> Result<indicatif::ProgressBar> {
    if std::io::stderr().is_terminal() {
        super::lists::progress(len, label)
    } else {
        Ok(indicatif::ProgressBar::hidden())
    }
}
