//! Character-level folding: non-Latin scripts to ASCII, diacritics, case.
//!
//! Cyrillic and Arabic use our own tables because OFAC romanises them in a
//! BGN/PCGN-like way (`Евгений` → `YEVGENIY`, `Х` → `KH`) that general-purpose
//! transliteration does not follow (it gives `Evgenii`). Every other script goes
//! through `deunicode`, which also folds Latin diacritics (`ü` → `u`, `ß` → `ss`,
//! `ø` → `o`, `ł` → `l`).

/// What one input character becomes.
pub(crate) enum Folded {
    /// ASCII text to append to the current word; may contain spaces, which
    /// split words (CJK syllables come out as `Jin `).
    Text(&'static str),
    /// One ASCII letter or digit, already upper case.
    Char(char),
    /// Nothing, and the word goes on: apostrophes (`O'BRIEN` → `OBRIEN`),
    /// combining marks, Arabic vowel signs, Cyrillic hard and soft signs.
    Skip,
    /// A word boundary: punctuation, symbols, emoji, spaces.
    Split,
}

/// The script a character came from, as far as matching cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    /// Latin, Cyrillic, Greek, CJK and everything written with its vowels.
    Full,
    /// Arabic or Hebrew: short vowels are not written, so only the
    /// consonants of the word can be compared.
    Abjad,
}

/// Folds one character; `prev` is the previous input character of the same
/// word, if any (Cyrillic `Е` is `YE` at the start of a word or after a vowel).
pub(crate) fn fold_char(c: char, prev: Option<char>) -> (Folded, Script) {
    if c.is_ascii() {
        return (fold_ascii(c), Script::Full);
    }
    let code = u32::from(c);
    match code {
        0x0400..=0x04FF => (cyrillic(c, prev), Script::Full),
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF => (arabic(c), Script::Abjad),
        // Arabic presentation forms: fold to the base letter first.
        0xFB50..=0xFDFF | 0xFE70..=0xFEFF => match deunicode::deunicode_char(c) {
            Some(s) => (text(s), Script::Abjad),
            None => (Folded::Split, Script::Full),
        },
        0x0590..=0x05FF => (hebrew(c), Script::Abjad),
        0x0900..=0x0DFF => (indic(c), Script::Full),
        _ => (other(c), Script::Full),
    }
}

fn fold_ascii(c: char) -> Folded {
    match c {
        'a'..='z' => Folded::Char(c.to_ascii_uppercase()),
        'A'..='Z' | '0'..='9' => Folded::Char(c),
        '\'' | '`' => Folded::Skip,
        _ => Folded::Split,
    }
}

/// Apostrophe-like characters that join the letters around them.
fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\u{2018}'
            | '\u{2019}'
            | '\u{201B}'
            | '\u{00B4}'
            | '\u{02B9}'
            | '\u{02BB}'
            | '\u{02BC}'
            | '\u{02BD}'
            | '\u{02BE}'
            | '\u{02BF}'
            | '\u{2032}'
            | '\u{FF07}'
    )
}

/// Combining marks that decorate the previous letter (decomposed diacritics).
fn is_combining(c: char) -> bool {
    matches!(
        u32::from(c),
        0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F
    )
}

fn other(c: char) -> Folded {
    if is_apostrophe(c) || is_combining(c) {
        return Folded::Skip;
    }
    // Only letters and digits carry a name; symbols and emoji split words
    // (deunicode would spell an emoji out as words).
    if !(c.is_alphabetic() || c.is_numeric()) {
        return Folded::Split;
    }
    match deunicode::deunicode_char(c) {
        Some(s) => text(s),
        None => Folded::Split,
    }
}

/// The Indic scripts (Devanagari, Bengali and the other Brahmic scripts of
/// India and Sri Lanka): as `deunicode` spells them, except that a long
/// vowel is one letter, as names from these scripts are written in Latin
/// letters (`আবু আলি` is Abu Ali, not Aabu Aali; `मेहता` is Mehta).
fn indic(c: char) -> Folded {
    match other(c) {
        Folded::Text(long) if long.eq_ignore_ascii_case("aa") => Folded::Text("a"),
        Folded::Text(long) if long.eq_ignore_ascii_case("ii") => Folded::Text("i"),
        Folded::Text(long) if long.eq_ignore_ascii_case("uu") => Folded::Text("u"),
        folded => folded,
    }
}

/// Wraps a transliteration; an empty one (e.g. a mark) joins the word.
fn text(s: &'static str) -> Folded {
    if s.is_empty() {
        Folded::Skip
    } else {
        Folded::Text(s)
    }
}

fn is_cyrillic_vowel(c: char) -> bool {
    matches!(
        c,
        'А' | 'Е'
            | 'Ё'
            | 'И'
            | 'О'
            | 'У'
            | 'Ы'
            | 'Э'
            | 'Ю'
            | 'Я'
            | 'Є'
            | 'І'
            | 'Ї'
            | 'а'
            | 'е'
            | 'ё'
            | 'и'
            | 'о'
            | 'у'
            | 'ы'
            | 'э'
            | 'ю'
            | 'я'
            | 'є'
            | 'і'
            | 'ї'
    )
}

/// BGN/PCGN-style romanisation of Russian, Ukrainian, Belarusian, Serbian and
/// Macedonian letters, as OFAC writes them.
fn cyrillic(c: char, prev: Option<char>) -> Folded {
    let lower = c.to_lowercase().next().unwrap_or(c);
    let iotated = match prev {
        None => true,
        Some(p) => is_cyrillic_vowel(p) || matches!(p, 'ъ' | 'ь' | 'Ъ' | 'Ь'),
    };
    let s = match lower {
        'а' => "A",
        'б' => "B",
        'в' => "V",
        'г' | 'ґ' => "G",
        'д' => "D",
        'е' | 'ё' if iotated => "YE",
        'е' | 'ё' | 'э' => "E",
        'є' => "YE",
        'ж' => "ZH",
        'з' => "Z",
        'и' | 'і' => "I",
        'ї' => "YI",
        'й' => "Y",
        'к' => "K",
        'л' => "L",
        'м' => "M",
        'н' => "N",
        'о' => "O",
        'п' => "P",
        'р' => "R",
        'с' => "S",
        'т' => "T",
        'у' | 'ў' => "U",
        'ф' => "F",
        'х' => "KH",
        'ц' => "TS",
        'ч' => "CH",
        'ш' => "SH",
        'щ' => "SHCH",
        'ъ' | 'ь' => return Folded::Skip,
        'ы' => "Y",
        'ю' => "YU",
        'я' => "YA",
        'ђ' => "DJ",
        'ј' => "J",
        'љ' => "LJ",
        'њ' => "NJ",
        'ћ' => "C",
        'џ' | 'ѕ' => "DZ",
        'ѓ' => "GJ",
        'ќ' => "KJ",
        _ => return other(c),
    };
    Folded::Text(s)
}

/// Arabic and Persian letters to the usual English romanisation. Short vowel
/// signs give their vowel when a text has them; `ع` is written `A` because
/// English spellings put a vowel there (`عبد` → `ABD`).
fn arabic(c: char) -> Folded {
    let s = match c {
        'ء' | 'ؤ' | 'ئ' | 'ـ' => return Folded::Skip,
        'آ' | 'أ' | 'ا' | 'ٱ' | 'ى' | 'ع' | 'ة' => "A",
        'إ' => "I",
        'ب' => "B",
        'ت' => "T",
        'ث' => "TH",
        'ج' => "J",
        'ح' | 'ه' | 'ە' => "H",
        'خ' => "KH",
        'د' => "D",
        'ذ' => "DH",
        'ر' => "R",
        'ز' => "Z",
        'س' => "S",
        'ش' => "SH",
        'ص' => "S",
        'ض' => "D",
        'ط' => "T",
        'ظ' => "Z",
        'غ' => "GH",
        'ف' => "F",
        'ق' => "Q",
        'ك' | 'ک' => "K",
        'ل' => "L",
        'م' => "M",
        'ن' => "N",
        'و' => "W",
        'ي' | 'ی' => "Y",
        'پ' => "P",
        'چ' => "CH",
        'ژ' => "ZH",
        'گ' => "G",
        // Fatha, damma, kasra.
        '\u{064E}' => "A",
        '\u{064F}' => "U",
        '\u{0650}' => "I",
        // Other vowel signs, shadda, sukun, tanween, superscript alef.
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' => return Folded::Skip,
        _ => return other(c),
    };
    Folded::Text(s)
}

fn hebrew(c: char) -> Folded {
    match u32::from(c) {
        // Maqaf (the Hebrew hyphen) and punctuation.
        0x05BE | 0x05C0 | 0x05C3 | 0x05C6 | 0x05F3 | 0x05F4 => Folded::Split,
        // Points and cantillation marks.
        0x0591..=0x05C7 => Folded::Skip,
        _ => other(c),
    }
}
