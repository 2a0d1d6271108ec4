//! Named, versioned country groups loaded from data files with their citations.

use std::collections::BTreeMap;
use std::path::Path;

use cordon_source::{Location, SourceFile};
use serde::Deserialize;
use toml::Spanned;

use crate::{CountryCode, CountrySet, Jurisdictions, RegionCode};

const EMBEDDED: &[(&str, &str)] = &[
    (
        "data/country-groups/ear.toml",
        include_str!("../../../data/country-groups/ear.toml"),
    ),
    (
        "data/country-groups/ofac.toml",
        include_str!("../../../data/country-groups/ofac.toml"),
    ),
    (
        "data/country-groups/ai-diffusion.toml",
        include_str!("../../../data/country-groups/ai-diffusion.toml"),
    ),
];

/// How far a group's membership was checked against its legal source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Seen in a copy of the cited source.
    Verified,
    /// Computed from a verified source and a stated rule.
    Derived,
    /// Not verified; a lead to check before relying on it.
    Unverified,
}

/// Whether the measure that defines a group is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    /// In force.
    InForce,
    /// Rescinded; kept so hypothetical or historical directives can name it.
    Rescinded,
}

/// One named group of countries and regions, e.g. `EAR:D:5`.
#[derive(Debug, Clone)]
pub struct CountryGroup {
    /// Globally unique id, as directives write it.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Legal citation for the membership.
    pub citation: String,
    /// Link to the source, if any.
    pub link: Option<String>,
    /// How well the membership is verified.
    pub confidence: Confidence,
    /// In force or rescinded.
    pub status: GroupStatus,
    /// Date the measure took effect (`YYYY-MM-DD`), if known.
    pub effective: Option<String>,
    /// Date the measure was rescinded (`YYYY-MM-DD`), if it was.
    pub rescinded: Option<String>,
    /// Caveats and uncertain members.
    pub note: Option<String>,
    /// Member countries.
    pub countries: CountrySet,
    /// Member regions.
    pub regions: Vec<RegionCode>,
    /// The set (file) this group came from.
    pub set: String,
}

/// The header of a group file: which set of groups it holds and as of when.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSet {
    /// Short id of the set, e.g. `ear`.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Citation of the source as a whole.
    pub citation: String,
    /// Link to the source.
    #[serde(default)]
    pub link: Option<String>,
    /// Date of the newest source seen (`YYYY-MM-DD`): the set's version.
    pub as_of: String,
}

/// All country groups, by id.
#[derive(Debug, Clone, Default)]
pub struct GroupRegistry {
    groups: BTreeMap<String, CountryGroup>,
    sets: Vec<GroupSet>,
}

/// A problem in a group file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    /// The file could not be read.
    #[error("{0}")]
    Read(String),
    /// The file is not valid TOML of the expected shape.
    #[error(transparent)]
    Toml(#[from] cordon_source::TomlError),
    /// A value in the file is wrong.
    #[error("{location}: {message}")]
    Invalid {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    set: GroupSet,
    #[serde(default)]
    group: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: Spanned<String>,
    title: String,
    citation: String,
    #[serde(default)]
    link: Option<String>,
    confidence: Confidence,
    status: Spanned<GroupStatus>,
    #[serde(default)]
    effective: Option<Spanned<String>>,
    #[serde(default)]
    rescinded: Option<Spanned<String>>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    countries: Vec<Spanned<String>>,
    #[serde(default)]
    regions: Vec<Spanned<String>>,
}

impl GroupRegistry {
    /// The groups shipped in `data/country-groups/`.
    ///
    /// # Errors
    /// Fails only if the shipped files are malformed, which the crate's tests rule out.
    pub fn embedded(j: &Jurisdictions) -> Result<Self, Vec<GroupError>> {
        let files: Vec<SourceFile> = EMBEDDED
            .iter()
            .map(|(n, t)| SourceFile::new(*n, *t))
            .collect();
        Self::from_files(j, &files)
    }

    /// Loads every `*.toml` file in a directory, in name order.
    ///
    /// # Errors
    /// Returns every problem found in every file.
    pub fn load_dir(j: &Jurisdictions, dir: &Path) -> Result<Self, Vec<GroupError>> {
        let read = std::fs::read_dir(dir).map_err(|e| {
            vec![GroupError::Read(format!(
                "cannot read directory `{}`: {e}",
                dir.display()
            ))]
        })?;
        let mut paths: Vec<_> = read
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            match SourceFile::read(&p) {
                Ok(f) => files.push(f),
                Err(e) => errors.push(GroupError::Read(e.to_string())),
            }
        }
        match Self::from_files(j, &files) {
            Ok(r) if errors.is_empty() => Ok(r),
            Ok(_) => Err(errors),
            Err(mut more) => {
                errors.append(&mut more);
                Err(errors)
            }
        }
    }

    /// Parses group files already in memory.
    ///
    /// # Errors
    /// Returns every problem found: syntax, unknown codes, duplicate ids, bad dates.
    pub fn from_files(j: &Jurisdictions, files: &[SourceFile]) -> Result<Self, Vec<GroupError>> {
        let mut reg = GroupRegistry::default();
        let mut errors = Vec::new();
        for file in files {
            let raw: RawFile = match file.parse_toml() {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e.into());
                    continue;
                }
            };
            let set_id = raw.set.id.clone();
            reg.sets.push(raw.set);
            for g in raw.group {
                let mut invalid = |span: std::ops::Range<usize>, message: String| {
                    errors.push(GroupError::Invalid {
                        location: file.location(span.start),
                        message,
                    });
                };
                let mut countries = CountrySet::EMPTY;
                for c in &g.countries {
                    match CountryCode::parse(c.get_ref()) {
                        Ok(code) if j.is_country(code) => countries.insert(code),
                        Ok(code) => invalid(
                            c.span(),
                            format!("`{code}` is not an assigned ISO 3166-1 country code"),
                        ),
                        Err(e) => invalid(c.span(), e.to_string()),
                    }
                }
                let mut regions = Vec::new();
                for r in &g.regions {
                    match RegionCode::parse(r.get_ref()) {
                        Ok(code) if j.is_region(code) => regions.push(code),
                        Ok(code) => invalid(
                            r.span(),
                            format!("`{code}` is not a known ISO 3166-2 region code"),
                        ),
                        Err(e) => invalid(r.span(), e.to_string()),
                    }
                }
                for d in [&g.effective, &g.rescinded].into_iter().flatten() {
                    if !is_date(d.get_ref()) {
                        invalid(
                            d.span(),
                            format!("`{}` is not a date (expected YYYY-MM-DD)", d.get_ref()),
                        );
                    }
                }
                if *g.status.get_ref() == GroupStatus::Rescinded && g.rescinded.is_none() {
                    invalid(
                        g.status.span(),
                        "a rescinded group needs a `rescinded` date".to_owned(),
                    );
                }
                let id = g.id.get_ref().trim().to_owned();
                if id.is_empty() {
                    invalid(g.id.span(), "group id is empty".to_owned());
                }
                if reg.groups.contains_key(&id) {
                    invalid(g.id.span(), format!("duplicate group id `{id}`"));
                    continue;
                }
                reg.groups.insert(
                    id.clone(),
                    CountryGroup {
                        id,
                        title: g.title,
                        citation: g.citation,
                        link: g.link,
                        confidence: g.confidence,
                        status: g.status.into_inner(),
                        effective: g.effective.map(Spanned::into_inner),
                        rescinded: g.rescinded.map(Spanned::into_inner),
                        note: g.note,
                        countries,
                        regions,
                        set: set_id.clone(),
                    },
                );
            }
        }
        if errors.is_empty() {
            Ok(reg)
        } else {
            Err(errors)
        }
    }

    /// A group by id, exactly as written (ids are case-sensitive).
    pub fn get(&self, id: &str) -> Option<&CountryGroup> {
        self.groups.get(id)
    }

    /// Every group in id order.
    pub fn iter(&self) -> impl Iterator<Item = &CountryGroup> {
        self.groups.values()
    }

    /// The sets (files) loaded, in load order.
    pub fn sets(&self) -> &[GroupSet] {
        &self.sets
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(s: &str) -> CountryCode {
        CountryCode::parse(s).unwrap()
    }

    #[test]
    fn shipped_groups_load_with_their_citations() {
        let j = Jurisdictions::embedded().unwrap();
        let reg = GroupRegistry::embedded(j).unwrap();
        let d5 = reg.get("EAR:D:5").unwrap();
        assert!(d5.countries.contains(cc("CN")));
        assert!(
            !d5.countries.contains(cc("KH")),
            "Cambodia left D:5 on 2026-02-03"
        );
        assert!(
            !d5.countries.contains(cc("MO")),
            "Macau is not itself a D:5 row"
        );
        let ofac = reg.get("OFAC:comprehensive").unwrap();
        for c in ["CU", "IR", "KP"] {
            assert!(ofac.countries.contains(cc(c)), "{c}");
        }
        assert!(
            !ofac.countries.contains(cc("SY")),
            "Syria sanctions revoked by E.O. 14312"
        );
        assert!(ofac.regions.contains(&RegionCode::parse("UA-43").unwrap()));
        let t1 = reg.get("AI-DIFFUSION:TIER-1").unwrap();
        assert_eq!(t1.status, GroupStatus::Rescinded);
        assert_eq!(t1.rescinded.as_deref(), Some("2025-05-13"));
        assert!(t1.countries.contains(cc("US")) && t1.countries.contains(cc("TW")));
        let t2 = reg.get("AI-DIFFUSION:TIER-2").unwrap();
        let t3 = reg.get("AI-DIFFUSION:TIER-3").unwrap();
        assert!(t3.countries.contains(cc("MO")));
        // The three tiers partition the world.
        assert!(!t1.countries.intersects(&t2.countries));
        assert!(!t2.countries.intersects(&t3.countries));
        assert!(!t1.countries.intersects(&t3.countries));
        assert_eq!(
            t1.countries.union(&t2.countries).union(&t3.countries),
            j.all_countries()
        );
        for g in [
            "EAR:A:1", "EAR:A:5", "EAR:A:6", "EAR:D:1", "EAR:D:3", "EAR:D:4", "EAR:E:1", "EAR:E:2",
        ] {
            assert!(reg.get(g).is_some(), "{g}");
        }
    }

    fn shipped() -> GroupRegistry {
        GroupRegistry::embedded(Jurisdictions::embedded().unwrap()).unwrap()
    }

    #[test]
    fn nicaragua_is_in_d1_and_d5_since_march_2024() {
        // 89 FR 18780 (Mar. 15, 2024); reference sections 1.2 and 8.
        let reg = shipped();
        for g in ["EAR:D:1", "EAR:D:5"] {
            assert!(reg.get(g).unwrap().countries.contains(cc("NI")), "{g}");
        }
    }

    #[test]
    fn e2_is_derived_not_verified() {
        // Cuba's E:2 membership follows from 2015 sources, not from a reading of
        // the current table.
        assert_eq!(
            shipped().get("EAR:E:2").unwrap().confidence,
            Confidence::Derived
        );
    }

    #[test]
    fn the_ofac_country_programmes_cite_verified_cfr_parts() {
        // Parts 510, 515 and 560 are verified (reference section 8).
        let g = shipped();
        let g = g.get("OFAC:comprehensive-countries").unwrap();
        assert_eq!(g.confidence, Confidence::Verified);
        for part in ["part 510", "part 515", "part 560"] {
            assert!(g.citation.contains(part), "{part}");
        }
    }

    #[test]
    fn whole_covered_oblasts_are_marked_as_a_policy_choice() {
        // OFAC FAQ 1009: E.O. 14065 does not block the entire oblasts.
        let reg = shipped();
        let g = reg.get("OFAC:eo14065-oblasts").unwrap();
        assert!(g.note.as_deref().unwrap().contains("POLICY CHOICE"));
        assert_eq!(g.confidence, Confidence::Derived);
        let comprehensive = reg.get("OFAC:comprehensive").unwrap();
        let crimea = reg.get("OFAC:crimea").unwrap();
        let mut parts: Vec<RegionCode> = crimea.regions.iter().chain(&g.regions).copied().collect();
        parts.sort();
        let mut union = comprehensive.regions.clone();
        union.sort();
        assert_eq!(parts, union, "the union is Crimea plus the oblasts");
    }

    #[test]
    fn blocked_governments_tag_the_unverified_programmes() {
        let reg = shipped();
        let g = reg.get("OFAC:blocked-governments").unwrap();
        for c in ["CU", "IR", "KP", "VE"] {
            assert!(g.countries.contains(cc(c)), "{c}");
        }
        assert_eq!(g.confidence, Confidence::Unverified);
        let note = g.note.as_deref().unwrap();
        assert!(note.contains("KP - ") && note.contains("VE - ") && note.contains("[U"));
    }

    #[test]
    fn bad_codes_and_duplicates_are_reported_with_locations() {
        let j = Jurisdictions::embedded().unwrap();
        let text = r#"
[set]
id = "t"
title = "t"
citation = "c"
as_of = "2026-01-01"

[[group]]
id = "G"
title = "g"
citation = "c"
confidence = "verified"
status = "in_force"
countries = ["DE", "XZ"]

[[group]]
id = "G"
title = "g"
citation = "c"
confidence = "verified"
status = "rescinded"
regions = ["UA-99"]
"#;
        let errs = GroupRegistry::from_files(j, &[SourceFile::new("g.toml", text)]).unwrap_err();
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("g.toml:14:") && m.contains("`XZ`")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("`UA-99`")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("rescinded")), "{msgs:?}");
        assert!(
            msgs.iter().any(|m| m.contains("duplicate group id `G`")),
            "{msgs:?}"
        );
    }
}
