//! `cordon serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

/// Arguments of `cordon serve`.
#[derive(clap::Args)]
pub struct Args {
    /// The configuration file (docs/configuration.md).
    #[arg(long, default_value = "cordon.toml")]
    config: PathBuf,
}

pub fn run(a: Args) -> Result<ExitCode> {
    bail!("`cordon serve --config {}`: the gateway is not built into this binary yet", a.config.display())
}
