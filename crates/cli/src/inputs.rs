//! Loading what the commands work on: the catalog, the directive set, subjects.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};
use cordon_catalog::Catalog;
use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::{Diagnostic, LoadError, Policy, Severity};
use cordon_source::Location;
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

/// Whether `--builtin` was given: the built-in set and catalog may stand in
/// where none is named and the working directory has none.
static BUILTIN: OnceLock<bool> = OnceLock::new();

/// Records `--builtin`, once, before any command loads its inputs.
pub fn allow_builtin(yes: bool) {
    // A second call would be a programming error; the first value stands.
    let _ = BUILTIN.set(yes);
}

fn builtin_allowed() -> bool {
    BUILTIN.get().copied().unwrap_or(false)
}

/// What to say when nothing was named and nothing is in the working directory.
const NOTHING_NAMED: &str = "pass --directives DIR and --catalog FILE, run where `directives/` and `catalog.toml` are, or pass --builtin to use the set compiled into this binary";

/// Loads a catalog: the given path, else `catalog.toml` in the working
/// directory, else the built-in one when `--builtin` was given; otherwise an
/// error, never a silent fallback.
pub fn catalog(path: Option<&Path>) -> Result<Catalog> {
    match path {
        Some(p) => Catalog::load(p).map_err(catalog_error),
        None if Path::new(DEFAULT_CATALOG).is_file() => {
            Catalog::load(Path::new(DEFAULT_CATALOG)).map_err(catalog_error)
        }
        None if builtin_allowed() => builtin_catalog(),
        None => bail!("no model catalog named and no `{DEFAULT_CATALOG}` here: {NOTHING_NAMED}"),
    }
}

/// The catalog compiled into this binary.
pub fn builtin_catalog() -> Result<Catalog> {
    Catalog::parse(&SourceFile::new(
        "(built-in) catalog.toml",
        EMBEDDED_CATALOG,
    ))
    .map_err(catalog_error)
}

/// The directive set's location, for messages.
pub fn directives_label(path: Option<&Path>) -> String {
    match path {
        Some(p) => p.display().to_string(),
        None if Path::new(DEFAULT_DIRECTIVES).is_dir() => DEFAULT_DIRECTIVES.to_owned(),
        None if builtin_allowed() => BUILTIN_LABEL.to_owned(),
        None => "(none named)".to_owned(),
    }
}

/// How the built-in set is named in messages.
pub const BUILTIN_LABEL: &str = "(built-in) directives/";

/// Loads and checks a directive set: the given directory, else `directives/`
/// in the working directory, else the built-in set when `--builtin` was
/// given; otherwise an error naming what to pass. A set not named on the
/// command line is announced on stderr, so an answer never comes from a set
/// the user did not see chosen.
pub fn policy(dir: Option<&Path>, catalog: Catalog, world: &World) -> Result<Policy, LoadError> {
    match dir {
        Some(d) => Policy::load_dir(d, catalog, world.jurisdictions, &world.groups),
        None if Path::new(DEFAULT_DIRECTIVES).is_dir() => {
            eprintln!(
                "note: using the directive set `{DEFAULT_DIRECTIVES}/` in the working directory"
            );
            Policy::load_dir(
                Path::new(DEFAULT_DIRECTIVES),
                catalog,
                world.jurisdictions,
                &world.groups,
            )
        }
        None if builtin_allowed() => {
            eprintln!("note: using the directive set and catalog built into this binary");
            builtin_policy(catalog, world)
        }
        None => Err(LoadError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                location: Location {
                    file: format!("{DEFAULT_DIRECTIVES}/"),
                    line: 0,
                    column: 0,
                },
                field: String::new(),
                message: format!(
                    "no directive set named and no `{DEFAULT_DIRECTIVES}/` here: {NOTHING_NAMED}"
                ),
            }],
        }),
    }
}

/// The directive set compiled into this binary (the shipped `directives/`).
pub fn builtin_policy(catalog: Catalog, world: &World) -> Result<Policy, LoadError> {
    let files: Vec<SourceFile> = EMBEDDED_DIRECTIVES
        .iter()
        .map(|(n, t)| SourceFile::new(format!("(built-in) {n}"), *t))
        .collect();
    Policy::from_files(&files, catalog, world.jurisdictions, &world.groups)
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
