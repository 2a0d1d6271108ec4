//! Reading accounts from CSV and JSON Lines files.
//!
//! This module turns input into rows (`id` plus a subject record) or row
//! errors, validates them ([`read`]) and stores them in batches
//! ([`store_batch`]) through [`AccountRows`], the same for every backend;
//! [`SqliteStore::import`](crate::SqliteStore::import) and
//! [`PostgresStore::import`](crate::PostgresStore::import) give each batch
//! its transaction.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use cordon_jurisdiction::Jurisdictions;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::StoreError;
use crate::account::{AccountRows, canonical_subject, kind_of, validate_account_id};

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// Comma-separated values with a header row; see `docs/accounts.md`.
    Csv,
    /// JSON Lines: one subject record object with an `id` per line.
    Jsonl,
}

/// How an import runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Rows stored per transaction (at least 1).
    pub batch: usize,
    /// Replace the subject of accounts that already exist instead of reporting them.
    pub upsert: bool,
}

/// Rows per transaction unless told otherwise.
pub const DEFAULT_BATCH: usize = 1000;

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            batch: DEFAULT_BATCH,
            upsert: false,
        }
    }
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The line the row starts on, counting from 1 (in CSV the header is line 1).
    pub line: u64,
    /// The row's account id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is wrong, naming the field.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Accounts added.
    pub imported: u64,
    /// Existing accounts whose subject was replaced (upsert only).
    pub updated: u64,
    /// Lines read, including a CSV header and blank lines.
    pub lines: u64,
    /// Every row not imported, in file order.
    pub errors: Vec<RowError>,
}

/// A validated import row waiting for its batch.
pub(crate) struct Pending {
    /// The line the row starts on.
    pub(crate) line: u64,
    /// The account id.
    pub(crate) id: String,
    /// The canonical subject.
    pub(crate) subject: Map<String, Value>,
}

/// Reads and validates every row of `reader`, handing the good ones to
/// `store` `options.batch` at a time (and once more at the end) and
/// collecting the bad ones in the report by line. `progress` is called
/// with the lines read after each stored batch.
///
/// # Errors
/// [`StoreError::Read`], [`StoreError::CsvHeader`], or whatever `store`
/// returns; batches stored before stay stored.
pub(crate) fn read(
    reader: impl Read,
    format: ImportFormat,
    options: ImportOptions,
    j: &Jurisdictions,
    progress: &mut dyn FnMut(u64),
    mut store: impl FnMut(&mut Vec<Pending>, &mut ImportReport) -> Result<(), StoreError>,
) -> Result<ImportReport, StoreError> {
    let batch_size = options.batch.max(1);
    let mut rows = Rows::new(reader, format)?;
    let mut report = ImportReport::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut batch: Vec<Pending> = Vec::with_capacity(batch_size.min(100_000));
    while let Some(row) = rows.next_row()? {
        report.lines = row.lines_read;
        let fail = |message: String| RowError {
            line: row.line,
            id: row.id.clone(),
            message,
        };
        let Some(id) = row.id.as_deref() else {
            let message = match &row.subject {
                Err(m) => m.clone(),
                Ok(_) => "missing account id".to_owned(),
            };
            report.errors.push(fail(message));
            continue;
        };
        if let Err(e) = validate_account_id(id) {
            report.errors.push(fail(e.to_string()));
            continue;
        }
        if let Some(first) = seen.get(id) {
            report.errors.push(fail(format!(
                "account `{id}` appears more than once in the input (first on line {first}); only the first is imported"
            )));
            continue;
        }
        seen.insert(id.to_owned(), row.line);
        let subject = match row.subject {
            Ok(s) => s,
            Err(m) => {
                report.errors.push(fail(m));
                continue;
            }
        };
        match canonical_subject(id, subject, j) {
            Ok(subject) => batch.push(Pending {
                line: row.line,
                id: id.to_owned(),
                subject,
            }),
            Err(e) => report.errors.push(fail(e.to_string())),
        }
        if batch.len() >= batch_size {
            store(&mut batch, &mut report)?;
            batch.clear();
            progress(report.lines);
        }
    }
    if !batch.is_empty() {
        store(&mut batch, &mut report)?;
    }
    report.errors.sort_by_key(|e| e.line);
    progress(report.lines);
    Ok(report)
}

/// Stores a batch of validated rows through `rows`, inside the caller's
/// transaction: a new id is added, an existing one is replaced with
/// `upsert` (its record, keeping its keys, disabled flag and evidence) and
/// a row error without, each journaled with its line. Returns the
/// accounts written; the caller screens them and, if any, bumps the
/// counter.
pub(crate) fn store_batch(
    rows: &mut impl AccountRows,
    j: &Jurisdictions,
    actor: &str,
    batch: &mut Vec<Pending>,
    upsert: bool,
    report: &mut ImportReport,
    now: Timestamp,
) -> Result<Vec<String>, StoreError> {
    let now_text = now.to_string();
    let mut written: Vec<String> = Vec::new();
    for p in batch.drain(..) {
        if rows.account_row(&p.id)?.is_some() {
            if upsert {
                crate::account::store_record(rows, j, &p.id, &p.subject, now)?;
                rows.journal(
                    &now_text,
                    actor,
                    "account.replaced",
                    &p.id,
                    json!({ "subject": p.subject, "import_line": p.line }),
                )?;
                report.updated += 1;
                written.push(p.id);
            } else {
                report.errors.push(RowError {
                    line: p.line,
                    message: format!(
                        "account `{}` already exists (import with upsert to replace its subject)",
                        p.id
                    ),
                    id: Some(p.id),
                });
            }
        } else {
            if !rows.insert_new_account(&p.id, &p.subject, &now_text)? {
                return Err(StoreError::AccountExists { id: p.id });
            }
            rows.journal(
                &now_text,
                actor,
                "account.created",
                &p.id,
                json!({ "subject": p.subject, "import_line": p.line }),
            )?;
            report.imported += 1;
            written.push(p.id);
        }
    }
    Ok(written)
}

/// One row read from the input.
pub(crate) struct Row {
    /// First line of the row.
    pub line: u64,
    /// Last line read so far (for progress).
    pub lines_read: u64,
    /// The account id, if the row has a usable one.
    pub id: Option<String>,
    /// The subject record, or what is wrong with the row.
    pub subject: Result<Value, String>,
}

/// Reads rows from an import source.
pub(crate) enum Rows<R: Read> {
    Csv(CsvRows<R>),
    Jsonl(JsonlRows<R>),
}

impl<R: Read> Rows<R> {
    pub(crate) fn new(reader: R, format: ImportFormat) -> Result<Self, StoreError> {
        Ok(match format {
            ImportFormat::Csv => Rows::Csv(CsvRows::new(reader)?),
            ImportFormat::Jsonl => Rows::Jsonl(JsonlRows {
                reader: BufReader::new(reader),
                line: 0,
                buf: Vec::new(),
            }),
        })
    }

    /// The next row; `Ok(None)` at the end; `Err` only when the input cannot be read.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>, StoreError> {
        match self {
            Rows::Csv(r) => r.next_row(),
            Rows::Jsonl(r) => r.next_row(),
        }
    }
}

pub(crate) struct JsonlRows<R: Read> {
    reader: BufReader<R>,
    line: u64,
    buf: Vec<u8>,
}

impl<R: Read> JsonlRows<R> {
    fn next_row(&mut self) -> Result<Option<Row>, StoreError> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t.trim(),
                Err(e) => {
                    return Ok(Some(self.row(None, Err(format!("not UTF-8 text: {e}")))));
                }
            };
            if text.is_empty() {
                continue;
            }
            let (id, subject) = jsonl_row(text);
            return Ok(Some(self.row(id, subject)));
        }
    }

    fn row(&self, id: Option<String>, subject: Result<Value, String>) -> Row {
        Row {
            line: self.line,
            lines_read: self.line,
            id,
            subject,
        }
    }
}

fn jsonl_row(text: &str) -> (Option<String>, Result<Value, String>) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (None, Err(format!("not valid JSON: {e}"))),
    };
    let Value::Object(mut map) = value else {
        return (
            None,
            Err(format!("expected a JSON object, found {}", kind_of(&value))),
        );
    };
    map.remove("key_label");
    let id = match map.remove("id") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return (
                None,
                Err(format!(
                    "field `id`: expected a string, found {}",
                    kind_of(&other)
                )),
            );
        }
        None => return (None, Err("missing field `id`".to_owned())),
    };
    (Some(id), Ok(Value::Object(map)))
}

/// The columns a CSV import understands.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "verification",
    "source",
    "verified_at",
    "expires",
    "citizenships",
    "permanent_residencies",
    "residence_country",
    "residence_region",
    "protected_individual",
    "us_person",
    "organization",
    "organization_country",
];

pub(crate) struct CsvRows<R: Read> {
    reader: csv::Reader<R>,
    /// Column name for each position in a row.
    columns: Vec<&'static str>,
    record: csv::ByteRecord,
    lines_read: u64,
}

impl<R: Read> CsvRows<R> {
    fn new(reader: R) -> Result<Self, StoreError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(reader);
        let header = reader.byte_headers().map_err(csv_fatal)?.clone();
        if header.is_empty() {
            return Err(StoreError::CsvHeader(
                "the input is empty; the first line must name the columns, including `id`"
                    .to_owned(),
            ));
        }
        let mut columns = Vec::with_capacity(header.len());
        for (i, raw) in header.iter().enumerate() {
            let name = String::from_utf8_lossy(raw);
            let name = name.trim().trim_start_matches('\u{feff}').trim();
            let Some(known) = CSV_COLUMNS.iter().find(|c| **c == name) else {
                return Err(StoreError::CsvHeader(format!(
                    "column {} `{name}` is not known; expected some of: {}",
                    i + 1,
                    CSV_COLUMNS.join(", ")
                )));
            };
            if columns.contains(known) {
                return Err(StoreError::CsvHeader(format!(
                    "column `{name}` appears twice"
                )));
            }
            columns.push(*known);
        }
        if !columns.contains(&"id") {
            return Err(StoreError::CsvHeader(
                "there is no `id` column; every row needs an account id".to_owned(),
            ));
        }
        Ok(CsvRows {
            reader,
            columns,
            record: csv::ByteRecord::new(),
            lines_read: 1,
        })
    }

    fn next_row(&mut self) -> Result<Option<Row>, StoreError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                self.lines_read = line;
                let (id, subject) = csv_row(&self.columns, &self.record);
                Ok(Some(Row {
                    line,
                    lines_read: self.lines_read,
                    id,
                    subject,
                }))
            }
            Err(e) => {
                let line = e.position().map(csv::Position::line);
                match (line, e.kind()) {
                    (
                        Some(line),
                        csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. },
                    ) => Ok(Some(Row {
                        line,
                        lines_read: line,
                        id: None,
                        subject: Err(e.to_string()),
                    })),
                    _ => Err(csv_fatal(e)),
                }
            }
        }
    }
}

fn csv_fatal(e: csv::Error) -> StoreError {
    if e.is_io_error() {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => StoreError::Read(io),
            other => StoreError::CsvHeader(format!("{other:?}")),
        }
    } else {
        StoreError::CsvHeader(e.to_string())
    }
}

/// Turns one CSV record into an id and a subject record.
fn csv_row(
    columns: &[&'static str],
    record: &csv::ByteRecord,
) -> (Option<String>, Result<Value, String>) {
    if record.len() != columns.len() {
        return (
            None,
            Err(format!(
                "the row has {} fields but the header names {} columns",
                record.len(),
                columns.len()
            )),
        );
    }
    let mut cells: Vec<(&'static str, String)> = Vec::with_capacity(columns.len());
    for (name, raw) in columns.iter().zip(record.iter()) {
        match std::str::from_utf8(raw) {
            Ok(s) => cells.push((name, s.trim().to_owned())),
            Err(e) => return (None, Err(format!("column `{name}`: not UTF-8 text: {e}"))),
        }
    }
    let cell = |name: &str| {
        cells
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(id) = cell("id") else {
        return (
            None,
            Err("column `id` is empty; every row needs an account id".to_owned()),
        );
    };
    let id = id.to_owned();
    let subject = csv_subject(&cell);
    (Some(id), subject)
}

fn csv_subject<'a>(cell: &dyn Fn(&str) -> Option<&'a str>) -> Result<Value, String> {
    let mut m = Map::new();
    for name in [
        "kind",
        "verification",
        "source",
        "verified_at",
        "expires",
        "residence_country",
        "residence_region",
    ] {
        if let Some(v) = cell(name) {
            m.insert(name.to_owned(), Value::String(v.to_owned()));
        }
    }
    for name in ["citizenships", "permanent_residencies"] {
        if let Some(v) = cell(name) {
            m.insert(name.to_owned(), code_list(name, v)?);
        }
    }
    for name in ["protected_individual", "us_person"] {
        if let Some(v) = cell(name) {
            let b = match v.to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(format!(
                        "column `{name}`: expected `true` or `false` (or an empty cell for unknown), found `{v}`"
                    ));
                }
            };
            m.insert(name.to_owned(), Value::Bool(b));
        }
    }
    match (cell("organization"), cell("organization_country")) {
        (Some(name), country) => {
            let mut o = Map::new();
            o.insert("name".to_owned(), Value::String(name.to_owned()));
            if let Some(c) = country {
                o.insert("country".to_owned(), Value::String(c.to_owned()));
            }
            m.insert("organization".to_owned(), Value::Object(o));
        }
        (None, Some(_)) => {
            return Err(
                "column `organization_country` is set but `organization` (the name) is empty"
                    .to_owned(),
            );
        }
        (None, None) => {}
    }
    Ok(Value::Object(m))
}

/// `DE;FR` → `["DE", "FR"]`; `-` → `[]` (a recorded empty list).
fn code_list(name: &str, v: &str) -> Result<Value, String> {
    if v == "-" {
        return Ok(Value::Array(Vec::new()));
    }
    let mut out = Vec::new();
    for (i, part) in v.split(';').enumerate() {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!(
                "column `{name}`: entry {} of `{v}` is empty; separate codes with `;` and write `-` for a recorded empty list",
                i + 1
            ));
        }
        out.push(Value::String(part.to_owned()));
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests;
