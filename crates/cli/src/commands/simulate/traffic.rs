//! Reading the audit log for a traffic replay: verify it whole, counting its
//! decision leaves as verification hands them out, then replay the counts
//! under the proposed set.
//!
//! One pass reads the log: [`cordon_audit_log::verify_each`] hands each
//! checked record's leaves over, and workers count them while the next
//! records are read and hashed. The counts are only used once the whole
//! log verified; a log that does not verify stops the run with them
//! discarded, before any report exists.

mod shapes;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use cordon_audit_log::{CheckpointVerifier, LogReader, VerifiedLeaves, VerifyReport};
use cordon_jurisdiction::Jurisdictions;
use cordon_simulate::{PreparedRequest, Simulation, Skip, TrafficTally};
use cordon_store::{LicenceIndex, SqliteStore};
use cordon_subject::SubjectRecord;
use jiff::Timestamp;

use crate::data_dir::load_verifier_key;
use shapes::{Accounts, ByAccount, Counts};

/// Leaves handed to a worker at a time (at least).
const BATCH: usize = 4096;
/// Accounts read from the store at a time.
const CHUNK: usize = 4096;
/// Replay worker threads.
const WORKERS: usize = 2;

/// A log that passed verification.
pub(super) struct VerifiedLog {
    /// The log directory as given.
    pub(super) dir: PathBuf,
    /// What verification checked.
    pub(super) report: VerifyReport,
    /// How long verification took.
    pub(super) took: Duration,
    /// The decisions from `since` on, counted while verifying.
    counts: Counts,
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

/// Checkpoint signatures need the log's public key; it sits beside the log
/// in a data directory (`<data-dir>/audit-key.pub` next to `<data-dir>/audit`).
fn key_path(dir: &Path) -> PathBuf {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join("audit-key.pub")
}

/// Opens the log in `dir` and verifies all of it, as `cordon audit verify`
/// does, counting the decisions from `since` on in the same pass, so the
/// replay needs no second read of the log.
///
/// The checkpoints are checked with `key`, or else with `audit-key.pub`
/// beside the log in its data directory.
pub(super) fn open_verified_since(
    dir: &Path,
    since: Option<Timestamp>,
    key: Option<&Path>,
) -> Result<VerifiedLog> {
    if !dir.join("segments").is_dir() {
        bail!(
            "--traffic `{}` is not an audit log (it has no `segments` directory)",
            dir.display()
        );
    }
    let started = Instant::now();
    let reader = LogReader::open(dir)
        .with_context(|| format!("cannot open the audit log `{}`", dir.display()))?;
    // As `cordon audit verify`: no log is verified without its key.
    let verifier = load_verifier_key(&key.map_or_else(|| key_path(dir), Path::to_owned))?;
    let (report, counts) = verify_and_count(&reader, &verifier, since);
    let report =
        report.with_context(|| format!("the audit log `{}` failed verification", dir.display()))?;
    Ok(VerifiedLog {
        dir: dir.to_owned(),
        report,
        took: started.elapsed(),
        counts: counts?,
    })
}

/// Verifies the log and counts the leaves verification hands out over
/// [`WORKERS`] threads. The counts are meaningless unless the report is `Ok`.
fn verify_and_count(
    reader: &LogReader,
    verifier: &dyn CheckpointVerifier,
    since: Option<Timestamp>,
) -> (
    Result<VerifyReport, cordon_audit_log::VerifyError>,
    Result<Counts>,
) {
    let (tx, rx) = mpsc::sync_channel::<Vec<VerifiedLeaves>>(2 * WORKERS);
    let rx = Mutex::new(rx);
    let (verified, shares) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS).map(|_| s.spawn(|| work(&rx, since))).collect();
        let mut pending: Vec<VerifiedLeaves> = Vec::new();
        let mut held = 0;
        let verified = cordon_audit_log::verify_each(reader, verifier, |leaves| {
            held += leaves.len();
            pending.push(leaves);
            if held >= BATCH {
                held = 0;
                if tx.send(std::mem::take(&mut pending)).is_err() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        let closed = !pending.is_empty() && tx.send(pending).is_err();
        drop(tx);
        let shares: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (verified, (shares, closed))
    });
    (verified, merge(shares.0, shares.1))
}

/// Counts the leaves of every batch it receives until the channel closes.
fn work(rx: &Mutex<mpsc::Receiver<Vec<VerifiedLeaves>>>, since: Option<Timestamp>) -> Counts {
    let mut counts = Counts::default();
    loop {
        let next = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => break,
        };
        let Ok(records) = next else { break };
        for record in &records {
            for (_, leaf) in record.iter() {
                counts.leaf(leaf, since);
            }
        }
    }
    counts
}

/// Adds up the workers' counts; fails if one stopped early or the leaves
/// could not all be handed out (`closed`).
fn merge(shares: Vec<std::thread::Result<Counts>>, closed: bool) -> Result<Counts> {
    let mut total = Counts::default();
    for share in shares {
        let share = share.map_err(|_| anyhow!("a replay worker stopped unexpectedly"))?;
        // Merge the smaller into the larger: fewer entries to renumber.
        if share.pairs.len() > total.pairs.len() {
            let smaller = std::mem::replace(&mut total, share);
            total.merge(smaller);
        } else {
            total.merge(share);
        }
    }
    if closed {
        bail!("the replay workers stopped before the log was read");
    }
    Ok(total)
}

/// Replays the decisions of a verified log from `since` on under the
/// proposed set, with each account's current record from `store`.
///
/// No subject is held per account: verification counted the log's
/// decisions by account and request shape ([`shapes`]); now the store is
/// read once and each account's shapes are decided as its record is parsed,
/// each distinct shape once, counted with its multiplicity. The figures are
/// those of deciding every logged request on its own.
pub(super) fn replay(
    log: &mut VerifiedLog,
    sim: &Simulation,
    store: &SqliteStore,
    j: &Jurisdictions,
    licences: &LicenceIndex,
    bar: &indicatif::ProgressBar,
) -> Result<Replayed> {
    let started = Instant::now();
    let counts = std::mem::take(&mut log.counts);
    bar.inc(log.report.entries);
    let mut tally = TrafficTally::default();
    tally.skip(Skip::NoAccount, counts.no_account);
    let (first, last, undecodable) = (counts.first, counts.last, counts.undecodable);
    tally.merge(decide(counts, sim, store, j, licences)?);
    Ok(Replayed {
        tally,
        first,
        last,
        undecodable,
        took: started.elapsed(),
    })
}

/// A store row: account id, subject record as stored JSON, disabled.
type AccountText = (String, String, bool);

/// What the deciding workers share, read only.
struct Plan<'a> {
    sim: &'a Simulation,
    j: &'a Jurisdictions,
    licences: &'a LicenceIndex,
    accounts: &'a Accounts,
    prepared: &'a [PreparedRequest],
    by_account: &'a ByAccount,
}

/// One deciding worker's results.
#[derive(Default)]
struct Decided {
    tally: TrafficTally,
    /// Numbers of the logged accounts whose record it read and replayed.
    found: Vec<u32>,
}

impl Plan<'_> {
    fn decide(&self, chunk: Vec<AccountText>, out: &mut Decided) {
        for (id, text, _disabled) in chunk {
            // A disabled account is replayed too: its logged requests still
            // show what the proposed set would have done to that traffic.
            let Some(n) = self.accounts.get(&id) else {
                continue;
            };
            let subject = SubjectRecord::from_json(&text).and_then(|r| r.into_subject(self.j));
            // An unreadable record leaves the account unfound: its
            // decisions count as skipped for an unknown account.
            let Ok(mut subject) = subject else { continue };
            subject.id = Some(id.clone());
            self.licences.attach(&mut subject);
            let shapes = self
                .by_account
                .of(n)
                .iter()
                .filter_map(|(shape, outcomes)| {
                    self.prepared.get(*shape as usize).map(|p| (p, *outcomes))
                });
            self.sim
                .replay_account(&id, &subject, shapes, &mut out.tally);
            out.found.push(n);
        }
    }
}

/// Reads the store on this thread and decides each logged account's shapes
/// on [`WORKERS`] threads as its record comes by.
fn decide(
    counts: Counts,
    sim: &Simulation,
    store: &SqliteStore,
    j: &Jurisdictions,
    licences: &LicenceIndex,
) -> Result<TrafficTally> {
    let prepared: Vec<PreparedRequest> = counts
        .shapes
        .iter()
        .map(|s| sim.prepare(&s.logged()))
        .collect();
    let by_account = ByAccount::new(counts.accounts.len(), counts.pairs);
    let plan = Plan {
        sim,
        j,
        licences,
        accounts: &counts.accounts,
        prepared: &prepared,
        by_account: &by_account,
    };
    let (jobs, job_rx) = mpsc::sync_channel::<Vec<AccountText>>(2 * WORKERS);
    let job_rx = Mutex::new(job_rx);
    let (scanned, shares) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Decided::default();
                    loop {
                        let next = match job_rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(chunk) = next else { break };
                        plan.decide(chunk, &mut out);
                    }
                    out
                })
            })
            .collect();
        let scanned = store.for_each_account_text_chunk(CHUNK, |chunk| -> Result<()> {
            jobs.send(chunk)
                .map_err(|_| anyhow!("the replay workers stopped unexpectedly"))
        });
        drop(jobs);
        let shares: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (scanned, shares)
    });
    scanned.context("cannot read the accounts for the replay")?;
    let mut tally = TrafficTally::default();
    let mut found = vec![false; counts.accounts.len()];
    for share in shares {
        let share = share.map_err(|_| anyhow!("a replay worker stopped unexpectedly"))?;
        tally.merge(share.tally);
        for n in share.found {
            if let Some(f) = found.get_mut(n as usize) {
                *f = true;
            }
        }
    }
    let unknown: u64 = (0u32..)
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(n, _)| by_account.of(n).iter().map(|(_, o)| o.total()).sum::<u64>())
        .sum();
    tally.skip(Skip::UnknownAccount, unknown);
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_age_or_a_time() {
        let now: Timestamp = "2026-02-01T00:00:00Z".parse().unwrap();
        let parse_since = |s| crate::commands::time_or_age("--since", s, now);
        let t = |s| parse_since(s).ok().map(|t| t.to_string());
        assert_eq!(t("24h").as_deref(), Some("2026-01-31T00:00:00Z"));
        assert_eq!(t("7d").as_deref(), Some("2026-01-25T00:00:00Z"));
        assert_eq!(t("90m").as_deref(), Some("2026-01-31T22:30:00Z"));
        assert_eq!(
            t("2025-03-01T12:00:00+02:00").as_deref(),
            Some("2025-03-01T10:00:00Z")
        );
        for bad in ["", "d", "7", "7w", "-1h", "1.5h", "99999999999999999999d"] {
            let e = parse_since(bad).unwrap_err();
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
