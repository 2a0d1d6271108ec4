//! `cordon audit verify --fleet STORE`: every node's audit log, verified
//! from what it shipped to the shared store.

use std::fmt::Write as _;

use anyhow::anyhow;
use cordon_audit::VerifierKey;
use cordon_audit::shipped::verify_shipped;
use cordon_store::PostgresStore;
use serde_json::json;

use super::{Failure, Outcome};

/// Verifies every shipped log; prints one line per node (or JSON), and
/// fails when any node's log does not verify or none was shipped.
pub(super) fn verify(url: &str, json_out: bool) -> Outcome<()> {
    let store = PostgresStore::connect(url)
        .map_err(|e| Failure::Input(anyhow!(e).context("cannot open the shared store")))?;
    let logs = store
        .shipped_logs()
        .map_err(|e| Failure::Input(anyhow!(e).context("cannot read the shipped logs")))?;
    if logs.is_empty() {
        return Err(Failure::Input(anyhow!(
            "no node has shipped an audit log to {}",
            store.target()
        )));
    }
    let mut text = String::new();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for log in &logs {
        let outcome = VerifierKey::parse(&log.public_key)
            .map_err(|e| anyhow!("its registered key does not read: {e}"))
            .and_then(|key| {
                verify_shipped(&log.entries, &log.checkpoints, &key).map_err(|e| anyhow!(e))
            });
        match outcome {
            Ok(r) => {
                let _ = writeln!(
                    text,
                    "verified  {}: {} entries, {} checkpoint(s), signed through {}",
                    log.node, r.entries, r.checkpoints, r.signed
                );
                rows.push(json!({"node": log.node, "ok": true, "entries": r.entries,
                                 "checkpoints": r.checkpoints, "signed": r.signed}));
            }
            Err(e) => {
                let _ = writeln!(text, "FAILED    {}: {e:#}", log.node);
                rows.push(json!({"node": log.node, "ok": false, "error": format!("{e:#}")}));
                failed.push(log.node.clone());
            }
        }
    }
    if json_out {
        println!("{}", json!({"ok": failed.is_empty(), "logs": rows}));
    } else {
        print!("{text}");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Invalid(anyhow!(
            "the shipped audit log of {} does not verify",
            failed.join(", ")
        )))
    }
}
