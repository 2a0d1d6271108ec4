//! The BIS Denied Persons List text file (`dpl.txt`).
//!
//! Tab-separated, every field quoted, a header row naming `Name`,
//! `Street_Address`, `City`, `State`, `Country`, `Postal_Code`,
//! `Effective_Date`, …; no ids and no entry type.

use cordon_subject::RestrictedList;

use super::country::code_or_name;
use super::rows::{Header, Row, Rows};
use super::{ListError, ListFile, Read, Tally, derived_uid, no_rows};
use crate::{Address, EntryKind, EntryName, ListEntry, NameKind};

/// Words (upper case, dots removed, sorted) that mark a name as an organisation's.
pub(crate) const ORGANISATION_WORDS: &[&str] = &[
    "AB",
    "AG",
    "AIR",
    "AIRLINE",
    "AIRLINES",
    "AIRWAYS",
    "ANSTALT",
    "AS",
    "ASSOCIATES",
    "AVIATION",
    "BANK",
    "BV",
    "CENTER",
    "CENTRE",
    "CHEMICAL",
    "CHEMICALS",
    "CO",
    "COMMERCIAL",
    "COMPANIES",
    "COMPANY",
    "COMPONENTS",
    "COMPUTER",
    "COMPUTERS",
    "CORP",
    "CORPORATION",
    "ELECTRONIC",
    "ELECTRONICS",
    "ENGINEERING",
    "ENTERPRISE",
    "ENTERPRISES",
    "EQUIPMENT",
    "ESTABLISHMENT",
    "EXPORT",
    "EXPORTS",
    "FOUNDATION",
    "FZC",
    "FZCO",
    "FZE",
    "GMBH",
    "GROUP",
    "HOLDING",
    "HOLDINGS",
    "IMPORT",
    "IMPORTS",
    "INC",
    "INCORPORATED",
    "INDUSTRIAL",
    "INDUSTRIES",
    "INDUSTRY",
    "INSTITUTE",
    "INSTRUMENTS",
    "INTERNACIONAL",
    "INTERNATIONAL",
    "INTL",
    "INVEST",
    "JSC",
    "KG",
    "LABORATORIES",
    "LABORATORY",
    "LIMITED",
    "LLC",
    "LLP",
    "LOGISTICS",
    "LTD",
    "MANUFACTURING",
    "MARINE",
    "METALS",
    "MOTORS",
    "NV",
    "OAO",
    "OOO",
    "OY",
    "PARTNERS",
    "PARTS",
    "PHARMACEUTICALS",
    "PJSC",
    "PLC",
    "PRODUCTS",
    "PTE",
    "PTY",
    "PVT",
    "SA",
    "SARL",
    "SAS",
    "SERVICE",
    "SERVICES",
    "SHIPPING",
    "SL",
    "SOLUTIONS",
    "SPA",
    "SRL",
    "SUPPLIES",
    "SUPPLY",
    "SYSTEMS",
    "TECH",
    "TECHNIK",
    "TECHNOLOGIES",
    "TECHNOLOGY",
    "TRADE",
    "TRADERS",
    "TRADING",
    "UNIVERSITY",
    "VERTRIEBS",
    "ZAO",
];

/// Whether a name reads as an organisation's rather than a person's: it
/// carries a company-form or organisation word, or looks like a domain name.
pub(crate) fn looks_like_organisation(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if [".COM", ".NET", ".ORG"].iter().any(|d| upper.contains(d)) {
        return true;
    }
    upper
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | '/' | '"' | '&'))
        .map(|w| w.replace('.', ""))
        .any(|w| ORGANISATION_WORDS.binary_search(&w.as_str()).is_ok())
}

/// A trimmed field by optional column, `""` when the column is absent.
fn field(row: &Row, column: Option<usize>) -> &str {
    column.map_or("", |c| row.get(c).trim())
}

/// Reads a DPL text file.
///
/// # Errors
/// [`ListError::MissingColumn`] when the header has no `Name` column and
/// [`ListError::BadHeader`] when it cannot be decoded.
pub(crate) fn read(file: ListFile<'_>, source: usize) -> Result<(Read, Tally), ListError> {
    let mut read = Read::default();
    let mut tally = Tally::default();
    let mut rows = Rows::new(file.name, file.bytes, b'\t');
    let Some(header) = Header::read(&mut rows)? else {
        read.problems.push(no_rows(file.name, 1));
        return Ok((read, tally));
    };
    let name_col = header.require(file.name, "Name")?;
    let col = |name: &str| header.find(name);
    let street = col("Street_Address");
    let city = col("City");
    let state = col("State");
    let country = col("Country");
    let postal = col("Postal_Code");
    let effective = col("Effective_Date");

    while let Some(next) = rows.next() {
        tally.rows += 1;
        let row = match next.and_then(|row| rows.check_width(&row, header.width()).map(|()| row)) {
            Ok(row) => row,
            Err(p) => {
                tally.rejected += 1;
                read.problems.push(p);
                continue;
            }
        };
        let get = |c: Option<usize>| field(&row, c);
        let name = get(Some(name_col));
        if name.is_empty() {
            tally.rejected += 1;
            read.problems
                .push(rows.problem(row.line, Some("Name"), "empty name".to_owned()));
            continue;
        }
        let (street, city, state, country, postal) = (
            get(street),
            get(city),
            get(state),
            get(country),
            get(postal),
        );
        let uid = derived_uid(
            "DPL",
            &[name, street, city, state, country, postal, get(effective)],
        );
        let text: Vec<&str> = [street, city, state, postal]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
        let addresses = if text.is_empty() && country.is_empty() {
            Vec::new()
        } else {
            vec![Address {
                text: text.join(", "),
                country: (!country.is_empty()).then(|| country.to_owned()),
            }]
        };
        let kind = if looks_like_organisation(name) {
            EntryKind::Entity
        } else {
            EntryKind::Individual
        };
        let entry = ListEntry {
            list: RestrictedList::Dpl,
            uid,
            kind,
            names: vec![EntryName {
                text: name.to_owned(),
                kind: NameKind::Primary,
            }],
            programs: Vec::new(),
            addresses,
            countries: code_or_name(country).into_iter().collect(),
            birth_years: Vec::new(),
            remarks: None,
        };
        read.entries.push((entry, source));
    }
    if tally.rows == 0 {
        read.problems.push(no_rows(file.name, 2));
    }
    Ok((read, tally))
}
