//! `cordon audit`: keys, verification, receipts and search over the audit log.
//!
//! Every verb but `keygen` exits 0 when what it checked holds, 1 when the log,
//! a checkpoint or a proof does not check out, and 2 when an input cannot be
//! used at all (a missing log, an unreadable or malformed key, checkpoint or
//! bundle), so scripts can tell tampering from a wrong path.

mod check;
mod check_proof;
mod fleet;
mod proofs;
mod search;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use cordon_audit::merkle::Hash;
use cordon_audit::{Checkpoint, Note, VerifierKey};
use cordon_audit_log::LogReader;

use crate::data_dir::{self, DataDirArg};

/// Exit code: the log, a checkpoint or a proof does not check out.
const EXIT_INVALID: u8 = 1;
/// Exit code: an input could not be used.
const EXIT_INPUT: u8 = 2;

/// Arguments of `cordon audit`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Make the log's checkpoint-signing key pair in the data directory.
    Keygen(KeygenArgs),
    /// Recompute the whole log and check every checkpoint (exit 0 verified, 1 failed, 2 unusable input).
    Verify(verify::Args),
    /// Write the receipt (C2SP tlog-proof) that a decision is in the log.
    Prove(proofs::ProveArgs),
    /// Write the proof that the log only grew between two checkpoints.
    Consistency(proofs::ConsistencyArgs),
    /// Check a receipt or consistency bundle with only the public key (exit 0 valid, 1 invalid, 2 unreadable).
    CheckProof(check_proof::Args),
    /// Compare the derived files (tree nodes, offsets, latest checkpoint) with the segments; --repair rewrites them (exit 0 clean or repaired, 1 problems found, 2 unusable input).
    Check(check::Args),
    /// List the log's entries that match filters, as JSON lines or CSV.
    Search(search::Args),
}

/// Arguments of `cordon audit keygen`.
#[derive(clap::Args)]
struct KeygenArgs {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The log's name: the origin line of its checkpoints, conventionally a URL without scheme.
    #[arg(long, value_name = "NAME", default_value = data_dir::DEFAULT_ORIGIN)]
    origin: String,
    /// Replace an existing key; refused once the data directory's log holds checkpoints, which only the old key verifies.
    #[arg(long)]
    force: bool,
}

/// Text or JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TextOrJson {
    /// Human-readable text.
    Text,
    /// One JSON object.
    Json,
}

/// Why a verb failed, which decides its exit code.
enum Failure {
    /// What was checked does not hold (exit 1).
    Invalid(anyhow::Error),
    /// An input could not be used (exit 2).
    Input(anyhow::Error),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Invalid(_) => EXIT_INVALID,
            Failure::Input(_) => EXIT_INPUT,
        }
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Invalid(e) | Failure::Input(e) => e,
        }
    }
}

type Outcome<T> = std::result::Result<T, Failure>;

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let outcome = match a.command {
        Command::Keygen(a) => keygen(a),
        Command::Verify(a) => verify::run(a),
        Command::Prove(a) => proofs::prove(a),
        Command::Consistency(a) => proofs::consistency(a),
        Command::CheckProof(a) => check_proof::run(a),
        Command::Check(a) => check::run(a),
        Command::Search(a) => search::run(a),
    };
    Ok(match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error());
            ExitCode::from(failure.code())
        }
    })
}

fn keygen(a: KeygenArgs) -> Outcome<()> {
    let dir = a.data_dir.resolve();
    let key = dir
        .generate_key(&a.origin, a.force, &dir.audit_log())
        .map_err(Failure::Input)?;
    println!("{}", key.verifier().to_text());
    eprintln!(
        "wrote the public key above to `{}`; give it to auditors",
        dir.verifier_key().display()
    );
    eprintln!(
        "wrote the private key to `{}` (readable by its owner only); keep it secret and back it up",
        dir.signing_key().display()
    );
    Ok(())
}

/// Reads the public key, `--key` else `<data-dir>/audit-key.pub`; any
/// failure is an unusable input.
fn load_key(key: Option<PathBuf>, data_dir: &DataDirArg) -> Outcome<VerifierKey> {
    let path = key.unwrap_or_else(|| data_dir.resolve().verifier_key());
    data_dir::load_verifier_key(&path).map_err(Failure::Input)
}

/// The public key if `--key` names one or the data directory holds one:
/// for verbs that check what they write when they can.
fn load_key_if_present(
    key: Option<PathBuf>,
    data_dir: &DataDirArg,
) -> Outcome<Option<VerifierKey>> {
    let present = key.is_some() || data_dir.resolve().verifier_key().exists();
    if present {
        load_key(key, data_dir).map(Some)
    } else {
        Ok(None)
    }
}

/// Opens the log, `--log` else `<data-dir>/audit`, read-only; a directory
/// that holds no log is an unusable input.
fn open_log(log: Option<PathBuf>, data_dir: &DataDirArg) -> Outcome<LogReader> {
    let dir = log.unwrap_or_else(|| data_dir.resolve().audit_log());
    if !dir.join("segments").is_dir() {
        return Err(Failure::Input(anyhow!(
            "`{}` is not an audit log (it has no `segments` directory); pass --log DIR or --data-dir DIR",
            dir.display()
        )));
    }
    LogReader::open(&dir)
        .with_context(|| format!("cannot open the audit log `{}`", dir.display()))
        .map_err(Failure::Input)
}

/// Reads a text file given on the command line; unreadable or non-UTF-8
/// content is an unusable input.
fn read_text(path: &Path, what: &str) -> Outcome<String> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the {what} `{}`", path.display()))
        .map_err(Failure::Input)?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::Input(anyhow!(
            "the {what} `{}` is not UTF-8 text (byte {} is not)",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Reads a signed checkpoint's size and root without checking its signature:
/// for picking checkpoints, never for trusting them.
fn peek_checkpoint(text: &str) -> anyhow::Result<Checkpoint> {
    let note = Note::parse(text)?;
    Ok(Checkpoint::parse_body(note.text())?)
}

/// Writes `text` to `out`, or to standard output.
fn write_output(out: Option<&Path>, text: &str) -> Outcome<()> {
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))
            .map_err(Failure::Input),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Standard padded base64 ([RFC 4648 §4]) of a hash, for display.
///
/// [RFC 4648 §4]: https://www.rfc-editor.org/rfc/rfc4648#section-4
fn b64(hash: &Hash) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| char::from(ALPHABET.get((v & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(44);
    for chunk in hash.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_print_as_checkpoints_write_them() {
        let root = [0xfb; 32];
        let body = Checkpoint::new("o", 1, root).body();
        assert_eq!(body.lines().nth(2), Some(b64(&root).as_str()));
        let root: Hash = core::array::from_fn(|i| i as u8);
        let body = Checkpoint::new("o", 1, root).body();
        assert_eq!(body.lines().nth(2), Some(b64(&root).as_str()));
    }
}
