//! `cordon accounts end-users`: the end users an organisation's application
//! sends requests for, each registered as a member account, exactly as the
//! gateway's `POST /v1/organizations/{id}/end-users` records them.

use crate::commands::identity::Admin;
use anyhow::Result;
use cordon_store::end_users::{RegisteredEndUser, Registration};

use crate::commands::Format;

/// What to do with an organisation's end users.
#[derive(clap::Subcommand)]
pub(super) enum Command {
    /// Register an end user (`*` for the account that stands for every end user not registered on their own); the member account is created when it does not exist.
    Register {
        /// The organisation's account id.
        org: String,
        /// The organisation's identifier for the person, as its requests send it (`safety_identifier`, `user`, `metadata.user_id`).
        #[arg(long = "end-user", value_name = "ID")]
        end_user: String,
        /// The member account that stands for the person.
        #[arg(long, value_name = "ACCOUNT")]
        account: String,
    },
    /// List an organisation's registered end users (identifiers are kept only as SHA-256).
    List {
        /// The organisation's account id.
        org: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Remove a registration; the member account stays.
    Remove {
        /// The organisation's account id.
        org: String,
        /// The organisation's identifier for the person.
        #[arg(long = "end-user", value_name = "ID")]
        end_user: String,
    },
}

pub(super) fn run(store: &dyn Admin, command: Command) -> Result<()> {
    match command {
        Command::Register {
            org,
            end_user,
            account,
        } => {
            let out = store.register_end_users(
                &org,
                &[Registration {
                    end_user,
                    account: account.clone(),
                }],
            )?;
            if out.created.is_empty() {
                println!("registered an end user of `{org}` as member account `{account}`");
            } else {
                println!(
                    "registered an end user of `{org}` as member account `{account}` (created, with nothing known about the person yet)"
                );
            }
        }
        Command::List { org, format } => {
            let list = store.end_users(&org)?;
            print!("{}", render(&list, format)?);
        }
        Command::Remove { org, end_user } => {
            let removed = store.remove_end_users(&org, &[end_user])?;
            if removed == 0 {
                anyhow::bail!("`{org}` has no end user registered under that identifier");
            }
            println!("removed the end user; its member account stays");
        }
    }
    Ok(())
}

fn render(list: &[RegisteredEndUser], format: Format) -> Result<String> {
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(list)?),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "organization",
                "end_user_sha256",
                "account",
                "registered_at",
            ])?;
            for e in list {
                w.write_record([
                    &e.organization,
                    &e.end_user_sha256,
                    &e.account,
                    &e.registered_at,
                ])?;
            }
            String::from_utf8(w.into_inner()?)?
        }
        Format::Text => {
            let mut out = String::new();
            for e in list {
                let id = if e.end_user_sha256 == "*" {
                    "* (every unregistered end user)".to_owned()
                } else {
                    format!("sha256:{}…", e.end_user_sha256.get(..16).unwrap_or(""))
                };
                out.push_str(&format!(
                    "{}\t{id}\tregistered {}\n",
                    e.account, e.registered_at
                ));
            }
            if list.is_empty() {
                out.push_str("no end users registered\n");
            }
            out
        }
    })
}
