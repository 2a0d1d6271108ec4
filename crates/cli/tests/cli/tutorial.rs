//! `docs/tutorial-new-order.md` runs as written: every file it shows is
//! written, every command it shows is run, and what each prints must be what
//! the page says, so the tutorial cannot go stale.
//!
//! The page's conventions:
//! - `<!-- file: PATH -->` on the line before a fenced block writes the
//!   block to PATH in the working directory;
//! - a ```` ```console ```` block holds command lines (`$ cordon …`,
//!   continued with a trailing `\`), run by `sh` with this build's `cordon`
//!   first on the path, each followed by its standard output; a command
//!   that exits non-zero ends its output with `[exit N]`.
//!
//! The working directory starts with a copy of the shipped `directives/` and
//! `catalog.toml`. `CORDON_TUTORIAL_UPDATE=1` rewrites the page's outputs
//! from a run instead of comparing them.

use std::path::Path;

use super::{root, stdout, temp_dir};

const PAGE: &str = "docs/tutorial-new-order.md";

/// One step of the page.
enum Step {
    /// A file to write: its path and text.
    File(String, String),
    /// A command: the line as written, and the page's lines of output (with where
    /// they sit in the page, to rewrite them).
    Command {
        line: String,
        expected: String,
        lines: std::ops::Range<usize>,
    },
}

/// The page's steps, in order.
fn steps(page: &str) -> Vec<Step> {
    let lines: Vec<&str> = page.lines().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(path) = line
            .strip_prefix("<!-- file: ")
            .and_then(|r| r.strip_suffix(" -->"))
        {
            assert!(
                lines[i + 1].starts_with("```"),
                "{PAGE}:{}: no block after the file marker",
                i + 2
            );
            let end = (i + 2..lines.len())
                .find(|&j| lines[j].starts_with("```"))
                .unwrap_or_else(|| panic!("{PAGE}:{}: unclosed block", i + 2));
            let text: String = lines[i + 2..end].iter().map(|l| format!("{l}\n")).collect();
            steps.push(Step::File(path.to_owned(), text));
            i = end + 1;
            continue;
        }
        if line == "```console" {
            let end = (i + 1..lines.len())
                .find(|&j| lines[j].starts_with("```"))
                .unwrap_or_else(|| panic!("{PAGE}:{}: unclosed block", i + 1));
            let mut j = i + 1;
            while j < end {
                let first = lines[j]
                    .strip_prefix("$ ")
                    .unwrap_or_else(|| panic!("{PAGE}:{}: expected `$ ` and a command", j + 1));
                let mut command = first.to_owned();
                while command.ends_with('\\') {
                    command.pop();
                    j += 1;
                    command.push(' ');
                    command.push_str(lines[j].trim_start());
                }
                j += 1;
                let start = j;
                while j < end && !lines[j].starts_with("$ ") {
                    j += 1;
                }
                let expected: String = lines[start..j].iter().map(|l| format!("{l}\n")).collect();
                steps.push(Step::Command {
                    line: command,
                    expected,
                    lines: start..j,
                });
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    steps
}

/// What the page shows for a run: standard output, lines' trailing blanks
/// dropped (a page keeps none), and `[exit N]` for a failure.
fn shown(o: &std::process::Output) -> String {
    let mut out: String = stdout(o)
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    if let Some(code) = o.status.code().filter(|c| *c != 0) {
        out.push_str(&format!("[exit {code}]\n"));
    }
    out
}

/// Runs one of the page's command lines in `work`, as a reader would.
fn run(work: &Path, line: &str) -> std::process::Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_cordon"))
        .parent()
        .expect("the binary's path has a directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_owned()];
    dirs.extend(std::env::split_paths(&path));
    std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(work)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env_remove("CORDON_DATA_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

#[test]
fn the_tutorial_runs_as_written() {
    let page_path = root().join(PAGE);
    let page = std::fs::read_to_string(&page_path).unwrap();
    let work = temp_dir("tutorial");
    copy_dir(&root().join("directives"), &work.join("directives"));
    std::fs::copy(root().join("catalog.toml"), work.join("catalog.toml")).unwrap();
    let update = std::env::var_os("CORDON_TUTORIAL_UPDATE").is_some();
    let mut page_lines: Vec<String> = page.lines().map(str::to_owned).collect();
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut commands = 0;
    for step in steps(&page) {
        match step {
            Step::File(path, text) => {
                let p = work.join(&path);
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir).unwrap();
                }
                std::fs::write(p, text).unwrap();
            }
            Step::Command {
                line,
                expected,
                lines,
            } => {
                let got = shown(&run(&work, &line));
                commands += 1;
                if update {
                    replacements.push((lines, got));
                } else {
                    assert_eq!(
                        got, expected,
                        "`{line}` in {PAGE} (line {}) prints something else; run with CORDON_TUTORIAL_UPDATE=1 to rewrite the page, then read the diff",
                        lines.start
                    );
                }
            }
        }
    }
    assert!(commands >= 8, "the tutorial runs {commands} commands");
    if update {
        for (range, text) in replacements.into_iter().rev() {
            page_lines.splice(range, text.lines().map(str::to_owned));
        }
        std::fs::write(&page_path, page_lines.join("\n") + "\n").unwrap();
    }
    std::fs::remove_dir_all(&work).unwrap();
}
