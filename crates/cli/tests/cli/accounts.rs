//! `cordon accounts`, run as a user would against a fresh store.

use std::path::Path;
use std::process::Output;

use super::{GERMAN, cordon_in, cordon_with_input, json, ok, stderr, stdout, temp_dir};

/// Runs `cordon accounts --store <dir>/data/identity.db ARGS` in `dir`.
fn accounts(dir: &Path, args: &[&str]) -> Output {
    let store = dir.join("data/identity.db");
    let mut all = vec!["accounts", "--store", super::s(&store)];
    all.extend_from_slice(args);
    cordon_in(dir, &all)
}

#[test]
fn add_show_set_list_disable_enable() {
    let dir = temp_dir("lifecycle");
    let out = ok(&accounts(&dir, &["add", "acct-1", "--subject", GERMAN]));
    assert!(out.contains("added account `acct-1`"), "{out}");
    assert!(
        dir.join("data/identity.db").is_file(),
        "store and its directory created"
    );

    // A subject from a file, and one with no subject at all (everything unknown).
    std::fs::write(dir.join("fr.json"), r#"{"citizenships": ["FR"]}"#).unwrap();
    ok(&accounts(&dir, &["add", "acct-2", "--subject", "fr.json"]));
    ok(&accounts(&dir, &["add", "acct-3"]));

    let shown = json(&accounts(&dir, &["show", "acct-1", "--format", "json"]));
    assert_eq!(shown["id"], "acct-1");
    assert_eq!(shown["subject"]["citizenships"], serde_json::json!(["DE"]));
    assert_eq!(shown["disabled"], false);
    assert_eq!(shown["keys"], serde_json::json!([]));

    let text = ok(&accounts(&dir, &["show", "acct-1"]));
    assert!(text.contains("status   enabled"), "{text}");
    assert!(text.contains("\"document_verified\""), "{text}");

    let out = ok(&accounts(
        &dir,
        &[
            "set",
            "acct-1",
            "--subject",
            r#"{"residence_country": "DE", "permanent_residencies": null}"#,
            "--citizenship",
            "DE",
            "--citizenship",
            "US",
        ],
    ));
    assert!(out.contains("updated account `acct-1`"), "{out}");
    let shown = json(&accounts(&dir, &["show", "acct-1", "--format", "json"]));
    assert_eq!(
        shown["subject"]["citizenships"],
        serde_json::json!(["DE", "US"])
    );
    assert_eq!(shown["subject"]["residence_country"], "DE");
    assert!(shown["subject"].get("permanent_residencies").is_none());

    let list = ok(&accounts(&dir, &["list"]));
    assert!(list.starts_with("ID"), "{list}");
    assert!(list.contains("acct-2") && list.contains("FR"), "{list}");
    assert!(list.contains("3 account(s)"), "{list}");
    let list = json(&accounts(&dir, &["list", "--format", "json"]));
    assert_eq!(list.as_array().unwrap().len(), 3);

    ok(&accounts(&dir, &["disable", "acct-2"]));
    let shown = json(&accounts(&dir, &["show", "acct-2", "--format", "json"]));
    assert_eq!(shown["disabled"], true);
    ok(&accounts(&dir, &["enable", "acct-2"]));
    let shown = json(&accounts(&dir, &["show", "acct-2", "--format", "json"]));
    assert_eq!(shown["disabled"], false);
}

#[test]
fn bad_input_is_named_and_exits_1() {
    let dir = temp_dir("errors");
    let o = accounts(
        &dir,
        &[
            "add",
            "acct-1",
            "--subject",
            r#"{"citizenships": ["DE", "XZ"]}"#,
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("subject field `citizenships[1]`: `XZ` is not an assigned"),
        "{}",
        stderr(&o)
    );
    let o = accounts(&dir, &["add", "Not Valid"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("account id `Not Valid` is invalid"),
        "{}",
        stderr(&o)
    );
    ok(&accounts(&dir, &["add", "acct-1"]));
    let o = accounts(&dir, &["add", "acct-1"]);
    assert!(
        stderr(&o).contains("account `acct-1` already exists"),
        "{}",
        stderr(&o)
    );
    let o = accounts(&dir, &["show", "nobody"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("account `nobody` does not exist"));
    let o = accounts(&dir, &["set", "acct-1"]);
    assert!(stderr(&o).contains("nothing to change"), "{}", stderr(&o));
    let o = accounts(&dir, &["add", "acct-2", "--subject", "missing.json"]);
    assert!(stderr(&o).contains("neither JSON"), "{}", stderr(&o));
}

#[test]
fn keys_are_shown_once_listed_by_prefix_and_revoked() {
    let dir = temp_dir("keys");
    ok(&accounts(&dir, &["add", "acct-1", "--subject", GERMAN]));
    let o = accounts(&dir, &["keys", "create", "acct-1", "--label", "ci runner"]);
    let key = ok(&o).trim().to_owned();
    assert!(key.starts_with("ck_") && key.len() == 60, "{key}");
    let prefix = &key[..11];
    assert!(
        stderr(&o).contains("only time the full key is shown"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(prefix), "{}", stderr(&o));

    let list = ok(&accounts(&dir, &["keys", "list", "acct-1"]));
    assert!(
        list.contains(prefix) && list.contains("active") && list.contains("ci runner"),
        "{list}"
    );
    assert!(!list.contains(&key[12..]), "secret printed by keys list");
    let shown = ok(&accounts(&dir, &["show", "acct-1", "--format", "json"]));
    assert!(!shown.contains(&key[12..]), "secret printed by show");

    let out = ok(&accounts(&dir, &["keys", "revoke", prefix]));
    assert!(out.contains(&format!("revoked API key {prefix}")), "{out}");
    let keys = json(&accounts(
        &dir,
        &["keys", "list", "acct-1", "--format", "json"],
    ));
    assert!(keys[0]["revoked_at"].is_string(), "{keys}");
    let o = accounts(&dir, &["keys", "revoke", prefix]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already revoked"), "{}", stderr(&o));
    let o = accounts(&dir, &["keys", "create", "nobody"]);
    assert!(stderr(&o).contains("account `nobody` does not exist"));
}

#[test]
fn import_keeps_good_rows_lists_bad_ones_and_exits_1() {
    let dir = temp_dir("import");
    let mut csv = String::from("id,citizenships,permanent_residencies,verification,us_person\n");
    for i in 0..50 {
        csv.push_str(&format!("acct-{i:03},DE;FR,-,document_verified,false\n"));
    }
    csv.push_str("acct-bad,XZ,,,\n"); // line 52
    csv.push_str(",DE,,,\n"); // line 53
    csv.push_str("acct-000,US,,,\n"); // line 54: duplicate
    csv.push_str("acct-050,US,,,maybe\n"); // line 55
    std::fs::write(dir.join("accounts.csv"), &csv).unwrap();

    let o = accounts(&dir, &["import", "accounts.csv", "--batch", "7"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("accounts.csv:52: account `acct-bad`: subject field `citizenships[0]`"),
        "{err}"
    );
    assert!(
        err.contains("accounts.csv:53: column `id` is empty"),
        "{err}"
    );
    assert!(
        err.contains("accounts.csv:54: account `acct-000` appears more than once"),
        "{err}"
    );
    assert!(err.contains("accounts.csv:55: column `us_person`"), "{err}");
    assert!(err.contains("4 row(s) not imported"), "{err}");
    assert!(
        stdout(&o).contains("imported 50 new account(s)"),
        "{}",
        stdout(&o)
    );
    let list = json(&accounts(&dir, &["list", "--format", "json"]));
    assert_eq!(list.as_array().unwrap().len(), 50);

    // JSON Lines, told by the extension; re-importing existing ids needs --upsert.
    let jsonl = "{\"id\": \"acct-000\", \"citizenships\": [\"GB\"]}\n{\"id\": \"new-1\", \"citizenships\": [\"JP\"], \"key_label\": \"x\"}\n";
    std::fs::write(dir.join("more.jsonl"), jsonl).unwrap();
    let o = accounts(&dir, &["import", "more.jsonl"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("more.jsonl:1: account `acct-000` already exists"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("imported 1 new account(s) and updated 0"),
        "{}",
        stdout(&o)
    );
    let o = accounts(&dir, &["import", "more.jsonl", "--upsert"]);
    let out = ok(&o);
    assert!(
        out.contains("imported 0 new account(s) and updated 2"),
        "{out}"
    );
    let shown = json(&accounts(&dir, &["show", "acct-000", "--format", "json"]));
    assert_eq!(shown["subject"]["citizenships"], serde_json::json!(["GB"]));

    // No progress bar when standard error is not a terminal.
    assert!(!stderr(&o).contains("importing ["), "{}", stderr(&o));

    let o = accounts(&dir, &["import", "accounts.txt"]);
    assert!(stderr(&o).contains("--format csv"), "{}", stderr(&o));
    std::fs::write(dir.join("bad-header.csv"), "id,citizenship\na,DE\n").unwrap();
    let o = accounts(&dir, &["import", "bad-header.csv"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`citizenship` is not known"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn subject_from_standard_input() {
    let dir = temp_dir("stdin");
    let store = dir.join("data/identity.db");
    let o = cordon_with_input(
        &dir,
        &[
            "accounts",
            "add",
            "acct-1",
            "--subject",
            "-",
            "--store",
            super::s(&store),
        ],
        GERMAN,
    );
    ok(&o);
    let shown = json(&accounts(&dir, &["show", "acct-1", "--format", "json"]));
    assert_eq!(shown["subject"]["verification"], "document_verified");
}

#[test]
fn an_organisation_attests_for_its_members_and_no_one_else() {
    let dir = temp_dir("accounts-attest");
    add_acme(&dir);
    ok(&accounts(
        &dir,
        &[
            "add",
            "dev",
            "--subject",
            r#"{"organization": {"name": "Acme Labs"}}"#,
        ],
    ));
    ok(&accounts(&dir, &["add", "stranger", "--subject", "{}"]));
    let attest = |members: &[&str]| {
        let mut args = vec![
            "attest",
            "acme",
            "--id",
            "att-1",
            "--subject",
            r#"{"us_person": true}"#,
            "--expires",
            "2030-01-01T00:00:00Z",
        ];
        for m in members {
            args.extend(["--member", m]);
        }
        accounts(&dir, &args)
    };
    let refused = attest(&["dev", "stranger"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("`stranger` is not a member of `acme`"),
        "{}",
        stderr(&refused)
    );
    let done = attest(&["dev"]);
    ok(&done);
    assert!(
        stdout(&done).contains("dev: recorded; the subject changed"),
        "{}",
        stdout(&done)
    );
    let rows = accounts(&dir, &["evidence", "dev", "--format", "json"]);
    ok(&rows);
    let rows = json(&rows)["evidence"].clone();
    assert_eq!(rows[0]["source_kind"], "org_attestation", "{rows}");
    assert_eq!(rows[0]["level"], "attested");
    assert_eq!(rows[0]["object_id"], "att-1");
    let again = attest(&["dev"]);
    assert!(
        stdout(&again).contains("already recorded"),
        "{}",
        stdout(&again)
    );
    let not_org = accounts(
        &dir,
        &[
            "attest",
            "dev",
            "--id",
            "x",
            "--subject",
            r#"{"us_person": true}"#,
            "--expires",
            "2030-01-01T00:00:00Z",
            "--member",
            "dev",
        ],
    );
    assert!(
        stderr(&not_org).contains("not an organisation account"),
        "{}",
        stderr(&not_org)
    );
}

#[test]
fn an_organisation_registers_its_end_users_as_member_accounts() {
    let dir = temp_dir("accounts-end-users");
    add_acme(&dir);
    ok(&accounts(&dir, &["add", "stranger", "--subject", "{}"]));
    let register = |end_user: &str, account: &str| {
        accounts(
            &dir,
            &[
                "end-users",
                "register",
                "acme",
                "--end-user",
                end_user,
                "--account",
                account,
            ],
        )
    };
    let done = register("ann@acme.example", "acme.ann");
    assert!(ok(&done).contains("created"), "{}", stdout(&done));
    let shown = json(&accounts(&dir, &["show", "acme.ann", "--format", "json"]));
    assert_eq!(
        shown["subject"]["organization"]["name"], "Acme Labs",
        "{shown}"
    );
    ok(&register("*", "acme.everyone"));
    let refused = register("bob", "stranger");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("`stranger` is not an individual member of `acme`"),
        "{}",
        stderr(&refused)
    );
    let listed = json(&accounts(
        &dir,
        &["end-users", "list", "acme", "--format", "json"],
    ));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        !serde_json::to_string(listed).unwrap().contains("ann@"),
        "identifiers are not kept"
    );
    let text = ok(&accounts(&dir, &["end-users", "list", "acme"]));
    assert!(text.contains("every unregistered end user"), "{text}");
    ok(&accounts(
        &dir,
        &[
            "end-users",
            "remove",
            "acme",
            "--end-user",
            "ann@acme.example",
        ],
    ));
    let again = accounts(
        &dir,
        &[
            "end-users",
            "remove",
            "acme",
            "--end-user",
            "ann@acme.example",
        ],
    );
    assert!(!again.status.success(), "{}", stdout(&again));
    assert!(
        stderr(&again).contains("no end user registered"),
        "{}",
        stderr(&again)
    );
}

/// Adds the organisation account `acme` ("Acme Labs").
fn add_acme(dir: &Path) {
    ok(&accounts(
        dir,
        &[
            "add",
            "acme",
            "--subject",
            r#"{"kind": "organization", "name": "Acme Labs"}"#,
        ],
    ));
}
