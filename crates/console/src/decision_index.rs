//! What the console keeps of each decision in the audit log, so that a
//! search reads a compact row per decision instead of decoding every entry
//! again.
//!
//! Decoding a decision leaf costs about 10 µs; a search over a million
//! entries that decodes each one takes seconds. The index decodes each
//! entry once, as the log grows (the log is append-only, so what was
//! indexed never changes), and keeps the fields searches filter on, with
//! every name interned. A search scans the rows newest first and decodes
//! only the entries it shows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cordon_audit::leaf::{self, DecisionRecord, Record};
use cordon_audit_log::LogReader;

/// How many of the log's most recent entries are indexed and searched.
///
/// A row takes about 50 bytes, so the index of a full window holds about
/// 100 MB; older decisions are found with `cordon audit` tools instead.
pub const SPAN: u64 = 2_000_000;

/// The decisions among the log's last [`SPAN`] entries, as searches see
/// them.
#[derive(Default)]
pub struct DecisionIndex {
    indexed: Mutex<Option<Indexed>>,
}

/// A search: every field that is given must match.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// The account decided for.
    pub account: Option<String>,
    /// The catalog model or the name asked for.
    pub model: Option<String>,
    /// The directive that decided, or one that was consulted.
    pub directive: Option<String>,
    /// The effect (`allow`, `deny`, `verification_required`, …).
    pub effect: Option<String>,
    /// Decided at or after.
    pub since: Option<jiff::Timestamp>,
    /// Decided before.
    pub until: Option<jiff::Timestamp>,
}

/// What a search found.
#[derive(Debug)]
pub struct Found {
    /// The matching decisions, newest first, each with its entry index.
    pub decisions: Vec<(u64, DecisionRecord)>,
    /// How many entries the search covered.
    pub searched: u64,
}

/// The index of one log directory up to `next`.
struct Indexed {
    dir: PathBuf,
    /// The first entry not read yet.
    next: u64,
    rows: Vec<Row>,
    /// The directives each row consulted, `Row::consulted` indexing into it.
    consulted: Vec<u32>,
    names: Names,
}

/// One decision, its names interned ([`Names`]; 0 for none).
struct Row {
    entry: u64,
    /// Seconds since the epoch; `i64::MIN` when the time does not read.
    time: i64,
    account: u32,
    model: u32,
    model_requested: u32,
    effect: u32,
    decided_by: u32,
    consulted_at: u32,
    consulted_len: u16,
}

/// Names interned as small numbers; 0 stands for no name.
#[derive(Default)]
struct Names {
    ids: HashMap<Box<str>, u32>,
    count: u32,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        self.count += 1;
        self.ids.insert(name.into(), self.count);
        self.count
    }

    fn intern_opt(&mut self, name: Option<&str>) -> u32 {
        name.map_or(0, |n| self.intern(n))
    }

    /// The id of `name`, or `None` when no indexed decision has it (a
    /// search for it finds nothing).
    fn find(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}

impl Indexed {
    fn new(dir: &Path) -> Indexed {
        Indexed {
            dir: dir.to_path_buf(),
            next: 0,
            rows: Vec::new(),
            consulted: Vec::new(),
            names: Names::default(),
        }
    }

    /// Reads the entries appended since the last call.
    fn catch_up(&mut self, reader: &LogReader) -> Result<(), String> {
        let size = reader.size();
        let start = self.next.max(size.saturating_sub(SPAN));
        if start >= size {
            return Ok(());
        }
        reader
            .scan(start..size, |i, bytes| {
                if let Ok(Record::Decision(d)) = leaf::decode(bytes) {
                    self.add(i, &d);
                }
                std::ops::ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())?;
        self.next = size;
        self.forget_before(size.saturating_sub(SPAN));
        Ok(())
    }

    fn add(&mut self, entry: u64, d: &DecisionRecord) {
        let consulted_at = u32::try_from(self.consulted.len()).unwrap_or(u32::MAX);
        let consulted_len = u16::try_from(d.consulted.len()).unwrap_or(u16::MAX);
        for c in d.consulted.iter().take(usize::from(consulted_len)) {
            let id = self.names.intern(c);
            self.consulted.push(id);
        }
        let row = Row {
            entry,
            time: d
                .time
                .parse::<jiff::Timestamp>()
                .map_or(i64::MIN, |t| t.as_second()),
            account: self.names.intern_opt(d.account.as_deref()),
            model: self.names.intern_opt(d.model.as_deref()),
            model_requested: self.names.intern(&d.model_requested),
            effect: self.names.intern(&d.effect),
            decided_by: self.names.intern_opt(d.decided_by.as_deref()),
            consulted_at,
            consulted_len,
        };
        self.rows.push(row);
    }

    /// Drops the rows of entries before `first` once they are a tenth of
    /// the index, so the window stays [`SPAN`] without moving rows on every
    /// append.
    fn forget_before(&mut self, first: u64) {
        let old = self.rows.partition_point(|r| r.entry < first);
        if old == 0 || old < self.rows.len() / 10 {
            return;
        }
        self.rows.drain(..old);
        let keep_from = self.rows.first().map_or(self.consulted.len(), |r| {
            usize::try_from(r.consulted_at).unwrap_or(usize::MAX)
        });
        let shift = u32::try_from(keep_from).unwrap_or(u32::MAX);
        self.consulted.drain(..keep_from.min(self.consulted.len()));
        for r in &mut self.rows {
            r.consulted_at = r.consulted_at.saturating_sub(shift);
        }
    }

    fn consulted(&self, r: &Row) -> &[u32] {
        let at = usize::try_from(r.consulted_at).unwrap_or(usize::MAX);
        self.consulted
            .get(at..at.saturating_add(usize::from(r.consulted_len)))
            .unwrap_or(&[])
    }

    /// The entries of the rows `q` matches, newest first, at most `limit`.
    fn matching(&self, q: &Query, limit: usize) -> Vec<u64> {
        // A name no decision has matches nothing; `Some(None)` says so.
        let want = |name: &Option<String>| name.as_deref().map(|n| self.names.find(n));
        let (account, model, directive, effect) = (
            want(&q.account),
            want(&q.model),
            want(&q.directive),
            want(&q.effect),
        );
        if [account, model, directive, effect].contains(&Some(None)) {
            return Vec::new();
        }
        // Times are kept in whole seconds: a bound with a fraction is
        // rounded up, which for whole-second times decides as the exact
        // bound does (`t >= 10.5` and `t >= 11` agree on whole `t`).
        let ceil = |t: jiff::Timestamp| {
            t.as_second()
                .saturating_add(i64::from(t.subsec_nanosecond() > 0))
        };
        let since = q.since.map(ceil);
        let until = q.until.map(ceil);
        // Rows before the window wait to be trimmed in bulk; they are not
        // searched.
        let first = self.next.saturating_sub(SPAN);
        self.rows
            .iter()
            .rev()
            .take_while(|r| r.entry >= first)
            .filter(|r| {
                account.is_none_or(|a| Some(r.account) == a)
                    && model.is_none_or(|m| Some(r.model) == m || Some(r.model_requested) == m)
                    && directive.is_none_or(|x| {
                        Some(r.decided_by) == x || self.consulted(r).iter().any(|c| Some(*c) == x)
                    })
                    && effect.is_none_or(|e| Some(r.effect) == e)
                    && since.is_none_or(|s| r.time != i64::MIN && r.time >= s)
                    && until.is_none_or(|u| r.time != i64::MIN && r.time < u)
            })
            .take(limit)
            .map(|r| r.entry)
            .collect()
    }
}

impl DecisionIndex {
    /// Brings the index of the log in `dir` up to the log's end: the first
    /// call reads the whole window, later ones what was appended since.
    ///
    /// # Errors
    /// The reason the log could not be read.
    pub fn catch_up(&self, dir: &Path) -> Result<(), String> {
        let reader = LogReader::open(dir).map_err(|e| e.to_string())?;
        let mut indexed = self.lock();
        let index = match indexed.as_mut() {
            Some(i) if i.dir == dir => i,
            _ => indexed.insert(Indexed::new(dir)),
        };
        index.catch_up(&reader)
    }

    /// The index, locked; one left half-written by a failed catch-up is
    /// dropped and read again from the log.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Indexed>> {
        match self.indexed.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                *guard = None;
                self.indexed.clear_poison();
                guard
            }
        }
    }

    /// The decisions in the log in `dir` that `q` matches, newest first, at
    /// most `limit`, each read whole from the log.
    ///
    /// # Errors
    /// The reason the log could not be read.
    pub fn search(&self, dir: &Path, q: &Query, limit: usize) -> Result<Found, String> {
        let reader = LogReader::open(dir).map_err(|e| e.to_string())?;
        let (entries, searched) = {
            let mut indexed = self.lock();
            let index = match indexed.as_mut() {
                Some(i) if i.dir == dir => i,
                _ => indexed.insert(Indexed::new(dir)),
            };
            index.catch_up(&reader)?;
            let first = index.next.saturating_sub(SPAN);
            (index.matching(q, limit), index.next - first)
        };
        let mut decisions = Vec::with_capacity(entries.len());
        for i in entries {
            let bytes = reader.entry(i).map_err(|e| e.to_string())?;
            if let Ok(Record::Decision(d)) = leaf::decode(&bytes) {
                decisions.push((i, d));
            }
        }
        Ok(Found {
            decisions,
            searched,
        })
    }
}

#[cfg(test)]
mod tests;
