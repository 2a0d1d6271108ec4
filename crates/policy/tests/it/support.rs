//! Shared fixtures: the shipped packs, subjects and requests.

use std::path::{Path, PathBuf};

use cordon_catalog::{Catalog, Resolution};
use cordon_jurisdiction::{CountryCode, GroupRegistry, Jurisdictions, RegionCode};
use cordon_policy::{Decision, Explanation, Policy, Request, Trace};
use cordon_source::SourceFile;
use cordon_subject::{Subject, SubjectRecord};
use jiff::Timestamp;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn jurisdictions() -> &'static Jurisdictions {
    Jurisdictions::embedded().unwrap()
}

pub fn groups() -> GroupRegistry {
    GroupRegistry::embedded(jurisdictions()).unwrap()
}

pub fn catalog() -> Catalog {
    Catalog::load(&root().join("catalog.toml")).unwrap()
}

/// The shipped directive set.
pub fn shipped() -> Policy {
    Policy::load_dir(
        &root().join("directives"),
        catalog(),
        jurisdictions(),
        &groups(),
    )
    .unwrap()
}

/// The shipped directive files, with `edit` applied to each (file name, text).
pub fn shipped_with(edit: impl Fn(&str, String) -> String) -> Policy {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            files.push(SourceFile::new(name.clone(), edit(&name, text)));
        }
    }
    Policy::from_files(&files, catalog(), jurisdictions(), &groups())
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics))
}

/// A subject from a record that, unless it says otherwise, has been screened
/// with no hit (`"screening": []`): most tests are about places and people, and
/// a never-screened subject is refused by the restricted-party directive.
pub fn subject(json: &str) -> Subject {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    if let Some(o) = v.as_object_mut() {
        o.entry("screening")
            .or_insert_with(|| serde_json::json!([]));
    }
    unscreened(&v.to_string())
}

/// A subject from its record as written: without `screening`, never screened.
pub fn unscreened(json: &str) -> Subject {
    SubjectRecord::from_json(json)
        .unwrap()
        .into_subject(jurisdictions())
        .unwrap()
}

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// After the foreign-national order's grace period.
pub const AFTER_GRACE: &str = "2026-12-10T00:00:00Z";
/// Inside the grace period.
pub const IN_GRACE: &str = "2026-11-25T00:00:00Z";

/// A request builder.
pub struct Ask<'p> {
    pub policy: &'p Policy,
    pub model: String,
    pub request: Request,
}

pub fn ask<'p>(policy: &'p Policy, model: &str) -> Ask<'p> {
    let id = match policy.catalog().resolve(model) {
        Resolution::Known { id, .. } => Some(id),
        Resolution::Unknown => None,
    };
    let mut request = Request::new(id, t(AFTER_GRACE));
    request.country = Some(CountryCode::US);
    Ask {
        policy,
        model: model.to_owned(),
        request,
    }
}

impl Ask<'_> {
    pub fn from(mut self, country: &str) -> Self {
        self.request.country = Some(CountryCode::parse(country).unwrap());
        self.request.region = None;
        self
    }
    pub fn region(mut self, region: &str) -> Self {
        let r = RegionCode::parse(region).unwrap();
        self.request.country = Some(r.country());
        self.request.region = Some(r);
        self
    }
    pub fn nowhere(mut self) -> Self {
        self.request.country = None;
        self.request.region = None;
        self
    }
    pub fn at(mut self, at: &str) -> Self {
        self.request.at = t(at);
        self
    }
    pub fn with(mut self, f: impl FnOnce(&mut Request)) -> Self {
        f(&mut self.request);
        self
    }
    pub fn decide(&self, who: &Subject) -> Decision {
        let mut trace = Trace::default();
        self.policy.decide(who, &self.request, &mut trace)
    }
    pub fn explain(&self, who: &Subject) -> Explanation {
        let mut trace = Trace::default();
        let d = self.policy.decide(who, &self.request, &mut trace);
        self.policy
            .explain(who, &self.request, &self.model, &d, &trace)
    }
}

// Subjects used across the pack tests.

pub const US_CITIZEN: &str =
    r#"{"verification": "document_verified", "citizenships": ["US"], "residence_country": "US"}"#;
pub const VERIFIED_GERMAN: &str = r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#;
pub const SELF_DECLARED_GERMAN: &str =
    r#"{"verification": "self_declared", "citizenships": ["DE"], "residence_country": "DE"}"#;
pub const NOTHING_KNOWN: &str = "{}";
