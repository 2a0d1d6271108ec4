//! Preparing a query: its tokens, their weights and the entry tokens each is
//! similar to.

use std::cell::RefCell;

use crate::normalize::{self, Role};

use super::index::{Index, VocabToken, token_weight};
use super::{TOKEN_CUTOFF, jaro, keys};

/// Similarity of two tokens with the same phonetic form but different
/// spellings.
pub(crate) const PHONETIC_SIMILARITY: f64 = 0.95;

/// The highest similarity of two tokens that are merely alike.
const FUZZY_CEILING: f64 = 0.94;

/// Similarity of an Arabic- or Hebrew-script word to an entry token with the
/// same consonants.
const ABJAD_SIMILARITY: f64 = 0.9;

/// Similarity of a query token to two adjacent entry tokens that spell it
/// (and of two query tokens to one): the space is the only difference.
pub(crate) const JOIN_SIMILARITY: f64 = 0.98;

/// The shortest token compared fuzzily; shorter ones must be spelled alike.
const MIN_FUZZY_LEN: usize = 4;

/// A token to look up, with its keys.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) text: String,
    pub(crate) phonetic: String,
    pub(crate) skeleton: String,
    pub(crate) role: Role,
    pub(crate) abjad: bool,
}

impl Key {
    pub(crate) fn new(text: String, role: Role, abjad: bool) -> Key {
        Key {
            phonetic: keys::phonetic(&text),
            skeleton: keys::skeleton(&text),
            text,
            role,
            abjad,
        }
    }
}

/// How alike a query token and an entry token are, 0 when not at all.
pub(crate) fn similarity(q: &Key, v: &VocabToken) -> f64 {
    similarity_parts(q, &v.text, &v.phonetic, &v.skeleton, v.role)
}

/// [`similarity`] against a token given by its parts.
pub(crate) fn similarity_parts(
    q: &Key,
    text: &str,
    phonetic: &str,
    skeleton: &str,
    role: Role,
) -> f64 {
    if q.text == text {
        return 1.0;
    }
    if q.role == Role::Digits || role == Role::Digits {
        return 0.0;
    }
    if q.abjad {
        return if q.skeleton.len() >= 2 && q.skeleton == skeleton {
            ABJAD_SIMILARITY
        } else {
            0.0
        };
    }
    // Short tokens sound alike too easily (`OAK`, `UAC`): they must also
    // begin with the same letter.
    if q.phonetic == phonetic
        && q.phonetic.len() >= 2
        && (q.text.len().min(text.len()) >= MIN_FUZZY_LEN
            || q.text.as_bytes().first() == text.as_bytes().first())
    {
        return PHONETIC_SIMILARITY;
    }
    if q.text.len().min(text.len()) < MIN_FUZZY_LEN {
        return 0.0;
    }
    // Spelled alike usually scores higher; a typo that breaks a digraph
    // (`LIERTY` for `LIBERTY`) scores higher as written.
    let s = fuzzy(q.phonetic.as_bytes(), phonetic.as_bytes())
        .max(fuzzy(q.text.as_bytes(), text.as_bytes()))
        .min(FUZZY_CEILING);
    if s >= TOKEN_CUTOFF { s } else { 0.0 }
}

/// Jaro–Winkler and edit similarity blended (two to three), less
/// [`FIRST_LETTER_PENALTY`] when the first letters differ; 0 when it cannot
/// reach [`TOKEN_CUTOFF`] (the edit distance is skipped then).
///
/// Jaro–Winkler alone rates a shared prefix or a shared core highly
/// (`YEVGENIY` against the patronymic `YEVGENYEVICH`, `BELLETECH` against
/// `ELITE`); the edit distance keeps such pairs apart.
fn fuzzy(a: &[u8], b: &[u8]) -> f64 {
    let penalty = if a.first() == b.first() {
        0.0
    } else {
        FIRST_LETTER_PENALTY
    };
    let jw = jaro::jaro_winkler(a, b);
    if JW_SHARE * jw + (1.0 - JW_SHARE) - penalty < TOKEN_CUTOFF {
        return 0.0;
    }
    JW_SHARE * jw + (1.0 - JW_SHARE) * jaro::edit_similarity(a, b) - penalty
}

/// The share of Jaro–Winkler in [`fuzzy`]; edit similarity has the rest.
const JW_SHARE: f64 = 0.4;

/// What differing first letters cost: spelling variants and typos mostly
/// keep the first letter, and the phonetic form already unifies the
/// transliterations that do not (`YEVGENIY`/`EVGENY`, `QADHAFI`/`KADAFI`).
const FIRST_LETTER_PENALTY: f64 = 0.05;

/// Entry tokens similar to one query token (or joined pair): sorted by slot.
#[derive(Debug, Default, Clone)]
pub(crate) struct Matches(Vec<(u32, f64)>);

impl Matches {
    /// The similarity to a vocabulary slot, 0 if not similar.
    pub(crate) fn get(&self, slot: u32) -> f64 {
        match self.0.binary_search_by_key(&slot, |&(s, _)| s) {
            Ok(i) => self.0.get(i).map_or(0.0, |&(_, sim)| sim),
            Err(_) => 0.0,
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.0.iter().copied()
    }

    pub(crate) fn best(&self) -> Option<(u32, f64)> {
        self.0
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }
}

/// One query token, prepared.
#[derive(Debug)]
pub(crate) struct QueryToken {
    pub(crate) key: Key,
    /// Rarity times role factor: the entry token's when the query token is
    /// one, else that of its most similar entry token, else that of a token
    /// of a single name.
    pub(crate) weight: f64,
    pub(crate) matches: Matches,
}

/// Two adjacent query tokens joined, and the entry tokens similar to the join.
#[derive(Debug)]
pub(crate) struct Joined {
    /// The first of the two query tokens.
    pub(crate) first: usize,
    pub(crate) matches: Matches,
}

/// A query token that is two entry tokens written together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    pub(crate) token: usize,
    pub(crate) left: u32,
    pub(crate) right: u32,
}

/// A prepared query.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) tokens: Vec<QueryToken>,
    pub(crate) joined: Vec<Joined>,
    pub(crate) splits: Vec<Split>,
    pub(crate) weight: f64,
}

impl Prepared {
    pub(crate) fn new(index: &Index, name: &str) -> Prepared {
        let normalized = normalize::normalize(name);
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => prepare(index, normalized, &mut scratch),
            Err(_) => prepare(index, normalized, &mut Scratch::default()),
        })
    }

    /// Whether any query token is a word or digits.
    pub(crate) fn informative(&self) -> bool {
        self.tokens.iter().any(|t| t.key.role.is_informative())
    }
}

fn prepare(index: &Index, normalized: normalize::Normalized, scratch: &mut Scratch) -> Prepared {
    let mut tokens: Vec<QueryToken> = normalized
        .tokens
        .into_iter()
        .map(|t| {
            let key = Key::new(t.text, t.role, t.abjad);
            let matches = lookup(index, &key, scratch);
            let weight = match index.by_text.get(key.text.as_str()) {
                Some(&slot) => index.weight(slot),
                None => match matches
                    .best()
                    .and_then(|(slot, _)| index.vocab.get(slot as usize))
                {
                    // A variant spelling of an entry token is as rare as it.
                    Some(v) if v.role == key.role => v.weight,
                    _ => token_weight(key.role, index.unknown_weight),
                },
            };
            QueryToken {
                key,
                weight,
                matches,
            }
        })
        .collect();
    tokens.shrink_to_fit();

    let mut joined = Vec::new();
    for (first, pair) in tokens.windows(2).enumerate() {
        let [a, b] = pair else { continue };
        let joinable = |r: Role| matches!(r, Role::Word | Role::Generic);
        if !(joinable(a.key.role) && joinable(b.key.role))
            || !(a.key.role == Role::Word || b.key.role == Role::Word)
            || a.key.abjad
            || b.key.abjad
        {
            continue;
        }
        let text = format!("{}{}", a.key.text, b.key.text);
        let key = Key::new(text, Role::Word, false);
        let matches = lookup(index, &key, scratch);
        if !matches.0.is_empty() {
            joined.push(Joined { first, matches });
        }
    }

    let mut splits = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        if t.key.role != Role::Word || t.key.abjad || t.key.text.len() < 5 {
            continue;
        }
        let text = t.key.text.as_str();
        for cut in 2..text.len() - 1 {
            let (Some(l), Some(r)) = (text.get(..cut), text.get(cut..)) else {
                continue;
            };
            if let (Some(&left), Some(&right)) = (index.by_text.get(l), index.by_text.get(r)) {
                splits.push(Split {
                    token: i,
                    left,
                    right,
                });
            }
        }
    }

    let weight = tokens.iter().map(|t| t.weight).sum();
    Prepared {
        tokens,
        joined,
        splits,
        weight,
    }
}

/// The entry tokens similar to a key.
fn lookup(index: &Index, key: &Key, scratch: &mut Scratch) -> Matches {
    let mut found: Vec<(u32, f64)> = Vec::new();
    if let Some(&slot) = index.by_text.get(key.text.as_str()) {
        found.push((slot, 1.0));
    }
    let fuzzy = key.role == Role::Word;
    if fuzzy {
        let consider = |slot: u32, found: &mut Vec<(u32, f64)>| {
            if let Some(v) = index.vocab.get(slot as usize) {
                let s = similarity(key, v);
                if s > 0.0 {
                    found.push((slot, s));
                }
            }
        };
        if key.skeleton.len() >= if key.abjad { 2 } else { 3 }
            && let Some(slots) = index.by_skeleton.get(key.skeleton.as_str())
        {
            for &slot in slots {
                consider(slot, &mut found);
            }
        }
        if !key.abjad {
            trigram_candidates(index, key, scratch);
            for &slot in &scratch.candidates {
                consider(slot, &mut found);
            }
        }
    }
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    found.dedup_by_key(|&mut (slot, _)| slot);
    Matches(found)
}

/// Fills `scratch.candidates` with the vocabulary slots that share enough
/// trigrams of their phonetic forms with the key's to be worth comparing.
///
/// A slot must share at least two fifths of the larger trigram count (and at
/// least two). Prefix filtering keeps this cheap: a slot sharing `need` of
/// the key's `n` trigrams has one among its `n - need + 1` rarest, so only
/// those posting rows add slots; the others only count for slots found.
fn trigram_candidates(index: &Index, key: &Key, scratch: &mut Scratch) {
    scratch.candidates.clear();
    scratch.grams.clear();
    keys::trigrams(&key.phonetic, &mut scratch.grams);
    let ours = scratch.grams.len();
    let need_min = (ours * 2).div_ceil(5).max(2);
    if ours < need_min {
        return;
    }
    scratch
        .grams
        .sort_unstable_by_key(|&g| index.trigrams.row(g as usize).len());
    let probe = ours + 1 - need_min;
    scratch.hits.resize(index.vocab.len(), 0);
    scratch.touched.clear();
    let (rare, common) = scratch.grams.split_at(probe.min(ours));
    for &g in rare {
        for &slot in index.trigrams.row(g as usize) {
            if let Some(h) = scratch.hits.get_mut(slot as usize) {
                if *h == 0 {
                    scratch.touched.push(slot);
                }
                *h = h.saturating_add(1);
            }
        }
    }
    for &g in common {
        for &slot in index.trigrams.row(g as usize) {
            if let Some(h) = scratch.hits.get_mut(slot as usize)
                && *h > 0
            {
                *h = h.saturating_add(1);
            }
        }
    }
    let plen = key.phonetic.len();
    for &slot in &scratch.touched {
        let Some(h) = scratch.hits.get_mut(slot as usize) else {
            continue;
        };
        let shared = usize::from(*h);
        *h = 0;
        // Most slots share a trigram or two: reject them before reading the
        // vocabulary entry.
        if shared < need_min {
            continue;
        }
        let Some(v) = index.vocab.get(slot as usize) else {
            continue;
        };
        let need = (ours.max(usize::from(v.trigrams)) * 2).div_ceil(5).max(2);
        if shared >= need && v.phonetic.len().abs_diff(plen) <= 3 {
            scratch.candidates.push(slot);
        }
    }
}

/// Per-thread buffers reused across queries.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    grams: Vec<u32>,
    hits: Vec<u16>,
    touched: Vec<u32>,
    candidates: Vec<u32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}
