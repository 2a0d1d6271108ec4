//! The country population table and weighted sampling from it.

use std::sync::OnceLock;

use cordon_jurisdiction::{CountryCode, Jurisdictions, TableError};

use crate::rng::Rng;

/// The shipped table: GeoNames country populations (see `data/population/SOURCE.md`).
const COUNTRIES_CSV: &str = include_str!("../../../data/population/countries.csv");

/// The name the shipped table goes by in error messages.
const EMBEDDED_NAME: &str = "data/population/countries.csv";

/// The header every population table starts with.
const HEADER: [&str; 4] = ["iso", "name", "population", "continent"];

/// GeoNames' continent codes.
const CONTINENTS: [&str; 7] = ["AF", "AN", "AS", "EU", "NA", "OC", "SA"];

/// One country of a [`Population`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code, assigned in the jurisdiction table.
    pub code: CountryCode,
    /// English short name, as the table gives it.
    pub name: String,
    /// Number of people; always above 0.
    pub population: u64,
    /// GeoNames continent code: `AF`, `AN`, `AS`, `EU`, `NA`, `OC` or `SA`.
    pub continent: String,
}

/// A problem with a population table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PopulationError {
    /// A row (or the header) is malformed.
    #[error("{file}:{line}: {message}")]
    Row {
        /// The table's name, e.g. `data/population/countries.csv`.
        file: String,
        /// The line, counting from 1.
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The table has a header but no countries.
    #[error("{file}: the table lists no countries; at least one row with a population is needed")]
    Empty {
        /// The table's name.
        file: String,
    },
    /// The jurisdiction table the codes are checked against did not load.
    #[error("the jurisdiction table did not load: {0}")]
    Jurisdictions(#[from] TableError),
}

/// Countries with their populations, ready for population-weighted draws.
///
/// Draws are exact: a country is picked with probability `population / total`
/// using integer arithmetic, so the same stream gives the same country on
/// every platform.
#[derive(Debug, Clone)]
pub struct Population {
    countries: Vec<Country>,
    /// `cumulative[i]` = the sum of populations of `countries[..=i]`.
    cumulative: Vec<u64>,
}

impl Population {
    /// The shipped table (`data/population/countries.csv`), parsed once.
    ///
    /// # Errors
    /// Fails only if the shipped table is malformed, which the crate's tests rule out.
    pub fn embedded() -> Result<&'static Population, PopulationError> {
        static TABLE: OnceLock<Result<Population, PopulationError>> = OnceLock::new();
        TABLE
            .get_or_init(|| {
                Population::parse(EMBEDDED_NAME, COUNTRIES_CSV, Jurisdictions::embedded()?)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses a CSV table with the header `iso,name,population,continent`.
    ///
    /// `file` names the table in errors. Codes must be assigned in `j`, appear
    /// once, and have a population above 0.
    ///
    /// # Errors
    /// [`PopulationError::Row`] naming the first bad line, or
    /// [`PopulationError::Empty`] when no country is listed.
    pub fn parse(file: &str, text: &str, j: &Jurisdictions) -> Result<Self, PopulationError> {
        let row_err = |line: u64, message: String| PopulationError::Row {
            file: file.to_owned(),
            line,
            message,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut out = Population {
            countries: Vec::new(),
            cumulative: Vec::new(),
        };
        let mut total: u64 = 0;
        let mut header_seen = false;
        loop {
            let more = reader.read_record(&mut record).map_err(|e| {
                let line = e.position().map_or(0, csv::Position::line);
                row_err(line, format!("not readable as CSV: {e}"))
            })?;
            if !more {
                break;
            }
            let line = record.position().map_or(0, csv::Position::line);
            let cells: Vec<&str> = record.iter().map(str::trim).collect();
            if !header_seen {
                if cells != HEADER {
                    return Err(row_err(
                        line,
                        format!(
                            "the header is `{}`; expected `{}`",
                            cells.join(","),
                            HEADER.join(",")
                        ),
                    ));
                }
                header_seen = true;
                continue;
            }
            let [iso, name, population, continent] = cells.as_slice() else {
                return Err(row_err(
                    line,
                    format!(
                        "expected 4 columns ({}), found {}",
                        HEADER.join(","),
                        cells.len()
                    ),
                ));
            };
            let code = CountryCode::parse(iso)
                .ok()
                .filter(|c| j.is_country(*c))
                .ok_or_else(|| {
                    row_err(
                        line,
                        format!("`{iso}` is not an assigned ISO 3166-1 alpha-2 country code"),
                    )
                })?;
            if out.countries.iter().any(|c| c.code == code) {
                return Err(row_err(line, format!("country `{code}` is listed twice")));
            }
            if name.is_empty() {
                return Err(row_err(line, format!("country `{code}` has an empty name")));
            }
            let population = population
                .parse::<u64>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    row_err(
                        line,
                        format!(
                            "population `{population}` of `{code}` is not a whole number above 0"
                        ),
                    )
                })?;
            if !CONTINENTS.contains(continent) {
                return Err(row_err(
                    line,
                    format!(
                        "continent `{continent}` of `{code}` is not one of {}",
                        CONTINENTS.join(", ")
                    ),
                ));
            }
            total = total.checked_add(population).ok_or_else(|| {
                row_err(line, "the populations add up to more than 2^64".to_owned())
            })?;
            out.countries.push(Country {
                code,
                name: (*name).to_owned(),
                population,
                continent: (*continent).to_owned(),
            });
            out.cumulative.push(total);
        }
        if !header_seen {
            return Err(row_err(
                1,
                format!(
                    "the table is empty; the first line must be `{}`",
                    HEADER.join(",")
                ),
            ));
        }
        if out.countries.is_empty() {
            return Err(PopulationError::Empty {
                file: file.to_owned(),
            });
        }
        Ok(out)
    }

    /// Every country, in table order.
    pub fn countries(&self) -> &[Country] {
        &self.countries
    }

    /// The country with this code, if the table lists it.
    pub fn get(&self, code: CountryCode) -> Option<&Country> {
        self.countries.iter().find(|c| c.code == code)
    }

    /// The sum of all populations.
    pub fn total(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// A country's share of the total, from 0 to 1 (0 when not listed).
    pub fn share(&self, code: CountryCode) -> f64 {
        match (self.get(code), self.total()) {
            (Some(c), total) if total > 0 => c.population as f64 / total as f64,
            _ => 0.0,
        }
    }

    /// The position of `code` in [`countries`](Self::countries).
    pub(crate) fn position(&self, code: CountryCode) -> Option<usize> {
        self.countries.iter().position(|c| c.code == code)
    }

    /// A country drawn with probability proportional to its population,
    /// never one at a position in `excluded`.
    ///
    /// Returns `None` only when every country is excluded. The draw is exact:
    /// a point in the non-excluded part of the cumulative scale is mapped
    /// back onto the full scale by stepping over the excluded intervals.
    pub(crate) fn draw_excluding(&self, rng: &mut Rng, excluded: &[usize]) -> Option<CountryCode> {
        let mut skipped: Vec<(u64, u64)> = excluded
            .iter()
            .filter_map(|&i| {
                let end = *self.cumulative.get(i)?;
                let start = end - self.countries.get(i)?.population;
                Some((start, end))
            })
            .collect();
        skipped.sort_unstable();
        skipped.dedup();
        let removed: u64 = skipped.iter().map(|(s, e)| e - s).sum();
        let live = self.total().checked_sub(removed).filter(|l| *l > 0)?;
        let mut point = rng.below(live);
        for (start, end) in skipped {
            if point >= start {
                point += end - start;
            }
        }
        let at = self.cumulative.partition_point(|c| *c <= point);
        self.countries.get(at).map(|c| c.code)
    }

    /// A country drawn with probability proportional to its population.
    pub(crate) fn draw(&self, rng: &mut Rng) -> Option<CountryCode> {
        self.draw_excluding(rng, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j() -> &'static Jurisdictions {
        Jurisdictions::embedded().unwrap()
    }

    fn parse(text: &str) -> Result<Population, PopulationError> {
        Population::parse("t.csv", text, j())
    }

    #[test]
    fn the_embedded_table_loads_with_the_big_countries() {
        let p = Population::embedded().unwrap();
        assert_eq!(p.countries().len(), 245);
        let cn = p.get("CN".parse().unwrap()).unwrap();
        assert_eq!(cn.continent, "AS");
        assert!(p.share("CN".parse().unwrap()) > 0.15);
        assert!(p.share("US".parse().unwrap()) > 0.03);
        assert_eq!(p.share("AQ".parse().unwrap()), 0.0);
        let bq = p.get("BQ".parse().unwrap()).unwrap();
        assert_eq!(bq.name, "Bonaire, Saint Eustatius and Saba");
        assert!(p.countries().windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let h = "iso,name,population,continent\n";
        let cases = [
            ("", 1, "empty"),
            ("code,name\n", 1, "header"),
            (
                &format!("{h}DE,Germany,83000000,EU\nXZ,Nowhere,5,EU\n"),
                3,
                "`XZ`",
            ),
            (
                &format!("{h}DE,Germany,83000000,EU\nDE,Germany,1,EU\n"),
                3,
                "twice",
            ),
            (&format!("{h}DE,Germany,0,EU\n"), 2, "above 0"),
            (&format!("{h}DE,Germany,-5,EU\n"), 2, "`-5`"),
            (&format!("{h}DE,Germany,83000000\n"), 2, "4 columns"),
            (&format!("{h}DE,Germany,83000000,XX\n"), 2, "`XX`"),
            (&format!("{h}DE,,83000000,EU\n"), 2, "empty name"),
            (
                &format!("{h}DE,Germany,18446744073709551615,EU\nFR,France,1,EU\n"),
                3,
                "2^64",
            ),
        ];
        for (text, line, needle) in cases {
            match parse(text) {
                Err(PopulationError::Row {
                    file,
                    line: l,
                    message,
                }) => {
                    assert_eq!(file, "t.csv");
                    assert_eq!(l, line, "{text}: {message}");
                    assert!(message.contains(needle), "{text}: {message}");
                }
                other => panic!("{text}: expected a row error, got {other:?}"),
            }
        }
        assert!(matches!(parse(h), Err(PopulationError::Empty { .. })));
    }

    #[test]
    fn draws_follow_the_weights_and_skip_exclusions() {
        let p = parse(
            "iso,name,population,continent\nDE,Germany,1,EU\nFR,France,3,EU\nIT,Italy,6,EU\n",
        )
        .unwrap();
        let mut rng = Rng::stream(1, 0, 0);
        let mut counts = [0u32; 3];
        for _ in 0..100_000 {
            let c = p.draw(&mut rng).unwrap();
            counts[p.position(c).unwrap()] += 1;
        }
        assert!((9_000..11_000).contains(&counts[0]), "{counts:?}");
        assert!((29_000..31_000).contains(&counts[1]), "{counts:?}");
        assert!((59_000..61_000).contains(&counts[2]), "{counts:?}");

        let (mut de, mut it) = (0u32, 0u32);
        for _ in 0..40_000 {
            match p.draw_excluding(&mut rng, &[1]).unwrap().as_str() {
                "DE" => de += 1,
                "IT" => it += 1,
                other => panic!("drew excluded {other}"),
            }
        }
        assert!((5_000..6_500).contains(&de), "{de} {it}");
        assert_eq!(p.draw_excluding(&mut rng, &[0, 1, 2]), None);
        assert_eq!(
            p.draw_excluding(&mut rng, &[2, 0])
                .map(|c| c.to_string())
                .as_deref(),
            Some("FR")
        );
    }
}
