//! Streaming the store through the simulation: the store is read in chunks
//! on this thread while [`WORKERS`] threads decide them, each into its own
//! tally; notify rows come back per chunk and are written in id order.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use cordon_jurisdiction::Jurisdictions;
use cordon_simulate::{NotifyRow, Simulation, Tally, notify_csv, notify_rows};
use cordon_store::{LicenceIndex, SqliteStore};
use cordon_subject::SubjectRecord;

/// Accounts read from the store at a time.
const CHUNK: usize = 4096;
/// Worker threads deciding accounts.
const WORKERS: usize = 2;
/// Unreadable accounts named in the notes.
pub(super) const NAMED_UNREADABLE: usize = 5;

/// What the scan found.
pub(super) struct Scanned {
    pub(super) tally: Tally,
    /// The notify file, every row written, not yet synced.
    pub(super) notify: Option<BufWriter<File>>,
    /// Notify rows written.
    pub(super) notify_rows: u64,
    /// Accounts whose record could not be read or turned into a subject.
    pub(super) unreadable: u64,
    /// The first few of them in id order, with why.
    pub(super) unreadable_named: Vec<(String, String)>,
    /// Disabled accounts, left out of the simulation.
    pub(super) disabled: u64,
    pub(super) took: Duration,
}

/// A store row: account id, subject record as stored JSON, disabled.
type Row = (String, String, bool);

/// A chunk of accounts, numbered so its notify rows can be put back in order.
type Job = (u64, Vec<Row>);

/// A decided chunk: its number, its size, and its notify rows (count, CSV).
type Done = (u64, usize, u64, Vec<u8>);

/// One worker's share.
#[derive(Default)]
struct Share {
    tally: Tally,
    unreadable: u64,
    /// Kept short: only the smallest ids are ever shown.
    unreadable_named: Vec<(String, String)>,
    disabled: u64,
}

impl Share {
    fn unreadable(&mut self, id: String, why: String) {
        self.unreadable += 1;
        self.unreadable_named.push((id, why));
        if self.unreadable_named.len() > 4 * NAMED_UNREADABLE {
            self.unreadable_named.sort();
            self.unreadable_named.truncate(NAMED_UNREADABLE);
        }
    }

    /// Decides one chunk; returns its notify rows (none unless `notify`):
    /// how many, and as CSV.
    fn decide(
        &mut self,
        chunk: Vec<Row>,
        sim: &Simulation,
        j: &Jurisdictions,
        licences: &LicenceIndex,
        notify: bool,
    ) -> Result<(u64, Vec<u8>)> {
        let mut rows: Vec<NotifyRow> = Vec::new();
        for (id, text, disabled) in chunk {
            // Parsed here rather than by the store, so the parsing, most of
            // a scan's cost, runs on the workers.
            let subject = SubjectRecord::from_json(&text).and_then(|r| r.into_subject(j));
            let mut subject = match subject {
                Ok(s) => s,
                Err(e) => {
                    self.unreadable(id, e.to_string());
                    continue;
                }
            };
            subject.id = Some(id.clone());
            licences.attach(&mut subject);
            if disabled {
                self.disabled += 1;
            } else if !notify {
                sim.count(&subject, &mut self.tally);
            } else if let Some(impact) = sim.account(&id, &subject, &mut self.tally) {
                rows.extend(notify_rows(sim, &impact));
            }
        }
        if rows.is_empty() {
            return Ok((0, Vec::new()));
        }
        // The engine's CSV, without its header line, so the file is exactly
        // what `notify_csv` would write for all rows at once.
        let csv = notify_csv(&rows);
        let body = csv.get(notify_header().len()..).unwrap_or_default();
        Ok((rows.len() as u64, body.as_bytes().to_vec()))
    }

    fn merge(&mut self, o: Share) {
        self.tally.merge(o.tally);
        self.unreadable += o.unreadable;
        self.unreadable_named.extend(o.unreadable_named);
        self.disabled += o.disabled;
    }
}

/// The notify CSV's header line, as the engine writes it.
fn notify_header() -> String {
    notify_csv(&[])
}

/// Writes decided chunks' rows in chunk order as they arrive out of order.
struct InOrder {
    out: Option<BufWriter<File>>,
    next: u64,
    waiting: BTreeMap<u64, Vec<u8>>,
    rows: u64,
}

impl InOrder {
    fn take(&mut self, (k, _, n, rows): Done) -> Result<()> {
        self.rows += n;
        self.waiting.insert(k, rows);
        while let Some(rows) = self.waiting.remove(&self.next) {
            if let Some(out) = &mut self.out {
                out.write_all(&rows)
                    .context("cannot write the notify file")?;
            }
            self.next += 1;
        }
        Ok(())
    }
}

/// Runs every account of `store` through `sim`, each with the licences
/// `licences` attaches to it as the gateway would, writing notify rows, in
/// account order, to `notify` when given.
pub(super) fn scan(
    store: &SqliteStore,
    sim: &Simulation,
    j: &Jurisdictions,
    licences: &LicenceIndex,
    notify_out: Option<BufWriter<File>>,
    bar: &indicatif::ProgressBar,
) -> Result<Scanned> {
    let started = Instant::now();
    let notify = notify_out.is_some();
    let mut order = InOrder {
        out: notify_out,
        next: 0,
        waiting: BTreeMap::new(),
        rows: 0,
    };
    if let Some(out) = &mut order.out {
        out.write_all(notify_header().as_bytes())
            .context("cannot write the notify file")?;
    }
    let (jobs, job_rx) = mpsc::sync_channel::<Job>(2 * WORKERS);
    let job_rx = Mutex::new(job_rx);
    // Unbounded, so a worker never waits on this thread while it waits on
    // the workers; it holds at most the chunks in flight.
    let (done_tx, done) = mpsc::channel::<Result<Done>>();
    let (scanned, shares) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let done_tx = done_tx.clone();
                let job_rx = &job_rx;
                s.spawn(move || {
                    let mut share = Share::default();
                    loop {
                        let next = match job_rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok((k, chunk)) = next else { break };
                        let n = chunk.len();
                        let rows = share
                            .decide(chunk, sim, j, licences, notify)
                            .map(|(rows, csv)| (k, n, rows, csv));
                        if done_tx.send(rows).is_err() {
                            break;
                        }
                    }
                    share
                })
            })
            .collect();
        drop(done_tx);
        let drain = |order: &mut InOrder, block: bool| -> Result<()> {
            loop {
                let next = if block {
                    done.recv().ok()
                } else {
                    done.try_recv().ok()
                };
                let Some(d) = next else { return Ok(()) };
                let d = d?;
                bar.inc(d.1 as u64);
                order.take(d)?;
            }
        };
        let mut k = 0u64;
        let scanned = store.for_each_account_text_chunk(CHUNK, |chunk| -> Result<()> {
            jobs.send((k, chunk))
                .map_err(|_| anyhow!("the simulation workers stopped unexpectedly"))?;
            k += 1;
            drain(&mut order, false)
        });
        drop(jobs);
        let drained = drain(&mut order, true);
        let shares: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        (scanned.and(drained), shares)
    });
    scanned.context("cannot read the accounts")?;
    let mut total = Share::default();
    for share in shares {
        total.merge(share.map_err(|_| anyhow!("a simulation worker stopped unexpectedly"))?);
    }
    total.unreadable_named.sort();
    total.unreadable_named.truncate(NAMED_UNREADABLE);
    Ok(Scanned {
        tally: total.tally,
        notify: order.out,
        notify_rows: order.rows,
        unreadable: total.unreadable,
        unreadable_named: total.unreadable_named,
        disabled: total.disabled,
        took: started.elapsed(),
    })
}
