//! Reading the audit log for a traffic replay: verify it whole, then read
//! its decision leaves and replay them under the proposed set.
//!
//! [`cordon_audit_log::verify`] recomputes the log from its segment bytes but
//! hands no leaf out, so verification and reading are two passes: the first
//! proves the log intact (or stops the run before any report exists), the
//! second reads the leaves it proved.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use cordon_audit::leaf::{self, Record};
use cordon_audit::merkle::{Hash, SourceError};
use cordon_audit_log::{CheckpointVerifier, LogReader, VerifyReport};
use cordon_simulate::{LoggedRequest, Simulation, TrafficTally};
use jiff::{SignedDuration, Timestamp};

use super::accounts::Subjects;
use crate::data_dir::load_verifier_key;

/// Leaves handed to a worker at a time.
const BATCH: usize = 4096;
/// Replay worker threads.
const WORKERS: usize = 2;

/// A log that passed verification.
pub(super) struct VerifiedLog {
    reader: LogReader,
    /// The log directory as given.
    pub(super) dir: PathBuf,
    /// What verification checked.
    pub(super) report: VerifyReport,
    /// How long verification took.
    pub(super) took: Duration,
}

/// What a replay pass produced.
pub(super) struct Replayed {
    pub(super) tally: TrafficTally,
    /// Time of the first and last decision replayed.
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    /// Leaves this version cannot decode (skipped).
    pub(super) undecodable: u64,
    /// How long the pass took.
    pub(super) took: Duration,
}

/// Parses `--since`: an RFC 3339 time, or an age back from `now` (`90m`,
/// `24h`, `7d`; `s` for seconds also works).
pub(super) fn parse_since(text: &str, now: Timestamp) -> Result<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let bad = || {
        anyhow!(
            "--since `{text}` is neither an RFC 3339 time (2026-01-31T00:00:00Z) nor an age such as 90m, 24h or 7d"
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = (
        text.get(..split).ok_or_else(bad)?,
        text.get(split..).ok_or_else(bad)?,
    );
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let age = n
        .checked_mul(per)
        .map(SignedDuration::from_secs)
        .ok_or_else(bad)?;
    now.checked_sub(age).map_err(|_| bad())
}

/// Checkpoint signatures need the log's public key; it sits beside the log
/// in a data directory (`<data-dir>/audit-key.pub` next to `<data-dir>/audit`).
fn key_path(dir: &Path) -> PathBuf {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join("audit-key.pub")
}

/// Stands in for the public key when there is none: a log without
/// checkpoints verifies without it, one with checkpoints does not.
struct NoKey(PathBuf);

impl CheckpointVerifier for NoKey {
    fn open(&self, _note: &str) -> Result<(u64, Hash), SourceError> {
        Err(format!(
            "the log has signed checkpoints but its public key `{}` does not exist",
            self.0.display()
        )
        .into())
    }
}

/// Opens the log in `dir` and verifies all of it, as `cordon audit verify` does.
pub(super) fn open_verified(dir: &Path) -> Result<VerifiedLog> {
    if !dir.join("segments").is_dir() {
        bail!(
            "--traffic `{}` is not an audit log (it has no `segments` directory)",
            dir.display()
        );
    }
    let started = Instant::now();
    let reader = LogReader::open(dir)
        .with_context(|| format!("cannot open the audit log `{}`", dir.display()))?;
    let key = key_path(dir);
    let verifier: Box<dyn CheckpointVerifier> = if key.exists() {
        Box::new(load_verifier_key(&key)?)
    } else {
        Box::new(NoKey(key))
    };
    let report = cordon_audit_log::verify(&reader, verifier.as_ref())
        .with_context(|| format!("the audit log `{}` failed verification", dir.display()))?;
    Ok(VerifiedLog {
        reader,
        dir: dir.to_owned(),
        report,
        took: started.elapsed(),
    })
}

/// Leaves read but not yet decoded: one buffer, cut at `ends`.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

/// One worker's share of the replay.
#[derive(Default)]
struct Share {
    tally: TrafficTally,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    undecodable: u64,
}

impl Share {
    fn replay_batch(
        &mut self,
        batch: &Batch,
        since: Option<Timestamp>,
        sim: &Simulation,
        subjects: &Subjects,
    ) {
        let mut start = 0;
        for &end in &batch.ends {
            let data = batch.bytes.get(start..end).unwrap_or_default();
            start = end;
            let d = match leaf::decode(data) {
                Ok(Record::Decision(d)) => d,
                Ok(Record::Admin(_)) => continue,
                Err(_) => {
                    self.undecodable += 1;
                    continue;
                }
            };
            let time = d.time.parse::<Timestamp>().ok();
            if let Some(since) = since
                && time.is_none_or(|t| t < since)
            {
                continue;
            }
            if let Some(t) = time {
                self.first = Some(self.first.map_or(t, |f| f.min(t)));
                self.last = Some(self.last.map_or(t, |l| l.max(t)));
            }
            let logged = LoggedRequest {
                account: d.account.as_deref(),
                model: &d.model_requested,
                endpoint: &d.endpoint,
                features: &d.features,
                client_country: d.client_country.as_deref(),
                client_region: d.client_region.as_deref(),
                anonymizer: d.anonymizer,
                effect: &d.effect,
            };
            let subject = d
                .account
                .as_deref()
                .and_then(|a| subjects.get(a))
                .map(|s| &**s);
            sim.replay(&logged, subject, &mut self.tally);
        }
    }

    fn merge(&mut self, o: Share) {
        self.tally.merge(o.tally);
        self.first = [self.first, o.first].into_iter().flatten().min();
        self.last = [self.last, o.last].into_iter().flatten().max();
        self.undecodable += o.undecodable;
    }
}

/// Reads every leaf of a verified log and replays its decisions from
/// `since` on, over [`WORKERS`] threads while this one reads.
pub(super) fn replay(
    log: &VerifiedLog,
    since: Option<Timestamp>,
    sim: &Simulation,
    subjects: &Subjects,
    bar: &indicatif::ProgressBar,
) -> Result<Replayed> {
    let started = Instant::now();
    let (tx, rx) = mpsc::sync_channel::<Batch>(2 * WORKERS);
    let rx = Mutex::new(rx);
    let size = log.reader.size();
    let (scanned, shares) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                s.spawn(|| {
                    let mut share = Share::default();
                    loop {
                        let next = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = next else { break };
                        share.replay_batch(&batch, since, sim, subjects);
                        bar.inc(batch.ends.len() as u64);
                    }
                    share
                })
            })
            .collect();
        let mut batch = Batch::default();
        let mut closed = false;
        let scanned = log.reader.scan(0..size, |_, data| {
            batch.bytes.extend_from_slice(data);
            batch.ends.push(batch.bytes.len());
            if batch.ends.len() >= BATCH && tx.send(std::mem::take(&mut batch)).is_err() {
                closed = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if !batch.ends.is_empty() && tx.send(batch).is_err() {
            closed = true;
        }
        drop(tx);
        let shares: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (scanned.map(|()| closed), shares)
    });
    let closed =
        scanned.with_context(|| format!("cannot read the audit log `{}`", log.dir.display()))?;
    let mut total = Share::default();
    for share in shares {
        total.merge(share.map_err(|_| anyhow!("a replay worker stopped unexpectedly"))?);
    }
    if closed {
        bail!("the replay workers stopped before the log was read");
    }
    Ok(Replayed {
        tally: total.tally,
        first: total.first,
        last: total.last,
        undecodable: total.undecodable,
        took: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_age_or_a_time() {
        let now: Timestamp = "2026-02-01T00:00:00Z".parse().unwrap();
        let t = |s| parse_since(s, now).ok().map(|t| t.to_string());
        assert_eq!(t("24h").as_deref(), Some("2026-01-31T00:00:00Z"));
        assert_eq!(t("7d").as_deref(), Some("2026-01-25T00:00:00Z"));
        assert_eq!(t("90m").as_deref(), Some("2026-01-31T22:30:00Z"));
        assert_eq!(
            t("2025-03-01T12:00:00+02:00").as_deref(),
            Some("2025-03-01T10:00:00Z")
        );
        for bad in ["", "d", "7", "7w", "-1h", "1.5h", "99999999999999999999d"] {
            let e = parse_since(bad, now).unwrap_err();
            assert!(e.to_string().contains(&format!("`{bad}`")), "{e}");
        }
    }

    #[test]
    fn the_key_is_looked_for_beside_the_log() {
        assert_eq!(
            key_path(Path::new("data/audit")),
            Path::new("data/audit-key.pub")
        );
        assert_eq!(key_path(Path::new("audit")), Path::new("./audit-key.pub"));
    }
}
