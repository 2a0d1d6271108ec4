//! `cordon audit check`: the derived files against the segments, and their
//! repair.
//!
//! The derived files (tree node hashes, entry offsets, the latest
//! `checkpoint` file) are recomputable from the segments, and the gateway
//! serves tiles from them with a one-year cache header, so damage to them
//! is worth finding before an auditor does. `verify` checks the segments
//! and the signed checkpoints; this checks what is derived from them.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use cordon_audit_log::storage::{OsStorage, Storage};
use cordon_audit_log::{
    DerivedCheck, LatestCheckpoint, OpenError, Repair, check_derived, repair_derived,
};
use serde_json::json;

use super::{DataDirArg, Failure, Outcome, TextOrJson, b64};

/// Arguments of `cordon audit check`.
#[derive(clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The log directory (default: `<data-dir>/audit`).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// Rewrite the derived files from the segments when they differ (needs the log's lock: stop `cordon serve` first).
    #[arg(long)]
    repair: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

/// What a run found and did.
struct Checked {
    dir: PathBuf,
    before: DerivedCheck,
    repaired: Option<(Repair, DerivedCheck)>,
}

impl Checked {
    /// The check that decides the exit code: after the repair, if any.
    fn last(&self) -> &DerivedCheck {
        self.repaired.as_ref().map_or(&self.before, |(_, c)| c)
    }
}

pub(super) fn run(a: Args) -> Outcome<()> {
    let json = a.format == TextOrJson::Json;
    let outcome = check(a);
    match (&outcome, json) {
        (Ok(o), true) => println!("{}", outcome_json(o)),
        (Ok(o), false) => print!("{}", outcome_text(o)),
        (Err(f), true) => println!(
            "{}",
            json!({"ok": false, "exit_code": f.code(), "error": format!("{:#}", f.error())})
        ),
        (Err(_), false) => {}
    }
    let o = outcome?;
    let last = o.last();
    if let Some(damage) = &last.segment_damage {
        return Err(Failure::Invalid(anyhow!(
            "the segments of `{}` are damaged at {damage}; run `cordon audit verify`",
            o.dir.display()
        )));
    }
    if !last.is_clean() {
        return Err(Failure::Invalid(anyhow!(
            "the derived files of `{}` differ from the segments; run `cordon audit check --repair` with the gateway stopped",
            o.dir.display()
        )));
    }
    Ok(())
}

fn check(a: Args) -> Outcome<Checked> {
    let dir = a.log.unwrap_or_else(|| a.data_dir.resolve().audit_log());
    if !dir.join("segments").is_dir() {
        return Err(Failure::Input(anyhow!(
            "`{}` is not an audit log (it has no `segments` directory); pass --log DIR or --data-dir DIR",
            dir.display()
        )));
    }
    let before = check_derived(&OsStorage, &dir).map_err(|e| {
        Failure::Input(anyhow!(e).context(format!("cannot check `{}`", dir.display())))
    })?;
    let needs_repair = !before.is_clean() || before.torn_tail.is_some();
    let repaired = if a.repair && needs_repair && before.segment_damage.is_none() {
        let storage: Arc<dyn Storage> = Arc::new(OsStorage);
        let repair = repair_derived(&storage, &dir).map_err(|e| match e {
            OpenError::Locked { .. } => Failure::Input(anyhow!(
                "{e}; `--repair` rewrites files the writer uses: stop `cordon serve`, or run without `--repair` to only check"
            )),
            OpenError::Io { .. } => Failure::Input(anyhow!(e)),
            other => Failure::Invalid(anyhow!(other)),
        })?;
        let after = check_derived(&OsStorage, &dir).map_err(|e| Failure::Input(anyhow!(e)))?;
        Some((repair, after))
    } else {
        None
    };
    Ok(Checked {
        dir,
        before,
        repaired,
    })
}

fn latest_name(l: LatestCheckpoint) -> &'static str {
    match l {
        LatestCheckpoint::NoneStored => "none stored",
        LatestCheckpoint::Matches => "matches",
        LatestCheckpoint::Stale => "stale",
    }
}

fn outcome_text(o: &Checked) -> String {
    let c = &o.before;
    let mut out = String::new();
    let _ = writeln!(out, "log:          {}", o.dir.display());
    let _ = writeln!(
        out,
        "compared:     {} entries: {} node hashes, {} offsets",
        c.entries, c.nodes, c.offsets
    );
    if c.writer_running {
        let _ = writeln!(
            out,
            "writer:       running, or the lock could not be taken (records one side lacks are not counted)"
        );
    }
    let _ = writeln!(out, "problems:     {}", c.problem_count);
    for p in &c.problems {
        let _ = writeln!(
            out,
            "  `{}` record {}: {}",
            p.path.display(),
            p.record,
            p.reason
        );
    }
    if c.problem_count > c.problems.len() as u64 {
        let _ = writeln!(
            out,
            "  … and {} more",
            c.problem_count - c.problems.len() as u64
        );
    }
    let _ = writeln!(out, "checkpoint:   {}", latest_name(c.latest));
    if let Some(t) = &c.torn_tail {
        let _ = writeln!(
            out,
            "torn tail:    {} bytes after byte {} of `{}` (never committed; cut, with a copy kept in `quarantine/`, when the log is next opened)",
            t.bytes,
            t.offset,
            t.segment.display()
        );
    }
    if let Some(d) = &c.segment_damage {
        let _ = writeln!(out, "segments:     damaged at {d}");
    }
    if let Some((repair, after)) = &o.repaired {
        let _ = writeln!(
            out,
            "repaired:     rewrote the derived files from the segments ({} entries, root {}); problems now {}",
            repair.entries,
            b64(&repair.root),
            after.problem_count
        );
        if let Some(kept) = &repair.quarantined {
            let _ = writeln!(out, "quarantined:  {}", kept.display());
        }
    }
    out
}

fn check_json(c: &DerivedCheck) -> serde_json::Value {
    json!({
        "entries": c.entries,
        "nodes": c.nodes,
        "offsets": c.offsets,
        "problem_count": c.problem_count,
        "problems": c.problems.iter().map(|p| json!({
            "file": p.path.display().to_string(),
            "record": p.record,
            "reason": p.reason,
        })).collect::<Vec<_>>(),
        "checkpoint_file": latest_name(c.latest),
        "torn_tail_bytes": c.torn_tail.as_ref().map(|t| t.bytes),
        "segment_damage": c.segment_damage,
        "writer_running": c.writer_running,
    })
}

fn outcome_json(o: &Checked) -> serde_json::Value {
    let last = o.last();
    json!({
        "ok": last.is_clean() && last.segment_damage.is_none(),
        "log": o.dir.display().to_string(),
        "check": check_json(&o.before),
        "repair": o.repaired.as_ref().map(|(r, after)| json!({
            "entries": r.entries,
            "root": b64(&r.root),
            "quarantined": r.quarantined.as_ref().map(|p| p.display().to_string()),
            "check": check_json(after),
        })),
    })
}
