//! `cordon audit check-proof`: checks a receipt or consistency bundle with
//! nothing but the bundle and the log's public key.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::anyhow;
use cordon_audit::leaf::{self, Record};
use cordon_audit::proof::{CONSISTENCY_HEADER, INCLUSION_HEADER};
use cordon_audit::{
    BundleError, Checked, CheckedConsistency, Checkpoint, ConsistencyBundle, InclusionBundle,
};
use serde_json::json;

use super::{DataDirArg, Failure, Outcome, TextOrJson, b64};

/// Arguments of `cordon audit check-proof`.
#[derive(clap::Args)]
pub(super) struct Args {
    /// The receipt (`c2sp.org/tlog-proof@v1`) or consistency bundle (`cordon.audit/consistency-proof@v1`).
    bundle: PathBuf,
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The log's public key (default: `<data-dir>/audit-key.pub`).
    #[arg(long, value_name = "PUB")]
    key: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: TextOrJson,
}

/// What a valid bundle proved.
enum Proved {
    Inclusion { index: u64, checked: Checked },
    Consistency(CheckedConsistency),
}

pub(super) fn run(a: Args) -> Outcome<()> {
    let key = super::load_key(a.key, &a.data_dir)?;
    let text = super::read_text(&a.bundle, "bundle")?;
    let name = a.bundle.display();
    let unusable = |e: BundleError| Failure::Input(anyhow!("`{name}` is malformed: {e}"));
    let invalid = |e: BundleError| Failure::Invalid(anyhow!("`{name}` is not a valid proof: {e}"));
    let first_line = text.split('\n').next().unwrap_or_default();
    let proved = if first_line == INCLUSION_HEADER {
        let bundle = InclusionBundle::parse(&text).map_err(unusable)?;
        let checked = bundle.check(&key).map_err(|e| match e {
            BundleError::MissingLeaf => unusable(e),
            other => invalid(other),
        })?;
        Proved::Inclusion {
            index: bundle.index,
            checked,
        }
    } else if first_line == CONSISTENCY_HEADER {
        let bundle = ConsistencyBundle::parse(&text).map_err(unusable)?;
        Proved::Consistency(bundle.check(&key).map_err(invalid)?)
    } else {
        let found: String = first_line.chars().take(80).collect();
        return Err(Failure::Input(anyhow!(
            "`{name}` is neither a receipt nor a consistency bundle: line 1 is `{}`, expected `{INCLUSION_HEADER}` or `{CONSISTENCY_HEADER}`",
            found.escape_debug()
        )));
    };
    match a.format {
        TextOrJson::Text => print!("{}", render_text(&proved)),
        TextOrJson::Json => println!("{}", render_json(&proved)),
    }
    if let Proved::Inclusion { checked, .. } = &proved
        && let Err(e) = leaf::decode(&checked.leaf)
    {
        eprintln!(
            "warning: the proven leaf is not a record this version of cordon reads ({e}); its bytes are in the log all the same"
        );
    }
    Ok(())
}

fn checkpoint_lines(out: &mut String, label: &str, cp: &Checkpoint) {
    let _ = writeln!(out, "  {label:<11} {} at size {}", cp.origin, cp.size);
    let _ = writeln!(out, "  {:<11} {}", "root", b64(&cp.root));
}

fn or_dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

fn render_text(proved: &Proved) -> String {
    let mut out = String::new();
    match proved {
        Proved::Inclusion { index, checked } => {
            let _ = writeln!(out, "valid receipt: entry {index} is in the log");
            checkpoint_lines(&mut out, "checkpoint", &checked.checkpoint);
            match leaf::decode(&checked.leaf) {
                Ok(Record::Decision(d)) => {
                    let _ = writeln!(out, "  decision    {}", d.id);
                    let _ = writeln!(out, "  time        {}", d.time);
                    let _ = writeln!(
                        out,
                        "  account     {}",
                        d.account
                            .as_deref()
                            .unwrap_or("none (the API key was unknown)")
                    );
                    let _ = writeln!(
                        out,
                        "  model       {} (requested `{}`)",
                        or_dash(d.model.as_deref()),
                        d.model_requested
                    );
                    let _ = writeln!(out, "  effect      {}", d.effect);
                    let _ = writeln!(out, "  directive   {}", or_dash(d.decided_by.as_deref()));
                }
                Ok(Record::Admin(c)) => {
                    let _ = writeln!(out, "  change      {}", c.id);
                    let _ = writeln!(out, "  time        {}", c.time);
                    let _ = writeln!(out, "  actor       {}", c.actor);
                    let _ = writeln!(out, "  action      {}", c.action);
                    let _ = writeln!(out, "  subject     {}", or_dash(c.subject.as_deref()));
                }
                Err(_) => {
                    let _ = writeln!(
                        out,
                        "  leaf        {} bytes, not decodable",
                        checked.leaf.len()
                    );
                }
            }
        }
        Proved::Consistency(c) => {
            let _ = writeln!(
                out,
                "valid consistency proof: the log at size {} extends the log at size {}",
                c.new.size, c.old.size
            );
            checkpoint_lines(&mut out, "old", &c.old);
            checkpoint_lines(&mut out, "new", &c.new);
        }
    }
    out
}

fn checkpoint_json(cp: &Checkpoint) -> serde_json::Value {
    json!({"origin": cp.origin, "size": cp.size, "root": b64(&cp.root)})
}

fn render_json(proved: &Proved) -> serde_json::Value {
    match proved {
        Proved::Inclusion { index, checked } => json!({
            "valid": true,
            "kind": "inclusion",
            "index": index,
            "checkpoint": checkpoint_json(&checked.checkpoint),
            "leaf": serde_json::from_slice::<serde_json::Value>(&checked.leaf).ok(),
        }),
        Proved::Consistency(c) => json!({
            "valid": true,
            "kind": "consistency",
            "old": checkpoint_json(&c.old),
            "new": checkpoint_json(&c.new),
        }),
    }
}
