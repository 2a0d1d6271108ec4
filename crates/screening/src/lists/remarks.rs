//! Facts the lists write only inside free-text remarks.
//!
//! OFAC's remarks are `;`-separated clauses such as `DOB 12 Mar 1961`,
//! `alt. DOB circa 1960`, `POB Pyongyang, Korea, North`, `nationality Iran`,
//! `citizen Russia`, `Nationality of Registration Russia` and
//! `a.k.a. 'LOCKBITSUPP'`. Quoted aliases there are OFAC's "weak" aliases,
//! which never appear in the alias file.

use cordon_jurisdiction::CountryCode;

use super::country::country_in_place;

/// The widest `DOB 1960 to 1990` range expanded year by year; wider ranges
/// keep only their two ends, since every year in between would match nearly
/// any adult.
const MAX_RANGE_YEARS: u16 = 20;

/// Years outside this span are typos (the DPL has a `3017`), not birth years.
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<u16> = 1800..=2100;

/// Alias markers whose quoted name is a weak alias.
const ALIAS_MARKERS: [&str; 3] = ["a.k.a. ", "f.k.a. ", "n.k.a. "];

/// Clause prefixes naming a country the entry is tied to.
const COUNTRY_CLAUSES: [&str; 4] = [
    "nationality ",
    "citizen ",
    "POB ",
    "Nationality of Registration ",
];

/// What a remarks text says beyond its prose.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RemarkFacts {
    /// Quoted `a.k.a.` (and `f.k.a.`, `n.k.a.`) names, in order of appearance.
    pub weak_aliases: Vec<String>,
    /// Birth years, unsorted, possibly repeated.
    pub birth_years: Vec<u16>,
    /// Countries of nationality, citizenship, birth and registration.
    pub countries: Vec<CountryCode>,
}

/// Reads the facts out of a remarks text.
pub(crate) fn extract(remarks: &str) -> RemarkFacts {
    let mut facts = RemarkFacts::default();
    for clause in remarks.split(';') {
        let clause = clause.trim();
        quoted_aliases(clause, &mut facts.weak_aliases);
        let body = clause.strip_suffix('.').unwrap_or(clause).trim_end();
        let body = body.strip_prefix("alt. ").unwrap_or(body);
        if let Some(value) = body.strip_prefix("DOB ") {
            birth_years(value, &mut facts.birth_years);
            continue;
        }
        if let Some(value) = COUNTRY_CLAUSES.iter().find_map(|p| body.strip_prefix(p))
            && let Some(code) = country_in_place(value)
        {
            facts.countries.push(code);
        }
    }
    facts
}

/// Pushes each quoted name that follows an alias marker in a clause.
///
/// A name runs from its opening quote to the last matching quote before the
/// next marker, so names with apostrophes (`'ABD AL-'AZIZ'`) stay whole; a
/// name whose closing quote is missing (remarks cut off) is skipped.
fn quoted_aliases(clause: &str, out: &mut Vec<String>) {
    let mut starts: Vec<(usize, usize)> = ALIAS_MARKERS
        .iter()
        .flat_map(|m| clause.match_indices(m).map(|(i, m)| (i, i + m.len())))
        .collect();
    if starts.is_empty() {
        return;
    }
    starts.sort_unstable();
    for (k, &(_, after)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(clause.len(), |&(next, _)| next);
        let Some(segment) = clause.get(after..end) else {
            continue;
        };
        let segment = segment.trim().trim_end_matches([',', '.', ' ']);
        let Some(quote) = segment.chars().next().filter(|c| matches!(c, '\'' | '"')) else {
            continue;
        };
        let Some(inner) = segment
            .get(1..)
            .and_then(|s| s.strip_suffix(quote))
            .map(str::trim)
        else {
            continue;
        };
        if !inner.is_empty() {
            out.push(inner.to_owned());
        }
    }
}

/// Pushes the years of one `DOB` value: `12 Mar 1961`, `Mar 1961`, `1961`,
/// `circa 1960`, `1960 to 1962`, `12 Jan 1960 to 31 Dec 1962`, `circa
/// 1960-1962`, and the CSL's ISO dates `1961-03-12`.
pub(crate) fn birth_years(value: &str, out: &mut Vec<u16>) {
    let years = four_digit_runs(value);
    let ranged = match years.as_slice() {
        [(_, a_end, _), (b_start, _, _)] => {
            value.contains(" to ") || value.get(*a_end..*b_start).is_some_and(|s| s.trim() == "-")
        }
        _ => false,
    };
    if let (true, [(_, _, lo), (_, _, hi)]) = (ranged, years.as_slice())
        && hi >= lo
        && hi - lo <= MAX_RANGE_YEARS
    {
        out.extend(*lo..=*hi);
        return;
    }
    out.extend(years.iter().map(|&(_, _, y)| y));
}

/// Every run of exactly four ASCII digits that reads as a plausible year, with
/// its byte range.
fn four_digit_runs(value: &str) -> Vec<(usize, usize, u16)> {
    let bytes = value.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i - start == 4
            && let Some(year) = value.get(start..i).and_then(|s| s.parse::<u16>().ok())
            && PLAUSIBLE_YEARS.contains(&year)
        {
            runs.push((start, i, year));
        }
    }
    runs
}
