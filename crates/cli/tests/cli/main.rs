//! The `cordon` binary, run as a user would: from the repository root, in
//! scratch directories, and as a server killed mid-load.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

mod acceptance;
mod accounts;
mod analyze;
mod audit;
mod crash;
mod directives;
mod evidence;
mod generate;
mod licences;
mod postgres;
mod screening;
mod server;
mod simulate;
mod tutorial;
mod verification;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The `cordon` binary about to run in `dir`, with no data directory taken
/// from the environment and nothing on standard input.
fn command_in(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cordon"));
    command
        .current_dir(dir)
        .env_remove("CORDON_DATA_DIR")
        .stdin(Stdio::null());
    command
}

/// Asserts that standard error mentions `needle`, showing it when it does not.
fn expect_stderr(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(err.contains(needle), "{err}");
}

/// Runs `cordon ARGS` in `dir`.
fn cordon_in(dir: &Path, args: &[&str]) -> Output {
    command_in(dir).args(args).output().unwrap()
}

/// Runs `cordon ARGS` from the repository root.
fn cordon(args: &[&str]) -> Output {
    cordon_in(&root(), args)
}

/// Runs `cordon ARGS` in `dir` with `input` on standard input.
fn cordon_with_input(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = command_in(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing the output when it differs.
fn expect_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Standard output of a run that must have succeeded.
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

/// Standard output, as JSON, of a run that must have succeeded.
fn json(o: &Output) -> serde_json::Value {
    let out = ok(o);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// A fresh, empty scratch directory; tests run in parallel in one process,
/// so each call gets its own.
fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("cordon-cli-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A path as a command-line argument.
fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const GERMAN: &str = r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "screening": []}"#;

#[test]
fn check_accepts_the_shipped_set() {
    let o = cordon(&["check", "directives"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("13 directive(s) OK"), "{}", stdout(&o));
    assert!(stdout(&o).contains("policy version sha256:"));
}

#[test]
fn check_reports_directives_needing_regions_no_database_provides() {
    // The shipped database is country-only; the Crimea and E.O. 14065
    // directives test Ukrainian regions, and state that gap themselves.
    let o = cordon(&["check", "directives"]);
    let out = stdout(&o);
    for id in ["ofac-crimea", "ofac-eo14065-regions"] {
        assert!(
            out.contains(&format!(
                "region gap: `{id}` rule `location` (enforced) tests the request's region in UA"
            )),
            "{out}"
        );
    }
    assert!(!out.contains("refuses to start"), "{out}");
    // Without the directives' own `accept_missing_regions`, the gap refuses
    // start-up unless the operator accepts it.
    let dir = temp_dir("region-gap");
    for f in ["ofac-crimea.toml", "ofac-eo14065-regions.toml"] {
        let text = std::fs::read_to_string(root().join("directives").join(f)).unwrap();
        std::fs::write(
            dir.join(f),
            text.replace("accept_missing_regions = [\"UA\"]\n", ""),
        )
        .unwrap();
    }
    let out = stdout(&cordon(&["check", s(&dir)]));
    assert_eq!(
        out.matches("the gateway refuses to start with it").count(),
        2,
        "{out}"
    );
    let o = cordon(&["check", s(&dir), "--accept-missing-regions", "UA", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gaps = v["region_gaps"].as_array().unwrap();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    assert!(
        gaps.iter()
            .all(|g| g["accepted"] == true && g["countries"] == serde_json::json!(["UA"]))
    );
}

#[test]
fn check_lists_every_error_and_exits_1() {
    let dir = temp_dir("check");
    let good = std::fs::read_to_string(root().join("directives/restricted-parties.toml")).unwrap();
    std::fs::write(
        dir.join("a.toml"),
        good.replace("[SDN, FSE, DPL, EL, UVL]", "[SDN, XX]")
            .replace("[FSE]", "[SDN, XX]"),
    )
    .unwrap();
    std::fs::write(dir.join("b.toml"), "id = \"b\"\ntitle = 3\n").unwrap();
    let o = cordon(&["check", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("a.toml:") && err.contains("restricted-list code"),
        "{err}"
    );
    assert!(err.contains("b.toml:2:"), "{err}");
    assert!(err.contains("`XX` is not a restricted-list code"), "{err}");
    assert!(err.contains("3 error(s)"), "{err}");
    let o = cordon(&["check", s(&dir), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_refuses_an_empty_directory() {
    let dir = temp_dir("empty");
    let o = cordon(&["check", s(&dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no directive files"), "{}", stderr(&o));
}

#[test]
fn decide_json_has_effect_reasons_and_policy_version() {
    let o = cordon(&[
        "decide",
        "--subject",
        GERMAN,
        "--model",
        "fable-5",
        "--country",
        "DE",
        "--at",
        "2026-12-10T00:00:00Z",
        "--format",
        "json",
    ]);
    let v = json(&o);
    assert_eq!(v["effect"], "deny");
    assert!(v["policy_version"].as_str().unwrap().starts_with("sha256:"));
    let ids: Vec<&str> = v["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"foreign-national-frontier-2026"), "{ids:?}");
}

#[test]
fn decide_geolocates_ip_addresses_with_the_shipped_database() {
    let us = r#"{"verification": "document_verified", "citizenships": ["US"], "screening": []}"#;
    let v = json(&cordon(&[
        "decide",
        "--subject",
        us,
        "--model",
        "lyric-4",
        "--ip",
        "2.144.0.1",
        "--format",
        "json",
    ]));
    assert_eq!(v["effect"], "deny", "2.144.0.1 is in Iran");
    let v = json(&cordon(&[
        "decide",
        "--subject",
        us,
        "--model",
        "lyric-4",
        "--ip",
        "::ffff:8.8.8.8",
        "--format",
        "json",
    ]));
    assert_eq!(
        v["effect"], "allow",
        "IPv4-mapped IPv6 is looked up as IPv4"
    );
    let v = json(&cordon(&[
        "decide",
        "--subject",
        us,
        "--model",
        "lyric-4",
        "--ip",
        "10.0.0.1",
        "--format",
        "json",
    ]));
    assert_eq!(
        v["effect"], "deny",
        "a private address has no known location"
    );
}

#[test]
fn decide_refuses_a_subject_never_screened_and_says_so() {
    // The same German subject without `screening`: never screened is unknown,
    // and the restricted-party directive refuses what it cannot establish.
    let never = GERMAN.replace(r#", "screening": []"#, "");
    assert_ne!(never, GERMAN);
    let v = json(&cordon(&[
        "decide",
        "--subject",
        &never,
        "--model",
        "lyric-4",
        "--country",
        "DE",
        "--format",
        "json",
    ]));
    assert_eq!(v["effect"], "deny");
    assert_eq!(v["decided_by"], "restricted-parties");
    let m = v["message"].as_str().unwrap();
    assert!(m.contains("screened"), "{m}");
}

#[test]
fn no_command_answers_from_a_set_nobody_named() {
    let empty = temp_dir("unnamed-set");
    let args = [
        "decide",
        "--model",
        "fable-5",
        "--country",
        "DE",
        "--subject",
        GERMAN,
        "--format",
        "json",
    ];
    let o = cordon_in(&empty, &args);
    expect_code(&o, 1);
    expect_stderr(&o, "pass --directives DIR and --catalog FILE");
    expect_stderr(&o, "--builtin");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    for other in [
        &["matrix", "--at", "2026-12-10T00:00:00Z"][..],
        &["directives", "status"][..],
        &["check"][..],
    ] {
        let o = cordon_in(&empty, other);
        assert!(!o.status.success(), "{other:?} answered: {}", stdout(&o));
        expect_stderr(&o, "--builtin");
    }
    // Named with --builtin, the built-in set answers and says so.
    let mut named = args.to_vec();
    named.push("--builtin");
    let o = cordon_in(&empty, &named);
    expect_code(&o, 0);
    assert_eq!(json(&o)["effect"], "deny");
    expect_stderr(&o, "built into this binary");
    // In the repository the working directory's set is used, and said.
    let o = cordon(&args);
    expect_code(&o, 0);
    expect_stderr(&o, "`directives/` in the working directory");
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn decide_brief_shows_only_what_refuses_or_limits() {
    let args = [
        "decide",
        "--model",
        "fable-5",
        "--country",
        "DE",
        "--at",
        "2026-12-10T00:00:00Z",
        "--subject",
        GERMAN,
    ];
    let full = stdout(&cordon(&args));
    let mut brief_args = args.to_vec();
    brief_args.push("--brief");
    let brief = stdout(&cordon(&brief_args));
    assert!(full.contains("ofac-cuba → allow"), "{full}");
    assert!(!brief.contains("ofac-cuba →"), "{brief}");
    assert!(!brief.contains("subject.citizenships ="), "{brief}");
    assert!(
        brief.contains("foreign-national-frontier-2026 → deny [decisive]"),
        "{brief}"
    );
    assert!(brief.contains("rule foreign-nationals:"), "{brief}");
    assert!(brief.starts_with("effect:          deny\n"), "{brief}");
}

#[test]
fn decide_reads_subjects_from_files_and_stdin() {
    let dir = temp_dir("subject");
    let f = dir.join("s.json");
    std::fs::write(&f, GERMAN).unwrap();
    let v = json(&cordon(&[
        "decide",
        "--subject",
        s(&f),
        "--model",
        "lyric-4",
        "--country",
        "DE",
        "--format",
        "json",
    ]));
    assert_eq!(v["effect"], "allow");
    let o = cordon_with_input(
        &root(),
        &[
            "decide",
            "--subject",
            "-",
            "--model",
            "lyric-4",
            "--country",
            "IR",
            "--format",
            "json",
        ],
        GERMAN,
    );
    assert_eq!(json(&o)["effect"], "deny");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn decide_text_explains_the_obligations_of_a_feature_request() {
    let o = cordon(&[
        "decide",
        "--subject",
        r#"{"screening": []}"#,
        "--model",
        "Fable",
        "--country",
        "FR",
        "--at",
        "2026-11-25T00:00:00Z",
        "--feature",
        "tools",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("effect:          allow"), "{out}");
    assert!(out.contains("fable-5 (requested as `Fable`)"), "{out}");
    assert!(
        out.contains("grace period ends 2026-12-04T00:00:00Z"),
        "{out}"
    );
}

#[test]
fn bad_inputs_are_named_and_fail() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "decide",
                "--subject",
                r#"{"citizenships": ["XZ"]}"#,
                "--model",
                "lyric-4",
            ],
            "citizenships[0]",
        ),
        (
            &[
                "decide",
                "--subject",
                r#"{"citizenship": ["DE"]}"#,
                "--model",
                "lyric-4",
            ],
            "unknown field",
        ),
        (
            &["decide", "--subject", "{", "--model", "lyric-4"],
            "not valid JSON",
        ),
        (
            &["decide", "--subject", "nope.json", "--model", "lyric-4"],
            "neither JSON",
        ),
        (
            &[
                "decide",
                "--subject",
                "{}",
                "--model",
                "lyric-4",
                "--country",
                "ZZ",
            ],
            "`ZZ` is not an assigned",
        ),
        (
            &[
                "decide",
                "--subject",
                "{}",
                "--model",
                "lyric-4",
                "--country",
                "RU",
                "--region",
                "UA-43",
            ],
            "not in --country",
        ),
        (
            &[
                "decide",
                "--subject",
                "{}",
                "--model",
                "lyric-4",
                "--at",
                "yesterday",
            ],
            "--at `yesterday`",
        ),
        (
            &[
                "decide",
                "--subject",
                "{}",
                "--model",
                "lyric-4",
                "--feature",
                "telepathy",
            ],
            "--feature `telepathy`",
        ),
        (
            &[
                "decide",
                "--subject",
                "{}",
                "--model",
                "lyric-4",
                "--ip",
                "8.8.8.8",
                "--geoip",
                "missing.mmdb",
            ],
            "missing.mmdb",
        ),
        (
            &[
                "decide",
                "--subject",
                "{}",
                "--model",
                "lyric-4",
                "--ip",
                "8.8.8.8",
                "--geoip",
                "catalog.toml",
            ],
            "catalog.toml",
        ),
        (&["matrix", "--directives", "no-such-dir"], "no-such-dir"),
        (
            &[
                "decide",
                "--subject",
                "{}",
                "--model",
                "lyric-4",
                "--catalog",
                "directives/restricted-parties.toml",
            ],
            "catalog",
        ),
    ];
    for (args, needle) in cases {
        let o = cordon(args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn non_utf8_subject_files_are_refused() {
    let dir = temp_dir("utf8");
    let f = dir.join("s.json");
    std::fs::write(&f, b"{\"citizenships\": [\"\xff\"]}").unwrap();
    let o = cordon(&["decide", "--subject", s(&f), "--model", "lyric-4"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not UTF-8"), "{}", stderr(&o));
}

#[test]
fn matrix_formats_and_diff() {
    let o = cordon(&["matrix", "--at", "2026-12-10T00:00:00Z", "--format", "csv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 250);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("IR,") && l.ends_with(",deny")),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l == "US,\"United States\",allow,allow,allow,allow,allow,allow"),
        "{}",
        csv.lines()
            .find(|l| l.starts_with("US,"))
            .unwrap_or_default()
    );

    let dir = temp_dir("against");
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let programmes = ["ofac-cuba.toml", "ofac-iran.toml", "ofac-north-korea.toml"];
        let text = if programmes.iter().any(|f| p.ends_with(f)) {
            text.replace("mode = \"enforced\"", "mode = \"shadow\"")
        } else {
            text
        };
        std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
    }
    let v = json(&cordon(&[
        "matrix",
        "--at",
        "2026-12-10T00:00:00Z",
        "--against",
        s(&dir),
        "--format",
        "json",
    ]));
    let changes = v["changes"].as_array().unwrap();
    // Shadowing the three country programmes frees CU, IR, KP on the four unrestricted models.
    assert_eq!(changes.len(), 3 * 4, "{changes:?}");
    assert!(
        changes
            .iter()
            .all(|c| c["before"] == "deny" && c["after"] == "allow")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn matrix_by_shape_shows_tool_and_fine_tuning_losses_and_limits() {
    for cmd in ["matrix", "simulate"] {
        let help = stdout(&cordon(&[cmd, "--help"]));
        for flag in ["--feature", "--endpoint", "--max-tokens", "--shapes"] {
            assert!(help.contains(flag), "{cmd} --help lacks {flag}:\n{help}");
        }
    }
    let o = cordon(&[
        "matrix",
        "--directives",
        s(&root().join("directives")),
        "--at",
        "2026-12-10T00:00:00Z",
        "--feature",
        "tools",
    ]);
    let text = ok(&o);
    assert!(text.contains("shapes: chat, chat+tools\n"), "{text}");
    assert!(text.contains("\nshape chat+tools\n"), "{text}");

    // Both sets without the foreign-national order, which refuses every
    // matrix subject but a U.S. national the frontier models.
    let top = temp_dir("against-d5");
    let (before, after) = (top.join("before"), top.join("after"));
    for dir in [&before, &after] {
        std::fs::create_dir_all(dir).unwrap();
        for entry in std::fs::read_dir(root().join("directives")).unwrap() {
            let p = entry.unwrap().path();
            if !p.ends_with("foreign-national-frontier.toml") {
                std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    std::fs::write(after.join("d5.toml"), simulate::D5_ORDER).unwrap();
    let diff = |format: &str| {
        ok(&cordon(&[
            "matrix",
            "--directives",
            s(&before),
            "--at",
            "2027-02-20T00:00:00Z",
            "--against",
            s(&after),
            "--feature",
            "tools",
            "--endpoint",
            "fine_tuning",
            "--format",
            format,
        ]))
    };
    let v: serde_json::Value = serde_json::from_str(&diff("json")).unwrap();
    assert_eq!(
        v["shapes"],
        serde_json::json!(["chat", "chat+tools", "fine_tuning"])
    );
    let cn: Vec<(String, String, String, String)> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["country"] == "CN" && c["model"] == "fable-5")
        .map(|c| {
            let field = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (
                field("shape"),
                c["before"]["effect"].as_str().unwrap().to_owned(),
                c["after"]["effect"].as_str().unwrap().to_owned(),
                c["after"]["limits"]["max_tokens"].to_string(),
            )
        })
        .collect();
    let row = |shape: &str, after: &str, cap: &str| {
        (
            shape.to_owned(),
            "allow".to_owned(),
            after.to_owned(),
            cap.to_owned(),
        )
    };
    assert_eq!(
        cn,
        [
            row("chat", "allow_with_obligations", "2000"),
            row("chat+tools", "deny", "null"),
            row("fine_tuning", "deny", "null"),
        ]
    );
    let text = diff("text");
    assert!(
        text.contains("allow → allow_with_obligations (max_tokens 2000; tools removed)"),
        "{text}"
    );
    let csv = diff("csv");
    assert!(
        csv.starts_with("country,model,shape,before,after,before_limits,after_limits\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("\r\nCN,fable-5,chat+tools,allow,deny,,\r\n"),
        "{csv}"
    );
    std::fs::remove_dir_all(&top).unwrap();
}

#[test]
fn the_offline_walkthrough_runs_end_to_end() {
    let o = cordon(&["demo", "--walkthrough"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("U.S. citizen connecting from Iran"), "{out}");
    assert!(out.contains("exempt: licence L-2026-0042"), "{out}");
    let never = out
        .lines()
        .find(|l| l.starts_with("U.S. citizen, never screened"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        never.contains("deny") && never.contains("restricted-parties"),
        "{never}"
    );
    let screened = out
        .lines()
        .find(|l| l.starts_with("U.S. citizen, verified"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(screened.contains("allow"), "{screened}");
    assert!(out.contains("Access matrix at"), "{out}");
}
