//! The identity store on disk, fed with generated import files of 1000 rows.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use cordon_store::{
    IdentityStore, ImportFormat, ImportOptions, ImportReport, SqliteStore, StoreError,
};
use serde_json::json;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cordon-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A small deterministic generator (64-bit LCG), so the files are the same every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const COUNTRIES: &[&str] = &[
    "DE", "FR", "US", "CN", "RU", "IN", "BR", "JP", "GB", "UA", "IR", "KP", "CU", "SY", "NL", "CA",
    "MX", "NG", "KR", "SG",
];
const LEVELS: &[&str] = &["none", "self_declared", "document_verified", "attested"];
const SOURCES: &[&str] = &["signup", "kyc-vendor", "sales", "licence roster"];

/// What kind of defect a row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defect {
    BadCode,
    MissingId,
    Duplicate,
    BadBool,
    BadJson,
    BadRegion,
}

/// One generated account: id and subject fields, plus its defect if any.
struct Gen {
    id: String,
    citizenships: Vec<&'static str>,
    permanent_residencies: Option<Vec<&'static str>>,
    residence: Option<(&'static str, Option<&'static str>)>,
    verification: &'static str,
    source: &'static str,
    us_person: Option<bool>,
    organization: Option<(String, &'static str)>,
    defect: Option<Defect>,
}

/// 1000 accounts; the defects sit at fixed rows so the expected line numbers are known.
fn generate() -> Vec<Gen> {
    let defects: BTreeMap<usize, Defect> = [
        (10, Defect::BadCode),
        (20, Defect::MissingId),
        (30, Defect::Duplicate),
        (40, Defect::BadBool),
        (50, Defect::BadJson),
        (250, Defect::BadCode),
        (500, Defect::MissingId),
        (700, Defect::Duplicate),
        (860, Defect::BadRegion),
        (999, Defect::BadCode),
    ]
    .into_iter()
    .collect();
    let mut rng = Lcg(42);
    let mut out: Vec<Gen> = Vec::with_capacity(1000);
    for i in 0..1000 {
        let defect = defects.get(&i).copied();
        let n = 1 + (rng.next() % 3) as usize;
        let mut citizenships: Vec<&str> = Vec::new();
        while citizenships.len() < n {
            let c = rng.pick(COUNTRIES);
            if !citizenships.contains(&c) {
                citizenships.push(c);
            }
        }
        if defect == Some(Defect::BadCode) {
            citizenships.push("XZ");
        }
        let permanent_residencies = match rng.next() % 3 {
            0 => None,
            1 => Some(Vec::new()),
            _ => Some(vec![rng.pick(COUNTRIES)]),
        };
        let residence = if defect == Some(Defect::BadRegion) {
            Some(("RU", Some("UA-43")))
        } else if rng.chance(20) {
            Some(("UA", Some(rng.pick(&["UA-30", "UA-43", "UA-14", "UA-46"]))))
        } else if rng.chance(60) {
            Some((rng.pick(COUNTRIES), None))
        } else {
            None
        };
        let id = if defect == Some(Defect::Duplicate) {
            out[i - 1].id.clone()
        } else {
            format!("acct-{i:04}")
        };
        out.push(Gen {
            id,
            citizenships,
            permanent_residencies,
            residence,
            verification: rng.pick(LEVELS),
            source: rng.pick(SOURCES),
            us_person: match rng.next() % 3 {
                0 => None,
                1 => Some(false),
                _ => Some(true),
            },
            organization: rng
                .chance(30)
                .then(|| (format!("Org {i}, Ltd."), rng.pick(COUNTRIES))),
            defect,
        });
    }
    out
}

fn csv(rows: &[Gen]) -> String {
    let mut s = String::from(
        "id,citizenships,permanent_residencies,residence_country,residence_region,verification,source,us_person,organization,organization_country\n",
    );
    for g in rows {
        let id = if g.defect == Some(Defect::MissingId) {
            ""
        } else {
            &g.id
        };
        let pr = match &g.permanent_residencies {
            None => String::new(),
            Some(v) if v.is_empty() => "-".to_owned(),
            Some(v) => v.join(";"),
        };
        let (rc, rr) = g.residence.unwrap_or(("", None));
        let us = match (g.defect, g.us_person) {
            (Some(Defect::BadBool), _) => "maybe",
            (_, None) => "",
            (_, Some(true)) => "true",
            (_, Some(false)) => "false",
        };
        let (org, org_c) = match &g.organization {
            Some((n, c)) => (format!("\"{n}\""), *c),
            None => (String::new(), ""),
        };
        writeln!(
            s,
            "{id},{},{pr},{rc},{},{},{},{us},{org},{org_c}",
            g.citizenships.join(";"),
            rr.unwrap_or(""),
            g.verification,
            g.source,
        )
        .unwrap();
    }
    s
}

fn jsonl(rows: &[Gen]) -> String {
    let mut s = String::new();
    for g in rows {
        if g.defect == Some(Defect::BadJson) {
            writeln!(s, "{{\"id\": \"{}\", \"citizenships\": [\"DE\"", g.id).unwrap();
            continue;
        }
        let mut o = serde_json::Map::new();
        if g.defect != Some(Defect::MissingId) {
            o.insert("id".into(), json!(g.id));
        }
        o.insert("citizenships".into(), json!(g.citizenships));
        if let Some(p) = &g.permanent_residencies {
            o.insert("permanent_residencies".into(), json!(p));
        }
        if let Some((c, r)) = g.residence {
            o.insert("residence_country".into(), json!(c));
            if let Some(r) = r {
                o.insert(
                    "residence_region".into(),
                    json!({"region": r, "verification": "self_declared"}),
                );
            }
        }
        o.insert("verification".into(), json!(g.verification));
        o.insert("source".into(), json!(g.source));
        match (g.defect, g.us_person) {
            (Some(Defect::BadBool), _) => {
                o.insert("us_person".into(), json!("maybe"));
            }
            (_, Some(b)) => {
                o.insert("us_person".into(), json!(b));
            }
            (_, None) => {}
        }
        if let Some((n, c)) = &g.organization {
            o.insert("organization".into(), json!({"name": n, "country": c}));
        }
        o.insert("key_label".into(), json!("import"));
        writeln!(s, "{}", serde_json::Value::Object(o)).unwrap();
    }
    s
}

/// The expected bad lines, with a word each message must contain.
fn expected_errors(
    rows: &[Gen],
    first_line: u64,
    format: ImportFormat,
) -> Vec<(u64, &'static str)> {
    rows.iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let line = first_line + i as u64;
            let needle = match g.defect? {
                Defect::BadCode => "`XZ` is not an assigned",
                Defect::MissingId if format == ImportFormat::Csv => "`id` is empty",
                Defect::MissingId => "missing field `id`",
                Defect::Duplicate => "more than once",
                Defect::BadBool if format == ImportFormat::Csv => "column `us_person`",
                Defect::BadBool => "subject field `us_person`",
                Defect::BadJson if format == ImportFormat::Jsonl => "not valid JSON",
                Defect::BadJson => return None,
                Defect::BadRegion => "subject field `residence_region`",
            };
            Some((line, needle))
        })
        .collect()
}

fn check_report(report: &ImportReport, rows: &[Gen], first_line: u64, format: ImportFormat) {
    let expected = expected_errors(rows, first_line, format);
    let got: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    let want: Vec<u64> = expected.iter().map(|(l, _)| *l).collect();
    assert_eq!(got, want, "{:#?}", report.errors);
    for (e, (_, needle)) in report.errors.iter().zip(&expected) {
        assert!(e.message.contains(needle), "line {}: {}", e.line, e.message);
    }
    assert_eq!(report.imported, 1000 - expected.len() as u64);
}

#[test]
fn a_1000_row_csv_imports_in_batches_and_reports_exact_lines() {
    let dir = temp_dir("csv");
    let path = dir.join("identity.db");
    let rows = generate();
    let text = csv(&rows);
    assert_eq!(text.lines().count(), 1001);
    let store = SqliteStore::open(&path).unwrap();
    let v0 = store.version().unwrap();
    let mut calls = Vec::new();
    let report = store
        .import(
            text.as_bytes(),
            ImportFormat::Csv,
            ImportOptions {
                batch: 64,
                upsert: false,
            },
            &mut |n| calls.push(n),
        )
        .unwrap();
    // The header is line 1, so row i is on line i + 2.
    check_report(&report, &rows, 2, ImportFormat::Csv);
    assert_eq!(report.lines, 1001);
    // One progress call per batch of 64 good rows and one at the end; never backwards.
    assert!(calls.len() >= 15, "{calls:?}");
    assert!(calls.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(calls.last(), Some(&1001));
    // One version step per committed batch.
    assert!(store.version().unwrap() >= v0 + 15);
    drop(store);

    // Reopen: everything accepted is there.
    let store = SqliteStore::open(&path).unwrap();
    let all = store.list().unwrap();
    assert_eq!(all.len() as u64, report.imported);
    let a = store.get("acct-0001").unwrap().unwrap();
    let g = &rows[1];
    assert_eq!(a.subject["citizenships"], json!(g.citizenships));
    assert_eq!(a.subject["verification"], json!(g.verification));
    // The duplicate at row 30 kept the first occurrence (row 29).
    assert!(store.get(&rows[29].id).unwrap().is_some());
    assert!(
        store.get("acct-0010").unwrap().is_none(),
        "bad code row stored"
    );
    // Every stored subject authenticates to a valid Subject.
    for r in &all {
        r.to_subject(store.jurisdictions()).unwrap();
    }
}

#[test]
fn a_1000_row_jsonl_import_reports_bad_json_and_upserts_on_request() {
    let rows = generate();
    let text = jsonl(&rows);
    let store = SqliteStore::open_in_memory().unwrap();
    let report = store
        .import(
            text.as_bytes(),
            ImportFormat::Jsonl,
            ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    check_report(&report, &rows, 1, ImportFormat::Jsonl);
    let regioned = store
        .list()
        .unwrap()
        .into_iter()
        .find(|a| a.subject.get("residence_region").is_some())
        .unwrap();
    assert_eq!(
        regioned.subject["residence_region"]["verification"],
        json!("self_declared")
    );

    // Again without upsert: every good row now exists and is reported as such.
    let again = store
        .import(
            text.as_bytes(),
            ImportFormat::Jsonl,
            ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.errors.len(), 1000);
    assert!(
        again.errors[0].message.contains("already exists"),
        "{}",
        again.errors[0]
    );
    // With upsert the same file updates them.
    let up = store
        .import(
            text.as_bytes(),
            ImportFormat::Jsonl,
            ImportOptions {
                batch: 100,
                upsert: true,
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!((up.imported, up.updated), (0, report.imported));
    assert_eq!(up.errors.len(), report.errors.len());
}

#[test]
fn a_bad_row_does_not_roll_back_its_batch() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.add_account("taken", json!({})).unwrap();
    let text = "id,citizenships\ngood-1,DE\ntaken,FR\ngood-2,XZ\ngood-3,US\n";
    let report = store
        .import(
            text.as_bytes(),
            ImportFormat::Csv,
            ImportOptions {
                batch: 1000,
                upsert: false,
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(report.imported, 2);
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4]);
    assert_eq!(
        report.errors[0].to_string(),
        "line 3: account `taken` already exists (import with upsert to replace its subject)"
    );
    assert_eq!(
        report.errors[1].to_string(),
        "line 4: account `good-2`: subject field `citizenships[0]`: `XZ` is not an assigned ISO 3166-1 country code"
    );
    assert!(store.get("good-1").unwrap().is_some());
    assert!(store.get("good-3").unwrap().is_some());
    assert_eq!(store.get("taken").unwrap().unwrap().subject, json!({}));
}

#[test]
fn a_bad_header_imports_nothing() {
    let store = SqliteStore::open_in_memory().unwrap();
    let e = store
        .import(
            "id,citizenship\na,DE\n".as_bytes(),
            ImportFormat::Csv,
            ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::CsvHeader(_)), "{e}");
    assert!(e.to_string().contains("`citizenship`"), "{e}");
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn the_file_is_created_with_its_schema_and_keeps_keys_across_reopening() {
    let dir = temp_dir("reopen");
    let path = dir.join("identity.db");
    assert!(!path.exists());
    let store = SqliteStore::open(&path).unwrap();
    assert!(path.exists());
    assert_eq!(store.schema_version().unwrap(), 5);
    store
        .add_account(
            "acct-1",
            json!({"citizenships": ["DE"], "verification": "attested"}),
        )
        .unwrap();
    let key = store.create_key("acct-1", Some("prod")).unwrap();
    let version = store.version().unwrap();
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 5);
    assert_eq!(store.version().unwrap(), version);
    let p = store.authenticate(&key.key).unwrap().unwrap();
    assert_eq!(p.account, "acct-1");
    let keys = store.list_keys("acct-1").unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].label.as_deref(), Some("prod"));

    // A second handle on the same file (another process, in practice) sees writes.
    let other = SqliteStore::open(&path).unwrap();
    other.disable("acct-1").unwrap();
    assert!(store.version().unwrap() > version);
    assert_eq!(store.authenticate(&key.key).unwrap(), None);
}

#[test]
fn a_missing_directory_is_an_open_error_naming_the_path() {
    let dir = temp_dir("missing");
    let path = dir.join("no/such/dir/identity.db");
    let e = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }), "{e}");
    assert!(e.to_string().contains("identity.db"), "{e}");
}

#[test]
fn the_store_works_behind_the_trait_object() {
    let store = SqliteStore::open_in_memory().unwrap();
    store.add_account("a", json!({})).unwrap();
    let key = store.create_key("a", None).unwrap();
    let shared: std::sync::Arc<dyn IdentityStore> = std::sync::Arc::new(store);
    assert!(shared.authenticate(&key.key).unwrap().is_some());
    assert!(shared.account("a").unwrap().is_some());
    assert!(shared.account("b").unwrap().is_none());
}

#[test]
fn a_file_from_a_newer_schema_is_refused() {
    let dir = temp_dir("newer");
    let path = dir.join("identity.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', '2030-01-01T00:00:00Z')",
        [],
    )
    .unwrap();
    drop(conn);
    let e = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::SchemaTooNew {
                found: 99,
                supported: 5
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("upgrade cordon"), "{e}");
}
