//! `cordon check`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use cordon_policy::Severity;

use crate::inputs::{self, World};

/// Arguments of `cordon check`.
#[derive(clap::Args)]
pub struct Args {
    /// The directive directory (default: `directives/`).
    dir: Option<PathBuf>,
    /// The model catalog (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Print findings as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let world = World::load()?;
    let catalog = inputs::catalog(a.catalog.as_deref())?;
    let label = inputs::directives_label(a.dir.as_deref());
    match inputs::policy(a.dir.as_deref(), catalog, &world) {
        Ok(p) => {
            if a.json {
                let out = serde_json::json!({
                    "ok": true,
                    "policy_version": p.version(),
                    "directives": p.directives().iter().map(|d| serde_json::json!({"id": d.id, "mode": d.mode, "file": d.source.name()})).collect::<Vec<_>>(),
                    "diagnostics": p.warnings(),
                });
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                for w in p.warnings() {
                    println!("{w}");
                }
                println!(
                    "{label}: {} directive(s) OK, {} warning(s)",
                    p.directives().len(),
                    p.warnings().len()
                );
                for d in p.directives() {
                    println!("  {:<40} {:?}", d.id, d.mode);
                }
                println!("policy version {}", p.version());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let errors = e.errors().count();
            if a.json {
                let out = serde_json::json!({"ok": false, "diagnostics": e.diagnostics});
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                eprint!("{}", inputs::render_load_error(&e));
                let warnings = e
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Warning)
                    .count();
                eprintln!("{label}: {errors} error(s), {warnings} warning(s)");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
