//! `cordon audit prove` and `cordon audit consistency`: proof bundles an
//! auditor checks with `check-proof` and the public key alone.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use cordon_audit::leaf::{self, Record};
use cordon_audit::{ConsistencyBundle, InclusionBundle, VerifierKey};
use cordon_audit_log::{AuditLog, LogConfig, LogReader, OpenError};

use super::{DataDirArg, Failure, Outcome, peek_checkpoint};
use crate::data_dir;

/// The environment variable holding the gateway's auditor token.
const TOKEN_ENV: &str = "CORDON_AUDIT_TOKEN";
/// The longest checkpoint a gateway's answer may be.
const MAX_CHECKPOINT_BYTES: u64 = 64 * 1024;

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
    /// The gateway writing the log (e.g. `https://gw.example.com`): when no
    /// stored checkpoint covers the entry and the gateway holds the log, it
    /// is asked to sign and store one (`POST /audit/checkpoint`).
    #[arg(long, value_name = "URL")]
    gateway: Option<String>,
    /// The gateway's auditor token, `audit.read_token` (default: $CORDON_AUDIT_TOKEN).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
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
    let mut key = super::load_key_if_present(a.key.clone(), &a.data_dir)?;
    let mut reader = super::open_log(a.log.clone(), &a.data_dir)?;
    let Some((mut index, mut leaf)) = find_leaf(&reader, &a.decision_id)? else {
        return Err(not_found(&a.decision_id, &reader));
    };
    let latest = reader.latest_checkpoint();
    let latest_size = latest
        .as_deref()
        .and_then(|t| peek_checkpoint(t).ok())
        .map(|cp| cp.size);
    let (checkpoint, size) = match (latest, latest_size) {
        (Some(text), Some(size)) if size > index => (text, size),
        _ => {
            let fresh = fresh_checkpoint(&a, reader.dir(), index, latest_size)?;
            // Read the log again: it now stores the checkpoint, and holds
            // every entry the checkpoint covers.
            reader = LogReader::open(reader.dir())
                .with_context(|| format!("cannot open the audit log `{}`", reader.dir().display()))
                .map_err(Failure::Input)?;
            let text = stored(&reader, &fresh)?;
            if reader.entry(index).ok().as_ref() != Some(&leaf) {
                // The batch the first reading saw was not committed and
                // another took its place: look the id up again.
                (index, leaf) = find_leaf(&reader, &a.decision_id)?
                    .ok_or_else(|| not_found(&a.decision_id, &reader))?;
            }
            if fresh.size <= index {
                return Err(Failure::Input(anyhow!(
                    "the checkpoint just signed covers {} entries, not entry {index} (its batch was committed after it); run this again",
                    fresh.size
                )));
            }
            if key.is_none() {
                key = fresh.verifier;
            }
            (text, fresh.size)
        }
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

fn not_found(id: &str, reader: &LogReader) -> Failure {
    Failure::Invalid(anyhow!(
        "no decision `{id}` in the audit log `{}` ({} entries searched)",
        reader.dir().display(),
        reader.size()
    ))
}

/// A checkpoint the log's writer signed and stored for a receipt.
struct Fresh {
    /// The signed checkpoint.
    text: String,
    /// The tree size it signs.
    size: u64,
    /// The public key, when it was signed here.
    verifier: Option<VerifierKey>,
}

/// Has the log's writer sign and store a checkpoint of the committed tree,
/// when no stored one covers entry `index`: this process, if the signing key
/// is at hand and no other writer holds the log, else the gateway named by
/// `--gateway`. A checkpoint is never signed from what a reader sees, which
/// may include a batch its writer has not synced yet.
fn fresh_checkpoint(a: &ProveArgs, dir: &Path, index: u64, latest: Option<u64>) -> Outcome<Fresh> {
    let covered = latest.map_or_else(
        || "the log has no checkpoint yet".to_owned(),
        |s| format!("the latest checkpoint covers {s} entries"),
    );
    let data = a.data_dir.resolve();
    let key_path = data.signing_key();
    let locked = if key_path.exists() {
        match sign_as_writer(&data, dir)? {
            Some(fresh) => {
                eprintln!(
                    "no stored checkpoint covers entry {index} ({covered}); signed a checkpoint of {} entries with `{}` and stored it in the log",
                    fresh.size,
                    key_path.display()
                );
                return Ok(fresh);
            }
            None => true,
        }
    } else {
        false
    };
    let Some(url) = a.gateway.as_deref() else {
        return Err(Failure::Input(if locked {
            anyhow!(
                "a writer holds the audit log `{}` (a running `cordon serve`); no stored checkpoint covers entry {index} yet ({covered}); wait for the next periodic checkpoint or pass --gateway URL --token TOKEN",
                dir.display()
            )
        } else {
            anyhow!(
                "no stored checkpoint covers entry {index} yet ({covered}); wait for the next checkpoint, run this where the signing key `{}` is, or pass --gateway URL --token TOKEN to have the gateway writing the log sign one",
                key_path.display()
            )
        }));
    };
    let token = a
        .token
        .clone()
        .or_else(|| std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty()))
        .ok_or_else(|| {
            Failure::Input(anyhow!(
                "--gateway needs the auditor token (`audit.read_token`): pass --token TOKEN or set {TOKEN_ENV}"
            ))
        })?;
    let text = ask_gateway(url, &token)?;
    let size = peek_checkpoint(&text)
        .with_context(|| format!("the gateway `{url}` did not answer with a checkpoint"))
        .map_err(Failure::Input)?
        .size;
    eprintln!(
        "no stored checkpoint covers entry {index} ({covered}); the gateway `{url}` signed a checkpoint of {size} entries and stored it in the log"
    );
    Ok(Fresh {
        text,
        size,
        verifier: None,
    })
}

/// Opens the log in `dir` as its writer with the data directory's signing
/// key, and has it sign and store a checkpoint of the committed tree;
/// `None` when another writer holds the log.
///
/// The key must be the one the stored checkpoints verify with, or nothing
/// is signed.
fn sign_as_writer(data: &data_dir::DataDir, dir: &Path) -> Outcome<Option<Fresh>> {
    let key_path = data.signing_key();
    let key = data_dir::load_signing_key(&key_path).map_err(Failure::Input)?;
    data_dir::check_key(&key, &key_path, Some(&data.verifier_key()), dir)
        .map_err(Failure::Invalid)?;
    let verifier = key.verifier();
    let log = match AuditLog::open(LogConfig::new(dir, key.name()), key) {
        Ok((log, _)) => log,
        Err(OpenError::Locked { .. }) => return Ok(None),
        Err(
            e @ (OpenError::Corrupt { .. }
            | OpenError::CheckpointedDamage { .. }
            | OpenError::CheckpointAhead { .. }
            | OpenError::CheckpointsCorrupt { .. }),
        ) => return Err(Failure::Invalid(e.into())),
        Err(e) => {
            return Err(Failure::Input(anyhow::Error::new(e).context(format!(
                "cannot open the audit log `{}` to sign a checkpoint",
                dir.display()
            ))));
        }
    };
    let signed = log.checkpoint_now();
    log.shutdown();
    let text = signed
        .with_context(|| {
            format!(
                "cannot sign and store a checkpoint in the audit log `{}`",
                dir.display()
            )
        })
        .map_err(Failure::Input)?;
    let size = peek_checkpoint(&text)
        .context("the log's writer signed a checkpoint that does not parse")
        .map_err(Failure::Invalid)?
        .size;
    Ok(Some(Fresh {
        text,
        size,
        verifier: Some(verifier),
    }))
}

/// `POST /audit/checkpoint` on the gateway at `url`: the checkpoint its
/// writer signed and stored.
fn ask_gateway(url: &str, token: &str) -> Outcome<String> {
    let endpoint = format!("{}/audit/checkpoint", url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .user_agent(concat!("cordon/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent
        .post(&endpoint)
        .header("authorization", format!("Bearer {token}"))
        .send_empty()
        .map_err(|e| Failure::Input(anyhow!("cannot ask the gateway `{endpoint}`: {e}")))?;
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_CHECKPOINT_BYTES)
        .read_to_string()
        .map_err(|e| {
            Failure::Input(anyhow!(
                "cannot read the answer of the gateway `{endpoint}`: {e}"
            ))
        })?;
    if status.as_u16() != 200 {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v.pointer("/error/message")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| body.trim().to_owned());
        return Err(Failure::Input(anyhow!(
            "the gateway `{endpoint}` answered HTTP {}: {message}",
            status.as_u16()
        )));
    }
    Ok(body)
}

/// The stored checkpoint `fresh` names (by its size), which must be the one
/// the writer returned: only what the log stores is handed out.
fn stored(reader: &LogReader, fresh: &Fresh) -> Outcome<String> {
    let found = reader
        .checkpoints()
        .into_iter()
        .find(|t| peek_checkpoint(t).is_ok_and(|cp| cp.size == fresh.size));
    match found {
        Some(text) if text == fresh.text => Ok(text),
        _ => Err(Failure::Input(anyhow!(
            "the log `{}` does not store the checkpoint of {} entries that was just signed; is the gateway the one writing this log?",
            reader.dir().display(),
            fresh.size
        ))),
    }
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
