//! `cordon licences`: export licences as records (docs/licences.md).
//!
//! Staff record a licence from its document (`add`: active at once), list
//! and show them, approve one the holder organisation submitted through the
//! gateway (`approve`: pending → active), and revoke one. Every change is
//! journaled in the store, from where a running gateway copies it into the
//! audit log, and bumps the store's change counter, so the gateway decides
//! the next request on it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use cordon_catalog::Resolution;
use cordon_store::{LicenceRecord, LicenceSource, StoreError};
use cordon_subject::Licence;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::Format;
use super::accounts::DEFAULT_STORE;
use super::identity::{self, Admin, Missing};
use crate::inputs::{self, World};

/// The exit status for a bad flag, an unknown licence, or a change the
/// licence's status does not allow: nothing was written.
const EXIT_INPUT: u8 = 2;

/// Arguments of `cordon licences`.
#[derive(clap::Args)]
pub struct Args {
    /// The identity store: a SQLite file that must exist (default cordon-data/identity.db), or a `postgres://` URL of a migrated PostgreSQL store.
    #[arg(long, global = true, value_name = "DB")]
    store: Option<PathBuf>,
    /// Who makes the change, as the change journal names them.
    #[arg(long, global = true, value_name = "NAME")]
    actor: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Record a licence from its document; it is active at once.
    Add(Box<AddArgs>),
    /// List every licence, in every status.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Show one licence.
    Show {
        /// The licence number.
        number: String,
        /// Output format (text or json).
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Approve a licence the holder organisation submitted, after checking its document.
    Approve {
        /// The licence number.
        number: String,
    },
    /// Revoke a licence: it lifts nothing from the next request on.
    Revoke {
        /// The licence number.
        number: String,
    },
}

#[derive(clap::Args)]
struct AddArgs {
    /// The licence number as issued (letters, digits, `-._/:`).
    #[arg(long, value_name = "N")]
    number: String,
    /// Who issued it (e.g. `BIS`).
    #[arg(long, value_name = "AUTHORITY")]
    authority: String,
    /// A directive the licence lifts (repeatable, at least one).
    #[arg(long = "directive", value_name = "ID", required = true)]
    directives: Vec<String>,
    /// The holder: an organisation account in the store.
    #[arg(long, value_name = "ORG")]
    holder: String,
    /// An individual the licence covers: a member account of the holder
    /// (repeatable). Without any, it covers only the holder's own account.
    #[arg(long = "individual", value_name = "ACCOUNT")]
    individuals: Vec<String>,
    /// A nationality the licence excludes (ISO 3166-1 code, repeatable).
    #[arg(long = "exclude-nationality", value_name = "CC")]
    excluded_nationalities: Vec<String>,
    /// A catalog model the licence covers (repeatable); without any, every
    /// model its directives cover.
    #[arg(long = "model", value_name = "MODEL")]
    models: Vec<String>,
    /// From when it applies (RFC 3339; default now).
    #[arg(long, value_name = "TIME")]
    issued: Option<String>,
    /// From when it no longer applies (RFC 3339).
    #[arg(long, value_name = "TIME")]
    expires: String,
    /// The licence's conditions as written: shown in explanations, never evaluated.
    #[arg(long, value_name = "TEXT")]
    conditions: Option<String>,
    /// Check the directive ids against this directive set.
    #[arg(long = "directives", value_name = "DIR")]
    directive_set: Option<PathBuf>,
    /// The model catalog the models are checked against (default: `catalog.toml`).
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Self {
        Outcome::Failed(e.into())
    }
}

impl From<anyhow::Error> for Outcome {
    fn from(e: anyhow::Error) -> Self {
        Outcome::Failed(e)
    }
}

/// How a subcommand ended other than successfully.
enum Outcome {
    /// Bad input, named by flag and value, or a change the licence's status
    /// does not allow: exit 2, nothing written.
    Refused(String),
    /// Anything else (the store cannot be read): exit 1.
    Failed(anyhow::Error),
}

fn refuse(message: String) -> Outcome {
    Outcome::Refused(message)
}

/// Runs `cordon licences`.
pub fn run(a: Args) -> Result<ExitCode> {
    let path = a
        .store
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STORE));
    match dispatch(a, &path) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Outcome::Refused(message)) => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(EXIT_INPUT))
        }
        Err(Outcome::Failed(e)) => Err(e),
    }
}

fn open(path: &Path, actor: Option<&str>) -> Result<Box<dyn Admin>, Outcome> {
    if !path.to_str().is_some_and(cordon_store::is_postgres_url) && !path.is_file() {
        return Err(refuse(format!(
            "the identity store `{}` does not exist; name it with --store (accounts are added with `cordon accounts --store {} add`)",
            path.display(),
            path.display()
        )));
    }
    Ok(identity::open(path, Missing::Refuse, actor)?)
}

fn dispatch(a: Args, path: &Path) -> Result<(), Outcome> {
    let store = open(path, a.actor.as_deref())?;
    match a.command {
        Command::Add(add) => {
            let licence = checked(&add)?;
            let rec = store
                .record_licence(&licence, LicenceSource::Staff)
                .map_err(|e| store_refusal(e, &add))?;
            println!(
                "recorded licence `{}` of `{}`: {}",
                rec.licence.number,
                rec.licence.holder,
                rec.status.as_str()
            );
            print!("{}", show_text(&rec));
        }
        Command::List { format } => {
            let all = store.licences()?;
            match format {
                Format::Text => print!("{}", list_text(&all)),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&all).map_err(anyhow::Error::from)?
                ),
                Format::Csv => print!("{}", list_csv(&all)?),
            }
        }
        Command::Show { number, format } => {
            let rec = store.licence(&number)?.ok_or_else(|| not_found(&number))?;
            match format {
                Format::Text => print!("{}", show_text(&rec)),
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&rec).map_err(anyhow::Error::from)?
                ),
                Format::Csv => {
                    return Err(refuse(
                        "--format csv is for `licences list`; use text or json".to_owned(),
                    ));
                }
            }
        }
        Command::Approve { number } => {
            let rec = store.approve_licence(&number).map_err(status_refusal)?;
            println!(
                "approved licence `{}` of `{}`: active; it lifts its directives from the next request on",
                rec.licence.number, rec.licence.holder
            );
        }
        Command::Revoke { number } => {
            let rec = store.revoke_licence(&number).map_err(status_refusal)?;
            println!(
                "revoked licence `{}` of `{}`: it lifts nothing from the next request on",
                rec.licence.number, rec.licence.holder
            );
        }
    }
    Ok(())
}

fn not_found(number: &str) -> Outcome {
    refuse(format!(
        "no licence has the number `{number}`; `cordon licences list` shows them"
    ))
}

fn status_refusal(e: StoreError) -> Outcome {
    match e {
        StoreError::LicenceNotFound { number } => not_found(&number),
        e @ StoreError::LicenceStatus { .. } => refuse(e.to_string()),
        other => other.into(),
    }
}

/// The flag a licence field comes from, and the value given for it.
fn flag_of<'a>(field: &str, a: &'a AddArgs) -> (&'static str, Option<&'a str>) {
    let (name, index) = match field.split_once('[') {
        Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
        None => (field, None),
    };
    let pick = |list: &'a [String]| index.and_then(|i| list.get(i)).map(String::as_str);
    match name {
        "number" => ("--number", Some(a.number.as_str())),
        "authority" => ("--authority", Some(a.authority.as_str())),
        "directives" => ("--directive", pick(&a.directives)),
        "holder" => ("--holder", Some(a.holder.as_str())),
        "individuals" => ("--individual", pick(&a.individuals)),
        "excluded_nationalities" => ("--exclude-nationality", pick(&a.excluded_nationalities)),
        "models" => ("--model", pick(&a.models)),
        "conditions" => ("--conditions", a.conditions.as_deref()),
        "issued" => ("--issued", a.issued.as_deref()),
        "expires" => ("--expires", Some(a.expires.as_str())),
        _ => ("the licence", None),
    }
}

fn flag_refusal(field: &str, message: &str, a: &AddArgs) -> Outcome {
    let (flag, value) = flag_of(field, a);
    match value {
        Some(v) => refuse(format!("{flag} `{v}`: {message}")),
        None => refuse(format!("{flag}: {message}")),
    }
}

fn store_refusal(e: StoreError, a: &AddArgs) -> Outcome {
    match e {
        StoreError::InvalidLicence { field, message, .. } => flag_refusal(&field, &message, a),
        e @ StoreError::LicenceExists { .. } => refuse(format!("--number `{}`: {e}", a.number)),
        other => other.into(),
    }
}

/// The licence the flags describe, checked as the gateway checks a
/// submission: every field's form, the models against the catalog (named
/// by their ids from then on), and the directive ids against `--directives`
/// when given. The store checks the rest (the holder, the individuals, the
/// expiry against now).
fn checked(a: &AddArgs) -> Result<Licence, Outcome> {
    let world = World::load()?;
    let mut v = Map::new();
    v.insert("number".into(), json!(a.number));
    v.insert("authority".into(), json!(a.authority));
    v.insert("directives".into(), json!(a.directives));
    v.insert("holder".into(), json!(a.holder));
    v.insert("individuals".into(), json!(a.individuals));
    v.insert(
        "excluded_nationalities".into(),
        json!(a.excluded_nationalities),
    );
    v.insert("models".into(), json!(a.models));
    if let Some(c) = &a.conditions {
        v.insert("conditions".into(), json!(c));
    }
    if let Some(t) = &a.issued {
        v.insert("issued".into(), json!(t));
    }
    v.insert("expires".into(), json!(a.expires));
    let mut licence = Licence::from_value(
        &Value::Object(v),
        world.jurisdictions,
        Some(crate::clock::now()),
    )
    .map_err(|e| match e {
        cordon_subject::RecordError::Field { field, message } => flag_refusal(&field, &message, a),
        other => refuse(other.to_string()),
    })?;
    let catalog = inputs::catalog(a.catalog.as_deref())?;
    for (i, m) in licence.models.iter_mut().enumerate() {
        match catalog.resolve(m) {
            Resolution::Known { id, .. } => {
                if let Some(model) = catalog.model(id) {
                    model.id.clone_into(m);
                }
            }
            Resolution::Unknown => {
                return Err(flag_refusal(
                    &format!("models[{i}]"),
                    "the catalog has no such model",
                    a,
                ));
            }
        }
    }
    if let Some(dir) = &a.directive_set {
        let policy = inputs::policy(Some(dir), catalog, &world).map_err(|e| {
            refuse(format!(
                "--directives `{}`: the directive set is invalid:\n{}",
                dir.display(),
                inputs::render_load_error(&e)
            ))
        })?;
        for (i, d) in licence.directives.iter().enumerate() {
            if policy.directive(d).is_none() {
                let ids: Vec<&str> = policy.directives().iter().map(|d| d.id.as_str()).collect();
                return Err(flag_refusal(
                    &format!("directives[{i}]"),
                    &format!(
                        "the directive set `{}` has no such directive; its directives are: {}",
                        dir.display(),
                        ids.join(", ")
                    ),
                    a,
                ));
            }
        }
    } else {
        eprintln!(
            "note: the directive ids were not checked against a directive set; pass --directives DIR to check them"
        );
    }
    Ok(licence)
}

/// A time to the second.
fn seconds(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn joined(list: &[String], empty: &str) -> String {
    if list.is_empty() {
        empty.to_owned()
    } else {
        list.join(", ")
    }
}

fn nationalities(l: &Licence) -> Vec<String> {
    l.excluded_nationalities
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `licences show`, and the record after `add`: every field named.
fn show_text(r: &LicenceRecord) -> String {
    let l = &r.licence;
    let mut rows: Vec<(&str, String)> = vec![
        ("licence", l.number.clone()),
        ("authority", l.authority.clone()),
        (
            "status",
            format!("{} ({})", r.status.as_str(), r.source_kind.as_str()),
        ),
        ("holder", l.holder.clone()),
        (
            "individuals",
            joined(&l.individuals, "none: the holder's own account only"),
        ),
        ("excludes", joined(&nationalities(l), "no nationality")),
        (
            "models",
            joined(&l.models, "every model its directives cover"),
        ),
        ("directives", l.directives.join(", ")),
        ("issued", seconds(l.issued)),
        ("expires", seconds(l.expires)),
        (
            "conditions",
            l.conditions.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        (
            "recorded",
            format!("{} by {}", seconds(r.recorded_at), r.actor),
        ),
    ];
    if let Some(t) = r.approved_at {
        rows.push((
            "approved",
            format!(
                "{} by {}",
                seconds(t),
                r.approved_by.as_deref().unwrap_or("-")
            ),
        ));
    }
    if let Some(t) = r.revoked_at {
        rows.push((
            "revoked",
            format!(
                "{} by {}",
                seconds(t),
                r.revoked_by.as_deref().unwrap_or("-")
            ),
        ));
    }
    rows.iter()
        .map(|(k, v)| format!("{k:<12} {}\n", v.replace('\n', "\n             ")))
        .collect()
}

/// Left-aligned columns separated by two spaces.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(c.chars().count()),
                None => widths.push(c.chars().count()),
            }
        }
    }
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn list_text(all: &[LicenceRecord]) -> String {
    let mut rows = vec![
        [
            "NUMBER",
            "STATUS",
            "AUTHORITY",
            "HOLDER",
            "INDIVIDUALS",
            "EXCLUDES",
            "MODELS",
            "DIRECTIVES",
            "EXPIRES",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for r in all {
        let l = &r.licence;
        rows.push(vec![
            l.number.clone(),
            r.status.as_str().to_owned(),
            l.authority.clone(),
            l.holder.clone(),
            joined(&l.individuals, "-"),
            joined(&nationalities(l), "-"),
            joined(&l.models, "all"),
            l.directives.join(","),
            seconds(l.expires),
        ]);
    }
    let mut out = table(&rows);
    out.push_str(&format!("{} licence(s)\n", all.len()));
    out
}

/// The CSV columns of `licences list --format csv`, in order.
pub const CSV_COLUMNS: [&str; 18] = [
    "number",
    "authority",
    "status",
    "source_kind",
    "holder",
    "individuals",
    "excluded_nationalities",
    "models",
    "directives",
    "issued",
    "expires",
    "conditions",
    "recorded_at",
    "actor",
    "approved_at",
    "approved_by",
    "revoked_at",
    "revoked_by",
];

/// `text`, prefixed with `'` when a spreadsheet would read it as a formula:
/// authorities and conditions are typed by people and organisations.
fn cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn list_csv(all: &[LicenceRecord]) -> Result<String> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    for r in all {
        let l = &r.licence;
        let record: [String; 18] = [
            l.number.clone(),
            l.authority.clone(),
            r.status.as_str().to_owned(),
            r.source_kind.as_str().to_owned(),
            l.holder.clone(),
            l.individuals.join(";"),
            nationalities(l).join(";"),
            l.models.join(";"),
            l.directives.join(";"),
            l.issued.to_string(),
            l.expires.to_string(),
            l.conditions.clone().unwrap_or_default(),
            r.recorded_at.to_string(),
            r.actor.clone(),
            time(r.approved_at),
            r.approved_by.clone().unwrap_or_default(),
            time(r.revoked_at),
            r.revoked_by.clone().unwrap_or_default(),
        ];
        w.write_record(record.map(cell))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| anyhow!("cannot write the CSV: {e}"))?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

/// The `licences` section of `cordon accounts show`: the licences the
/// account holds, as decisions see them; nothing when it holds none.
pub fn held_text(account: &str, held: &[Licence]) -> String {
    if held.is_empty() {
        return String::new();
    }
    let mut rows = vec![
        [
            "LICENCE",
            "AUTHORITY",
            "AS",
            "DIRECTIVES",
            "MODELS",
            "VALID",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for l in held {
        let role = if l.holder == account {
            "holder".to_owned()
        } else {
            format!("named individual of `{}`", l.holder)
        };
        rows.push(vec![
            l.number.clone(),
            l.authority.clone(),
            role,
            l.directives.join(","),
            joined(&l.models, "all"),
            format!("{} to {}", seconds(l.issued), seconds(l.expires)),
        ]);
    }
    let mut s = "licences\n".to_owned();
    for line in table(&rows).lines() {
        s.push_str("  ");
        s.push_str(line);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_start_like_formulas_are_shown_as_text() {
        assert_eq!(cell("=HYPERLINK(1)".into()), "'=HYPERLINK(1)");
        assert_eq!(cell("BIS".into()), "BIS");
    }
}
