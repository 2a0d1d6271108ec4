//! A world map of affected accounts by citizenship, as inline SVG.
//!
//! The land is a grid of 1.5° cells, each given to the country with the most
//! city population in it (GeoNames cities over 5,000 people; see
//! `data/world-map/SOURCE.md`). Cells are drawn in an equirectangular projection
//! and shaded by their country's affected accounts. Countries too small to win a
//! cell are listed under the map rather than silently left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{esc, fig};
use crate::report::Group;

/// `lat,lon,country`: the south-west corner of each occupied cell, in degrees.
const CELLS: &str = include_str!("../../../../data/world-map/cells.csv");
/// `code,name`: country names for cells of countries the report does not name.
const COUNTRIES: &str = include_str!("../../../../data/world-map/countries.csv");
/// Cell size in degrees; one SVG user unit per cell.
const STEP: f64 = 1.5;
/// Columns in a full turn of longitude.
const COLUMNS: i64 = 240;
/// Fill colours of the classes of affected accounts, lightest first.
const SHADES: [&str; 5] = ["#fde0c5", "#f7b07c", "#ee7d4b", "#d4482a", "#9c1d16"];

/// One grid cell: column and row of its top-left corner, and its country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cell {
    /// Column from 180° W.
    pub x: i64,
    /// Row from 90° N.
    pub y: i64,
    /// ISO 3166-1 alpha-2 code, upper case.
    pub country: [u8; 2],
}

/// The embedded grid. Lines that do not parse are skipped (a unit test checks
/// that there are none), so a damaged file degrades the map, never the report.
pub(super) fn cells() -> Vec<Cell> {
    CELLS.lines().skip(1).filter_map(parse_cell).collect()
}

/// One `lat,lon,country` line.
fn parse_cell(line: &str) -> Option<Cell> {
    let mut parts = line.trim().split(',');
    let lat: f64 = parts.next()?.parse().ok()?;
    let lon: f64 = parts.next()?.parse().ok()?;
    let country = match parts.next()?.as_bytes() {
        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => [*a, *b],
        _ => return None,
    };
    if parts.next().is_some() || !(-90.0..90.0).contains(&lat) || !(-180.0..180.0).contains(&lon) {
        return None;
    }
    Some(Cell {
        x: ((lon + 180.0) / STEP).round() as i64,
        y: ((90.0 - lat) / STEP).round() as i64 - 1,
        country,
    })
}

/// Country names from the embedded list, by code.
fn country_names() -> BTreeMap<&'static str, &'static str> {
    COUNTRIES
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(','))
        .collect()
}

/// Lower bounds of the shading classes for a largest count of `max`: one class
/// per value up to five, otherwise five classes at round numbers on a
/// logarithmic scale (few countries hold most accounts).
fn classes(max: u64) -> Vec<u64> {
    if max <= SHADES.len() as u64 {
        return (1..=max).collect();
    }
    let mut bounds = vec![1];
    for k in 1..SHADES.len() {
        // The epsilon keeps exact powers of ten (1000 for 100 000) from rounding below.
        let v = (max as f64).powf(k as f64 / SHADES.len() as f64) * (1.0 + 1e-9);
        let b = round_down(v).max(1);
        if bounds.last().is_some_and(|last| b > *last) {
            bounds.push(b);
        }
    }
    bounds
}

/// The largest 1, 2 or 5 × 10ⁿ not above `v`.
fn round_down(v: f64) -> u64 {
    let mut unit = 1u64;
    while (unit as f64) * 10.0 <= v {
        unit = unit.saturating_mul(10);
    }
    [5, 2, 1]
        .into_iter()
        .map(|m| unit.saturating_mul(m))
        .find(|c| (*c as f64) <= v)
        .unwrap_or(1)
}

/// The class of a count: 0 for none, else 1-based into `bounds`.
fn class_of(n: u64, bounds: &[u64]) -> usize {
    bounds.iter().take_while(|b| n >= **b).count()
}

/// The map, its legend and the list of countries it cannot show, as HTML.
pub(super) fn render(groups: &[Group]) -> String {
    let cells = cells();
    let names = country_names();
    let affected: BTreeMap<&str, &Group> = groups
        .iter()
        .filter(|g| g.affected_accounts > 0 && g.key.len() == 2)
        .map(|g| (g.key.as_str(), g))
        .collect();
    let largest = affected.values().max_by_key(|g| g.affected_accounts);
    let bounds = classes(largest.map_or(0, |g| g.affected_accounts));

    let mut by_country: BTreeMap<[u8; 2], Vec<Cell>> = BTreeMap::new();
    for c in &cells {
        by_country.entry(c.country).or_default().push(*c);
    }
    let top = cells.iter().map(|c| c.y).min().unwrap_or(0);
    let bottom = cells.iter().map(|c| c.y).max().unwrap_or(0) + 1;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<figure class=\"map-figure\">\n<svg class=\"map\" viewBox=\"0 {} {COLUMNS} {}\" role=\"img\" \
         aria-label=\"World map of affected accounts by country of citizenship\">",
        top - 1,
        bottom - top + 2
    );
    let mut drawn = BTreeSet::new();
    for (code, cs) in &by_country {
        let code = std::str::from_utf8(code).unwrap_or("??");
        let group = affected.get(code);
        let n = group.map_or(0, |g| g.affected_accounts);
        let name = group
            .map(|g| g.name.as_str())
            .filter(|n| !n.is_empty())
            .or_else(|| names.get(code).copied())
            .unwrap_or(code);
        let what = match n {
            0 => "no affected accounts".to_owned(),
            1 => "1 affected account".to_owned(),
            n => format!("{n} affected accounts"),
        };
        let _ = write!(
            out,
            "<g class=\"c{}\" data-country=\"{}\"><title>{} ({}): {what}</title>",
            class_of(n, &bounds),
            esc(code),
            esc(name),
            esc(code)
        );
        for c in cs {
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"1\" height=\"1\"/>",
                c.x, c.y
            );
        }
        out.push_str("</g>\n");
        drawn.insert(code);
    }
    out.push_str("</svg>\n");
    out.push_str(&legend(&bounds, largest));
    out.push_str("</figure>\n");

    let missing: Vec<&&Group> = affected
        .iter()
        .filter(|(code, _)| !drawn.contains(*code))
        .map(|(_, g)| g)
        .collect();
    if !missing.is_empty() {
        out.push_str(
            "<p class=\"small\">Too small for the map's 1.5° grid, with affected accounts: ",
        );
        for (i, g) in missing.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(
                out,
                "{} ({}) {}",
                esc(&g.name),
                esc(&g.key),
                fig(
                    &format!("by_citizenship[{}].affected_accounts", g.key),
                    g.affected_accounts
                )
            );
        }
        out.push_str(".</p>\n");
    }
    out
}

/// The colour legend: one swatch per class with its range of counts, and grey.
fn legend(bounds: &[u64], largest: Option<&&Group>) -> String {
    let mut out = String::from("<figcaption><ul class=\"legend map-legend\">");
    out.push_str("<li><span class=\"swatch c0\"></span>no affected accounts</li>");
    for (i, lo) in bounds.iter().enumerate() {
        let shade = SHADES.get(i).copied().unwrap_or("#000");
        let range = match (bounds.get(i + 1), largest) {
            (Some(next), _) if *next == lo + 1 => lo.to_string(),
            (Some(next), _) => format!("{lo}–{}", next - 1),
            (None, Some(g)) if g.affected_accounts > *lo => format!(
                "{lo}–{}",
                fig(
                    &format!("by_citizenship[{}].affected_accounts", g.key),
                    g.affected_accounts
                )
            ),
            (None, _) => lo.to_string(),
        };
        let _ = write!(
            out,
            "<li><span class=\"swatch\" style=\"background:{shade}\"></span>{range}</li>"
        );
    }
    out.push_str("</ul><span class=\"small\">Affected accounts by country of citizenship; a dual national counts in each country.</span></figcaption>\n");
    out
}

/// The CSS rules giving each class its shade.
pub(super) fn class_styles() -> String {
    let mut out = String::from(".map .c0,.swatch.c0{fill:#dde2e8;background:#dde2e8}\n");
    for (i, shade) in SHADES.iter().enumerate() {
        let _ = writeln!(out, ".map .c{}{{fill:{shade}}}", i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_cell_parses_and_lies_on_the_grid() {
        let lines = CELLS.lines().skip(1).count();
        let cells = cells();
        assert_eq!(cells.len(), lines, "some lines of cells.csv do not parse");
        assert!(cells.len() > 4000);
        for c in &cells {
            assert!((0..COLUMNS).contains(&c.x), "{c:?}");
            assert!((0..120).contains(&c.y), "{c:?}");
        }
        let names = country_names();
        for c in &cells {
            let code = std::str::from_utf8(&c.country).unwrap();
            assert!(names.contains_key(code), "no name for {code}");
        }
        // Sanity of the projection: Berlin's cell belongs to Germany.
        let berlin = parse_cell("52.5,12,DE").unwrap();
        assert!(cells.contains(&berlin));
        assert_eq!((berlin.x, berlin.y), (128, 24));
    }

    #[test]
    fn classes_are_increasing_and_start_at_one() {
        assert_eq!(classes(0), Vec::<u64>::new());
        assert_eq!(classes(3), vec![1, 2, 3]);
        assert_eq!(classes(100_000), vec![1, 10, 100, 1000, 10_000]);
        for max in [6, 7, 40, 999, 123_456, u64::MAX / 2] {
            let b = classes(max);
            assert_eq!(b.first(), Some(&1));
            assert!(b.windows(2).all(|w| w[0] < w[1]), "{max}: {b:?}");
            assert!(b.len() <= SHADES.len());
            assert!(b.iter().all(|x| *x <= max));
        }
        let b = classes(100_000);
        assert_eq!(class_of(0, &b), 0);
        assert_eq!(class_of(1, &b), 1);
        assert_eq!(class_of(99, &b), 2);
        assert_eq!(class_of(100_000, &b), 5);
    }
}
