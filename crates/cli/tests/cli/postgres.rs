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
    let list = cordon(&["accounts", "list", "--store", &url]);
    assert!(!list.status.success());
    expect_stderr(&list, "does not work with a PostgreSQL store yet");
}

#[test]
fn a_postgres_url_is_never_taken_for_a_sqlite_file() {
    // Needs no server: the URL is refused before anything connects.
    let dir = temp_dir("pg-url");
    let url = "postgres://nobody@127.0.0.1:1/none";
    let o = super::cordon_in(&dir, &["lists", "show", "--store", url]);
    assert!(!o.status.success(), "{}", stderr(&o));
    expect_stderr(&o, "needs a SQLite store file");
    let o = super::cordon_in(&dir, &["licences", "list", "--store", url]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "no file made"
    );
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
    let Some(url) = server() else { return };
    ok(&cordon(&["store", "migrate", "--store", &url]));
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

#[test]
fn postgres_store_copy_carries_accounts_and_keys_over_resumes_and_verifies() {
    let Some(server_url) = server() else { return };
    // A database of its own, so the copy is compared with nothing else.
    let db = format!("copy_{}", std::process::id());
    let mut admin = ::postgres::Client::connect(&server_url, ::postgres::NoTls).unwrap();
    // One statement each: neither runs inside a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    let url = format!("{}/{db}", server_url.rsplit_once('/').unwrap().0);
    ok(&cordon(&["store", "migrate", "--store", &url]));

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

    let out = ok(&cordon(&["store", "copy", "--from", s, "--to", &url]));
    assert!(
        out.contains("3 account(s) (3 new), 2 API key(s) (2 new)"),
        "{out}"
    );
    assert!(out.contains("verified: both stores hold the same"), "{out}");
    // Run again: nothing new, still verified.
    let again = ok(&cordon(&[
        "store",
        "copy",
        "--from",
        &format!("sqlite:{s}"),
        "--to",
        &url,
    ]));
    assert!(
        again.contains("3 account(s) (0 new), 2 API key(s) (0 new)"),
        "{again}"
    );

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

    // A store changed after the copy no longer matches its source.
    ok(&cordon(&[
        "accounts",
        "add",
        "d",
        "--store",
        &url,
        "--subject",
        GERMAN,
    ]));
    let mismatch = cordon(&["store", "copy", "--from", s, "--to", &url]);
    assert!(!mismatch.status.success());
    expect_stderr(&mismatch, "does not match its source in `accounts`");
    std::fs::remove_dir_all(&dir).unwrap();
}
