//! `cordon audit verify`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use cordon_audit::merkle;
use cordon_audit::{Checkpoint, Note, VerifierKey};
use cordon_audit_log::{LogReader, ReadError, VerifyError, VerifyReport};
use serde_json::json;

use super::{DataDirArg, Failure, Outcome, TextOrJson, b64, peek_checkpoint};

/// Arguments of `cordon audit verify`.
#[derive(clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The log directory (default: `<data-dir>/audit`).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// The log's public key (default: `<data-dir>/audit-key.pub`).
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    /// A signed checkpoint saved earlier: the log must still hold exactly that tree (repeatable).
    #[arg(long = "checkpoint", value_name = "FILE")]
    checkpoints: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
    /// Verify every node's log from what it shipped to this shared store
    /// (`postgres://…`) instead of one log on disk.
    #[arg(long, value_name = "STORE", conflicts_with_all = ["log", "key", "checkpoints"])]
    fleet: Option<String>,
}

/// A checkpoint from `--checkpoint`, parsed but not yet verified.
struct Saved {
    path: PathBuf,
    text: String,
}

/// A `--checkpoint` the log was found consistent with.
struct Matched {
    path: PathBuf,
    size: u64,
}

/// Everything a successful run checked.
struct Summary {
    log: PathBuf,
    key: String,
    report: VerifyReport,
    /// Size of the latest stored checkpoint, if any.
    signed: Option<u64>,
    saved: Vec<Matched>,
    took: Duration,
}

pub(super) fn run(a: Args) -> Outcome<()> {
    let json = a.format == TextOrJson::Json;
    if let Some(url) = &a.fleet {
        return super::fleet::verify(url, json);
    }
    let outcome = verify(a);
    if json {
        let value = match &outcome {
            Ok(s) => summary_json(s),
            Err(f) => json!({
                "ok": false,
                "exit_code": f.code(),
                "error": format!("{:#}", f.error()),
            }),
        };
        println!("{value}");
    } else if let Ok(s) = &outcome {
        print!("{}", summary_text(s));
    }
    outcome.map(|_| ())
}

fn verify(a: Args) -> Outcome<Summary> {
    let started = Instant::now();
    let key = super::load_key(a.key, &a.data_dir)?;
    let mut saved = Vec::with_capacity(a.checkpoints.len());
    for path in a.checkpoints {
        let text = super::read_text(&path, "checkpoint")?;
        if let Err(e) = Note::parse(&text) {
            return Err(Failure::Input(anyhow!(
                "`{}` is not a signed checkpoint: {e}",
                path.display()
            )));
        }
        saved.push(Saved { path, text });
    }
    let reader = super::open_log(a.log, &a.data_dir)?;
    let report = cordon_audit_log::verify(&reader, &key).map_err(|e| match e {
        VerifyError::Read(ReadError::Io { .. }) => {
            Failure::Input(anyhow!(e).context("cannot read the audit log"))
        }
        other => Failure::Invalid(anyhow!(other).context("verification failed")),
    })?;
    let signed = reader
        .latest_checkpoint()
        .and_then(|text| peek_checkpoint(&text).ok())
        .map(|cp| cp.size);
    let mut matched = Vec::with_capacity(saved.len());
    for s in &saved {
        let size = check_saved(&reader, &key, s).map_err(|e| {
            Failure::Invalid(e.context(format!(
                "verification failed: the saved checkpoint `{}` does not check out",
                s.path.display()
            )))
        })?;
        matched.push(Matched {
            path: s.path.clone(),
            size,
        });
    }
    Ok(Summary {
        log: reader.dir().to_owned(),
        key: key.to_text(),
        report,
        signed,
        saved: matched,
        took: started.elapsed(),
    })
}

/// Checks a saved checkpoint: its signature, and that the log extends the
/// tree it signs ([RFC 9162 §2.1.4](https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4)).
///
/// The proof runs from the checkpoint to the reader's root, which `verify`
/// has just recomputed from the segments, so damaged derived files can only
/// make it fail, never pass.
fn check_saved(reader: &LogReader, key: &VerifierKey, saved: &Saved) -> anyhow::Result<u64> {
    let cp = Checkpoint::open(&saved.text, key)?;
    let size = reader.size();
    if cp.size > size {
        return Err(anyhow!(
            "it signs {} entries but the log holds only {size}: entries were removed",
            cp.size
        ));
    }
    let rewritten = |detail: String| {
        let actual = reader
            .root_at(cp.size)
            .map(|r| b64(&r))
            .unwrap_or_else(|e| format!("unknown ({e})"));
        anyhow!(
            "at size {} the log's root is {actual} but the checkpoint signs {}: the history it signed was rewritten ({detail})",
            cp.size,
            b64(&cp.root)
        )
    };
    let proof = reader
        .consistency_proof(cp.size, size)
        .map_err(|e| rewritten(e.to_string()))?;
    merkle::verify_consistency(cp.size, size, &cp.root, &reader.root(), &proof)
        .map_err(|e| rewritten(e.to_string()))?;
    Ok(cp.size)
}

fn summary_text(s: &Summary) -> String {
    let r = &s.report;
    let mut out = String::new();
    let _ = writeln!(out, "verified the audit log `{}`", s.log.display());
    let _ = writeln!(out, "  key          {}", s.key);
    let _ = writeln!(out, "  entries      {}", r.entries);
    let _ = writeln!(out, "  batches      {}", r.batches);
    let _ = writeln!(out, "  segments     {}", r.segments);
    let _ = writeln!(
        out,
        "  checkpoints  {} (signature, root and consistency with the one before)",
        r.checkpoints
    );
    let _ = writeln!(out, "  root         {}", b64(&r.root));
    match s.signed {
        Some(size) if size == r.entries => {
            let _ = writeln!(out, "  signed       all {size} entries");
        }
        Some(size) => {
            let _ = writeln!(
                out,
                "  signed       first {size} entries; {} not yet covered by a checkpoint",
                r.entries - size.min(r.entries)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  signed       none: the log has no checkpoint yet, so nothing in it is signed"
            );
        }
    }
    for m in &s.saved {
        let _ = writeln!(
            out,
            "  saved        `{}` (size {}) is consistent with the log",
            m.path.display(),
            m.size
        );
    }
    if r.ignored_tail_bytes > 0 {
        let _ = writeln!(
            out,
            "  torn tail    {} bytes of an unfinished batch at the end; the writer cuts them when it next opens the log",
            r.ignored_tail_bytes
        );
    }
    let _ = writeln!(out, "  time         {:.3} s", s.took.as_secs_f64());
    out
}

fn summary_json(s: &Summary) -> serde_json::Value {
    let r = &s.report;
    json!({
        "ok": true,
        "log": s.log.display().to_string(),
        "key": s.key,
        "entries": r.entries,
        "batches": r.batches,
        "segments": r.segments,
        "checkpoints": r.checkpoints,
        "root": b64(&r.root),
        "signed_size": s.signed,
        "saved_checkpoints": s.saved.iter().map(|m| json!({
            "path": m.path.display().to_string(),
            "size": m.size,
        })).collect::<Vec<_>>(),
        "torn_tail_bytes": r.ignored_tail_bytes,
        "seconds": s.took.as_secs_f64(),
    })
}
