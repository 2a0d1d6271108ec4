//! The impact simulation of a proposed directive change against the
//! accounts in the store as they are, as `cordon simulate` reports it: who
//! loses access, who gains it, who must verify.
//!
//! A run reads every account, so it is kept, one per proposal, and run
//! again only when the store or the set in force has changed since
//! ([`Run::is_current`]). Reading is not a change: runs are not journaled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use base64::Engine as _;
use cordon_jurisdiction::Jurisdictions;
use cordon_policy::Policy;
use cordon_simulate::{Report, ReportInputs, Simulation, Tally};
use cordon_subject::SubjectRecord;
use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::Records;
use crate::records::AccountText;

/// Why a simulation could not be run.
#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    /// The store could not be read.
    #[error("cannot read the identity store: {0}")]
    Store(#[from] cordon_store::StoreError),
    /// The two sets cannot be compared.
    #[error("cannot compare the directive sets: {0}")]
    Compare(#[from] cordon_simulate::SimulateError),
    /// The thread deciding the accounts stopped unexpectedly.
    #[error("the simulation stopped unexpectedly")]
    Stopped,
}

/// One simulation of a proposal, with what it ran against.
#[derive(Debug)]
pub struct Run {
    /// The store's version when it was read ([`cordon_store::IdentityStore::version`]).
    pub store_version: u64,
    /// The policy version of the set in force it was compared with.
    pub baseline_version: String,
    /// When it ran.
    pub ran_at: Timestamp,
    /// How long it took.
    pub took: Duration,
    /// Accounts whose record could not be read, left out.
    pub unreadable: u64,
    /// The report.
    pub report: Report,
    /// The report as its own HTML page ([`cordon_simulate::html::render`]).
    pub html: String,
    /// The CSP source (`'sha256-…'`) of the page's one `<style>` element,
    /// so the page may be served with that style and no other.
    pub style_source: String,
}

impl Run {
    /// Whether the run still describes the store at `store_version` under
    /// the set in force `baseline_version`.
    pub fn is_current(&self, store_version: u64, baseline_version: &str) -> bool {
        self.store_version == store_version && self.baseline_version == baseline_version
    }
}

/// The latest run of each proposal.
#[derive(Debug, Default)]
pub struct Simulations {
    runs: Mutex<HashMap<u64, Arc<Run>>>,
}

impl Simulations {
    /// The latest run of proposal `id`, current or not.
    pub fn latest(&self, id: u64) -> Option<Arc<Run>> {
        match self.runs.lock() {
            Ok(r) => r.get(&id).cloned(),
            Err(poisoned) => poisoned.into_inner().get(&id).cloned(),
        }
    }

    /// Forgets proposal `id`'s runs, once it is decided.
    pub fn forget(&self, id: u64) {
        match self.runs.lock() {
            Ok(mut r) => r.remove(&id),
            Err(poisoned) => poisoned.into_inner().remove(&id),
        };
    }

    /// Keeps `run` as proposal `id`'s latest.
    pub fn keep(&self, id: u64, run: Arc<Run>) {
        match self.runs.lock() {
            Ok(mut r) => r.insert(id, run),
            Err(poisoned) => poisoned.into_inner().insert(id, run),
        };
    }
}

/// What a simulation compares.
pub struct Compared<'a> {
    /// The set in force.
    pub baseline: Arc<Policy>,
    /// The set with the proposal applied.
    pub proposed: Arc<Policy>,
    /// How the report names the proposed set.
    pub label: &'a str,
}

/// Runs the simulation of `sets` over every account of `records`, each
/// with the licences it holds, at `now` (or when the proposed set's first
/// new directive takes effect, if nothing changes before).
///
/// # Errors
/// [`SimulationError`] naming what could not be read or compared.
pub fn run(
    records: &dyn Records,
    sets: Compared<'_>,
    jurisdictions: &Jurisdictions,
    now: Timestamp,
) -> Result<Run, SimulationError> {
    let started = Instant::now();
    // Read before the scan: a change during it makes the run stale, never
    // a stale run current.
    let store_version = records.version()?;
    let baseline_version = sets.baseline.version().to_owned();
    let (sim, moved) = Simulation::at_first_change(sets.baseline, sets.proposed, now)?;
    let sim = sim.with_notice_from(now);
    let licences = records.licence_index()?;
    // The store is read on this thread and decided on another: a SQLite
    // store stays locked while it is read, so only for the reading.
    let (chunks, decide) = mpsc::sync_channel::<Vec<AccountText>>(2);
    let (sim, licences) = (&sim, &licences);
    let (scanned, decided) = std::thread::scope(|s| {
        let worker = s.spawn(move || {
            let mut tally = Tally::default();
            let mut unreadable = 0u64;
            for (id, text, disabled) in decide.into_iter().flatten() {
                let Ok(mut subject) =
                    SubjectRecord::from_json(&text).and_then(|r| r.into_subject(jurisdictions))
                else {
                    unreadable += 1;
                    continue;
                };
                if disabled {
                    continue;
                }
                subject.id = Some(id);
                licences.attach(&mut subject);
                sim.count(&subject, &mut tally);
            }
            (tally, unreadable)
        });
        // A send fails only when the worker has stopped; its join says why.
        let scanned = records.scan(&mut |chunk| {
            let _ = chunks.send(chunk);
            Ok(())
        });
        drop(chunks);
        (scanned, worker.join())
    });
    scanned?;
    let (tally, unreadable) = decided.map_err(|_| SimulationError::Stopped)?;
    let inputs = ReportInputs {
        baseline_label: "the directive set in force".to_owned(),
        proposed_label: sets.label.to_owned(),
        traffic: None,
    };
    let mut report = cordon_simulate::report(sim, tally, None, inputs);
    if let Some(first) = moved {
        report.notes.insert(
            0,
            format!(
                "every changed directive is new and not yet in effect; simulated at {first}, when the first of them takes effect"
            ),
        );
    }
    if unreadable > 0 {
        report.notes.push(format!(
            "{unreadable} account record(s) could not be read and were left out"
        ));
    }
    let html = cordon_simulate::html::render(&report);
    let style_source = style_source(&html);
    Ok(Run {
        store_version,
        baseline_version,
        ran_at: now,
        took: started.elapsed(),
        unreadable,
        report,
        html,
        style_source,
    })
}

/// The CSP hash source of the first `<style>` element's text in `html`
/// (CSP Level 3, "hash-source"); of the empty text when there is none.
fn style_source(html: &str) -> String {
    let text = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map_or("", |(text, _)| text);
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test fixtures")]

    use super::*;

    #[test]
    fn the_style_hash_is_of_the_style_element_s_text_alone() {
        let page = "<head><style>\nb{color:red}\n</style></head><p style=\"x\">";
        let expected =
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"\nb{color:red}\n"));
        assert_eq!(style_source(page), format!("'sha256-{expected}'"));
        assert_ne!(style_source(page), style_source("<style>b{}</style>"));
    }
}
