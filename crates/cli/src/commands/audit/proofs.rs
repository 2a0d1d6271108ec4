//! `cordon audit prove` and `cordon audit consistency`: proof bundles an
//! auditor checks with `check-proof` and the public key alone.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use cordon_audit::leaf::{self, Record};
use cordon_audit::{Checkpoint, ConsistencyBundle, InclusionBundle, VerifierKey};
use cordon_audit_log::LogReader;

use super::{DataDirArg, Failure, Outcome, peek_checkpoint};
use crate::data_dir;

/// Arguments of `cordon audit prove`.
#[derive(clap::Args)]
pub(super) struct ProveArgs {
    /// The decision id (`dec_…`), or the id of an administrative change.
    decision_id: String,
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The log directory (default: `<data-dir>/audit`).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// The log's public key, to check the receipt before writing it (default: `<data-dir>/audit-key.pub`, if present).
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    /// Write the receipt here instead of to standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Arguments of `cordon audit consistency`.
#[derive(clap::Args)]
pub(super) struct ConsistencyArgs {
    /// The earlier tree: a size with a stored checkpoint, or a checkpoint file.
    old: String,
    /// The later tree: a size with a stored checkpoint, or a checkpoint file.
    new: String,
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The log directory (default: `<data-dir>/audit`).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// The log's public key, to check the bundle before writing it (default: `<data-dir>/audit-key.pub`, if present).
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    /// Write the bundle here instead of to standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The `"id":"<id>"` bytes a leaf holding `id` contains in canonical form.
fn id_needle(id: &str) -> Outcome<Vec<u8>> {
    let quoted = serde_json::to_string(id)
        .context("cannot quote the id")
        .map_err(Failure::Input)?;
    Ok(format!(",\"id\":{quoted},").into_bytes())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The index and bytes of the first leaf whose record has id `id`.
fn find_leaf(reader: &LogReader, id: &str) -> Outcome<Option<(u64, Vec<u8>)>> {
    let needle = id_needle(id)?;
    let mut found = None;
    reader
        .scan(0..reader.size(), |index, data| {
            // Cheap byte test first: decoding every leaf would dominate the scan.
            if contains(data, &needle) {
                let id_matches = match leaf::decode(data) {
                    Ok(Record::Decision(d)) => d.id == id,
                    Ok(Record::Admin(a)) => a.id == id,
                    Err(_) => false,
                };
                if id_matches {
                    found = Some((index, data.to_vec()));
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })
        .with_context(|| format!("cannot read the audit log `{}`", reader.dir().display()))
        .map_err(Failure::Invalid)?;
    Ok(found)
}

/// Writes a bundle to `out` or standard output once the public key, when
/// there is one, has checked it: a bundle that would not verify never leaves.
fn write_checked(
    out: Option<&Path>,
    text: &str,
    key: Option<&VerifierKey>,
    check: impl FnOnce(&VerifierKey) -> anyhow::Result<()>,
) -> Outcome<()> {
    if let Some(key) = key {
        check(key).map_err(Failure::Invalid)?;
    }
    super::write_output(out, text)
}

pub(super) fn prove(a: ProveArgs) -> Outcome<()> {
    let key = super::load_key_if_present(a.key, &a.data_dir)?;
    let reader = super::open_log(a.log, &a.data_dir)?;
    let Some((index, leaf)) = find_leaf(&reader, &a.decision_id)? else {
        return Err(Failure::Invalid(anyhow!(
            "no decision `{}` in the audit log `{}` ({} entries searched)",
            a.decision_id,
            reader.dir().display(),
            reader.size()
        )));
    };
    let latest = reader.latest_checkpoint();
    let latest_size = latest
        .as_deref()
        .and_then(|t| peek_checkpoint(t).ok())
        .map(|cp| cp.size);
    let (checkpoint, size) = match (latest, latest_size) {
        (Some(text), Some(size)) if size > index => (text, size),
        _ => fresh_checkpoint(&reader, &a.data_dir, index, latest_size)?,
    };
    let proof = reader
        .inclusion_proof(index, size)
        .with_context(|| format!("cannot prove entry {index} in the tree of {size} entries"))
        .map_err(Failure::Invalid)?;
    let bundle = InclusionBundle {
        extra: Some(leaf),
        index,
        proof,
        checkpoint,
    };
    write_checked(a.out.as_deref(), &bundle.encode(), key.as_ref(), |key| {
        bundle.check(key).map(drop).with_context(|| {
            format!(
                "the receipt for entry {index} does not verify with `{}`; run `cordon audit verify`",
                key.to_text()
            )
        })
    })?;
    eprintln!(
        "receipt: `{}` is entry {index} of the tree of {size} entries{}",
        a.decision_id,
        out_note(a.out.as_deref())
    );
    Ok(())
}

/// Signs a checkpoint of the reader's tree when no stored one covers entry
/// `index` and the signing key is at hand.
fn fresh_checkpoint(
    reader: &LogReader,
    data_dir: &DataDirArg,
    index: u64,
    latest: Option<u64>,
) -> Outcome<(String, u64)> {
    let covered = latest.map_or_else(
        || "the log has no checkpoint yet".to_owned(),
        |s| format!("the latest checkpoint covers {s} entries"),
    );
    let path = data_dir.resolve().signing_key();
    if !path.exists() {
        return Err(Failure::Input(anyhow!(
            "no stored checkpoint covers entry {index} yet ({covered}); wait for the next checkpoint, or run this where the signing key `{}` is",
            path.display()
        )));
    }
    let key = data_dir::load_signing_key(&path).map_err(Failure::Input)?;
    let size = reader.size();
    let text = Checkpoint::new(key.name(), size, reader.root())
        .sign(&key)
        .with_context(|| format!("cannot sign a checkpoint with `{}`", path.display()))
        .map_err(Failure::Input)?;
    eprintln!(
        "no stored checkpoint covers entry {index} ({covered}); signed a fresh checkpoint of {size} entries with `{}` (it is not stored in the log)",
        path.display()
    );
    Ok((text, size))
}

fn out_note(out: Option<&Path>) -> String {
    out.map(|p| format!(", written to `{}`", p.display()))
        .unwrap_or_default()
}

/// A checkpoint named on the command line: a size or a file.
fn resolve_checkpoint(reader: &LogReader, arg: &str, which: &str) -> Outcome<(String, u64)> {
    let path = Path::new(arg);
    if let (Ok(size), false) = (arg.parse::<u64>(), path.exists()) {
        for text in reader.checkpoints() {
            if peek_checkpoint(&text).is_ok_and(|cp| cp.size == size) {
                return Ok((text, size));
            }
        }
        let stored: Vec<String> = reader
            .checkpoints()
            .iter()
            .filter_map(|t| peek_checkpoint(t).ok().map(|cp| cp.size.to_string()))
            .collect();
        return Err(Failure::Input(anyhow!(
            "{which} `{size}`: the log stores no checkpoint of {size} entries (stored sizes: {})",
            if stored.is_empty() {
                "none".to_owned()
            } else {
                stored.join(", ")
            }
        )));
    }
    let text = super::read_text(path, "checkpoint")?;
    let cp = peek_checkpoint(&text)
        .with_context(|| format!("{which} `{arg}` is not a signed checkpoint"))
        .map_err(Failure::Input)?;
    Ok((text, cp.size))
}

pub(super) fn consistency(a: ConsistencyArgs) -> Outcome<()> {
    let key = super::load_key_if_present(a.key, &a.data_dir)?;
    let reader = super::open_log(a.log, &a.data_dir)?;
    let (old, old_size) = resolve_checkpoint(&reader, &a.old, "OLD")?;
    let (new, new_size) = resolve_checkpoint(&reader, &a.new, "NEW")?;
    if old_size > new_size {
        return Err(Failure::Input(anyhow!(
            "OLD signs {old_size} entries, more than the {new_size} of NEW; give the earlier checkpoint first"
        )));
    }
    if new_size > reader.size() {
        return Err(Failure::Invalid(anyhow!(
            "NEW signs {new_size} entries but the log `{}` holds only {}",
            reader.dir().display(),
            reader.size()
        )));
    }
    let proof = reader
        .consistency_proof(old_size, new_size)
        .with_context(|| format!("cannot prove consistency from {old_size} to {new_size}"))
        .map_err(Failure::Invalid)?;
    let bundle = ConsistencyBundle { old, new, proof };
    write_checked(a.out.as_deref(), &bundle.encode(), key.as_ref(), |key| {
        bundle.check(key).map(drop).with_context(|| {
            format!(
                "the bundle from {old_size} to {new_size} entries does not verify with `{}`",
                key.to_text()
            )
        })
    })?;
    eprintln!(
        "consistency: the tree of {new_size} entries extends that of {old_size}{}",
        out_note(a.out.as_deref())
    );
    Ok(())
}
