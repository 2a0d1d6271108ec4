//! The OFAC CSV family: primary records joined with aliases, addresses and
//! remarks overflow on `ent_num`.

use std::collections::HashMap;

use cordon_subject::RestrictedList;

use super::country::country_code;
use super::remarks;
use super::rows::{Row, Rows, non_null};
use super::{ListFile, Read, RowProblem, Tally, no_rows};
use crate::{Address, EntryKind, EntryName, ListEntry, NameKind};

/// Column names of the primary file, as OFAC documents them.
const PRIMARY_COLUMNS: [&str; 12] = [
    "ent_num",
    "SDN_Name",
    "SDN_Type",
    "Program",
    "Title",
    "Call_Sign",
    "Vess_type",
    "Tonnage",
    "GRT",
    "Vess_flag",
    "Vess_owner",
    "Remarks",
];
/// Column names of the alternate-names file.
const ALT_COLUMNS: [&str; 5] = ["ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks"];
/// Column names of the address file.
const ADD_COLUMNS: [&str; 6] = [
    "ent_num",
    "add_num",
    "Address",
    "City_State_Postal",
    "Country",
    "Add_remarks",
];
/// Column names of the remarks-overflow file.
const COMMENT_COLUMNS: [&str; 2] = ["ent_num", "Remarks"];

/// Which OFAC publication a set of files belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    /// The SDN list: every entry is on [`RestrictedList::Sdn`].
    Sdn,
    /// The consolidated non-SDN lists: the list follows from the programs.
    Consolidated,
}

impl Family {
    /// How messages name the family.
    pub fn label(self) -> &'static str {
        match self {
            Family::Sdn => "OFAC SDN",
            Family::Consolidated => "OFAC consolidated (non-SDN)",
        }
    }
}

/// One file of a family, with its index in the caller's file list.
pub(crate) type Part<'a> = Option<(usize, ListFile<'a>)>;

/// The files of one family; any may be missing.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FamilyFiles<'a> {
    /// Primary records.
    pub primary: Part<'a>,
    /// Alternate names.
    pub alternate: Part<'a>,
    /// Addresses.
    pub address: Part<'a>,
    /// Remarks overflow.
    pub comments: Part<'a>,
}

/// An entry being assembled from the family's files.
struct Builder {
    entry: ListEntry,
    /// Remarks as read, untrimmed: the overflow continues them mid-word.
    remarks: Option<String>,
    vessel_flag: Option<String>,
}

/// Reads one family and joins its files.
///
/// Alias, address and comment rows whose `ent_num` has no primary row are
/// problems; so is a second primary row for an `ent_num`.
pub(crate) fn read(family: Family, files: &FamilyFiles<'_>) -> (Read, Vec<(usize, Tally)>) {
    let mut read = Read::default();
    let mut tallies = Vec::new();
    let mut builders: Vec<Builder> = Vec::new();
    let mut index: HashMap<u64, (usize, u64)> = HashMap::new();

    if let Some((i, file)) = files.primary {
        let tally = each_row(file, &PRIMARY_COLUMNS, &mut read.problems, |rows, row| {
            let (ent_num, builder) = primary(rows, &row)?;
            if let Some(&(_, first)) = index.get(&ent_num) {
                return Err(rows.problem(
                    row.line,
                    Some("ent_num"),
                    format!("duplicate ent_num {ent_num}; the row on line {first} is kept"),
                ));
            }
            index.insert(ent_num, (builders.len(), row.line));
            builders.push(builder);
            Ok(())
        });
        tallies.push((i, tally));
    }

    let lookup = |rows: &Rows<'_>, row: &Row| -> Result<usize, RowProblem> {
        let ent_num = ent_num(rows, row)?;
        index.get(&ent_num).map(|&(b, _)| b).ok_or_else(|| {
            rows.problem(
                row.line,
                Some("ent_num"),
                format!("no primary record for ent_num {ent_num}"),
            )
        })
    };

    if let Some((i, file)) = files.alternate {
        let tally = each_row(file, &ALT_COLUMNS, &mut read.problems, |rows, row| {
            rows.check_width(&row, ALT_COLUMNS.len())?;
            let b = lookup(rows, &row)?;
            let kind = match non_null(row.get(2)).map(str::to_ascii_lowercase).as_deref() {
                Some("aka" | "a.k.a.") => NameKind::Aka,
                Some("fka" | "f.k.a.") => NameKind::Fka,
                Some("nka" | "n.k.a.") => NameKind::Nka,
                other => {
                    return Err(rows.problem(
                        row.line,
                        Some("alt_type"),
                        format!(
                            "unknown alias type `{}` (expected aka, fka or nka)",
                            other.unwrap_or("")
                        ),
                    ));
                }
            };
            let text = non_null(row.get(3)).ok_or_else(|| {
                rows.problem(row.line, Some("alt_name"), "empty alias".to_owned())
            })?;
            if let Some(builder) = builders.get_mut(b) {
                builder.entry.names.push(EntryName {
                    text: text.to_owned(),
                    kind,
                });
            }
            Ok(())
        });
        tallies.push((i, tally));
    }

    if let Some((i, file)) = files.address {
        let tally = each_row(file, &ADD_COLUMNS, &mut read.problems, |rows, row| {
            rows.check_width(&row, ADD_COLUMNS.len())?;
            let b = lookup(rows, &row)?;
            let text: Vec<&str> = [row.get(2), row.get(3)]
                .into_iter()
                .filter_map(non_null)
                .collect();
            let country = non_null(row.get(4)).map(str::to_owned);
            // OFAC writes an all-null address row for entries without one.
            if text.is_empty() && country.is_none() {
                return Ok(());
            }
            if let Some(builder) = builders.get_mut(b) {
                builder.entry.addresses.push(Address {
                    text: text.join(", "),
                    country,
                });
            }
            Ok(())
        });
        tallies.push((i, tally));
    }

    if let Some((i, file)) = files.comments {
        let tally = each_row(file, &COMMENT_COLUMNS, &mut read.problems, |rows, row| {
            rows.check_width(&row, COMMENT_COLUMNS.len())?;
            let b = lookup(rows, &row)?;
            let more = row.get(1);
            if non_null(more).is_none() {
                return Ok(());
            }
            if let Some(builder) = builders.get_mut(b) {
                builder
                    .remarks
                    .get_or_insert_with(String::new)
                    .push_str(more);
            }
            Ok(())
        });
        tallies.push((i, tally));
    }

    let source = files.primary.map_or(0, |(i, _)| i);
    for builder in builders {
        let entry = finish(builder);
        match family {
            Family::Sdn => read.entries.push((entry, source)),
            Family::Consolidated => {
                let lists = consolidated_lists(&entry.programs, entry.remarks.as_deref());
                for list in lists {
                    let mut e = entry.clone();
                    e.list = list;
                    read.entries.push((e, source));
                }
            }
        }
    }
    (read, tallies)
}

/// Runs `f` over every row of a headerless OFAC file, collecting problems.
fn each_row(
    file: ListFile<'_>,
    columns: &[&str],
    problems: &mut Vec<RowProblem>,
    mut f: impl FnMut(&Rows<'_>, Row) -> Result<(), RowProblem>,
) -> Tally {
    let mut rows = Rows::new(file.name, file.bytes, b',');
    rows.set_columns(columns.iter().map(|c| (*c).to_owned()).collect());
    let mut tally = Tally::default();
    while let Some(next) = rows.next() {
        tally.rows += 1;
        if let Err(p) = next.and_then(|row| f(&rows, row)) {
            tally.rejected += 1;
            problems.push(p);
        }
    }
    if tally.rows == 0 {
        problems.push(no_rows(file.name, 1));
    }
    tally
}

/// The `ent_num` of a row.
fn ent_num(rows: &Rows<'_>, row: &Row) -> Result<u64, RowProblem> {
    let text = row.get(0).trim();
    text.parse().map_err(|_| {
        rows.problem(
            row.line,
            Some("ent_num"),
            format!("`{text}` is not an ent_num (expected a whole number)"),
        )
    })
}

/// Reads a primary row.
fn primary(rows: &Rows<'_>, row: &Row) -> Result<(u64, Builder), RowProblem> {
    rows.check_width(row, PRIMARY_COLUMNS.len())?;
    let ent_num = ent_num(rows, row)?;
    let name = non_null(row.get(1))
        .ok_or_else(|| rows.problem(row.line, Some("SDN_Name"), "empty name".to_owned()))?;
    let kind = match non_null(row.get(2)).map(str::to_ascii_lowercase).as_deref() {
        None => EntryKind::Entity,
        Some("individual") => EntryKind::Individual,
        Some("vessel") => EntryKind::Vessel,
        Some("aircraft") => EntryKind::Aircraft,
        Some(other) => {
            return Err(rows.problem(
                row.line,
                Some("SDN_Type"),
                format!(
                    "unknown SDN_Type `{other}` (expected individual, vessel, aircraft or -0- for an entity)"
                ),
            ));
        }
    };
    let entry = ListEntry {
        list: RestrictedList::Sdn,
        uid: ent_num.to_string(),
        kind,
        names: vec![EntryName {
            text: name.to_owned(),
            kind: NameKind::Primary,
        }],
        programs: split_programs(row.get(3)),
        addresses: Vec::new(),
        countries: Vec::new(),
        birth_years: Vec::new(),
        remarks: None,
    };
    let remarks = row.get(11);
    Ok((
        ent_num,
        Builder {
            entry,
            remarks: non_null(remarks).map(|_| remarks.to_owned()),
            vessel_flag: non_null(row.get(9)).map(str::to_owned),
        },
    ))
}

/// Splits OFAC's packed programs, `SDGT] [IRGC] [IFSR`.
pub(crate) fn split_programs(field: &str) -> Vec<String> {
    let Some(field) = non_null(field) else {
        return Vec::new();
    };
    field
        .split("] [")
        .map(|p| {
            p.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim()
        })
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Completes an entry: remarks facts, countries, sorting.
fn finish(builder: Builder) -> ListEntry {
    let Builder {
        mut entry,
        remarks,
        vessel_flag,
    } = builder;
    entry.remarks = remarks
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let countries: Vec<_> = entry
        .addresses
        .iter()
        .filter_map(|a| a.country.as_deref())
        .chain(vessel_flag.as_deref())
        .filter_map(country_code)
        .collect();
    entry.countries.extend(countries);
    apply_remarks(&mut entry);
    tidy(&mut entry);
    entry
}

/// Adds what the remarks say (weak aliases, birth years, countries) to an entry.
pub(crate) fn apply_remarks(entry: &mut ListEntry) {
    let Some(text) = entry.remarks.as_deref() else {
        return;
    };
    let facts = remarks::extract(text);
    for alias in facts.weak_aliases {
        if !entry
            .names
            .iter()
            .any(|n| n.text.eq_ignore_ascii_case(&alias))
        {
            entry.names.push(EntryName {
                text: alias,
                kind: NameKind::Weak,
            });
        }
    }
    entry.birth_years.extend(facts.birth_years);
    entry.countries.extend(facts.countries);
}

/// Sorts and deduplicates an entry's countries and birth years.
pub(crate) fn tidy(entry: &mut ListEntry) {
    entry.countries.sort_unstable();
    entry.countries.dedup();
    entry.birth_years.sort_unstable();
    entry.birth_years.dedup();
}

/// The non-SDN lists an entry of the consolidated files is on; see the
/// module documentation of [`crate::lists`] for the table.
pub(crate) fn consolidated_lists(
    programs: &[String],
    remarks: Option<&str>,
) -> Vec<RestrictedList> {
    let remarks = remarks.unwrap_or("");
    let mut lists = Vec::new();
    for program in programs {
        match program.trim().to_ascii_uppercase().as_str() {
            "UKRAINE-EO13662" => lists.push(RestrictedList::Ssi),
            "NS-PLC" => lists.push(RestrictedList::Plc),
            "CMIC-EO13959" | "NS-CMIC-EO13959" => lists.push(RestrictedList::Cmic),
            "561-RELATED" | "IFSR" => lists.push(RestrictedList::Cap),
            "CAATSA - RUSSIA" | "BURMA-EO14014" | "ILLICIT-DRUGS-EO14059" => {
                lists.push(RestrictedList::Mbs);
            }
            "RUSSIA-EO14024" => {
                let directives = eo14024_directives(remarks);
                if directives.contains(&"2") {
                    lists.push(RestrictedList::Cap);
                }
                if directives.iter().any(|d| *d != "2") {
                    lists.push(RestrictedList::Mbs);
                }
            }
            _ => {}
        }
    }
    if remarks
        .to_ascii_lowercase()
        .contains("payable-through account")
    {
        lists.push(RestrictedList::Cap);
    }
    if lists.is_empty() {
        lists.push(RestrictedList::Mbs);
    }
    lists.sort_unstable();
    lists.dedup();
    lists
}

/// The EO 14024 directives the remarks name: `Listing Date (EO 14024
/// Directive 2)` and `Executive Order 14024 Directive Information Subject to
/// Directive 1a` give `2` and `1a`.
fn eo14024_directives(remarks: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, m) in remarks.match_indices("14024 Directive ") {
        let Some(mut rest) = remarks.get(i + m.len()..) else {
            continue;
        };
        if let Some(info) = rest.strip_prefix("Information") {
            let info = info.trim_start_matches([' ', '-', ':']);
            match info.strip_prefix("Subject to Directive ") {
                Some(r) => rest = r,
                None => continue,
            }
        }
        let len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if let Some(token) = rest.get(..len).filter(|t| !t.is_empty()) {
            out.push(token);
        }
    }
    out
}
