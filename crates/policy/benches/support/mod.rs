//! A synthetic, realistic directive set shared by the `decide` bench and the
//! Cedar comparison in `bench/cedar-compare` (which includes this file with
//! `#[path]`).
//!
//! Each directive is described once as a [`Spec`]; [`Spec::to_toml`] writes it in
//! Cordon's directive format and `bench/cedar-compare` writes the same spec in
//! Cedar, so the two engines decide the same policy. The shipped directives in
//! `directives/` are included verbatim for Cordon, and described by hand-written
//! specs ([`shipped_specs`]) for Cedar.

use std::fmt::Write as _;

use cordon_catalog::{Catalog, Resolution};
use cordon_jurisdiction::{CountryCode, GroupRegistry, Jurisdictions, RegionCode};
use cordon_policy::{Policy, Request};
use cordon_source::SourceFile;
use cordon_subject::{Subject, SubjectRecord};
use jiff::Timestamp;

/// When every benchmark request is decided: after the shipped foreign-national
/// order's grace period, inside some synthetic directives' grace periods.
pub const AT: &str = "2026-12-10T00:00:00Z";

/// How many synthetic directives [`synthetic_specs`] generates.
pub const SYNTHETIC: usize = 56;

/// The shipped directive files, verbatim.
pub const SHIPPED: [(&str, &str); 13] = [
    (
        "ai-diffusion-tier3-historical.toml",
        include_str!("../../../../directives/ai-diffusion-tier3-historical.toml"),
    ),
    (
        "ear-russia-belarus-shadow.toml",
        include_str!("../../../../directives/ear-russia-belarus-shadow.toml"),
    ),
    (
        "foreign-national-frontier-partial.toml",
        include_str!("../../../../directives/foreign-national-frontier-partial.toml"),
    ),
    (
        "foreign-national-frontier.toml",
        include_str!("../../../../directives/foreign-national-frontier.toml"),
    ),
    (
        "ofac-crimea.toml",
        include_str!("../../../../directives/ofac-crimea.toml"),
    ),
    (
        "ofac-cuba.toml",
        include_str!("../../../../directives/ofac-cuba.toml"),
    ),
    (
        "ofac-eo14065-regions.toml",
        include_str!("../../../../directives/ofac-eo14065-regions.toml"),
    ),
    (
        "ofac-iran.toml",
        include_str!("../../../../directives/ofac-iran.toml"),
    ),
    (
        "ofac-location-undetermined.toml",
        include_str!("../../../../directives/ofac-location-undetermined.toml"),
    ),
    (
        "ofac-north-korea.toml",
        include_str!("../../../../directives/ofac-north-korea.toml"),
    ),
    (
        "ofac-venezuela-government.toml",
        include_str!("../../../../directives/ofac-venezuela-government.toml"),
    ),
    (
        "restricted-parties.toml",
        include_str!("../../../../directives/restricted-parties.toml"),
    ),
    (
        "russia-it-services-shadow.toml",
        include_str!("../../../../directives/russia-it-services-shadow.toml"),
    ),
];

const SHIPPED_CATALOG: &str = include_str!("../../../../catalog.toml");

/// Models added to the shipped six for a catalog of twenty:
/// (id, family, tags).
pub const EXTRA_MODELS: [(&str, &str, &[&str]); 14] = [
    ("saga-3", "saga", &["frontier", "reasoning"]),
    ("saga-3-mini", "saga", &["reasoning", "small"]),
    ("saga-2", "saga", &["previous-generation"]),
    ("quill-2", "quill", &["code"]),
    ("quill-2-mini", "quill", &["code", "small"]),
    ("prism-1", "prism", &["vision", "general"]),
    ("prism-1-pro", "prism", &["vision", "frontier"]),
    ("cadence-1", "cadence", &["audio"]),
    ("cadence-1-tts", "cadence", &["audio", "small"]),
    ("mythos-4", "mythos", &["previous-generation", "code"]),
    ("lyric-3", "lyric", &["previous-generation"]),
    ("echo-embed-3", "echo", &["embedding"]),
    ("echo-rerank-1", "echo", &["embedding", "small"]),
    ("atlas-open-1", "atlas", &["open-weights", "general"]),
];

/// The shipped catalog extended to twenty models.
pub fn catalog_text() -> String {
    let mut out = SHIPPED_CATALOG.to_owned();
    for (id, family, tags) in EXTRA_MODELS {
        let tags: Vec<String> = tags.iter().map(|t| format!("\"{t}\"")).collect();
        let _ = write!(
            out,
            "\n[[model]]\nid = \"{id}\"\nfamily = \"{family}\"\ntags = [{}]\nsnapshots = [\"{id}-2026-06-01\"]\n",
            tags.join(", ")
        );
    }
    out
}

/// The extended catalog, parsed.
pub fn catalog() -> Catalog {
    Catalog::parse(&SourceFile::new("catalog.toml", catalog_text())).unwrap()
}

/// The embedded jurisdiction table.
pub fn jurisdictions() -> &'static Jurisdictions {
    Jurisdictions::embedded().unwrap()
}

/// The embedded country groups.
pub fn groups() -> GroupRegistry {
    GroupRegistry::embedded(jurisdictions()).unwrap()
}

/// A condition, in the small vocabulary the synthetic set uses.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `true`.
    True,
    /// `request.country in group("G")`.
    CountryIn(&'static str),
    /// `request.location in group("G")` (countries and regions).
    LocationIn(&'static str),
    /// `not known(request.country)`.
    CountryUnknown,
    /// `subject.citizenships in [..]`: any citizenship listed.
    CitizenshipsIn(&'static [&'static str]),
    /// `subject.citizenships in group("G")`: any citizenship in the group.
    CitizenshipsInGroup(&'static str),
    /// `subject.residence in group("G")`.
    ResidenceIn(&'static str),
    /// `not subject.us_person`.
    NotUsPerson,
    /// `subject.screening.confirmed in [..]`.
    Confirmed(&'static [&'static str]),
    /// `subject.screening.pending in [..]`.
    Pending(&'static [&'static str]),
    /// `request.max_tokens > N`.
    MaxTokensGt(u32),
    /// `request.anonymizer`.
    Anonymizer,
    /// `request.features in [..]`.
    FeaturesIn(&'static [&'static str]),
    /// Conjunction.
    And(Box<Cond>, Box<Cond>),
    /// Disjunction.
    Or(Box<Cond>, Box<Cond>),
}

impl Cond {
    /// The condition in Cordon's language.
    pub fn to_cordon(&self) -> String {
        let list = |xs: &[&str]| xs.join(", ");
        match self {
            Cond::True => "true".into(),
            Cond::CountryIn(g) => format!("request.country in group(\"{g}\")"),
            Cond::LocationIn(g) => format!("request.location in group(\"{g}\")"),
            Cond::CountryUnknown => "not known(request.country)".into(),
            Cond::CitizenshipsIn(xs) => format!("subject.citizenships in [{}]", list(xs)),
            Cond::CitizenshipsInGroup(g) => format!("subject.citizenships in group(\"{g}\")"),
            Cond::ResidenceIn(g) => format!("subject.residence in group(\"{g}\")"),
            Cond::NotUsPerson => "not subject.us_person".into(),
            Cond::Confirmed(xs) => format!("subject.screening.confirmed in [{}]", list(xs)),
            Cond::Pending(xs) => format!("subject.screening.pending in [{}]", list(xs)),
            Cond::MaxTokensGt(n) => format!("request.max_tokens > {n}"),
            Cond::Anonymizer => "request.anonymizer".into(),
            Cond::FeaturesIn(xs) => format!("request.features in [{}]", list(xs)),
            Cond::And(a, b) => format!("({}) and ({})", a.to_cordon(), b.to_cordon()),
            Cond::Or(a, b) => format!("({}) or ({})", a.to_cordon(), b.to_cordon()),
        }
    }
}

/// A rule's effect, as directives write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eff {
    /// `deny`.
    Deny,
    /// `verification_required`.
    Verify,
    /// `allow_with_obligations`, capping `max_tokens` and removing features.
    Oblige(Option<u32>, &'static [&'static str]),
}

impl Eff {
    /// The effect's name in directive files.
    pub fn name(self) -> &'static str {
        match self {
            Eff::Deny => "deny",
            Eff::Verify => "verification_required",
            Eff::Oblige(..) => "allow_with_obligations",
        }
    }
}

/// What unknown means, as directives write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unk {
    /// `deny`.
    Deny,
    /// `allow`.
    Allow,
    /// `verification_required`.
    Verify,
    /// `apply`: the rule's own effect.
    Apply,
}

impl Unk {
    /// The meaning's name in directive files.
    pub fn name(self) -> &'static str {
        match self {
            Unk::Deny => "deny",
            Unk::Allow => "allow",
            Unk::Verify => "verification_required",
            Unk::Apply => "apply",
        }
    }
}

/// One rule.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// The condition.
    pub when: Cond,
    /// Its effect.
    pub effect: Eff,
}

/// A licence exemption.
#[derive(Debug, Clone)]
pub struct ExemptionSpec {
    /// Licence number.
    pub licence: &'static str,
    /// Holder organisation.
    pub holder: &'static str,
    /// Lapse time (RFC 3339).
    pub expires: &'static str,
    /// Required verification of the organisation (`None`: the directive's).
    pub min_verification: Option<&'static str>,
}

/// One directive, engine-neutral.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Directive id.
    pub id: String,
    /// `enforced`, `shadow`, `draft` or `retired`.
    pub mode: &'static str,
    /// Effective time (RFC 3339).
    pub effective: &'static str,
    /// End of grace (RFC 3339), if any.
    pub grace_until: Option<&'static str>,
    /// Lapse (RFC 3339), if any.
    pub expires: Option<&'static str>,
    /// Minimum verification for subject attributes.
    pub min_verification: &'static str,
    /// Scope: model ids.
    pub models: Vec<&'static str>,
    /// Scope: families.
    pub families: Vec<&'static str>,
    /// Scope: tags.
    pub tags: Vec<&'static str>,
    /// Scope: endpoints.
    pub endpoints: Vec<&'static str>,
    /// Scope: features.
    pub features: Vec<&'static str>,
    /// Unknown meaning.
    pub unknown: Unk,
    /// Unknown meaning during grace, if different.
    pub during_grace: Option<Unk>,
    /// Rules.
    pub rules: Vec<RuleSpec>,
    /// Exemptions.
    pub exemptions: Vec<ExemptionSpec>,
}

fn quoted(xs: &[&str]) -> String {
    xs.iter()
        .map(|x| format!("\"{x}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Spec {
    /// The directive file text.
    pub fn to_toml(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "id = \"{}\"", self.id);
        let _ = writeln!(t, "title = \"Synthetic directive {}\"", self.id);
        t.push_str("authority = \"Benchmark authority\"\n");
        t.push_str("citation = \"Synthetic, for benchmarks only\"\n");
        t.push_str("issued = 2026-01-01\n");
        let _ = writeln!(t, "effective = {}", self.effective);
        if let Some(g) = self.grace_until {
            let _ = writeln!(t, "grace_until = {g}");
        }
        if let Some(x) = self.expires {
            let _ = writeln!(t, "expires = {x}");
        }
        let _ = writeln!(t, "mode = \"{}\"", self.mode);
        let _ = writeln!(t, "min_verification = \"{}\"", self.min_verification);
        t.push_str("message = \"Refused by a synthetic directive.\"\n\n[scope]\n");
        for (key, xs) in [
            ("models", &self.models),
            ("families", &self.families),
            ("tags", &self.tags),
            ("endpoints", &self.endpoints),
            ("features", &self.features),
        ] {
            if !xs.is_empty() {
                let _ = writeln!(t, "{key} = [{}]", quoted(xs));
            }
        }
        let _ = write!(t, "\n[unknown]\neffect = \"{}\"\n", self.unknown.name());
        if let Some(g) = self.during_grace {
            let _ = writeln!(t, "during_grace = \"{}\"", g.name());
        }
        for (i, r) in self.rules.iter().enumerate() {
            let _ = write!(
                t,
                "\n[[rule]]\nid = \"r{i}\"\nwhen = '{}'\neffect = \"{}\"\n",
                r.when.to_cordon(),
                r.effect.name()
            );
            if let Eff::Oblige(cap, remove) = r.effect {
                let cap = cap
                    .map(|c| format!("max_tokens = {c}, "))
                    .unwrap_or_default();
                let _ = writeln!(
                    t,
                    "obligations = {{ {cap}remove_features = [{}] }}",
                    quoted(remove)
                );
            }
        }
        for x in &self.exemptions {
            let _ = write!(
                t,
                "\n[[exemption]]\nlicence = \"{}\"\nholder = \"{}\"\nexpires = {}\n",
                x.licence, x.holder, x.expires
            );
            if let Some(m) = x.min_verification {
                let _ = writeln!(t, "min_verification = \"{m}\"");
            }
        }
        t
    }
}

fn spec(id: String, mode: &'static str) -> Spec {
    Spec {
        id,
        mode,
        effective: "2026-01-01T00:00:00Z",
        grace_until: None,
        expires: None,
        min_verification: "none",
        models: Vec::new(),
        families: Vec::new(),
        tags: Vec::new(),
        endpoints: Vec::new(),
        features: Vec::new(),
        unknown: Unk::Allow,
        during_grace: None,
        rules: Vec::new(),
        exemptions: Vec::new(),
    }
}

/// The shipped directives as specs (for engines that cannot read Cordon's
/// format); they mirror the files in `directives/`.
pub fn shipped_specs() -> Vec<Spec> {
    let mut tier3 = spec("ai-diffusion-tier3-2025".into(), "retired");
    tier3.effective = "2025-01-13T00:00:00Z";
    tier3.expires = Some("2025-05-13T00:00:00Z");
    tier3.min_verification = "document_verified";
    tier3.tags = vec!["frontier"];
    tier3.unknown = Unk::Deny;
    tier3.rules = vec![RuleSpec {
        when: Cond::CountryIn("AI-DIFFUSION:TIER-3"),
        effect: Eff::Deny,
    }];

    let mut partial = spec("foreign-national-frontier-2026-partial".into(), "draft");
    partial.effective = "2026-11-20T00:00:00Z";
    partial.grace_until = Some("2026-12-04T00:00:00Z");
    partial.min_verification = "document_verified";
    partial.models = vec!["fable-5", "mythos-5"];
    partial.unknown = Unk::Apply;
    partial.during_grace = Some(Unk::Allow);
    partial.rules = vec![RuleSpec {
        when: Cond::NotUsPerson,
        effect: Eff::Oblige(Some(4096), &["tools"]),
    }];

    let mut foreign = spec("foreign-national-frontier-2026".into(), "enforced");
    foreign.effective = "2026-11-20T00:00:00Z";
    foreign.grace_until = Some("2026-12-04T00:00:00Z");
    foreign.min_verification = "document_verified";
    foreign.models = vec!["fable-5", "mythos-5"];
    foreign.unknown = Unk::Verify;
    foreign.during_grace = Some(Unk::Allow);
    foreign.rules = vec![RuleSpec {
        when: Cond::NotUsPerson,
        effect: Eff::Deny,
    }];

    let mut ofac = spec("ofac-comprehensive-sanctions".into(), "enforced");
    ofac.effective = "2022-02-23T00:00:00Z";
    ofac.unknown = Unk::Allow;
    ofac.rules = vec![
        RuleSpec {
            when: Cond::Or(
                Box::new(Cond::CountryUnknown),
                Box::new(Cond::LocationIn("OFAC:comprehensive")),
            ),
            effect: Eff::Deny,
        },
        RuleSpec {
            when: Cond::ResidenceIn("OFAC:comprehensive"),
            effect: Eff::Deny,
        },
    ];

    let mut parties = spec("restricted-parties".into(), "enforced");
    parties.effective = "2026-11-01T00:00:00Z";
    parties.unknown = Unk::Deny;
    parties.rules = vec![
        RuleSpec {
            when: Cond::Confirmed(&["SDN", "EL", "DPL"]),
            effect: Eff::Deny,
        },
        RuleSpec {
            when: Cond::Pending(&["SDN", "EL", "DPL"]),
            effect: Eff::Verify,
        },
    ];
    vec![tier3, partial, foreign, ofac, parties]
}

/// The synthetic directives: [`SYNTHETIC`] of them, varied in scope, condition,
/// mode, unknown meaning, grace period and exemptions.
pub fn synthetic_specs() -> Vec<Spec> {
    const FAMILIES: [&str; 8] = [
        "fable", "mythos", "lyric", "saga", "quill", "prism", "cadence", "echo",
    ];
    const MODELS: [&str; 6] = [
        "fable-5",
        "mythos-5",
        "saga-3",
        "quill-2",
        "prism-1-pro",
        "lyric-4",
    ];
    const TAGS: [&str; 5] = ["frontier", "code", "reasoning", "vision", "small"];
    (0..SYNTHETIC)
        .map(|i| {
            let mode = if i % 9 == 4 { "shadow" } else { "enforced" };
            let mut s = spec(format!("synthetic-{i:02}"), mode);
            // Scope: all models, a tag, a family, or a few models.
            match (i / 14 + i) % 4 {
                0 => {}
                1 => s.tags = vec![TAGS[i % TAGS.len()]],
                2 => s.families = vec![FAMILIES[i % FAMILIES.len()]],
                _ => {
                    s.models = vec![MODELS[i % MODELS.len()], MODELS[(i + 1) % MODELS.len()]];
                }
            }
            let (when, effect, unknown, min) = match i % 14 {
                0 => (Cond::CountryIn("EAR:D:5"), Eff::Deny, Unk::Allow, "none"),
                1 => (
                    Cond::CitizenshipsIn(&["CN", "RU", "IR", "KP", "BY"]),
                    Eff::Deny,
                    Unk::Verify,
                    "document_verified",
                ),
                2 => (
                    Cond::NotUsPerson,
                    Eff::Deny,
                    Unk::Verify,
                    "document_verified",
                ),
                3 => (Cond::Confirmed(&["SDN"]), Eff::Deny, Unk::Deny, "none"),
                4 => (
                    Cond::LocationIn("OFAC:comprehensive"),
                    Eff::Deny,
                    Unk::Allow,
                    "none",
                ),
                5 => (
                    Cond::MaxTokensGt(4096),
                    Eff::Oblige(Some(4096), &[]),
                    Unk::Allow,
                    "none",
                ),
                6 => (
                    Cond::And(
                        Box::new(Cond::CitizenshipsInGroup("EAR:D:5")),
                        Box::new(Cond::FeaturesIn(&["tools"])),
                    ),
                    Eff::Oblige(None, &["tools"]),
                    Unk::Allow,
                    "self_declared",
                ),
                7 => (Cond::ResidenceIn("EAR:E:1"), Eff::Deny, Unk::Allow, "none"),
                8 => (Cond::Anonymizer, Eff::Verify, Unk::Allow, "none"),
                9 => (
                    Cond::Pending(&["EL", "MEU"]),
                    Eff::Verify,
                    Unk::Deny,
                    "none",
                ),
                10 => {
                    s.endpoints = vec!["fine_tuning", "batch"];
                    (Cond::CountryIn("EAR:D:1"), Eff::Deny, Unk::Deny, "none")
                }
                11 => (
                    Cond::And(
                        Box::new(Cond::NotUsPerson),
                        Box::new(Cond::CountryIn("EAR:D:4")),
                    ),
                    Eff::Deny,
                    Unk::Apply,
                    "document_verified",
                ),
                12 => {
                    s.features = vec!["image_input", "file_input"];
                    (
                        Cond::CitizenshipsInGroup("EAR:E:2"),
                        Eff::Deny,
                        Unk::Verify,
                        "document_verified",
                    )
                }
                _ => (
                    Cond::Or(
                        Box::new(Cond::CountryUnknown),
                        Box::new(Cond::CountryIn("EAR:E:1")),
                    ),
                    Eff::Deny,
                    Unk::Deny,
                    "none",
                ),
            };
            s.rules.push(RuleSpec { when, effect });
            s.unknown = unknown;
            s.min_verification = min;
            // A second rule on some: a pending SDN hit needs review.
            if i % 6 == 5 {
                s.rules.push(RuleSpec {
                    when: Cond::Pending(&["SDN"]),
                    effect: Eff::Verify,
                });
            }
            // Grace periods: some over at AT, some still running.
            match i % 5 {
                1 => {
                    s.effective = "2026-11-15T00:00:00Z";
                    s.grace_until = Some("2027-01-15T00:00:00Z");
                    s.during_grace = Some(Unk::Allow);
                }
                3 => {
                    s.effective = "2026-10-01T00:00:00Z";
                    s.grace_until = Some("2026-11-01T00:00:00Z");
                }
                _ => {}
            }
            // A few not yet effective, one lapsed.
            if i % 17 == 16 {
                s.effective = "2027-03-01T00:00:00Z";
                s.grace_until = None;
                s.during_grace = None;
            }
            if i == 22 {
                s.expires = Some("2026-06-30T00:00:00Z");
            }
            if i % 7 == 3 {
                s.exemptions.push(ExemptionSpec {
                    licence: "L-BENCH-0007",
                    holder: "Northwind Labs",
                    expires: "2027-06-30T00:00:00Z",
                    min_verification: Some("document_verified"),
                });
            }
            s
        })
        .collect()
}

/// Every directive file Cordon loads: the synthetic set and the shipped files.
pub fn directive_files() -> Vec<SourceFile> {
    let mut files: Vec<SourceFile> = synthetic_specs()
        .iter()
        .map(|s| SourceFile::new(format!("{}.toml", s.id), s.to_toml()))
        .collect();
    files.extend(SHIPPED.iter().map(|(n, t)| SourceFile::new(*n, *t)));
    files
}

/// The benchmark policy: [`SYNTHETIC`] synthetic directives plus the shipped
/// ones, over the twenty-model catalog.
pub fn policy() -> Policy {
    Policy::from_files(&directive_files(), catalog(), jurisdictions(), &groups())
        .unwrap_or_else(|e| panic!("synthetic policy does not check: {:#?}", e.diagnostics))
}

/// A subject from its JSON record.
/// A subject from its record; a record without `screening` is taken as
/// screened with no hit, as every account in a store is once lists are imported.
pub fn subject(json: &str) -> Subject {
    let mut s = SubjectRecord::from_json(json)
        .unwrap()
        .into_subject(jurisdictions())
        .unwrap();
    s.screening.get_or_insert_with(Vec::new);
    s
}

/// The decision time.
pub fn at() -> Timestamp {
    AT.parse().unwrap()
}

/// A verified U.S. citizen living in the U.S., nothing on any list.
pub const US_PERSON: &str = r#"{"verification": "document_verified", "citizenships": ["US"], "permanent_residencies": [], "protected_individual": false, "residence_country": "US"}"#;
/// A verified Chinese national living in China.
pub const CHINESE_NATIONAL: &str = r#"{"verification": "document_verified", "citizenships": ["CN"], "permanent_residencies": [], "protected_individual": false, "residence_country": "CN"}"#;
/// A verified German national living in Germany.
pub const GERMAN_NATIONAL: &str = r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#;
/// A verified German–Iranian dual national living in Germany.
pub const DUAL_NATIONAL: &str = r#"{"verification": "document_verified", "citizenships": ["DE", "IR"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}"#;
/// A customer about whom nothing is known.
pub const NOTHING_KNOWN: &str = "{}";
/// A self-declared French national (below document_verified).
pub const SELF_DECLARED_FRENCH: &str =
    r#"{"verification": "self_declared", "citizenships": ["FR"], "residence_country": "FR"}"#;
/// A verified U.S. citizen with a confirmed SDN hit.
pub const SDN_LISTED: &str = r#"{"verification": "document_verified", "citizenships": ["US"], "permanent_residencies": [], "protected_individual": false, "residence_country": "US", "screening": [{"list": "SDN", "status": "confirmed"}]}"#;
/// A verified German member of Northwind Labs (an exemption holder).
pub const NORTHWIND_GERMAN: &str = r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE", "organization": {"name": "Northwind Labs", "country": "US"}}"#;
/// A verified German named in a licence record for the frontier models
/// (named by an alias, so the check resolves names), which excludes two
/// other nationalities.
pub const LICENSED_GERMAN: &str = r#"{"id": "acme-ana", "verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE", "organization": {"name": "Acme Labs"}, "licences": [{"number": "D1234567", "authority": "BIS", "directives": ["restricted-parties", "foreign-national-frontier-2026"], "holder": "acme", "individuals": ["acme-bo", "acme-ana"], "excluded_nationalities": ["CN", "RU"], "models": ["mythos", "fable-5"], "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"}]}"#;

/// A named benchmark case: a subject and a request.
pub struct Case {
    /// Short name for reports.
    pub name: &'static str,
    /// The subject's JSON record.
    pub subject_json: &'static str,
    /// The subject.
    pub subject: Subject,
    /// The request.
    pub request: Request,
    /// The model's name.
    pub model: &'static str,
}

/// A chat request for `model` from `country` (`None`: unknown), with `max_tokens`.
pub fn request(
    policy: &Policy,
    model: &str,
    country: Option<&str>,
    max_tokens: Option<u32>,
) -> Request {
    let id = match policy.catalog().resolve(model) {
        Resolution::Known { id, .. } => Some(id),
        Resolution::Unknown => None,
    };
    let mut r = Request::new(id, at());
    r.country = country.map(|c| CountryCode::parse(c).unwrap());
    r.max_tokens = max_tokens;
    r
}

/// The benchmark's request mix, the allow path first.
pub fn cases(policy: &Policy) -> Vec<Case> {
    let case = |name, subject_json, model, country, max_tokens: Option<u32>| Case {
        name,
        subject_json,
        subject: subject(subject_json),
        request: request(policy, model, country, max_tokens),
        model,
    };
    let mut ukraine = case("crimea", GERMAN_NATIONAL, "lyric-4", Some("UA"), Some(1024));
    ukraine.request.region = Some(RegionCode::parse("UA-43").unwrap());
    let mut tools = case(
        "d5-national-tools",
        DUAL_NATIONAL,
        "quill-2",
        Some("DE"),
        Some(8192),
    );
    tools.request.features.insert(cordon_policy::Feature::Tools);
    vec![
        case("allow", US_PERSON, "fable-5", Some("US"), Some(1024)),
        case("deny", CHINESE_NATIONAL, "fable-5", Some("CN"), Some(1024)),
        case("unknown", NOTHING_KNOWN, "fable-5", Some("DE"), Some(1024)),
        case(
            "foreign-national",
            GERMAN_NATIONAL,
            "mythos-5",
            Some("DE"),
            Some(1024),
        ),
        case(
            "self-declared",
            SELF_DECLARED_FRENCH,
            "saga-3",
            Some("FR"),
            None,
        ),
        case("sdn", SDN_LISTED, "lyric-4", Some("US"), Some(1024)),
        case(
            "exempt",
            NORTHWIND_GERMAN,
            "fable-5",
            Some("DE"),
            Some(1024),
        ),
        case(
            "licensed",
            LICENSED_GERMAN,
            "fable-5",
            Some("DE"),
            Some(1024),
        ),
        case("no-location", US_PERSON, "lyric-4", None, Some(1024)),
        case(
            "dual-national",
            DUAL_NATIONAL,
            "fable-5",
            Some("DE"),
            Some(1024),
        ),
        case(
            "capped",
            US_PERSON,
            "echo-embed-2",
            Some("US"),
            Some(16_000),
        ),
        ukraine,
        tools,
    ]
}
