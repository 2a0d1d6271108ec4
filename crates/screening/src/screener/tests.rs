use super::*;
use crate::{EntryName, NameKind};
use cordon_subject::RestrictedList;
use score::WEAK_EVIDENCE_CAP;

fn entry(uid: &str, kind: EntryKind, names: &[&str]) -> ListEntry {
    ListEntry {
        list: RestrictedList::Sdn,
        uid: uid.to_owned(),
        kind,
        names: names
            .iter()
            .enumerate()
            .map(|(i, n)| EntryName {
                text: (*n).to_owned(),
                kind: if i == 0 {
                    NameKind::Primary
                } else {
                    NameKind::Aka
                },
            })
            .collect(),
        programs: Vec::new(),
        addresses: Vec::new(),
        countries: Vec::new(),
        birth_years: Vec::new(),
        remarks: None,
    }
}

/// A small list with enough ordinary names that token rarity means something.
fn screener() -> Screener {
    with_fillers(vec![
        entry("1", EntryKind::Individual, &["KARADZIC, Radovan"]),
        entry(
            "2",
            EntryKind::Individual,
            &["PRIGOZHIN, Yevgeniy Viktorovich", "PRIGOZHIN, Evgeny"],
        ),
        entry("3", EntryKind::Entity, &["JSC ARGUMENT"]),
        entry("4", EntryKind::Entity, &["BANK MELLI IRAN", "BANK MELLI"]),
        entry("5", EntryKind::Vessel, &["FOREST"]),
        entry("6", EntryKind::Individual, &["YASIN, Abdul Rahman"]),
        entry("7", EntryKind::Entity, &["11420 CORP."]),
        entry("8", EntryKind::Individual, &["QADHAFI, Muammar"]),
        entry("9", EntryKind::Entity, &["M INVEST, OOO"]),
        entry("10", EntryKind::Aircraft, &["EP-IBN"]),
    ])
}

/// `entries` and ordinary names after them (uids `f0`, `f1`, …), so that
/// token rarity means something in a small list.
fn with_fillers(mut entries: Vec<ListEntry>) -> Screener {
    let fillers = [
        "SMIRNOV, Ivan",
        "PETROV, Sergey",
        "AHMED, Ali",
        "HASSAN, Omar",
        "KHAN, Imran",
        "WANG, Li",
        "ZHANG, Wei",
        "LOPEZ, Maria",
        "GARCIA, Jose",
        "MULLER, Hans",
        "NATIONAL TRADING COMPANY",
        "GLOBAL SHIPPING LLC",
        "UNITED BANK",
        "TRADING HOUSE LTD",
    ];
    for (i, f) in fillers.iter().enumerate() {
        let kind = if f.contains(',') {
            EntryKind::Individual
        } else {
            EntryKind::Entity
        };
        entries.push(entry(&format!("f{i}"), kind, &[f]));
    }
    Screener::new(entries)
}

fn top(s: &Screener, q: &Query<'_>) -> Option<(String, f64)> {
    s.screen(q)
        .first()
        .map(|h| (s.entries()[h.entry].uid.clone(), h.score))
}

fn top_uid(s: &Screener, name: &str) -> Option<String> {
    top(s, &Query::new(name)).map(|(u, _)| u)
}

#[test]
fn screener_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Screener>();
}

#[test]
fn exact_reordered_and_folded_names_score_one() {
    let s = screener();
    for q in [
        "KARADZIC, Radovan",
        "Radovan Karadzic",
        "Radovan Karadžić",
        "radovan KARADZIC",
    ] {
        let (uid, score) = top(&s, &Query::new(q)).unwrap();
        assert_eq!(uid, "1", "{q}");
        assert!((score - 1.0).abs() < 1e-9, "{q}: {score}");
    }
}

#[test]
fn variants_are_found() {
    let s = screener();
    for (q, uid) in [
        ("Yevgeniy Prigozhin", "2"),
        ("Евгений Пригожин", "2"),
        ("Radovan Karadzik", "1"),
        ("JSCARGUMENT", "3"),
        ("Argument Joint-Stock Company", "3"),
        ("ABDULRAHMAN YASIN", "6"),
        ("Abdul-Rahman Yaseen", "6"),
        ("Muammar Gaddafi", "8"),
        ("Muammar al-Qaddafi", "8"),
        ("M Invest Limited Liability Company", "9"),
    ] {
        assert_eq!(top_uid(&s, q).as_deref(), Some(uid), "{q}");
    }
}

#[test]
fn only_one_hit_per_entry_through_its_best_name() {
    let s = screener();
    let hits = s.screen(&Query::new("Evgeny Prigozhin"));
    assert_eq!(hits.iter().filter(|h| h.entry == 1).count(), 1);
    let best = hits.first().unwrap();
    assert_eq!(best.name, 1, "the alias spelled like the query wins");
}

#[test]
fn hits_are_sorted_and_limited() {
    let s = screener();
    let mut q = Query::new("Ali Hassan Khan Omar");
    q.threshold = 0.0;
    q.limit = 3;
    let hits = s.screen(&q);
    assert!(hits.len() <= 3);
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    q.limit = 0;
    assert!(s.screen(&q).len() > 3, "0 means no limit");
}

#[test]
fn threshold_zero_keeps_weak_candidates() {
    let s = screener();
    let mut q = Query::new("Radovan Smith");
    assert!(s.screen(&q).is_empty());
    q.threshold = 0.0;
    let hits = s.screen(&q);
    assert!(hits.iter().any(|h| s.entries()[h.entry].uid == "1"));
    assert!(hits.iter().all(|h| (0.0..=1.0).contains(&h.score)));
}

#[test]
fn generic_only_overlap_is_capped() {
    let s = screener();
    let mut q = Query::new("NATIONAL TRADING BANK LLC");
    q.threshold = 0.0;
    for h in s.screen(&q) {
        let uid = &s.entries()[h.entry].uid;
        if uid == "4" {
            assert!(h.score <= GENERIC_ONLY_CAP, "{h:?}");
            assert!(
                h.explanation
                    .notes
                    .iter()
                    .any(|n| n.contains("only generic"))
            );
        }
    }
    assert!(
        s.screen(&Query::new("NATIONAL TRADING BANK LLC"))
            .is_empty()
    );
    // Spelled out in full, an all-generic name is still found.
    assert_eq!(
        top_uid(&s, "National Trading Company").as_deref(),
        Some("f10")
    );
}

#[test]
fn digits_are_not_dropped_or_fuzzy() {
    let s = screener();
    assert!(s.screen(&Query::new("BELLETECH CORP")).is_empty());
    assert_eq!(top_uid(&s, "11420 Corporation").as_deref(), Some("7"));
    assert!(s.screen(&Query::new("11421 CORP")).is_empty());
}

#[test]
fn kinds_filter_entries() {
    let s = screener();
    let person = Query::new("Forest").with_kind(PartyKind::Person);
    assert!(
        s.screen(&person).is_empty(),
        "a vessel never matches a person"
    );
    let mut person_any = person.clone();
    person_any.threshold = 0.0;
    assert!(s.screen(&person_any).is_empty());
    let org = Query::new("Forest").with_kind(PartyKind::Organization);
    assert_eq!(top(&s, &org).map(|t| t.0).as_deref(), Some("5"));
    assert_eq!(top_uid(&s, "Forest").as_deref(), Some("5"));
    let aircraft = Query::new("EP-IBN").with_kind(PartyKind::Person);
    assert!(s.screen(&aircraft).is_empty());
    let org_karadzic = Query::new("Radovan Karadzic").with_kind(PartyKind::Organization);
    assert!(s.screen(&org_karadzic).is_empty());
    let person_bank = Query::new("Bank Melli Iran").with_kind(PartyKind::Person);
    assert!(s.screen(&person_bank).is_empty());
}

#[test]
fn a_company_query_is_not_a_ship() {
    let s = screener();
    let mut q = Query::new("Forest LLC");
    q.threshold = 0.0;
    let hit = s.screen(&q).into_iter().find(|h| h.entry == 4).unwrap();
    assert!(hit.score < DEFAULT_THRESHOLD, "{hit:?}");
    assert!(hit.explanation.notes.iter().any(|n| n.contains("vessel")));
}

#[test]
fn explanation_shows_every_query_token() {
    let s = screener();
    let hits = s.screen(&Query::new("Dr. Radovan Karadzik"));
    let h = hits.first().unwrap();
    let tokens: Vec<&str> = h
        .explanation
        .tokens
        .iter()
        .map(|t| t.query.as_str())
        .collect();
    assert_eq!(tokens, ["RADOVAN", "KARADZIK"]);
    let k = &h.explanation.tokens[1];
    assert_eq!(k.matched.as_deref(), Some("KARADZIC"));
    assert!(k.similarity > 0.8 && k.similarity < 1.0);
    let total: f64 = h.explanation.tokens.iter().map(|t| t.weight).sum();
    assert!((total - 1.0).abs() < 0.01, "weights are shares: {total}");
    assert!(h.explanation.notes[0].starts_with("query coverage"));
    let json = serde_json::to_string(h).unwrap();
    assert!(json.contains("\"matched\":\"KARADZIC\""));
}

#[test]
fn unmatched_entry_tokens_are_noted() {
    let s = Screener::new(vec![
        entry(
            "1",
            EntryKind::Individual,
            &["PRIGOZHIN, Yevgeniy Viktorovich"],
        ),
        entry("2", EntryKind::Individual, &["SMIRNOV, Ivan Petrovich"]),
    ]);
    let h = s.screen(&Query::new("Yevgeniy Prigozhin")).remove(0);
    assert_eq!(h.entry, 0);
    assert_note(&h, |n| n.contains("not in the query: VIKTOROVICH"));
}

#[test]
fn country_and_birth_year_adjust_a_little() {
    let mut entries = vec![entry("1", EntryKind::Individual, &["KARADZIC, Radovan"])];
    entries[0].countries = vec![CountryCode::parse("BA").unwrap()];
    entries[0].birth_years = vec![1945];
    entries.push(entry("2", EntryKind::Individual, &["SMITH, John"]));
    let s = Screener::new(entries);
    let base = Query::new("Radovan Karadzik");
    let plain = s.screen(&base)[0].score;

    let mut q = base.clone();
    q.country = Some(CountryCode::parse("BA").unwrap());
    q.birth_year = Some(1945);
    let h = &s.screen(&q)[0];
    assert!(h.score > plain);
    let expected = (plain + COUNTRY_BONUS + BIRTH_YEAR_BONUS).min(1.0);
    assert!(
        (h.score - expected).abs() < 1e-9,
        "{} vs {expected}",
        h.score
    );
    assert_eq!(
        h.explanation
            .notes
            .iter()
            .filter(|n| n.contains('+'))
            .count(),
        2
    );

    q.country = Some(CountryCode::parse("FR").unwrap());
    q.birth_year = Some(1980);
    q.threshold = 0.0;
    let h = &s.screen(&q)[0];
    let expected = plain - COUNTRY_PENALTY - BIRTH_YEAR_PENALTY;
    assert!(
        (h.score - expected).abs() < 1e-9,
        "{} vs {expected}",
        h.score
    );
    assert!(h.score > 0.5, "a conflict lowers, it does not zero");
    assert!(
        h.explanation
            .notes
            .iter()
            .any(|n| n.contains("not one of the entry's (BA)"))
    );

    q.birth_year = Some(1946);
    q.country = None;
    let h = &s.screen(&q)[0];
    let expected = (plain + BIRTH_YEAR_BONUS / 3.0).min(1.0);
    assert!((h.score - expected).abs() < 1e-9);
}

#[test]
fn weak_aliases_cost_a_little_and_say_so() {
    let mut e = entry("1", EntryKind::Individual, &["DOE, Richard"]);
    e.names.push(EntryName {
        text: "LOCKBITSUPP".to_owned(),
        kind: NameKind::Weak,
    });
    let s = Screener::new(vec![e, entry("2", EntryKind::Individual, &["ROE, Jane"])]);
    let h = &s.screen(&Query::new("LockBitSupp"))[0];
    assert_eq!(h.name, 1);
    assert!((h.score - (1.0 - WEAK_ALIAS_PENALTY)).abs() < 1e-9);
    assert!(h.explanation.notes.iter().any(|n| n.contains("weak alias")));
}

#[test]
fn degenerate_queries_give_no_hits() {
    let s = screener();
    for q in ["", "   ", "!!!", "👍🔥", "Mr.", "LLC", "THE"] {
        let mut query = Query::new(q);
        query.threshold = 0.0;
        let hits = s.screen(&query);
        assert!(
            hits.iter().all(|h| h.score <= GENERIC_ONLY_CAP),
            "{q:?}: {hits:?}"
        );
    }
    let long = "Karadzic ".repeat(2000);
    let _ = s.screen(&Query::new(&long));
}

#[test]
fn an_empty_screener_finds_nothing() {
    let s = Screener::new(Vec::new());
    assert!(s.entries().is_empty());
    let mut q = Query::new("Radovan Karadzic");
    q.threshold = 0.0;
    assert!(s.screen(&q).is_empty());
}

/// Fails, showing the notes, unless one note of the hit's explanation is
/// as `wanted`.
fn assert_note(h: &Hit, wanted: impl Fn(&str) -> bool) {
    assert!(
        h.explanation.notes.iter().any(|n| wanted(n)),
        "{:?}",
        h.explanation.notes
    );
}

fn score_on(s: &Screener, q: &Query<'_>, uid: &str) -> Option<Hit> {
    let mut q = q.clone();
    q.threshold = 0.0;
    q.limit = 0;
    s.screen(&q)
        .into_iter()
        .find(|h| s.entries()[h.entry].uid == uid)
}

#[test]
fn short_tokens_pair_only_when_spelled_the_same() {
    let s = with_fillers(vec![
        entry("lei", EntryKind::Individual, &["ZHANG, Lei"]),
        entry("reno", EntryKind::Individual, &["RENO, Paul"]),
        entry("dan", EntryKind::Vessel, &["DAI HONG DAN"]),
    ]);
    let person = |n| Query::new(n).with_kind(PartyKind::Person);
    // `LI` sounds like `LEI` and used to pair at 0.95.
    assert!(s.screen(&person("Zhang Li")).is_empty());
    let h = score_on(&s, &person("Zhang Li"), "lei").unwrap();
    assert_eq!(h.explanation.tokens[1].matched, None);
    assert_note(&h, |n| {
        n.starts_with("LI is like LEI") && n.contains("spelled the same")
    });
    assert_eq!(top(&s, &person("Lei Zhang")).unwrap().0, "lei");
    // Four letters: merely alike does not pair.
    assert!(s.screen(&person("Paul Rene")).is_empty());
    let h = score_on(&s, &person("Paul Rene"), "reno").unwrap();
    assert_note(&h, |n| {
        n.starts_with("RENE is like RENO") && n.contains("four-letter")
    });
    assert_eq!(top(&s, &person("Paul Reno")).unwrap().0, "reno");
    // A doubled letter is spelling, not another name.
    assert_eq!(top_uid(&s, "Dai Hong Dann").as_deref(), Some("dan"));
}

#[test]
fn a_join_of_short_syllables_must_be_spelled_the_same() {
    let s = with_fillers(vec![
        entry("tuli", EntryKind::Individual, &["TULI"]),
        entry("songyan", EntryKind::Individual, &["JI, Songyan"]),
        // A common surname weighs little, as it does in the real lists.
        entry("ji1", EntryKind::Individual, &["JI, Ming"]),
        entry("ji2", EntryKind::Individual, &["JI, Hua"]),
        entry("ji3", EntryKind::Individual, &["JI, Qiang"]),
    ]);
    let person = |n| Query::new(n).with_kind(PartyKind::Person);
    // `TU LE` joined sounds like `TULI`; neither syllable is in it.
    assert!(s.screen(&person("Tu Le")).is_empty());
    assert_eq!(top(&s, &person("Tu Li")).unwrap().0, "tuli");
    // Written apart but spelled the same: still the listed name.
    assert_eq!(top(&s, &person("Song Yan")).unwrap().0, "songyan");
}

#[test]
fn one_word_of_a_longer_entry_name_does_not_hold() {
    let s = with_fillers(vec![
        entry("wagner", EntryKind::Entity, &["WAGNER GROUP"]),
        entry("putin", EntryKind::Individual, &["PUTIN, Vladimir"]),
        entry("gazprom", EntryKind::Entity, &["GAZPROM PAO"]),
    ]);
    let org = |n| Query::new(n).with_kind(PartyKind::Organization);
    assert!(s.screen(&org("Wagner")).is_empty());
    let h = score_on(&s, &org("Wagner"), "wagner").unwrap();
    assert!((h.score - WEAK_EVIDENCE_CAP).abs() < 1e-9, "{h:?}");
    assert_note(&h, |n| {
        n.contains("one query word alone matches and the entry has 1 more word")
    });
    assert_eq!(top(&s, &org("Wagner Group")).unwrap().0, "wagner");
    let person = Query::new("Putin").with_kind(PartyKind::Person);
    assert!(s.screen(&person).is_empty());
    assert_eq!(top_uid(&s, "Vladimir Putin").as_deref(), Some("putin"));
    // A legal form left over is no other word.
    assert_eq!(top(&s, &org("Gazprom")).unwrap().0, "gazprom");
}

#[test]
fn one_fuzzy_word_alone_does_not_hold() {
    let s = with_fillers(vec![
        entry("sarir", EntryKind::Entity, &["SARIR"]),
        entry("hizballah", EntryKind::Entity, &["HIZBALLAH"]),
    ]);
    let org = |n| Query::new(n).with_kind(PartyKind::Organization);
    assert!(s.screen(&org("Sauer")).is_empty());
    let h = score_on(&s, &org("Sauer"), "sarir").unwrap();
    assert_note(&h, |n| n.contains("only alike") && n.contains("capped"));
    assert_eq!(top(&s, &org("Sarir")).unwrap().0, "sarir");
    // A close spelling of a one-word name still holds.
    assert_eq!(top(&s, &org("Hezbolah")).unwrap().0, "hizballah");
}

#[test]
fn syllables_are_one_vowel_run_of_few_letters() {
    for s in ["WANG", "ZHANG", "HOANG", "ZHUANG", "KEUNG", "YING", "LI"] {
        assert!(score::is_syllable(s), "{s}");
    }
    for s in ["USUGA", "ZULMA", "IZZAT", "DURI", "PRIGOZHIN", "STRENGTH"] {
        assert!(!score::is_syllable(s), "{s}");
    }
}

#[test]
fn two_syllables_of_a_longer_name_do_not_hold() {
    let s = with_fillers(vec![
        entry("guoying", EntryKind::Individual, &["WANG, Guo Ying"]),
        entry("usuga", EntryKind::Individual, &["USUGA TORRES, Arley"]),
    ]);
    let person = |n| Query::new(n).with_kind(PartyKind::Person);
    assert!(s.screen(&person("Wang Ying")).is_empty());
    let h = score_on(&s, &person("Wang Ying"), "guoying").unwrap();
    assert!((h.score - WEAK_EVIDENCE_CAP).abs() < 1e-9, "{h:?}");
    assert_note(&h, |n| {
        n.contains("only one-syllable words match and 1 word")
    });
    assert_eq!(top(&s, &person("Wang Guo Ying")).unwrap().0, "guoying");
    // Words of more than one syllable are evidence: a missing second
    // surname still holds.
    assert_eq!(top(&s, &person("Arley Usuga")).unwrap().0, "usuga");
}

#[test]
fn syllables_pair_only_when_they_sound_the_same() {
    let s = with_fillers(vec![
        entry("jian", EntryKind::Individual, &["ZHANG, Jian"]),
        entry("huang", EntryKind::Individual, &["HUANG, Man Chi"]),
    ]);
    let person = |n| Query::new(n).with_kind(PartyKind::Person);
    // `JIANG` and `ZHANG` are alike as strings and different surnames.
    assert!(s.screen(&person("Jiang Jian")).is_empty());
    let h = score_on(&s, &person("Jiang Jian"), "jian").unwrap();
    assert_eq!(h.explanation.tokens[0].matched, None);
    assert_note(&h, |n| n.contains("one-syllable words must sound the same"));
    assert_eq!(top(&s, &person("Zhang Jian")).unwrap().0, "jian");
    // Two spellings of one syllable still pair.
    assert_eq!(top(&s, &person("Hoang Man Chi")).unwrap().0, "huang");
}

#[test]
fn a_weak_alias_needs_more_than_one_matching_word() {
    let mut e = entry("1", EntryKind::Individual, &["DOE, Richard"]);
    e.names.push(EntryName {
        text: "THE BUTCHER OF KANDAHAR".to_owned(),
        kind: NameKind::Weak,
    });
    let s = with_fillers(vec![e]);
    let person = |n| Query::new(n).with_kind(PartyKind::Person);
    // One word of a remark's nickname is someone else's surname.
    assert!(s.screen(&person("Butcher")).is_empty());
    let h = score_on(&s, &person("Butcher"), "1").unwrap();
    assert_eq!(h.name, 1);
    assert_note(&h, |n| n.contains("one query word alone matches"));
    assert_note(&h, |n| n.contains("weak alias"));
    let h = &s.screen(&person("Butcher of Kandahar"))[0];
    assert_eq!((h.entry, h.name), (0, 1));
}

#[test]
fn legal_forms_and_generic_words_do_not_make_a_company_match() {
    let s = with_fillers(vec![
        entry("dhawi", EntryKind::Entity, &["DHAWI PVT LTD"]),
        entry("matsa", EntryKind::Entity, &["MATSA COMPANY"]),
        entry("toumeh", EntryKind::Entity, &["TOUMEH INTERNATIONAL GROUP"]),
    ]);
    let org = |n| Query::new(n).with_kind(PartyKind::Organization);
    // `LLC` is not `LTD`: legal forms are only ever equal.
    let h = score_on(&s, &org("Davis LLC"), "dhawi").unwrap();
    assert_eq!(h.explanation.tokens[1].matched, None);
    assert!(h.score < DEFAULT_THRESHOLD, "{h:?}");
    assert!(s.screen(&org("Massa BV")).is_empty());
    // A shared generic word is no second word of evidence.
    assert!(s.screen(&org("Tomei Group")).is_empty());
    let h = score_on(&s, &org("Tomei Group"), "toumeh").unwrap();
    assert_note(&h, |n| n.contains("one query word alone matches"));
    assert_eq!(top(&s, &org("Matsa Company")).unwrap().0, "matsa");
    assert_eq!(
        top(&s, &org("Toumeh International Group")).unwrap().0,
        "toumeh"
    );
}

#[test]
fn the_kind_of_an_entry_is_the_kind_that_admits_it() {
    for kind in [
        EntryKind::Individual,
        EntryKind::Entity,
        EntryKind::Vessel,
        EntryKind::Aircraft,
    ] {
        let of = PartyKind::of_entry(kind);
        assert!(PartyKind::admits(Some(of), kind), "{kind:?}");
        let other = match of {
            PartyKind::Person => PartyKind::Organization,
            PartyKind::Organization => PartyKind::Person,
        };
        assert!(!PartyKind::admits(Some(other), kind), "{kind:?}");
    }
}

#[test]
fn a_word_alike_with_another_initial_is_weak_when_the_entry_has_more() {
    let s = with_fillers(vec![entry(
        "felipe",
        EntryKind::Individual,
        &["FLORES GOMEZ, Felipe"],
    )]);
    let person = |n| Query::new(n).with_kind(PartyKind::Person);
    assert!(s.screen(&person("Phillip Gomez")).is_empty());
    let h = score_on(&s, &person("Phillip Gomez"), "felipe").unwrap();
    assert_eq!(h.explanation.tokens[0].matched.as_deref(), Some("FELIPE"));
    assert_note(&h, |n| n.contains("with a word of another initial"));
    assert_eq!(top(&s, &person("Felipe Gomez")).unwrap().0, "felipe");
    // A misspelling keeps its initial and still holds.
    assert_eq!(top(&s, &person("Felippe Gomez")).unwrap().0, "felipe");
}

#[test]
fn two_consonants_do_not_match_a_name_alone() {
    let s = with_fillers(vec![
        entry("sevda", EntryKind::Vessel, &["LADY SEVDA"]),
        entry("imidro", EntryKind::Entity, &["IMIDRO"]),
    ]);
    let org = |n| Query::new(n).with_kind(PartyKind::Organization);
    // `סעד` is `S D` to the screener, as are many names.
    assert!(s.screen(&org("סעד Group")).is_empty());
    let h = score_on(&s, &org("סעד Group"), "sevda").unwrap();
    assert_note(&h, |n| n.contains("only 2 consonants or fewer"));
    // More consonants are still a name.
    assert_eq!(top(&s, &org("ایمیدرو")).unwrap().0, "imidro");
}
