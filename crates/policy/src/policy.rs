//! A checked directive set: directives, catalog and groups, with its version.

use std::path::Path;

use cordon_catalog::{Catalog, ModelId};
use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_source::{Location, SourceFile};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, LoadError, Severity};
use crate::directive::{CheckEnv, Directive, Mode, check_file};

/// The most directive files one set may hold; more is a mistake, not a policy.
pub const MAX_DIRECTIVES: usize = 10_000;

/// A checked, compiled directive set, ready to decide requests.
///
/// Built once (at start-up or reload); deciding borrows it immutably, so one
/// `Policy` serves every request thread.
#[derive(Debug)]
pub struct Policy {
    pub(crate) directives: Vec<Directive>,
    pub(crate) catalog: Catalog,
    /// For each model, the directives (shadow or enforced) that cover it, in id order.
    pub(crate) by_model: Vec<Box<[u16]>>,
    version: String,
    warnings: Vec<Diagnostic>,
}

/// The directive files of `dir`: every `*.toml` file in it (not
/// recursing), in name order, as [`Policy::load_dir`] reads them. Tools that
/// change a set file by file list it the same way.
///
/// # Errors
/// When the directory cannot be read.
pub fn directive_files(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    Ok(paths)
}

impl Policy {
    /// Reads every `*.toml` file in `dir` (not recursing) and checks the set.
    ///
    /// # Errors
    /// A [`LoadError`] listing every problem in every file: unreadable or
    /// non-UTF-8 files, an empty directory, syntax, unknown fields, bad values,
    /// unknown codes, groups or models, duplicate ids.
    pub fn load_dir(
        dir: &Path,
        catalog: Catalog,
        jurisdictions: &Jurisdictions,
        groups: &GroupRegistry,
    ) -> Result<Policy, LoadError> {
        let whole = |message: String| LoadError {
            diagnostics: vec![Diagnostic {
                severity: Severity::Error,
                location: Location {
                    file: dir.display().to_string(),
                    line: 1,
                    column: 1,
                },
                field: String::new(),
                message,
            }],
        };
        let paths = directive_files(dir)
            .map_err(|e| whole(format!("cannot read the directive directory: {e}")))?;
        if paths.is_empty() {
            return Err(whole(
                "the directory holds no directive files (expected one `*.toml` file per directive)"
                    .into(),
            ));
        }
        if paths.len() > MAX_DIRECTIVES {
            return Err(whole(format!(
                "the directory holds {} directive files; at most {MAX_DIRECTIVES} are supported",
                paths.len()
            )));
        }
        let mut files = Vec::new();
        let mut diagnostics = Vec::new();
        for p in &paths {
            match SourceFile::read(p) {
                Ok(f) => files.push(f),
                Err(e) => diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    location: Location {
                        file: p.display().to_string(),
                        line: 1,
                        column: 1,
                    },
                    field: String::new(),
                    message: e.to_string(),
                }),
            }
        }
        match Self::from_files(&files, catalog, jurisdictions, groups) {
            Ok(p) if diagnostics.is_empty() => Ok(p),
            Ok(p) => {
                diagnostics.extend(p.warnings);
                Err(LoadError { diagnostics })
            }
            Err(mut e) => {
                diagnostics.append(&mut e.diagnostics);
                Err(LoadError { diagnostics })
            }
        }
    }

    /// Checks directive files already in memory.
    ///
    /// # Errors
    /// A [`LoadError`] with every problem found.
    pub fn from_files(
        files: &[SourceFile],
        catalog: Catalog,
        jurisdictions: &Jurisdictions,
        groups: &GroupRegistry,
    ) -> Result<Policy, LoadError> {
        let env = CheckEnv {
            jurisdictions,
            groups,
            catalog: &catalog,
        };
        let mut directives: Vec<Directive> = Vec::new();
        let mut diagnostics = Vec::new();
        for f in files {
            let (d, mut found) = check_file(f, &env);
            diagnostics.append(&mut found);
            if let Some(d) = d {
                if let Some(first) = directives.iter().find(|x| x.id == d.id) {
                    diagnostics.push(Diagnostic {
                        severity: Severity::Error,
                        location: f.location(d.id_offset),
                        field: "id".into(),
                        message: format!(
                            "duplicate directive id `{}` (also in `{}`)",
                            d.id,
                            first.source.name()
                        ),
                    });
                } else {
                    directives.push(d);
                }
            }
        }
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(LoadError { diagnostics });
        }
        directives.sort_by(|a, b| a.id.cmp(&b.id));
        let version = version(&directives, &catalog, groups);
        let by_model = catalog
            .models()
            .map(|(id, _)| {
                directives
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| {
                        matches!(d.mode, Mode::Enforced | Mode::Shadow) && d.covers_model(id)
                    })
                    .filter_map(|(i, _)| u16::try_from(i).ok())
                    .collect()
            })
            .collect();
        Ok(Policy {
            directives,
            catalog,
            by_model,
            version,
            warnings: diagnostics,
        })
    }

    /// The policy version: a SHA-256 over the directives' text (in id order), the
    /// catalog and the country groups, so any change to what decides yields a new version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The directives, in id order.
    pub fn directives(&self) -> &[Directive] {
        &self.directives
    }

    /// A directive by id.
    pub fn directive(&self, id: &str) -> Option<&Directive> {
        self.directives.iter().find(|d| d.id == id)
    }

    /// The model catalog the set was checked against.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Warnings found while checking.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The directives a decision for `model` consults (shadow or enforced and
    /// covering the model), in id order: the engine's own candidate list.
    pub fn candidates(&self, model: ModelId) -> impl Iterator<Item = &Directive> {
        self.by_model
            .get(model.index())
            .into_iter()
            .flatten()
            .filter_map(|&i| self.directives.get(usize::from(i)))
    }

    /// The most directives any one model is covered by: the capacity a
    /// [`crate::Trace`] needs so deciding never allocates.
    pub fn max_consulted(&self) -> usize {
        self.by_model.iter().map(|d| d.len()).max().unwrap_or(0)
    }
}

fn version(directives: &[Directive], catalog: &Catalog, groups: &GroupRegistry) -> String {
    let mut h = Sha256::new();
    h.update(b"cordon-policy/1\0catalog\0");
    h.update(catalog.source_text().as_bytes());
    h.update(b"\0groups\0");
    for g in groups.iter() {
        h.update(g.id.as_bytes());
        h.update(b"=");
        for c in g.countries.iter() {
            h.update(c.as_str().as_bytes());
        }
        for r in &g.regions {
            h.update(r.to_string().as_bytes());
        }
        h.update(b"\0");
    }
    h.update(b"directives\0");
    for d in directives {
        h.update((d.source.text().len() as u64).to_be_bytes());
        h.update(d.source.text().as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}
