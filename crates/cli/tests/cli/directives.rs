//! `cordon directives status` and `set-mode`: the lifecycle of a directive set.

use super::*;

#[test]
fn status_shows_each_standing_and_the_next_change() {
    let text = ok(&cordon(&[
        "directives",
        "status",
        "--at",
        "2026-11-19T12:00:00Z",
    ]));
    insta::assert_snapshot!("directives_status_before_the_order", text);

    let v = json(&cordon(&[
        "directives",
        "status",
        "--at",
        "2026-11-25T00:00:00Z",
        "--format",
        "json",
    ]));
    let frontier = v["directives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "foreign-national-frontier-2026")
        .unwrap();
    assert_eq!(frontier["standing"], "grace");
    assert_eq!(frontier["next"]["change"], "grace_ends");
    assert_eq!(frontier["next"]["at"], "2026-12-04T00:00:00Z");
}

#[test]
fn status_names_a_bad_time() {
    let o = cordon(&["directives", "status", "--at", "tomorrow"]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("--at `tomorrow`"), "{}", stderr(&o));
}

/// A copy of the shipped directives in a scratch directory.
fn shipped_copy(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

fn mode_in_status(dir: &Path, id: &str) -> String {
    let v = json(&cordon(&[
        "directives",
        "status",
        s(dir),
        "--format",
        "json",
    ]));
    v["directives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap()["mode"]
        .as_str()
        .unwrap()
        .to_owned()
}

const FRONTIER: &str = "foreign-national-frontier-2026";

#[test]
fn set_mode_rewrites_only_the_mode_line_and_journals_the_change() {
    let dir = shipped_copy("set-mode");
    let file = dir.join("foreign-national-frontier.toml");
    let before = std::fs::read_to_string(&file).unwrap();
    let others: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| *p != file)
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    let db = dir.with_extension("db");
    let out = ok(&cordon(&[
        "directives",
        "set-mode",
        FRONTIER,
        "shadow",
        "--directives",
        s(&dir),
        "--store",
        s(&db),
        "--actor",
        "compliance officer",
    ]));
    assert!(out.contains("`enforced` -> `shadow`"), "{out}");

    let after = std::fs::read_to_string(&file).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed, vec![("mode = \"enforced\"", "mode = \"shadow\"")]);
    assert_eq!(before.lines().count(), after.lines().count());
    assert_eq!(
        before.len() + "shadow".len() - "enforced".len(),
        after.len()
    );
    for (p, bytes) in &others {
        assert_eq!(&std::fs::read(p).unwrap(), bytes, "{} changed", p.display());
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), others.len() + 1);
    assert_eq!(mode_in_status(&dir, FRONTIER), "shadow");

    let store = cordon_store::SqliteStore::open(&db).unwrap();
    let rows = store.pending_changes(100).unwrap();
    let row = rows
        .iter()
        .find(|c| c.action == "directive.mode_changed")
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(row.subject, FRONTIER);
    assert_eq!(row.actor, "compliance officer");
    assert_eq!(row.details["directive"], FRONTIER);
    assert_eq!(row.details["from"], "enforced");
    assert_eq!(row.details["to"], "shadow");
    assert_eq!(row.details["file"], s(&file));

    // Setting it again changes nothing and journals nothing.
    let out = ok(&cordon(&[
        "directives",
        "set-mode",
        FRONTIER,
        "shadow",
        "--directives",
        s(&dir),
        "--store",
        s(&db),
    ]));
    assert!(out.contains("already `shadow`"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
    assert_eq!(store.pending_changes(100).unwrap().len(), rows.len());
    std::fs::remove_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(&db);
}

#[test]
fn set_mode_leaves_the_file_untouched_when_the_set_would_not_load() {
    let dir = shipped_copy("set-mode-invalid");
    // Another file of the set is broken: the set as it would be does not
    // load, so the target file is not touched.
    let partial = dir.join("foreign-national-frontier-partial.toml");
    let text = std::fs::read_to_string(&partial).unwrap();
    std::fs::write(
        &partial,
        text.replace("mode = \"draft\"", "mode = \"draft\"\nbogus = 1"),
    )
    .unwrap();
    let file = dir.join("foreign-national-frontier.toml");
    let before = std::fs::read(&file).unwrap();
    let db = dir.with_extension("db");
    let o = cordon(&[
        "directives",
        "set-mode",
        FRONTIER,
        "shadow",
        "--directives",
        s(&dir),
        "--store",
        s(&db),
    ]);
    expect_code(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("is invalid") && err.contains("bogus"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        std::fs::read_dir(root().join("directives"))
            .unwrap()
            .count(),
        "no file left behind"
    );
    assert!(!db.exists(), "nothing journalled");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn set_mode_names_the_valid_modes_and_ids() {
    let dir = shipped_copy("set-mode-unknown");
    let o = cordon(&[
        "directives",
        "set-mode",
        FRONTIER,
        "enabled",
        "--directives",
        s(&dir),
    ]);
    expect_code(&o, 1);
    assert!(
        stderr(&o).contains(
            "`enabled` is not a directive mode; expected one of: draft, shadow, enforced, retired"
        ),
        "{}",
        stderr(&o)
    );
    let o = cordon(&[
        "directives",
        "set-mode",
        "no-such-directive",
        "shadow",
        "--directives",
        s(&dir),
    ]);
    expect_code(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("no directive `no-such-directive`") && err.contains(FRONTIER),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_console_publishes_to_a_fleet_only_through_a_shared_store() {
    let dir = temp_dir("console-publisher");
    let data = dir.join("data");
    ok(&cordon_with_input(
        &dir,
        &["console", "admin", "add", "ann", "--data-dir", s(&data)],
        "a long passphrase\n",
    ));
    // A publisher key with a single node's SQLite store is refused before
    // anything is served or read.
    let o = cordon_in(
        &dir,
        &[
            "console",
            "--data-dir",
            s(&data),
            "--store",
            s(&dir.join("identity.db")),
            "--publisher-key",
            s(&dir.join("publisher.key")),
        ],
    );
    assert!(!o.status.success());
    expect_stderr(&o, "--publisher-key publishes to a fleet's shared store");
    expect_stderr(&o, "give --store postgres://");
}
