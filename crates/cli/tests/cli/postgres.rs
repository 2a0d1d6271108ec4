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
