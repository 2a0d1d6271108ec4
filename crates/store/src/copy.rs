//! Copying a SQLite identity store into PostgreSQL, for a single node
//! becoming a fleet: every table the PostgreSQL store has that holds what
//! the store knows (accounts with their records, API keys, evidence and the
//! deliveries and revocations it came with, licences, end users, provider
//! objects), in batches, resumable, and verified by counts and hashes.
//!
//! Each batch is one PostgreSQL transaction that inserts rows not already
//! there (`ON CONFLICT DO NOTHING`), so a copy cut short is run again and
//! carries on; tables are copied in an order that satisfies their foreign
//! keys (accounts first). Evidence keeps its ids, and the id sequence is
//! moved past them, so evidence recorded later never takes one. Verification
//! then reads both stores table by table in key order (bytewise, as SQLite
//! orders text) and compares a SHA-256 over every row, with JSON compared
//! as values: the PostgreSQL store keeps it as `jsonb`, which does not keep
//! the text's key order or spacing. A row that differs (changed in
//! PostgreSQL since an earlier copy) makes the verification fail, naming
//! the table; nothing is overwritten.
//!
//! Not copied: what belongs to a node rather than to the store's content
//! (the fleet's node reports, journal cursors, shipped audit logs and
//! policy bundles), the change journal (in SQLite, a queue of changes the
//! node has yet to write to its own audit log, which that node still
//! does), and restricted-party screening (list snapshots, hits,
//! dispositions), which the PostgreSQL store does not have yet; each
//! account's `screening` attribute, which decisions read, is copied with
//! its subject. [`CopyReport::left_behind`] counts those rows in the source.

use ::postgres::types::ToSql;
use sha2::{Digest, Sha256};

use crate::{PostgresStore, SqliteStore, StoreError};

/// Rows per PostgreSQL transaction.
pub const COPY_BATCH: usize = 1000;

/// What a copy did and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Every table copied, in the order copied.
    pub tables: Vec<TableCopy>,
    /// Source tables with rows this copy does not carry (see the module
    /// documentation), and how many rows each holds.
    pub left_behind: Vec<(&'static str, u64)>,
}

impl CopyReport {
    /// The copy of `table`, if it is one of the tables copied.
    pub fn table(&self, table: &str) -> Option<&TableCopy> {
        self.tables.iter().find(|t| t.table == table)
    }
}

/// One table's copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableCopy {
    /// The table.
    pub table: &'static str,
    /// Rows in the source.
    pub rows: u64,
    /// Rows inserted by this run (the rest were there already).
    pub inserted: u64,
    /// The hash both stores' rows agree on, hex.
    pub sha256: String,
}

/// How a column is stored and compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text, never null.
    Text,
    /// Text or null.
    OptText,
    /// A flag: an integer 0/1 in SQLite, `BOOLEAN` in PostgreSQL.
    Bool,
    /// An integer, never null.
    Int,
    /// An integer or null.
    OptInt,
    /// Bytes, never null.
    Bytes,
    /// JSON, never null: text in SQLite, `JSONB` in PostgreSQL.
    Json,
    /// JSON or null.
    OptJson,
}

/// A table to copy: its columns, and its primary key (a prefix of them).
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
    key: usize,
    /// Whether its first column is an identity whose values are kept.
    identity: bool,
}

use Kind::{Bool, Bytes, Int, Json, OptInt, OptJson, OptText, Text};

/// Every table copied, parents before the tables whose foreign keys name them.
const TABLES: &[Table] = &[
    Table {
        name: "accounts",
        columns: &[
            ("id", Text),
            ("subject", Json),
            ("disabled", Bool),
            ("created_at", Text),
            ("updated_at", Text),
            ("record", OptJson),
            ("rederive_at", OptInt),
        ],
        key: 1,
        identity: false,
    },
    Table {
        name: "api_keys",
        columns: &[
            ("prefix", Text),
            ("account", Text),
            ("secret_hash", Bytes),
            ("label", OptText),
            ("created_at", Text),
            ("revoked_at", OptText),
        ],
        key: 1,
        identity: false,
    },
    Table {
        name: "evidence",
        columns: &[
            ("id", Int),
            ("account", Text),
            ("attribute", Text),
            ("value", Json),
            ("level", Text),
            ("source_kind", Text),
            ("source", Text),
            ("object_id", OptText),
            ("trust_framework", OptText),
            ("method", OptText),
            ("document_country", OptText),
            ("verified_at", OptText),
            ("expires_at", OptText),
            ("received_at", Text),
            ("delivery_id", OptText),
            ("payload_sha256", Text),
            ("withdrawn_at", OptText),
        ],
        key: 1,
        identity: true,
    },
    Table {
        name: "deliveries",
        columns: &[
            ("source", Text),
            ("delivery_id", Text),
            ("received_at", Text),
            ("outcome", Text),
            ("account", Text),
            ("payload_sha256", Text),
            ("event_time", OptText),
        ],
        key: 2,
        identity: false,
    },
    Table {
        name: "revocations",
        columns: &[
            ("account", Text),
            ("source", Text),
            ("object_id", Text),
            ("through", Text),
        ],
        key: 3,
        identity: false,
    },
    Table {
        name: "licences",
        columns: &[
            ("number", Text),
            ("authority", Text),
            ("directives", Json),
            ("holder", Text),
            ("individuals", Json),
            ("excluded_nationalities", Json),
            ("models", Json),
            ("conditions", OptText),
            ("issued", Text),
            ("expires", Text),
            ("source_kind", Text),
            ("status", Text),
            ("recorded_at", Text),
            ("actor", Text),
            ("approved_at", OptText),
            ("approved_by", OptText),
            ("revoked_at", OptText),
            ("revoked_by", OptText),
        ],
        key: 1,
        identity: false,
    },
    Table {
        name: "end_users",
        columns: &[
            ("organization", Text),
            ("end_user_sha256", Text),
            ("account", Text),
            ("registered_at", Text),
        ],
        key: 2,
        identity: false,
    },
    Table {
        name: "provider_objects",
        columns: &[
            ("kind", Text),
            ("id", Text),
            ("account", Text),
            ("model", OptText),
            ("details", Json),
            ("created_at", Text),
        ],
        key: 2,
        identity: false,
    },
];

/// Source tables this copy does not carry, counted for the report.
const LEFT_BEHIND: &[&str] = &[
    "admin_changes",
    "screening_snapshots",
    "screening_hits",
    "screening_dispositions",
];

/// One value as both stores hold it; JSON as its canonical text.
#[derive(Debug, PartialEq)]
enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    Bytes(Vec<u8>),
}

type Row = Vec<Cell>;

/// JSON text in one form whatever its spacing and key order (serde_json's
/// maps are sorted by key).
fn canonical_json(table: &str, column: &str, text: &str) -> Result<String, StoreError> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|v| v.to_string())
        .map_err(|e| StoreError::Corrupt(format!("{table}.{column} is not JSON: {e}")))
}

fn select(t: &Table, postgres: bool) -> String {
    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|(c, k)| match k {
            Json | OptJson if postgres => format!("{c}::text"),
            _ => (*c).to_owned(),
        })
        .collect();
    let order: Vec<String> = t
        .columns
        .iter()
        .take(t.key)
        .map(|(c, k)| match k {
            // Bytewise, as SQLite orders text, whatever the database's collation.
            Text if postgres => format!("{c} COLLATE \"C\""),
            _ => (*c).to_owned(),
        })
        .collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        t.name,
        order.join(", ")
    )
}

fn sqlite_rows(s: &SqliteStore, t: &Table) -> Result<Vec<Row>, StoreError> {
    let conn = s.lock();
    let mut stmt = conn.prepare(&select(t, false))?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(t.columns.len());
        for (i, (column, kind)) in t.columns.iter().enumerate() {
            row.push(match kind {
                Text => Cell::Text(Some(r.get(i)?)),
                OptText => Cell::Text(r.get(i)?),
                Bool => Cell::Bool(r.get::<_, i64>(i)? != 0),
                Int => Cell::Int(Some(r.get(i)?)),
                OptInt => Cell::Int(r.get(i)?),
                Bytes => Cell::Bytes(r.get(i)?),
                Json | OptJson => {
                    let text: Option<String> = r.get(i)?;
                    if text.is_none() && *kind == Json {
                        return Err(StoreError::Corrupt(format!("{}.{column} is null", t.name)));
                    }
                    Cell::Text(
                        text.map(|v| canonical_json(t.name, column, &v))
                            .transpose()?,
                    )
                }
            });
        }
        out.push(row);
    }
    Ok(out)
}

fn postgres_rows(p: &PostgresStore, t: &Table) -> Result<Vec<Row>, StoreError> {
    let rows = p.client()?.query(&select(t, true), &[])?;
    rows.iter()
        .map(|r| {
            t.columns
                .iter()
                .enumerate()
                .map(|(i, (column, kind))| {
                    Ok(match kind {
                        Text => Cell::Text(Some(r.try_get(i)?)),
                        OptText => Cell::Text(r.try_get(i)?),
                        Bool => Cell::Bool(r.try_get(i)?),
                        Int => Cell::Int(Some(r.try_get(i)?)),
                        OptInt => Cell::Int(r.try_get(i)?),
                        Bytes => Cell::Bytes(r.try_get(i)?),
                        Json | OptJson => Cell::Text(
                            r.try_get::<_, Option<String>>(i)?
                                .map(|v| canonical_json(t.name, column, &v))
                                .transpose()?,
                        ),
                    })
                })
                .collect()
        })
        .collect()
}

/// A field into the running hash, length-prefixed so no two rows collide
/// by where one field ends and the next begins; a null is a field of its
/// own kind, never equal to any value.
fn field(h: &mut Sha256, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => {
            h.update([1u8]);
            h.update(u64::try_from(b.len()).unwrap_or(u64::MAX).to_be_bytes());
            h.update(b);
        }
        None => h.update([0u8]),
    }
}

fn hash(rows: &[Row]) -> String {
    let mut h = Sha256::new();
    for row in rows {
        for cell in row {
            match cell {
                Cell::Text(t) => field(&mut h, t.as_deref().map(str::as_bytes)),
                Cell::Int(i) => field(&mut h, i.map(i64::to_be_bytes).as_ref().map(|b| &b[..])),
                Cell::Bool(b) => field(&mut h, Some(&[u8::from(*b)])),
                Cell::Bytes(b) => field(&mut h, Some(b)),
            }
        }
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The insert of one batch: arrays unnested server-side, one statement
/// (one round trip) per batch.
fn insert(t: &Table) -> String {
    let names: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    let arrays: Vec<String> = t
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, k))| {
            let ty = match k {
                Text | OptText | Json | OptJson => "text",
                Bool => "bool",
                Int | OptInt => "int8",
                Bytes => "bytea",
            };
            format!("${}::{ty}[]", i + 1)
        })
        .collect();
    let values: Vec<String> = t
        .columns
        .iter()
        .map(|(c, k)| match k {
            Json | OptJson => format!("{c}::jsonb"),
            _ => (*c).to_owned(),
        })
        .collect();
    format!(
        "INSERT INTO {table} ({names}) {overriding}SELECT {values} FROM UNNEST({arrays}) AS t ({names}) ON CONFLICT ({key}) DO NOTHING",
        table = t.name,
        names = names.join(", "),
        overriding = if t.identity {
            "OVERRIDING SYSTEM VALUE "
        } else {
            ""
        },
        values = values.join(", "),
        arrays = arrays.join(", "),
        key = names.get(..t.key).unwrap_or_default().join(", "),
    )
}

/// The batch's columns as arrays, one parameter each.
fn columns(t: &Table, batch: &[Row]) -> Vec<Box<dyn ToSql + Sync>> {
    (0..t.columns.len())
        .map(|i| {
            let cells = batch.iter().filter_map(|r| r.get(i));
            let column: Box<dyn ToSql + Sync> = match t.columns.get(i).map(|(_, k)| *k) {
                Some(Bool) => Box::new(
                    cells
                        .map(|c| matches!(c, Cell::Bool(true)))
                        .collect::<Vec<bool>>(),
                ),
                Some(Int | OptInt) => Box::new(
                    cells
                        .map(|c| match c {
                            Cell::Int(i) => *i,
                            _ => None,
                        })
                        .collect::<Vec<Option<i64>>>(),
                ),
                Some(Bytes) => Box::new(
                    cells
                        .map(|c| match c {
                            Cell::Bytes(b) => Some(b.clone()),
                            _ => None,
                        })
                        .collect::<Vec<Option<Vec<u8>>>>(),
                ),
                _ => Box::new(
                    cells
                        .map(|c| match c {
                            Cell::Text(t) => t.clone(),
                            _ => None,
                        })
                        .collect::<Vec<Option<String>>>(),
                ),
            };
            column
        })
        .collect()
}

/// Rows in a source table, or 0 for one this SQLite store does not have.
fn count(s: &SqliteStore, table: &str) -> Result<u64, StoreError> {
    let conn = s.lock();
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [table],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(0);
    }
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Copies every table of `from` that `to` has (see the module
/// documentation) into `to`, calling `progress(done, total)` after each
/// batch, then verifies that both stores hold the same rows.
///
/// # Errors
/// Storage failures; [`StoreError::Corrupt`] for a source row that does
/// not read; [`StoreError::CopyMismatch`] when the stores differ after the
/// copy (naming the table and both hashes).
pub fn sqlite_to_postgres(
    from: &SqliteStore,
    to: &PostgresStore,
    mut progress: impl FnMut(u64, u64),
) -> Result<CopyReport, StoreError> {
    let sources: Vec<Vec<Row>> = TABLES
        .iter()
        .map(|t| sqlite_rows(from, t))
        .collect::<Result<_, _>>()?;
    let total = len(sources.iter().map(Vec::len).sum());
    let mut done = 0u64;
    let mut report = CopyReport::default();
    for (t, rows) in TABLES.iter().zip(&sources) {
        let sql = insert(t);
        let mut inserted = 0u64;
        for batch in rows.chunks(COPY_BATCH) {
            let params = columns(t, batch);
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p).collect();
            inserted += to.write(|tx| Ok(tx.execute(&sql, &refs)?))?;
            done += len(batch.len());
            progress(done, total);
        }
        report.tables.push(TableCopy {
            table: t.name,
            rows: len(rows.len()),
            inserted,
            sha256: String::new(),
        });
    }
    let details: serde_json::Map<String, serde_json::Value> = report
        .tables
        .iter()
        .map(|t| (t.table.to_owned(), t.inserted.into()))
        .collect();
    to.write(|tx| {
        // Evidence recorded from now on takes ids after the copied ones.
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('evidence', 'id'), m)
             FROM (SELECT max(id) AS m FROM evidence) AS t WHERE m IS NOT NULL",
            &[],
        )?;
        // Nodes drop what they cached: the store changed under them.
        crate::postgres::bump_after_copy(tx, serde_json::Value::Object(details))
    })?;
    for ((t, rows), copy) in TABLES.iter().zip(&sources).zip(&mut report.tables) {
        let (source, copied) = (hash(rows), hash(&postgres_rows(to, t)?));
        if source != copied {
            return Err(StoreError::CopyMismatch {
                table: t.name,
                source_sha256: source,
                copied_sha256: copied,
            });
        }
        copy.sha256 = source;
    }
    for table in LEFT_BEHIND {
        let n = count(from, table)?;
        if n > 0 {
            report.left_behind.push((table, n));
        }
    }
    Ok(report)
}
