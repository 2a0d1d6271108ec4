//! How a hit's name aligns with its list entry, token by token: the
//! screener run again on the one entry, so the reviewer sees which of the
//! account's tokens met which of the entry's and how closely.

use cordon_screening::ListEntry;
use cordon_screening::screener::{Explanation, PartyKind, Query, Screener};
use maud::{Markup, html};

/// The alignment of `name` with `entry`'s best-scoring name, and that
/// score; `None` when no name of the entry aligns at all.
///
/// Screened with the kind of party the account was screened as (the one
/// that admits the entry), so the kind's note and rules are those of the
/// stored hit.
pub fn explain(entry: &ListEntry, name: &str) -> Option<(f64, Explanation)> {
    let screener = Screener::new(vec![entry.clone()]);
    let mut query = Query::new(name).with_kind(PartyKind::of_entry(entry.kind));
    query.threshold = 0.0;
    query.limit = 1;
    screener
        .screen(&query)
        .into_iter()
        .next()
        .map(|h| (h.score, h.explanation))
}

/// The explanation as a table, one row per token of the account's name,
/// and its notes.
pub fn table(label: &str, score: f64, e: &Explanation) -> Markup {
    html! {
        p { "Aligned on the name alone (the stored score also weighs country and year of birth): "
            strong { (format!("{score:.2}")) } "." }
        div class="scroll" role="region" tabindex="0" aria-label=(label) { table {
            thead { tr { th scope="col" { "Token of the account's name" } th scope="col" { "Entry token it met" }
                th scope="col" { "Similarity" } th scope="col" { "Weight" } } }
            tbody { @for t in &e.tokens { tr {
                td { code { (t.query) } }
                td { @if let Some(m) = &t.matched { code { (m) } } @else { "none" } }
                td { (format!("{:.2}", t.similarity)) }
                td { (format!("{:.0} %", t.weight * 100.0)) }
            } } }
        } }
        @if !e.notes.is_empty() { ul { @for n in &e.notes { li { (n) } } } }
    }
}

/// The list entry as the list gives it.
pub fn entry(e: &ListEntry) -> Markup {
    html! {
        dl class="entry" {
            dt { "Names" }
            dd { ul { @for n in &e.names { li { (n.text) " " span class="muted" { "(" (format!("{:?}", n.kind).to_lowercase()) ")" } } } } }
            dt { "Kind" } dd { (format!("{:?}", e.kind).to_lowercase()) }
            @if !e.programs.is_empty() { dt { "Programs" } dd { (e.programs.join(", ")) } }
            @if !e.countries.is_empty() {
                dt { "Countries" }
                dd { (e.countries.iter().map(|c| c.as_str().to_owned()).collect::<Vec<_>>().join(", ")) }
            }
            @if !e.addresses.is_empty() {
                dt { "Addresses" }
                dd { ul { @for a in &e.addresses { li { (a.text) @if let Some(c) = &a.country { ", " (c) } } } } }
            }
            @if !e.birth_years.is_empty() {
                dt { "Years of birth" }
                dd { (e.birth_years.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")) }
            }
            @if let Some(r) = &e.remarks { dt { "Remarks" } dd { (r) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use cordon_screening::{EntryKind, EntryName, ListEntry, NameKind};
    use cordon_subject::RestrictedList;

    fn entry(kind: EntryKind, name: &str) -> ListEntry {
        ListEntry {
            list: RestrictedList::Sdn,
            uid: "1".to_owned(),
            kind,
            names: vec![EntryName {
                text: name.to_owned(),
                kind: NameKind::Primary,
            }],
            programs: Vec::new(),
            addresses: Vec::new(),
            countries: Vec::new(),
            birth_years: Vec::new(),
            remarks: None,
        }
    }

    #[test]
    fn a_hit_is_explained_with_the_kind_its_account_was_screened_as() {
        let (_, person) = super::explain(
            &entry(EntryKind::Individual, "KARADZIC, Radovan"),
            "Radovan Karadzic",
        )
        .unwrap();
        assert!(
            person
                .notes
                .iter()
                .any(|n| n == "kind: person query, individual entry")
        );
        let (_, ship) = super::explain(&entry(EntryKind::Vessel, "FOREST"), "Forest").unwrap();
        assert!(
            ship.notes
                .iter()
                .any(|n| n == "kind: organization query, vessel entry"),
            "{:?}",
            ship.notes
        );
    }
}
