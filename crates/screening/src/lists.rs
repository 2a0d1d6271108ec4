//! Readers for the published list formats.
//!
//! Four publications are read, each into [`ListEntry`] values:
//!
//! - **OFAC SDN** — `sdn.csv` (primary records), `alt.csv` (aliases), `add.csv`
//!   (addresses) and `sdn_comments.csv` (remarks overflow), joined on `ent_num`.
//! - **OFAC consolidated non-SDN** — `cons_prim.csv`, `cons_alt.csv`,
//!   `cons_add.csv`, `cons_comments.csv`: the same layouts. The files do not say
//!   which non-SDN list an entry is on, so the list is derived from its programs
//!   (see below). A file belongs to this family when its name starts with `cons_`.
//! - **trade.gov Consolidated Screening List** — `consolidated.csv` (29 columns,
//!   `_id` first) and the older `csl.csv` (28 columns, no `_id`). Columns are
//!   found by their header names, so either layout reads the same way.
//! - **BIS Denied Persons List** — `dpl.txt`, tab-separated with a header row.
//!
//! Every reader works on bytes, reports each bad row as a [`RowProblem`] and
//! keeps the rest; only a file whose layout cannot be told at all is a
//! [`ListError`].
//!
//! # OFAC gotchas handled
//! No header row; CRLF line ends; a trailing `0x1A` (DOS end-of-file) byte,
//! which is stripped; the null marker `-0- `; programs packed as
//! `SDGT] [IRGC`; remarks cut at a fixed length and continued, mid-word, in the
//! comments file (so the continuation is appended without a separator).
//!
//! # Consolidated (non-SDN) programs → lists
//! The program values found in `cons_prim.csv` and the list each maps to:
//!
//! | program | list |
//! |---|---|
//! | `UKRAINE-EO13662` | SSI (Sectoral Sanctions Identifications) |
//! | `NS-PLC` | PLC (Palestinian Legislative Council) |
//! | `CMIC-EO13959` | CMIC (Chinese Military-Industrial Complex) |
//! | `561-Related`, `IFSR` | CAP (correspondent / payable-through account sanctions) |
//! | `CAATSA - RUSSIA`, `BURMA-EO14014`, `ILLICIT-DRUGS-EO14059` | MBS (menu-based) |
//! | `RUSSIA-EO14024` | MBS when the remarks name an EO 14024 directive other than 2; CAP when they name Directive 2 (the correspondent-account directive); otherwise none on its own |
//! | `SDGT`, `VENEZUELA-EO13850`, `IRAN-CON-ARMS-EO`, … | none on their own |
//!
//! Remarks stating that U.S. institutions may not keep a "payable-through
//! account" also put the entry on CAP. An entry mapped to several lists
//! becomes one entry per list (the key is `(list, uid)`); an entry whose
//! programs map to no list is kept as MBS, the catch-all non-SDN list, rather
//! than dropped.
//!
//! # Entry kinds where the list does not say
//! The DPL text file has no type column, and the CSL leaves `type` empty for
//! the BIS and State Department lists. For the DPL and ITAR-debarred (DTC)
//! lists, which name people and firms alike, an entry is an
//! [entity](crate::EntryKind::Entity) when its name carries a company-form or
//! organisation word (`INC`, `LTD`, `S.A.`, `AIRLINES`, `TRADING`, …) and an
//! [individual](crate::EntryKind::Individual) otherwise; for the other lists an untyped entry is
//! an entity. The word list errs towards "person": a person's name rarely has
//! such a word, while a firm without one is matched as a person, which only
//! widens name-order tolerance.
//!
//! # Ids for rows without one
//! DPL rows get `DPL-` and CSL rows without `_id` or `entity_number` get `CSL-`,
//! followed by the first 12 hex digits of a SHA-256 over the row's name,
//! address parts and effective (start) date. The same row always gets the same
//! id; a changed address or date makes a new entry, which is what a reviewer
//! should see.
//!
//! # Countries
//! Countries come from addresses, nationality, citizenship, place of birth,
//! nationality of registration and vessel flag. Names are mapped to ISO codes
//! through the ISO short names and an alias table of OFAC's spellings
//! (`data/country_aliases.tsv`); see [`country_code`]. Names that map to no
//! assigned code (`Kosovo`, `Serbia and Montenegro`, `undetermined`) are left
//! out of [`ListEntry::countries`] but kept in [`Address::country`].
//!
//! [`Address::country`]: crate::Address::country

use std::fmt;

use crate::ListEntry;

mod country;
pub(crate) mod csl;
pub(crate) mod dpl;
pub(crate) mod ofac;
mod remarks;
mod rows;
#[cfg(test)]
mod tests;

pub use country::country_code;

/// The layout of one list file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// OFAC primary records (`sdn.csv`, `cons_prim.csv`): 12 columns, no header.
    OfacPrimary,
    /// OFAC alternate names (`alt.csv`, `cons_alt.csv`): 5 columns.
    OfacAlternate,
    /// OFAC addresses (`add.csv`, `cons_add.csv`): 6 columns.
    OfacAddress,
    /// OFAC remarks overflow (`sdn_comments.csv`, `cons_comments.csv`): 2 columns.
    OfacComments,
    /// trade.gov Consolidated Screening List, current layout (29 columns, `_id` first).
    CslCurrent,
    /// trade.gov Consolidated Screening List, older layout (28 columns, no `_id`).
    CslLegacy,
    /// BIS Denied Persons List text file (`dpl.txt`), tab-separated.
    DeniedPersons,
}

impl ListFormat {
    /// Tells a file's layout; see [`detect`].
    ///
    /// # Errors
    /// As [`detect`].
    pub fn detect(file_name: &str, bytes: &[u8]) -> Result<ListFormat, ListError> {
        detect(file_name, bytes)
    }

    /// Whether the format belongs to the OFAC CSV family (joined on `ent_num`).
    pub fn is_ofac(self) -> bool {
        matches!(
            self,
            ListFormat::OfacPrimary
                | ListFormat::OfacAlternate
                | ListFormat::OfacAddress
                | ListFormat::OfacComments
        )
    }
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListFormat::OfacPrimary => "OFAC primary records",
            ListFormat::OfacAlternate => "OFAC alternate names",
            ListFormat::OfacAddress => "OFAC addresses",
            ListFormat::OfacComments => "OFAC remarks overflow",
            ListFormat::CslCurrent => "Consolidated Screening List",
            ListFormat::CslLegacy => "Consolidated Screening List (legacy layout)",
            ListFormat::DeniedPersons => "Denied Persons List",
        })
    }
}

/// One list file to read: its name and its bytes.
///
/// The name is what messages show (a path is fine); its last component also
/// decides the format and, for OFAC files, the family (`cons_…` or SDN).
#[derive(Debug, Clone, Copy)]
pub struct ListFile<'a> {
    /// The path or name shown in messages, e.g. `data/sanctions/sdn.csv`.
    pub name: &'a str,
    /// The file's content, exactly as published.
    pub bytes: &'a [u8],
}

/// A row that could not be read; the rest of the file is still read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowProblem {
    /// The file, as named in its [`ListFile`].
    pub file: String,
    /// The 1-based line the row starts on.
    pub line: u64,
    /// The column at fault, by the name the format documents (e.g. `SDN_Type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong, lowercase.
    pub message: String,
}

impl RowProblem {
    pub(crate) fn new(file: &str, line: u64, field: Option<&str>, message: String) -> Self {
        RowProblem {
            file: file.to_owned(),
            line,
            field: field.map(str::to_owned),
            message,
        }
    }
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "{}:{}: field `{field}`: {}",
                self.file, self.line, self.message
            ),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

/// Why a list file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// Neither the file name nor the content says which list format it is.
    #[error(
        "cannot tell the format of `{file}`: expected an OFAC CSV (sdn.csv, alt.csv, add.csv, \
         *comments.csv or their cons_ forms, 12/5/6/2 columns), a Consolidated Screening List \
         CSV with its header row, or the BIS dpl.txt with its header row"
    )]
    UnknownFormat {
        /// The file, as named.
        file: String,
    },
    /// The header row of a CSL or DPL file cannot be read.
    #[error("`{file}`: cannot read the header row: {message}")]
    BadHeader {
        /// The file, as named.
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file with a header row lacks a column the reader needs.
    #[error("`{file}`: the header row has no `{column}` column (found: {found})")]
    MissingColumn {
        /// The file, as named.
        file: String,
        /// The column looked for.
        column: String,
        /// The header row as read, comma-joined.
        found: String,
    },
}

/// Rows read and rejected from one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Data rows read (the header row not counted).
    pub rows: usize,
    /// Rows that gave a [`RowProblem`].
    pub rejected: usize,
}

/// What one reader produced.
#[derive(Debug, Default)]
pub(crate) struct Read {
    /// Entries, each with the index of the file it came from (into the
    /// reader's input), which decides precedence and duplicate counts.
    pub entries: Vec<(ListEntry, usize)>,
    /// Problems, in reading order.
    pub problems: Vec<RowProblem>,
}

/// The problem reported for a file without data rows.
///
/// An empty file is a problem, not an error: an OFAC comments file can
/// legitimately be empty, and the import as a whole fails only when no entry
/// at all results.
pub(crate) fn no_rows(file: &str, line: u64) -> RowProblem {
    RowProblem::new(file, line, None, format!("`{file}` has no rows"))
}

/// A stable id for a row without one: `prefix`, `-`, and the first 12 hex
/// digits of a SHA-256 over the parts (unit-separator joined).
pub(crate) fn derived_uid(prefix: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0x1F]);
        }
        hasher.update(part.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let short = digest.get(..6).unwrap_or_default();
    format!("{prefix}-{}", crate::entry::hex(short))
}

/// The last path component of a file name, lowercased.
pub(crate) fn base_name(name: &str) -> String {
    name.rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// Whether an OFAC file belongs to the consolidated (non-SDN) family.
///
/// OFAC names those files `cons_prim.csv`, `cons_alt.csv`, … .
pub(crate) fn is_consolidated_family(name: &str) -> bool {
    base_name(name).starts_with("cons_")
}

/// Tells a file's layout, by its name first and then by its content.
///
/// Names (case-insensitive, last path component): `sdn.csv` and
/// `cons_prim.csv` are primary records, `alt.csv`/`cons_alt.csv` aliases,
/// `add.csv`/`cons_add.csv` addresses, `*comments.csv` remarks overflow,
/// `consolidated.csv` and `csl.csv` the Consolidated Screening List (the
/// header row decides which layout), `dpl.txt` the Denied Persons List. Any
/// other name is sniffed: a header row starting with `_id` or `source` is the
/// CSL, a tab-separated header starting with `Name` the DPL, and otherwise the
/// column count of the first row tells the OFAC file (12, 5, 6 or 2).
///
/// # Errors
/// [`ListError::UnknownFormat`] when neither name nor content fits.
pub fn detect(file_name: &str, bytes: &[u8]) -> Result<ListFormat, ListError> {
    let base = base_name(file_name);
    let by_name = match base.as_str() {
        "sdn.csv" | "cons_prim.csv" => Some(ListFormat::OfacPrimary),
        "alt.csv" | "cons_alt.csv" => Some(ListFormat::OfacAlternate),
        "add.csv" | "cons_add.csv" => Some(ListFormat::OfacAddress),
        "dpl.txt" => Some(ListFormat::DeniedPersons),
        "consolidated.csv" | "csl.csv" => Some(csl_layout(bytes).unwrap_or(if base == "csl.csv" {
            ListFormat::CslLegacy
        } else {
            ListFormat::CslCurrent
        })),
        _ if base.ends_with("comments.csv") => Some(ListFormat::OfacComments),
        _ => None,
    };
    by_name
        .or_else(|| sniff(bytes))
        .ok_or_else(|| ListError::UnknownFormat {
            file: file_name.to_owned(),
        })
}

/// The CSL layout a header row announces, if it is a CSL header.
fn csl_layout(bytes: &[u8]) -> Option<ListFormat> {
    let first = rows::first_record(bytes, b',')?;
    let first_col = first.first()?.trim().to_ascii_lowercase();
    let has_name = first.iter().any(|c| c.trim().eq_ignore_ascii_case("name"));
    match first_col.as_str() {
        "_id" if has_name => Some(ListFormat::CslCurrent),
        "source" if has_name => Some(ListFormat::CslLegacy),
        _ => None,
    }
}

/// Tells the format from the content alone.
fn sniff(bytes: &[u8]) -> Option<ListFormat> {
    if let Some(format) = csl_layout(bytes) {
        return Some(format);
    }
    if let Some(first) = rows::first_record(bytes, b'\t')
        && first.len() > 1
        && first
            .first()
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("name"))
    {
        return Some(ListFormat::DeniedPersons);
    }
    let first = rows::first_record(bytes, b',')?;
    // OFAC rows start with a numeric ent_num; a header or prose does not.
    let ent_num = first.first()?.trim();
    if ent_num.is_empty() || !ent_num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match first.len() {
        12 => Some(ListFormat::OfacPrimary),
        5 => Some(ListFormat::OfacAlternate),
        6 => Some(ListFormat::OfacAddress),
        2 => Some(ListFormat::OfacComments),
        _ => None,
    }
}
