//! `cordon store migrate` and `cordon accounts --store postgres://…`, run
//! as a user would, when `CORDON_TEST_POSTGRES` names a server
//! (`tests/postgres/run.sh` starts one); the SQLite path is covered in
//! `accounts.rs`.

use super::{GERMAN, cordon, expect_stderr, ok, stderr, temp_dir};

/// The server `CORDON_TEST_POSTGRES` names, if set.
fn server() -> Option<String> {
    let url = std::env::var("CORDON_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty());
    if url.is_none() {
        eprintln!("skipped: CORDON_TEST_POSTGRES is not set (tests/postgres/run.sh sets it)");
    }
    url
}

#[test]
fn postgres_migrate_add_create_and_revoke_a_key() {
    let Some(url) = server() else { return };
    let out = ok(&cordon(&["store", "migrate", "--store", &url]));
    assert!(
        out.contains("PostgreSQL identity store is at schema version"),
        "{out}"
    );
    let again = ok(&cordon(&["store", "migrate", "--store", &url]));
    assert!(again.contains("(0 migration(s) applied now)"), "{again}");

    // The server may have been used before: a fresh account id each run.
    let id = format!("cli-{}", std::process::id());
    let out = ok(&cordon(&[
        "accounts",
        "add",
        &id,
        "--store",
        &url,
        "--subject",
        GERMAN,
    ]));
    assert!(out.contains(&format!("added account `{id}`")), "{out}");
    assert!(out.contains("\"document_verified\""), "{out}");

    let created = cordon(&["accounts", "keys", "create", &id, "--store", &url]);
    let key = ok(&created).trim().to_owned();
    assert!(key.starts_with("ck_") && key.len() == 60, "{key}");
    expect_stderr(&created, "only time the full key is shown");
    let prefix = &key[..11];
    let out = ok(&cordon(&[
        "accounts", "keys", "revoke", prefix, "--store", &url,
    ]));
    assert_eq!(out, format!("revoked API key {prefix} of account `{id}`\n"));

    let twice = cordon(&["accounts", "keys", "revoke", prefix, "--store", &url]);
    assert!(!twice.status.success());
    expect_stderr(&twice, "already revoked");
}

/// `cordon accounts --store URL ARGS`.
fn pg_accounts(url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["accounts", "--store", url];
    all.extend_from_slice(args);
    cordon(&all)
}

#[test]
fn postgres_every_accounts_end_user_and_licence_verb_works_on_the_shared_store() {
    let Some(server_url) = server() else { return };
    let url = own_database(&server_url, "verbs");
    let acme = r#"{"kind": "organization", "name": "Acme Labs", "verification": "attested", "organization": {"name": "Acme Labs", "country": "DE"}}"#;
    ok(&pg_accounts(&url, &["add", "acme", "--subject", acme]));
    ok(&pg_accounts(
        &url,
        &[
            "add",
            "dev",
            "--subject",
            r#"{"organization": {"name": "Acme Labs"}}"#,
        ],
    ));

    // set, show, list.
    let out = ok(&pg_accounts(
        &url,
        &[
            "set",
            "dev",
            "--citizenship",
            "FR",
            "--residence-country",
            "FR",
        ],
    ));
    assert!(out.contains("updated account `dev`"), "{out}");
    let shown = super::json(&pg_accounts(&url, &["show", "dev", "--format", "json"]));
    assert_eq!(shown["subject"]["citizenships"], serde_json::json!(["FR"]));
    assert_eq!(shown["disabled"], false);
    let text = ok(&pg_accounts(&url, &["show", "dev"]));
    assert!(
        text.contains("account  dev") && text.contains("keys     none"),
        "{text}"
    );
    let bad = pg_accounts(&url, &["set", "dev", "--citizenship", "XZ"]);
    assert!(!bad.status.success());
    expect_stderr(&bad, "citizenships");

    // disable and enable, seen by keys list and show.
    let key = ok(&pg_accounts(
        &url,
        &["keys", "create", "dev", "--label", "ci"],
    ))
    .trim()
    .to_owned();
    let out = ok(&pg_accounts(&url, &["disable", "dev"]));
    assert!(out.contains("disabled account `dev`"), "{out}");
    let listed = super::json(&pg_accounts(&url, &["list", "--format", "json"]));
    let ids: Vec<(&str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["disabled"].as_bool().unwrap()))
        .collect();
    assert_eq!(ids, [("acme", false), ("dev", true)]);
    ok(&pg_accounts(&url, &["enable", "dev"]));
    let text = ok(&pg_accounts(&url, &["list"]));
    assert!(
        text.contains("2 account(s)") && !text.contains("disabled"),
        "{text}"
    );
    let keys = super::json(&pg_accounts(
        &url,
        &["keys", "list", "dev", "--format", "json"],
    ));
    assert_eq!(keys[0]["prefix"], key[..11]);
    assert_eq!(keys[0]["label"], "ci");

    // import, with a bad row reported by line and the good ones kept.
    let dir = temp_dir("pg-verbs");
    let csv = dir.join("people.csv");
    std::fs::write(&csv, "id,citizenships\nann,DE\nbad,XZ\ncy,US\n").unwrap();
    let imported = pg_accounts(&url, &["import", csv.to_str().unwrap(), "--batch", "1"]);
    assert!(!imported.status.success(), "a bad row fails the import");
    expect_stderr(&imported, "people.csv:3:");
    assert!(
        super::stdout(&imported).contains("imported 2 new account(s) and updated 0"),
        "{}",
        super::stdout(&imported)
    );
    let ann = super::json(&pg_accounts(&url, &["show", "ann", "--format", "json"]));
    assert_eq!(ann["subject"]["citizenships"], serde_json::json!(["DE"]));

    // attest and evidence.
    let attested = ok(&pg_accounts(
        &url,
        &[
            "attest",
            "acme",
            "--id",
            "att-1",
            "--member",
            "dev",
            "--subject",
            r#"{"us_person": true}"#,
            "--expires",
            "2030-01-01T00:00:00Z",
        ],
    ));
    assert!(
        attested.contains("dev: recorded; the subject changed"),
        "{attested}"
    );
    let rows = super::json(&pg_accounts(&url, &["evidence", "dev", "--format", "json"]));
    assert_eq!(rows["evidence"].as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows["evidence"][0]["source"], "acme");
    assert_eq!(rows["evidence"][0]["in_force"], true);

    // end users.
    ok(&pg_accounts(
        &url,
        &[
            "end-users",
            "register",
            "acme",
            "--end-user",
            "ann@acme.example",
            "--account",
            "dev",
        ],
    ));
    let users = super::json(&pg_accounts(
        &url,
        &["end-users", "list", "acme", "--format", "json"],
    ));
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users[0]["account"], "dev");
    ok(&pg_accounts(
        &url,
        &[
            "end-users",
            "remove",
            "acme",
            "--end-user",
            "ann@acme.example",
        ],
    ));
    let users = super::json(&pg_accounts(
        &url,
        &["end-users", "list", "acme", "--format", "json"],
    ));
    assert!(users.as_array().unwrap().is_empty(), "{users}");

    // licences: add, list, show, revoke; approving an active one is refused.
    let licences = |args: &[&str]| {
        let mut all = vec!["licences", "--store", url.as_str()];
        all.extend_from_slice(args);
        cordon(&all)
    };
    let added = ok(&licences(&[
        "add",
        "--number",
        "D1234567",
        "--authority",
        "BIS",
        "--directive",
        "foreign-national-frontier-2026",
        "--holder",
        "acme",
        "--individual",
        "dev",
        "--model",
        "Fable-5",
        "--issued",
        "2026-11-01T00:00:00Z",
        "--expires",
        "2030-01-01T00:00:00Z",
        "--directives",
        "directives",
        "--actor",
        "officer-1",
    ]));
    assert!(
        added.contains("recorded licence `D1234567` of `acme`: active"),
        "{added}"
    );
    let all = super::json(&licences(&["list", "--format", "json"]));
    assert_eq!(all[0]["actor"], "officer-1");
    let shown = super::json(&licences(&["show", "D1234567", "--format", "json"]));
    assert_eq!(shown["status"], "active");
    let held = super::json(&pg_accounts(&url, &["show", "dev", "--format", "json"]));
    assert_eq!(held["licences"][0]["number"], "D1234567", "{held}");
    let again = licences(&["approve", "D1234567"]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    ok(&licences(&["revoke", "D1234567"]));
    let shown = super::json(&licences(&["show", "D1234567", "--format", "json"]));
    assert_eq!(shown["status"], "revoked");
    let unknown = licences(&["show", "D0000000"]);
    assert_eq!(unknown.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_postgres_url_is_never_taken_for_a_sqlite_file() {
    // Needs no server: a command that takes either store tries the
    // server, and says what to do.
    let dir = temp_dir("pg-url");
    let url = "postgres://nobody@127.0.0.1:1/none";
    let o = super::cordon_in(&dir, &["licences", "list", "--store", url]);
    assert!(!o.status.success(), "{}", stderr(&o));
    expect_stderr(&o, "check that the server runs");
    let o = super::cordon_in(&dir, &["lists", "show", "--store", url]);
    assert!(!o.status.success(), "{}", stderr(&o));
    expect_stderr(&o, "cannot connect to the PostgreSQL identity store");
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "no file made"
    );
}

#[test]
fn postgres_shipped_lists_screen_accounts_as_they_are_added() {
    let Some(server_url) = server() else { return };
    let url = own_database(&server_url, "lists");
    let out = ok(&cordon(&[
        "lists",
        "import",
        "data/sanctions",
        "--store",
        &url,
        "--published",
        "2024-05-03",
    ]));
    assert!(out.contains("snapshot 1:"), "{out}");
    assert!(out.contains("re-screened 0 accounts"), "{out}");
    let shown = ok(&cordon(&["lists", "show", "--store", &url]));
    assert!(shown.contains("snapshot 1 (active)"), "{shown}");
    assert!(shown.contains("published 2024-05-03"), "{shown}");

    // A US company with no `screening` field: screened when added, and clean.
    let added = ok(&cordon(&[
        "accounts",
        "add",
        "us-widgets",
        "--store",
        &url,
        "--subject",
        r#"{"kind": "organization", "name": "Plain Widgets Inc", "organization": {"name": "Plain Widgets Inc", "country": "US"}, "verification": "document_verified"}"#,
    ]));
    let subject: serde_json::Value =
        serde_json::from_str(added.split_once('\n').unwrap().1).unwrap();
    assert_eq!(subject["screening"], serde_json::json!([]), "{added}");
    assert_eq!(subject["screened"]["snapshot"], 1, "{added}");
    let hits = ok(&cordon(&["lists", "hits", "us-widgets", "--store", &url]));
    assert_eq!(hits, "no hits\n");

    // A listed name gets its hit in the same step.
    let added = ok(&cordon(&[
        "accounts",
        "add",
        "radovan",
        "--store",
        &url,
        "--subject",
        r#"{"name": "Radovan Karadzic", "citizenships": ["BA"]}"#,
    ]));
    assert!(added.contains(r#""entry": "7705""#), "{added}");
    assert!(added.contains(r#""status": "pending""#), "{added}");
    let pending = ok(&cordon(&["lists", "hits", "--store", &url]));
    assert!(pending.contains("radovan"), "{pending}");
    assert!(pending.contains("7705"), "{pending}");
    assert!(!pending.contains("us-widgets"), "{pending}");

    // Reviewed there, as on SQLite.
    let reviewed = ok(&cordon(&[
        "lists",
        "review",
        "radovan",
        "--list",
        "SDN",
        "--entry",
        "7705",
        "--decision",
        "confirmed",
        "--reviewer",
        "ana@example.com",
        "--store",
        &url,
    ]));
    assert!(reviewed.contains("is confirmed"), "{reviewed}");
    let hits = ok(&cordon(&[
        "lists", "hits", "radovan", "--format", "json", "--store", &url,
    ]));
    assert!(hits.contains(r#""status": "confirmed""#), "{hits}");
    assert_eq!(
        ok(&cordon(&["lists", "hits", "--store", &url])),
        "no hits\n"
    );

    // `cordon screen` reads the same snapshot.
    let screened = ok(&cordon(&[
        "screen",
        "Radovan Karadžić",
        "--type",
        "person",
        "--store",
        &url,
    ]));
    assert!(
        screened.contains("snapshot 1 in `postgres://"),
        "{screened}"
    );
    assert!(screened.contains("SDN 7705"), "{screened}");
}

/// Waits up to 15 s for `done`, polling every 50 ms; whether it came true.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

#[test]
fn postgres_two_nodes_share_a_revocation_report_themselves_and_ship_their_logs() {
    let Some(server_url) = server() else { return };
    let url = own_database(&server_url, "fleet");
    let id = format!("fleet-{}", std::process::id());
    ok(&cordon(&[
        "accounts",
        "add",
        &id,
        "--store",
        &url,
        "--subject",
        r#"{"citizenships": ["US"], "verification": "document_verified", "screening": []}"#,
    ]));
    let key = ok(&cordon(&[
        "accounts", "keys", "create", &id, "--store", &url,
    ]))
    .trim()
    .to_owned();
    let store = std::path::PathBuf::from(&url);
    let nodes: Vec<super::server::Gateway> = (0..2)
        .map(|n| {
            let work = temp_dir(&format!("fleet-node-{n}"));
            super::server::Gateway::start(
                &work,
                &super::root().join("directives"),
                &store,
                &work.join("data"),
                "[audit]\ncheckpoint_interval_secs = 1",
            )
        })
        .collect();
    let body = r#"{"model": "fable-5", "messages": [{"role": "user", "content": "hi"}]}"#;
    let status = |port: u16| {
        super::server::request(port, "POST", "/v1/chat/completions", &key, body).map(|r| r.status)
    };
    for g in &nodes {
        assert_eq!(status(g.port), Some(200), "node on {}", g.port);
    }

    // Revoked through the store, refused by every node.
    ok(&cordon(&[
        "accounts",
        "keys",
        "revoke",
        &key[..11],
        "--store",
        &url,
    ]));
    for g in &nodes {
        assert!(
            eventually(|| status(g.port) == Some(401)),
            "node on {} still takes the revoked key",
            g.port
        );
    }

    // Each node reports itself, healthy, on the same policy version.
    let listed = |nodes_json: &serde_json::Value, port: u16| {
        nodes_json["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["listen"] == format!("127.0.0.1:{port}"))
            .cloned()
    };
    let report = super::json(&cordon(&[
        "fleet", "status", "--store", &url, "--format", "json",
    ]));
    let mine: Vec<serde_json::Value> = nodes
        .iter()
        .map(|g| listed(&report, g.port).unwrap_or_else(|| panic!("{report}")))
        .collect();
    for n in &mine {
        assert_eq!(n["standing"], "healthy", "{n}");
        assert!(n["audit_shipped"].as_u64().is_some(), "{n}");
        assert_eq!(n["policy_version"], mine[0]["policy_version"], "{n}");
    }

    // Both logs are shipped and verify: the decisions are in them.
    assert!(
        eventually(|| {
            let o = cordon(&["audit", "verify", "--fleet", &url, "--format", "json"]);
            let v: serde_json::Value =
                serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
            o.status.success()
                && nodes.iter().all(|g| {
                    v["logs"].as_array().into_iter().flatten().any(|l| {
                        l["node"]
                            .as_str()
                            .is_some_and(|n| n.ends_with(&format!(":{}", g.port)))
                            && l["entries"].as_u64().is_some_and(|e| e >= 3)
                            && l["signed"].as_u64().is_some_and(|s| s >= 3)
                    })
                })
        }),
        "{}",
        stderr(&cordon(&["audit", "verify", "--fleet", &url]))
    );
}

/// A verification event of source `kyc` about `account`.
fn event(
    account: &str,
    kind: cordon_verification::EventKind,
    facts: Vec<cordon_verification::Fact>,
    object: &str,
    at: &str,
) -> cordon_verification::Event {
    cordon_verification::Event {
        account: account.into(),
        kind,
        facts,
        object_id: Some(object.into()),
        event_time: Some(at.parse().unwrap()),
    }
}

fn delivered<'a>(e: &'a cordon_verification::Event, id: &'a str) -> cordon_store::Delivered<'a> {
    cordon_store::Delivered {
        source: "kyc",
        kind: cordon_verification::SourceKind::KycVendor,
        delivery_id: Some(id),
        payload_sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        event: e,
    }
}

/// The evidence rows of `account`: id, attribute, and whether withdrawn.
fn evidence_rows(s: &dyn cordon_store::IdentityStore, account: &str) -> Vec<(i64, String, bool)> {
    s.evidence(account)
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.id,
                e.attribute.field().to_owned(),
                e.withdrawn_at.is_some(),
            )
        })
        .collect()
}

#[test]
fn postgres_store_copy_carries_every_table_resumes_and_verifies() {
    use cordon_store::end_users::Registration;
    use cordon_store::{IdentityStore, LicenceSource, ObjectKind, PostgresStore, ProviderObject};
    use cordon_verification::{Attribute, EventKind, Fact};
    use serde_json::json;

    let Some(server_url) = server() else { return };
    // A database of its own, so the copy is compared with nothing else.
    let url = own_database(&server_url, "copy");

    let dir = temp_dir("store-copy");
    let sqlite = dir.join("identity.db");
    let s = sqlite.to_str().unwrap();
    for id in ["a", "b", "c"] {
        ok(&cordon(&[
            "accounts",
            "--store",
            s,
            "add",
            id,
            "--subject",
            GERMAN,
        ]));
    }
    let key = ok(&cordon(&["accounts", "--store", s, "keys", "create", "b"]))
        .trim()
        .to_owned();
    let revoked = ok(&cordon(&["accounts", "--store", s, "keys", "create", "c"]))
        .trim()
        .to_owned();
    ok(&cordon(&[
        "accounts",
        "--store",
        s,
        "keys",
        "revoke",
        &revoked[..11],
    ]));
    ok(&cordon(&["accounts", "--store", s, "disable", "c"]));
    {
        // Everything else the store keeps, through the library.
        let src = cordon_store::SqliteStore::open(&sqlite).unwrap();
        src.add_account(
            "acme",
            json!({"kind": "organization", "name": "Acme Labs", "verification": "attested",
                   "organization": {"name": "Acme Labs", "country": "DE"}}),
        )
        .unwrap();
        src.add_account(
            "ann",
            json!({"verification": "none", "name": "Ann", "organization": {"name": "Acme Labs"}}),
        )
        .unwrap();
        let found = event(
            "ann",
            EventKind::Completed,
            vec![Fact::new(
                Attribute::Citizenships,
                json!(["CN"]),
                cordon_subject::VerificationLevel::DocumentVerified,
            )],
            "sess_1",
            "2026-12-01T10:00:00Z",
        );
        src.record_event(delivered(&found, "d1")).unwrap();
        // A record change after evidence: the record is kept apart.
        src.set_attributes("ann", json!({"name": "Ann B"})).unwrap();
        let revocation = event(
            "ann",
            EventKind::Revoked,
            vec![],
            "sess_2",
            "2026-12-01T12:00:00.5Z",
        );
        src.record_event(delivered(&revocation, "d2")).unwrap();
        src.register_end_users(
            "acme",
            &[Registration {
                end_user: "ann@acme.example".into(),
                account: "ann".into(),
            }],
        )
        .unwrap();
        src.record_object(&ProviderObject {
            kind: ObjectKind::File,
            id: "file-1".into(),
            account: "ann".into(),
            model: None,
            details: json!({"lines": 2}),
        })
        .unwrap();
        let licence = cordon_subject::Licence::from_value(
            &json!({
                "number": "D1234567", "authority": "BIS",
                "directives": ["foreign-national-frontier-2026"], "holder": "acme",
                "individuals": ["ann"], "excluded_nationalities": [], "models": ["fable-5"],
                "issued": "2026-11-01T00:00:00Z", "expires": "2030-01-01T00:00:00Z"
            }),
            src.jurisdictions(),
            None,
        )
        .unwrap();
        src.record_licence(&licence, LicenceSource::OrgSubmission)
            .unwrap();
    }

    let copied = cordon(&["store", "copy", "--from", s, "--to", &url]);
    let out = ok(&copied);
    for line in [
        "accounts         5 row(s) (5 new)",
        "api_keys         2 row(s) (2 new)",
        "evidence         1 row(s) (1 new)",
        "deliveries       2 row(s) (2 new)",
        "revocations      1 row(s) (1 new)",
        "licences         1 row(s) (1 new)",
        "end_users        1 row(s) (1 new)",
        "provider_objects 1 row(s) (1 new)",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    assert!(
        out.contains("verified: both stores hold the same rows"),
        "{out}"
    );
    // The source's journal (changes its gateway has yet to log) stays there.
    expect_stderr(&copied, "not copied:");

    // Cut short: rows missing from PostgreSQL are copied again, nothing else.
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    admin
        .batch_execute("DELETE FROM end_users; DELETE FROM provider_objects;")
        .unwrap();
    drop(admin);
    let again = ok(&cordon(&[
        "store",
        "copy",
        "--from",
        &format!("sqlite:{s}"),
        "--to",
        &url,
    ]));
    assert!(
        again.contains("accounts         5 row(s) (0 new)"),
        "{again}"
    );
    assert!(
        again.contains("end_users        1 row(s) (1 new)"),
        "{again}"
    );
    assert!(
        again.contains("provider_objects 1 row(s) (1 new)"),
        "{again}"
    );
    assert!(
        again.contains("evidence         1 row(s) (0 new)"),
        "{again}"
    );

    // What the copy holds answers as the source did.
    let src = cordon_store::SqliteStore::open(&sqlite).unwrap();
    let dst = PostgresStore::connect(&url).unwrap();
    for id in ["a", "b", "c", "acme", "ann"] {
        assert_eq!(dst.account(id).unwrap(), src.account(id).unwrap(), "{id}");
        assert_eq!(dst.subject(id).unwrap(), src.subject(id).unwrap(), "{id}");
    }
    assert!(dst.account("c").unwrap().unwrap().disabled);
    assert_eq!(
        dst.subject("ann").unwrap().unwrap().licences.len(),
        0,
        "pending until approved"
    );
    assert_eq!(dst.licences().unwrap(), src.licences().unwrap());
    assert_eq!(
        dst.end_users("acme").unwrap(),
        src.end_users("acme").unwrap()
    );
    assert_eq!(
        dst.object(ObjectKind::File, "file-1").unwrap(),
        src.object(ObjectKind::File, "file-1").unwrap()
    );
    assert_eq!(evidence_rows(&dst, "ann"), evidence_rows(&src, "ann"));
    // The record kept apart came along: deriving again keeps the evidence
    // and the record's own change.
    let (record, _) = dst.derivation("ann").unwrap();
    assert_eq!(record.get("name"), Some(&json!("Ann B")));
    // A replayed delivery is known as one.
    assert!(matches!(
        dst.record_event(delivered(
            &event(
                "ann",
                EventKind::Completed,
                vec![],
                "sess_1",
                "2026-12-01T10:00:00Z"
            ),
            "d1"
        ))
        .unwrap(),
        cordon_store::Intake::Replay { .. }
    ));
    // The revocation came along: a late fact of that session, dated
    // before it, is withdrawn from the start; and new evidence takes an id
    // after the copied ones.
    let late = event(
        "ann",
        EventKind::Completed,
        vec![Fact::new(
            Attribute::UsPerson,
            json!(true),
            cordon_subject::VerificationLevel::DocumentVerified,
        )],
        "sess_2",
        "2026-12-01T12:00:00.2Z",
    );
    dst.record_event(delivered(&late, "d3")).unwrap();
    let rows = evidence_rows(&dst, "ann");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[1].0 > rows[0].0, "{rows:?}");
    assert!(rows[1].2, "withdrawn: {rows:?}");

    // The copied keys behave as they did: the live one revokes, the
    // revoked one is already revoked.
    ok(&cordon(&[
        "accounts",
        "keys",
        "revoke",
        &key[..11],
        "--store",
        &url,
    ]));
    let twice = cordon(&[
        "accounts",
        "keys",
        "revoke",
        &revoked[..11],
        "--store",
        &url,
    ]);
    assert!(!twice.status.success());
    expect_stderr(&twice, "already revoked");

    // A store changed after the copy no longer matches its source, and
    // the message names the table.
    ok(&cordon(&[
        "accounts",
        "set",
        "a",
        "--store",
        &url,
        "--residence-country",
        "FR",
    ]));
    let mismatch = cordon(&["store", "copy", "--from", s, "--to", &url]);
    assert!(!mismatch.status.success());
    expect_stderr(&mismatch, "does not match its source in `accounts`");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh, migrated database of its own on the test server, for a test
/// whose store must hold nothing another test wrote.
fn own_database(server_url: &str, name: &str) -> String {
    let db = format!("{name}_{}", std::process::id());
    let mut admin = ::postgres::Client::connect(server_url, ::postgres::NoTls).unwrap();
    // One statement each: neither runs inside a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    let url = format!("{}/{db}", server_url.rsplit_once('/').unwrap().0);
    ok(&cordon(&["store", "migrate", "--store", &url]));
    url
}

fn copy_directives(to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(super::root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn postgres_a_published_bundle_reaches_every_node_and_one_no_node_trusts_is_flagged() {
    let Some(server_url) = server() else { return };
    let url = own_database(&server_url, "publish");
    ok(&cordon(&[
        "accounts",
        "add",
        "de",
        "--store",
        &url,
        "--subject",
        GERMAN,
    ]));
    let key = ok(&cordon(&[
        "accounts", "keys", "create", "de", "--store", &url,
    ]))
    .trim()
    .to_owned();
    let work = temp_dir("publish");
    let catalog = super::root().join("catalog.toml");
    let catalog = catalog.to_str().unwrap();
    let publisher = work.join("publisher.key");
    let out = cordon(&["directives", "keygen", publisher.to_str().unwrap()]);
    let public = ok(&out).trim().to_owned();
    assert!(
        std::fs::read_to_string(work.join("publisher.key.pub"))
            .unwrap()
            .contains(&public)
    );
    // Never replaced: nodes trust its public half.
    let again = cordon(&["directives", "keygen", publisher.to_str().unwrap()]);
    assert!(!again.status.success());
    expect_stderr(&again, "is not replaced");

    // Two nodes on their own copies of the shipped set, one replicated.
    let store = std::path::PathBuf::from(&url);
    let nodes: Vec<super::server::Gateway> = (0..2)
        .map(|n| {
            let node_work = work.join(format!("node-{n}"));
            copy_directives(&node_work.join("directives"));
            let durability = if n == 0 { "replicated" } else { "local" };
            super::server::Gateway::start(
                &node_work,
                &node_work.join("directives"),
                &store,
                &node_work.join("data"),
                &format!(
                    "[audit]\ncheckpoint_interval_secs = 1\ndurability = \"{durability}\"\n[fleet]\npublisher_keys = [\"{public}\"]"
                ),
            )
        })
        .collect();
    let body = r#"{"model": "fable-5", "messages": [{"role": "user", "content": "hi"}]}"#;
    let status = |port: u16| {
        super::server::request(port, "POST", "/v1/chat/completions", &key, body).map(|r| r.status)
    };
    for g in &nodes {
        assert_eq!(
            status(g.port),
            Some(451),
            "a German citizen, node {}",
            g.port
        );
    }

    // An invalid set is not published.
    let broken = work.join("broken");
    copy_directives(&broken);
    std::fs::write(broken.join("zz.toml"), "id = \"half\"\n").unwrap();
    let refused = cordon(&[
        "directives",
        "publish",
        broken.to_str().unwrap(),
        "--catalog",
        catalog,
        "--store",
        &url,
        "--key",
        publisher.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    expect_stderr(&refused, "is invalid, so it was not published");

    // The set with the foreign-national order retired, published once.
    let set = work.join("published");
    copy_directives(&set);
    ok(&cordon(&[
        "directives",
        "set-mode",
        "foreign-national-frontier-2026",
        "retired",
        "--directives",
        set.to_str().unwrap(),
        "--catalog",
        catalog,
    ]));
    let publish = || {
        super::json(&cordon(&[
            "directives",
            "publish",
            set.to_str().unwrap(),
            "--catalog",
            catalog,
            "--store",
            &url,
            "--key",
            publisher.to_str().unwrap(),
            "--json",
        ]))
    };
    let published = publish();
    assert_eq!(published["changed"], true, "{published}");
    let bundle = published["bundle"].as_str().unwrap().to_owned();
    let again = publish();
    assert_eq!(again["bundle"], bundle.as_str(), "content-addressed");
    assert_eq!(again["changed"], false);
    for g in &nodes {
        assert!(
            eventually(|| status(g.port) == Some(200)),
            "node {} did not enforce the published set",
            g.port
        );
    }
    // Read whatever the exit status (1 while a node is flagged).
    let fleet = |url: &str| -> serde_json::Value {
        let o = cordon(&["fleet", "status", "--store", url, "--format", "json"]);
        serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
    };
    assert!(
        eventually(|| {
            let f = fleet(&url);
            f["published_bundle"] == bundle.as_str()
                && f["nodes"].as_array().is_some_and(|ns| {
                    ns.len() == 2
                        && ns.iter().all(|n| {
                            n["policy_bundle"] == bundle.as_str()
                                && n["policy_version"] == published["policy_version"]
                                && n["standing"] == "healthy"
                        })
                })
        }),
        "{}",
        fleet(&url)
    );

    // A bundle signed by a key no node trusts: stored and active, loaded by
    // nobody; every node keeps the set it has and is flagged.
    let stranger = work.join("stranger.key");
    ok(&cordon(&[
        "directives",
        "keygen",
        stranger.to_str().unwrap(),
        "--name",
        "stranger.example/publisher",
    ]));
    ok(&cordon(&[
        "directives",
        "publish",
        nodes_dir(&work).to_str().unwrap(),
        "--catalog",
        catalog,
        "--store",
        &url,
        "--key",
        stranger.to_str().unwrap(),
    ]));
    assert!(
        eventually(|| {
            fleet(&url)["nodes"].as_array().is_some_and(|ns| {
                ns.iter().all(|n| {
                    n["standing"]
                        .as_str()
                        .is_some_and(|s| s.contains("no trusted publisher signed"))
                        && n["policy_bundle"] == bundle.as_str()
                })
            })
        }),
        "{}",
        fleet(&url)
    );
    let status_exit = cordon(&["fleet", "status", "--store", &url]);
    assert!(
        !status_exit.status.success(),
        "flagged nodes fail the status"
    );
    for g in &nodes {
        assert_eq!(status(g.port), Some(200), "still the trusted set");
        let health = super::server::request(g.port, "GET", "/healthz", "", "").unwrap();
        assert_eq!(health.status, 503, "a node behind the fleet is degraded");
    }
    // Both logs hold the activations and verify.
    assert!(
        eventually(|| cordon(&["audit", "verify", "--fleet", &url])
            .status
            .success()),
        "{}",
        stderr(&cordon(&["audit", "verify", "--fleet", &url]))
    );
    drop(nodes);
    std::fs::remove_dir_all(&work).unwrap();
}

/// The shipped set as node 0 has it.
fn nodes_dir(work: &std::path::Path) -> std::path::PathBuf {
    work.join("node-0").join("directives")
}
