//! The name index and query-time scoring.
//!
//! [`Screener::new`] normalises every name of every entry once and indexes
//! its tokens; [`Screener::screen`] finds the entries a queried name may be,
//! with a score in `0.0..=1.0` and an [`Explanation`] a reviewer can read.
//!
//! # How a query is scored
//! 1. The query is normalised (see [`crate::normalize`]).
//! 2. Each query token is looked up in the vocabulary of entry tokens: exactly,
//!    by phonetic form, by consonant skeleton (for Arabic- and Hebrew-script
//!    words) and by trigrams of the phonetic form. Each similar entry token
//!    gets a similarity: 1.0 when equal, 0.95 when spelled alike
//!    (`MOHAMED`/`MOHAMMED`, `QADHAFI`/`KADAFI`, `YEVGENIY`/`EVGENY`), else
//!    the mean of Jaro–Winkler and edit similarity (at most 0.94), kept when
//!    at least [`TOKEN_CUTOFF`]. Adjacent query tokens are also looked up
//!    joined (`ABDUL RAHMAN` → `ABDULRAHMAN`), and a query token is split in
//!    two when both halves are entry tokens (`ABDULRAHMAN` → `ABDUL RAHMAN`).
//! 3. Posting lists give the candidate names; a name whose best possible
//!    score is below the threshold is never scored.
//! 4. A candidate's tokens are aligned one-to-one with the query's, best
//!    similarity first, regardless of order. Every word weighs its rarity over
//!    all indexed names (inverse document frequency: about 0.7 for a word in
//!    every name, 10 for a word of one name); generic words weigh a fixed 2
//!    and legal forms 0.5. *Query coverage* is the similarity-weighted share
//!    of the query's weight that found a partner, *entry coverage* the same
//!    for the entry name; the score is their weighted geometric mean (query
//!    0.65, entry 0.35), so a missing middle name or patronymic costs a
//!    little, a missing surname a lot, and a query word the entry lacks more
//!    than an entry word the query lacks.
//! 5. A match on generic words and legal forms alone is capped at
//!    [`GENERIC_ONLY_CAP`]: `NATIONAL TRADING BANK LLC` is not `BANK MELLI`.
//!    Short tokens pair only when spelled the same (three letters or fewer,
//!    but for a doubled letter) or sounding the same (four letters, and two
//!    one-syllable words such as `JIANG`/`ZHANG`). A match on too little
//!    evidence — one query word against a longer entry name, one word only
//!    alike (or an Arabic- or Hebrew-script word of two consonants) against
//!    a one-word name, a word alike with another initial
//!    while an entry word is left over, or one-syllable words with a word
//!    left over — is capped under the default threshold. The explanation names
//!    the rule each time.
//! 6. Small adjustments follow, each explained in the notes: a weak alias
//!    costs [`WEAK_ALIAS_PENALTY`]; a query country among the entry's
//!    countries adds [`COUNTRY_BONUS`], one outside them costs
//!    [`COUNTRY_PENALTY`]; a query birth year equal to one of the entry's adds
//!    [`BIRTH_YEAR_BONUS`], one a year off adds a third of that, one further
//!    off costs [`BIRTH_YEAR_PENALTY`].
//!
//! # Entity kinds
//! A [`PartyKind::Person`] query only matches individuals; a
//! [`PartyKind::Organization`] query matches entities, vessels and aircraft;
//! a query without a kind matches everything.

mod explain;
mod index;
pub(crate) mod jaro;
pub(crate) mod keys;
mod query;
mod score;

use cordon_jurisdiction::CountryCode;

use crate::{EntryKind, ListEntry};
use index::Index;

/// The score at or above which a name is a hit by default.
///
/// Chosen on about 2,300 variants of real SDN names (reordered, missing a
/// middle name, only first name and surname, transliterated, misspelled,
/// glued, with company forms changed, in Cyrillic) and 3,000 ordinary names
/// that are not listed: at 0.8, 96.5% of the variants hit their entry and
/// 0.6% of ordinary personal names hit anything (0.75 finds 97.2% and hits
/// 1.2%; 0.85 finds 95.2% and hits 0.35%).
pub const DEFAULT_THRESHOLD: f64 = 0.8;

/// The number of hits returned by default.
pub const DEFAULT_LIMIT: usize = 10;

/// The lowest token similarity that counts as a match.
pub const TOKEN_CUTOFF: f64 = 0.8;

/// The highest score of a match on generic words and legal forms only.
pub const GENERIC_ONLY_CAP: f64 = 0.5;

/// What matching a vessel or aircraft costs when the query has a company
/// legal form (`PIONEER TRADING LIMITED` is not the ship `PIONEER`).
pub const COMPANY_VESSEL_PENALTY: f64 = 0.15;

/// What matching a weak alias costs.
pub const WEAK_ALIAS_PENALTY: f64 = 0.05;

/// What a query country among the entry's countries adds.
pub const COUNTRY_BONUS: f64 = 0.02;

/// What a query country outside the entry's countries costs.
pub const COUNTRY_PENALTY: f64 = 0.05;

/// What a query birth year among the entry's adds.
pub const BIRTH_YEAR_BONUS: f64 = 0.03;

/// What a query birth year more than a year from all of the entry's costs.
pub const BIRTH_YEAR_PENALTY: f64 = 0.1;

/// The kind of party a query names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// A natural person: matches individuals only.
    Person,
    /// A company or other organisation: matches entities, vessels and aircraft.
    Organization,
}

impl From<cordon_subject::SubjectKind> for PartyKind {
    fn from(k: cordon_subject::SubjectKind) -> Self {
        match k {
            cordon_subject::SubjectKind::Individual => PartyKind::Person,
            cordon_subject::SubjectKind::Organization => PartyKind::Organization,
        }
    }
}

impl PartyKind {
    /// Parses `person` (or `individual`) and `org` (or `organization`,
    /// `organisation`, `entity`), case-insensitively.
    pub fn parse(s: &str) -> Option<PartyKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "individual" => Some(PartyKind::Person),
            "org" | "organization" | "organisation" | "entity" => Some(PartyKind::Organization),
            _ => None,
        }
    }

    /// The kind of party whose screening can match an entry of `kind`: a
    /// person for an individual, an organisation for anything else.
    ///
    /// A stored hit does not keep its query's kind, but the kind admitted
    /// its entry, so this recovers it; explaining the hit again with it
    /// gives the score the party was held on.
    pub fn of_entry(kind: EntryKind) -> PartyKind {
        match kind {
            EntryKind::Individual => PartyKind::Person,
            EntryKind::Entity | EntryKind::Vessel | EntryKind::Aircraft => PartyKind::Organization,
        }
    }

    /// Whether an entry of this kind may match a query of kind `query`.
    fn admits(query: Option<PartyKind>, entry: EntryKind) -> bool {
        match query {
            None => true,
            Some(PartyKind::Person) => entry == EntryKind::Individual,
            Some(PartyKind::Organization) => entry != EntryKind::Individual,
        }
    }
}

/// One screening query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query<'a> {
    /// The name as given, in any script.
    pub name: &'a str,
    /// Person or organisation, if known; filters entry kinds.
    pub kind: Option<PartyKind>,
    /// The party's country, if known; nudges the score.
    pub country: Option<CountryCode>,
    /// The party's year of birth, if known; nudges the score.
    pub birth_year: Option<u16>,
    /// Hits below this score are dropped; 0 keeps every candidate.
    pub threshold: f64,
    /// The most hits returned; 0 means no limit.
    pub limit: usize,
}

impl<'a> Query<'a> {
    /// A query for a name with the default threshold and limit and nothing
    /// else known.
    pub fn new(name: &'a str) -> Query<'a> {
        Query {
            name,
            kind: None,
            country: None,
            birth_year: None,
            threshold: DEFAULT_THRESHOLD,
            limit: DEFAULT_LIMIT,
        }
    }

    /// The same query for a party of a known kind.
    pub fn with_kind(mut self, kind: PartyKind) -> Query<'a> {
        self.kind = Some(kind);
        self
    }
}

/// A possible match: one entry, through its best-scoring name.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    /// Index into [`Screener::entries`].
    pub entry: usize,
    /// Index into that entry's `names`.
    pub name: usize,
    /// How alike the names are, in `0.0..=1.0`.
    pub score: f64,
    /// Why.
    pub explanation: Explanation,
}

/// Why a name scored as it did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// Every query token in order, with the entry token it was aligned with.
    pub tokens: Vec<TokenMatch>,
    /// Coverage, unmatched entry tokens, caps and adjustments, in words.
    pub notes: Vec<String>,
}

/// One query token and what it matched.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenMatch {
    /// The normalised query token.
    pub query: String,
    /// The entry token(s) it was aligned with, space-separated when a query
    /// token matched two entry tokens (or two query tokens one entry token).
    pub matched: Option<String>,
    /// Token similarity, `0.0..=1.0` (0 when unmatched).
    pub similarity: f64,
    /// The token's share of the query's weight, `0.0..=1.0`.
    pub weight: f64,
}

/// The screening index over a set of list entries.
///
/// Immutable once built, so it is `Send + Sync` and can be shared across
/// threads behind an `Arc`.
#[derive(Debug)]
pub struct Screener {
    entries: Vec<ListEntry>,
    index: Index,
}

impl Screener {
    /// Indexes every name of every entry.
    pub fn new(entries: Vec<ListEntry>) -> Screener {
        let index = Index::build(&entries);
        Screener { entries, index }
    }

    /// The entries, in the order given to [`Screener::new`].
    pub fn entries(&self) -> &[ListEntry] {
        &self.entries
    }

    /// The number of indexed names (names that normalise to no token are
    /// not indexed).
    pub fn indexed_names(&self) -> usize {
        self.index.names.len()
    }

    /// The entries a name may be: at most one hit per entry (its best name),
    /// sorted by score descending, at most `query.limit` of them, and only
    /// those scoring at least `query.threshold` unless it is 0.
    pub fn screen(&self, query: &Query<'_>) -> Vec<Hit> {
        score::screen(self, query)
    }
}

#[cfg(test)]
mod tests;
