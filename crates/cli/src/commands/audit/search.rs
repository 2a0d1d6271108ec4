//! `cordon audit search`: the log's entries that match filters.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use cordon_audit::leaf::{self, Record};
use cordon_audit::{AdminRecord, DecisionRecord};
use jiff::Timestamp;

use super::{DataDirArg, Failure, Outcome};

/// Arguments of `cordon audit search`.
#[derive(clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    data_dir: DataDirArg,
    /// The log directory (default: `<data-dir>/audit`).
    #[arg(long, value_name = "DIR")]
    log: Option<PathBuf>,
    /// Decisions for this account id, and changes made to it.
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// Decisions on this model: the catalog id or the name the client sent.
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// Decisions this directive decided (`decided_by`).
    #[arg(long, value_name = "ID")]
    directive: Option<String>,
    /// Decisions with this effect: allow, allow_with_obligations, verification_required, deny.
    #[arg(long, value_name = "EFFECT")]
    effect: Option<String>,
    /// Only decisions or only administrative changes.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Entries at or after this time: RFC 3339 (2026-01-31T00:00:00Z) or an age such as 24h, 30m, 7d.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Entries before this time: RFC 3339 or an age such as 1h.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Stop after this many matches.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: SearchFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// Decisions on requests.
    Decision,
    /// Administrative changes.
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SearchFormat {
    /// One JSON object per line: the leaf's fields with its `index` first.
    Jsonl,
    /// Fixed columns: index,kind,id,time,account,model,effect,decided_by,client_country,client_region,action.
    Csv,
}

/// The CSV columns, in order.
const CSV_HEADER: [&str; 11] = [
    "index",
    "kind",
    "id",
    "time",
    "account",
    "model",
    "effect",
    "decided_by",
    "client_country",
    "client_region",
    "action",
];

/// The filters, parsed.
struct Filter {
    account: Option<String>,
    model: Option<String>,
    directive: Option<String>,
    effect: Option<String>,
    kind: Option<Kind>,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl Filter {
    /// Quoted JSON strings every matching leaf contains: a byte search for
    /// them skips most leaves before the costlier decode.
    fn needles(&self) -> Vec<Vec<u8>> {
        [&self.account, &self.model, &self.directive, &self.effect]
            .into_iter()
            .flatten()
            .filter_map(|v| serde_json::to_vec(v).ok())
            .collect()
    }

    fn decision_only(&self) -> bool {
        self.model.is_some() || self.directive.is_some() || self.effect.is_some()
    }

    fn in_window(&self, time: &str) -> bool {
        if self.since.is_none() && self.until.is_none() {
            return true;
        }
        let Ok(t) = time.parse::<Timestamp>() else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    fn decision(&self, d: &DecisionRecord) -> bool {
        self.kind != Some(Kind::Admin)
            && self
                .account
                .as_ref()
                .is_none_or(|a| d.account.as_ref() == Some(a))
            && self
                .model
                .as_ref()
                .is_none_or(|m| d.model.as_ref() == Some(m) || &d.model_requested == m)
            && self
                .directive
                .as_ref()
                .is_none_or(|x| d.decided_by.as_ref() == Some(x))
            && self.effect.as_ref().is_none_or(|e| &d.effect == e)
            && self.in_window(&d.time)
    }

    fn admin(&self, c: &AdminRecord) -> bool {
        self.kind != Some(Kind::Decision)
            && !self.decision_only()
            && self
                .account
                .as_ref()
                .is_none_or(|a| c.subject.as_ref() == Some(a))
            && self.in_window(&c.time)
    }

    fn matches(&self, record: &Record) -> bool {
        match record {
            Record::Decision(d) => self.decision(d),
            Record::Admin(c) => self.admin(c),
        }
    }
}

/// Parses `--since`/`--until`; an unusable value is an input error.
fn parse_time(flag: &str, text: &str, now: Timestamp) -> Outcome<Timestamp> {
    crate::commands::time_or_age(flag, text, now).map_err(Failure::Input)
}

/// One CSV row for a record.
fn csv_row(index: u64, record: &Record) -> [String; 11] {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    match record {
        Record::Decision(d) => [
            index.to_string(),
            "decision".into(),
            d.id.clone(),
            d.time.clone(),
            s(&d.account),
            d.model.clone().unwrap_or_else(|| d.model_requested.clone()),
            d.effect.clone(),
            s(&d.decided_by),
            s(&d.client_country),
            s(&d.client_region),
            String::new(),
        ],
        Record::Admin(c) => [
            index.to_string(),
            "admin".into(),
            c.id.clone(),
            c.time.clone(),
            s(&c.subject),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            c.action.clone(),
        ],
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// One CSV line, quoted as needed.
fn csv_line<S: AsRef<str>>(fields: &[S]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields.iter().map(AsRef::as_ref))?;
    w.into_inner().map_err(|e| anyhow!("{}", e.error()))
}

/// The leaf's JSON with `"index":N` inserted as its first field; the leaf's
/// own bytes are kept as they are, so the line shows exactly what was hashed.
fn json_line(index: u64, leaf: &[u8]) -> Vec<u8> {
    let rest = leaf.strip_prefix(b"{").unwrap_or(leaf);
    let mut line = format!("{{\"index\":{index},").into_bytes();
    line.extend_from_slice(rest);
    line.push(b'\n');
    line
}

pub(super) fn run(a: Args) -> Outcome<()> {
    let now = crate::clock::now();
    let filter = Filter {
        since: a
            .since
            .as_deref()
            .map(|t| parse_time("--since", t, now))
            .transpose()?,
        until: a
            .until
            .as_deref()
            .map(|t| parse_time("--until", t, now))
            .transpose()?,
        account: a.account,
        model: a.model,
        directive: a.directive,
        effect: a.effect,
        kind: a.kind,
    };
    let reader = super::open_log(a.log, &a.data_dir)?;
    if let Some(damage) = reader.damage() {
        eprintln!(
            "warning: the log is damaged at {damage}; searching only the entries before it (run `cordon audit verify`)"
        );
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let csv = a.format == SearchFormat::Csv;
    if csv {
        csv_line(&CSV_HEADER)
            .and_then(|line| Ok(out.write_all(&line)?))
            .context("cannot write the results")
            .map_err(Failure::Input)?;
    }
    let limit = a.limit.unwrap_or(u64::MAX);
    let needles = filter.needles();
    let mut matched = 0u64;
    let mut undecodable = 0u64;
    let mut failed: Option<anyhow::Error> = None;
    let scanned = reader.scan(0..reader.size(), |index, data| {
        if matched >= limit {
            return ControlFlow::Break(());
        }
        if !needles.iter().all(|n| contains(data, n)) {
            return ControlFlow::Continue(());
        }
        let record = match leaf::decode(data) {
            Ok(r) => r,
            Err(e) => {
                if undecodable == 0 {
                    eprintln!("warning: entry {index} is not a record this version reads: {e}");
                }
                undecodable += 1;
                return ControlFlow::Continue(());
            }
        };
        if !filter.matches(&record) {
            return ControlFlow::Continue(());
        }
        matched += 1;
        let line = if csv {
            csv_line(&csv_row(index, &record))
        } else {
            Ok(json_line(index, data))
        };
        let written = line.and_then(|line| Ok(out.write_all(&line)?));
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    if let Some(e) = failed {
        // A closed pipe (`| head`) ends the output early; that is not an error.
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        {
            return Ok(());
        }
        return Err(Failure::Input(e.context("cannot write the results")));
    }
    scanned
        .with_context(|| format!("cannot read the audit log `{}`", reader.dir().display()))
        .map_err(Failure::Invalid)?;
    out.flush()
        .context("cannot write the results")
        .map_err(Failure::Input)?;
    if undecodable > 1 {
        eprintln!("warning: {undecodable} entries could not be decoded and were skipped");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_count_back_from_now() {
        let now: Timestamp = "2026-02-01T00:00:00Z".parse().unwrap();
        let t = |s| parse_time("--since", s, now).ok().map(|t| t.to_string());
        assert_eq!(t("24h").as_deref(), Some("2026-01-31T00:00:00Z"));
        assert_eq!(t("7d").as_deref(), Some("2026-01-25T00:00:00Z"));
        assert_eq!(t("90s").as_deref(), Some("2026-01-31T23:58:30Z"));
        assert_eq!(
            t("2025-03-01T12:00:00Z").as_deref(),
            Some("2025-03-01T12:00:00Z")
        );
        for bad in ["", "h", "24", "24y", "-1h", "1.5h", "99999999999999999999d"] {
            assert!(t(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_index_goes_first_and_the_leaf_stays_as_hashed() {
        let line = json_line(7, br#"{"v":1,"kind":"admin"}"#);
        assert_eq!(line, b"{\"index\":7,\"v\":1,\"kind\":\"admin\"}\n");
    }
}
