//! The trade.gov Consolidated Screening List CSV, current and legacy layouts.
//!
//! Columns are found by header name, so the 29-column layout (`_id` first)
//! and the older 28-column one read alike. Lists inside a field (`alt_names`,
//! `addresses`, `programs`, `citizenships`, …) are `;`-separated.

use cordon_subject::RestrictedList;

use super::country::{code_or_name, country_in_place};
use super::dpl::looks_like_organisation;
use super::ofac::{apply_remarks, tidy};
use super::remarks::birth_years;
use super::rows::{Header, Row, Rows};
use super::{ListError, ListFile, Read, RowProblem, Tally, derived_uid, no_rows};
use crate::{Address, EntryKind, EntryName, ListEntry, NameKind};

/// Where the optional columns are.
struct Columns {
    id: Option<usize>,
    source: usize,
    entity_number: Option<usize>,
    kind: Option<usize>,
    programs: Option<usize>,
    name: usize,
    addresses: Option<usize>,
    start_date: Option<usize>,
    vessel_flag: Option<usize>,
    remarks: Option<usize>,
    alt_names: Option<usize>,
    citizenships: Option<usize>,
    dates_of_birth: Option<usize>,
    nationalities: Option<usize>,
    places_of_birth: Option<usize>,
    width: usize,
}

impl Columns {
    fn new(file: &str, header: &Header) -> Result<Columns, ListError> {
        let find = |n: &str| header.find(n);
        Ok(Columns {
            id: find("_id"),
            source: header.require(file, "source")?,
            entity_number: find("entity_number"),
            kind: find("type"),
            programs: find("programs"),
            name: header.require(file, "name")?,
            addresses: find("addresses"),
            start_date: find("start_date"),
            vessel_flag: find("vessel_flag"),
            remarks: find("remarks"),
            alt_names: find("alt_names"),
            citizenships: find("citizenships"),
            dates_of_birth: find("dates_of_birth"),
            nationalities: find("nationalities"),
            places_of_birth: find("places_of_birth"),
            width: header.width(),
        })
    }
}

/// A trimmed field by optional column, `""` when the column is absent.
fn field(row: &Row, column: Option<usize>) -> &str {
    column.map_or("", |c| row.get(c).trim())
}

/// The non-empty `;`-separated items of a field, trimmed, with the Entity
/// List's joining `and ` (`…; and CETC Research Institute 13`) removed.
fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(';')
        .map(|s| {
            let s = s.trim();
            s.strip_prefix("and ").unwrap_or(s).trim()
        })
        .filter(|s| !s.is_empty())
}

/// Reads a CSL file.
///
/// # Errors
/// [`ListError::MissingColumn`] when the header lacks `source` or `name`,
/// [`ListError::BadHeader`] when it cannot be decoded.
pub(crate) fn read(file: ListFile<'_>, source: usize) -> Result<(Read, Tally), ListError> {
    let mut read = Read::default();
    let mut tally = Tally::default();
    let mut rows = Rows::new(file.name, file.bytes, b',');
    let Some(header) = Header::read(&mut rows)? else {
        read.problems.push(no_rows(file.name, 1));
        return Ok((read, tally));
    };
    let cols = Columns::new(file.name, &header)?;
    while let Some(next) = rows.next() {
        tally.rows += 1;
        match next.and_then(|row| entry(&rows, &cols, &row)) {
            Ok(entry) => read.entries.push((entry, source)),
            Err(p) => {
                tally.rejected += 1;
                read.problems.push(p);
            }
        }
    }
    if tally.rows == 0 {
        read.problems.push(no_rows(file.name, 2));
    }
    Ok((read, tally))
}

/// Reads one row.
fn entry(rows: &Rows<'_>, cols: &Columns, row: &Row) -> Result<ListEntry, RowProblem> {
    rows.check_width(row, cols.width)?;
    let source = field(row, Some(cols.source));
    let list = list_from_source(source).ok_or_else(|| {
        rows.problem(
            row.line,
            Some("source"),
            format!(
                "unknown source `{source}` (expected a CSL source such as \
                 `Entity List (EL) - Bureau of Industry and Security` or a code such as `EL`)"
            ),
        )
    })?;
    let mut name = field(row, Some(cols.name));
    // The State Department appends the reach of a sanction to the name.
    if let Some(cut) = name.find("; and any successor") {
        name = name.get(..cut).unwrap_or(name).trim();
    }
    if name.is_empty() {
        return Err(rows.problem(row.line, Some("name"), "empty name".to_owned()));
    }
    let kind_text = field(row, cols.kind);
    let kind = match kind_text.to_ascii_lowercase().as_str() {
        "individual" => EntryKind::Individual,
        "entity" => EntryKind::Entity,
        "vessel" => EntryKind::Vessel,
        "aircraft" => EntryKind::Aircraft,
        "" if matches!(list, RestrictedList::Dpl | RestrictedList::Dtc)
            && !looks_like_organisation(name) =>
        {
            EntryKind::Individual
        }
        "" => EntryKind::Entity,
        _ => {
            return Err(rows.problem(
                row.line,
                Some("type"),
                format!(
                    "unknown type `{kind_text}` (expected Individual, Entity, Vessel, Aircraft or empty)"
                ),
            ));
        }
    };
    let addresses_text = field(row, cols.addresses);
    let uid = [field(row, cols.id), field(row, cols.entity_number)]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or_else(
            || {
                derived_uid(
                    "CSL",
                    &[
                        list.code(),
                        name,
                        addresses_text,
                        field(row, cols.start_date),
                    ],
                )
            },
            str::to_owned,
        );

    let mut names = vec![EntryName {
        text: name.to_owned(),
        kind: NameKind::Primary,
    }];
    for alias in items(field(row, cols.alt_names)) {
        if !names.iter().any(|n| n.text.eq_ignore_ascii_case(alias)) {
            names.push(EntryName {
                text: alias.to_owned(),
                kind: NameKind::Aka,
            });
        }
    }
    let addresses: Vec<Address> = items(addresses_text).map(address).collect();
    let mut countries: Vec<_> = addresses
        .iter()
        .filter_map(|a| a.country.as_deref())
        .chain(items(field(row, cols.citizenships)))
        .chain(items(field(row, cols.nationalities)))
        .chain(Some(field(row, cols.vessel_flag)).filter(|s| !s.is_empty()))
        .filter_map(code_or_name)
        .collect();
    countries.extend(items(field(row, cols.places_of_birth)).filter_map(country_in_place));
    let mut years = Vec::new();
    for dob in items(field(row, cols.dates_of_birth)) {
        birth_years(dob, &mut years);
    }
    let remarks = field(row, cols.remarks);
    let mut entry = ListEntry {
        list,
        uid,
        kind,
        names,
        programs: items(field(row, cols.programs))
            .map(str::to_owned)
            .collect(),
        addresses,
        countries,
        birth_years: years,
        remarks: (!remarks.is_empty()).then(|| remarks.to_owned()),
    };
    apply_remarks(&mut entry);
    tidy(&mut entry);
    Ok(entry)
}

/// Splits a CSL address (`80 SW 8th Street, Miami, FL, 33130, US`) into its
/// text and the trailing ISO country code the CSL appends.
fn address(text: &str) -> Address {
    let (head, last) = match text.rsplit_once(',') {
        Some((head, last)) => (head.trim(), last.trim()),
        None => ("", text.trim()),
    };
    if last.len() == 2 && last.bytes().all(|b| b.is_ascii_uppercase()) {
        Address {
            text: head.to_owned(),
            country: Some(last.to_owned()),
        }
    } else {
        Address {
            text: text.to_owned(),
            country: None,
        }
    }
}

/// The list a CSL `source` names.
///
/// Accepts a bare code (`EL`), the published source names with their
/// parenthesised code (`Entity List (EL) - Bureau of Industry and Security`,
/// `Non-SDN Menu-Based Sanctions List (NS-MBS List) - Treasury Department`,
/// `Capta List (CAP) - Treasury Department`), and the list's name alone.
pub(crate) fn list_from_source(source: &str) -> Option<RestrictedList> {
    let source = source.trim();
    if let Some(list) = RestrictedList::parse(source) {
        return Some(list);
    }
    if let Some(list) = parenthesised_codes(source).find_map(RestrictedList::parse) {
        return Some(list);
    }
    let lower = source.to_ascii_lowercase();
    const NAMES: [(&str, RestrictedList); 13] = [
        ("specially designated nationals", RestrictedList::Sdn),
        ("entity list", RestrictedList::El),
        ("denied persons", RestrictedList::Dpl),
        ("unverified list", RestrictedList::Uvl),
        ("military end user", RestrictedList::Meu),
        ("nonproliferation sanctions", RestrictedList::Isn),
        ("itar debarred", RestrictedList::Dtc),
        ("payable-through account", RestrictedList::Cap),
        ("chinese military-industrial complex", RestrictedList::Cmic),
        ("sectoral sanctions identifications", RestrictedList::Ssi),
        ("foreign sanctions evaders", RestrictedList::Fse),
        ("palestinian legislative council", RestrictedList::Plc),
        ("menu-based sanctions", RestrictedList::Mbs),
    ];
    NAMES
        .iter()
        .find(|(n, _)| lower.contains(n))
        .map(|&(_, list)| list)
}

/// The codes in a source name's parentheses, `NS-` prefix and ` List` suffix
/// removed and `CAPTA` read as `CAP`.
fn parenthesised_codes(source: &str) -> impl Iterator<Item = &str> {
    source.split('(').skip(1).filter_map(|part| {
        let code = part.split_once(')')?.0.trim();
        let code = code.strip_prefix("NS-").unwrap_or(code);
        let code = code.strip_suffix(" List").unwrap_or(code).trim();
        Some(if code.eq_ignore_ascii_case("CAPTA") {
            "CAP"
        } else {
            code
        })
    })
}
