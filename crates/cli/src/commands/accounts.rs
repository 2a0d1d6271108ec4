//! `cordon accounts`: the identity store from the command line.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use cordon_store::{
    AccountRecord, DEFAULT_BATCH, ImportFormat, ImportOptions, IssuedKey, KeyInfo, SqliteStore,
    is_postgres_url,
};
use serde_json::{Map, Value};

use crate::commands::identity::{self, Admin, Missing};
use crate::commands::{Format, licences};

mod attest;
mod end_users;
mod evidence;
mod generate;

/// The store used when `--store` is not given.
pub const DEFAULT_STORE: &str = "cordon-data/identity.db";

/// Arguments of `cordon accounts`.
#[derive(clap::Args)]
pub struct Args {
    /// The identity store: a SQLite file (default cordon-data/identity.db; it and its directory are created on first use), or a `postgres://` URL of a migrated PostgreSQL store.
    #[arg(long, global = true, value_name = "PATH_OR_URL")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Add an account, with a subject record (all attributes unknown if none is given).
    Add {
        /// The account id: 1–64 characters of a-z, 0-9, `.`, `_`, `-`.
        id: String,
        /// The subject: inline JSON, a JSON file, or `-` for standard input (schema: docs/subjects.md).
        #[arg(long, value_name = "JSON_OR_FILE")]
        subject: Option<String>,
    },
    /// Change an account's attributes: each given field replaces the stored one.
    Set {
        /// The account id.
        id: String,
        /// A JSON object of top-level subject fields; `null` removes a field (inline JSON, a file, or `-`).
        #[arg(long, value_name = "PATCH_JSON")]
        subject: Option<String>,
        /// Set the citizenships (repeatable; replaces the whole list).
        #[arg(long = "citizenship", value_name = "CODE")]
        citizenships: Vec<String>,
        /// Set the permanent residencies (repeatable; replaces the whole list).
        #[arg(long = "permanent-residency", value_name = "CODE")]
        permanent_residencies: Vec<String>,
        /// Set the country of residence.
        #[arg(long, value_name = "CODE")]
        residence_country: Option<String>,
        /// Set the account's verification level: none, self_declared, document_verified, attested.
        #[arg(long, value_name = "LEVEL")]
        verification: Option<String>,
        /// Set who supplied the attributes.
        #[arg(long)]
        source: Option<String>,
        /// Set the explicit U.S.-person determination.
        #[arg(long, value_name = "true|false")]
        us_person: Option<bool>,
        /// Remove a field, making it unknown (repeatable).
        #[arg(long, value_name = "FIELD")]
        clear: Vec<String>,
    },
    /// Show one account: its subject, its keys, and what each attribute rests on (the record or evidence rows).
    Show {
        /// The account id.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// List the evidence received for an account: every fact a verification source sent, and whether it is in force (exit 2 for an unknown account).
    Evidence {
        /// The account id.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Record an organisation's attestation about named member accounts (accounts whose `organization.name` is the organisation's name), at `attested` until it expires.
    Attest {
        /// The organisation's account id (an account of kind `organization`).
        org: String,
        /// A member account (repeatable).
        #[arg(long = "member", value_name = "ACCOUNT", required = true)]
        members: Vec<String>,
        /// What is attested: subject JSON fields (inline JSON, a file, or `-`), e.g. `{"us_person": true}`.
        #[arg(long, value_name = "JSON_OR_FILE")]
        subject: String,
        /// Until when (RFC 3339).
        #[arg(long, value_name = "TIME")]
        expires: String,
        /// The organisation's own id of the attestation.
        #[arg(long = "id", value_name = "ID")]
        attestation: String,
    },
    /// Register, list and remove the end users behind an organisation's key, each a member account the gateway decides on instead of the organisation.
    #[command(subcommand, name = "end-users")]
    EndUsers(end_users::Command),
    /// List every account.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Import accounts from CSV or JSON Lines; bad rows are listed and skipped (exit 1), good rows are kept.
    Import {
        /// The file to import.
        file: PathBuf,
        /// The file format (default: from the extension, `.csv` or `.jsonl`/`.ndjson`).
        #[arg(long, value_enum)]
        format: Option<FileFormat>,
        /// Rows per transaction.
        #[arg(long, default_value_t = DEFAULT_BATCH as u64, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        batch: u64,
        /// Replace the subject of accounts that already exist instead of reporting them.
        #[arg(long)]
        upsert: bool,
    },
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Disable an account: its keys stop working until it is enabled.
    Disable {
        /// The account id.
        id: String,
    },
    /// Enable a disabled account.
    Enable {
        /// The account id.
        id: String,
    },
    /// Generate synthetic accounts (JSON Lines to standard output, --out FILE, or into --store).
    Generate(generate::Args),
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Create an API key and print it; it cannot be shown again.
    Create {
        /// The account id.
        id: String,
        /// A label to tell keys apart (e.g. where the key is used).
        #[arg(long)]
        label: Option<String>,
    },
    /// List an account's keys (prefixes only; secrets are never stored).
    List {
        /// The account id.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
    /// Revoke a key by its prefix (`ck_1a2b3c4d`).
    Revoke {
        /// The key's prefix, as shown by `keys list`.
        prefix: String,
    },
}

/// How `show` and `list` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

/// Import file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FileFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Runs `cordon accounts`.
pub fn run(a: Args) -> Result<ExitCode> {
    let command = match a.command {
        Command::Generate(g) => return generate::run(g, a.store.as_deref()),
        other => other,
    };
    let location = a.store.as_deref().unwrap_or(Path::new(DEFAULT_STORE));
    let store = identity::open(location, Missing::Create, None)?;
    let store = &*store;
    match command {
        Command::Add { id, subject } => {
            let rec = store.add_account(&id, subject_arg(subject)?)?;
            print_added(&rec)?;
        }
        Command::Set {
            id,
            subject,
            citizenships,
            permanent_residencies,
            residence_country,
            verification,
            source,
            us_person,
            clear,
        } => {
            let mut patch = match subject {
                Some(arg) => match read_json(&arg, "--subject")? {
                    Value::Object(m) => m,
                    other => bail!(
                        "--subject must be a JSON object of subject fields, found {}",
                        json_kind(&other)
                    ),
                },
                None => Map::new(),
            };
            let strings = |v: Vec<String>| Value::Array(v.into_iter().map(Value::String).collect());
            if !citizenships.is_empty() {
                patch.insert("citizenships".into(), strings(citizenships));
            }
            if !permanent_residencies.is_empty() {
                patch.insert(
                    "permanent_residencies".into(),
                    strings(permanent_residencies),
                );
            }
            for (k, v) in [
                ("residence_country", residence_country),
                ("verification", verification),
                ("source", source),
            ] {
                if let Some(v) = v {
                    patch.insert(k.into(), Value::String(v));
                }
            }
            if let Some(b) = us_person {
                patch.insert("us_person".into(), Value::Bool(b));
            }
            for field in clear {
                patch.insert(field, Value::Null);
            }
            if patch.is_empty() {
                bail!(
                    "nothing to change: give --subject with a JSON object, or a flag such as --citizenship (see `cordon accounts set --help`)"
                );
            }
            let rec = store.set_attributes(&id, Value::Object(patch))?;
            println!("updated account `{}`", rec.id);
            print_subject(&rec.subject)?;
        }
        Command::Show { id, format } => {
            let Some(rec) = store.account(&id)? else {
                bail!("account `{id}` does not exist");
            };
            let keys = store.list_keys(&id)?;
            let (_, derived) = store
                .derivation(&id)
                .with_context(|| format!("cannot derive the subject of `{id}`"))?;
            // The licences decisions about this account see (active ones it
            // holds as the holder or a named member).
            let held = store.subject(&id)?.map(|s| s.licences).unwrap_or_default();
            match format {
                OutputFormat::Json => {
                    let mut v = serde_json::to_value(&rec)?;
                    if let Value::Object(m) = &mut v {
                        m.insert("keys".into(), serde_json::to_value(&keys)?);
                        m.insert("evidence_basis".into(), evidence::basis_json(&derived));
                        m.insert(
                            "contradictions".into(),
                            evidence::contradictions_json(&derived),
                        );
                        if !held.is_empty() {
                            m.insert("licences".into(), serde_json::to_value(&held)?);
                        }
                    }
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                OutputFormat::Text => {
                    print!("{}", show_text(&rec, &keys)?);
                    print!("{}", licences::held_text(&id, &held));
                    print!("{}", evidence::show_text(&derived));
                }
            }
        }
        Command::Evidence { id, format } => return evidence::run(store, &id, format),
        Command::Attest {
            org,
            members,
            subject,
            expires,
            attestation,
        } => {
            let subject = read_json(&subject, "--subject")?;
            return attest::run(store, &org, &members, subject, &expires, &attestation);
        }
        Command::EndUsers(command) => end_users::run(store, command)?,
        Command::List { format } => {
            let all = store.list()?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&all)?),
                OutputFormat::Text => print!("{}", list_text(&all)),
            }
        }
        Command::Import {
            file,
            format,
            batch,
            upsert,
        } => {
            let batch = usize::try_from(batch).unwrap_or(usize::MAX);
            return import(store, &file, format, batch, upsert);
        }
        Command::Keys(KeysCommand::Create { id, label }) => {
            print_issued(&store.create_key(&id, label.as_deref())?);
        }
        Command::Keys(KeysCommand::List { id, format }) => {
            let keys = store.list_keys(&id)?;
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&keys)?),
                OutputFormat::Text => print!("{}", keys_text(&keys)),
            }
        }
        Command::Keys(KeysCommand::Revoke { prefix }) => {
            print_revoked(&store.revoke_key(&prefix)?);
        }
        Command::Disable { id } => {
            store.disable(&id)?;
            println!("disabled account `{id}`: its API keys no longer authenticate");
        }
        Command::Enable { id } => {
            store.enable(&id)?;
            println!("enabled account `{id}`");
        }
        // Handled above, before a store is opened.
        Command::Generate(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The subject `--subject` gives, or an empty one (every attribute unknown).
fn subject_arg(arg: Option<String>) -> Result<Value> {
    match arg {
        Some(arg) => read_json(&arg, "--subject"),
        None => Ok(Value::Object(Map::new())),
    }
}

/// Reports an added account.
fn print_added(rec: &AccountRecord) -> Result<()> {
    println!("added account `{}`", rec.id);
    print_subject(&rec.subject)
}

/// Prints a new key on standard output (the only time it is shown), and
/// says so on standard error.
fn print_issued(k: &IssuedKey) {
    println!("{}", k.key);
    eprintln!(
        "created API key {} for account `{}`. This is the only time the full key is shown: store it now.",
        k.prefix, k.account
    );
}

/// Reports a revoked key.
fn print_revoked(k: &KeyInfo) {
    println!("revoked API key {} of account `{}`", k.prefix, k.account);
}

/// Opens a SQLite store that must already exist: a command that reads a
/// store never creates an empty one by a mistyped path.
pub fn open_existing(path: &Path) -> Result<SqliteStore> {
    if !path.is_file() {
        bail!(
            "the identity store `{}` does not exist (create accounts with `cordon accounts --store {} add`)",
            path.display(),
            path.display()
        );
    }
    SqliteStore::open(path)
        .with_context(|| format!("cannot open the identity store `{}`", path.display()))
}

/// Opens (or creates) the store, creating its directory.
///
/// A `postgres://` URL is refused ([`SqliteStore::open`] never takes one for
/// a file name) before any directory is made for it.
pub fn open_store(path: &Path) -> Result<SqliteStore> {
    if path.to_str().is_some_and(is_postgres_url) {
        return Err(cordon_store::StoreError::NotSqlite.into());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory `{}`", dir.display()))?;
    }
    Ok(SqliteStore::open(path)?.with_clock(crate::clock::now))
}

/// Reads JSON from an inline argument, `-` (standard input) or a file.
fn read_json(arg: &str, flag: &str) -> Result<Value> {
    let (text, origin) = if arg.trim_start().starts_with('{') {
        (arg.to_owned(), format!("the {flag} argument"))
    } else if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .with_context(|| format!("cannot read {flag} from standard input"))?;
        (s, "standard input".to_owned())
    } else {
        let p = Path::new(arg);
        if !p.is_file() {
            bail!(
                "{flag} `{arg}` is neither JSON (it does not start with `{{`) nor an existing file"
            );
        }
        let s = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {flag} file `{arg}`"))?;
        (s, format!("`{arg}`"))
    };
    serde_json::from_str(&text).with_context(|| format!("{flag}: {origin} is not valid JSON"))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn print_subject(subject: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(subject)?);
    Ok(())
}

/// A time to the second, for text output (JSON output keeps full precision).
fn seconds(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn status(disabled: bool) -> &'static str {
    if disabled { "disabled" } else { "enabled" }
}

fn show_text(rec: &AccountRecord, keys: &[KeyInfo]) -> Result<String> {
    let mut s = format!(
        "account  {}\nstatus   {}\ncreated  {}\nupdated  {}\nsubject  {}\n",
        rec.id,
        status(rec.disabled),
        seconds(rec.created_at),
        seconds(rec.updated_at),
        serde_json::to_string_pretty(&rec.subject)?.replace('\n', "\n         "),
    );
    if keys.is_empty() {
        s.push_str("keys     none (create one with `cordon accounts keys create`)\n");
    } else {
        s.push_str("keys\n");
        for line in keys_text(keys).lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
    }
    Ok(s)
}

/// A list field of the subject as text: `?` when not recorded, `-` when recorded empty.
fn countries(subject: &Value, field: &str) -> String {
    match subject.get(field) {
        None => "?".to_owned(),
        Some(Value::Array(items)) if items.is_empty() => "-".to_owned(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(c) => c.to_uppercase(),
                Value::Object(o) => o
                    .get("country")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_uppercase(),
                _ => "?".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(";"),
        Some(other) => other.to_string(),
    }
}

fn list_text(all: &[AccountRecord]) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "ID".into(),
        "STATUS".into(),
        "VERIFICATION".into(),
        "CITIZENSHIPS".into(),
        "UPDATED".into(),
    ]];
    for a in all {
        rows.push([
            a.id.clone(),
            status(a.disabled).into(),
            a.subject
                .get("verification")
                .and_then(Value::as_str)
                .unwrap_or("none")
                .to_owned(),
            countries(&a.subject, "citizenships"),
            seconds(a.updated_at),
        ]);
    }
    let mut out = table(&rows);
    out.push_str(&format!("{} account(s)\n", all.len()));
    out
}

fn keys_text(keys: &[KeyInfo]) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "PREFIX".into(),
        "STATUS".into(),
        "CREATED".into(),
        "LABEL".into(),
    ]];
    for k in keys {
        rows.push([
            k.prefix.clone(),
            match k.revoked_at {
                Some(t) => format!("revoked {}", seconds(t)),
                None => "active".into(),
            },
            seconds(k.created_at),
            k.label.clone().unwrap_or_default(),
        ]);
    }
    table(&rows)
}

/// Left-aligned columns separated by two spaces.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn import(
    store: &dyn Admin,
    file: &Path,
    format: Option<FileFormat>,
    batch: usize,
    upsert: bool,
) -> Result<ExitCode> {
    let format = match format {
        Some(FileFormat::Csv) => ImportFormat::Csv,
        Some(FileFormat::Jsonl) => ImportFormat::Jsonl,
        None => match file
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => ImportFormat::Csv,
            Some("jsonl" | "ndjson") => ImportFormat::Jsonl,
            _ => bail!(
                "cannot tell the format of `{}` from its extension; pass --format csv or --format jsonl",
                file.display()
            ),
        },
    };
    let open = || File::open(file).with_context(|| format!("cannot open `{}`", file.display()));
    let total =
        count_lines(open()?).with_context(|| format!("cannot read `{}`", file.display()))?;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} importing [{bar:40}] {pos}/{len} lines ({eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let report = store.import(
        &mut BufReader::new(open()?),
        format,
        ImportOptions { batch, upsert },
        &mut |lines| bar.set_position(lines),
    );
    bar.finish_and_clear();
    let report = report.with_context(|| format!("import of `{}` stopped", file.display()))?;
    for e in &report.errors {
        eprintln!("{}:{}: {}", file.display(), e.line, e.message);
    }
    println!(
        "imported {} new account(s) and updated {} from {} line(s) of `{}`",
        report.imported,
        report.updated,
        report.lines,
        file.display()
    );
    if report.errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{} row(s) not imported (listed above); fix them and import the file again{}",
            report.errors.len(),
            if upsert { "" } else { " with --upsert" }
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Lines in a file (a last line without a newline counts).
fn count_lines(mut r: impl Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = r.read(&mut buf)?;
        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
            break;
        };
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        if let Some(b) = chunk.last() {
            last = *b;
        }
    }
    Ok(lines + u64::from(last != b'\n'))
}
