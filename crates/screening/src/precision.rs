//! Measuring screening precision: which holds are namesakes, and hold rates per group.
//!
//! An ordinary customer whose name *is* a listed party's name (a namesake) is
//! rightly held for review: nothing in the name tells the two apart. Every
//! other hold of an ordinary customer is a false positive that better scoring
//! could avoid. [`is_namesake`] tells the two apart by a fixed rule, not by
//! hand, so that figures measured before and after a change to scoring count
//! the same things; [`Tallies`] adds the outcomes up per group (a locale).

use crate::EntryKind;
use crate::normalize::{self, Role, Token};
use crate::screener::{Hit, Screener, jaro, keys};

/// The lowest Jaro–Winkler similarity at which a query token and an entry
/// token count as the same name.
///
/// High enough that only spelling variants of one name pass (`MOHAMED` and
/// `MOHAMMED` are 0.98, `JOHN` and `JOAN` 0.87).
pub const NAMESAKE_SIMILARITY: f64 = 0.95;

/// Whether `query` names a namesake of the listed party whose name is
/// `entry_name`, an entry of kind `kind`.
///
/// # The rule
/// 1. Both names are normalised as the screener normalises them
///    ([`normalize::normalize`]): scripts romanised, case and diacritics
///    folded, honorifics dropped, legal forms made canonical.
/// 2. An individual's entry name with exactly one comma is read as the lists
///    write it, `SURNAME, Given Names`: the part before the comma and the
///    part after it are normalised apart, and the tokens before the comma are
///    in *surname position*. In an individual's name without a comma, the
///    last token is in surname position.
/// 3. Legal forms are left out on both sides; for individuals also generic
///    words and name particles (`AL`, `BIN`, `DE`, `VAN`), which are neither
///    given names nor surnames.
/// 4. A query token *pairs* with an entry token when their Jaro–Winkler
///    similarity is at least [`NAMESAKE_SIMILARITY`]. A query token written
///    in Arabic or Hebrew script has no vowels, so its consonant skeleton is
///    compared with the entry token's.
/// 5. Either name may also be read with adjacent tokens written together
///    (`LI GUI HUA` as `LI GUIHUA`; in an entry name only tokens of the same
///    position, surname or given; such a joined token is never the spare
///    surname of step 6), and it is enough that one reading of each passes
///    step 6.
/// 6. It is a namesake when both sides keep a token and the tokens can be
///    paired one to one so that every query token is paired and every entry
///    token too, except, for an individual, at most one entry token in
///    surname position (a second surname the query leaves out). An entry
///    given name, middle name or patronymic left over means the entry names
///    someone with more names than the query: not a namesake.
pub fn is_namesake(query: &str, entry_name: &str, kind: EntryKind) -> bool {
    let individual = kind == EntryKind::Individual;
    let query = kept(normalize::normalize(query).tokens, individual, false);
    let entry = entry_tokens(entry_name, individual);
    let entry_spellings = spellings(&entry);
    spellings(&query)
        .iter()
        .any(|q| entry_spellings.iter().any(|e| pairs_up(q, e, individual)))
}

/// Step 6 of the [`is_namesake`] rule for one spelling of each name.
fn pairs_up(query: &[NameToken], entry: &[NameToken], individual: bool) -> bool {
    if query.is_empty() || entry.is_empty() {
        return false;
    }
    // Pairs of query token and entry token indices that are the same name.
    let edges: Vec<Vec<usize>> = query
        .iter()
        .map(|q| {
            entry
                .iter()
                .enumerate()
                .filter(|(_, e)| same_name(q, e))
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    if pairs_all(&edges, entry.len(), None) {
        return true;
    }
    individual
        && entry.len() == query.len() + 1
        && entry
            .iter()
            .enumerate()
            .any(|(j, e)| e.surname && pairs_all(&edges, entry.len(), Some(j)))
}

/// The most tokens a name may have for [`spellings`] to join them; longer
/// names are compared as written (they have up to 34 spellings at this
/// length, and hundreds past it).
const MAX_JOINED_TOKENS: usize = 8;

/// Every way of writing adjacent tokens of a name together, each token
/// joined with at most one neighbour of the same position (`GUI HUA` as
/// `GUIHUA`); the name as given first.
///
/// Transliteration splits a Chinese given name into syllables (`李桂花` →
/// `LI GUI HUA`) that a list writes as one word (`LI, Guihua`), and the
/// screener itself matches such joins.
fn spellings(tokens: &[NameToken]) -> Vec<Vec<NameToken>> {
    if tokens.len() > MAX_JOINED_TOKENS {
        return vec![tokens.to_vec()];
    }
    let [first, rest @ ..] = tokens else {
        return vec![Vec::new()];
    };
    let mut out: Vec<Vec<NameToken>> = spellings(rest)
        .into_iter()
        .map(|tail| std::iter::once(first.clone()).chain(tail).collect())
        .collect();
    if let [second, after @ ..] = rest
        && first.surname == second.surname
    {
        let joined = NameToken {
            text: format!("{}{}", first.text, second.text),
            abjad: first.abjad || second.abjad,
            // Two names written together are never the one surname an
            // individual's entry may have left over.
            surname: false,
        };
        out.extend(
            spellings(after)
                .into_iter()
                .map(|tail| std::iter::once(joined.clone()).chain(tail).collect()),
        );
    }
    out
}

/// Whether any of a query's hits is on a name the query is a namesake of
/// (see [`is_namesake`]): the hold is then one no name screener can avoid.
pub fn holds_namesake(screener: &Screener, query: &str, hits: &[Hit]) -> bool {
    hits.iter().any(|hit| {
        screener.entries().get(hit.entry).is_some_and(|entry| {
            entry
                .names
                .get(hit.name)
                .is_some_and(|name| is_namesake(query, &name.text, entry.kind))
        })
    })
}

/// One compared token of a name.
#[derive(Debug, Clone)]
struct NameToken {
    text: String,
    abjad: bool,
    /// In surname position (see [`is_namesake`]).
    surname: bool,
}

/// The tokens the rule compares: no legal forms, and for individuals no
/// generic words or particles.
fn kept(tokens: Vec<Token>, individual: bool, surname: bool) -> Vec<NameToken> {
    tokens
        .into_iter()
        .filter(|t| match t.role {
            Role::LegalForm => false,
            Role::Generic => !individual,
            Role::Word | Role::Digits => true,
        })
        .map(|t| NameToken {
            text: t.text,
            abjad: t.abjad,
            surname,
        })
        .collect()
}

/// An entry name's compared tokens, with their surname positions.
fn entry_tokens(name: &str, individual: bool) -> Vec<NameToken> {
    if !individual {
        return kept(normalize::normalize(name).tokens, false, false);
    }
    if let Some((surname, given)) = name.split_once(',')
        && !given.contains(',')
    {
        let mut tokens = kept(normalize::normalize(surname).tokens, true, true);
        tokens.extend(kept(normalize::normalize(given).tokens, true, false));
        return tokens;
    }
    let mut tokens = kept(normalize::normalize(name).tokens, true, false);
    if let Some(last) = tokens.last_mut() {
        last.surname = true;
    }
    tokens
}

/// Whether two tokens are spellings of one name.
fn same_name(query: &NameToken, entry: &NameToken) -> bool {
    let similarity = if query.abjad && !entry.abjad {
        let (q, e) = (keys::skeleton(&query.text), keys::skeleton(&entry.text));
        jaro::jaro_winkler(q.as_bytes(), e.as_bytes())
    } else {
        jaro::jaro_winkler(query.text.as_bytes(), entry.text.as_bytes())
    };
    similarity >= NAMESAKE_SIMILARITY
}

/// Whether every query token pairs with a distinct entry token and every
/// entry token but `spare` is paired.
///
/// `edges[i]` lists the entry tokens query token `i` may pair with. A
/// maximum bipartite matching by augmenting paths (Kuhn's algorithm); names
/// have a few tokens, so its quadratic cost does not matter.
fn pairs_all(edges: &[Vec<usize>], entries: usize, spare: Option<usize>) -> bool {
    let needed = entries.saturating_sub(usize::from(spare.is_some()));
    if edges.len() != needed {
        return false;
    }
    let mut owner: Vec<Option<usize>> = vec![None; entries];
    (0..edges.len()).all(|q| {
        let mut seen = vec![false; entries];
        if let Some(s) = spare.and_then(|s| seen.get_mut(s)) {
            *s = true;
        }
        augment(q, edges, &mut seen, &mut owner)
    })
}

/// Finds an entry token for query token `q`, moving earlier pairings along
/// if need be.
fn augment(q: usize, edges: &[Vec<usize>], seen: &mut [bool], owner: &mut [Option<usize>]) -> bool {
    let Some(candidates) = edges.get(q) else {
        return false;
    };
    for &e in candidates {
        match seen.get_mut(e) {
            Some(s) if !*s => *s = true,
            _ => continue,
        }
        let free = match owner.get(e).copied().flatten() {
            None => true,
            Some(other) => augment(other, edges, seen, owner),
        };
        if free {
            if let Some(o) = owner.get_mut(e) {
                *o = Some(q);
            }
            return true;
        }
    }
    false
}

/// How a group of ordinary parties fared: screened, held, held as namesakes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Parties screened.
    pub screened: usize,
    /// Parties with at least one hit.
    pub held: usize,
    /// Held parties with a hit they are a namesake of; at most `held`.
    pub namesakes: usize,
}

impl Tally {
    /// Counts one screened party.
    ///
    /// `namesake` only counts when `held`: a party without hits is held as
    /// nothing.
    pub fn record(&mut self, held: bool, namesake: bool) {
        self.screened += 1;
        if held {
            self.held += 1;
            if namesake {
                self.namesakes += 1;
            }
        }
    }

    /// Held parties that are not namesakes: the holds better scoring could
    /// avoid.
    pub fn other_holds(&self) -> usize {
        self.held - self.namesakes
    }

    /// The share of screened parties held, in percent; 0 when none was screened.
    pub fn hold_rate(&self) -> f64 {
        percent(self.held, self.screened)
    }

    /// The share of screened parties held without being namesakes, in
    /// percent; 0 when none was screened.
    pub fn other_hold_rate(&self) -> f64 {
        percent(self.other_holds(), self.screened)
    }

    /// Adds another tally's counts to this one.
    pub fn add(&mut self, other: &Tally) {
        self.screened += other.screened;
        self.held += other.held;
        self.namesakes += other.namesakes;
    }
}

/// `part` of `whole` in percent, 0 for an empty whole.
fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// [`Tally`]s per group, in the order the groups first appear.
///
/// First-seen order keeps a report in the order of its input file, where
/// locales are grouped by script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tallies {
    groups: Vec<(String, Tally)>,
}

impl Tallies {
    /// Counts one screened party of `group` (see [`Tally::record`]).
    pub fn record(&mut self, group: &str, held: bool, namesake: bool) {
        let at = match self.groups.iter().position(|(g, _)| g == group) {
            Some(at) => at,
            None => {
                self.groups.push((group.to_owned(), Tally::default()));
                self.groups.len() - 1
            }
        };
        if let Some((_, tally)) = self.groups.get_mut(at) {
            tally.record(held, namesake);
        }
    }

    /// The groups and their tallies, in first-seen order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tally)> {
        self.groups.iter().map(|(g, t)| (g.as_str(), t))
    }

    /// The tally of one group, if any party of it was recorded.
    pub fn get(&self, group: &str) -> Option<&Tally> {
        self.iter().find(|(g, _)| *g == group).map(|(_, t)| t)
    }

    /// All groups together.
    pub fn total(&self) -> Tally {
        let mut total = Tally::default();
        for (_, t) in &self.groups {
            total.add(t);
        }
        total
    }
}
