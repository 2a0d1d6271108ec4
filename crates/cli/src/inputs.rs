//! Loading what the commands work on: the catalog, the directive set, subjects.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use cordon_catalog::Catalog;
use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::{LoadError, Policy};
use cordon_source::SourceFile;
use cordon_subject::{Subject, SubjectRecord};

/// Where the shipped directive set and catalog are, relative to the repository root.
pub const DEFAULT_DIRECTIVES: &str = "directives";
/// The shipped catalog.
pub const DEFAULT_CATALOG: &str = "catalog.toml";
/// The shipped GeoIP database.
pub const DEFAULT_GEOIP: &str = "data/geoip/geo-whois-asn-country.mmdb";

/// The shipped restricted-party lists, relative to the repository root.
pub const DEFAULT_SANCTIONS: &str = "data/sanctions";

/// The shipped directive set and catalog, compiled in so the binary works from any directory.
pub const EMBEDDED_DIRECTIVES: &[(&str, &str)] = &[
    (
        "directives/ai-diffusion-tier3-historical.toml",
        include_str!("../../../directives/ai-diffusion-tier3-historical.toml"),
    ),
    (
        "directives/ear-russia-belarus-shadow.toml",
        include_str!("../../../directives/ear-russia-belarus-shadow.toml"),
    ),
    (
        "directives/foreign-national-frontier-partial.toml",
        include_str!("../../../directives/foreign-national-frontier-partial.toml"),
    ),
    (
        "directives/foreign-national-frontier.toml",
        include_str!("../../../directives/foreign-national-frontier.toml"),
    ),
    (
        "directives/ofac-crimea.toml",
        include_str!("../../../directives/ofac-crimea.toml"),
    ),
    (
        "directives/ofac-cuba.toml",
        include_str!("../../../directives/ofac-cuba.toml"),
    ),
    (
        "directives/ofac-eo14065-regions.toml",
        include_str!("../../../directives/ofac-eo14065-regions.toml"),
    ),
    (
        "directives/ofac-iran.toml",
        include_str!("../../../directives/ofac-iran.toml"),
    ),
    (
        "directives/ofac-location-undetermined.toml",
        include_str!("../../../directives/ofac-location-undetermined.toml"),
    ),
    (
        "directives/ofac-north-korea.toml",
        include_str!("../../../directives/ofac-north-korea.toml"),
    ),
    (
        "directives/ofac-venezuela-government.toml",
        include_str!("../../../directives/ofac-venezuela-government.toml"),
    ),
    (
        "directives/restricted-parties.toml",
        include_str!("../../../directives/restricted-parties.toml"),
    ),
    (
        "directives/russia-it-services-shadow.toml",
        include_str!("../../../directives/russia-it-services-shadow.toml"),
    ),
];
/// The shipped catalog text.
pub const EMBEDDED_CATALOG: &str = include_str!("../../../catalog.toml");

/// Jurisdictions and country groups (the shipped data).
pub struct World {
    pub jurisdictions: &'static Jurisdictions,
    pub groups: GroupRegistry,
}

impl World {
    pub fn load() -> Result<World> {
        let jurisdictions = Jurisdictions::embedded()
            .map_err(|e| anyhow!("shipped jurisdiction data is broken: {e}"))?;
        let groups = GroupRegistry::embedded(jurisdictions).map_err(|errs| {
            anyhow!(
                "shipped country-group data is broken: {}",
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
        Ok(World {
            jurisdictions,
            groups,
        })
    }
}

/// Formats catalog errors as one message.
fn catalog_error(errs: Vec<cordon_catalog::CatalogError>) -> anyhow::Error {
    anyhow!(
        "the catalog is invalid:\n{}",
        errs.iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// Loads a catalog: the given path, else `catalog.toml` if present, else the embedded one.
pub fn catalog(path: Option<&Path>) -> Result<Catalog> {
    match path {
        Some(p) => Catalog::load(p).map_err(catalog_error),
        None if Path::new(DEFAULT_CATALOG).is_file() => {
            Catalog::load(Path::new(DEFAULT_CATALOG)).map_err(catalog_error)
        }
        None => Catalog::parse(&SourceFile::new(
            "(embedded) catalog.toml",
            EMBEDDED_CATALOG,
        ))
        .map_err(catalog_error),
    }
}

/// The directive set's location, for messages.
pub fn directives_label(path: Option<&Path>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None if Path::new(DEFAULT_DIRECTIVES).is_dir() => DEFAULT_DIRECTIVES.to_owned(),
        None => "(embedded) directives/".to_owned(),
    }
}

/// Loads and checks a directive set (given dir, else `directives/` if present, else embedded).
pub fn policy(dir: Option<&Path>, catalog: Catalog, world: &World) -> Result<Policy, LoadError> {
    match dir {
        Some(d) => Policy::load_dir(d, catalog, world.jurisdictions, &world.groups),
        None if Path::new(DEFAULT_DIRECTIVES).is_dir() => Policy::load_dir(
            Path::new(DEFAULT_DIRECTIVES),
            catalog,
            world.jurisdictions,
            &world.groups,
        ),
        None => {
            let files: Vec<SourceFile> = EMBEDDED_DIRECTIVES
                .iter()
                .map(|(n, t)| SourceFile::new(format!("(embedded) {n}"), *t))
                .collect();
            Policy::from_files(&files, catalog, world.jurisdictions, &world.groups)
        }
    }
}

/// Renders a load error's diagnostics, one per line.
pub fn render_load_error(e: &LoadError) -> String {
    e.diagnostics.iter().map(|d| format!("{d}\n")).collect()
}

/// Reads a subject from inline JSON, `-` (standard input) or a file path.
pub fn subject(arg: &str, world: &World) -> Result<Subject> {
    let (text, origin) = if arg.trim_start().starts_with('{') {
        (arg.to_owned(), "the --subject argument".to_owned())
    } else if arg == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read the subject from standard input")?;
        (s, "standard input".to_owned())
    } else {
        let p = PathBuf::from(arg);
        if !p.exists() {
            bail!(
                "--subject `{arg}` is neither JSON (it does not start with `{{`) nor an existing file"
            );
        }
        let f = SourceFile::read(&p)?;
        (f.text().to_owned(), format!("`{}`", p.display()))
    };
    SubjectRecord::from_json(&text)
        .and_then(|r| r.into_subject(world.jurisdictions))
        .with_context(|| format!("invalid subject in {origin}"))
}
