//! Candidate retrieval, alignment and scoring.

use std::cell::RefCell;

use crate::normalize::Role;

use super::explain::{adjusted, explain_tokens};
use super::index::{Index, IndexedName};
use super::query::{JOIN_SIMILARITY, Key, Prepared, similarity_parts};
use super::{
    BIRTH_YEAR_BONUS, COUNTRY_BONUS, Explanation, GENERIC_ONLY_CAP, Hit, PartyKind, Query, Screener,
};

/// The lowest similarity of a join of two tokens to one token: joins are
/// long, and long strings look alike to Jaro–Winkler more easily.
const JOINED_CUTOFF: f64 = 0.9;

/// The longest token that pairs only when spelled the same: two or three
/// letters leave Jaro–Winkler and the phonetic form nothing to tell names
/// apart by (`LI`/`LEI`, `LE`/`LI`, `ANA`/`ANNA` are different names).
pub(crate) const SHORT_TOKEN_LEN: usize = 3;

/// The lowest similarity at which a four-letter token pairs: sounding the
/// same still counts, merely alike (`RENE`/`RENO`, `PENG`/`PANG`) does not.
pub(crate) const FOUR_LETTER_SIMILARITY: f64 = 0.95;

/// The lowest similarity at which a query token (or a join of two) of
/// `len` letters may pair with an entry token of `entry_len` letters: the
/// shorter of the two sets the bar, since one short side is enough for a
/// chance likeness.
pub(crate) fn pairing_floor(len: usize, entry_len: usize) -> f64 {
    match len.min(entry_len) {
        0..=SHORT_TOKEN_LEN => 1.0,
        4 => FOUR_LETTER_SIMILARITY,
        _ => 0.0,
    }
}

/// The longest word that may be a syllable: Chinese, Korean and Vietnamese
/// names are written as syllables (`WANG`, `ZHANG`, `HOANG`, `ZHUANG`), each
/// common in the lists, so two of them matched against a name of three
/// (`WANG YING` against `WANG, Guo Ying`) is a different person more often
/// than not.
pub(crate) const SYLLABLE_LEN: usize = 6;

/// The lowest similarity at which two one-syllable words pair: sounding the
/// same (`HOANG`/`HUANG`) counts, merely alike does not, for syllables that
/// differ are different names (`JIANG`/`ZHANG`, `CHEN`/`SHENG`).
pub(crate) const SYLLABLE_SIMILARITY: f64 = 0.95;

/// The similarity under which two words of different initials are only
/// alike: with a word of the entry left over, such a pair is too little
/// evidence (`PHILLIP GOMEZ` against `FLORES GOMEZ, Felipe`).
pub(crate) const OTHER_INITIAL_SIMILARITY: f64 = 0.9;

/// The most consonants an Arabic- or Hebrew-script word may have and be too
/// little to match a name alone: two consonants (`סעד`, `SD`) are in many
/// names (`SEVDA`, `SAID`, `SADDAM`).
pub(crate) const SHORT_SKELETON_LEN: usize = 2;

/// Whether a word is one syllable: at most [`SYLLABLE_LEN`] letters with a
/// single run of vowels (`ZHANG`, `KEUNG`, `YING`), unlike most words of
/// other names of that length (`USUGA`, `ZULMA`, `IZZAT`).
pub(crate) fn is_syllable(word: &str) -> bool {
    let vowel = |b: &u8| matches!(b, b'A' | b'E' | b'I' | b'O' | b'U' | b'Y');
    let bytes = word.as_bytes();
    let runs = bytes
        .iter()
        .enumerate()
        .filter(|&(i, b)| vowel(b) && (i == 0 || !bytes.get(i - 1).is_some_and(vowel)))
        .count();
    word.len() <= SYLLABLE_LEN && runs == 1
}

/// The most a match on too little evidence can score: below the default
/// threshold, so one word (`WAGNER` of `WAGNER GROUP`, `SAUER` against
/// `SARIR`) or two syllables of three never hold a party alone.
pub(crate) const WEAK_EVIDENCE_CAP: f64 = 0.75;

/// The lowest similarity at which one token pair may carry a match against
/// an entry that has no other word: a single fuzzy likeness (`JOSEPH`/
/// `YOUSEF`, `ROCHA`/`ROSHAK`) is too little evidence.
pub(crate) const SOLE_PAIR_SIMILARITY: f64 = 0.87;

/// The most an adjustment can add; candidates are pruned with it in mind.
const MAX_BONUS: f64 = COUNTRY_BONUS + BIRTH_YEAR_BONUS;

/// How much query coverage counts in the base score; entry coverage counts
/// the rest. Queries leave out middle names and patronymics more often than
/// they add words the list does not have.
const QUERY_EXPONENT: f64 = 0.65;

/// Combines query and entry coverage into the base score: a weighted
/// geometric mean.
pub(crate) fn combine(query: f64, entry: f64) -> f64 {
    query.powf(QUERY_EXPONENT) * entry.powf(1.0 - QUERY_EXPONENT)
}

/// The lowest query coverage that can still reach `threshold`.
fn min_query_coverage(threshold: f64) -> f64 {
    (threshold - MAX_BONUS).max(0.0).powf(1.0 / QUERY_EXPONENT)
}

pub(crate) fn screen(screener: &Screener, query: &Query<'_>) -> Vec<Hit> {
    let index = &screener.index;
    let prepared = Prepared::new(index, query.name);
    if prepared.tokens.is_empty() || prepared.weight <= 0.0 {
        return Vec::new();
    }
    let threshold = query.threshold.max(0.0);
    let candidates = SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => candidates(index, &prepared, query.kind, threshold, &mut scratch),
        Err(_) => candidates(
            index,
            &prepared,
            query.kind,
            threshold,
            &mut Scratch::default(),
        ),
    });

    // Best name per entry.
    let mut best: Vec<(f64, u32, u32)> = Vec::with_capacity(candidates.len());
    for name_slot in candidates {
        let Some(name) = index.names.get(name_slot as usize) else {
            continue;
        };
        let aligned = align(index, &prepared, name);
        let score = adjusted(screener, query, &prepared, name, &aligned, None);
        if threshold > 0.0 && score < threshold {
            continue;
        }
        best.push((score, name.entry, name_slot));
    }
    best.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut seen_entries: Vec<u32> = Vec::new();
    let mut hits = Vec::new();
    for (score, entry, name_slot) in best {
        if query.limit > 0 && hits.len() >= query.limit {
            break;
        }
        if seen_entries.contains(&entry) {
            continue;
        }
        seen_entries.push(entry);
        let Some(name) = index.names.get(name_slot as usize) else {
            continue;
        };
        let aligned = align(index, &prepared, name);
        let mut explanation = Explanation::default();
        let _ = adjusted(
            screener,
            query,
            &prepared,
            name,
            &aligned,
            Some(&mut explanation),
        );
        explain_tokens(index, &prepared, name, &aligned, &mut explanation);
        hits.push(Hit {
            entry: entry as usize,
            name: name.name as usize,
            score,
            explanation,
        });
    }
    hits
}

/// Names that may reach the threshold, found through posting lists.
///
/// Each name accumulates, per query token, the weight of the token times its
/// best similarity to any of the name's tokens: an upper bound of the
/// similarity-weighted query coverage. Generic words and legal forms are not
/// looked up when the query has a word (their posting lists are long and
/// they cannot make a hit alone); their weight is added to every name's bound.
fn candidates(
    index: &Index,
    prepared: &Prepared,
    kind: Option<PartyKind>,
    threshold: f64,
    scratch: &mut Scratch,
) -> Vec<u32> {
    scratch.prepare(index.names.len());
    let informative = prepared.informative();
    let mut slack = 0.0;
    let mut sources: Vec<(f64, u32)> = Vec::new();
    for (i, token) in prepared.tokens.iter().enumerate() {
        if informative && !token.key.role.is_informative() {
            slack += token.weight;
            continue;
        }
        sources.clear();
        sources.extend(token.matches.iter().map(|(slot, s)| (s, slot)));
        for j in &prepared.joined {
            if j.first == i || j.first + 1 == i {
                sources.extend(j.matches.iter().map(|(slot, s)| (s, slot)));
            }
        }
        for s in &prepared.splits {
            // A name matching the split has both halves: walking the shorter
            // posting list finds it (`AL` of `ALROSA` is in thousands).
            if s.token == i {
                let rarer = if index.postings.row(s.left as usize).len()
                    <= index.postings.row(s.right as usize).len()
                {
                    s.left
                } else {
                    s.right
                };
                sources.push((JOIN_SIMILARITY, rarer));
            }
        }
        sources.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mark = scratch.next_mark();
        for &(sim, slot) in &sources {
            for &name in index.postings.row(slot as usize) {
                let n = name as usize;
                let (Some(m), Some(g), Some(acc)) = (
                    scratch.mark.get_mut(n),
                    scratch.generation.get_mut(n),
                    scratch.acc.get_mut(n),
                ) else {
                    continue;
                };
                if *m == mark {
                    continue;
                }
                *m = mark;
                if *g != scratch.current {
                    let admitted = index
                        .names
                        .get(n)
                        .is_some_and(|x| PartyKind::admits(kind, x.kind));
                    if !admitted {
                        // Mark as seen with a bound that never passes.
                        *g = scratch.current;
                        *acc = f64::NEG_INFINITY;
                        continue;
                    }
                    *g = scratch.current;
                    *acc = 0.0;
                    scratch.touched.push(name);
                }
                *acc += sim * token.weight;
            }
        }
    }
    let need = if threshold > 0.0 {
        min_query_coverage(threshold) * prepared.weight - slack
    } else {
        f64::NEG_INFINITY
    };
    let mut out: Vec<u32> = scratch
        .touched
        .iter()
        .copied()
        .filter(|&n| {
            scratch
                .acc
                .get(n as usize)
                .is_some_and(|&a| a >= need - 1e-9)
        })
        .collect();
    out.sort_unstable();
    out
}

/// One aligned pair of query and entry token spans.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pair {
    pub(crate) sim: f64,
    /// Query tokens `q.0..=q.1`.
    pub(crate) q: (usize, usize),
    /// Entry tokens `e.0..=e.1` (positions in the name).
    pub(crate) e: (usize, usize),
    /// The weights of all the pair's tokens, to prefer heavier pairs among
    /// equally similar ones.
    weight: f64,
}

impl Pair {
    fn spans_two(&self) -> bool {
        self.q.0 != self.q.1 || self.e.0 != self.e.1
    }
}

/// Why a match is too little evidence for a hit, and is capped at
/// [`WEAK_EVIDENCE_CAP`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WeakEvidence {
    /// The entry has this many more words (or generic words) that the query
    /// does not match.
    OneOfSeveral(usize),
    /// The entry has no other word, but the pair is only alike, at this
    /// similarity (below [`SOLE_PAIR_SIMILARITY`]).
    Fuzzy(f64),
    /// The one matching word is an Arabic- or Hebrew-script word of at most
    /// [`SHORT_SKELETON_LEN`] consonants, matched on them at this
    /// similarity, against a one-word name.
    FewConsonants(f64),
    /// A word pairs only alike, at this similarity, with a word of another
    /// initial, and the entry has a word the query lacks.
    OtherInitial(f64),
    /// Every pair is of one-syllable words ([`is_syllable`]), and this many
    /// words of the query or the entry are left over.
    SyllablesOnly(usize),
}

/// The alignment of a query with one name.
#[derive(Debug, Default)]
pub(crate) struct Aligned {
    pub(crate) pairs: Vec<Pair>,
    pub(crate) query_coverage: f64,
    pub(crate) entry_coverage: f64,
    pub(crate) informative: bool,
    pub(crate) exact: bool,
    /// Set when the pairs are too little evidence for a hit.
    pub(crate) weak: Option<WeakEvidence>,
}

impl Aligned {
    pub(crate) fn base(&self) -> f64 {
        let mut base = combine(self.query_coverage, self.entry_coverage);
        if !(self.informative || self.exact) {
            base = base.min(GENERIC_ONLY_CAP);
        }
        if self.weak.is_some() {
            base = base.min(WEAK_EVIDENCE_CAP);
        }
        base
    }
}

fn bits(lo: usize, hi: usize) -> u64 {
    let mut m = 0u64;
    for k in lo..=hi.min(63) {
        m |= 1u64 << k;
    }
    m
}

/// Aligns query tokens with a name's tokens, best similarity first.
///
/// Greedy one-to-one alignment can take a token that a join or split needs
/// (`DILAWARKHAN NADIR KHAN` against `DILAWAR KHAN NADIR KHAN`: the lone
/// `KHAN` takes the first `KHAN`), so when joins or splits are possible a
/// second alignment that takes them first is tried, and the better kept.
pub(crate) fn align(index: &Index, prepared: &Prepared, name: &IndexedName) -> Aligned {
    let slots = index.tokens_of(name);
    let mut pairs = candidate_pairs(index, prepared, slots);
    pairs.sort_by(|a, b| {
        b.sim
            .total_cmp(&a.sim)
            .then(b.weight.total_cmp(&a.weight))
            .then(a.q.cmp(&b.q))
            .then(a.e.cmp(&b.e))
    });
    let first = evaluate(
        index,
        prepared,
        name,
        greedy(index, prepared, slots, &pairs),
    );
    if !pairs.iter().any(Pair::spans_two) {
        return first;
    }
    pairs.sort_by_key(|p| !p.spans_two());
    let second = evaluate(
        index,
        prepared,
        name,
        greedy(index, prepared, slots, &pairs),
    );
    if second.base() > first.base() {
        second
    } else {
        first
    }
}

/// Every query/entry pairing with a similarity: token to token, joined query
/// pair to entry token, split query token to entry pair.
fn candidate_pairs(index: &Index, prepared: &Prepared, slots: &[u32]) -> Vec<Pair> {
    let q_weight = |lo: usize, hi: usize| -> f64 {
        (lo..=hi)
            .filter_map(|i| prepared.tokens.get(i))
            .map(|t| t.weight)
            .sum()
    };
    let e_weight = |lo: usize, hi: usize| -> f64 {
        (lo..=hi)
            .filter_map(|j| slots.get(j))
            .map(|&s| index.weight(s))
            .sum()
    };
    let mut pairs: Vec<Pair> = Vec::new();
    let mut push = |sim: f64, q: (usize, usize), e: (usize, usize)| {
        pairs.push(Pair {
            sim,
            q,
            e,
            weight: q_weight(q.0, q.1) + e_weight(e.0, e.1),
        });
    };
    for (i, t) in prepared.tokens.iter().enumerate() {
        for (j, &slot) in slots.iter().enumerate() {
            let sim = t.matches.get(slot);
            if sim > 0.0
                && (t.key.abjad
                    || admits_pairing(&t.key.text, t.key.text.len(), index.text(slot), sim))
            {
                push(sim, (i, i), (j, j));
            }
        }
    }
    for joined in &prepared.joined {
        // A join of syllables is only as safe as its shortest syllable:
        // `TU LE` sounds like `TULI` but neither syllable is in it.
        let parts = (joined.first..=joined.first + 1).filter_map(|i| prepared.tokens.get(i));
        let shortest = parts.clone().map(|t| t.key.text.len()).min().unwrap_or(0);
        let text: String = parts.map(|t| t.key.text.as_str()).collect();
        for (j, &slot) in slots.iter().enumerate() {
            let sim = joined.matches.get(slot);
            if sim >= JOINED_CUTOFF && admits_pairing(&text, shortest, index.text(slot), sim) {
                push(
                    sim * JOIN_SIMILARITY,
                    (joined.first, joined.first + 1),
                    (j, j),
                );
            }
        }
    }
    for split in &prepared.splits {
        for (j, pair) in slots.windows(2).enumerate() {
            if let [l, r] = pair
                && *l == split.left
                && *r == split.right
            {
                push(JOIN_SIMILARITY, (split.token, split.token), (j, j + 1));
            }
        }
    }
    pairs
}

/// Why a query token (or join) `query`, whose shortest part has
/// `shortest` letters, may not pair with the entry token `entry` at `sim`;
/// `None` when it may. Short tokens spelled the same save a doubled letter
/// (`DANN`/`DAN`) may: that is spelling, not another name.
pub(crate) fn pairing_refusal(
    query: &str,
    shortest: usize,
    entry: &str,
    sim: f64,
) -> Option<PairingRefusal> {
    let short = shortest.min(entry.len());
    if sim < pairing_floor(shortest, entry.len()) {
        if short <= SHORT_TOKEN_LEN && undoubled(query).eq(undoubled(entry)) {
            return None;
        }
        return Some(if short <= SHORT_TOKEN_LEN {
            PairingRefusal::Short
        } else {
            PairingRefusal::FourLetters
        });
    }
    (sim < SYLLABLE_SIMILARITY && is_syllable(query) && is_syllable(entry))
        .then_some(PairingRefusal::Syllables)
}

/// Whether [`pairing_refusal`] lets the pairing count.
pub(crate) fn admits_pairing(query: &str, shortest: usize, entry: &str, sim: f64) -> bool {
    pairing_refusal(query, shortest, entry, sim).is_none()
}

/// Which rule turned a token pairing down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairingRefusal {
    /// A token of at most [`SHORT_TOKEN_LEN`] letters not spelled the same.
    Short,
    /// A four-letter token under [`FOUR_LETTER_SIMILARITY`].
    FourLetters,
    /// Two one-syllable words under [`SYLLABLE_SIMILARITY`].
    Syllables,
}

/// The letters of a token with doubled letters written once.
fn undoubled(text: &str) -> impl Iterator<Item = u8> + '_ {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, b)| i == 0 || bytes.get(i - 1) != Some(b))
        .map(|(_, &b)| b)
}

/// Takes pairs in order when neither side is taken yet, then joins leftover
/// query words to adjacent entry tokens.
fn greedy(index: &Index, prepared: &Prepared, slots: &[u32], pairs: &[Pair]) -> Vec<Pair> {
    let mut used_q = 0u64;
    let mut used_e = 0u64;
    let mut taken: Vec<Pair> = Vec::new();
    for p in pairs {
        let qm = bits(p.q.0, p.q.1);
        let em = bits(p.e.0, p.e.1);
        if used_q & qm == 0 && used_e & em == 0 {
            used_q |= qm;
            used_e |= em;
            taken.push(*p);
        }
    }
    join_leftovers(index, prepared, slots, &mut used_q, &mut used_e, &mut taken);
    taken
}

/// Coverage on both sides, and whether an informative token matched.
fn evaluate(index: &Index, prepared: &Prepared, name: &IndexedName, taken: Vec<Pair>) -> Aligned {
    let slots = index.tokens_of(name);
    let mut aligned = Aligned::default();
    let mut q_num = 0.0;
    let mut e_num = 0.0;
    let mut all_exact = true;
    let mut q_count = 0;
    let mut e_count = 0;
    for p in &taken {
        let qw: f64 = (p.q.0..=p.q.1)
            .filter_map(|i| prepared.tokens.get(i))
            .map(|t| t.weight)
            .sum();
        let ew: f64 = (p.e.0..=p.e.1)
            .filter_map(|j| slots.get(j))
            .map(|&s| index.weight(s))
            .sum();
        q_num += p.sim * qw;
        e_num += p.sim * ew;
        q_count += p.q.1 - p.q.0 + 1;
        e_count += p.e.1 - p.e.0 + 1;
        let q_informative = (p.q.0..=p.q.1)
            .filter_map(|i| prepared.tokens.get(i))
            .any(|t| t.key.role.is_informative());
        let e_informative = (p.e.0..=p.e.1).filter_map(|j| slots.get(j)).any(|&s| {
            index
                .vocab
                .get(s as usize)
                .is_some_and(|v| v.role.is_informative())
        });
        if q_informative && e_informative {
            aligned.informative = true;
        }
        if p.sim < 1.0 {
            all_exact = false;
        }
    }
    aligned.exact = all_exact && q_count == prepared.tokens.len() && e_count == slots.len();
    aligned.weak = weak_evidence(index, prepared, slots, &taken);
    aligned.query_coverage = if prepared.weight > 0.0 {
        (q_num / prepared.weight).min(1.0)
    } else {
        0.0
    };
    aligned.entry_coverage = if name.weight > 0.0 {
        (e_num / name.weight).min(1.0)
    } else {
        0.0
    };
    aligned.pairs = taken;
    aligned
}

/// Whether the pairs are too little evidence for a hit, and why (see
/// [`WeakEvidence`]). Legal forms left over never count against a match:
/// `GAZPROM` is `GAZPROM PAO`.
fn weak_evidence(
    index: &Index,
    prepared: &Prepared,
    slots: &[u32],
    taken: &[Pair],
) -> Option<WeakEvidence> {
    let role_of = |s: u32| index.vocab.get(s as usize).map(|v| v.role);
    let informative = |p: &&Pair| {
        (p.q.0..=p.q.1)
            .filter_map(|i| prepared.tokens.get(i))
            .any(|t| t.key.role.is_informative())
            && (p.e.0..=p.e.1)
                .filter_map(|j| slots.get(j))
                .any(|&s| role_of(s).is_some_and(Role::is_informative))
    };
    let evidence: Vec<&Pair> = taken.iter().filter(informative).collect();
    // Entry tokens no pair took whose role is as `counts` asks.
    let entry_unmatched = |counts: fn(Role) -> bool| {
        slots
            .iter()
            .enumerate()
            .filter(|&(j, &s)| {
                !taken.iter().any(|p| p.e.0 <= j && j <= p.e.1) && role_of(s).is_some_and(counts)
            })
            .count()
    };
    let entry_left = entry_unmatched(|r| r != Role::LegalForm);
    match evidence.as_slice() {
        [] => None,
        // Two query words written as one entry word are two words of
        // evidence (`SONG YAN` is `JI, Songyan`).
        [sole] if sole.q.0 == sole.q.1 => {
            if entry_left > 0 {
                Some(WeakEvidence::OneOfSeveral(entry_left))
            } else if sole.sim < SOLE_PAIR_SIMILARITY {
                Some(WeakEvidence::Fuzzy(sole.sim))
            } else if sole.sim < 1.0
                && prepared
                    .tokens
                    .get(sole.q.0)
                    .is_some_and(|t| t.key.abjad && t.key.skeleton.len() <= SHORT_SKELETON_LEN)
            {
                Some(WeakEvidence::FewConsonants(sole.sim))
            } else {
                None
            }
        }
        pairs => {
            let query_left = prepared
                .tokens
                .iter()
                .enumerate()
                .filter(|&(i, t)| {
                    t.key.role.is_informative() && !taken.iter().any(|p| p.q.0 <= i && i <= p.q.1)
                })
                .count();
            let entry_words_left = entry_unmatched(Role::is_informative);
            let left = query_left + entry_words_left;
            let short = |p: &&&Pair| {
                p.q.0 == p.q.1
                    && p.e.0 == p.e.1
                    && prepared
                        .tokens
                        .get(p.q.0)
                        .is_some_and(|t| !t.key.abjad && is_syllable(&t.key.text))
                    && slots
                        .get(p.e.0)
                        .is_some_and(|&s| is_syllable(index.text(s)))
            };
            // Spelling variants keep the first letter and transliterations
            // that change it sound the same, so a pair merely alike with
            // another initial is another name (`PHILLIP`/`FELIPE`).
            let other_initial = |p: &&&Pair| {
                p.sim < OTHER_INITIAL_SIMILARITY
                    && p.q.0 == p.q.1
                    && p.e.0 == p.e.1
                    && prepared.tokens.get(p.q.0).is_some_and(|t| {
                        !t.key.abjad
                            && slots.get(p.e.0).is_some_and(|&s| {
                                t.key.text.as_bytes().first() != index.text(s).as_bytes().first()
                            })
                    })
            };
            if entry_words_left > 0
                && let Some(p) = pairs.iter().find(other_initial)
            {
                return Some(WeakEvidence::OtherInitial(p.sim));
            }
            (left > 0 && pairs.iter().all(|p| short(&p)))
                .then_some(WeakEvidence::SyllablesOnly(left))
        }
    }
}

/// Matches query words against two adjacent entry tokens written together
/// (`ABDULRAHMAN` against `ABDEL RAHMAN`, `STROTTER` against `S TROTTER`),
/// which the vocabulary lookups cannot see because the join is no entry
/// token: for words left unmatched, and for words matched only fuzzily when
/// the join with a free neighbour of their partner is more alike.
fn join_leftovers(
    index: &Index,
    prepared: &Prepared,
    slots: &[u32],
    used_q: &mut u64,
    used_e: &mut u64,
    taken: &mut Vec<Pair>,
) {
    if slots.len() < 2 {
        return;
    }
    let joined_sim = |key: &Key, j: usize| -> f64 {
        let (Some(&l), Some(&r)) = (slots.get(j), slots.get(j + 1)) else {
            return 0.0;
        };
        let text = format!("{}{}", index.text(l), index.text(r));
        let joined = Key::new(text, Role::Word, false);
        let sim = similarity_parts(
            key,
            &joined.text,
            &joined.phonetic,
            &joined.skeleton,
            Role::Word,
        );
        if sim >= JOINED_CUTOFF {
            sim * JOIN_SIMILARITY
        } else {
            0.0
        }
    };
    let weight_of = |i: usize, j: usize| -> f64 {
        prepared.tokens.get(i).map_or(0.0, |t| t.weight)
            + index.weight(slots.get(j).copied().unwrap_or(u32::MAX))
            + index.weight(slots.get(j + 1).copied().unwrap_or(u32::MAX))
    };
    for (i, t) in prepared.tokens.iter().enumerate() {
        if t.key.role != Role::Word || t.key.text.len() < 5 {
            continue;
        }
        let q_bit = 1u64 << i.min(63);
        if *used_q & q_bit == 0 {
            let mut best: Option<(f64, usize)> = None;
            for j in 0..slots.len() - 1 {
                if *used_e & bits(j, j + 1) != 0 {
                    continue;
                }
                let sim = joined_sim(&t.key, j);
                if sim > 0.0 && best.is_none_or(|(b, _)| sim > b) {
                    best = Some((sim, j));
                }
            }
            if let Some((sim, j)) = best {
                *used_q |= q_bit;
                *used_e |= bits(j, j + 1);
                taken.push(Pair {
                    sim,
                    q: (i, i),
                    e: (j, j + 1),
                    weight: weight_of(i, j),
                });
            }
            continue;
        }
        // Matched: upgrade a fuzzy single match to a better join.
        let Some(k) = taken
            .iter()
            .position(|p| p.q == (i, i) && p.e.0 == p.e.1 && p.sim < JOIN_SIMILARITY)
        else {
            continue;
        };
        let Some(current) = taken.get(k).copied() else {
            continue;
        };
        let j = current.e.0;
        let free = |x: usize| *used_e & bits(x, x) == 0;
        let mut options = Vec::new();
        if j > 0 && free(j - 1) {
            options.push(j - 1);
        }
        if j + 1 < slots.len() && free(j + 1) {
            options.push(j);
        }
        for start in options {
            let sim = joined_sim(&t.key, start);
            if sim > current.sim
                && let Some(slot) = taken.get_mut(k)
                && sim > slot.sim
            {
                *used_e |= bits(start, start + 1);
                *slot = Pair {
                    sim,
                    q: (i, i),
                    e: (start, start + 1),
                    weight: weight_of(i, start),
                };
            }
        }
    }
}

/// Per-thread accumulators over names, reused across queries.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    acc: Vec<f64>,
    generation: Vec<u32>,
    mark: Vec<u32>,
    current: u32,
    next: u32,
    touched: Vec<u32>,
}

impl Scratch {
    fn prepare(&mut self, names: usize) {
        if self.acc.len() < names {
            self.acc.resize(names, 0.0);
            self.generation.resize(names, 0);
            self.mark.resize(names, 0);
        }
        self.touched.clear();
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            self.generation.fill(0);
            self.current = 1;
        }
    }

    fn next_mark(&mut self) -> u32 {
        self.next = self.next.wrapping_add(1);
        if self.next == 0 {
            self.mark.fill(0);
            self.next = 1;
        }
        self.next
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}
