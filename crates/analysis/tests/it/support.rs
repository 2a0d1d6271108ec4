//! Shared fixtures: the shipped set, edited copies, generated sets, and
//! replaying a counterexample command with the engine.

#![allow(dead_code, reason = "each test module uses its own part")]

use std::path::{Path, PathBuf};

use cordon_analysis::{Input, Named, Property, Report, analyze};
use cordon_catalog::{Catalog, Resolution};
use cordon_jurisdiction::{CountryCode, GroupRegistry, Jurisdictions, RegionCode};
use cordon_policy::{Decision, Endpoint, Feature, Policy, Request, ToolType, Trace};
use cordon_source::SourceFile;
use cordon_subject::SubjectRecord;

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

/// The shipped directive files, `edit` applied to each (file name, text).
pub fn shipped_files(edit: impl Fn(&str, String) -> String) -> Vec<SourceFile> {
    let mut files = Vec::new();
    for p in cordon_policy::directive_files(&root().join("directives")).unwrap() {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&p).unwrap();
        files.push(SourceFile::new(name.clone(), edit(&name, text)));
    }
    files
}

pub fn policy(files: &[SourceFile]) -> Policy {
    Policy::from_files(files, catalog(), jurisdictions(), &groups())
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics))
}

pub fn shipped() -> Policy {
    policy(&shipped_files(|_, t| t))
}

/// Analyses `set` (named `set-dir` in commands) against `against` (named `against-dir`).
pub fn run(set: &Policy, against: Option<&Policy>, properties: Vec<Property>) -> Report {
    let groups = groups();
    analyze(&Input {
        set: Named {
            policy: set,
            label: "set-dir".into(),
        },
        against: against.map(|p| Named {
            policy: p,
            label: "against-dir".into(),
        }),
        catalog: None,
        properties,
        jurisdictions: jurisdictions(),
        groups: &groups,
    })
    .unwrap()
}

/// The words of a POSIX command line written with single quotes only.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            '\\' if !quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Decides a `cordon decide …` command line with the engine, reading its
/// flags as `cordon decide` does; returns the directive directory it names
/// and the decision.
pub fn replay(line: &str, pick: impl Fn(&str) -> Policy) -> (String, Decision) {
    let w = words(line);
    assert_eq!(&w[..2], ["cordon", "decide"], "{line}");
    let flag = |name: &str| -> Vec<String> {
        w.iter()
            .enumerate()
            .filter(|(_, x)| *x == name)
            .filter_map(|(i, _)| w.get(i + 1).cloned())
            .collect()
    };
    let one = |name: &str| flag(name).into_iter().next();
    let dir = one("--directives").unwrap();
    let policy = pick(&dir);
    let subject = SubjectRecord::from_json(&one("--subject").unwrap())
        .unwrap()
        .into_subject(jurisdictions())
        .unwrap();
    let model = match policy.catalog().resolve(&one("--model").unwrap()) {
        Resolution::Known { id, .. } => Some(id),
        Resolution::Unknown => None,
    };
    let mut r = Request::new(model, one("--at").unwrap().parse().unwrap());
    if let Some(e) = one("--endpoint") {
        r.endpoint = Endpoint::parse(&e).unwrap();
    }
    r.features = flag("--feature")
        .iter()
        .map(|f| Feature::parse(f).unwrap())
        .collect();
    r.tool_types = flag("--tool-type")
        .iter()
        .map(|t| ToolType::parse(t).unwrap())
        .collect();
    if !r.tool_types.is_empty() {
        r.features.insert(Feature::Tools);
    }
    r.max_tokens = one("--max-tokens").map(|n| n.parse().unwrap());
    r.country = one("--country").map(|c| CountryCode::parse(&c).unwrap());
    r.region = one("--region").map(|c| RegionCode::parse(&c).unwrap());
    r.anonymizer = Some(w.iter().any(|x| x == "--anonymizer"));
    let mut trace = Trace::default();
    let d = policy.decide(&subject, &r, &mut trace);
    (dir, d)
}

/// Every counterexample and contrast in `report` decides what it claims,
/// replayed against `set` (for `set-dir`) or `against` (for `against-dir`).
pub fn counterexamples_reproduce(
    report: &Report,
    set: &[SourceFile],
    against: Option<&[SourceFile]>,
) -> usize {
    let mut n = 0;
    for p in &report.properties {
        for v in &p.violations {
            for c in [&v.counterexample, &v.contrast].into_iter().flatten() {
                let (_, d) = replay(&c.command, |dir| match dir {
                    "set-dir" => policy(set),
                    "against-dir" => policy(against.unwrap()),
                    other => panic!("unexpected directory {other}"),
                });
                assert_eq!(d.effect, c.effect, "{}: {}", v.summary, c.command);
                n += 1;
            }
        }
    }
    n
}
