//! Writes a sample simulation report as JSON and as HTML, to look at the page
//! and to check it in a browser without a store of accounts:
//!
//! ```text
//! cargo run -p cordon-simulate --example render -- report.json report.html
//! ```
//!
//! The figures are made up but consistent (cells = accounts × models, groups
//! sum to the totals per model), spread over many countries so the world map
//! is coloured, with an organisation named like an injection attempt.

use std::process::ExitCode;

use cordon_policy::{Mode, Standing};
use cordon_simulate::html;
use cordon_simulate::report::{
    AccountCounts, ChangeKind, DirectiveChange, FORMAT, GraceDeadline, Group, Report,
    RequestsAccounts, Restorable, SetSummary, Skipped, TrafficModel, TrafficReport,
    TransitionCounts, VerifyAccounts, WayAccounts,
};
use cordon_simulate::{Transition, Way};
use cordon_subject::VerificationLevel;
use cordon_verification::SourceKind;
use jiff::Timestamp;

/// Countries of citizenship with their names and a weight for their share of accounts.
const COUNTRIES: &[(&str, &str, u64)] = &[
    ("US", "United States", 400),
    ("IN", "India", 90),
    ("GB", "United Kingdom", 60),
    ("DE", "Germany", 55),
    ("CN", "China", 50),
    ("CA", "Canada", 40),
    ("FR", "France", 35),
    ("BR", "Brazil", 30),
    ("JP", "Japan", 28),
    ("KR", "South Korea", 22),
    ("AU", "Australia", 20),
    ("MX", "Mexico", 18),
    ("RU", "Russia", 15),
    ("NG", "Nigeria", 14),
    ("ES", "Spain", 14),
    ("IT", "Italy", 13),
    ("ID", "Indonesia", 12),
    ("PK", "Pakistan", 11),
    ("TR", "Turkey", 10),
    ("NL", "Netherlands", 10),
    ("PL", "Poland", 9),
    ("VN", "Vietnam", 9),
    ("EG", "Egypt", 8),
    ("AR", "Argentina", 8),
    ("ZA", "South Africa", 7),
    ("SE", "Sweden", 7),
    ("IR", "Iran", 6),
    ("UA", "Ukraine", 6),
    ("KE", "Kenya", 5),
    ("CO", "Colombia", 5),
    ("SA", "Saudi Arabia", 5),
    ("TH", "Thailand", 5),
    ("PH", "Philippines", 5),
    ("CL", "Chile", 4),
    ("NO", "Norway", 4),
    ("IL", "Israel", 4),
    ("SG", "Singapore", 4),
    ("NZ", "New Zealand", 3),
    ("KZ", "Kazakhstan", 3),
    ("MA", "Morocco", 3),
    ("ET", "Ethiopia", 3),
    ("PE", "Peru", 3),
    ("FI", "Finland", 3),
    ("DZ", "Algeria", 2),
    ("MN", "Mongolia", 1),
    ("CU", "Cuba", 1),
    ("MC", "Monaco", 1),
];

/// Models and the share of their cells each changing transition gets, in ‰ of accounts.
const MODELS: &[(&str, [u64; 6])] = &[
    ("fable-5", [41, 22, 96, 2, 0, 1]),
    ("mythos-5", [41, 22, 96, 2, 0, 1]),
    ("fable-5-mini", [0, 0, 0, 0, 38, 0]),
    ("sonnet-lite", [0, 0, 0, 0, 0, 0]),
    ("embed-2", [0, 0, 0, 0, 0, 0]),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [json_path, html_path] = args.as_slice() else {
        eprintln!("usage: render REPORT.json REPORT.html");
        return ExitCode::from(2);
    };
    let report = sample();
    let json = match report.to_json() {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: cannot serialise the report: {e}");
            return ExitCode::FAILURE;
        }
    };
    for (path, text) in [(json_path, json), (html_path, html::render(&report))] {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write `{path}`: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Counts per transition for `n` accounts at the per-mille `rates`.
fn cells(n: u64, rates: [u64; 6]) -> TransitionCounts {
    let mut a = [0u64; Transition::COUNT];
    for (slot, rate) in a.iter_mut().skip(1).zip(rates) {
        *slot = n * rate / 1000;
    }
    a[0] = n - a.iter().skip(1).sum::<u64>();
    TransitionCounts::from_array(a)
}

fn add(a: &mut TransitionCounts, b: &TransitionCounts) {
    let mut sum = [0u64; Transition::COUNT];
    for (t, s) in Transition::ALL.iter().zip(sum.iter_mut()) {
        *s = a.get(*t) + b.get(*t);
    }
    *a = TransitionCounts::from_array(sum);
}

/// A group of `n` accounts of which `rate`‰ are affected on the frontier models.
fn group(key: &str, name: &str, n: u64, rate: u64) -> Group {
    let affected = n * rate / 1000;
    let mut c = TransitionCounts::default();
    for (_, r) in MODELS {
        let scaled = r.map(|x| x * rate / 160);
        add(&mut c, &cells(n, scaled));
    }
    Group {
        key: key.into(),
        name: name.into(),
        accounts: n,
        affected_accounts: affected,
        cells: c,
    }
}

fn sorted(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by(|a, b| {
        b.affected_accounts
            .cmp(&a.affected_accounts)
            .then_with(|| a.key.cmp(&b.key))
    });
    groups
}

fn sample() -> Report {
    let accounts: u64 = 250_000;
    let weight: u64 = COUNTRIES.iter().map(|c| c.2).sum();
    let mut totals = TransitionCounts::default();
    let by_model: Vec<Group> = MODELS
        .iter()
        .map(|(id, rates)| {
            let c = cells(accounts, *rates);
            add(&mut totals, &c);
            Group {
                key: (*id).into(),
                name: String::new(),
                accounts,
                affected_accounts: c.changed(),
                cells: c,
            }
        })
        .collect();
    let mut by_citizenship: Vec<Group> = COUNTRIES
        .iter()
        .map(|(code, name, w)| {
            let rate = if *code == "US" { 4 } else { 140 + (w * 7) % 60 };
            group(code, name, accounts * w / weight, rate)
        })
        .collect();
    by_citizenship.push(group("unknown", "unknown", 3_100, 300));
    let mut by_organization = vec![group("(none)", "(none)", 180_000, 120)];
    by_organization.push(group(
        "<script>alert('Acme')</script> Ltd",
        "<script>alert('Acme')</script> Ltd",
        420,
        500,
    ));
    for i in 1..40u64 {
        let name = format!("Organisation {i:02} GmbH & Co. KG");
        by_organization.push(group(&name, &name, 2_000 - i * 37, 20 + i * 7 % 150));
    }
    let affected = by_model
        .iter()
        .map(|g| g.affected_accounts)
        .max()
        .unwrap_or(0);
    // Everyone asked to verify can do it with the vendor but those whose
    // account no longer reads right; members of an organisation can also
    // be attested; self-declaration is below the order's level.
    let verify = VerifyAccounts {
        verification_required: totals.verification_required / 2,
        verification_required_after_grace: totals.verification_required_after_grace / 2,
    };
    let unrestorable = VerifyAccounts {
        verification_required: verify.verification_required / 50,
        verification_required_after_grace: verify.verification_required_after_grace / 50,
    };
    let ways = [
        (
            Way::source(
                "demo-kyc",
                SourceKind::KycVendor,
                VerificationLevel::DocumentVerified,
            ),
            VerifyAccounts {
                verification_required: verify.verification_required
                    - unrestorable.verification_required,
                verification_required_after_grace: verify.verification_required_after_grace
                    - unrestorable.verification_required_after_grace,
            },
        ),
        (
            Way::organisation_attestation(),
            VerifyAccounts {
                verification_required: verify.verification_required / 9,
                verification_required_after_grace: verify.verification_required_after_grace / 9,
            },
        ),
        (Way::self_declaration(), VerifyAccounts::default()),
    ];
    Report {
        format: FORMAT,
        location: "residence".to_owned(),
        at: ts("2026-11-20T00:00:00Z"),
        baseline: SetSummary {
            label: "directives (in force)".into(),
            version: "sha256:6f1c0a3e5b2d4c7e9a8b1d2f3e4c5a6b7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a"
                .into(),
            directives: vec![
                "ofac-comprehensive-sanctions".into(),
                "restricted-parties".into(),
            ],
        },
        proposed: SetSummary {
            label: "directives-2026-11 (proposed)".into(),
            version: "sha256:0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e"
                .into(),
            directives: vec![
                "foreign-national-frontier-2026".into(),
                "ofac-comprehensive-sanctions".into(),
                "restricted-parties".into(),
            ],
        },
        changed_directives: vec![DirectiveChange {
            id: "foreign-national-frontier-2026".into(),
            change: ChangeKind::Added,
            mode: Mode::Enforced,
            standing: Standing::Grace,
            effective: ts("2026-11-20T00:00:00Z"),
            grace_until: Some(ts("2026-12-04T00:00:00Z")),
            expires: None,
        }],
        notes: vec![
            "every changed directive of the proposed set is pending now; simulated at \
             2026-11-20T00:00:00Z, when `foreign-national-frontier-2026` takes effect"
                .into(),
        ],
        models: MODELS.iter().map(|m| m.0.into()).collect(),
        shapes: vec!["chat".into()],
        accounts,
        cells: accounts * MODELS.len() as u64,
        totals,
        affected_accounts: affected,
        accounts_by_transition: AccountCounts {
            lose_access: totals.lose_access / 2,
            verification_required: totals.verification_required / 2,
            verification_required_after_grace: totals.verification_required_after_grace / 2,
            gain_access: totals.gain_access / 2,
            obligations_changed: totals.obligations_changed,
            refusal_changed: totals.refusal_changed / 2,
        },
        grace_deadlines: vec![GraceDeadline {
            directive: "foreign-national-frontier-2026".into(),
            deadline: ts("2026-12-04T00:00:00Z"),
            accounts: totals.verification_required_after_grace / 2,
            refusal_changes: 0,
            new_limits: 0,
        }],
        limit_changes: vec![],
        already_refused: vec![],
        restorable_by: Restorable {
            ways: ways
                .into_iter()
                .map(|(w, accounts)| WayAccounts {
                    key: w.name,
                    kind: w.kind,
                    max_level: w.max_level,
                    organisations_only: w.organisations_only,
                    accounts,
                })
                .collect(),
            none: unrestorable,
        },
        by_model: sorted(by_model),
        by_shape: vec![],
        by_citizenship: sorted(by_citizenship),
        by_residence: sorted(
            COUNTRIES
                .iter()
                .take(30)
                .map(|(code, name, w)| group(code, name, accounts * w / weight, 90))
                .collect(),
        ),
        by_organization: sorted(by_organization),
        by_verification: sorted(vec![
            group("none", "none", 120_000, 190),
            group("self_declared", "self_declared", 80_000, 150),
            group("document_verified", "document_verified", 45_000, 60),
            group("attested", "attested", 5_000, 0),
        ]),
        traffic: Some(TrafficReport {
            log: "/var/lib/cordon/audit".into(),
            since: Some(ts("2026-11-13T00:00:00Z")),
            first: Some(ts("2026-11-13T00:00:04Z")),
            last: Some(ts("2026-11-19T23:59:58Z")),
            decisions: 1_482_913,
            replayed: 1_470_002,
            skipped: Skipped {
                no_account: 11_870,
                unknown_account: 1_041,
            },
            accounts: 61_204,
            would_refuse: RequestsAccounts {
                requests: 98_311,
                accounts: 6_020,
            },
            newly_refused: RequestsAccounts {
                requests: 91_877,
                accounts: 5_804,
            },
            newly_allowed: RequestsAccounts {
                requests: 12,
                accounts: 2,
            },
            by_model: vec![
                TrafficModel {
                    key: "fable-5".into(),
                    requests: 802_113,
                    newly_refused: 61_230,
                    newly_allowed: 12,
                },
                TrafficModel {
                    key: "mythos-5".into(),
                    requests: 410_300,
                    newly_refused: 30_647,
                    newly_allowed: 0,
                },
                TrafficModel {
                    key: "sonnet-lite".into(),
                    requests: 257_589,
                    newly_refused: 0,
                    newly_allowed: 0,
                },
            ],
        }),
    }
}
