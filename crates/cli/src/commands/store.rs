//! `cordon store`: looking after the identity store itself.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use cordon_store::{PostgresStore, is_postgres_url};

use super::accounts::{DEFAULT_STORE, open_store};

/// Arguments of `cordon store`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Bring the identity store's schema up to date; running it again changes nothing.
    Migrate {
        /// The identity store: a SQLite file (default cordon-data/identity.db) or a `postgres://` URL.
        #[arg(long, value_name = "PATH_OR_URL", default_value = DEFAULT_STORE)]
        store: String,
    },
}

/// Runs `cordon store`.
pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Command::Migrate { store } if is_postgres_url(&store) => {
            let done = PostgresStore::migrate(&store)?;
            for (version, name) in &done.applied {
                println!("applied migration {version}: {name}");
            }
            println!(
                "the PostgreSQL identity store is at schema version {} ({} migration(s) applied now)",
                done.version,
                done.applied.len()
            );
        }
        Command::Migrate { store } => {
            // Opening a SQLite store applies its migrations.
            let version = open_store(Path::new(&store))?.schema_version()?;
            println!("the SQLite identity store `{store}` is at schema version {version}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
