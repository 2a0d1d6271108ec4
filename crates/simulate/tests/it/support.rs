//! Fixtures: a four-model catalog, a baseline and a proposed set, subjects.

use std::sync::Arc;

use cordon_catalog::Catalog;
use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::Policy;
use cordon_simulate::{AccountImpact, Simulation, Tally, Way};
use cordon_source::SourceFile;
use cordon_subject::{Subject, SubjectRecord, VerificationLevel};
use cordon_verification::SourceKind;
use jiff::Timestamp;

pub const CATALOG: &str = r#"
[[model]]
id = "fable-5"
family = "fable"
tags = ["frontier"]
aliases = ["fable"]

[[model]]
id = "mythos-5"
family = "mythos"
tags = ["frontier"]

[[model]]
id = "fable-4"
family = "fable"

[[model]]
id = "ember-1"
family = "ember"
"#;

/// In force since 2022 in both sets: refuses residents of North Korea.
pub const SANCTIONS: &str = r#"
id = "residence-sanctions"
title = "Residence sanctions"
authority = "Test authority"
citation = "Test citation"
issued = 2022-01-01
effective = 2022-01-01T00:00:00Z
mode = "enforced"
min_verification = "none"
message = "Not available where you live."
remedy = "https://cordon.example/sanctions"

[unknown]
effect = "allow"

[[rule]]
id = "residence"
when = "subject.residence_country in [KP]"
effect = "deny"
"#;

/// The proposed order: foreign nationals lose the two frontier models.
pub const FOREIGN: &str = r#"
id = "foreign-national-frontier"
title = "Foreign nationals may not access frontier models"
authority = "Test authority"
citation = "Test order"
issued = 2026-11-18
effective = 2026-11-20T00:00:00Z
grace_until = 2026-12-04T00:00:00Z
mode = "enforced"
min_verification = "document_verified"
message = "Not available to foreign nationals."
remedy = "https://cordon.example/verify-nationality"

[scope]
models = ["fable-5", "mythos-5"]

[foreign_person]
except = ["us_citizens", "us_nationals", "permanent_residents", "protected_individuals"]
citation = "15 CFR 772.1"

[unknown]
effect = "verification_required"
during_grace = "allow"

[[rule]]
id = "foreign-nationals"
when = "subject.foreign_person"
effect = "deny"

"#;

pub const IN_GRACE: &str = "2026-11-25T00:00:00Z";
pub const AFTER_GRACE: &str = "2026-12-10T00:00:00Z";
pub const BEFORE: &str = "2026-11-01T00:00:00Z";

pub fn jurisdictions() -> &'static Jurisdictions {
    Jurisdictions::embedded().unwrap()
}

pub fn catalog() -> Catalog {
    Catalog::parse(&SourceFile::new("catalog.toml", CATALOG)).unwrap()
}

pub fn policy(files: &[(&str, &str)]) -> Arc<Policy> {
    let files: Vec<SourceFile> = files.iter().map(|(n, t)| SourceFile::new(*n, *t)).collect();
    let groups = GroupRegistry::embedded(jurisdictions()).unwrap();
    Arc::new(
        Policy::from_files(&files, catalog(), jurisdictions(), &groups)
            .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics)),
    )
}

pub fn baseline() -> Arc<Policy> {
    policy(&[("sanctions.toml", SANCTIONS)])
}

pub fn proposed() -> Arc<Policy> {
    policy(&[("sanctions.toml", SANCTIONS), ("foreign.toml", FOREIGN)])
}

pub fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn sim(at: &str) -> Simulation {
    Simulation::new(baseline(), proposed(), t(at)).unwrap()
}

pub fn subject(json: &str) -> Subject {
    SubjectRecord::from_json(json)
        .unwrap()
        .into_subject(jurisdictions())
        .unwrap()
}

pub const US: &str = r#"{"verification": "document_verified", "citizenships": ["US"],
    "permanent_residencies": [], "protected_individual": false, "residence_country": "US"}"#;
pub const DE: &str = r#"{"verification": "document_verified", "citizenships": ["DE"],
    "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#;
pub const UNVERIFIED: &str = r#"{"verification": "self_declared", "citizenships": ["FR"],
    "residence_country": "FR"}"#;
/// A Northwind Labs engineer whom the organisation's licence record names.
pub const NORTHWIND: &str = r#"{"id": "acct-nw", "verification": "document_verified", "citizenships": ["DE"],
    "permanent_residencies": [], "protected_individual": false, "residence_country": "DE",
    "organization": {"name": "Northwind Labs", "country": "US"},
    "licences": [{"number": "L-1", "authority": "Test authority", "directives": ["foreign-national-frontier"],
                  "holder": "northwind", "individuals": ["acct-nw"],
                  "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-20T00:00:00Z"}]}"#;
pub const DUAL: &str = r#"{"verification": "document_verified", "citizenships": ["US", "DE"],
    "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#;
pub const NOTHING: &str = "{}";
/// Unverified, and a member of an organisation without a licence.
pub const MEMBER: &str = r#"{"verification": "self_declared", "citizenships": ["FR"],
    "residence_country": "FR", "organization": {"name": "Contoso", "country": "FR"}}"#;
pub const KP: &str = r#"{"verification": "document_verified", "citizenships": ["KP"],
    "permanent_residencies": [], "protected_individual": false, "residence_country": "KP"}"#;

/// The fixed population of the snapshot tests.
pub fn population() -> Vec<(&'static str, Subject)> {
    [
        ("acct-us", US),
        ("acct-de", DE),
        ("acct-fr", UNVERIFIED),
        ("acct-nw", NORTHWIND),
        ("acct-dual", DUAL),
        ("acct-empty", NOTHING),
        ("acct-kp", KP),
    ]
    .into_iter()
    .map(|(id, j)| (id, subject(j)))
    .collect()
}

/// Simulates every account of `population` into one tally.
pub fn run(sim: &Simulation, population: &[(&str, Subject)]) -> (Tally, Vec<AccountImpact>) {
    let mut tally = Tally::default();
    let impacts = population
        .iter()
        .filter_map(|(id, s)| sim.account(id, s, &mut tally))
        .collect();
    (tally, impacts)
}

pub fn one(sim: &Simulation, json: &str) -> Option<AccountImpact> {
    sim.account("acct", &subject(json), &mut Tally::default())
}

/// A KYC vendor at the default level, a signup form that only self-declares,
/// organisation attestation and self-declaration, in that order.
pub fn ways() -> Vec<Way> {
    vec![
        Way::source(
            "kyc",
            SourceKind::KycVendor,
            VerificationLevel::DocumentVerified,
        ),
        Way::source(
            "form",
            SourceKind::KycVendor,
            VerificationLevel::SelfDeclared,
        ),
        Way::organisation_attestation(),
        Way::self_declaration(),
    ]
}
