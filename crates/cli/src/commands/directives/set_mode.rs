//! `cordon directives set-mode`: move one directive through its lifecycle by
//! rewriting the `mode` line of its file, and nothing else.
//!
//! The whole set is re-checked with the new text before the file is
//! replaced (a temporary file renamed over it), so a running gateway, which
//! reloads when directive files change, only ever sees a set that loads.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use cordon_policy::{Mode, Policy};
use cordon_source::SourceFile;
use serde_json::json;

use crate::inputs::{self, World};

/// The modes a directive file may name, in lifecycle order.
/// Arguments of `cordon directives set-mode`.
#[derive(clap::Args)]
pub struct Args {
    /// The directive's id.
    id: String,
    /// The new mode: draft, shadow, enforced or retired.
    mode: String,
    /// The directive directory (default: `directives/`).
    #[arg(long, value_name = "DIR")]
    directives: Option<PathBuf>,
    /// The model catalog the set is checked against (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Journal the change in this identity store, from where a running
    /// gateway copies it into the audit log.
    #[arg(long, value_name = "DB")]
    store: Option<PathBuf>,
    /// Who made the change, as the journal names them (with --store).
    #[arg(long, value_name = "NAME", requires = "store")]
    actor: Option<String>,
}

/// Runs `cordon directives set-mode`.
pub fn run(a: Args) -> Result<ExitCode> {
    let Some(to) = Mode::parse(&a.mode) else {
        bail!(
            "`{}` is not a directive mode; expected one of: {}",
            a.mode,
            Mode::ALL.map(Mode::as_str).join(", ")
        );
    };
    let to_name = to.as_str();
    let dir = a
        .directives
        .clone()
        .unwrap_or_else(|| PathBuf::from(inputs::DEFAULT_DIRECTIVES));
    if !dir.is_dir() {
        bail!(
            "the directive directory `{}` does not exist; name it with --directives",
            dir.display()
        );
    }
    let world = World::load()?;
    let files = read_set(&dir)?;
    let policy = check(&files, a.catalog.as_deref(), &world).map_err(|e| {
        anyhow!(
            "the directive set `{}` is invalid as it is; fix it before changing a mode:\n{e}",
            dir.display()
        )
    })?;
    let Some(directive) = policy.directive(&a.id) else {
        let ids: Vec<&str> = policy.directives().iter().map(|d| d.id.as_str()).collect();
        bail!(
            "the directive set `{}` has no directive `{}`; its directives are: {}",
            dir.display(),
            a.id,
            ids.join(", ")
        );
    };
    let from = directive.mode;
    let from_name = from.as_str();
    let file = PathBuf::from(directive.source.name());
    if from == to {
        println!(
            "directive `{}` is already `{to_name}` in `{}`; nothing changed",
            a.id,
            file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let original = files
        .iter()
        .find(|f| f.name() == directive.source.name())
        .map(SourceFile::text)
        .ok_or_else(|| anyhow!("cannot find the file of directive `{}`", a.id))?;
    let rewritten = with_mode(original, to_name).ok_or_else(|| {
        anyhow!(
            "`{}` has neither a top-level `mode` line nor an `id` line to put one after",
            file.display()
        )
    })?;

    // The whole set as it would be, checked before anything is written.
    let proposed: Vec<SourceFile> = files
        .iter()
        .map(|f| {
            if f.name() == directive.source.name() {
                SourceFile::new(f.name(), rewritten.clone())
            } else {
                f.clone()
            }
        })
        .collect();
    match check(&proposed, a.catalog.as_deref(), &world) {
        Ok(p) if p.directive(&a.id).is_some_and(|d| d.mode == to) => {}
        Ok(_) => bail!(
            "`{}` was left untouched: with its `mode` line rewritten, directive `{}` would not be `{to_name}`",
            file.display(),
            a.id
        ),
        Err(e) => bail!(
            "`{}` was left untouched: with directive `{}` in mode `{to_name}` the set would not load:\n{e}",
            file.display(),
            a.id
        ),
    }

    // Opened first, so a store that cannot take the journal row stops the
    // change before the file is touched.
    let store = match &a.store {
        Some(path) => {
            let store = super::super::accounts::open_store(path)?;
            Some(match &a.actor {
                Some(actor) => store.with_actor(actor),
                None => store,
            })
        }
        None => None,
    };
    replace(&file, &rewritten)?;
    println!(
        "directive `{}`: mode `{from_name}` -> `{to_name}` in `{}`",
        a.id,
        file.display()
    );
    if let (Some(store), Some(path)) = (store, &a.store) {
        store
            .journal(
                "directive.mode_changed",
                &a.id,
                json!({
                    "directive": a.id,
                    "from": from_name,
                    "to": to_name,
                    "file": file.display().to_string(),
                }),
            )
            .with_context(|| {
                format!(
                    "`{}` was changed, but the change could not be journalled in `{}`",
                    file.display(),
                    path.display()
                )
            })?;
        println!(
            "journalled as `directive.mode_changed` in `{}`",
            path.display()
        );
    }
    println!("a running gateway enforces the new mode from its next reload");
    Ok(ExitCode::SUCCESS)
}

/// Every `*.toml` file of `dir`, in name order, as `Policy::load_dir` reads them.
pub(super) fn read_set(dir: &Path) -> Result<Vec<SourceFile>> {
    cordon_policy::directive_files(dir)
        .with_context(|| format!("cannot read the directive directory `{}`", dir.display()))?
        .iter()
        .map(|p| SourceFile::read(p).map_err(anyhow::Error::from))
        .collect()
}

/// Checks a set, returning its policy or its diagnostics, one per line.
pub(super) fn check(
    files: &[SourceFile],
    catalog: Option<&Path>,
    world: &World,
) -> Result<Policy, String> {
    let catalog = inputs::catalog(catalog).map_err(|e| format!("{e:#}"))?;
    Policy::from_files(files, catalog, world.jurisdictions, &world.groups)
        .map_err(|e| inputs::render_load_error(&e))
}

/// `text` with its top-level `mode` value set to `mode`, everything else
/// byte for byte as it was; without a `mode` line, one is inserted after
/// the top-level `id` line. `None` when there is neither.
fn with_mode(text: &str, mode: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Top-level keys come before the first table header.
    let top = lines
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .unwrap_or(lines.len());
    let key_line = |key: &str| {
        lines.get(..top)?.iter().position(|l| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
    };
    let mut out = String::with_capacity(text.len() + 20);
    if let Some(at) = key_line("mode") {
        for (i, line) in lines.iter().enumerate() {
            if i == at {
                out.push_str(&replace_value(line, mode));
            } else {
                out.push_str(line);
            }
        }
        return Some(out);
    }
    let after = key_line("id")?;
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        if i == after {
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("mode = \"{mode}\"\n"));
        }
    }
    Some(out)
}

/// One `key = "value"  # comment` line with the value replaced; its
/// indentation, spacing, comment and line ending kept.
fn replace_value(line: &str, value: &str) -> String {
    let Some(eq) = line.find('=') else {
        return line.to_owned();
    };
    let (head, rest) = line.split_at(eq + 1);
    let start = rest.len() - rest.trim_start().len();
    let (spacing, quoted) = rest.split_at(start);
    let tail = match quoted.chars().next() {
        Some(q @ ('"' | '\'')) => quoted
            .get(1..)
            .and_then(|after| after.find(q).and_then(|end| after.get(end + 1..)))
            .unwrap_or(""),
        _ => quoted
            .find(['#', '\r', '\n'])
            .and_then(|end| quoted.get(end..))
            .unwrap_or(""),
    };
    format!("{head}{spacing}\"{value}\"{tail}")
}

/// Replaces `path` with `text` atomically: a temporary file beside it (not
/// named `*.toml`, so no loader picks it up half-written), synced, then
/// renamed over it with the original's permissions.
fn replace(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot replace `{}`", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_mode_value_changes() {
        let text = "# c\nid = \"x\"\nmode   =  'shadow' # was draft\r\nmin = 1\n[scope]\nmode = \"not this\"\n";
        let out = with_mode(text, "enforced").unwrap();
        assert_eq!(
            out,
            "# c\nid = \"x\"\nmode   =  \"enforced\" # was draft\r\nmin = 1\n[scope]\nmode = \"not this\"\n"
        );
    }

    #[test]
    fn a_missing_mode_line_goes_after_the_id() {
        let out = with_mode("id = \"x\"\ntitle = \"t\"\n", "shadow").unwrap();
        assert_eq!(out, "id = \"x\"\nmode = \"shadow\"\ntitle = \"t\"\n");
        assert_eq!(
            with_mode("id = \"x\"", "shadow").unwrap(),
            "id = \"x\"\nmode = \"shadow\"\n"
        );
        // A key that merely starts with `mode` or `id` is not one of them.
        assert_eq!(with_mode("modes = 1\nidx = 2\n", "shadow"), None);
    }
}
