//! The word lists: honorifics, company legal forms and generic words.
//!
//! Every list works on folded tokens (upper-case ASCII, punctuation split), so
//! `S.A.` arrives here as `S`, `A` and `L.L.C.` as `L`, `L`, `C`.

/// Titles and honorifics, dropped from a name when anything else is left.
///
/// Forms of address (`MR`, `MRS`, `MS`, `MISS`, `MX`, `DR`, `PROF`, `SIR`,
/// `DAME`, `LORD`, `LADY`, `HERR`, `FRAU`, `MME`, `MLLE`, `SENOR`, `SENORA`,
/// `SRA`), name suffixes (`JR`, `SNR`, `JNR`, `ESQ`) and religious titles that
/// OFAC and others prefix to Arabic, Persian and Pashto names (`SHEIKH`,
/// `SHAIKH`, `SHAYKH`, `SHEIK`, `HAJI`, `HAJJI`, `HADJI`, `HAJ`, `HAJJ`,
/// `MULLAH`, `MULLA`, `MAULANA`, `MAWLANA`, `MAULAVI`, `MAULVI`, `MAWLAWI`,
/// `MAWLAVI`, `MOULAVI`, `QARI`, `AYATOLLAH`, `HOJATOLESLAM`). Words that are
/// also common given names or surnames (`IMAM`, `SAYED`, `DON`, `SR`) are not
/// on the list.
pub(crate) fn is_honorific(token: &str) -> bool {
    matches!(
        token,
        "MR" | "MRS"
            | "MS"
            | "MISS"
            | "MX"
            | "DR"
            | "PROF"
            | "PROFESSOR"
            | "SIR"
            | "DAME"
            | "LORD"
            | "LADY"
            | "HERR"
            | "FRAU"
            | "MME"
            | "MLLE"
            | "SENOR"
            | "SENORA"
            | "SRA"
            | "JR"
            | "SNR"
            | "JNR"
            | "ESQ"
            | "SHEIKH"
            | "SHAIKH"
            | "SHAYKH"
            | "SHEIK"
            | "HAJI"
            | "HAJJI"
            | "HADJI"
            | "HAJ"
            | "HAJJ"
            | "MULLAH"
            | "MULLA"
            | "MAULANA"
            | "MAWLANA"
            | "MAULAVI"
            | "MAULVI"
            | "MAWLAWI"
            | "MAWLAVI"
            | "MOULAVI"
            | "QARI"
            | "AYATOLLAH"
            | "HOJATOLESLAM"
    )
}

/// The canonical legal form a single token stands for, if it is one.
///
/// Spellings of one legal form share a canonical token, so `LIMITED` and
/// `LTD` are equal, as are the Russian `OAO`, `ZAO`, `PAO`, `AO` and the
/// English `JSC`, `OJSC`, `CJSC`, `PJSC` (all joint-stock companies), and `OOO`,
/// `TOV` and `LLC` (limited liability companies). Canonical tokens map to
/// themselves.
pub(crate) fn canonical_legal_form(token: &str) -> Option<&'static str> {
    Some(match token {
        "LTD" | "LIMITED" | "LTDA" | "LIMITADA" => "LTD",
        "CO" | "COMPANY" | "COMPANIA" | "COMPAGNIE" | "CIA" | "CIE" | "KOMPANIYA" | "KOMPANY"
        | "SHARIKAT" | "SHARIKA" | "SHIRKAT" | "SHERKAT" | "SHERKATE" => "CO",
        "CORP" | "CORPORATION" | "CORPORACION" => "CORP",
        "INC" | "INCORPORATED" => "INC",
        "LLC" | "OOO" | "TOV" => "LLC",
        "LLP" | "TOO" => "LLP",
        "JSC" | "OJSC" | "CJSC" | "PJSC" | "OAO" | "ZAO" | "PAO" | "AO" | "ZAT" | "AOOT" => "JSC",
        "JSCB" | "OJSCB" | "PJSCB" | "CJSCB" | "AKB" | "OAKB" | "ZAKB" | "PAKB" => "JSCB",
        "GMBH" => "GMBH",
        "AG" | "AKTIENGESELLSCHAFT" => "AG",
        "SA" => "SA",
        "SADECV" => "SADECV",
        "SRLDECV" => "SRLDECV",
        "SAPI" => "SAPI",
        "SRL" => "SRL",
        "SARL" | "SARLU" => "SARL",
        "SAU" => "SAU",
        "SAS" | "SASU" => "SAS",
        "SPA" => "SPA",
        "BV" => "BV",
        "NV" => "NV",
        "PLC" => "PLC",
        "FZE" => "FZE",
        "FZCO" => "FZCO",
        "FZC" => "FZC",
        "FZ" => "FZ",
        "KG" => "KG",
        "OY" | "OYJ" => "OY",
        "AB" => "AB",
        "AS" | "ASA" => "AS",
        "APS" => "APS",
        "PTE" | "PVT" => "PTE",
        "PTY" | "PROPRIETARY" => "PTY",
        "BHD" => "BHD",
        "SDNBHD" => "SDNBHD",
        "KFT" => "KFT",
        "ZRT" => "ZRT",
        "DOO" => "DOO",
        "OOD" | "EOOD" => "OOD",
        "SRO" => "SRO",
        "SPZOO" => "SPZOO",
        "STI" => "STI",
        "PT" => "PT",
        "TBK" => "TBK",
        "CV" => "CV",
        "KK" => "KK",
        "LP" => "LP",
        "CA" => "CA",
        "BSC" => "BSC",
        "PJS" => "PJS",
        "WLL" => "WLL",
        _ => return None,
    })
}

/// Multi-token legal forms, matched over canonical tokens (so `LIMITED
/// LIABILITY COMPANY` is matched as `LTD LIABILITY CO`), longest first at each
/// position. A phrase that starts with a one-letter token (`S A`, `B V`) is
/// only recognised after the first token of a name, so that initials such as
/// `S A KHAN` are left alone.
pub(crate) const PHRASES: &[(&[&str], &str)] = &[
    (&["PUBLIC", "JOINT", "STOCK", "CO"], "JSC"),
    (&["OPEN", "JOINT", "STOCK", "CO"], "JSC"),
    (&["CLOSED", "JOINT", "STOCK", "CO"], "JSC"),
    (&["JOINT", "STOCK", "COMMERCIAL", "BANK"], "JSCB"),
    (&["JOINT", "STOCK", "CO"], "JSC"),
    (&["JOINTSTOCK", "CO"], "JSC"),
    (&["PUBLICHNOE", "AKTSIONERNOE", "OBSHCHESTVO"], "JSC"),
    (&["PUBLICHNOYE", "AKTSIONERNOYE", "OBSHCHESTVO"], "JSC"),
    (&["OTKRYTOE", "AKTSIONERNOE", "OBSHCHESTVO"], "JSC"),
    (&["OTKRYTOYE", "AKTSIONERNOYE", "OBSHCHESTVO"], "JSC"),
    (&["ZAKRYTOE", "AKTSIONERNOE", "OBSHCHESTVO"], "JSC"),
    (&["ZAKRYTOYE", "AKTSIONERNOYE", "OBSHCHESTVO"], "JSC"),
    (&["AKTSIONERNOE", "OBSHCHESTVO"], "JSC"),
    (&["AKTSIONERNOYE", "OBSHCHESTVO"], "JSC"),
    (
        &["OBSHCHESTVO", "S", "OGRANICHENNOY", "OTVETSTVENNOSTYU"],
        "LLC",
    ),
    (
        &["OBSHCHESTVO", "S", "OGRANICHENNOI", "OTVETSTVENNOSTIU"],
        "LLC",
    ),
    (
        &["TOVARYSTVO", "Z", "OBMEZHENOYU", "VIDPOVIDALNISTYU"],
        "LLC",
    ),
    (
        &["TOVARISHCHESTVO", "S", "OGRANICHENNOY", "OTVETSTVENNOSTYU"],
        "LLP",
    ),
    (&["LTD", "LIABILITY", "CO"], "LLC"),
    (&["LTD", "LIABILITY", "PARTNERSHIP"], "LLP"),
    (&["LTD", "PARTNERSHIP"], "LP"),
    (&["PUBLIC", "LTD", "CO"], "PLC"),
    (&["PRIVATE", "LTD"], "PTE"),
    (&["FREE", "ZONE", "ESTABLISHMENT"], "FZE"),
    (&["FREE", "ZONE", "CO"], "FZCO"),
    (
        &["SOCIEDAD", "ANONIMA", "DE", "CAPITAL", "VARIABLE"],
        "SADECV",
    ),
    (&["SOCIEDAD", "ANONIMA"], "SA"),
    (&["SOCIETE", "ANONYME"], "SA"),
    (&["SOCIEDADE", "ANONIMA"], "SA"),
    (&["SOCIETA", "PER", "AZIONI"], "SPA"),
    (&["SOCIEDAD", "DE", "RESPONSABILIDAD", "LTD"], "SRL"),
    (&["SOCIETA", "A", "RESPONSABILITA", "LIMITATA"], "SRL"),
    (&["SOCIETE", "A", "RESPONSABILITE", "LIMITEE"], "SARL"),
    (&["GESELLSCHAFT", "MIT", "BESCHRANKTER", "HAFTUNG"], "GMBH"),
    (&["KABUSHIKI", "KAISHA"], "KK"),
    (&["BESLOTEN", "VENNOOTSCHAP"], "BV"),
    (&["NAAMLOZE", "VENNOOTSCHAP"], "NV"),
    (&["S", "A", "DE", "C", "V"], "SADECV"),
    (&["SA", "DE", "CV"], "SADECV"),
    (&["S", "A", "P", "I", "DE", "C", "V"], "SAPI"),
    (&["SAPI", "DE", "CV"], "SAPI"),
    (&["S", "DE", "R", "L", "DE", "C", "V"], "SRLDECV"),
    (&["S", "DE", "RL", "DE", "CV"], "SRLDECV"),
    (&["S", "DE", "R", "L"], "SRL"),
    (&["S", "DE", "RL"], "SRL"),
    (&["S", "A", "R", "L"], "SARL"),
    (&["S", "A", "S"], "SAS"),
    (&["S", "A", "U"], "SAU"),
    (&["S", "A"], "SA"),
    (&["S", "R", "L"], "SRL"),
    (&["S", "P", "A"], "SPA"),
    (&["S", "R", "O"], "SRO"),
    (&["SP", "Z", "O", "O"], "SPZOO"),
    (&["B", "V"], "BV"),
    (&["N", "V"], "NV"),
    (&["L", "L", "C"], "LLC"),
    (&["L", "L", "P"], "LLP"),
    (&["P", "L", "C"], "PLC"),
    (&["J", "S", "C"], "JSC"),
    (&["G", "M", "B", "H"], "GMBH"),
    (&["B", "S", "C"], "BSC"),
    (&["P", "J", "S", "C"], "JSC"),
    (&["W", "L", "L"], "WLL"),
    (&["SDN", "BHD"], "SDNBHD"),
    (&["C", "A"], "CA"),
];

/// Long words of legal forms, which are corrected when misspelled by one
/// letter (two for words of ten letters or more) with the same first letter:
/// `COMPANI`, `LIMTED`, `AKTZIONERNOE`, `OBSHCHESTWO`.
pub(crate) const LEGAL_WORDS: &[&str] = &[
    "COMPANY",
    "COMPANIA",
    "LIMITED",
    "LIMITADA",
    "LIABILITY",
    "CORPORATION",
    "INCORPORATED",
    "PARTNERSHIP",
    "AKTSIONERNOE",
    "AKTSIONERNOYE",
    "OBSHCHESTVO",
    "OGRANICHENNOY",
    "OTVETSTVENNOSTYU",
    "PUBLICHNOE",
    "PUBLICHNOYE",
    "OTKRYTOE",
    "ZAKRYTOE",
    "SOCIEDAD",
    "SOCIEDADE",
    "ANONIMA",
    "SOCIETE",
    "ANONYME",
    "RESPONSABILIDAD",
    "GESELLSCHAFT",
    "BESCHRANKTER",
    "KOMPANIYA",
    "AKTIENGESELLSCHAFT",
];

/// The legal-form word a misspelled word stands for, if any.
pub(crate) fn corrected_legal_word(word: &str) -> Option<&'static str> {
    if word.len() < 6 || LEGAL_WORDS.contains(&word) {
        return None;
    }
    let mut best: Option<(usize, &'static str)> = None;
    for &legal in LEGAL_WORDS {
        if legal.as_bytes().first() != word.as_bytes().first()
            || legal.len().abs_diff(word.len()) > 2
        {
            continue;
        }
        let allowed = if legal.len() >= 10 { 2 } else { 1 };
        let d = bounded_distance(word.as_bytes(), legal.as_bytes(), allowed);
        if d <= allowed && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, legal));
        }
    }
    best.map(|(_, legal)| legal)
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent
/// transpositions), or anything above `limit` once it is certain to exceed it.
fn bounded_distance(a: &[u8], b: &[u8], limit: usize) -> usize {
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut row: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        if let Some(first) = row.first_mut() {
            *first = i;
        }
        let mut row_min = i;
        for j in 1..width {
            let ca = a.get(i - 1);
            let cb = b.get(j - 1);
            let cost = usize::from(ca != cb);
            let sub = prev.get(j - 1).map_or(usize::MAX, |v| v + cost);
            let del = prev.get(j).map_or(usize::MAX, |v| v + 1);
            let ins = row.get(j - 1).map_or(usize::MAX, |v| v + 1);
            let mut value = sub.min(del).min(ins);
            if i > 1 && j > 1 && ca == b.get(j - 2) && a.get(i - 2) == cb {
                value = value.min(before.get(j - 2).map_or(usize::MAX, |v| v + 1));
            }
            if let Some(slot) = row.get_mut(j) {
                *slot = value;
            }
            row_min = row_min.min(value);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut row);
    }
    prev.get(b.len()).copied().unwrap_or(usize::MAX)
}

/// Legal forms that are split off the front of a word they are glued to
/// (`JSCARGUMENT` → `JSC ARGUMENT`). Only forms that begin no ordinary word.
pub(crate) const GLUED_PREFIXES: &[&str] = &["OJSC", "CJSC", "PJSC", "JSC", "OOO", "OAO"];

/// Legal forms that are split off the end of a word (`ARGUMENTLLC`).
pub(crate) const GLUED_SUFFIXES: &[&str] = &[
    "CORPORATION",
    "COMPANY",
    "LIMITED",
    "OJSC",
    "PJSC",
    "CJSC",
    "JSC",
    "LLC",
    "LTD",
    "GMBH",
    "OOO",
    "OAO",
    "ZAO",
    "PAO",
    "EOOD",
    "LTDA",
    "FZCO",
    "FZE",
    "LLP",
    "CORP",
];

/// The shortest word left after splitting a glued legal form off it.
pub(crate) const GLUED_MIN_REST: usize = 3;

/// Words that say what kind of organisation something is but not which one,
/// and name particles: they count for little in a match, and a match on them
/// alone is no match.
///
/// Organisation words (`BANK`, `NATIONAL`, `INTERNATIONAL`, `TRADING`,
/// `GROUP`, `HOLDING`, `INDUSTRIES`, `SERVICES`, `GENERAL`, `GLOBAL`, …),
/// function words in the list's languages (`OF`, `THE`, `AND`, `DE`, `LA`,
/// `VE`, …; not `LE`, a Vietnamese surname), and Arabic and other name particles (`AL`, `EL`, `BIN`, `IBN`,
/// `BINT`, `OULD`, `UL`, `UD`, `VAN`, `VON`, `DER`, `DOS`, …).
pub(crate) fn is_generic(token: &str) -> bool {
    matches!(
        token,
        // Organisation words.
        "BANK" | "BANCO" | "BANQUE" | "BANKA" | "NATIONAL" | "NACIONAL" | "NATIONALE"
            | "INTERNATIONAL" | "INTERNACIONAL" | "INTL" | "TRADING" | "TRADE" | "TRADERS"
            | "GROUP" | "GRUPO" | "GROUPE" | "HOLDING" | "HOLDINGS" | "INDUSTRIES"
            | "INDUSTRIAL" | "INDUSTRY" | "SERVICES" | "SERVICE" | "GENERAL" | "GLOBAL"
            | "ENTERPRISE" | "ENTERPRISES" | "COMMERCIAL" | "COMMERCE" | "IMPORT" | "EXPORT"
            | "IMPEX" | "IMP" | "EXP" | "INVESTMENT" | "INVESTMENTS" | "DEVELOPMENT"
            | "TECHNOLOGY" | "TECHNOLOGIES" | "ENGINEERING" | "CONSTRUCTION" | "MANAGEMENT"
            | "SHIPPING" | "MARITIME" | "LOGISTICS" | "ENERGY" | "PETROLEUM" | "EXCHANGE"
            | "FINANCIAL" | "FINANCE" | "CAPITAL" | "PARTNERS" | "ASSOCIATES" | "SOLUTIONS"
            | "SYSTEMS" | "PRODUCTS" | "MANUFACTURING" | "CENTER" | "CENTRE"
            | "ORGANIZATION" | "ORGANISATION" | "FOUNDATION" | "ASSOCIATION" | "INSTITUTE"
            | "AGENCY" | "UNITED" | "LINES" | "OBSHCHESTVO" | "SANAYI" | "TICARET" | "TIC"
            | "SAN" | "JITUAN" | "GONGSI" | "YOUXIAN" | "ZEREN" | "FGUP" | "GUP" | "NPO"
            | "NPP" | "NPK"
            // Function words.
            | "OF" | "THE" | "AND" | "FOR" | "IN" | "ON" | "AT" | "TO" | "DE" | "DEL" | "DELLA"
            | "DES" | "DU" | "DI" | "LA" | "LES" | "LOS" | "LAS" | "Y" | "E" | "ET"
            | "UND" | "VE"
            // Name particles.
            | "AL" | "EL" | "BIN" | "BEN" | "IBN" | "BINT" | "BINTI" | "OULD" | "UL" | "UD"
            | "VAN" | "VON" | "DER" | "DOS" | "DAS"
    )
}
