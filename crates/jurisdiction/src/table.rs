//! The tables of assigned country and region codes.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use cordon_source::{Location, SourceFile};

use crate::{CountryCode, CountrySet, RegionCode};

const COUNTRIES_TSV: &str = include_str!("../../../data/jurisdictions/countries.tsv");
const REGIONS_TSV: &str = include_str!("../../../data/jurisdictions/regions.tsv");

/// The assigned ISO 3166-1 countries and the ISO 3166-2 regions Cordon knows.
///
/// A directive that names `XZ` or `UA-99` names no place; the checker rejects it
/// instead of letting a typo silently match nobody.
#[derive(Debug, Clone)]
pub struct Jurisdictions {
    countries: BTreeMap<CountryCode, String>,
    assigned: CountrySet,
    regions: BTreeMap<RegionCode, String>,
}

/// A malformed row in a jurisdiction table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct TableError {
    /// Where the row is.
    pub location: Location,
    /// What is wrong with it.
    pub message: String,
}

impl Jurisdictions {
    /// The tables shipped in `data/jurisdictions/`, parsed once.
    ///
    /// # Errors
    /// Fails only if the shipped data files are malformed, which the crate's tests rule out.
    pub fn embedded() -> Result<&'static Jurisdictions, TableError> {
        static TABLES: OnceLock<Result<Jurisdictions, TableError>> = OnceLock::new();
        TABLES
            .get_or_init(|| {
                Jurisdictions::parse(
                    &SourceFile::new("data/jurisdictions/countries.tsv", COUNTRIES_TSV),
                    &SourceFile::new("data/jurisdictions/regions.tsv", REGIONS_TSV),
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses the two tab-separated tables (`alpha2 name` and `code name country`).
    ///
    /// # Errors
    /// Returns the first malformed row with its location.
    pub fn parse(countries: &SourceFile, regions: &SourceFile) -> Result<Self, TableError> {
        let mut out = Jurisdictions {
            countries: BTreeMap::new(),
            assigned: CountrySet::EMPTY,
            regions: BTreeMap::new(),
        };
        for (line, cols) in rows(countries) {
            let err = |message: String| TableError {
                location: Location {
                    file: countries.name().to_owned(),
                    line,
                    column: 1,
                },
                message,
            };
            let [code, name] = cols.as_slice() else {
                return Err(err(format!(
                    "expected 2 tab-separated columns, found {}",
                    cols.len()
                )));
            };
            let code = CountryCode::parse(code).map_err(|e| err(e.to_string()))?;
            if out.countries.insert(code, (*name).to_owned()).is_some() {
                return Err(err(format!("duplicate country code `{code}`")));
            }
            out.assigned.insert(code);
        }
        for (line, cols) in rows(regions) {
            let err = |message: String| TableError {
                location: Location {
                    file: regions.name().to_owned(),
                    line,
                    column: 1,
                },
                message,
            };
            let [code, name, country] = cols.as_slice() else {
                return Err(err(format!(
                    "expected 3 tab-separated columns, found {}",
                    cols.len()
                )));
            };
            let code = RegionCode::parse(code).map_err(|e| err(e.to_string()))?;
            let country = CountryCode::parse(country).map_err(|e| err(e.to_string()))?;
            if code.country() != country || !out.assigned.contains(country) {
                return Err(err(format!(
                    "region `{code}` does not belong to an assigned country `{country}`"
                )));
            }
            if out.regions.insert(code, (*name).to_owned()).is_some() {
                return Err(err(format!("duplicate region code `{code}`")));
            }
        }
        Ok(out)
    }

    /// Whether a country code is assigned.
    pub fn is_country(&self, c: CountryCode) -> bool {
        self.assigned.contains(c)
    }

    /// The English short name of an assigned country.
    pub fn country_name(&self, c: CountryCode) -> Option<&str> {
        self.countries.get(&c).map(String::as_str)
    }

    /// Whether a region code is known.
    pub fn is_region(&self, r: RegionCode) -> bool {
        self.regions.contains_key(&r)
    }

    /// The name of a known region.
    pub fn region_name(&self, r: RegionCode) -> Option<&str> {
        self.regions.get(&r).map(String::as_str)
    }

    /// Every assigned country, in code order.
    pub fn countries(&self) -> impl Iterator<Item = (CountryCode, &str)> {
        self.countries.iter().map(|(c, n)| (*c, n.as_str()))
    }

    /// All assigned countries as a set.
    pub fn all_countries(&self) -> CountrySet {
        self.assigned
    }

    /// Every known region, in code order.
    pub fn regions(&self) -> impl Iterator<Item = (RegionCode, &str)> {
        self.regions.iter().map(|(c, n)| (*c, n.as_str()))
    }
}

/// Data rows with their 1-based line numbers; `#` comments, blank lines and the header skipped.
fn rows(file: &SourceFile) -> impl Iterator<Item = (usize, Vec<&str>)> {
    file.text()
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|(n, l)| (n, l.split('\t').map(str::trim).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_hold_every_assigned_country_and_the_sanctioned_regions() {
        let j = Jurisdictions::embedded().unwrap();
        assert_eq!(j.countries().count(), 249);
        let c = |s| CountryCode::parse(s).unwrap();
        assert!(j.is_country(c("IR")));
        assert!(j.is_country(c("MO")));
        assert!(
            !j.is_country(c("XK")),
            "Kosovo is user-assigned, not ISO 3166-1"
        );
        assert!(!j.is_country(c("ZZ")));
        for r in ["UA-43", "UA-40", "UA-14", "UA-09", "UA-23", "UA-65"] {
            assert!(j.is_region(RegionCode::parse(r).unwrap()), "{r}");
        }
        assert!(!j.is_region(RegionCode::parse("UA-99").unwrap()));
    }

    #[test]
    fn malformed_rows_are_located() {
        let countries = SourceFile::new("c.tsv", "alpha2\tname\nDE\tGermany\nDEU\tGermany\n");
        let regions = SourceFile::new("r.tsv", "code\tname\tcountry\n");
        let e = Jurisdictions::parse(&countries, &regions).unwrap_err();
        assert_eq!(e.location.line, 3);
        assert!(e.message.contains("`DEU`"), "{e}");

        let countries = SourceFile::new("c.tsv", "alpha2\tname\nDE\tGermany\n");
        let regions = SourceFile::new("r.tsv", "code\tname\tcountry\nUA-43\tCrimea\tUA\n");
        let e = Jurisdictions::parse(&countries, &regions).unwrap_err();
        assert!(e.message.contains("assigned country"), "{e}");
    }
}
