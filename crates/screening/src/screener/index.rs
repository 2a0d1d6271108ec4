//! The name index: a vocabulary of entry tokens with weights and fuzzy keys,
//! and posting lists from tokens to names.
//!
//! Every name of every entry is normalised once. Its tokens go into a
//! vocabulary (one slot per distinct token) holding the token's phonetic form,
//! consonant skeleton, role and weight. Two maps lead from a query token to
//! vocabulary slots: exact text, and consonant skeleton; a trigram index over
//! the phonetic forms finds the rest of the similar spellings. A posting list
//! per slot names the names that contain it.

use std::collections::HashMap;

use crate::normalize::{self, Role};
use crate::{EntryKind, ListEntry, NameKind};

use super::keys;

/// The weight of a generic word, whatever its rarity in the lists: that of a
/// word in about one name in six (the weights of words run from about 0.7 for
/// a word in every name to about 10 for a word of one name in 30,000).
pub(crate) const GENERIC_WEIGHT: f64 = 2.0;

/// The weight of a legal form.
pub(crate) const LEGAL_FORM_WEIGHT: f64 = 0.5;

/// A token's weight from its role and its inverse document frequency.
///
/// Generic words and legal forms get fixed low weights: they are common in
/// the world even where they are rare in the lists, and they say what kind
/// of organisation something is, not which one.
pub(crate) fn token_weight(role: Role, idf: f64) -> f64 {
    match role {
        Role::Word | Role::Digits => idf,
        Role::Generic => GENERIC_WEIGHT.min(idf),
        Role::LegalForm => LEGAL_FORM_WEIGHT.min(idf),
    }
}

/// Rows of ids, stored flat: row `r` is `ids[offsets[r]..offsets[r + 1]]`.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    offsets: Vec<u32>,
    ids: Vec<u32>,
}

impl Rows {
    /// Builds rows from `(row, id)` pairs; ids within a row are sorted and
    /// deduplicated.
    fn build(rows: usize, mut pairs: Vec<(u32, u32)>) -> Rows {
        pairs.sort_unstable();
        pairs.dedup();
        let mut offsets = Vec::with_capacity(rows + 1);
        let mut ids = Vec::with_capacity(pairs.len());
        let mut next = 0usize;
        offsets.push(0);
        for row in 0..rows {
            while let Some(&(r, id)) = pairs.get(next) {
                if r as usize != row {
                    break;
                }
                ids.push(id);
                next += 1;
            }
            offsets.push(u32::try_from(ids.len()).unwrap_or(u32::MAX));
        }
        Rows { offsets, ids }
    }

    /// The ids in one row; empty for an unknown row.
    pub(crate) fn row(&self, row: usize) -> &[u32] {
        let (Some(&start), Some(&end)) = (self.offsets.get(row), self.offsets.get(row + 1)) else {
            return &[];
        };
        self.ids
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}

/// One distinct entry token.
#[derive(Debug)]
pub(crate) struct VocabToken {
    pub(crate) text: Box<str>,
    pub(crate) phonetic: Box<str>,
    pub(crate) skeleton: Box<str>,
    pub(crate) role: Role,
    /// Rarity (inverse document frequency over names), or the fixed weight
    /// of a generic word or legal form; see [`token_weight`].
    pub(crate) weight: f64,
    /// The number of trigrams of the phonetic form.
    pub(crate) trigrams: u16,
}

/// One indexed name.
#[derive(Debug)]
pub(crate) struct IndexedName {
    pub(crate) entry: u32,
    pub(crate) name: u32,
    pub(crate) kind: EntryKind,
    pub(crate) weak: bool,
    /// Where the name's tokens start in [`Index::name_tokens`].
    pub(crate) start: u32,
    pub(crate) len: u8,
    /// The sum of the token weights.
    pub(crate) weight: f64,
}

/// The whole index.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) vocab: Vec<VocabToken>,
    pub(crate) by_text: HashMap<Box<str>, u32>,
    pub(crate) by_skeleton: HashMap<Box<str>, Vec<u32>>,
    /// Trigram key → vocabulary slots whose phonetic form has it.
    pub(crate) trigrams: Rows,
    /// Vocabulary slot → names containing it.
    pub(crate) postings: Rows,
    pub(crate) names: Vec<IndexedName>,
    /// The tokens of all names, as vocabulary slots, name after name.
    pub(crate) name_tokens: Vec<u32>,
    /// The weight of a token no entry has: that of a token of one name.
    pub(crate) unknown_weight: f64,
}

impl Index {
    /// Indexes every name of every entry.
    pub(crate) fn build(entries: &[ListEntry]) -> Index {
        let mut index = Index::default();
        let mut counts: Vec<u32> = Vec::new();
        let mut roles: Vec<Role> = Vec::new();
        let mut posting_pairs: Vec<(u32, u32)> = Vec::new();
        for (e, entry) in entries.iter().enumerate() {
            for (n, name) in entry.names.iter().enumerate() {
                let normalized = normalize::normalize(&name.text);
                if normalized.is_empty() {
                    continue;
                }
                let (Ok(entry_id), Ok(name_id), Ok(start)) = (
                    u32::try_from(e),
                    u32::try_from(n),
                    u32::try_from(index.name_tokens.len()),
                ) else {
                    continue;
                };
                let name_slot = u32::try_from(index.names.len()).unwrap_or(u32::MAX);
                for token in &normalized.tokens {
                    let next = u32::try_from(index.by_text.len()).unwrap_or(u32::MAX);
                    let slot = *index
                        .by_text
                        .entry(token.text.as_str().into())
                        .or_insert(next);
                    if slot == next {
                        counts.push(0);
                        roles.push(token.role);
                    }
                    index.name_tokens.push(slot);
                    posting_pairs.push((slot, name_slot));
                }
                index.names.push(IndexedName {
                    entry: entry_id,
                    name: name_id,
                    kind: entry.kind,
                    weak: name.kind == NameKind::Weak,
                    start,
                    len: u8::try_from(normalized.len()).unwrap_or(u8::MAX),
                    weight: 0.0,
                });
            }
        }
        let vocab_len = index.by_text.len();
        let postings = Rows::build(vocab_len, posting_pairs);
        for (slot, count) in counts.iter_mut().enumerate() {
            *count = u32::try_from(postings.row(slot).len()).unwrap_or(u32::MAX);
        }
        let total = index.names.len().max(1) as f64;
        let idf = |df: u32| (1.0 + total / f64::from(df.max(1))).ln();
        index.unknown_weight = idf(1);

        let mut texts: Vec<(&str, u32)> = index.by_text.iter().map(|(t, &s)| (&**t, s)).collect();
        texts.sort_unstable_by_key(|&(_, s)| s);
        let mut trigram_pairs: Vec<(u32, u32)> = Vec::new();
        let mut grams = Vec::new();
        let mut vocab = Vec::with_capacity(vocab_len);
        let mut by_skeleton: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        for (text, slot) in texts {
            let role = roles.get(slot as usize).copied().unwrap_or(Role::Word);
            let df = counts.get(slot as usize).copied().unwrap_or(1);
            let phonetic = keys::phonetic(text);
            let skeleton = keys::skeleton(text);
            if role != Role::Digits {
                keys::trigrams(&phonetic, &mut grams);
                trigram_pairs.extend(grams.iter().map(|&g| (g, slot)));
                by_skeleton
                    .entry(skeleton.as_str().into())
                    .or_default()
                    .push(slot);
            }
            vocab.push(VocabToken {
                text: text.into(),
                phonetic: phonetic.into(),
                skeleton: skeleton.into(),
                role,
                weight: token_weight(role, idf(df)),
                trigrams: u16::try_from(grams.len()).unwrap_or(u16::MAX),
            });
        }
        index.vocab = vocab;
        index.by_skeleton = by_skeleton;
        index.trigrams = Rows::build(keys::TRIGRAM_SPACE, trigram_pairs);
        index.postings = postings;
        let weights: Vec<f64> = index
            .names
            .iter()
            .map(|n| index.tokens_of(n).iter().map(|&t| index.weight(t)).sum())
            .collect();
        for (name, weight) in index.names.iter_mut().zip(weights) {
            name.weight = weight;
        }
        index
    }

    /// The tokens of a name, as vocabulary slots.
    pub(crate) fn tokens_of(&self, name: &IndexedName) -> &[u32] {
        let start = name.start as usize;
        self.name_tokens
            .get(start..start + usize::from(name.len))
            .unwrap_or_default()
    }

    /// A vocabulary slot's weight (0 for an unknown slot).
    pub(crate) fn weight(&self, slot: u32) -> f64 {
        self.vocab.get(slot as usize).map_or(0.0, |v| v.weight)
    }

    /// A vocabulary slot's text ("" for an unknown slot).
    pub(crate) fn text(&self, slot: u32) -> &str {
        self.vocab.get(slot as usize).map_or("", |v| &v.text)
    }
}
