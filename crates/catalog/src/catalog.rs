//! The catalog file and name resolution.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use cordon_source::{Location, SourceFile};
use serde::Deserialize;
use toml::Spanned;

use crate::name::{MAX_NAME_LEN, normalize, normalize_into};

/// A model's dense index in its catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelId(pub u16);

impl ModelId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// One model in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Model {
    /// Canonical id, normalised.
    pub id: String,
    /// The family it belongs to, normalised.
    pub family: String,
    /// Classification tags, normalised and sorted.
    pub tags: Vec<String>,
    /// Other names for the same model.
    pub aliases: Vec<String>,
    /// Dated snapshots that resolve to this model.
    pub snapshots: Vec<String>,
    /// Free description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// How a name reached a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The canonical id.
    Id,
    /// An alias.
    Alias,
    /// A dated snapshot.
    Snapshot,
}

/// The result of resolving a client-supplied model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// A known model.
    Known {
        /// Which model.
        id: ModelId,
        /// How the name matched.
        via: Via,
    },
    /// No model of that name; the request must not reach an upstream.
    Unknown,
}

/// The model catalog.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    models: Vec<Model>,
    names: HashMap<String, (ModelId, Via)>,
    families: BTreeSet<String>,
    tags: BTreeSet<String>,
    source_text: String,
}

/// A problem in the catalog file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("{0}")]
    Read(String),
    /// Not TOML of the catalog's shape.
    #[error(transparent)]
    Toml(#[from] cordon_source::TomlError),
    /// A value is wrong.
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
struct RawCatalog {
    #[serde(default)]
    model: Vec<RawModel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    id: Spanned<String>,
    family: Spanned<String>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    snapshots: Vec<Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
}

impl Catalog {
    /// Reads and checks a catalog file.
    ///
    /// # Errors
    /// Every problem found, each with its location.
    pub fn load(path: &Path) -> Result<Self, Vec<CatalogError>> {
        let file = SourceFile::read(path).map_err(|e| vec![CatalogError::Read(e.to_string())])?;
        Self::parse(&file)
    }

    /// Parses and checks catalog text.
    ///
    /// # Errors
    /// Every problem found: syntax, empty or non-ASCII names, a name used twice.
    pub fn parse(file: &SourceFile) -> Result<Self, Vec<CatalogError>> {
        let raw: RawCatalog = file.parse_toml().map_err(|e| vec![CatalogError::Toml(e)])?;
        let mut errors = Vec::new();
        let mut cat = Catalog {
            source_text: file.text().to_owned(),
            ..Catalog::default()
        };
        if raw.model.is_empty() {
            errors.push(CatalogError::Invalid {
                location: file.location(0),
                message: "the catalog defines no models (expected at least one `[[model]]` table)"
                    .into(),
            });
        }
        if raw.model.len() > usize::from(u16::MAX) {
            errors.push(CatalogError::Invalid {
                location: file.location(0),
                message: format!(
                    "the catalog defines {} models; at most {} are supported",
                    raw.model.len(),
                    u16::MAX
                ),
            });
            return Err(errors);
        }
        for (index, m) in raw.model.into_iter().enumerate() {
            let id = ModelId(u16::try_from(index).unwrap_or(u16::MAX));
            let mut name = |s: &Spanned<String>, what: &str| -> Option<String> {
                let n = normalize(s.get_ref());
                if n.is_none() {
                    errors.push(CatalogError::Invalid {
                        location: file.location(s.span().start),
                        message: format!(
                            "{what} `{}` is not a usable name (expected 1-{MAX_NAME_LEN} ASCII characters)",
                            s.get_ref()
                        ),
                    });
                }
                n
            };
            let canonical = name(&m.id, "model id");
            let family = name(&m.family, "family");
            let mut tags: Vec<String> = m.tags.iter().filter_map(|t| name(t, "tag")).collect();
            tags.sort();
            tags.dedup();
            let aliases: Vec<String> = m.aliases.iter().filter_map(|a| name(a, "alias")).collect();
            let snapshots: Vec<String> = m
                .snapshots
                .iter()
                .filter_map(|a| name(a, "snapshot"))
                .collect();
            let (Some(canonical), Some(family)) = (canonical, family) else {
                continue;
            };
            let spans = std::iter::once((&m.id, Via::Id))
                .chain(m.aliases.iter().map(|a| (a, Via::Alias)))
                .chain(m.snapshots.iter().map(|s| (s, Via::Snapshot)));
            for (spanned, via) in spans {
                let Some(n) = normalize(spanned.get_ref()) else {
                    continue;
                };
                if let Some((other, _)) = cat.names.get(&n) {
                    let owner = cat
                        .models
                        .get(other.index())
                        .map_or(canonical.as_str(), |m| m.id.as_str());
                    errors.push(CatalogError::Invalid {
                        location: file.location(spanned.span().start),
                        message: format!("name `{n}` is already used by model `{owner}`; each name must resolve to one model"),
                    });
                    continue;
                }
                cat.names.insert(n, (id, via));
            }
            cat.families.insert(family.clone());
            cat.tags.extend(tags.iter().cloned());
            cat.models.push(Model {
                id: canonical,
                family,
                tags,
                aliases,
                snapshots,
                description: m.description,
            });
        }
        if errors.is_empty() {
            Ok(cat)
        } else {
            Err(errors)
        }
    }

    /// Resolves a client-supplied name, case- and whitespace-insensitively. Allocates nothing.
    pub fn resolve(&self, name: &str) -> Resolution {
        let mut buf = [0u8; MAX_NAME_LEN];
        match normalize_into(name, &mut buf).and_then(|n| self.names.get(n)) {
            Some(&(id, via)) => Resolution::Known { id, via },
            None => Resolution::Unknown,
        }
    }

    /// A model by id.
    pub fn model(&self, id: ModelId) -> Option<&Model> {
        self.models.get(id.index())
    }

    /// Every model with its id, in catalog order.
    pub fn models(&self) -> impl Iterator<Item = (ModelId, &Model)> {
        self.models
            .iter()
            .enumerate()
            .map(|(i, m)| (ModelId(u16::try_from(i).unwrap_or(u16::MAX)), m))
    }

    /// Number of models.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether the catalog has no models.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Whether a family exists (name normalised first).
    pub fn has_family(&self, family: &str) -> bool {
        normalize(family).is_some_and(|f| self.families.contains(&f))
    }

    /// Whether a tag exists (name normalised first).
    pub fn has_tag(&self, tag: &str) -> bool {
        normalize(tag).is_some_and(|t| self.tags.contains(&t))
    }

    /// All families.
    pub fn families(&self) -> impl Iterator<Item = &str> {
        self.families.iter().map(String::as_str)
    }

    /// All tags.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.tags.iter().map(String::as_str)
    }

    /// Models by family, for reports.
    pub fn by_family(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for m in &self.models {
            out.entry(m.family.as_str())
                .or_default()
                .push(m.id.as_str());
        }
        out
    }

    /// The catalog's source text, hashed into the policy version.
    pub fn source_text(&self) -> &str {
        &self.source_text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"
[[model]]
id = "fable-5"
family = "fable"
tags = ["frontier"]
aliases = ["fable", "Fable Latest"]
snapshots = ["fable-5-2026-09-15"]

[[model]]
id = "lyric-4"
family = "lyric"
"#;

    fn cat() -> Catalog {
        Catalog::parse(&SourceFile::new("catalog.toml", CATALOG)).unwrap()
    }

    #[test]
    fn names_resolve_through_ids_aliases_and_snapshots() {
        let c = cat();
        let fable = Resolution::Known {
            id: ModelId(0),
            via: Via::Id,
        };
        assert_eq!(c.resolve("fable-5"), fable);
        assert_eq!(c.resolve("  FABLE-5 "), fable);
        assert_eq!(
            c.resolve("fable  latest"),
            Resolution::Known {
                id: ModelId(0),
                via: Via::Alias
            }
        );
        assert_eq!(
            c.resolve("Fable-5-2026-09-15"),
            Resolution::Known {
                id: ModelId(0),
                via: Via::Snapshot
            }
        );
        assert_eq!(
            c.resolve("lyric-4").clone(),
            Resolution::Known {
                id: ModelId(1),
                via: Via::Id
            }
        );
    }

    #[test]
    fn unknown_names_are_an_explicit_result() {
        let c = cat();
        assert_eq!(c.resolve("fable-6"), Resolution::Unknown);
        assert_eq!(c.resolve(""), Resolution::Unknown);
        assert_eq!(c.resolve("fäble-5"), Resolution::Unknown);
        assert_eq!(c.resolve(&"x".repeat(10_000)), Resolution::Unknown);
    }

    #[test]
    fn a_name_used_twice_is_an_error_at_its_line() {
        let text = "[[model]]\nid = \"a\"\nfamily = \"f\"\n[[model]]\nid = \"b\"\nfamily = \"f\"\naliases = [\"A\"]\n";
        let errs = Catalog::parse(&SourceFile::new("c.toml", text)).unwrap_err();
        assert_eq!(errs.len(), 1);
        let m = errs[0].to_string();
        assert!(m.starts_with("c.toml:7:") && m.contains("`a`"), "{m}");
    }

    #[test]
    fn unknown_fields_and_empty_catalogs_are_refused() {
        let errs = Catalog::parse(&SourceFile::new(
            "c.toml",
            "[[model]]\nid = \"a\"\nfamily = \"f\"\nfamilly = 1\n",
        ))
        .unwrap_err();
        assert!(errs[0].to_string().contains("familly"), "{}", errs[0]);
        let errs = Catalog::parse(&SourceFile::new("c.toml", "")).unwrap_err();
        assert!(errs[0].to_string().contains("no models"));
    }
}
