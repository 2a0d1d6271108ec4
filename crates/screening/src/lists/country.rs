//! Country names as the lists write them, mapped to ISO 3166-1 alpha-2 codes.

use std::collections::HashMap;
use std::sync::OnceLock;

use cordon_jurisdiction::{CountryCode, Jurisdictions};

/// OFAC's, BIS's and trade.gov's spellings that differ from the ISO short names.
pub(crate) const ALIASES_TSV: &str = include_str!("../../data/country_aliases.tsv");

/// Maps a country name, as a list writes it, to its ISO 3166-1 alpha-2 code.
///
/// Knows the ISO short names (`Iran, Islamic Republic of`) and the spellings the
/// lists use (`Iran`, `Korea, North`, `Burma`, `Congo, Democratic Republic of
/// the`, `Turkey`, `Region: Crimea`, `Palestinian`, …). Case, punctuation,
/// diacritics, `&` versus `and`, and a leading `the` do not matter. Returns
/// `None` for names with no single assigned code (`Kosovo`, `Serbia and
/// Montenegro`, `undetermined`) and for anything that is not a country name.
pub fn country_code(name: &str) -> Option<CountryCode> {
    table().get(&key(name)).copied()
}

/// The country of a place such as a place of birth (`Moscow, Russia`,
/// `Pyongyang, Korea, North`, `Tunisi (Tunisia)`).
///
/// Tries the whole text, then each comma-separated tail from the longest (so
/// `Korea, North` wins over `North`), then a trailing parenthesised part.
pub(crate) fn country_in_place(text: &str) -> Option<CountryCode> {
    let text = text.trim();
    if let Some(code) = country_code(text) {
        return Some(code);
    }
    for (i, _) in text.match_indices(',') {
        if let Some(code) = text.get(i + 1..).and_then(country_code) {
            return Some(code);
        }
    }
    let inner = text.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    inner.get(open + 1..).and_then(country_code)
}

/// An ISO code as the CSL and the DPL write one (`CN`), or failing that a
/// country name (`PRC`).
pub(crate) fn code_or_name(text: &str) -> Option<CountryCode> {
    let text = text.trim();
    if text.len() == 2 {
        let code = CountryCode::parse(text).ok()?;
        return Jurisdictions::embedded()
            .ok()
            .is_some_and(|j| j.is_country(code))
            .then_some(code);
    }
    country_code(text)
}

/// The alias table's rows: `(line, name, code)`; comments, blank lines and the
/// header skipped.
pub(crate) fn alias_rows() -> impl Iterator<Item = (usize, &'static str, &'static str)> {
    ALIASES_TSV
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#') && *l != "name\talpha2")
        .filter_map(|(i, l)| {
            let (name, code) = l.split_once('\t')?;
            Some((i + 1, name, code))
        })
}

/// Normalised name → code, built on first use.
fn table() -> &'static HashMap<String, CountryCode> {
    static TABLE: OnceLock<HashMap<String, CountryCode>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let jurisdictions = Jurisdictions::embedded().ok();
        let mut map = HashMap::new();
        if let Some(j) = jurisdictions {
            for (code, name) in j.countries() {
                map.insert(key(name), code);
            }
        }
        for (_, name, code) in alias_rows() {
            let Ok(code) = CountryCode::parse(code) else {
                continue;
            };
            // Only assigned codes: the crate's tests hold the table to that.
            if jurisdictions.is_none_or(|j| j.is_country(code)) {
                map.insert(key(name), code);
            }
        }
        map
    })
}

/// The matching key of a name: lowercase ASCII words separated by one space,
/// Latin diacritics folded, `&` read as `and`, a leading `the` dropped.
pub(crate) fn key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut push_word_break = false;
    for c in name.chars() {
        let folded = match c {
            '&' => {
                push_str_word(&mut out, "and", &mut push_word_break);
                continue;
            }
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            c => match fold(c) {
                Some(f) => f,
                None => {
                    push_word_break = true;
                    continue;
                }
            },
        };
        if push_word_break && !out.is_empty() {
            out.push(' ');
        }
        push_word_break = false;
        out.push(folded);
    }
    match out.strip_prefix("the ") {
        Some(rest) => rest.to_owned(),
        None => out,
    }
}

/// Appends a whole word, separated from what precedes it.
fn push_str_word(out: &mut String, word: &str, pending_break: &mut bool) {
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(word);
    *pending_break = true;
}

/// The base letter of a Latin-1 letter with a diacritic, lowercase.
fn fold(c: char) -> Option<char> {
    Some(match c.to_lowercase().next()? {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => return None,
    })
}
