//! `cordon analyze`: the shipped set holds every built-in property, a
//! widened order is caught, and every counterexample it prints reproduces
//! when pasted into a shell.

use std::path::Path;
use std::process::Command;

use super::{cordon, cordon_in, expect_code, expect_stderr, root, s, stderr, stdout, temp_dir};

/// A copy of the shipped directive set in a scratch directory, with `edit`
/// applied to one file's text.
fn edited_copy(name: &str, file: &str, edit: impl Fn(&str) -> String) -> std::path::PathBuf {
    let dir = temp_dir(name);
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let fname = p.file_name().unwrap().to_str().unwrap().to_owned();
        let text = if fname == file { edit(&text) } else { text };
        std::fs::write(dir.join(&fname), text).unwrap();
    }
    dir
}

/// Runs a counterexample command line through `sh`, with the binary under
/// test first on PATH, from the repository root; returns the decision JSON.
fn run_command_line(line: &str) -> serde_json::Value {
    assert!(line.starts_with("cordon decide "), "{line}");
    let bin = Path::new(env!("CARGO_BIN_EXE_cordon"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(root())
        .env("PATH", path)
        .env_remove("CORDON_DATA_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{line}\nstdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every counterexample (and contrast) in a report reproduces its effect.
fn every_counterexample_reproduces(report: &serde_json::Value) -> usize {
    let mut n = 0;
    for p in report["properties"].as_array().unwrap() {
        for v in p["violations"].as_array().unwrap() {
            for key in ["counterexample", "contrast"] {
                let Some(c) = v.get(key) else { continue };
                let decided = run_command_line(c["command"].as_str().unwrap());
                assert_eq!(decided["effect"], c["effect"], "{key} of {v:#}");
                n += 1;
            }
        }
    }
    n
}

#[test]
fn the_shipped_set_holds_every_built_in_property() {
    let o = cordon(&["analyze", "--directives", "directives", "--format", "json"]);
    expect_code(&o, 0);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["holds"], true, "{report:#}");
    assert_eq!(report["complete"], true, "{report:#}");
    let names: Vec<&str> = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["property"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "no-unknown-fallthrough",
            "protected-keep-access us-citizens",
            "monotone-verification",
            "no-dead-rules",
            "shadowed"
        ]
    );
    assert!(report["combinations"].as_u64().unwrap() > 1000);
}

#[test]
fn a_widened_order_is_caught_with_a_counterexample_that_reproduces() {
    let dir = edited_copy("analyze-widened", "foreign-national-frontier.toml", |t| {
        t.replace(
            r#"models = ["fable-5", "mythos-5"]"#,
            r#"models = ["fable-5", "mythos-5", "lyric-4"]"#,
        )
    });
    let o = cordon(&[
        "analyze",
        "--directives",
        s(&dir),
        "--against",
        "directives",
        "--property",
        "only-models fable-5 mythos-5",
        "--format",
        "json",
    ]);
    expect_code(&o, 1);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = &report["properties"][0]["violations"][0];
    let command = v["counterexample"]["command"].as_str().unwrap();
    assert!(command.contains("--model lyric-4"), "{command}");
    let refused = v["counterexample"]["effect"].as_str().unwrap();
    assert!(matches!(refused, "deny" | "verification_required"), "{v:#}");
    assert_eq!(v["contrast"]["effect"], "allow");
    assert_eq!(every_counterexample_reproduces(&report), 2);
}

#[test]
fn an_inverted_condition_refuses_us_citizens_and_the_counterexample_shows_it() {
    let dir = edited_copy("analyze-inverted", "foreign-national-frontier.toml", |t| {
        t.replace(
            r#"when = "subject.foreign_person""#,
            r#"when = "not subject.foreign_person""#,
        )
    });
    let o = cordon(&["analyze", "--directives", s(&dir), "--format", "json"]);
    expect_code(&o, 1);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let protected = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["property"] == "protected-keep-access us-citizens")
        .unwrap();
    assert_eq!(protected["holds"], false);
    assert!(every_counterexample_reproduces(&report) >= 1);
}

#[test]
fn text_output_names_each_property_and_its_verdict() {
    let o = cordon(&["analyze", "--property", "no-dead-rules"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("no-dead-rules — holds"), "{out}");
    assert!(out.contains("retired and never consulted"), "{out}");
    assert!(out.contains("all properties hold"), "{out}");
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let o = cordon(&["analyze", "--property", "no-such-property"]);
    expect_code(&o, 2);
    expect_stderr(&o, "unknown property `no-such-property`");

    let o = cordon(&["analyze", "--property", "only-models fable-5"]);
    expect_code(&o, 2);
    expect_stderr(&o, "--against");

    let o = cordon(&[
        "analyze",
        "--property",
        "only-models no-such-model",
        "--against",
        "directives",
    ]);
    expect_code(&o, 2);
    expect_stderr(&o, "no model `no-such-model`");

    let o = cordon(&[
        "analyze",
        "--property",
        "forall subject where subject.citizenship in [DE]: effect(fable-5) in {allow}",
    ]);
    expect_code(&o, 2);
    expect_stderr(&o, "did you mean `subject.citizenships`");

    let dir = edited_copy("analyze-bad", "ofac-cuba.toml", |t| {
        t.replace("request.country in [CU]", "request.country in [XX]")
    });
    let o = cordon_in(&root(), &["analyze", "--directives", s(&dir)]);
    expect_code(&o, 2);
    expect_stderr(&o, "ofac-cuba.toml:");
    expect_stderr(&o, "`XX`");
}

#[test]
fn check_analyze_proves_the_properties_after_checking() {
    let o = cordon(&["check", "directives", "--analyze"]);
    expect_code(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("policy version"), "{out}");
    assert!(out.contains("all properties hold"), "{out}");

    let dir = edited_copy("check-analyze", "foreign-national-frontier.toml", |t| {
        t.replace(
            r#"when = "subject.foreign_person""#,
            r#"when = "not subject.foreign_person""#,
        )
    });
    let o = cordon(&["check", s(&dir), "--analyze", "--json"]);
    expect_code(&o, 1);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["analysis"]["holds"], false);
}

#[test]
fn property_tables_in_directive_files_are_checked_by_default() {
    let dir = edited_copy("analyze-declared", "ofac-cuba.toml", |t| {
        format!(
            "{t}\n[[property]]\ncheck = \"forall subject where subject.citizenships in [CU]: effect(fable-5) in {{deny}}\"\n"
        )
    });
    let o = cordon(&["analyze", "--directives", s(&dir), "--format", "json"]);
    expect_code(&o, 1);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let declared = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["property"].as_str().unwrap().starts_with("forall"))
        .unwrap();
    assert_eq!(declared["holds"], false);
    every_counterexample_reproduces(&report);

    let dir = edited_copy("analyze-declared-bad", "ofac-cuba.toml", |t| {
        format!("{t}\n[[property]]\ncheck = \"no-such-property\"\n")
    });
    let o = cordon(&["analyze", "--directives", s(&dir)]);
    expect_code(&o, 2);
    expect_stderr(&o, "ofac-cuba.toml:");
    expect_stderr(&o, "property[0].check");
}
