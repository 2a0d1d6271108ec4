//! Arbitrary UTF-8 text as a name to normalise and screen.
//!
//! Checks: `normalize` and `fold` never panic; tokens are non-empty upper-case
//! ASCII letters and digits, at most `MAX_TOKENS` of at most `MAX_TOKEN_LEN`
//! characters; normalising the joined tokens gives the same tokens and roles;
//! screening the text against a small list never panics and scores stay in
//! `0.0..=1.0`.
#![no_main]

use std::sync::OnceLock;

use cordon_screening::normalize::{MAX_TOKEN_LEN, MAX_TOKENS, fold, normalize};
use cordon_screening::screener::{Query, Screener};
use cordon_screening::{EntryKind, EntryName, ListEntry, NameKind};
use cordon_subject::RestrictedList;
use libfuzzer_sys::fuzz_target;

fn screener() -> &'static Screener {
    static SCREENER: OnceLock<Screener> = OnceLock::new();
    SCREENER.get_or_init(|| {
        let names: [(&str, EntryKind); 6] = [
            ("KARADZIC, Radovan", EntryKind::Individual),
            ("PRIGOZHIN, Yevgeniy Viktorovich", EntryKind::Individual),
            ("JSC ARGUMENT", EntryKind::Entity),
            ("BANK MELLI IRAN", EntryKind::Entity),
            ("11420 CORP.", EntryKind::Entity),
            ("FOREST", EntryKind::Vessel),
        ];
        Screener::new(
            names
                .iter()
                .enumerate()
                .map(|(i, (name, kind))| ListEntry {
                    list: RestrictedList::Sdn,
                    uid: i.to_string(),
                    kind: *kind,
                    names: vec![EntryName {
                        text: (*name).to_owned(),
                        kind: NameKind::Primary,
                    }],
                    programs: Vec::new(),
                    addresses: Vec::new(),
                    countries: Vec::new(),
                    birth_years: Vec::new(),
                    remarks: None,
                })
                .collect(),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let once = normalize(text);
    assert!(once.tokens.len() <= MAX_TOKENS);
    for t in &once.tokens {
        assert!(!t.text.is_empty() && t.text.len() <= MAX_TOKEN_LEN);
        assert!(
            t.text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
    }
    let twice = normalize(&once.joined());
    let pairs = |n: &cordon_screening::normalize::Normalized| -> Vec<(String, _)> {
        n.tokens.iter().map(|t| (t.text.clone(), t.role)).collect()
    };
    assert_eq!(pairs(&once), pairs(&twice), "not idempotent for {text:?}");
    let _ = fold(text);

    let mut query = Query::new(text);
    query.threshold = 0.0;
    for hit in screener().screen(&query) {
        assert!((0.0..=1.0).contains(&hit.score));
    }
});
