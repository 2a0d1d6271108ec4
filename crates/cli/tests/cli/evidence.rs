//! `cordon accounts evidence`, the evidence sections of `cordon accounts
//! show`, and `cordon demo-verify` against a running demo.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use cordon_store::{Delivered, Intake, SqliteStore};
use cordon_verification::SourceKind;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::server::{Killed, free_port, request, wait_healthy};
use super::{command_in, cordon, expect_code, json, ok, root, s, stderr, stdout, temp_dir};

const T0: &str = "2026-12-01T10:00:00Z";

/// A store whose clock stands still at `T0`, so stored times are stable.
fn fixed_store(path: &Path) -> SqliteStore {
    let t0: Timestamp = T0.parse().unwrap();
    SqliteStore::open(path).unwrap().with_clock(move || t0)
}

/// Records a Cordon-format event from `source` as the gateway would.
fn deliver(store: &SqliteStore, source: &str, delivery: &str, event: &Value) -> Intake {
    let body = event.to_string();
    let j = cordon_jurisdiction::Jurisdictions::embedded().unwrap();
    let parsed = cordon_verification::cordon_format::parse(body.as_bytes(), j).unwrap();
    store
        .record_event(Delivered {
            source,
            kind: SourceKind::KycVendor,
            delivery_id: Some(delivery),
            payload_sha256: &cordon_verification::intake::sha256_hex(body.as_bytes()),
            event: &parsed,
        })
        .unwrap()
}

/// An account with a self-declared record and evidence from four sources:
/// two that contradict each other, one whose facts expired, one that
/// withdrew what it said.
fn store_with_evidence(dir: &Path) -> PathBuf {
    let path = dir.join("identity.db");
    let store = fixed_store(&path);
    store
        .add_account(
            "acct-1",
            json!({"verification": "self_declared", "source": "signup-form",
                   "citizenships": ["FR"], "residence_country": "FR", "name": "Customer 1"}),
        )
        .unwrap();
    store
        .add_account(
            "acct-2",
            json!({"verification": "self_declared", "citizenships": ["IN"]}),
        )
        .unwrap();
    let events = [
        (
            "kyc-a",
            "msg-a1",
            json!({"type": "verification.completed", "account": "acct-1",
                   "id": "=HYPERLINK(\"http://x.example\")", "time": "2026-11-30T09:00:00Z",
                   "subject": {"verification": "document_verified", "citizenships": ["DE"],
                               "permanent_residencies": [], "protected_individual": false,
                               "residence_country": "DE"}}),
        ),
        (
            "kyc-b",
            "@msg-b1",
            json!({"type": "verification.completed", "account": "acct-1",
                   "id": "inq_42", "time": "2026-11-30T11:00:00Z",
                   "subject": {"verification": "document_verified", "citizenships": ["US"],
                               "protected_individual": true, "residence_country": "FR"}}),
        ),
        (
            "kyc-c",
            "msg-c1",
            json!({"type": "verification.completed", "account": "acct-1",
                   "subject": {"verification": "document_verified", "verified_at": "2025-06-01T00:00:00Z",
                               "expires": "2026-06-01T00:00:00Z", "name": "Customer One"}}),
        ),
        (
            "kyc-d",
            "msg-d1",
            json!({"type": "verification.completed", "account": "acct-1",
                   "time": "2026-11-29T00:00:00Z",
                   "subject": {"verification": "document_verified", "birth_year": 1980}}),
        ),
        (
            "kyc-d",
            "msg-d2",
            json!({"type": "verification.revoked", "account": "acct-1",
                   "time": "2026-11-30T00:00:00Z"}),
        ),
    ];
    for (source, delivery, event) in &events {
        let intake = deliver(&store, source, delivery, event);
        assert_eq!(intake.outcome(), "accepted", "{delivery}: {intake:?}");
    }
    path
}

/// `text` with the current time (which the in-force column is judged at) masked.
fn masked(text: &str) -> String {
    text.lines()
        .map(|l| match l.find(" in force at ") {
            Some(i) => format!("{} in force at [now]", &l[..i]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn evidence_lists_every_row_in_every_format() {
    let dir = temp_dir("evidence");
    let store = store_with_evidence(&dir);
    let db = s(&store);

    let text = ok(&cordon(&["accounts", "--store", db, "evidence", "acct-1"]));
    insta::assert_snapshot!("evidence_text", masked(&text));

    let csv = ok(&cordon(&[
        "accounts", "--store", db, "evidence", "acct-1", "--format", "csv",
    ]));
    insta::assert_snapshot!("evidence_csv", csv);
    // Ids that come from outside are never read as formulas.
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 9);
    assert!(
        rows.iter()
            .any(|r| &r[7] == "'=HYPERLINK(\"http://x.example\")")
    );
    assert!(rows.iter().any(|r| &r[14] == "'@msg-b1"));
    assert!(
        rows.iter()
            .flat_map(|r| r.iter())
            .all(|f| !f.starts_with(['=', '+', '-', '@'])),
        "{csv}"
    );

    let mut v = json(&cordon(&[
        "accounts", "--store", db, "evidence", "acct-1", "--format", "json",
    ]));
    assert!(v["at"].as_str().unwrap().parse::<Timestamp>().is_ok());
    v["at"] = json!("[now]");
    let rows = v["evidence"].as_array().unwrap();
    let in_force: Vec<bool> = rows
        .iter()
        .map(|r| r["in_force"].as_bool().unwrap())
        .collect();
    // kyc-a's four, kyc-b's three; kyc-c's name expired; kyc-d's withdrawn.
    assert_eq!(
        rows.iter()
            .map(|r| r["source"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [
            "kyc-a", "kyc-a", "kyc-a", "kyc-a", "kyc-b", "kyc-b", "kyc-b", "kyc-c", "kyc-d"
        ]
    );
    assert_eq!(in_force.iter().filter(|b| !**b).count(), 2, "{v:#}");
    insta::assert_json_snapshot!("evidence_json", v);

    // An account with no evidence says so.
    let none = ok(&cordon(&["accounts", "--store", db, "evidence", "acct-2"]));
    assert!(none.contains("no evidence received"), "{none}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn evidence_of_an_unknown_account_exits_2() {
    let dir = temp_dir("evidence-unknown");
    let store = store_with_evidence(&dir);
    for format in ["text", "json", "csv"] {
        let o = cordon(&[
            "accounts",
            "--store",
            s(&store),
            "evidence",
            "nobody",
            "--format",
            format,
        ]);
        expect_code(&o, 2);
        assert!(
            stderr(&o).contains("account `nobody` does not exist"),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn show_names_what_each_attribute_rests_on_and_the_contradictions() {
    let dir = temp_dir("show-basis");
    let store = store_with_evidence(&dir);
    let db = s(&store);

    let text = ok(&cordon(&["accounts", "--store", db, "show", "acct-1"]));
    // The lines shown before evidence existed are all still there.
    for line in [
        "account  acct-1",
        "status   enabled",
        "created  2026-12-01T10:00:00Z",
    ] {
        assert!(text.contains(line), "{text}");
    }
    assert!(text.contains("keys     none"), "{text}");
    insta::assert_snapshot!("show_text_with_evidence", text);

    let v = json(&cordon(&[
        "accounts", "--store", db, "show", "acct-1", "--format", "json",
    ]));
    assert_eq!(v["id"], "acct-1");
    assert_eq!(v["keys"], json!([]));
    let basis = v["evidence_basis"].as_array().unwrap();
    let of = |attribute: &str| {
        basis
            .iter()
            .find(|b| b["attribute"] == attribute)
            .unwrap_or_else(|| panic!("no basis for {attribute}: {v:#}"))
    };
    assert_eq!(of("citizenships")["rests_on"], "evidence");
    assert_eq!(of("citizenships")["evidence"].as_array().unwrap().len(), 2);
    assert_eq!(of("name")["rests_on"], "record", "kyc-c's name expired");
    let contradictions = v["contradictions"].as_array().unwrap();
    let fields: Vec<&str> = contradictions
        .iter()
        .map(|c| c["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["residence_country", "protected_individual"]);
    assert_eq!(contradictions[1]["resolved"], false);
    assert_eq!(contradictions[0]["resolved"], Value::Null);
    insta::assert_json_snapshot!("show_json_with_evidence", v);

    // Only a record: every attribute rests on it, nothing contradicts.
    let text = ok(&cordon(&["accounts", "--store", db, "show", "acct-2"]));
    assert!(
        text.ends_with(
            "evidence\n  ATTRIBUTE     LEVEL          RESTS ON\n  citizenships  self_declared  record\ncontradictions none\n"
        ),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `cordon demo` on a free port, its keys written to `keys`.
fn start_demo(dir: &Path, keys: &Path) -> (Killed, u16) {
    let port = free_port();
    let log = dir.join("demo.log");
    let mut child = command_in(&root())
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            s(&dir.join("data")),
            "--keys-out",
            s(keys),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child, &log);
    (Killed(child), port)
}

fn fable(port: u16, key: &str) -> (u16, String) {
    let r = request(
        port,
        "POST",
        "/v1/chat/completions",
        key,
        r#"{"model": "fable-5", "messages": [{"role": "user", "content": "Hi"}]}"#,
    )
    .unwrap();
    (
        r.status,
        r.header("x-cordon-effect").unwrap_or("(none)").to_owned(),
    )
}

#[test]
fn demo_verify_delivers_a_signed_verification_to_the_demo() {
    let dir = temp_dir("demo-verify");
    let keys = dir.join("keys.json");
    let (_demo, port) = start_demo(&dir, &keys);
    let url = format!("http://127.0.0.1:{port}");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let key = |id: &str| file[id].as_str().unwrap().to_owned();

    let (status, effect) = fable(port, &key("unverified"));
    assert_eq!((status, effect.as_str()), (451, "verification_required"));

    let o = cordon(&[
        "demo-verify",
        "unverified",
        "--as",
        "us",
        "--keys",
        s(&keys),
        "--url",
        &url,
    ]);
    let out = ok(&o);
    assert!(out.contains("HTTP 200"), "{out}");
    assert!(out.contains("\"status\": \"accepted\""), "{out}");
    let (status, _) = fable(port, &key("unverified"));
    assert_eq!(status, 200, "a verified U.S. citizen is let through");

    // A verified foreign national is refused; a dual national with U.S.
    // citizenship is not.
    ok(&cordon(&[
        "demo-verify",
        "licensed-org",
        "--as",
        "IN",
        "--keys",
        s(&keys),
        "--url",
        &url,
    ]));
    let (status, _) = fable(port, &key("licensed-org"));
    assert_eq!(status, 200, "the licence holder's members keep access");
    let o = cordon(&[
        "demo-verify",
        "unverified",
        "--as",
        "DE",
        "--keys",
        s(&keys),
        "--url",
        &url,
    ]);
    ok(&o);
    let (status, effect) = fable(port, &key("unverified"));
    assert_eq!((status, effect.as_str()), (451, "deny"));
    ok(&cordon(&[
        "demo-verify",
        "unverified",
        "--as",
        "IR",
        "--as",
        "US",
        "--keys",
        s(&keys),
        "--url",
        &url,
    ]));
    let (status, _) = fable(port, &key("unverified"));
    assert_eq!(status, 200);

    let store = dir.join("data/identity.db");
    let v = json(&cordon(&[
        "accounts",
        "--store",
        s(&store),
        "evidence",
        "unverified",
        "--format",
        "json",
    ]));
    let rows = v["evidence"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["source"] == "demo-kyc"), "{v:#}");
    assert!(
        rows.iter()
            .all(|r| r["delivery_id"].as_str().unwrap().starts_with("msg_")),
        "{v:#}"
    );

    // Above what the source may grant: the gateway's 400, exit 1.
    let o = cordon(&[
        "demo-verify",
        "unverified",
        "--as",
        "US",
        "--level",
        "attested",
        "--keys",
        s(&keys),
        "--url",
        &url,
    ]);
    expect_code(&o, 1);
    assert!(stdout(&o).contains("HTTP 400"), "{}", stdout(&o));

    // Another secret: the gateway's 401, nothing changes.
    let forged = dir.join("forged.json");
    std::fs::write(
        &forged,
        json!({"webhooks": {"demo-kyc": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}).to_string(),
    )
    .unwrap();
    let o = cordon(&[
        "demo-verify",
        "us-citizen",
        "--as",
        "DE",
        "--keys",
        s(&forged),
        "--url",
        &url,
    ]);
    expect_code(&o, 1);
    assert!(stdout(&o).contains("HTTP 401"), "{}", stdout(&o));
    let (status, _) = fable(port, &key("us-citizen"));
    assert_eq!(status, 200);

    // Inputs that cannot be used are named.
    let cases: [(&[&str], &str); 3] = [
        (&["--as", "XZ"], "`XZ` is not an assigned"),
        (&["--as", "US", "--keys", "no-such.json"], "no-such.json"),
        (
            &["--as", "US", "--level", "notarised"],
            "--level `notarised`",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["demo-verify", "unverified", "--url", &url];
        all.extend_from_slice(args);
        if !args.contains(&"--keys") {
            all.extend(["--keys", s(&keys)]);
        }
        let o = cordon(&all);
        assert!(!o.status.success(), "{all:?}");
        assert!(stderr(&o).contains(needle), "{all:?}: {}", stderr(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
