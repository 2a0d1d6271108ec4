//! `cordon matrix`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use cordon_policy::{Matrix, Policy};
use cordon_simulate::matrix::ShapedMatrix;
use jiff::Timestamp;

use super::Format;
use super::shapes::ShapeArgs;
use crate::inputs::{self, World};

/// Arguments of `cordon matrix`.
#[derive(clap::Args)]
pub struct Args {
    /// The directive directory (default: `directives/`).
    #[arg(long)]
    directives: Option<PathBuf>,
    /// The model catalog (default: `catalog.toml`).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Decide as of this time (RFC 3339; default: now).
    #[arg(long)]
    at: Option<String>,
    /// A second directive directory: print only the cells that change from the first to it.
    #[arg(long)]
    against: Option<PathBuf>,
    /// The catalog for --against (default: the same catalog).
    #[arg(long, requires = "against")]
    against_catalog: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// The request shapes decided (default: a plain chat request only). With
    /// any of these the matrix has one table per shape, shows the limits of
    /// allowed cells (`≤2000` for an output cap, `-tools` for a feature
    /// removed), and --against also lists cells whose limits change.
    #[command(flatten)]
    shapes: ShapeArgs,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let world = World::load()?;
    let at = super::time(a.at.as_deref())?;
    let load = |dir: Option<&std::path::Path>,
                cat: Option<&std::path::Path>|
     -> Result<cordon_policy::Policy> {
        let catalog = inputs::catalog(cat)?;
        inputs::policy(dir, catalog, &world).map_err(|e| {
            anyhow!(
                "the directive set `{}` is invalid:\n{}",
                inputs::directives_label(dir),
                inputs::render_load_error(&e)
            )
        })
    };
    let policy = load(a.directives.as_deref(), a.catalog.as_deref())?;
    if a.shapes.any() {
        let other = a
            .against
            .as_deref()
            .map(|dir| {
                load(
                    Some(dir),
                    a.against_catalog.as_deref().or(a.catalog.as_deref()),
                )
            })
            .transpose()?;
        let out = shaped(&policy, other.as_ref(), &world, at, &a.shapes, a.format)?;
        print!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    let matrix = Matrix::build(&policy, world.jurisdictions, at);
    let out = match &a.against {
        None => match a.format {
            Format::Text => matrix.to_text(),
            Format::Csv => matrix.to_csv(),
            Format::Json => serde_json::to_string_pretty(&matrix)? + "\n",
        },
        Some(dir) => {
            let other = load(
                Some(dir),
                a.against_catalog.as_deref().or(a.catalog.as_deref()),
            )?;
            let other_matrix = Matrix::build_for(
                &other,
                world.jurisdictions,
                at,
                &union_models(&matrix, &other),
            );
            let this = Matrix::build_for(&policy, world.jurisdictions, at, &other_matrix.models);
            let diff = this.diff(&other_matrix);
            match a.format {
                Format::Text => diff.to_text(),
                Format::Csv => diff.to_csv(),
                Format::Json => serde_json::to_string_pretty(&diff)? + "\n",
            }
        }
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The matrix by request shape, or with `other` what changes from `policy`
/// to it, in `format`.
fn shaped(
    policy: &Policy,
    other: Option<&Policy>,
    world: &World,
    at: Timestamp,
    shapes: &ShapeArgs,
    format: Format,
) -> Result<String> {
    let shapes = shapes.shapes();
    let mut models = catalog_models(policy);
    if let Some(o) = other {
        add_models(&mut models, o);
    }
    let this = ShapedMatrix::build(policy, world.jurisdictions, at, &models, &shapes);
    let Some(o) = other else {
        return Ok(match format {
            Format::Text => this.to_text(),
            Format::Csv => this.to_csv(),
            Format::Json => serde_json::to_string_pretty(&this)? + "\n",
        });
    };
    let diff = this.diff(&ShapedMatrix::build(
        o,
        world.jurisdictions,
        at,
        &models,
        &shapes,
    ));
    Ok(match format {
        Format::Text => diff.to_text(),
        Format::Csv => diff.to_csv(),
        Format::Json => serde_json::to_string_pretty(&diff)? + "\n",
    })
}

fn catalog_models(p: &Policy) -> Vec<String> {
    p.catalog().models().map(|(_, m)| m.id.clone()).collect()
}

/// Appends the models of `other`'s catalog that `models` lacks.
fn add_models(models: &mut Vec<String>, other: &Policy) {
    for (_, model) in other.catalog().models() {
        if !models.contains(&model.id) {
            models.push(model.id.clone());
        }
    }
}

fn union_models(m: &Matrix, other: &Policy) -> Vec<String> {
    let mut models = m.models.clone();
    add_models(&mut models, other);
    models
}
