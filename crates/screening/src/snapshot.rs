//! A versioned import of list files.
//!
//! [`import`] reads a set of list files (any mix of the formats in
//! [`crate::lists`]) into one [`Snapshot`]: the entries keyed and sorted by
//! `(list, uid)`, what was read from each file, every row that could not be
//! read, and a content hash that names the snapshot's version.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use cordon_subject::RestrictedList;
use sha2::{Digest, Sha256};

use crate::ListEntry;
use crate::entry::hex;
use crate::lists::csl;
use crate::lists::dpl;
use crate::lists::ofac::{self, Family, FamilyFiles};
use crate::lists::{
    ListError, ListFile, ListFormat, Read, RowProblem, Tally, base_name, detect,
    is_consolidated_family,
};

/// Everything read from one import of list files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The entries, sorted by `(list, uid)` (list in [`RestrictedList`] order,
    /// uid as a string), one per key.
    pub entries: Vec<ListEntry>,
    /// The files read, OFAC first, then CSL (current layout before legacy),
    /// then DPL; by name within each.
    pub sources: Vec<SourceInfo>,
    /// Every row that could not be read, by file (in `sources` order) and line.
    pub problems: Vec<RowProblem>,
    /// SHA-256 (lowercase hex) over the entries: the concatenated
    /// [`ListEntry::version`] of every entry in order.
    ///
    /// It names what the snapshot says, not how it was delivered: the same
    /// bytes always give the same hash, and so do renamed or re-encoded files
    /// that yield the same entries. A changed alias, address or remark in any
    /// entry changes it.
    pub content_hash: String,
    /// The number of entries on each list that has any.
    pub counts: BTreeMap<RestrictedList, usize>,
}

impl Snapshot {
    /// The entry with this key, if the snapshot has it.
    pub fn entry(&self, list: RestrictedList, uid: &str) -> Option<&ListEntry> {
        self.entries
            .binary_search_by(|e| (e.list, e.uid.as_str()).cmp(&(list, uid)))
            .ok()
            .and_then(|i| self.entries.get(i))
    }
}

/// What was read from one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceInfo {
    /// The file, as named in its [`ListFile`].
    pub name: String,
    /// Its layout.
    pub format: ListFormat,
    /// SHA-256 (lowercase hex) of its bytes, as given.
    pub sha256: String,
    /// Data rows read (a header row not counted).
    pub rows: usize,
    /// Rows that could not be read; each has a [`RowProblem`].
    pub rejected: usize,
    /// Entries from this file dropped because the same `(list, uid)` came from
    /// a file of higher precedence (OFAC files over CSL, the current CSL
    /// layout over the legacy one, CSL over the DPL text file) or earlier in
    /// the same file.
    #[serde(default)]
    pub duplicates: usize,
}

/// Why an import produced no snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// No files were given.
    #[error(
        "no list files given: pass the OFAC CSVs (sdn.csv, alt.csv, add.csv, sdn_comments.csv \
         and their cons_ forms), a Consolidated Screening List CSV or dpl.txt"
    )]
    NoFiles,
    /// A file cannot be read at all.
    #[error(transparent)]
    List(#[from] ListError),
    /// Two files fill the same place in one OFAC publication, e.g. two SDN
    /// primary files of different dates.
    #[error(
        "`{second}` is a second {family} file of {format} (`{first}` is the first): import one \
         publication at a time"
    )]
    SecondFile {
        /// The publication, e.g. `OFAC SDN`.
        family: &'static str,
        /// The role both files have.
        format: ListFormat,
        /// The file seen first.
        first: String,
        /// The file seen second.
        second: String,
    },
    /// Every file was read but not a single entry resulted.
    #[error("the import of {files} produced no entries ({count} row problems){first}")]
    NoEntries {
        /// The files, backtick-quoted and comma-joined.
        files: String,
        /// How many row problems there were.
        count: usize,
        /// The first problem, as `; first: …`, or empty.
        first: String,
    },
}

/// The precedence of a format: lower wins a `(list, uid)` clash.
fn rank(format: ListFormat) -> u8 {
    match format {
        ListFormat::OfacPrimary
        | ListFormat::OfacAlternate
        | ListFormat::OfacAddress
        | ListFormat::OfacComments => 0,
        ListFormat::CslCurrent => 1,
        ListFormat::CslLegacy => 2,
        ListFormat::DeniedPersons => 3,
    }
}

/// Reads list files into a snapshot.
///
/// Each file's format comes from [`detect`]. OFAC files are joined within
/// their publication (SDN, or consolidated non-SDN for `cons_` files); a
/// publication may lack any of its files, and an alias, address or comment
/// row without a primary record is a row problem. When the same
/// `(list, uid)` comes from several files, the OFAC entry (the richest) is
/// kept and the others are counted in [`SourceInfo::duplicates`].
///
/// Bad rows never fail the import: each becomes a [`RowProblem`] and the rest
/// of its file is read. A file without data rows is a problem too ("`file` has
/// no rows"), since a remarks-overflow file can legitimately be empty.
///
/// # Errors
/// [`SnapshotError::NoFiles`] for an empty slice; [`SnapshotError::List`] when
/// a file's format cannot be told or a header lacks a needed column;
/// [`SnapshotError::SecondFile`] when two files fill the same place in one
/// OFAC publication; [`SnapshotError::NoEntries`] when no entry results.
pub fn import(files: &[ListFile<'_>]) -> Result<Snapshot, SnapshotError> {
    if files.is_empty() {
        return Err(SnapshotError::NoFiles);
    }
    let mut detected = Vec::with_capacity(files.len());
    for (i, file) in files.iter().enumerate() {
        detected.push((detect(file.name, file.bytes)?, i));
    }
    detected.sort_by(|(fa, ia), (fb, ib)| {
        let name = |i: &usize| files.get(*i).map(|f| base_name(f.name));
        (rank(*fa), name(ia), *ia).cmp(&(rank(*fb), name(ib), *ib))
    });
    let ordered: Vec<(ListFormat, ListFile<'_>)> = detected
        .iter()
        .filter_map(|&(format, i)| files.get(i).map(|f| (format, *f)))
        .collect();
    let mut sources: Vec<SourceInfo> = ordered
        .iter()
        .map(|(format, file)| SourceInfo {
            name: file.name.to_owned(),
            format: *format,
            sha256: hex(&Sha256::digest(file.bytes)),
            rows: 0,
            rejected: 0,
            duplicates: 0,
        })
        .collect();

    let mut reads: Vec<Read> = Vec::new();
    let mut tallies: Vec<(usize, Tally)> = Vec::new();
    let (sdn, cons) = ofac_families(&ordered)?;
    for (family, parts) in [(Family::Sdn, sdn), (Family::Consolidated, cons)] {
        if parts.primary.is_some()
            || parts.alternate.is_some()
            || parts.address.is_some()
            || parts.comments.is_some()
        {
            let (read, t) = ofac::read(family, &parts);
            reads.push(read);
            tallies.extend(t);
        }
    }
    for (i, (format, file)) in ordered.iter().enumerate() {
        let (read, tally) = match format {
            ListFormat::CslCurrent | ListFormat::CslLegacy => csl::read(*file, i)?,
            ListFormat::DeniedPersons => dpl::read(*file, i)?,
            _ => continue,
        };
        reads.push(read);
        tallies.push((i, tally));
    }
    for (i, tally) in tallies {
        if let Some(s) = sources.get_mut(i) {
            s.rows += tally.rows;
            s.rejected += tally.rejected;
        }
    }

    // Reads come in precedence order, so the first entry for a key wins.
    let mut merged: BTreeMap<(RestrictedList, String), ListEntry> = BTreeMap::new();
    let mut problems = Vec::new();
    for read in reads {
        problems.extend(read.problems);
        for (entry, source) in read.entries {
            match merged.entry((entry.list, entry.uid.clone())) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(entry);
                }
                std::collections::btree_map::Entry::Occupied(_) => {
                    if let Some(s) = sources.get_mut(source) {
                        s.duplicates += 1;
                    }
                }
            }
        }
    }
    let position: HashMap<&str, usize> = sources
        .iter()
        .enumerate()
        .rev()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    problems.sort_by_key(|p| (position.get(p.file.as_str()).copied(), p.line));

    let entries: Vec<ListEntry> = merged.into_values().collect();
    if entries.is_empty() {
        return Err(SnapshotError::NoEntries {
            files: sources
                .iter()
                .map(|s| format!("`{}`", s.name))
                .collect::<Vec<_>>()
                .join(", "),
            count: problems.len(),
            first: problems
                .first()
                .map(|p| format!("; first: {p}"))
                .unwrap_or_default(),
        });
    }
    let mut counts = BTreeMap::new();
    let mut hasher = Sha256::new();
    for e in &entries {
        *counts.entry(e.list).or_insert(0) += 1;
        hasher.update(e.version());
    }
    Ok(Snapshot {
        content_hash: hex(&hasher.finalize()),
        entries,
        sources,
        problems,
        counts,
    })
}

/// Sorts the OFAC files into the SDN and the consolidated publication.
fn ofac_families<'a>(
    ordered: &[(ListFormat, ListFile<'a>)],
) -> Result<(FamilyFiles<'a>, FamilyFiles<'a>), SnapshotError> {
    let mut sdn = FamilyFiles::default();
    let mut cons = FamilyFiles::default();
    for (i, &(format, file)) in ordered.iter().enumerate() {
        let (family, parts) = if is_consolidated_family(file.name) {
            (Family::Consolidated, &mut cons)
        } else {
            (Family::Sdn, &mut sdn)
        };
        let slot = match format {
            ListFormat::OfacPrimary => &mut parts.primary,
            ListFormat::OfacAlternate => &mut parts.alternate,
            ListFormat::OfacAddress => &mut parts.address,
            ListFormat::OfacComments => &mut parts.comments,
            _ => continue,
        };
        if let Some((_, first)) = slot {
            return Err(SnapshotError::SecondFile {
                family: family.label(),
                format,
                first: first.name.to_owned(),
                second: file.name.to_owned(),
            });
        }
        *slot = Some((i, file));
    }
    Ok((sdn, cons))
}

impl fmt::Display for SourceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {} rows, {} rejected, {} duplicates, sha256 {}",
            self.name, self.format, self.rows, self.rejected, self.duplicates, self.sha256
        )
    }
}
