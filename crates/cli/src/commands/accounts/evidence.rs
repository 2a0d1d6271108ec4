//! `cordon accounts evidence`, and the sections of `cordon accounts show`
//! that say what each attribute rests on.
//!
//! Every fact a verification source sent is one evidence row
//! (docs/accounts.md, "Evidence"); the account's subject is derived from its
//! record and the rows in force ([`cordon_verification::derive`]).

use std::process::ExitCode;

use anyhow::{Context, Result};
use cordon_store::StoreError;

use crate::commands::identity::Admin;
use cordon_verification::evidence::Basis;
use cordon_verification::{Contradiction, Derived, Evidence};
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{seconds, table};
use crate::commands::Format;

/// The exit status of `accounts evidence` for an account that does not exist.
const EXIT_UNKNOWN_ACCOUNT: u8 = 2;

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 19] = [
    "account",
    "id",
    "attribute",
    "value",
    "level",
    "source_kind",
    "source",
    "object_id",
    "trust_framework",
    "method",
    "document_country",
    "verified_at",
    "expires_at",
    "received_at",
    "delivery_id",
    "payload_sha256",
    "withdrawn_at",
    "in_force",
    "status",
];

/// Runs `cordon accounts evidence ID`: prints every evidence row of the
/// account, oldest first. An unknown account exits 2.
pub fn run(store: &dyn Admin, id: &str, format: Format) -> Result<ExitCode> {
    let rows = match store.evidence(id) {
        Ok(rows) => rows,
        Err(StoreError::AccountNotFound { .. }) => {
            eprintln!(
                "error: account `{id}` does not exist; `cordon accounts list` shows the accounts of this store"
            );
            return Ok(ExitCode::from(EXIT_UNKNOWN_ACCOUNT));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the evidence of `{id}`"));
        }
    };
    let now = crate::clock::now();
    match format {
        Format::Text => print!("{}", text(id, &rows, now)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&to_json(id, &rows, now))?
        ),
        Format::Csv => print!("{}", to_csv(&rows, now)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a row counts at `now`, in words.
fn status(e: &Evidence, now: Timestamp) -> String {
    if let Some(w) = e.withdrawn_at {
        return format!("withdrawn {}", seconds(w));
    }
    match e.expires_at {
        Some(x) if now >= x => format!("expired {}", seconds(x)),
        _ => "in force".to_owned(),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
}

/// One block per row, every field named; `-` where the source gave nothing.
fn text(account: &str, rows: &[Evidence], now: Timestamp) -> String {
    let in_force = rows.iter().filter(|r| r.in_force(now)).count();
    if rows.is_empty() {
        return format!(
            "account `{account}`: no evidence received; its subject is its record as written (`cordon accounts show {account}`)\n"
        );
    }
    let mut out = format!(
        "account `{account}`: {} evidence row(s), {in_force} in force at {}\n",
        rows.len(),
        seconds(now)
    );
    let opt = |v: Option<&str>| v.map_or_else(|| "-".to_owned(), str::to_owned);
    let time = |t: Option<Timestamp>| t.map_or_else(|| "-".to_owned(), seconds);
    for r in rows {
        out.push_str(&format!(
            "\n#{}  {} = {}  {}  {}\n",
            r.id,
            r.attribute.field(),
            compact(&r.value),
            r.level.as_str(),
            status(r, now)
        ));
        let fields: [(&str, String); 11] = [
            (
                "source",
                format!("{} ({})", r.source, r.source_kind.as_str()),
            ),
            ("object id", opt(r.object_id.as_deref())),
            ("trust framework", opt(r.trust_framework.as_deref())),
            ("method", opt(r.method.as_deref())),
            ("document country", opt(r.document_country.as_deref())),
            ("verified at", time(r.verified_at)),
            ("expires at", time(r.expires_at)),
            ("received at", seconds(r.received_at)),
            ("delivery id", opt(r.delivery_id.as_deref())),
            ("payload sha256", r.payload_sha256.clone()),
            ("withdrawn at", time(r.withdrawn_at)),
        ];
        for (name, value) in fields {
            out.push_str(&format!("  {name:<17} {value}\n"));
        }
    }
    out
}

fn row_json(r: &Evidence, now: Timestamp) -> Value {
    json!({
        "id": r.id,
        "attribute": r.attribute.field(),
        "value": r.value,
        "level": r.level.as_str(),
        "source_kind": r.source_kind.as_str(),
        "source": r.source,
        "object_id": r.object_id,
        "trust_framework": r.trust_framework,
        "method": r.method,
        "document_country": r.document_country,
        "verified_at": r.verified_at.map(|t| t.to_string()),
        "expires_at": r.expires_at.map(|t| t.to_string()),
        "received_at": r.received_at.to_string(),
        "delivery_id": r.delivery_id,
        "payload_sha256": r.payload_sha256,
        "withdrawn_at": r.withdrawn_at.map(|t| t.to_string()),
        "in_force": r.in_force(now),
    })
}

fn to_json(account: &str, rows: &[Evidence], now: Timestamp) -> Value {
    json!({
        "account": account,
        "at": now.to_string(),
        "evidence": rows.iter().map(|r| row_json(r, now)).collect::<Vec<_>>(),
    })
}

/// `text`, prefixed with `'` when a spreadsheet would read it as a formula
/// (OWASP "CSV injection"): object ids and delivery ids come from outside.
fn cell(text: String) -> String {
    if text.starts_with(FORMULA_START) {
        format!("'{text}")
    } else {
        text
    }
}

fn to_csv(rows: &[Evidence], now: Timestamp) -> Result<String> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let time = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
    for r in rows {
        let record: [String; 19] = [
            r.account.clone(),
            r.id.to_string(),
            r.attribute.field().to_owned(),
            compact(&r.value),
            r.level.as_str().to_owned(),
            r.source_kind.as_str().to_owned(),
            r.source.clone(),
            opt(&r.object_id),
            opt(&r.trust_framework),
            opt(&r.method),
            opt(&r.document_country),
            time(r.verified_at),
            time(r.expires_at),
            r.received_at.to_string(),
            opt(&r.delivery_id),
            r.payload_sha256.clone(),
            time(r.withdrawn_at),
            r.in_force(now).to_string(),
            status(r, now),
        ];
        w.write_record(record.map(cell))?;
    }
    let bytes = w.into_inner().context("cannot write the CSV")?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

/// What an attribute rests on, in words: `record` or `evidence #1, #4`.
fn rests_on(b: &Basis) -> String {
    match &b.evidence {
        None => "record".to_owned(),
        Some(ids) if ids.is_empty() => "evidence".to_owned(),
        Some(ids) => format!(
            "evidence {}",
            ids.iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A contradiction in one line.
fn contradiction_line(c: &Contradiction) -> String {
    let said: Vec<String> = c
        .values
        .iter()
        .map(|(source, value)| format!("`{source}` says {}", compact(value)))
        .collect();
    let resolved = match &c.resolved {
        Some(v) => compact(v),
        None => "unknown (left out of the subject)".to_owned(),
    };
    format!(
        "{} at {}: {}; resolved to {resolved}",
        c.attribute.field(),
        c.level.as_str(),
        said.join(", ")
    )
}

/// The `evidence` and `contradictions` sections of `accounts show`.
pub fn show_text(derived: &Derived) -> String {
    let mut s = String::new();
    if derived.basis.is_empty() {
        s.push_str("evidence none: no attribute is recorded\n");
    } else {
        s.push_str("evidence\n");
        let mut rows: Vec<[String; 3]> =
            vec![["ATTRIBUTE".into(), "LEVEL".into(), "RESTS ON".into()]];
        for b in &derived.basis {
            rows.push([
                b.attribute.field().to_owned(),
                b.level.as_str().to_owned(),
                rests_on(b),
            ]);
        }
        for line in table(&rows).lines() {
            s.push_str("  ");
            s.push_str(line);
            s.push('\n');
        }
    }
    if derived.contradictions.is_empty() {
        s.push_str("contradictions none\n");
    } else {
        s.push_str("contradictions\n");
        for c in &derived.contradictions {
            s.push_str("  ");
            s.push_str(&contradiction_line(c));
            s.push('\n');
        }
    }
    s
}

/// `evidence_basis` of `accounts show --format json`: per attribute, its
/// level and whether it rests on the record or on evidence rows (their ids).
pub fn basis_json(derived: &Derived) -> Value {
    Value::Array(
        derived
            .basis
            .iter()
            .map(|b| {
                json!({
                    "attribute": b.attribute.field(),
                    "level": b.level.as_str(),
                    "rests_on": if b.evidence.is_some() { "evidence" } else { "record" },
                    "evidence": b.evidence.clone().unwrap_or_default(),
                })
            })
            .collect(),
    )
}

/// `contradictions` of `accounts show --format json`.
pub fn contradictions_json(derived: &Derived) -> Value {
    Value::Array(
        derived
            .contradictions
            .iter()
            .map(|c| {
                json!({
                    "attribute": c.attribute.field(),
                    "level": c.level.as_str(),
                    "values": c.values.iter().map(|(source, value)| json!({"source": source, "value": value})).collect::<Vec<_>>(),
                    "resolved": c.resolved,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_start_like_formulas_are_shown_as_text() {
        assert_eq!(cell("=1+2".into()), "'=1+2");
        assert_eq!(cell("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(cell("-5".into()), "'-5");
        assert_eq!(cell("run-1".into()), "run-1");
        assert_eq!(cell(String::new()), "");
    }
}
