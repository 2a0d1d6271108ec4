//! Keys that make transliteration variants of a token look alike.
//!
//! - [`phonetic`] spells a token the way it sounds in the common romanisations
//!   of Arabic, Persian, Russian and other names, so that `MOHAMMED`,
//!   `MUHAMMAD` and `MOHAMAD` differ by at most one vowel, and `QADHAFI`,
//!   `KADDAFI`, and `YEVGENIY`, `EVGENY` become equal.
//! - [`skeleton`] keeps only the consonants of the phonetic form, as a word
//!   written in Arabic or Hebrew script gives them (`محمد` → `MHMD`).
//! - [`trigrams`] cut the phonetic form into padded character triples for
//!   fuzzy retrieval.

/// The phonetic spelling of an upper-case ASCII token.
///
/// Rules, in order: a leading `Y` (or `I`, in words of four letters or more)
/// before a vowel is dropped (`YEVGENIY`, `YUSUF`, `IAKOV`, `IUAN`); digraphs become one letter (`SHCH`, `SCH`, `SH`, `CH`, `TCH` → `X`;
/// `ZH`, `DZH`, `DJ`, `DZ` → `J`, a final `IC` → `IX` (`KARADZIC`, `KARADZHICH`); `KH` → `H`; `GH` → `G`; `PH` → `F`; `TH` → `T`;
/// `DH` → `D`; `CK` → `K`); `Q` and `C` → `K`, `X` → `KS`, `W` → `V`;
/// vowels fall into three classes (`A`; `E`, `I`, `Y` → `I`; `O`, `U` → `U`);
/// a final `H` after a vowel is dropped (`ALLAH`); repeated letters collapse.
/// Digits are kept.
pub(crate) fn phonetic(token: &str) -> String {
    let b = token.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let iotated = match b.first() {
        Some(b'Y') => b.len() > 2,
        Some(b'I') => b.len() > 3,
        _ => false,
    };
    if iotated && b.get(1).is_some_and(|&c| is_vowel(c)) {
        i = 1;
    }
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    while i < b.len() {
        let c = at(i);
        let (sym, used): (&[u8], usize) =
            match (c, at(i + 1), at(i + 2), at(i + 3)) {
                (b'S', b'H', b'C', b'H') => (b"X", 4),
                (b'S', b'C', b'H', _) | (b'T', b'C', b'H', _) | (b'D', b'Z', b'H', _) => {
                    if c == b'D' { (b"J", 3) } else { (b"X", 3) }
                }
                (b'S', b'H', _, _) | (b'C', b'H', _, _) => (b"X", 2),
                (b'Z', b'H', _, _) | (b'D', b'J', _, _) | (b'D', b'Z', _, _) => (b"J", 2),
                // South Slavic `-ić`/`-ič` folds to a final `IC`, which the
                // Russian-style romanisation of the same name writes `ICH`.
                (b'C', 0, _, _) if out.last() == Some(&b'I') => (b"X", 1),
                (b'K', b'H', _, _) => (b"H", 2),
                (b'G', b'H', _, _) => (b"G", 2),
                (b'P', b'H', _, _) => (b"F", 2),
                (b'T', b'H', _, _) => (b"T", 2),
                (b'D', b'H', _, _) => (b"D", 2),
                (b'C', b'K', _, _) => (b"K", 2),
                (b'Q', _, _, _) | (b'C', _, _, _) => (b"K", 1),
                (b'X', _, _, _) => (b"KS", 1),
                (b'W', _, _, _) => (b"V", 1),
                (b'A', _, _, _) => (b"A", 1),
                (b'E', _, _, _) | (b'I', _, _, _) | (b'Y', _, _, _) => (b"I", 1),
                (b'O', _, _, _) | (b'U', _, _, _) => (b"U", 1),
                (b'H', 0, _, _) if out.last().is_some_and(|&p| is_vowel(p)) => (b"", 1),
                _ => (std::slice::from_ref(b.get(i).unwrap_or(&b'?')), 1),
            };
        for &s in sym {
            // Doubled letters are one sound; doubled digits are two digits.
            if out.last() != Some(&s) || s.is_ascii_digit() {
                out.push(s);
            }
        }
        i += used;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The consonant skeleton of a token: its phonetic form without vowels and
/// without `V` (Arabic `و` is a vowel as often as a consonant), and without a
/// final `H`; a leading vowel is kept as `A`, because English spellings write
/// the Arabic `ع` and `ا` that begin a word.
pub(crate) fn skeleton(token: &str) -> String {
    let p = phonetic(token);
    let mut out = String::with_capacity(p.len());
    for (i, c) in p.chars().enumerate() {
        if i == 0 && matches!(c, 'A' | 'I' | 'U') {
            out.push('A');
        } else if !matches!(c, 'A' | 'I' | 'U' | 'V') && !out.ends_with(c) {
            out.push(c);
        }
    }
    if out.len() > 1 && out.ends_with('H') {
        out.pop();
    }
    out
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'A' | b'E' | b'I' | b'O' | b'U' | b'Y')
}

/// The number of distinct trigram keys.
pub(crate) const TRIGRAM_SPACE: usize = 37 * 37 * 37;

fn symbol(c: u8) -> u32 {
    match c {
        b'A'..=b'Z' => u32::from(c - b'A') + 1,
        b'0'..=b'9' => u32::from(c - b'0') + 27,
        _ => 0,
    }
}

/// The distinct padded trigrams of a phonetic form, as keys below
/// [`TRIGRAM_SPACE`]: `KARADZIK` gives `$KA`, `KAR`, …, `IK$`.
pub(crate) fn trigrams(phonetic: &str, out: &mut Vec<u32>) {
    out.clear();
    let b = phonetic.as_bytes();
    let n = b.len();
    for start in 0..n {
        let get = |k: usize| -> u32 {
            // Positions are shifted by one for the leading pad.
            if k == 0 || k > n {
                0
            } else {
                b.get(k - 1).map_or(0, |&c| symbol(c))
            }
        };
        let key = get(start) * 37 * 37 + get(start + 1) * 37 + get(start + 2);
        if !out.contains(&key) {
            out.push(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliteration_variants_share_a_phonetic_form() {
        assert_eq!(phonetic("QADHAFI"), phonetic("KADAFI"));
        assert_eq!(phonetic("YEVGENIY"), phonetic("EVGENY"));
        assert_eq!(phonetic("YEVGENIY"), phonetic("EVGENII"));
        assert_eq!(phonetic("YUAN"), phonetic("IUAN"));
        assert_eq!(phonetic("MOHAMMED"), phonetic("MOHAMED"));
        assert_eq!(phonetic("MUHAMMAD"), phonetic("MOUHAMAD"));
        assert_eq!(phonetic("SHERIF"), phonetic("CHERIF"));
        assert_eq!(phonetic("DJAMEL"), phonetic("JAMEL"));
        assert_eq!(phonetic("KHALID"), phonetic("HALID"));
        assert_ne!(phonetic("KARADZIC"), phonetic("KARIMOV"));
        assert_eq!(phonetic("11420"), "11420");
    }

    #[test]
    fn skeletons_match_arabic_script_romanisation() {
        // Latin spellings against the romanised Arabic letters.
        assert_eq!(skeleton("MUHAMMAD"), skeleton("MHMD"));
        assert_eq!(skeleton("MAHMOUD"), skeleton("MHMWD"));
        assert_eq!(skeleton("USAMA"), skeleton("ASAMA"));
        assert_eq!(skeleton("LADIN"), skeleton("LADN"));
        assert_eq!(skeleton("ZAWAHIRI"), skeleton("ZWAHRY"));
        assert_eq!(skeleton("ABDUL"), "ABDL");
    }

    #[test]
    fn trigrams_are_padded_and_distinct() {
        let mut t = Vec::new();
        trigrams("ABAB", &mut t);
        // $AB ABA BAB AB$ : ABA and BAB once each.
        assert_eq!(t.len(), 4);
        assert!(t.iter().all(|&k| (k as usize) < TRIGRAM_SPACE));
        trigrams("", &mut t);
        assert!(t.is_empty());
    }
}
