//! `cordon simulate`, run as a compliance officer would: a small store of
//! hand-written accounts, the shipped directives as the proposed set, and the
//! same set without the foreign-national order as the baseline.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use cordon_audit::leaf::{self, Mode, Obligations, Source};
use cordon_audit::{DecisionRecord, Record, SigningKey};
use cordon_audit_log::{AuditLog, LogConfig, OpenError};
use serde_json::Value;

use super::{cordon, expect_code, json, ok, root, s, stderr, stdout, temp_dir};

/// Inside the foreign-national order's grace period (effective 2026-11-20,
/// grace until 2026-12-04).
const AT: &str = "2026-11-27T00:00:00Z";
const ORDER: &str = "foreign-national-frontier-2026";
const GRACE_ENDS: &str = "2026-12-04T00:00:00Z";

/// One account per case the order distinguishes; `gone` is disabled. All
/// but `unknown` were screened with no hit.
const ACCOUNTS: &str = r#"{"id": "de-verified", "screening": [], "verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}
{"id": "us-citizen", "screening": [], "verification": "document_verified", "citizenships": ["US"], "residence_country": "US"}
{"id": "unknown"}
{"id": "northwind", "screening": [], "verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE", "organization": {"name": "Northwind Labs", "country": "US", "verification": "attested"}}
{"id": "fr-self", "screening": [], "verification": "self_declared", "citizenships": ["FR"], "residence_country": "FR"}
{"id": "gone", "screening": [], "verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"}
"#;

/// A scratch directory with the store and the baseline directive set.
struct Fixture {
    dir: PathBuf,
    store: PathBuf,
    baseline: PathBuf,
}

/// The shipped directives, minus `without`, copied into `dir`.
fn directive_set(dir: &Path, without: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name().unwrap() != without {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    dir.to_owned()
}

fn fixture(name: &str) -> Fixture {
    let dir = temp_dir(&format!("simulate-{name}"));
    let store = dir.join("identity.db");
    let input = dir.join("accounts.jsonl");
    std::fs::write(&input, ACCOUNTS).unwrap();
    ok(&cordon(&[
        "accounts",
        "--store",
        s(&store),
        "import",
        s(&input),
    ]));
    ok(&cordon(&[
        "accounts",
        "--store",
        s(&store),
        "disable",
        "gone",
    ]));
    let baseline = directive_set(&dir.join("baseline"), "foreign-national-frontier.toml");
    Fixture {
        dir,
        store,
        baseline,
    }
}

/// Runs `cordon simulate` of the shipped set against the fixture's baseline.
fn simulate(fx: &Fixture, args: &[&str]) -> Output {
    simulate_set(fx, &root().join("directives"), args)
}

fn simulate_set(fx: &Fixture, proposed: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "simulate",
        "--directives",
        s(proposed),
        "--baseline",
        s(&fx.baseline),
        "--store",
        s(&fx.store),
    ];
    all.extend_from_slice(args);
    cordon(&all)
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn the_figures_count_each_named_account_where_it_belongs() {
    let fx = fixture("figures");
    let notify = fx.dir.join("notify.csv");
    let r = json(&simulate(
        &fx,
        &["--at", AT, "--format", "json", "--notify-out", s(&notify)],
    ));
    assert_eq!(r["format"], "cordon-simulation/1");
    assert_eq!(r["at"], AT);
    let models = r["models"].as_array().unwrap().len() as u64;
    // `gone` is disabled and left out.
    assert_eq!(r["accounts"], 5);
    assert_eq!(r["cells"], 5 * models);
    // de-verified loses both frontier models, and so does northwind: an
    // attested member of Northwind Labs whom no licence record names (a
    // licence covers the individuals it names, not every member of its
    // holder). fr-self (status only self-declared) keeps them until the
    // grace period ends; us-citizen is a U.S. person. Requests are simulated
    // from the residence country, so `unknown` (no residence) is refused by
    // the sanctions directive under both sets and nothing changes for it.
    let totals = &r["totals"];
    assert_eq!(totals["lose_access"], 4, "{totals}");
    assert_eq!(totals["verification_required_after_grace"], 2, "{totals}");
    assert_eq!(totals["unchanged"], 5 * models - 6, "{totals}");
    assert_eq!(r["affected_accounts"], 3);
    assert_eq!(r["accounts_by_transition"]["lose_access"], 2);
    assert_eq!(
        r["accounts_by_transition"]["verification_required_after_grace"],
        1
    );
    assert_eq!(
        r["grace_deadlines"],
        serde_json::json!([{"directive": ORDER, "deadline": GRACE_ENDS, "accounts": 1, "refusal_changes": 0, "new_limits": 0}])
    );
    let changed: Vec<&str> = r["changed_directives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(changed, [ORDER]);
    let fable = r["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "fable-5")
        .unwrap();
    assert_eq!(fable["affected_accounts"], 3);
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("1 disabled account")),
        "{}",
        r["notes"]
    );

    let csv = std::fs::read_to_string(&notify).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("account,change,models,action,deadline,directive,remedy,ways,start,shape,limits")
    );
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    let accounts: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(accounts, ["de-verified", "fr-self", "northwind"], "{csv}");
    let de = &rows[0];
    assert_eq!(de[1], "lose_access");
    assert_eq!(de[2], "fable-5;mythos-5");
    assert_eq!(de[3], "access ends");
    assert_eq!(de[5], ORDER);
    assert_eq!(de[6], "https://cordon.example/verify-nationality");
    let fr = &rows[1];
    assert_eq!(fr[1], "verification_required_after_grace");
    assert!(
        fr[3].starts_with("verify ") && fr[3].contains(GRACE_ENDS),
        "{csv}"
    );
    assert_eq!(fr[4], GRACE_ENDS);
    // Without --ways only self-declaration counts, and the order asks for
    // document_verified.
    assert_eq!((fr[7].as_str(), fr[8].as_str()), ("", ""), "{csv}");
    assert_eq!(
        r["restorable_by"],
        serde_json::json!({
            "ways": [{"key": "self-declaration", "kind": "self_declaration",
                      "max_level": "self_declared", "organisations_only": false,
                      "accounts": {"verification_required": 0, "verification_required_after_grace": 0}}],
            "none": {"verification_required": 0, "verification_required_after_grace": 1}
        })
    );
    // An unnamed member of the licence holder is told like anyone else.
    assert_eq!(rows[2][1], "lose_access", "{csv}");
    for untouched in ["us-citizen", "unknown", "gone"] {
        assert!(!csv.contains(untouched), "{untouched}: {csv}");
    }
}

/// The accounts a run's notify file lists, in order.
fn notified(fx: &Fixture, name: &str) -> Vec<String> {
    let notify = fx.dir.join(format!("{name}.csv"));
    ok(&simulate(fx, &["--at", AT, "--notify-out", s(&notify)]));
    std::fs::read_to_string(&notify)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect()
}

#[test]
fn a_licence_record_changes_the_prediction_as_it_changes_the_decision() {
    let fx = fixture("licence");
    let person = r#"{"verification": "document_verified", "screening": [], "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE", "organization": {"name": "Acme Labs", "verification": "attested"}}"#;
    let org = r#"{"kind": "organization", "name": "Acme Labs", "verification": "attested", "organization": {"name": "Acme Labs", "country": "DE"}}"#;
    for (id, subject) in [("acme", org), ("acme-ana", person), ("acme-bo", person)] {
        ok(&cordon(&[
            "accounts",
            "--store",
            s(&fx.store),
            "add",
            id,
            "--subject",
            subject,
        ]));
    }
    let decide = |account: &str| {
        json(&cordon(&[
            "decide",
            "--store",
            s(&fx.store),
            "--account",
            account,
            "--model",
            "fable-5",
            "--country",
            "DE",
            "--at",
            AT,
            "--format",
            "json",
        ]))["effect"]
            .clone()
    };
    let before = notified(&fx, "before");
    assert!(
        before.contains(&"acme-ana".to_owned()) && before.contains(&"acme-bo".to_owned()),
        "{before:?}"
    );
    assert_eq!(decide("acme-ana"), "deny");

    ok(&cordon(&[
        "licences",
        "--store",
        s(&fx.store),
        "add",
        "--number",
        "D1234567",
        "--authority",
        "BIS",
        "--directive",
        ORDER,
        "--holder",
        "acme",
        "--individual",
        "acme-ana",
        "--issued",
        "2026-11-01T00:00:00Z",
        "--expires",
        "2027-11-01T00:00:00Z",
        "--directives",
        "directives",
    ]));
    let after = notified(&fx, "after");
    // The named individual keeps both models, exactly as a decision for
    // that account now says; the unnamed colleague still loses them.
    assert!(!after.contains(&"acme-ana".to_owned()), "{after:?}");
    assert_eq!(decide("acme-ana"), "allow");
    assert!(after.contains(&"acme-bo".to_owned()), "{after:?}");
    assert_eq!(decide("acme-bo"), "deny");
    let expected: Vec<String> = before.into_iter().filter(|a| a != "acme-ana").collect();
    assert_eq!(after, expected, "nothing else changes");

    // Revoked, it lifts nothing in the prediction either.
    ok(&cordon(&[
        "licences",
        "--store",
        s(&fx.store),
        "revoke",
        "D1234567",
    ]));
    assert!(notified(&fx, "revoked").contains(&"acme-ana".to_owned()));
}

/// The summary with scratch paths and policy versions made stable.
fn stable(text: &str, fx: &Fixture) -> String {
    let mut out = text
        .replace(s(&fx.dir), "[DIR]")
        .replace(s(&root()), "[ROOT]");
    while let Some(start) = out.find("sha256:") {
        let end = out[start + 7..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .map_or(out.len(), |e| start + 7 + e);
        out.replace_range(start..end, "[VERSION]");
    }
    out
}

#[test]
fn the_text_summary_names_transitions_deadlines_and_files() {
    let fx = fixture("summary");
    let out = fx.dir.join("report");
    let notify = fx.dir.join("notify.csv");
    let o = simulate(
        &fx,
        &["--at", AT, "--out", s(&out), "--notify-out", s(&notify)],
    );
    let text = ok(&o);
    insta::assert_snapshot!(stable(&text, &fx));
    assert_eq!(entries(&out), ["report.csv", "report.html", "report.json"]);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["format"], "cordon-simulation/1");
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert!(
        csv.starts_with("dimension,key,name,accounts,affected_accounts,"),
        "{csv}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..100]);
    assert_eq!(
        entries(&fx.dir)
            .iter()
            .filter(|n| n.starts_with('.'))
            .count(),
        0,
        "no temporary file is left"
    );
}

#[test]
fn a_time_before_the_order_takes_effect_is_said_in_the_notes() {
    let fx = fixture("early");
    let r = json(&simulate(
        &fx,
        &["--at", "2026-11-01T00:00:00Z", "--format", "json"],
    ));
    let changes = r["totals"].as_object().unwrap();
    let unchanged = changes["unchanged"].as_u64().unwrap();
    assert_eq!(unchanged, r["cells"].as_u64().unwrap(), "{changes:?}");
    let notes: Vec<&str> = r["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains(ORDER) && n.contains("2026-11-20T00:00:00Z")),
        "{notes:?}"
    );
}

#[test]
fn an_invalid_proposed_set_is_named_by_file_and_line_and_nothing_is_written() {
    let fx = fixture("invalid");
    let proposed = directive_set(&fx.dir.join("proposed"), "");
    let file = proposed.join("foreign-national-frontier.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("effect = \"deny\"", "effect = \"banish\""),
    )
    .unwrap();
    let line = text.lines().position(|l| l == "effect = \"deny\"").unwrap() + 1;
    let out = fx.dir.join("out");
    let o = simulate_set(&fx, &proposed, &["--at", AT, "--out", s(&out)]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("foreign-national-frontier.toml:{line}:")),
        "{err}"
    );
    assert!(!out.exists());
    assert!(stdout(&o).is_empty());
}

#[test]
fn a_store_from_a_newer_schema_is_refused_naming_both_versions() {
    let fx = fixture("schema");
    rusqlite::Connection::open(&fx.store)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    let o = simulate(&fx, &["--at", AT]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("schema version 99"), "{err}");
    assert!(err.contains(s(&fx.store)), "{err}");
    let supported = cordon_store::supported_schema();
    assert!(
        err.contains(&format!("newer than the {supported}")),
        "{err}"
    );
}

#[test]
fn unusable_outputs_and_stores_are_refused_before_any_work() {
    let fx = fixture("outputs");
    let o = simulate(&fx, &["--at", AT, "--out", s(&fx.dir.join("no/such/dir"))]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    let o = simulate(
        &fx,
        &["--at", AT, "--notify-out", s(&fx.dir.join("no/such.csv"))],
    );
    expect_code(&o, 2);
    assert!(stderr(&o).contains("--notify-out"), "{}", stderr(&o));
    let missing = fx.dir.join("missing.db");
    let o = cordon(&[
        "simulate",
        "--directives",
        "directives",
        "--store",
        s(&missing),
    ]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("missing.db"), "{}", stderr(&o));
    assert!(!missing.exists(), "a read never creates a store");
    let o = simulate(&fx, &["--at", AT, "--since", "24h"]);
    assert!(!o.status.success(), "--since needs --traffic");
}

// --- traffic replay -------------------------------------------------------

const ORIGIN: &str = "test.example/audit";

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, [9; 32]).unwrap()
}

/// A logged decision: `account` asked for `model` from `country` at `time`.
fn decision(n: u64, time: &str, account: Option<&str>, model: &str, country: &str) -> Vec<u8> {
    let record = DecisionRecord {
        id: format!("dec_{n:024x}"),
        time: time.into(),
        account: account.map(Into::into),
        model_requested: model.into(),
        model: Some(model.into()),
        endpoint: "chat".into(),
        effect: "allow".into(),
        mode: Mode::Enforced,
        decided_by: None,
        consulted: vec!["ofac-comprehensive-sanctions".into()],
        obligations: Obligations::default(),
        attributes: Vec::new(),
        policy_version: "sha256:0123".into(),
        client_country: Some(country.into()),
        client_region: None,
        anonymizer: Some(false),
        source: Source::Gateway,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    };
    leaf::encode(&Record::Decision(record)).unwrap()
}

/// A data directory holding the public key and a log of `leaves`, one batch
/// each, with a signed checkpoint at the end.
fn traffic_log(dir: &Path, leaves: &[Vec<u8>]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("audit-key.pub"),
        format!("{}\n", key().verifier().to_text()),
    )
    .unwrap();
    // Another test's `cordon` may briefly hold a copy of this process's
    // descriptors, the log's lock among them, until it execs.
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        match AuditLog::open(LogConfig::new(dir.join("audit"), ORIGIN), key()) {
            Ok((log, _)) => break log,
            Err(OpenError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    };
    for leaf in leaves {
        log.append_blocking(leaf.clone()).unwrap();
    }
    log.checkpoint_now().unwrap();
    log.shutdown();
    dir.join("audit")
}

fn leaves() -> Vec<Vec<u8>> {
    vec![
        // Before --since: not replayed.
        decision(
            0,
            "2026-11-01T00:00:00Z",
            Some("de-verified"),
            "fable-5",
            "DE",
        ),
        // Newly refused: a verified German on a frontier model.
        decision(
            1,
            "2026-11-26T10:00:00Z",
            Some("de-verified"),
            "fable-5",
            "DE",
        ),
        decision(
            2,
            "2026-11-26T11:00:00Z",
            Some("de-verified"),
            "mythos-5",
            "DE",
        ),
        // Still allowed.
        decision(
            3,
            "2026-11-26T12:00:00Z",
            Some("us-citizen"),
            "fable-5",
            "US",
        ),
        decision(
            4,
            "2026-11-26T13:00:00Z",
            Some("de-verified"),
            "lyric-4",
            "DE",
        ),
        // Skipped: no account, and an account the store does not hold.
        decision(5, "2026-11-26T14:00:00Z", None, "fable-5", "DE"),
        decision(6, "2026-11-26T15:00:00Z", Some("stranger"), "fable-5", "DE"),
    ]
}

#[test]
fn logged_traffic_is_verified_and_replayed_under_the_proposed_set() {
    let fx = fixture("traffic");
    let log = traffic_log(&fx.dir.join("data"), &leaves());
    let r = json(&simulate(
        &fx,
        &[
            "--at",
            AT,
            "--traffic",
            s(&log),
            "--since",
            "2026-11-20T00:00:00Z",
            "--format",
            "json",
        ],
    ));
    let t = &r["traffic"];
    assert_eq!(t["log"], s(&log));
    assert_eq!(t["since"], "2026-11-20T00:00:00Z");
    assert_eq!(t["first"], "2026-11-26T10:00:00Z");
    assert_eq!(t["last"], "2026-11-26T15:00:00Z");
    assert_eq!(t["decisions"], 6, "{t}");
    assert_eq!(t["replayed"], 4, "{t}");
    assert_eq!(t["skipped"]["no_account"], 1, "{t}");
    assert_eq!(t["skipped"]["unknown_account"], 1, "{t}");
    assert_eq!(t["newly_refused"]["requests"], 2, "{t}");
    assert_eq!(t["newly_refused"]["accounts"], 1, "{t}");
    assert_eq!(t["newly_allowed"]["requests"], 0, "{t}");
}

#[test]
fn a_log_that_fails_verification_stops_the_run_with_no_report() {
    let fx = fixture("tampered");
    let log = traffic_log(&fx.dir.join("data"), &leaves());
    let seg_dir = log.join("segments");
    let seg = std::fs::read_dir(&seg_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&seg).unwrap();
    // A byte inside entry 0's leaf: after the batch header (20 bytes) and the
    // entry head (44 bytes).
    bytes[20 + 44 + 10] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let out = fx.dir.join("out");
    std::fs::create_dir(&out).unwrap();
    let notify = fx.dir.join("notify.csv");
    let o = simulate(
        &fx,
        &[
            "--at",
            AT,
            "--traffic",
            s(&log),
            "--out",
            s(&out),
            "--notify-out",
            s(&notify),
        ],
    );
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("failed verification"), "{err}");
    assert!(err.contains("entry 0"), "{err}");
    assert!(entries(&out).is_empty(), "{:?}", entries(&out));
    assert!(!notify.exists());
    assert!(stdout(&o).is_empty());
}

#[test]
fn an_unreadable_account_is_named_in_the_notes_and_the_rest_are_simulated() {
    let fx = fixture("unreadable");
    rusqlite::Connection::open(&fx.store)
        .unwrap()
        .execute(
            "INSERT INTO accounts (id, subject, disabled, created_at, updated_at) VALUES ('broken', '{\"citizenships\": [\"XZ\"]}', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    let r = json(&simulate(&fx, &["--at", AT, "--format", "json"]));
    assert_eq!(r["accounts"], 5);
    assert_eq!(r["totals"]["lose_access"], 4);
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("1 account record(s) could not be read") && notes.contains("`broken`"),
        "{notes}"
    );
}

#[test]
fn the_assumed_location_decides_what_location_based_directives_do() {
    let fx = fixture("location");
    let run = |location: &str| {
        json(&simulate(
            &fx,
            &["--at", AT, "--format", "json", "--location", location],
        ))
    };
    // From each residence: the order's figures as above.
    let residence = run("residence");
    assert_eq!(residence["location"], "residence");
    assert_eq!(residence["totals"]["lose_access"], 4);
    // From an undeterminable location the sanctions directive refuses every
    // request under both sets, so the order changes nothing.
    let unknown = run("unknown");
    assert_eq!(unknown["location"], "unknown");
    assert_eq!(unknown["affected_accounts"], 0, "{}", unknown["totals"]);
    assert_eq!(unknown["totals"]["unchanged"], unknown["cells"]);
    // Likewise from Iran; from Germany, as from each residence.
    assert_eq!(run("IR")["affected_accounts"], 0);
    let germany = run("de");
    assert_eq!(germany["location"], "DE");
    assert_eq!(germany["totals"]["lose_access"], 4);
    // Not a place.
    let o = simulate(&fx, &["--at", AT, "--location", "XX"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--location `XX`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_log_moved_away_from_its_key_is_checked_with_the_key_given() {
    let fx = fixture("traffic-key");
    let log = traffic_log(&fx.dir.join("data"), &leaves());
    // Copied elsewhere, without the data directory's public key.
    let copy = fx.dir.join("copy/audit");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::process::Command::new("cp")
        .arg("-r")
        .arg(&log)
        .arg(&copy)
        .status()
        .unwrap();
    let o = simulate(&fx, &["--at", AT, "--traffic", s(&copy)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("public key"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let key = fx.dir.join("data/audit-key.pub");
    let r = json(&simulate(
        &fx,
        &[
            "--at",
            AT,
            "--traffic",
            s(&copy),
            "--traffic-key",
            s(&key),
            "--format",
            "json",
        ],
    ));
    assert_eq!(r["traffic"]["decisions"], 7);
    // Another log's key does not open these checkpoints.
    let other = fx.dir.join("other.pub");
    std::fs::write(
        &other,
        format!(
            "{}\n",
            SigningKey::from_seed(ORIGIN, [7; 32])
                .unwrap()
                .verifier()
                .to_text()
        ),
    )
    .unwrap();
    let o = simulate(
        &fx,
        &[
            "--at",
            AT,
            "--traffic",
            s(&copy),
            "--traffic-key",
            s(&other),
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!fx.dir.join("report.json").exists());
}

// --- ways of verifying -----------------------------------------------------

/// A gateway configuration with two webhook sources: a KYC vendor at the
/// default level and a signup form that only self-declares.
const WAYS: &str = r#"
listen = "127.0.0.1:8080"

[verification]
start_url = "https://verify.example/start"

[[verification.source]]
name = "demo-kyc"
format = "cordon"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[[verification.source]]
name = "signup-form"
format = "cordon"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
max_level = "self_declared"
"#;

const TRANSITIONS: [&str; 2] = ["verification_required", "verification_required_after_grace"];

/// Way (or `none`) → transition → accounts, read back from the notify file:
/// an account counts under a way for a transition when the way is listed in
/// every one of its rows of that transition, under `none` when no way is.
fn restorable_from_rows(path: &Path, ways: &[String]) -> Value {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[7], "ways");
    assert_eq!(&headers[8], "start");
    // (transition, account) → each row's ways
    let mut lists: std::collections::BTreeMap<(String, String), Vec<Vec<String>>> =
        Default::default();
    for r in reader.records() {
        let r = r.unwrap();
        if !TRANSITIONS.contains(&&r[1]) {
            assert_eq!((&r[7], &r[8]), ("", ""), "{r:?}");
            continue;
        }
        let listed: Vec<String> = r[7]
            .split(';')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        // The start link names the account and the first way a customer starts.
        let first = listed.iter().find(|w| *w != "organisation-attestation");
        let want = first.map(|w| format!("https://verify.example/start?account={}&way={w}", &r[0]));
        assert_eq!(want.as_deref().unwrap_or(""), &r[8], "{r:?}");
        lists
            .entry((r[1].to_owned(), r[0].to_owned()))
            .or_default()
            .push(listed);
    }
    let mut counts = serde_json::Map::new();
    for key in ways.iter().map(String::as_str).chain(["none"]) {
        let per: serde_json::Map<String, Value> = TRANSITIONS
            .iter()
            .map(|t| ((*t).to_owned(), Value::from(0u64)))
            .collect();
        counts.insert(key.to_owned(), Value::Object(per));
    }
    for ((t, _), rows) in &lists {
        let all: Vec<&String> = ways
            .iter()
            .filter(|w| rows.iter().all(|l| l.contains(w)))
            .collect();
        let keys: Vec<&str> = if all.is_empty() {
            vec!["none"]
        } else {
            all.iter().map(|w| w.as_str()).collect()
        };
        for k in keys {
            let n = &mut counts[k][t.as_str()];
            *n = Value::from(n.as_u64().unwrap() + 1);
        }
    }
    Value::Object(counts)
}

/// The report's `restorable_by` in the same shape.
/// The fields of one CSV line, quotes removed (an action naming several
/// attributes is quoted, since it holds commas).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

fn restorable_in_report(r: &Value) -> Value {
    let mut counts = serde_json::Map::new();
    for w in r["restorable_by"]["ways"].as_array().unwrap() {
        counts.insert(w["key"].as_str().unwrap().to_owned(), w["accounts"].clone());
    }
    counts.insert("none".into(), r["restorable_by"]["none"].clone());
    Value::Object(counts)
}

#[test]
fn the_ways_of_a_gateway_configuration_are_counted_as_the_notify_rows_list_them() {
    let dir = temp_dir("simulate-ways");
    let store = dir.join("identity.db");
    ok(&cordon(&[
        "accounts",
        "generate",
        "--count",
        "2000",
        "--seed",
        "20261127",
        "--store",
        s(&store),
    ]));
    let baseline = directive_set(&dir.join("baseline"), "foreign-national-frontier.toml");
    let config = dir.join("cordon.toml");
    std::fs::write(&config, WAYS).unwrap();
    let run = |at: &str, notify: Option<&Path>| {
        let mut args = vec![
            "simulate",
            "--directives",
            "directives",
            "--baseline",
            s(&baseline),
            "--store",
            s(&store),
            "--ways",
            s(&config),
            "--at",
            at,
            "--format",
            "json",
        ];
        if let Some(n) = notify {
            args.extend(["--notify-out", s(n)]);
        }
        json(&cordon(&args))
    };
    for (at, name) in [(AT, "in-grace"), ("2026-12-10T00:00:00Z", "after-grace")] {
        let notify = dir.join(format!("{name}.csv"));
        let r = run(at, Some(&notify));
        let ways: Vec<String> = r["restorable_by"]["ways"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            ways,
            [
                "demo-kyc",
                "signup-form",
                "organisation-attestation",
                "self-declaration"
            ]
        );
        let counts = restorable_in_report(&r);
        assert_eq!(counts, restorable_from_rows(&notify, &ways), "at {at}");
        // The order asks for document_verified: the vendor restores every
        // account asked to verify, the form and self-declaration none.
        let by = &r["accounts_by_transition"];
        let asked: u64 = TRANSITIONS.iter().map(|t| by[t].as_u64().unwrap()).sum();
        assert!(asked > 0, "{by}");
        // An organisation's own account is no natural person: no way of
        // verifying it settles the order (its end users are decided
        // instead), so it counts under none.
        for t in TRANSITIONS {
            let n = |w: &str| counts[w][t].as_u64().unwrap();
            assert_eq!(
                n("demo-kyc") + n("none"),
                by[t].as_u64().unwrap(),
                "at {at}: {t}"
            );
            assert_eq!(counts["signup-form"][t], 0, "at {at}: {t}");
            assert_eq!(counts["self-declaration"][t], 0, "at {at}: {t}");
        }
        // Counting without the notify file gives the same figures.
        assert_eq!(
            run(at, None)["restorable_by"],
            r["restorable_by"],
            "at {at}"
        );
    }
}

#[test]
fn an_unusable_ways_file_is_refused_before_any_work() {
    let fx = fixture("ways-invalid");
    let config = fx.dir.join("cordon.toml");
    std::fs::write(
        &config,
        "[[verification.source]]\nname = \"kyc\"\nformat = \"cordon\"\nmax_level = \"certain\"\n",
    )
    .unwrap();
    let out = fx.dir.join("out");
    let o = simulate(&fx, &["--at", AT, "--ways", s(&config), "--out", s(&out)]);
    expect_code(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("verification.source[0].max_level") && err.contains("`certain`"),
        "{err}"
    );
    assert!(!out.exists());
    let o = simulate(
        &fx,
        &["--at", AT, "--ways", s(&fx.dir.join("missing.toml"))],
    );
    expect_code(&o, 2);
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
}

/// From 2027-01-15 no fine-tuning or tool use of frontier models for D:5
/// residents, organisations incorporated there, or connections from there;
/// chat capped at 2,000 output tokens; an unverified residence is treated as
/// D:5 until 2027-02-15 and must be verified after; the licence holder is exempt.
pub(crate) const D5_ORDER: &str = r#"
id = "d5-frontier-tools"
title = "No tool use or fine-tuning of frontier models for D:5"
authority = "Test authority"
citation = "Hypothetical order"
issued = 2026-12-01
effective = 2027-01-15T00:00:00Z
grace_until = 2027-02-15T00:00:00Z
mode = "enforced"
min_verification = "document_verified"
message = "Not available."
remedy = "https://cordon.example/d5"

[scope]
tags = ["frontier"]

[unknown]
effect = "verification_required"
during_grace = "apply"

[[rule]]
id = "no-tools-or-fine-tuning"
when = '(subject.residence_country in group("EAR:D:5") or (subject.kind == organization and subject.organization.country in group("EAR:D:5")) or request.country in group("EAR:D:5")) and (request.features in [tools, fine_tuning] or request.endpoint == fine_tuning)'
effect = "deny"

[[rule]]
id = "chat-cap"
when = 'subject.residence_country in group("EAR:D:5") or (subject.kind == organization and subject.organization.country in group("EAR:D:5")) or request.country in group("EAR:D:5")'
effect = "allow_with_obligations"
obligations = { max_tokens = 2000, remove_features = ["tools"] }

[[exemption]]
licence = "D5-001"
holder = "Northwind Labs"
min_verification = "attested"
"#;

/// In the order's grace period.
const D5_AT: &str = "2027-01-20T00:00:00Z";
const D5_GRACE_ENDS: &str = "2027-02-15T00:00:00Z";

/// A verified Chinese resident, an unverified one, a verified Iranian
/// resident (refused by the Iran sanctions in both sets) and the licence holder.
const D5_ACCOUNTS: &str = r#"{"id": "cn-verified", "screening": [], "verification": "document_verified", "citizenships": ["CN"], "permanent_residencies": [], "protected_individual": false, "residence_country": "CN"}
{"id": "cn-unverified", "screening": [], "verification": "self_declared", "citizenships": ["CN"], "residence_country": "FR"}
{"id": "ir-verified", "screening": [], "verification": "document_verified", "citizenships": ["IR"], "permanent_residencies": [], "protected_individual": false, "residence_country": "IR"}
{"id": "northwind-cn", "screening": [], "verification": "document_verified", "citizenships": ["CN"], "permanent_residencies": [], "protected_individual": false, "residence_country": "CN", "organization": {"name": "Northwind Labs", "country": "US", "verification": "attested"}}
"#;

/// A store of [`D5_ACCOUNTS`], the shipped set as the baseline and the
/// shipped set with [`D5_ORDER`] as the proposed one, both without the
/// foreign-national order.
fn d5_fixture() -> (Fixture, PathBuf) {
    let dir = temp_dir("simulate-d5");
    let store = dir.join("identity.db");
    let input = dir.join("accounts.jsonl");
    std::fs::write(&input, D5_ACCOUNTS).unwrap();
    ok(&cordon(&[
        "accounts",
        "--store",
        s(&store),
        "import",
        s(&input),
    ]));
    // Without the foreign-national order, which refuses these nationals
    // the frontier models whatever the shape.
    let baseline = directive_set(&dir.join("baseline"), "foreign-national-frontier.toml");
    let proposed = directive_set(&dir.join("proposed"), "foreign-national-frontier.toml");
    std::fs::write(proposed.join("d5-frontier-tools.toml"), D5_ORDER).unwrap();
    (
        Fixture {
            dir,
            store,
            baseline,
        },
        proposed,
    )
}

fn shape_group<'a>(r: &'a Value, key: &str) -> &'a Value {
    r["by_shape"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no shape {key} in {}", r["by_shape"]))
}

#[test]
fn shapes_show_what_an_order_about_tools_and_fine_tuning_takes_away() {
    let (fx, proposed) = d5_fixture();
    // A plain chat request only: nobody loses access, the cap is the change.
    let plain = json(&simulate_set(
        &fx,
        &proposed,
        &["--at", D5_AT, "--format", "json"],
    ));
    assert_eq!(plain["shapes"], serde_json::json!(["chat"]));
    assert_eq!(plain["totals"]["lose_access"], 0, "{}", plain["totals"]);

    let notify = fx.dir.join("notify.csv");
    let out = fx.dir.join("report");
    let args = [
        "--at",
        D5_AT,
        "--feature",
        "tools",
        "--endpoint",
        "fine_tuning",
        "--format",
        "json",
        "--notify-out",
        s(&notify),
        "--out",
        s(&out),
    ];
    let r = json(&simulate_set(&fx, &proposed, &args));
    assert_eq!(
        r["shapes"],
        serde_json::json!(["chat", "chat+tools", "fine_tuning"])
    );
    let models = r["models"].as_array().unwrap().len() as u64;
    assert_eq!(r["cells"], 4 * models * 3);
    // cn-verified loses tools and fine-tuning on the two frontier models;
    // cn-unverified too, during grace, as if it lived in a D:5 country.
    for shape in ["chat+tools", "fine_tuning"] {
        let g = shape_group(&r, shape);
        assert_eq!(g["cells"]["lose_access"], 4, "{g}");
        assert_eq!(g["affected_accounts"], 2, "{g}");
    }
    // Chat: capped for cn-verified; capped until the grace period ends,
    // then asked to verify, for cn-unverified.
    let chat = shape_group(&r, "chat");
    assert_eq!(chat["cells"]["obligations_changed"], 2, "{chat}");
    assert_eq!(
        chat["cells"]["verification_required_after_grace"], 2,
        "{chat}"
    );
    let limits = r["limit_changes"].as_array().unwrap();
    assert!(
        limits.iter().all(|l| l["shape"] == "chat"
            && l["proposed_limits"] == "max_tokens 2000; tools removed"
            && l["proposed"]["max_tokens"] == 2000),
        "{limits:?}"
    );
    // The grace period applies the rules to unknowns: still a deadline.
    assert_eq!(
        r["grace_deadlines"],
        serde_json::json!([{"directive": "d5-frontier-tools", "deadline": D5_GRACE_ENDS,
                            "accounts": 1, "refusal_changes": 1, "new_limits": 0}])
    );
    // The Iranian resident is refused by the Iran sanctions in both sets.
    let already: Vec<(&str, &str)> = r["already_refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["directive"].as_str().unwrap(),
                a["refused_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        already.contains(&("d5-frontier-tools", "ofac-iran")),
        "{already:?}"
    );

    let csv = std::fs::read_to_string(&notify).unwrap();
    let rows: Vec<Vec<String>> = csv.lines().skip(1).map(csv_fields).collect();
    let row = |account: &str, change: &str, shape: &str| {
        rows.iter()
            .find(|r| r[0] == account && r[1] == change && r[9] == shape)
            .unwrap_or_else(|| panic!("no {account} {change} {shape} row in\n{csv}"))
    };
    let capped = row("cn-verified", "obligations_changed", "chat");
    assert_eq!(capped[10], "max_tokens 2000; tools removed");
    assert_eq!(
        capped[3],
        "new limits apply: max_tokens 2000; tools removed"
    );
    let verify = row("cn-unverified", "verification_required_after_grace", "chat");
    assert_eq!(verify[4], D5_GRACE_ENDS);
    assert!(
        verify[3].ends_with("until then max_tokens 2000; tools removed"),
        "{csv}"
    );
    let tools = row("cn-unverified", "lose_access", "chat+tools");
    // Dated by the effective time while that is still ahead, else by the
    // end of the grace period, which changes what the refusal asks.
    assert!(
        ["2027-01-15T00:00:00Z", D5_GRACE_ENDS].contains(&tools[4].as_str()),
        "{csv}"
    );
    assert!(
        tools[3].ends_with(
            "from 2027-02-15T00:00:00Z, when its grace period ends: verification_required"
        ),
        "{csv}"
    );
    assert!(
        !rows.iter().any(|r| r[0] == "northwind-cn"),
        "the licence holder is exempt: {csv}"
    );

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("data-figure=\"by_shape[chat+tools].accounts\""));
    assert!(html.contains("Already refused"));
    let report_csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert!(
        report_csv.contains("\r\nshape,fine_tuning,fine_tuning,4,2,"),
        "{report_csv}"
    );
}

#[test]
fn the_text_summary_names_shapes_limits_and_directives_that_already_refuse() {
    let (fx, proposed) = d5_fixture();
    let text = ok(&simulate_set(
        &fx,
        &proposed,
        &["--at", D5_AT, "--shapes", "all"],
    ));
    assert!(
        text.contains("Request shapes: chat, chat+tools, chat+image_input"),
        "{text}"
    );
    assert!(
        text.contains("\nAffected accounts per request shape\n"),
        "{text}"
    );
    assert!(
        text.contains("chat             none → max_tokens 2000; tools removed: "),
        "{text}"
    );
    assert!(
        text.contains("1 account(s) refused now are refused differently after"),
        "{text}"
    );
    assert!(
        text.contains("because `ofac-iran` already refuses"),
        "{text}"
    );
}

#[test]
fn an_unknown_feature_or_endpoint_is_refused_with_the_names_it_takes() {
    let (fx, proposed) = d5_fixture();
    let o = simulate_set(&fx, &proposed, &["--feature", "tool"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("tools, image_input"), "{}", stderr(&o));
    let o = simulate_set(&fx, &proposed, &["--endpoint", "finetune"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fine_tuning"), "{}", stderr(&o));
}
