//! Score adjustments and explanations: what a reviewer reads next to a hit.

use crate::EntryKind;
use crate::normalize::Role;

use super::index::{Index, IndexedName};
use super::query::Prepared;
use super::score::{
    Aligned, FOUR_LETTER_SIMILARITY, OTHER_INITIAL_SIMILARITY, Pair, PairingRefusal,
    SHORT_SKELETON_LEN, SHORT_TOKEN_LEN, SOLE_PAIR_SIMILARITY, SYLLABLE_SIMILARITY,
    WEAK_EVIDENCE_CAP, WeakEvidence, combine, pairing_refusal,
};
use super::{
    BIRTH_YEAR_BONUS, BIRTH_YEAR_PENALTY, COMPANY_VESSEL_PENALTY, COUNTRY_BONUS, COUNTRY_PENALTY,
    Explanation, GENERIC_ONLY_CAP, PartyKind, Query, Screener, TokenMatch, WEAK_ALIAS_PENALTY,
};

/// The final score with kind, weak-alias, country and birth-year
/// adjustments, noting each when an explanation is asked for.
pub(crate) fn adjusted(
    screener: &Screener,
    query: &Query<'_>,
    prepared: &Prepared,
    name: &IndexedName,
    aligned: &Aligned,
    mut notes: Option<&mut Explanation>,
) -> f64 {
    let mut note = |s: String| {
        if let Some(e) = notes.as_deref_mut() {
            e.notes.push(s);
        }
    };
    let query_is_company = prepared
        .tokens
        .iter()
        .any(|t| t.key.role == Role::LegalForm);
    let mut score = aligned.base();
    note(format!(
        "query coverage {:.2}, entry coverage {:.2}: base score {:.3}",
        aligned.query_coverage,
        aligned.entry_coverage,
        combine(aligned.query_coverage, aligned.entry_coverage)
    ));
    if !aligned.informative && !aligned.exact {
        note(format!(
            "only generic words or legal forms match: score capped at {GENERIC_ONLY_CAP}"
        ));
    }
    match aligned.weak {
        Some(WeakEvidence::OneOfSeveral(more)) => note(format!(
            "one query word alone matches and the entry has {more} more \
             word{}: score capped at {WEAK_EVIDENCE_CAP}",
            if more == 1 { "" } else { "s" }
        )),
        Some(WeakEvidence::Fuzzy(sim)) => note(format!(
            "the one matching word is only alike ({sim:.3}, under \
             {SOLE_PAIR_SIMILARITY}): score capped at {WEAK_EVIDENCE_CAP}"
        )),
        Some(WeakEvidence::FewConsonants(sim)) => note(format!(
            "the one matching word has only {SHORT_SKELETON_LEN} consonants or fewer, matched \
             on them ({sim:.3}): score capped at {WEAK_EVIDENCE_CAP}"
        )),
        Some(WeakEvidence::OtherInitial(sim)) => note(format!(
            "a word pairs only alike ({sim:.3}, under {OTHER_INITIAL_SIMILARITY}) with a word \
             of another initial and the entry has a word the query lacks: score capped at \
             {WEAK_EVIDENCE_CAP}"
        )),
        Some(WeakEvidence::SyllablesOnly(left)) => note(format!(
            "only one-syllable words match and {left} \
             word{} of the query or entry {} left over: score capped at {WEAK_EVIDENCE_CAP}",
            if left == 1 { "" } else { "s" },
            if left == 1 { "is" } else { "are" }
        )),
        None => {}
    }
    match (query.kind, name.kind) {
        (Some(kind), entry_kind) => note(format!(
            "kind: {} query, {} entry",
            match kind {
                PartyKind::Person => "person",
                PartyKind::Organization => "organization",
            },
            kind_word(entry_kind)
        )),
        (None, k @ (EntryKind::Vessel | EntryKind::Aircraft)) => note(format!(
            "the entry is {}; a query with a kind of party excludes vessels and aircraft",
            if k == EntryKind::Vessel {
                "a vessel"
            } else {
                "an aircraft"
            }
        )),
        (None, _) => {}
    }
    if matches!(name.kind, EntryKind::Vessel | EntryKind::Aircraft) && query_is_company {
        score -= COMPANY_VESSEL_PENALTY;
        note(format!(
            "the query has a company legal form and the entry is {}: -{COMPANY_VESSEL_PENALTY}",
            if name.kind == EntryKind::Vessel {
                "a vessel"
            } else {
                "an aircraft"
            }
        ));
    }
    if name.weak {
        score -= WEAK_ALIAS_PENALTY;
        note(format!(
            "matched a weak alias (given only in the list's remarks): -{WEAK_ALIAS_PENALTY}"
        ));
    }
    let entry = screener.entries.get(name.entry as usize);
    if let (Some(country), Some(entry)) = (query.country, entry)
        && !entry.countries.is_empty()
    {
        if entry.countries.contains(&country) {
            score += COUNTRY_BONUS;
            note(format!(
                "country {country} is one of the entry's: +{COUNTRY_BONUS}"
            ));
        } else {
            score -= COUNTRY_PENALTY;
            note(format!(
                "country {country} is not one of the entry's ({}): -{COUNTRY_PENALTY}",
                entry
                    .countries
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if let (Some(year), Some(entry)) = (query.birth_year, entry)
        && !entry.birth_years.is_empty()
    {
        let closest = entry
            .birth_years
            .iter()
            .map(|&y| y.abs_diff(year))
            .min()
            .unwrap_or(u16::MAX);
        match closest {
            0 => {
                score += BIRTH_YEAR_BONUS;
                note(format!(
                    "birth year {year} is one of the entry's: +{BIRTH_YEAR_BONUS}"
                ));
            }
            1 => {
                score += BIRTH_YEAR_BONUS / 3.0;
                note(format!(
                    "birth year {year} is a year from one of the entry's: +{:.2}",
                    BIRTH_YEAR_BONUS / 3.0
                ));
            }
            _ => {
                score -= BIRTH_YEAR_PENALTY;
                note(format!(
                    "birth year {year} is {closest} years from the entry's nearest: -{BIRTH_YEAR_PENALTY}"
                ));
            }
        }
    }
    score.clamp(0.0, 1.0)
}

fn kind_word(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Individual => "individual",
        EntryKind::Entity => "entity",
        EntryKind::Vessel => "vessel",
        EntryKind::Aircraft => "aircraft",
    }
}

/// Fills the token list of an explanation and notes unmatched entry tokens.
pub(crate) fn explain_tokens(
    index: &Index,
    prepared: &Prepared,
    name: &IndexedName,
    aligned: &Aligned,
    explanation: &mut Explanation,
) {
    let slots = index.tokens_of(name);
    let entry_text = |p: &Pair| -> String {
        (p.e.0..=p.e.1)
            .filter_map(|j| slots.get(j))
            .map(|&s| index.text(s))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (i, t) in prepared.tokens.iter().enumerate() {
        let pair = aligned.pairs.iter().find(|p| p.q.0 <= i && i <= p.q.1);
        explanation.tokens.push(TokenMatch {
            query: t.key.text.clone(),
            matched: pair.map(entry_text),
            similarity: pair.map_or(0.0, |p| round(p.sim)),
            weight: round(t.weight / prepared.weight),
        });
    }
    // Unmatched query words whose nearest entry word the pairing rules
    // turned down, so a reviewer sees why a near miss did not count.
    let rejected: Vec<String> = prepared
        .tokens
        .iter()
        .enumerate()
        .filter(|&(i, t)| !t.key.abjad && !aligned.pairs.iter().any(|p| p.q.0 <= i && i <= p.q.1))
        .filter_map(|(_, t)| {
            // An entry word left unmatched is the near miss a reviewer
            // wants to see, before one the query matched otherwise.
            let (_, entry, sim, refusal) = slots
                .iter()
                .enumerate()
                .filter_map(|(j, &s)| {
                    let sim = t.matches.get(s);
                    let entry = index.text(s);
                    let refusal = pairing_refusal(&t.key.text, t.key.text.len(), entry, sim);
                    let free = !aligned.pairs.iter().any(|p| p.e.0 <= j && j <= p.e.1);
                    (sim > 0.0).then_some((free, entry, sim, refusal?))
                })
                .max_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)))?;
            let why = match refusal {
                PairingRefusal::Short => {
                    format!("words of {SHORT_TOKEN_LEN} letters or fewer must be spelled the same")
                }
                PairingRefusal::FourLetters => {
                    format!("four-letter words must be at least {FOUR_LETTER_SIMILARITY} alike")
                }
                PairingRefusal::Syllables => format!(
                    "one-syllable words must sound the same (at least {SYLLABLE_SIMILARITY})"
                ),
            };
            Some(format!(
                "{} is like {entry} ({sim:.3}) but not counted: {why}",
                t.key.text
            ))
        })
        .collect();
    explanation.notes.extend(rejected);
    let unmatched: Vec<&str> = slots
        .iter()
        .enumerate()
        .filter(|&(j, _)| !aligned.pairs.iter().any(|p| p.e.0 <= j && j <= p.e.1))
        .map(|(_, &s)| index.text(s))
        .collect();
    if !unmatched.is_empty() {
        // After the coverage note, which always comes first.
        let at = explanation.notes.len().min(1);
        explanation.notes.insert(
            at,
            format!("entry tokens not in the query: {}", unmatched.join(" ")),
        );
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
