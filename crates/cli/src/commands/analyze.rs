//! `cordon analyze`: properties of a directive set, proved over every
//! subject, location, model, feature and time.
//!
//! Exit status: 0 when every property holds, 1 when one is violated, 2 when
//! the input is bad (a directive set that does not load, an unknown
//! property, a missing `--against`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use cordon_analysis::{Input, Named, Property, analyze};

use super::Format;
use crate::inputs::{self, World};

/// Exit status when a property is violated.
const VIOLATED: u8 = 1;
/// Exit status for bad input.
const BAD_INPUT: u8 = 2;

/// Arguments of `cordon analyze`.
#[derive(clap::Args)]
pub struct Args {
    /// The directive directory to analyse (default: `directives/`).
    #[arg(long)]
    directives: Option<PathBuf>,
    /// A directive directory to compare with, for `only-models` and `only-effect`.
    #[arg(long, value_name = "DIR")]
    against: Option<PathBuf>,
    /// The model catalog (default: `catalog.toml`); both sets are checked against it.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// A property to check, with its parameters in one argument
    /// (`--property 'only-models fable-5 mythos-5'`); repeatable. Default:
    /// every property that needs no parameter, and those the set's files
    /// assert in `[[property]]` tables.
    #[arg(long = "property", value_name = "P")]
    properties: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// Whether a list of properties holds one already.
fn properties_contain(list: &[Property], p: &Property) -> bool {
    list.contains(p)
}

/// Bad input: printed, and the process exits 2.
fn bad_input(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::from(BAD_INPUT)
}

pub fn run(a: Args) -> Result<ExitCode> {
    if a.format == Format::Csv {
        return Ok(bad_input(anyhow!(
            "--format csv is for tables; use text or json"
        )));
    }
    let world = World::load()?;
    let load = |dir: Option<&std::path::Path>| -> Result<cordon_policy::Policy> {
        let catalog = inputs::catalog(a.catalog.as_deref())?;
        inputs::policy(dir, catalog, &world).map_err(|e| {
            anyhow!(
                "the directive set `{}` is invalid:\n{}",
                inputs::directives_label(dir),
                inputs::render_load_error(&e)
            )
        })
    };
    let set = match load(a.directives.as_deref()) {
        Ok(p) => p,
        Err(e) => return Ok(bad_input(e)),
    };
    let against = match a.against.as_deref().map(|d| load(Some(d))).transpose() {
        Ok(p) => p,
        Err(e) => return Ok(bad_input(e)),
    };
    let mut properties = Vec::new();
    for text in &a.properties {
        match Property::parse(text, set.catalog()) {
            Ok(p) => properties.push(p),
            Err(e) => return Ok(bad_input(e.into())),
        }
    }
    if properties.is_empty() {
        // The defaults, and what the set's own files assert.
        properties = Property::defaults();
        match cordon_analysis::declared(&set) {
            Ok(declared) => properties.extend(
                declared
                    .into_iter()
                    .filter(|p| !properties_contain(&Property::defaults(), p)),
            ),
            Err(e) => return Ok(bad_input(e.into())),
        }
    }
    let input = Input {
        set: Named {
            policy: &set,
            label: inputs::directives_label(a.directives.as_deref()),
        },
        against: against.as_ref().map(|p| Named {
            policy: p,
            label: inputs::directives_label(a.against.as_deref()),
        }),
        catalog: a.catalog.as_ref().map(|c| c.display().to_string()),
        properties,
        jurisdictions: world.jurisdictions,
        groups: &world.groups,
    };
    let started = std::time::Instant::now();
    let report = match analyze(&input) {
        Ok(r) => r,
        Err(e @ cordon_analysis::AnalysisError::Case { .. }) => return Err(e.into()),
        Err(e) => return Ok(bad_input(e.into())),
    };
    let elapsed = started.elapsed();
    if a.format == Format::Json {
        let mut value =
            serde_json::to_value(&report).context("cannot render the report as JSON")?;
        if let Some(o) = value.as_object_mut() {
            o.insert(
                "elapsed_ms".into(),
                serde_json::json!(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
            );
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&value).context("cannot render the report as JSON")?
        );
    } else {
        print!("{}", report.to_text());
        println!("analysed in {:.3} s", elapsed.as_secs_f64());
    }
    Ok(if report.holds {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(VIOLATED)
    })
}
