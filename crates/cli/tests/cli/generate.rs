//! `cordon accounts generate`: synthetic accounts to standard output, a file or a store.

use super::{cordon_in, expect_code, json, ok, s, stderr, stdout, temp_dir};

/// The JSON Lines rows of a run's standard output.
fn rows(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn a_seed_gives_the_same_accounts_every_time() {
    let dir = temp_dir("generate-seed");
    let args = ["accounts", "generate", "--count", "200", "--seed", "11"];
    let first = ok(&cordon_in(&dir, &args));
    assert_eq!(first, ok(&cordon_in(&dir, &args)));
    let other = ok(&cordon_in(
        &dir,
        &["accounts", "generate", "--count", "200", "--seed", "12"],
    ));
    assert_ne!(first, other);

    let all = rows(&first);
    assert_eq!(all.len(), 200);
    assert_eq!(all[0]["id"], "acct-000000001");
    assert_eq!(all[199]["id"], "acct-000000200");
    assert!(all.iter().any(|r| r.get("citizenships").is_none()));
    assert!(all.iter().any(|r| r["verification"] == "document_verified"));
    // Standard output only: no store was created on the way.
    assert!(!dir.join("cordon-data").exists());

    // --out writes the same rows to a file.
    let out = ok(&cordon_in(
        &dir,
        &[
            "accounts", "generate", "--count", "200", "--seed", "11", "--out", "a.jsonl",
        ],
    ));
    assert!(out.contains("wrote 200 account(s) to `a.jsonl`"), "{out}");
    assert_eq!(std::fs::read_to_string(dir.join("a.jsonl")).unwrap(), first);
}

#[test]
fn a_generated_store_is_listed_and_shown() {
    let dir = temp_dir("generate-store");
    let db = dir.join("pop.db");
    let out = ok(&cordon_in(
        &dir,
        &[
            "accounts",
            "generate",
            "--count",
            "300",
            "--seed",
            "5",
            "--store",
            s(&db),
            "--batch",
            "64",
        ],
    ));
    assert!(out.contains("300 new and 0 updated"), "{out}");

    let list = ok(&cordon_in(&dir, &["accounts", "--store", s(&db), "list"]));
    assert!(list.contains("300 account(s)"), "{list}");
    assert!(list.contains("acct-000000300"), "{list}");

    // The stored subject is the generated one, without its id.
    let generated = rows(&ok(&cordon_in(
        &dir,
        &["accounts", "generate", "--count", "7", "--seed", "5"],
    )));
    let mut expected = generated[6].clone();
    expected.as_object_mut().unwrap().remove("id");
    let shown = json(&cordon_in(
        &dir,
        &[
            "accounts",
            "--store",
            s(&db),
            "show",
            "acct-000000007",
            "--format",
            "json",
        ],
    ));
    assert_eq!(shown["subject"], expected);

    // A second run reports the existing accounts; --upsert replaces them.
    let again = cordon_in(
        &dir,
        &[
            "accounts",
            "generate",
            "--count",
            "300",
            "--seed",
            "5",
            "--store",
            s(&db),
        ],
    );
    expect_code(&again, 1);
    assert!(
        stderr(&again).contains("300 account(s) not stored"),
        "{}",
        stderr(&again)
    );
    assert!(stderr(&again).contains("--upsert"), "{}", stderr(&again));
    let out = ok(&cordon_in(
        &dir,
        &[
            "accounts",
            "generate",
            "--count",
            "300",
            "--seed",
            "6",
            "--store",
            s(&db),
            "--upsert",
        ],
    ));
    assert!(out.contains("0 new and 300 updated"), "{out}");
}

#[test]
fn bad_arguments_are_explained() {
    let dir = temp_dir("generate-errors");
    let run = |args: &[&str]| {
        let o = cordon_in(&dir, args);
        assert!(!o.status.success(), "{args:?} succeeded: {}", stdout(&o));
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        stderr(&o)
    };
    let e = run(&["accounts", "generate", "--count", "0", "--seed", "1"]);
    assert!(e.contains("--count 0") && e.contains("at least 1"), "{e}");

    // The store's directory is made, as `--store`'s help says.
    let nested = dir.join("new/dir/x.db");
    let made = cordon_in(
        &dir,
        &[
            "accounts",
            "generate",
            "--count",
            "5",
            "--seed",
            "1",
            "--store",
            s(&nested),
        ],
    );
    ok(&made);
    assert!(nested.is_file(), "the store was created with its directory");

    let e = run(&[
        "accounts",
        "generate",
        "--count",
        "5",
        "--seed",
        "1",
        "--out",
        "nope/x.jsonl",
    ]);
    assert!(e.contains("`nope` does not exist"), "{e}");

    let e = run(&[
        "accounts", "generate", "--count", "5", "--seed", "1", "--out", "x.jsonl", "--store",
        "x.db",
    ]);
    assert!(e.contains("not both"), "{e}");
    assert!(!dir.join("x.db").exists() && !dir.join("x.jsonl").exists());

    for flag in [&["--upsert"][..], &["--batch", "10"]] {
        let mut args = vec!["accounts", "generate", "--count", "5", "--seed", "1"];
        args.extend_from_slice(flag);
        let e = run(&args);
        assert!(e.contains("apply to a store"), "{flag:?}: {e}");
    }

    let e = run(&["accounts", "generate", "--count", "5"]);
    assert!(e.contains("--seed"), "{e}");
    let e = run(&["accounts", "generate", "--count", "-3", "--seed", "1"]);
    assert!(e.contains("--count"), "{e}");
}

#[test]
fn a_population_table_of_ones_own_sets_the_countries() {
    let dir = temp_dir("generate-population");
    let table = dir.join("customers.csv");
    std::fs::write(
        &table,
        "iso,name,population,continent\nUS,United States,300,NA\nDE,Germany,100,EU\n",
    )
    .unwrap();
    let out = ok(&cordon_in(
        &dir,
        &[
            "accounts",
            "generate",
            "--count",
            "500",
            "--seed",
            "3",
            "--population",
            s(&table),
        ],
    ));
    let mut seen = std::collections::BTreeSet::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for c in v["citizenships"].as_array().into_iter().flatten() {
            seen.insert(c.as_str().or(c["country"].as_str()).unwrap().to_owned());
        }
        if let Some(r) = v.get("residence_country") {
            seen.insert(r.as_str().or(r["country"].as_str()).unwrap().to_owned());
        }
    }
    assert_eq!(seen, ["DE".to_owned(), "US".to_owned()].into());

    // A bad row is named by file and line.
    std::fs::write(
        &table,
        "iso,name,population,continent\nUS,United States,300,NA\nXX,Nowhere,5,EU\n",
    )
    .unwrap();
    let o = cordon_in(
        &dir,
        &[
            "accounts",
            "generate",
            "--count",
            "5",
            "--seed",
            "3",
            "--population",
            s(&table),
        ],
    );
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("customers.csv:3:") && e.contains("`XX`"), "{e}");
}
