//! The namesake rule and the per-locale tallies the precision benchmark
//! reports, on hand-made names.

use cordon_screening::precision::{Tallies, Tally, holds_namesake, is_namesake};
use cordon_screening::screener::{Explanation, Hit, PartyKind, Query, Screener};
use cordon_screening::{EntryKind, ListEntry};

const PERSON: EntryKind = EntryKind::Individual;
const ORG: EntryKind = EntryKind::Entity;

#[test]
fn the_same_given_name_and_surname_is_a_namesake() {
    assert!(is_namesake("Olga Timchenko", "TIMCHENKO, Olga", PERSON));
    assert!(is_namesake("TIMCHENKO Olga", "TIMCHENKO, Olga", PERSON));
    assert!(is_namesake("Olga Timchenko", "Olga TIMCHENKO", PERSON));
}

#[test]
fn spelling_variants_at_or_above_the_similarity_are_the_same_name() {
    // MOHAMED/MOHAMMED: Jaro–Winkler 0.98.
    assert!(is_namesake("Mohamed Ali", "ALI, Mohammed", PERSON));
    // Diacritics and Cyrillic go through the screener's normalisation first.
    assert!(is_namesake("Radovan Karadžić", "KARADZIC, Radovan", PERSON));
    assert!(is_namesake("Ольга Тимченко", "TIMCHENKO, Olga", PERSON));
}

#[test]
fn a_different_given_name_is_not_a_namesake() {
    // JOHN/JOAN: Jaro–Winkler 0.87.
    assert!(!is_namesake("Joan Smith", "SMITH, John", PERSON));
    assert!(!is_namesake("Laura Karadzic", "KARADZIC, Radovan", PERSON));
}

#[test]
fn an_entry_given_name_the_query_lacks_is_not_a_namesake() {
    // A patronymic or middle name left over means the entry names someone
    // with more names.
    assert!(!is_namesake(
        "Yevgeniy Prigozhin",
        "PRIGOZHIN, Yevgeniy Viktorovich",
        PERSON
    ));
    assert!(!is_namesake("Wei Zhang", "ZHANG, Wei Ming", PERSON));
    // Without a comma only the last token is in surname position.
    assert!(!is_namesake("Wei Zhang", "Wei Ming ZHANG", PERSON));
}

#[test]
fn one_second_surname_the_query_lacks_is_still_a_namesake() {
    assert!(is_namesake(
        "Jorge Quispe",
        "QUISPE PALOMINO, Jorge",
        PERSON
    ));
    assert!(is_namesake(
        "Jorge Palomino",
        "QUISPE PALOMINO, Jorge",
        PERSON
    ));
    // Without a comma the last token is the surname position.
    assert!(is_namesake("Jorge", "Jorge QUISPE", PERSON));
    // But only one.
    assert!(!is_namesake("Jorge", "QUISPE PALOMINO, Jorge", PERSON));
}

#[test]
fn a_query_token_the_entry_lacks_is_not_a_namesake() {
    assert!(!is_namesake(
        "Olga Petrovna Timchenko",
        "TIMCHENKO, Olga",
        PERSON
    ));
    // Each entry token pairs with one query token only.
    assert!(!is_namesake("Ali Ali", "ALI, Hassan", PERSON));
}

#[test]
fn pairing_looks_past_the_first_choice() {
    // The query's ALI must take the given ALI so that the token left over is
    // the surname ALI; pairing it with the first ALI leaves a given name over.
    assert!(is_namesake("Ali Hassan", "ALI, Ali Hassan", PERSON));
    // Two query tokens alike to the same two entry tokens pair crosswise.
    assert!(is_namesake("Mohamed Mohammed", "MOHAMMED, Mohamed", PERSON));
}

#[test]
fn syllables_written_apart_pair_with_one_word() {
    // Transliteration splits Chinese given names into syllables.
    assert!(is_namesake("李桂花", "LI, Guihua", PERSON));
    assert!(is_namesake("Guihua Li", "LI, Gui Hua", PERSON));
    // Only neighbours join.
    assert!(!is_namesake("Gui Li Hua", "LI, Guihua", PERSON));
    // A surname and a given name never join in an entry name.
    assert!(!is_namesake("Liguihua", "LI, Guihua", PERSON));
}

#[test]
fn honorifics_particles_and_legal_forms_are_left_out() {
    assert!(is_namesake("Dr. Ali Hassan", "AL HASSAN, Ali", PERSON));
    // Particles are neither given names nor surnames, on either side.
    assert!(is_namesake("Jan Berg", "VAN DER BERG, Jan", PERSON));
    assert!(is_namesake("Jan van der Berg", "BERG, Jan", PERSON));
    assert!(is_namesake("Acme Trading Ltd", "ACME TRADING LLC", ORG));
}

#[test]
fn an_organisation_must_have_every_word() {
    assert!(!is_namesake("Acme", "ACME TRADING LLC", ORG));
    assert!(!is_namesake("Acme Trading", "ACME", ORG));
    // No surname position in a company name: the spare-token allowance is
    // for individuals only.
    assert!(!is_namesake("Melli Iran", "BANK MELLI IRAN", ORG));
}

#[test]
fn arabic_script_is_compared_by_consonants() {
    assert!(is_namesake("محمد علي", "ALI, Muhammad", PERSON));
    assert!(!is_namesake("محمد علي", "ALI, Ahmad", PERSON));
}

#[test]
fn nothing_to_compare_is_not_a_namesake() {
    assert!(!is_namesake("", "SMITH, John", PERSON));
    assert!(!is_namesake("Ltd", "ACME LTD", ORG));
    assert!(!is_namesake("John Smith", "", PERSON));
}

/// A listed individual with these names, the first the primary one, as the
/// list readers would give it.
fn listed_person(uid: &str, names: &[&str]) -> ListEntry {
    serde_json::from_value(serde_json::json!({
        "list": "SDN",
        "uid": uid,
        "kind": "individual",
        "names": names.iter().map(|n| serde_json::json!({"text": n, "kind": "aka"})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

fn hit(entry: usize, name: usize) -> Hit {
    Hit {
        entry,
        name,
        score: 0.9,
        explanation: Explanation::default(),
    }
}

#[test]
fn a_hold_is_a_namesake_when_any_hit_is_on_a_name_the_query_bears() {
    let screener = Screener::new(vec![
        listed_person(
            "1",
            &["PRIGOZHIN, Yevgeniy Viktorovich", "PRIGOZHIN, Yevgeniy"],
        ),
        listed_person("2", &["KARADZIC, Radovan"]),
    ]);
    let query = "Yevgeniy Prigozhin";
    // The rule reads the name that hit, not the entry's other names.
    assert!(!holds_namesake(&screener, query, &[hit(0, 0)]));
    assert!(holds_namesake(&screener, query, &[hit(0, 1)]));
    assert!(holds_namesake(&screener, query, &[hit(1, 0), hit(0, 1)]));
    assert!(!holds_namesake(&screener, query, &[]));
    // A hit pointing outside the screener counts as nothing.
    assert!(!holds_namesake(&screener, query, &[hit(7, 0), hit(0, 9)]));

    let hits = screener.screen(&Query::new("Radovan Karadzic").with_kind(PartyKind::Person));
    assert!(!hits.is_empty());
    assert!(holds_namesake(&screener, "Radovan Karadzic", &hits));
}

#[test]
fn tallies_keep_first_seen_order_and_count_namesakes_only_when_held() {
    let mut t = Tallies::default();
    t.record("ru_RU", true, true);
    t.record("en_US", false, true);
    t.record("ru_RU", true, false);
    t.record("ru_RU", false, false);
    t.record("en_US", true, false);
    let groups: Vec<&str> = t.iter().map(|(g, _)| g).collect();
    assert_eq!(groups, ["ru_RU", "en_US"]);
    let ru = *t.get("ru_RU").unwrap();
    assert_eq!(
        ru,
        Tally {
            screened: 3,
            held: 2,
            namesakes: 1
        }
    );
    assert_eq!(ru.other_holds(), 1);
    assert!((ru.hold_rate() - 200.0 / 3.0).abs() < 1e-9);
    assert!((ru.other_hold_rate() - 100.0 / 3.0).abs() < 1e-9);
    let en = *t.get("en_US").unwrap();
    assert_eq!((en.screened, en.held, en.namesakes), (2, 1, 0));
    assert_eq!(
        t.total(),
        Tally {
            screened: 5,
            held: 3,
            namesakes: 1
        }
    );
    assert_eq!(t.get("fa_IR"), None);
    assert_eq!(Tally::default().other_hold_rate(), 0.0);
}

#[test]
fn the_negative_set_is_well_formed_and_large_enough() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/negatives.tsv"
    ))
    .unwrap();
    assert!(!text.contains('\r') && !text.contains('"'));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("query\tkind\tlocale"));
    let mut seen = std::collections::HashSet::new();
    let mut persons = Tallies::default();
    let mut orgs = 0;
    for (i, line) in lines.enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "negatives.tsv:{}: `{line}`", i + 2);
        assert!(!cols[0].trim().is_empty() && cols[0].trim() == cols[0]);
        assert!(seen.insert(line), "negatives.tsv:{}: repeated", i + 2);
        match cols[1] {
            "person" => persons.record(cols[2], false, false),
            "org" => orgs += 1,
            k => panic!("negatives.tsv:{}: kind `{k}`", i + 2),
        }
    }
    assert!(persons.iter().count() >= 20);
    assert!(persons.iter().all(|(_, t)| t.screened >= 250));
    assert!(persons.total().screened >= 5_000);
    assert!(orgs >= 1_000);
}
