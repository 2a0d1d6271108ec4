//! `cordon store`: looking after the identity store itself.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use cordon_store::{PostgresStore, SqliteStore, is_postgres_url};

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
    /// Copy a SQLite store into a PostgreSQL store (migrated first): accounts,
    /// API keys, evidence with its deliveries and revocations, licences, end
    /// users and provider objects, in batches; run it again to resume a copy
    /// cut short. Both stores are then compared table by table, row by row
    /// (counts and SHA-256).
    Copy {
        /// The SQLite store to copy (`sqlite:PATH` or a path).
        #[arg(long, value_name = "PATH")]
        from: String,
        /// The PostgreSQL store to copy into (`postgres://…`).
        #[arg(long, value_name = "URL")]
        to: String,
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
        Command::Copy { from, to } => copy(&from, &to)?,
        Command::Migrate { store } => {
            // Opening a SQLite store applies its migrations.
            let version = open_store(Path::new(&store))?.schema_version()?;
            println!("the SQLite identity store `{store}` is at schema version {version}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cordon store copy`.
fn copy(from: &str, to: &str) -> Result<()> {
    let path = Path::new(from.strip_prefix("sqlite:").unwrap_or(from));
    if is_postgres_url(from) || !path.is_file() {
        anyhow::bail!("--from must be an existing SQLite store file; `{from}` is not one");
    }
    if !is_postgres_url(to) {
        anyhow::bail!("--to must be a `postgres://` URL; `{to}` is not one");
    }
    let source = SqliteStore::open(path)?;
    let target = PostgresStore::connect(to)?;
    let bar = super::lists::progress(0, "copying")?;
    let started = std::time::Instant::now();
    let report = cordon_store::copy::sqlite_to_postgres(&source, &target, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    let rows: u64 = report.tables.iter().map(|t| t.rows).sum();
    let inserted: u64 = report.tables.iter().map(|t| t.inserted).sum();
    println!(
        "copied `{}` into {} in {:.1} s: {rows} row(s) ({inserted} new) in {} table(s)",
        path.display(),
        target.target(),
        started.elapsed().as_secs_f64(),
        report.tables.len(),
    );
    for t in &report.tables {
        println!(
            "  {:<16} {} row(s) ({} new), sha256 {}",
            t.table, t.rows, t.inserted, t.sha256
        );
    }
    println!("verified: both stores hold the same rows in every table copied");
    for (table, n) in &report.left_behind {
        let why = if *table == "admin_changes" {
            "changes the source's gateway has not written to its audit log yet; it still does, from the SQLite store"
        } else {
            "restricted-party screening is not in the PostgreSQL store yet; each account's `screening` attribute was copied"
        };
        eprintln!("not copied: {n} row(s) of `{table}` ({why})");
    }
    Ok(())
}
