//! Name normalisation: scripts, diacritics, case, punctuation, honorifics, company forms.
//!
//! [`normalize`] turns a name as anyone may write it into [`Token`]s that
//! compare equal when the names are spelled the same way in a list:
//!
//! 1. **Scripts and diacritics.** Cyrillic and Arabic are romanised the way
//!    OFAC writes them (`Евгений` → `YEVGENIY`, `محمد` → `MHMD`); every other
//!    script goes through general transliteration (Greek, Hebrew, CJK, …);
//!    Latin diacritics are folded (`Karadžić` → `KARADZIC`, `ß` → `SS`,
//!    `ø` → `O`, `ł` → `L`). Arabic and Hebrew words are flagged
//!    ([`Token::abjad`]) because their short vowels are not written.
//! 2. **Case and punctuation.** Upper case; apostrophes join (`O'BRIEN` →
//!    `OBRIEN`); every other non-alphanumeric character splits (`AL-QAIDA`,
//!    `S.A.`, `A/B`). Emoji and symbols split and vanish.
//! 3. **`SURNAME, Given Names`.** A name with exactly one comma and no legal
//!    form after it is read as OFAC writes individuals and turned around
//!    (`KARADZIC, Radovan` → `RADOVAN KARADZIC`). Matching does not depend on
//!    word order; this only makes explanations read naturally.
//! 4. **Glued legal forms** are split off (`JSCARGUMENT` → `JSC ARGUMENT`,
//!    `ARGUMENTLLC` → `ARGUMENT LLC`), and long legal-form words misspelled
//!    by a letter or two are corrected (`COMPANI`, `AKTZIONERNOE`).
//! 5. **Honorifics** (`MR`, `DR`, `SHEIKH`, `HAJI`, … see
//!    `lexicon::is_honorific`) are dropped unless nothing else is left.
//! 6. **Legal forms** become one canonical token each: `LIMITED` = `LTD`,
//!    `COMPANY` = `CO`, `OOO` = `LIMITED LIABILITY COMPANY` = `LLC`,
//!    `OAO` = `PJSC` = `PUBLIC JOINT STOCK COMPANY` = `AKTSIONERNOE OBSHCHESTVO`
//!    = `JSC`, `S.A. DE C.V.` = `SADECV`, and so on.
//! 7. **Roles.** Each token is a [`Role::Word`], [`Role::Digits`],
//!    [`Role::LegalForm`] or [`Role::Generic`] (organisation words such as
//!    `BANK`, `NATIONAL`, `TRADING`, function words, name particles such as
//!    `AL` and `BIN`). Digits and short words are kept: they are often all
//!    that tells two companies apart (`11420 CORP.`).
//!
//! # Limits
//! At most [`MAX_TOKENS`] tokens are kept (the first ones), each at most
//! [`MAX_TOKEN_LEN`] characters; input past `2 × MAX_TOKENS` words is not
//! read. A 10 kB name is therefore as cheap as a short one. No input panics.
//!
//! # Idempotence
//! Normalising [`Normalized::joined`] gives the same tokens and roles again.
//! [`Token::abjad`] records where a token came from and is not kept.

mod lexicon;
mod script;

use script::{Folded, Script};

/// The most tokens a normalised name keeps; later words are ignored.
///
/// Real names have fewer than 20 words; the cap bounds the cost of scoring.
pub const MAX_TOKENS: usize = 32;

/// The most characters a token keeps; the rest of a longer word is ignored.
pub const MAX_TOKEN_LEN: usize = 40;

/// Words read from the input before honorifics and legal forms shrink them.
const MAX_RAW_WORDS: usize = 2 * MAX_TOKENS;

/// What a token contributes to a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A name word: `KARADZIC`, `GAZPROM`, `RADOVAN`.
    Word,
    /// Only digits: `11420`. Informative, and only ever equal, never similar.
    Digits,
    /// A canonical company legal form: `LTD`, `LLC`, `JSC`, `GMBH`, `SADECV`.
    LegalForm,
    /// A generic organisation word, function word or name particle: `BANK`,
    /// `TRADING`, `OF`, `AL`, `BIN`. Low information.
    Generic,
}

impl Role {
    /// Whether a match on this token is evidence for a hit on its own.
    pub fn is_informative(self) -> bool {
        matches!(self, Role::Word | Role::Digits)
    }
}

/// One normalised token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Token {
    /// Upper-case ASCII letters and digits, never empty.
    pub text: String,
    /// What the token contributes to a match.
    pub role: Role,
    /// The word was written in Arabic or Hebrew script, so its vowels are
    /// missing and only its consonants can be compared.
    pub abjad: bool,
}

/// A normalised name: its tokens in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Normalized {
    /// The tokens, at most [`MAX_TOKENS`].
    pub tokens: Vec<Token>,
}

impl Normalized {
    /// The tokens' text joined by single spaces.
    pub fn joined(&self) -> String {
        let mut out = String::new();
        for (i, t) in self.tokens.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&t.text);
        }
        out
    }

    /// Whether no token is left (empty input, punctuation, emoji).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether any token is a word or digits, not only generic words and
    /// legal forms.
    pub fn has_informative(&self) -> bool {
        self.tokens.iter().any(|t| t.role.is_informative())
    }
}

/// Normalises a name into tokens with roles; see the module docs.
pub fn normalize(name: &str) -> Normalized {
    let (words, comma) = raw_words(name);
    let words = reorder(words, comma);
    let words = split_glued(words);
    let words = correct_legal_words(words);
    let words = drop_honorifics(words);
    let words = drop_vessel_prefixes(words);
    let words = canonical_forms(words);
    let words = merge_phrases(words);
    let tokens = words
        .into_iter()
        .take(MAX_TOKENS)
        .map(|w| {
            let role = role_of(&w.text);
            Token {
                abjad: w.abjad && role != Role::Digits,
                text: w.text,
                role,
            }
        })
        .collect();
    Normalized { tokens }
}

/// Folds a name to upper-case ASCII words separated by single spaces:
/// scripts, diacritics, case and punctuation only, without dropping
/// honorifics or rewriting legal forms. For display and debugging.
pub fn fold(name: &str) -> String {
    let (words, _) = raw_words(name);
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&w.text);
    }
    out
}

/// The role of a finished token.
fn role_of(text: &str) -> Role {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        Role::Digits
    } else if lexicon::canonical_legal_form(text) == Some(text) {
        Role::LegalForm
    } else if lexicon::is_generic(text) {
        Role::Generic
    } else {
        Role::Word
    }
}

/// A word on its way through the pipeline.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    abjad: bool,
}

/// Builds words character by character.
struct WordBuilder {
    words: Vec<Word>,
    current: String,
    chars: usize,
    abjad: bool,
    prev: Option<char>,
    /// The word's first two input characters, to split the Arabic article.
    first: [Option<char>; 2],
}

impl WordBuilder {
    fn new() -> Self {
        Self {
            words: Vec::new(),
            current: String::new(),
            chars: 0,
            abjad: false,
            prev: None,
            first: [None, None],
        }
    }

    fn full(&self) -> bool {
        self.words.len() >= MAX_RAW_WORDS
    }

    fn push_char(&mut self, c: char) {
        if self.chars < MAX_TOKEN_LEN {
            self.current.push(c);
            self.chars += 1;
        }
    }

    fn push_text(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_ascii_alphanumeric() {
                self.push_char(c.to_ascii_uppercase());
            } else if c == '\'' || c == '`' {
                // Transliterated apostrophes and hamzas join.
            } else {
                self.end();
            }
        }
    }

    fn note_input(&mut self, c: char) {
        match self.first {
            [None, _] => self.first[0] = Some(c),
            [Some(_), None] => self.first[1] = Some(c),
            _ => {}
        }
        self.prev = Some(c);
    }

    fn end(&mut self) {
        if !self.current.is_empty() && !self.full() {
            let text = std::mem::take(&mut self.current);
            // `ال` is written joined to the word it defines; lists write `AL-`.
            let article = self.abjad
                && self.first == [Some('ا'), Some('ل')]
                && text.len() >= 5
                && text.starts_with("AL");
            match (article, text.get(2..)) {
                (true, Some(rest)) => {
                    self.words.push(Word {
                        text: "AL".to_owned(),
                        abjad: true,
                    });
                    if !self.full() {
                        self.words.push(Word {
                            text: rest.to_owned(),
                            abjad: true,
                        });
                    }
                }
                _ => self.words.push(Word {
                    text,
                    abjad: self.abjad,
                }),
            }
        }
        self.current.clear();
        self.chars = 0;
        self.abjad = false;
        self.prev = None;
        self.first = [None, None];
    }
}

/// Script-folded words, and the index of the word before which the single
/// comma of the name stood (if there was exactly one comma).
fn raw_words(name: &str) -> (Vec<Word>, Option<usize>) {
    let mut b = WordBuilder::new();
    let mut commas = 0usize;
    let mut comma_at = None;
    for c in name.chars() {
        if b.full() {
            break;
        }
        let (folded, script) = script::fold_char(c, b.prev);
        match folded {
            Folded::Char(ch) => {
                b.push_char(ch);
                b.note_input(c);
            }
            Folded::Text(s) => {
                b.push_text(s);
                b.note_input(c);
            }
            Folded::Skip => {
                // The hard and soft signs still decide how a following
                // `Е` is read.
                if ('\u{0400}'..='\u{04FF}').contains(&c) {
                    b.prev = Some(c);
                }
            }
            Folded::Split => {
                b.end();
                if c == ',' || c == '،' {
                    commas += 1;
                    comma_at = Some(b.words.len());
                }
                continue;
            }
        }
        if script == Script::Abjad && c.is_alphabetic() {
            b.abjad = true;
        }
    }
    b.end();
    let comma = if commas == 1 { comma_at } else { None };
    (b.words, comma)
}

/// Turns `SURNAME, Given Names` around when no legal form follows the comma.
fn reorder(mut words: Vec<Word>, comma: Option<usize>) -> Vec<Word> {
    let Some(at) = comma else {
        return words;
    };
    if at == 0 || at >= words.len() {
        return words;
    }
    let right = words.get(at..).unwrap_or_default();
    // A legal form written with dots comes as letters (`S.A.` is `S`, `A`):
    // `COMERCIAL CIMEX, S.A.` is a company, not a surname first.
    let spelled: String = right.iter().map(|w| w.text.as_str()).collect();
    if right
        .iter()
        .any(|w| lexicon::canonical_legal_form(&w.text).is_some())
        || lexicon::canonical_legal_form(&spelled).is_some()
    {
        return words;
    }
    words.rotate_left(at);
    words
}

/// Splits legal forms glued to the front or back of a word.
fn split_glued(words: Vec<Word>) -> Vec<Word> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        if w.text.len() < 3 + lexicon::GLUED_MIN_REST {
            out.push(w);
            continue;
        }
        let mut rest = w.text.as_str();
        let mut suffixes = Vec::new();
        'prefix: loop {
            for p in lexicon::GLUED_PREFIXES {
                if let Some(r) = rest.strip_prefix(p)
                    && r.len() >= lexicon::GLUED_MIN_REST
                {
                    out.push(Word {
                        text: (*p).to_owned(),
                        abjad: false,
                    });
                    rest = r;
                    continue 'prefix;
                }
            }
            break;
        }
        'suffix: loop {
            for s in lexicon::GLUED_SUFFIXES {
                if let Some(r) = rest.strip_suffix(s)
                    && r.len() >= lexicon::GLUED_MIN_REST
                {
                    suffixes.push(*s);
                    rest = r;
                    continue 'suffix;
                }
            }
            break;
        }
        out.push(Word {
            text: rest.to_owned(),
            abjad: w.abjad,
        });
        out.extend(suffixes.into_iter().rev().map(|s| Word {
            text: s.to_owned(),
            abjad: false,
        }));
    }
    out
}

/// Corrects misspelled long legal-form words (`COMPANI` → `COMPANY`).
fn correct_legal_words(mut words: Vec<Word>) -> Vec<Word> {
    for w in &mut words {
        if let Some(c) = lexicon::corrected_legal_word(&w.text) {
            w.text = c.to_owned();
        }
    }
    words
}

/// Drops honorifics unless the name is nothing else.
fn drop_honorifics(mut words: Vec<Word>) -> Vec<Word> {
    if words.iter().any(|w| !lexicon::is_honorific(&w.text)) {
        words.retain(|w| !lexicon::is_honorific(&w.text));
    }
    words
}

/// Drops leading ship prefixes (`MV`, `MT`, `M/V`, `M/T`) unless the name is
/// nothing else: OFAC lists vessels by name alone (`BALTIC LEADER`), while
/// shipping documents write `MV BALTIC LEADER`.
fn drop_vessel_prefixes(mut words: Vec<Word>) -> Vec<Word> {
    loop {
        let first = words.first().map(|w| w.text.as_str());
        let second = words.get(1).map(|w| w.text.as_str());
        let used = match (first, second) {
            (Some("MV" | "MT"), _) => 1,
            (Some("M"), Some("V" | "T")) => 2,
            _ => 0,
        };
        if used == 0 || words.len() <= used {
            return words;
        }
        words.drain(..used);
    }
}

/// Replaces each single-token legal form by its canonical spelling.
fn canonical_forms(mut words: Vec<Word>) -> Vec<Word> {
    for w in &mut words {
        if let Some(c) = lexicon::canonical_legal_form(&w.text)
            && c != w.text
        {
            w.text = c.to_owned();
        }
    }
    words
}

/// Merges multi-token legal forms until none is left, so that normalising
/// the output again changes nothing.
fn merge_phrases(mut words: Vec<Word>) -> Vec<Word> {
    loop {
        let (merged, changed) = merge_pass(words);
        words = merged;
        if !changed {
            return words;
        }
    }
}

fn merge_pass(words: Vec<Word>) -> (Vec<Word>, bool) {
    let mut out: Vec<Word> = Vec::with_capacity(words.len());
    let mut changed = false;
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let mut best: Option<(usize, &'static str)> = None;
        for (phrase, canonical) in lexicon::PHRASES {
            let initial = phrase.first().is_some_and(|p| p.len() == 1);
            if initial && i == 0 {
                continue;
            }
            let Some(window) = words.get(i..i + phrase.len()) else {
                continue;
            };
            let matches = window.iter().zip(phrase.iter()).all(|(w, p)| w.text == *p);
            if matches && best.is_none_or(|(len, _)| phrase.len() > len) {
                best = Some((phrase.len(), canonical));
            }
        }
        match best {
            Some((len, canonical)) => {
                out.push(Word {
                    text: canonical.to_owned(),
                    abjad: false,
                });
                i += len;
                changed = true;
            }
            None => {
                out.push(w.clone());
                i += 1;
            }
        }
    }
    (out, changed)
}

#[cfg(test)]
mod tests;
