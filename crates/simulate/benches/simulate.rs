//! Throughput of the impact simulation at the design's scale: 1,000,000
//! accounts × a 20-model catalog under a baseline and a proposed set on two
//! worker threads, then a replay of 10,000,000 logged requests. Prints wall
//! time and peak resident memory (`VmHWM`); nothing here asserts a time.
//!
//! Every model is covered by a directive that differs between the sets, so no
//! cell is skipped as identical: this is the slow case. Accounts are generated
//! from their index by a small deterministic generator inside the workers, as
//! a store scan would stream them, and every affected account's notify rows
//! are built and dropped.
//!
//! Run: `cargo bench -p cordon-simulate --bench simulate`
//! (`SIMULATE_ACCOUNTS` and `SIMULATE_REQUESTS` override the sizes).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "a benchmark harness: failing loudly on a broken fixture is what we want"
)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use cordon_catalog::Catalog;
use cordon_jurisdiction::{CountryCode, GroupRegistry, Jurisdictions};
use cordon_policy::Policy;
use cordon_simulate::{
    LoggedRequest, ReportInputs, Simulation, Tally, TrafficTally, notify_rows, report,
};
use cordon_source::SourceFile;
use cordon_subject::{Attested, Organization, Provenance, Subject, SubjectKind, VerificationLevel};

const THREADS: usize = 2;
const MODELS: usize = 20;

/// SplitMix64: one multiply-xorshift chain per value, seeded by the index so
/// any thread can build any account.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn catalog_text() -> String {
    let mut s = String::new();
    for i in 0..MODELS {
        let tags = if i < 4 { r#"["frontier"]"# } else { "[]" };
        let _ = write!(
            s,
            "[[model]]\nid = \"model-{i:02}\"\nfamily = \"family-{}\"\ntags = {tags}\naliases = [\"alias-{i:02}\"]\n\n",
            i / 4
        );
    }
    s
}

fn sanctions(countries: &str) -> String {
    format!(
        r#"
id = "residence-sanctions"
title = "Residence sanctions"
authority = "Bench"
citation = "Bench"
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
when = "subject.residence_country in [{countries}]"
effect = "deny"

[[rule]]
id = "location"
when = "request.country in [{countries}]"
effect = "deny"
"#
    )
}

const FOREIGN: &str = r#"
id = "foreign-national-frontier"
title = "Foreign nationals may not access frontier models"
authority = "Bench"
citation = "Bench"
issued = 2026-11-18
effective = 2026-11-20T00:00:00Z
grace_until = 2026-12-04T00:00:00Z
mode = "enforced"
min_verification = "document_verified"
message = "Restricted to U.S. persons."
remedy = "https://cordon.example/verify-nationality"

[scope]
tags = ["frontier"]

[unknown]
effect = "verification_required"
during_grace = "allow"

[[rule]]
id = "foreign-nationals"
when = "not subject.us_person"
effect = "deny"

[[exemption]]
licence = "L-1"
holder = "Northwind Labs"
"#;

fn policy(files: &[(&str, String)]) -> Arc<Policy> {
    let j = Jurisdictions::embedded().unwrap();
    let groups = GroupRegistry::embedded(j).unwrap();
    let catalog = Catalog::parse(&SourceFile::new("catalog.toml", catalog_text())).unwrap();
    let files: Vec<_> = files
        .iter()
        .map(|(n, t)| SourceFile::new(*n, t.clone()))
        .collect();
    Arc::new(Policy::from_files(&files, catalog, j, &groups).unwrap())
}

const COUNTRIES: [&str; 12] = [
    "US", "US", "US", "DE", "FR", "IN", "CN", "BR", "GB", "JP", "IR", "KP",
];
const LEVELS: [VerificationLevel; 4] = [
    VerificationLevel::None,
    VerificationLevel::SelfDeclared,
    VerificationLevel::DocumentVerified,
    VerificationLevel::Attested,
];

fn country(r: &mut Rng) -> CountryCode {
    CountryCode::parse(COUNTRIES[r.below(COUNTRIES.len() as u64) as usize]).unwrap()
}

/// A varied account: unknown nationality, single or dual nationals at
/// every verification level, a few organisations (one a licence holder).
fn subject(index: u64) -> Subject {
    let mut r = Rng(index);
    let level = LEVELS[r.below(4) as usize];
    fn at<T>(value: T, level: VerificationLevel) -> Attested<T> {
        Attested {
            value,
            provenance: Provenance::at_level(level),
        }
    }
    let mut s = Subject {
        verification: level,
        ..Subject::default()
    };
    if r.below(10) > 0 {
        let mut list = vec![at(country(&mut r), level)];
        if r.below(10) == 0 {
            let second = country(&mut r);
            if list.iter().all(|c| c.value != second) {
                list.push(at(second, level));
            }
        }
        s.citizenships = Some(list);
        s.permanent_residencies = Some(Vec::new());
        s.protected_individual = Some(at(false, level));
        s.residence_country = Some(at(country(&mut r), level));
    }
    if r.below(8) == 0 {
        let n = r.below(50);
        let name = if n == 0 {
            "Northwind Labs".to_owned()
        } else {
            format!("Org {n}")
        };
        s.organization = Some(Organization {
            country: Some(at(country(&mut r), level)),
            ..Organization::named(at(name, level))
        });
        if r.below(4) == 0 {
            s.kind = SubjectKind::Organization;
        }
    }
    s
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn env_size(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and
    // only needs this to build, so run a tiny size there.
    let bench = std::env::args().any(|a| a == "--bench");
    let accounts = env_size("SIMULATE_ACCOUNTS", if bench { 1_000_000 } else { 2_000 });
    let requests = env_size("SIMULATE_REQUESTS", if bench { 10_000_000 } else { 20_000 });
    let baseline = policy(&[("sanctions.toml", sanctions("IR, KP"))]);
    let proposed = policy(&[
        ("sanctions.toml", sanctions("IR, KP, CU")),
        ("foreign.toml", FOREIGN.to_owned()),
    ]);
    let at = "2026-11-25T00:00:00Z".parse().unwrap();
    let sim = Simulation::new(baseline, proposed, at).unwrap();

    let start = Instant::now();
    let chunk = accounts.div_ceil(THREADS as u64);
    let results: Vec<(Tally, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS as u64)
            .map(|t| {
                let sim = &sim;
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    let mut rows = 0u64;
                    let mut id = String::new();
                    for i in t * chunk..((t + 1) * chunk).min(accounts) {
                        let s = subject(i);
                        id.clear();
                        let _ = write!(id, "acct-{i}");
                        if let Some(impact) = sim.account(&id, &s, &mut tally) {
                            rows += notify_rows(sim, &impact).len() as u64;
                        }
                    }
                    (tally, rows)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut tally = Tally::default();
    let mut rows = 0;
    for (t, r) in results {
        tally.merge(t);
        rows += r;
    }
    let r = report(&sim, tally, None, ReportInputs::default());
    let json = r.to_json().unwrap();
    let elapsed = start.elapsed();
    println!(
        "accounts: {} × {} models on {THREADS} threads: {:.2} s ({:.0} ns/cell), {} affected, {rows} notify rows, report {} bytes",
        r.accounts,
        r.models.len(),
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / (r.cells.max(1) as f64),
        r.affected_accounts,
        json.len(),
    );
    println!(
        "  totals: lose {} / verify {} / verify after grace {} / unchanged {}",
        r.totals.lose_access,
        r.totals.verification_required,
        r.totals.verification_required_after_grace,
        r.totals.unchanged
    );
    println!("  peak RSS so far: {:.0} MiB", peak_rss_mib());

    // Replay: a pool of accounts with their subjects, as the CLI would hold a
    // store lookup, and requests drawn from it.
    let pool = 100_000u64.min(accounts.max(1));
    let ids: Vec<String> = (0..pool).map(|i| format!("acct-{i}")).collect();
    let subjects: Vec<Subject> = (0..pool).map(subject).collect();
    let names: Vec<String> = (0..MODELS)
        .flat_map(|i| [format!("model-{i:02}"), format!("alias-{i:02}")])
        .chain(["no-such-model".to_owned()])
        .collect();
    let feature_sets: [Vec<String>; 3] = [
        Vec::new(),
        vec!["streaming".to_owned()],
        vec!["tools".to_owned(), "streaming".to_owned()],
    ];
    let start = Instant::now();
    let chunk = requests.div_ceil(THREADS as u64);
    let tallies: Vec<TrafficTally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS as u64)
            .map(|t| {
                let (sim, ids, subjects, names, feature_sets) =
                    (&sim, &ids, &subjects, &names, &feature_sets);
                scope.spawn(move || {
                    let mut traffic = TrafficTally::default();
                    let mut r = Rng(0xC0FFEE ^ t);
                    for _ in t * chunk..((t + 1) * chunk).min(requests) {
                        let a = r.below(pool + pool / 50) as usize;
                        let (account, subject) = match (ids.get(a), subjects.get(a)) {
                            (Some(id), Some(s)) => (Some(id.as_str()), Some(s)),
                            _ if a.is_multiple_of(2) => (None, None),
                            _ => (Some("acct-gone"), None),
                        };
                        let logged = LoggedRequest {
                            account,
                            model: &names[r.below(names.len() as u64) as usize],
                            endpoint: "chat",
                            features: &feature_sets[r.below(3) as usize],
                            client_country: Some(COUNTRIES[r.below(12) as usize]),
                            client_region: None,
                            anonymizer: Some(r.below(50) == 0),
                            effect: if r.below(10) == 0 { "deny" } else { "allow" },
                        };
                        sim.replay(&logged, subject, &mut traffic);
                    }
                    traffic
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut traffic = TrafficTally::default();
    for t in tallies {
        traffic.merge(t);
    }
    let r = report(
        &sim,
        Tally::default(),
        Some(traffic),
        ReportInputs::default(),
    );
    let elapsed = start.elapsed();
    let t = r.traffic.unwrap();
    println!(
        "replay: {} requests on {THREADS} threads: {:.2} s ({:.0} ns/request), {} replayed, {} newly refused",
        t.decisions,
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / (t.decisions.max(1) as f64),
        t.replayed,
        t.newly_refused.requests,
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
}
