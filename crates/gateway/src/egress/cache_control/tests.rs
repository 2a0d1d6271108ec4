use proptest::prelude::*;

use super::*;

fn read(value: &str) -> Freshness {
    freshness([value.as_bytes()])
}

#[test]
fn what_issuers_send() {
    // Google's, Microsoft's and Okta's JWKS endpoints, as they answer.
    assert_eq!(
        read("public, max-age=21600, must-revalidate, no-transform"),
        Freshness::MaxAge(21_600)
    );
    assert_eq!(read("max-age=86400, private"), Freshness::MaxAge(86_400));
    assert_eq!(
        read("max-age=7095, must-revalidate"),
        Freshness::MaxAge(7095)
    );
    assert_eq!(read("no-cache, no-store"), Freshness::DoNotReuse);
    assert_eq!(read(""), Freshness::Unstated);
    assert_eq!(read("public"), Freshness::Unstated);
}

#[test]
fn the_most_restrictive_directive_wins() {
    assert_eq!(read("max-age=600, no-cache"), Freshness::DoNotReuse);
    assert_eq!(read("no-store,max-age=600"), Freshness::DoNotReuse);
    assert_eq!(
        read(r#"no-cache="set-cookie", max-age=600"#),
        Freshness::DoNotReuse
    );
}

#[test]
fn max_age_forms() {
    assert_eq!(read("MAX-AGE=60"), Freshness::MaxAge(60));
    assert_eq!(read(" max-age = 60 "), Freshness::MaxAge(60));
    assert_eq!(read(r#"max-age="60""#), Freshness::MaxAge(60));
    assert_eq!(read("max-age=0"), Freshness::MaxAge(0));
    assert_eq!(read("max-age=60, max-age=60"), Freshness::MaxAge(60));
    // Invalid or conflicting: stale (RFC 9111 §4.2.1).
    assert_eq!(read("max-age=60, max-age=61"), Freshness::DoNotReuse);
    assert_eq!(read("max-age=abc"), Freshness::DoNotReuse);
    assert_eq!(read("max-age=-5"), Freshness::DoNotReuse);
    assert_eq!(read("max-age"), Freshness::DoNotReuse);
    assert_eq!(read(r#"max-age="60"#), Freshness::DoNotReuse);
    assert_eq!(
        read("max-age=99999999999999999999999"),
        Freshness::MaxAge(DELTA_SECONDS_MAX)
    );
    // s-maxage is for shared caches.
    assert_eq!(read("s-maxage=60"), Freshness::Unstated);
}

#[test]
fn commas_inside_quoted_strings_do_not_split() {
    assert_eq!(
        read(r#"private, community="UCI, max-age=9", public"#),
        Freshness::Unstated
    );
    assert_eq!(
        read(r#"ext="a \" , max-age=9", max-age=30"#),
        Freshness::MaxAge(30)
    );
}

#[test]
fn several_lines_are_one_list() {
    assert_eq!(
        freshness([b"public".as_slice(), b"max-age=120".as_slice()]),
        Freshness::MaxAge(120)
    );
    assert_eq!(
        freshness([b"max-age=120".as_slice(), b"no-store".as_slice()]),
        Freshness::DoNotReuse
    );
}

#[test]
fn stated_durations() {
    assert_eq!(
        Freshness::MaxAge(60).stated(),
        Some(SignedDuration::from_secs(60))
    );
    assert_eq!(Freshness::DoNotReuse.stated(), Some(SignedDuration::ZERO));
    assert_eq!(Freshness::Unstated.stated(), None);
}

/// Directives that say nothing about a private cache's freshness.
fn other_directive() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("public".to_owned()),
        Just("private".to_owned()),
        Just("must-revalidate".to_owned()),
        Just("no-transform".to_owned()),
        Just("immutable".to_owned()),
        (0u32..100_000).prop_map(|n| format!("s-maxage={n}")),
        (0u32..100_000).prop_map(|n| format!("stale-while-revalidate={n}")),
        "[a-z]{1,8}".prop_map(|v| format!(r#"community="{v}, max-age=1""#)),
    ]
}

/// `word` with each ASCII letter in either case.
fn any_case(word: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
        word.chars()
            .zip(upper)
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

fn ows() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(" "), Just("\t"), Just("  ")]
}

/// A `max-age` directive, in any case, quoted or not, with its value.
fn max_age() -> impl Strategy<Value = (String, u64)> {
    (any::<u64>(), "(?i:max-age)", any::<bool>(), ows(), ows()).prop_map(
        |(n, name, quoted, a, b)| {
            let value = if quoted {
                format!("\"{n}\"")
            } else {
                n.to_string()
            };
            (format!("{name}{a}={b}{value}"), n.min(DELTA_SECONDS_MAX))
        },
    )
}

/// Joins directives into a list, with optional whitespace and empty
/// elements.
fn list(parts: &[String], seps: &[(&str, bool)]) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            let (ws, empty) = seps.get(i).copied().unwrap_or((" ", false));
            out.push(',');
            if empty {
                out.push_str(" ,");
            }
            out.push_str(ws);
        }
        out.push_str(p);
    }
    out
}

fn seps() -> impl Strategy<Value = Vec<(&'static str, bool)>> {
    proptest::collection::vec((ows(), any::<bool>()), 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..3)) {
        let f = freshness(lines.iter().map(Vec::as_slice));
        if let Freshness::MaxAge(s) = f {
            prop_assert!(s <= DELTA_SECONDS_MAX);
        }
    }

    #[test]
    fn one_max_age_among_other_directives_is_read(
        others in proptest::collection::vec(other_directive(), 0..5),
        (directive, n) in max_age(),
        at in 0usize..6,
        seps in seps(),
    ) {
        let mut parts = others;
        parts.insert(at.min(parts.len()), directive);
        let value = list(&parts, &seps);
        prop_assert_eq!(read(&value), Freshness::MaxAge(n), "{}", value);
        // Split across several field lines at any element boundary.
        let lines: Vec<&[u8]> = value.split(',').map(str::as_bytes).collect();
        if !value.contains('"') {
            prop_assert_eq!(freshness(lines), Freshness::MaxAge(n));
        }
    }

    #[test]
    fn no_cache_or_no_store_anywhere_forbids_reuse(
        others in proptest::collection::vec(other_directive(), 0..5),
        age in proptest::option::of(max_age()),
        which in prop_oneof![any_case("no-cache"), any_case("no-store")],
        at in 0usize..7,
        seps in seps(),
    ) {
        let mut parts = others;
        if let Some((d, _)) = age {
            parts.push(d);
        }
        parts.insert(at.min(parts.len()), which);
        prop_assert_eq!(read(&list(&parts, &seps)), Freshness::DoNotReuse);
    }

    #[test]
    fn without_freshness_directives_nothing_is_stated(
        others in proptest::collection::vec(other_directive(), 0..6),
        seps in seps(),
    ) {
        prop_assert_eq!(read(&list(&others, &seps)), Freshness::Unstated);
    }
}
