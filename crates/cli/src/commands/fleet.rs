//! `cordon fleet status`: every gateway node sharing a store, as each last
//! reported itself.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use cordon_store::{Fleet, NodeReport, PostgresStore};
use jiff::Timestamp;

use super::Format;

/// A node silent for longer than this is reported as not answering.
const SILENT_AFTER_SECS: i64 = 5;

/// Arguments of `cordon fleet`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Every node: its policy version, last heartbeat, audit log size (and,
    /// on a shared store, how much of it is shipped), and whether it is
    /// healthy. Exits 1 when a node is not.
    Status(StatusArgs),
}

#[derive(clap::Args)]
struct StatusArgs {
    /// The shared store (`postgres://…`), or a SQLite file.
    #[arg(long, value_name = "STORE")]
    store: String,
    /// Output format (text or json).
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(a: Args) -> Result<ExitCode> {
    match a.command {
        Command::Status(s) => status(s),
    }
}

/// What every node should run.
#[derive(Debug, Clone, Copy)]
enum Expected<'a> {
    /// The fleet's active published bundle.
    Bundle(&'a str),
    /// Nothing is published: the version most nodes run.
    Majority(Option<&'a str>),
}

/// How one node stands, from its report and the time now.
fn standing(n: &NodeReport, now: Timestamp, expected: Expected<'_>) -> String {
    let silent = now.as_second() - n.heartbeat_at.as_second();
    if silent > SILENT_AFTER_SECS {
        return format!("not answering (silent {silent} s)");
    }
    if !n.healthy {
        return format!("unhealthy: {}", n.detail);
    }
    match expected {
        Expected::Bundle(id) if n.policy_bundle.as_deref() != Some(id) => format!(
            "not on the published bundle (runs {})",
            n.policy_bundle
                .as_deref()
                .unwrap_or("its own directive files")
        ),
        Expected::Majority(Some(v)) if v != n.policy_version => {
            "on another policy version than the fleet".to_owned()
        }
        _ => "healthy".to_owned(),
    }
}

/// The policy version most nodes report.
fn majority(nodes: &[NodeReport]) -> Option<&str> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for n in nodes {
        *counts.entry(n.policy_version.as_str()).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, c)| *c).map(|(v, _)| v)
}

fn status(a: StatusArgs) -> Result<ExitCode> {
    // Shipped logs live only in a shared store.
    let mut shared: Option<Arc<PostgresStore>> = None;
    let fleet: Arc<dyn Fleet> = if cordon_store::is_postgres_url(&a.store) {
        let pg = Arc::new(PostgresStore::connect(&a.store)?);
        shared = Some(pg.clone());
        pg
    } else {
        Arc::new(super::accounts::open_existing(&PathBuf::from(&a.store))?)
    };
    let nodes = fleet.nodes().context("cannot read the fleet's nodes")?;
    // How much of each node's log reached the shared store.
    let shipped: Vec<Option<u64>> = nodes
        .iter()
        .map(|n| shared.as_ref().and_then(|s| s.shipped_size(&n.node).ok()))
        .collect();
    let now = crate::clock::now();
    let active = match &shared {
        Some(s) => s
            .active_bundle_id()
            .context("cannot read the fleet's active bundle")?,
        None => None,
    };
    let expected = match &active {
        Some(id) => Expected::Bundle(id),
        None => Expected::Majority(majority(&nodes)),
    };
    let standings: Vec<String> = nodes.iter().map(|n| standing(n, now, expected)).collect();
    let all_healthy = standings.iter().all(|s| s == "healthy");
    match a.format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = nodes
                .iter()
                .zip(&standings)
                .zip(&shipped)
                .map(|((n, s), shipped)| {
                    let mut v = serde_json::to_value(n).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("standing".into(), s.clone().into());
                        o.insert("audit_shipped".into(), serde_json::json!(shipped));
                    }
                    v
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"at": now.to_string(), "published_bundle": active, "nodes": rows})
                )?
            );
        }
        Format::Text | Format::Csv => {
            let published = match &active {
                Some(id) => Published::Bundle(id),
                None if shared.is_some() => Published::Nothing,
                None => Published::NotShared,
            };
            print!(
                "{}",
                render_text(&nodes, &standings, &shipped, published, now)
            );
        }
    }
    Ok(if all_healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What the fleet is meant to run, for the text report.
#[derive(Debug, Clone, Copy)]
enum Published<'a> {
    /// This bundle, published to a shared store.
    Bundle(&'a str),
    /// Nothing published to a shared store.
    Nothing,
    /// A single node's store: publishing does not apply.
    NotShared,
}

/// The text report: one line per node, under what the fleet should run.
fn render_text(
    nodes: &[NodeReport],
    standings: &[String],
    shipped: &[Option<u64>],
    published: Published<'_>,
    now: Timestamp,
) -> String {
    let mut out = format!("{} node(s) as of {now}\n", nodes.len());
    match published {
        Published::Bundle(id) => {
            let _ = writeln!(out, "published bundle in force: {id}");
        }
        Published::Nothing => {
            let _ = writeln!(
                out,
                "no bundle published: each node runs its own directive files"
            );
        }
        Published::NotShared => {}
    }
    let _ = writeln!(
        out,
        "{:<36} {:<22} {:<20} {:<20} {:<10} {:<22} standing",
        "node", "listen", "policy", "bundle", "heartbeat", "audit (shipped)"
    );
    for ((n, s), shipped) in nodes.iter().zip(standings).zip(shipped) {
        let policy: String = n.policy_version.chars().take(19).collect();
        let age = now.as_second() - n.heartbeat_at.as_second();
        let audit = match shipped {
            Some(k) => format!("{} ({k})", n.audit_size),
            None => n.audit_size.to_string(),
        };
        let bundle: String = n
            .policy_bundle
            .as_deref()
            .unwrap_or("(own files)")
            .chars()
            .take(19)
            .collect();
        let _ = writeln!(
            out,
            "{:<36} {:<22} {:<20} {:<20} {:<10} {:<22} {s}",
            n.node,
            n.listen,
            policy,
            bundle,
            format!("{age} s ago"),
            audit,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, version: &str, beat: i64, healthy: bool) -> NodeReport {
        NodeReport {
            node: name.into(),
            listen: "127.0.0.1:1".into(),
            policy_version: version.into(),
            policy_bundle: None,
            started_at: Timestamp::from_second(0).unwrap_or(Timestamp::UNIX_EPOCH),
            heartbeat_at: Timestamp::from_second(beat).unwrap_or(Timestamp::UNIX_EPOCH),
            audit_size: 0,
            audit_checkpoint: None,
            healthy,
            detail: if healthy {
                String::new()
            } else {
                "audit log failing".into()
            },
        }
    }

    #[test]
    fn a_node_is_flagged_when_silent_unhealthy_or_on_another_version() {
        let now = Timestamp::from_second(100).unwrap_or(Timestamp::UNIX_EPOCH);
        let nodes = [
            node("a", "v1", 99, true),
            node("b", "v1", 90, true),
            node("c", "v1", 99, false),
            node("d", "v0", 99, true),
        ];
        let m = majority(&nodes);
        assert_eq!(m, Some("v1"));
        let s: Vec<String> = nodes
            .iter()
            .map(|n| standing(n, now, Expected::Majority(m)))
            .collect();
        assert_eq!(s[0], "healthy");
        assert_eq!(s[1], "not answering (silent 10 s)");
        assert_eq!(s[2], "unhealthy: audit log failing");
        assert_eq!(s[3], "on another policy version than the fleet");
    }

    #[test]
    fn the_text_report_names_each_node_s_policy_bundle_and_shipping() {
        let now = Timestamp::from_second(100).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut on = node(
            "host-a/127.0.0.1:8080",
            "sha256:9d93d2adcc22f4034433",
            99,
            true,
        );
        on.policy_bundle = Some("sha256:7951b9e60061b74c".into());
        on.audit_size = 120;
        let files = node("host-b/127.0.0.1:8080", "sha256:0000aaaa", 90, false);
        let nodes = [on, files];
        let expected = Expected::Bundle("sha256:7951b9e60061b74c");
        let standings: Vec<String> = nodes.iter().map(|n| standing(n, now, expected)).collect();
        let text = render_text(
            &nodes,
            &standings,
            &[Some(118), None],
            Published::Bundle("sha256:7951b9e60061b74c"),
            now,
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn with_a_published_bundle_a_node_running_anything_else_is_flagged() {
        let now = Timestamp::from_second(100).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut on = node("a", "v1", 99, true);
        on.policy_bundle = Some("sha256:b1".into());
        let mut behind = node("b", "v1", 99, true);
        behind.policy_bundle = Some("sha256:b0".into());
        let files = node("c", "v1", 99, true);
        let expected = Expected::Bundle("sha256:b1");
        assert_eq!(standing(&on, now, expected), "healthy");
        assert_eq!(
            standing(&behind, now, expected),
            "not on the published bundle (runs sha256:b0)"
        );
        assert_eq!(
            standing(&files, now, expected),
            "not on the published bundle (runs its own directive files)"
        );
    }
}
