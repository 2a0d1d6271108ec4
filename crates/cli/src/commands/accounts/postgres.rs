//! `cordon accounts --store postgres://…`: the subcommands a PostgreSQL
//! store has so far, printing exactly what they print for SQLite.

use std::process::ExitCode;

use anyhow::{Result, bail};
use cordon_store::PostgresStore;

use super::{Command, KeysCommand, print_added, print_issued, print_revoked, subject_arg};

/// Runs `command` against the PostgreSQL store at `url`.
pub(super) fn run(url: &str, command: Command) -> Result<ExitCode> {
    let supported = matches!(
        command,
        Command::Add { .. }
            | Command::Keys(KeysCommand::Create { .. } | KeysCommand::Revoke { .. })
    );
    if !supported {
        bail!(
            "this `cordon accounts` subcommand does not work with a PostgreSQL store yet; `add`, `keys create` and `keys revoke` do (or give a SQLite store file)"
        );
    }
    let store = PostgresStore::connect(url)?.with_clock(crate::clock::now);
    match command {
        Command::Add { id, subject } => {
            print_added(&store.add_account(&id, subject_arg(subject)?)?)?
        }
        Command::Keys(KeysCommand::Create { id, label }) => {
            print_issued(&store.create_key(&id, label.as_deref())?);
        }
        Command::Keys(KeysCommand::Revoke { prefix }) => print_revoked(&store.revoke_key(&prefix)?),
        // Refused above.
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}
