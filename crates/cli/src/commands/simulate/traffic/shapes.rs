//! Counting logged decisions by account and request shape before deciding
//! any: most traffic repeats a few shapes per account, so each distinct
//! (account, shape) is decided once and counted with its multiplicity.
//!
//! Leaves are read lightly ([`leaf::read_decision_fields`]): only the
//! fields a replay reads, borrowed from the leaf bytes. The log has been
//! verified by then, so the bytes are the ones the gateway wrote; the full
//! canonical decode would only re-prove their form at several times the
//! cost.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use cordon_audit::leaf::{self, DecisionFields, FieldsRead};
use cordon_simulate::{LoggedEffect, LoggedOutcomes, LoggedRequest};
use jiff::Timestamp;

/// A multiply-rotate hasher for the interning maps: their keys are short
/// ids and small integer pairs the program made itself or read from a
/// verified log, so flooding resistance buys nothing and SipHash would be a
/// fifth of the per-leaf cost.
#[derive(Default, Clone, Copy)]
pub(super) struct Quick(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Quick {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Quick {
    fn finish(&self) -> u64 {
        // The map takes its control bits from the top: fold the low ones in.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let mut w = [0u8; 8];
        let rest = chunks.remainder();
        if let Some(dst) = w.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// A hash map keyed with [`Quick`].
pub(super) type QuickMap<K, V> = HashMap<K, V, BuildHasherDefault<Quick>>;

/// The request part of a logged decision, owned: one per distinct shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shape {
    model: String,
    endpoint: String,
    features: Vec<String>,
    client_country: Option<String>,
    client_region: Option<String>,
    anonymizer: Option<bool>,
}

impl Shape {
    /// The shape as the engine takes a logged request (with no account
    /// and an effect that does not matter to [`cordon_simulate::Simulation::prepare`]).
    pub(super) fn logged(&self) -> LoggedRequest<'_> {
        LoggedRequest {
            account: None,
            model: &self.model,
            endpoint: &self.endpoint,
            features: &self.features,
            client_country: self.client_country.as_deref(),
            client_region: self.client_region.as_deref(),
            anonymizer: self.anonymizer,
            effect: "",
        }
    }
}

/// Separates a shape key's fields; never in UTF-8 text.
const END: u8 = 0xff;
/// Stands for an absent field; never in UTF-8 text.
const NONE: u8 = 0xfe;
/// Ends each feature name; never in UTF-8 text.
const NEXT: u8 = 0xfd;

/// Writes the bytes that identify a leaf's request shape into `key`.
fn shape_key(key: &mut Vec<u8>, f: &DecisionFields<'_>) {
    key.clear();
    for field in [
        Some(&*f.model_requested),
        Some(&*f.endpoint),
        f.client_country.as_deref(),
        f.client_region.as_deref(),
    ] {
        match field {
            Some(s) => key.extend_from_slice(s.as_bytes()),
            None => key.push(NONE),
        }
        key.push(END);
    }
    key.push(match f.anonymizer {
        None => b'-',
        Some(false) => b'0',
        Some(true) => b'1',
    });
    for name in f.features.iter() {
        key.extend_from_slice(name.as_bytes());
        key.push(NEXT);
    }
}

/// One worker's counts, and after [`Counts::merge`] everyone's.
#[derive(Default)]
pub(super) struct Counts {
    /// Account id → its number.
    pub(super) accounts: Accounts,
    /// Shape key → its number, which indexes `shapes`.
    keys: QuickMap<Box<[u8]>, u32>,
    /// Every distinct shape, by number.
    pub(super) shapes: Vec<Shape>,
    /// (account, shape) → logged outcomes.
    pub(super) pairs: QuickMap<(u32, u32), LoggedOutcomes>,
    /// Decisions logged without an account.
    pub(super) no_account: u64,
    /// Time of the first and last decision counted.
    pub(super) first: Option<Timestamp>,
    pub(super) last: Option<Timestamp>,
    /// Leaves this version cannot decode.
    pub(super) undecodable: u64,
    /// Decisions counted whose time does not parse (only without `since`,
    /// which passes over them).
    pub(super) undated: u64,
    /// Scratch for shape keys.
    key: Vec<u8>,
}

/// Why a leaf was not counted.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Counted,
    /// An admin leaf, or a decision before `--since`.
    Passed,
    Undecodable,
}

impl Counts {
    /// Counts one leaf (decisions from `since` on; admin leaves are passed over).
    pub(super) fn leaf(&mut self, data: &[u8], since: Option<Timestamp>) {
        if self.count(data, since) == Outcome::Undecodable {
            self.undecodable += 1;
        }
    }

    fn count(&mut self, data: &[u8], since: Option<Timestamp>) -> Outcome {
        let f = match leaf::read_decision_fields(data) {
            FieldsRead::Decision(f) => f,
            FieldsRead::Admin => return Outcome::Passed,
            FieldsRead::Undecodable => return Outcome::Undecodable,
        };
        let time = leaf::parse_time(&f.time);
        if let Some(since) = since
            && time.is_none_or(|t| t < since)
        {
            return Outcome::Passed;
        }
        match time {
            Some(t) => {
                self.first = Some(self.first.map_or(t, |f| f.min(t)));
                self.last = Some(self.last.map_or(t, |l| l.max(t)));
            }
            None => self.undated += 1,
        }
        // Behind an organisation's key the decision was about the member
        // account, and so is its replay.
        let Some(account) = f.end_user.as_deref().or(f.account.as_deref()) else {
            self.no_account += 1;
            return Outcome::Counted;
        };
        let account = self.accounts.intern(account);
        let mut key = std::mem::take(&mut self.key);
        shape_key(&mut key, &f);
        let shape = match self.keys.get(key.as_slice()) {
            Some(&n) => n,
            None => {
                let n = self.shapes.len() as u32;
                self.keys.insert(Box::from(key.as_slice()), n);
                self.shapes.push(Shape {
                    model: f.model_requested.to_string(),
                    endpoint: f.endpoint.to_string(),
                    features: f.features.iter().map(str::to_owned).collect(),
                    client_country: f.client_country.as_deref().map(str::to_owned),
                    client_region: f.client_region.as_deref().map(str::to_owned),
                    anonymizer: f.anonymizer,
                });
                n
            }
        };
        self.key = key;
        self.pairs
            .entry((account, shape))
            .or_default()
            .add(LoggedEffect::of(&f.effect), 1);
        Outcome::Counted
    }

    /// Adds another worker's counts to these, renumbering its accounts and
    /// shapes into this one's.
    pub(super) fn merge(&mut self, other: Counts) {
        let mut accounts = vec![0u32; other.accounts.len()];
        for (id, n) in other.accounts.iter() {
            let mine = self.accounts.intern(id);
            if let Some(slot) = accounts.get_mut(n as usize) {
                *slot = mine;
            }
        }
        let mut shapes = vec![0u32; other.keys.len()];
        let mut theirs: Vec<Option<Shape>> = other.shapes.into_iter().map(Some).collect();
        for (key, n) in other.keys {
            let mine = match self.keys.get(&key) {
                Some(&m) => m,
                None => {
                    let m = self.shapes.len() as u32;
                    let shape = theirs.get_mut(n as usize).and_then(Option::take);
                    if let Some(shape) = shape {
                        self.shapes.push(shape);
                        self.keys.insert(key, m);
                    }
                    m
                }
            };
            if let Some(slot) = shapes.get_mut(n as usize) {
                *slot = mine;
            }
        }
        self.pairs.reserve(other.pairs.len());
        for ((a, s), o) in other.pairs {
            let a = accounts.get(a as usize).copied().unwrap_or(a);
            let s = shapes.get(s as usize).copied().unwrap_or(s);
            let mine = self.pairs.entry((a, s)).or_default();
            mine.allowed += o.allowed;
            mine.refused += o.refused;
            mine.other += o.other;
        }
        self.no_account += other.no_account;
        self.first = [self.first, other.first].into_iter().flatten().min();
        self.last = [self.last, other.last].into_iter().flatten().max();
        self.undecodable += other.undecodable;
        self.undated += other.undated;
    }
}

/// The longest account id kept inline in [`Accounts`].
const INLINE: usize = 23;

/// Account ids numbered in the order first seen.
///
/// Ids of up to [`INLINE`] bytes (all the gateway issues) are keys stored
/// in the map's own slots, so a lookup compares them where it found the
/// slot: a boxed key would cost a second cache miss per leaf to reach its
/// bytes, with a million accounts far beyond the cache.
#[derive(Default)]
pub(super) struct Accounts {
    /// Length, then the id, zero-padded.
    short: QuickMap<[u8; INLINE + 1], u32>,
    long: QuickMap<Box<str>, u32>,
}

impl Accounts {
    fn inline(id: &str) -> Option<[u8; INLINE + 1]> {
        let bytes = id.as_bytes();
        let mut key = [0u8; INLINE + 1];
        let (len, rest) = key.split_first_mut()?;
        *len = u8::try_from(bytes.len())
            .ok()
            .filter(|&n| usize::from(n) <= INLINE)?;
        rest.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(key)
    }

    /// How many accounts.
    pub(super) fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    /// The number of account `id`, if it was seen.
    pub(super) fn get(&self, id: &str) -> Option<u32> {
        match Self::inline(id) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(id).copied(),
        }
    }

    /// The number of account `id`, given the next one if it is new.
    pub(super) fn intern(&mut self, id: &str) -> u32 {
        let n = self.len() as u32;
        match Self::inline(id) {
            Some(key) => *self.short.entry(key).or_insert(n),
            None => match self.long.get(id) {
                Some(&m) => m,
                None => {
                    self.long.insert(Box::from(id), n);
                    n
                }
            },
        }
    }

    /// Every id with its number, in no particular order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, u32)> + '_ {
        let short = self.short.iter().filter_map(|(key, &n)| {
            let (len, rest) = key.split_first()?;
            let id = std::str::from_utf8(rest.get(..usize::from(*len))?).ok()?;
            Some((id, n))
        });
        short.chain(self.long.iter().map(|(id, &n)| (&**id, n)))
    }
}

/// Each account's shapes, laid out contiguously by account number.
pub(super) struct ByAccount {
    /// Account number `a`'s entries are `entries[starts[a]..starts[a + 1]]`.
    starts: Vec<usize>,
    entries: Vec<(u32, LoggedOutcomes)>,
}

impl ByAccount {
    /// Lays out `pairs` for `accounts` accounts, emptying the map as it goes.
    pub(super) fn new(accounts: usize, pairs: QuickMap<(u32, u32), LoggedOutcomes>) -> ByAccount {
        let mut starts = vec![0usize; accounts + 1];
        for &(a, _) in pairs.keys() {
            if let Some(s) = starts.get_mut(a as usize + 1) {
                *s += 1;
            }
        }
        for k in 1..starts.len() {
            let before = starts.get(k - 1).copied().unwrap_or(0);
            if let Some(s) = starts.get_mut(k) {
                *s += before;
            }
        }
        let mut next = starts.clone();
        let mut entries = vec![(0u32, LoggedOutcomes::default()); pairs.len()];
        for ((a, s), o) in pairs {
            if let Some(at) = next.get_mut(a as usize)
                && let Some(e) = entries.get_mut(*at)
            {
                *e = (s, o);
                *at += 1;
            }
        }
        ByAccount { starts, entries }
    }

    /// Account number `account`'s shapes and their outcomes.
    pub(super) fn of(&self, account: u32) -> &[(u32, LoggedOutcomes)] {
        let a = account as usize;
        match (self.starts.get(a), self.starts.get(a + 1)) {
            (Some(&from), Some(&to)) => self.entries.get(from..to).unwrap_or_default(),
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests;
