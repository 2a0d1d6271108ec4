//! Screening precision across scripts: how many ordinary people and companies
//! the screener holds for review, per locale, beside its recall on listed
//! names.
//!
//! `cargo bench -p cordon-screening --bench precision` indexes the same list
//! files as the accuracy test and screens, at the default threshold:
//!
//! - every synthetic name of `tests/data/negatives.tsv` with its kind, and
//!   counts per locale the names held (any hit) and, among them, the
//!   namesakes (`cordon_screening::precision::is_namesake`);
//! - the labelled set `tests/data/accuracy.tsv`, scored as the accuracy test
//!   scores it;
//! - one alias of every list entry that has one, generated from the lists at
//!   run time and used for nothing else: the first alias whose normalised form
//!   differs from the primary name's, with the entry's kind, found when the
//!   entry is among the hits.
//!
//! It times every negative query on one thread and prints a markdown report,
//! which it also writes to `bench/screening/PRECISION.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark code"
)]

#[path = "../tests/it/labelled.rs"]
mod labelled;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cordon_screening::normalize::normalize;
use cordon_screening::precision::{Tallies, Tally, holds_namesake};
use cordon_screening::screener::{DEFAULT_THRESHOLD, PartyKind, Query, Screener};
use cordon_screening::{EntryKind, NameKind};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// Alias misses listed in the report.
const ALIAS_MISSES_SHOWN: usize = 15;

struct Negative {
    query: String,
    kind: PartyKind,
    locale: String,
}

fn negatives() -> Vec<Negative> {
    let path = format!("{MANIFEST}/tests/data/negatives.tsv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("query\tkind\tlocale"), "{path}: header");
    lines
        .enumerate()
        .map(|(i, line)| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "{path}:{}: three columns", i + 2);
            let kind = match cols[1] {
                "person" => PartyKind::Person,
                "org" => PartyKind::Organization,
                k => panic!("{path}:{}: kind `{k}`", i + 2),
            };
            Negative {
                query: cols[0].to_owned(),
                kind,
                locale: cols[2].to_owned(),
            }
        })
        .collect()
}

/// The script a Faker locale writes names in.
fn script(locale: &str) -> &'static str {
    match locale {
        "ru_RU" | "uk_UA" => "Cyrillic",
        "el_GR" => "Greek",
        "he_IL" => "Hebrew",
        "ar_AA" | "ar_SA" | "fa_IR" => "Arabic",
        "hi_IN" => "Devanagari",
        "bn_BD" => "Bengali",
        "th_TH" => "Thai",
        "zh_CN" => "Han (simplified)",
        "zh_TW" => "Han (traditional)",
        "ja_JP" => "Kanji, kana",
        "ko_KR" => "Hangul",
        "vi_VN" => "Latin (Vietnamese)",
        _ => "Latin",
    }
}

/// One held negative with its best hit, listed so that a reviewer can check
/// the namesake labels and see what better scoring should avoid.
struct Held {
    locale: String,
    kind: PartyKind,
    query: String,
    matched: String,
    score: f64,
    namesake: bool,
}

struct Negatives {
    persons: Tallies,
    orgs: Tallies,
    held: Vec<Held>,
    times: Vec<Duration>,
}

fn screen_negatives(screener: &Screener, set: &[Negative]) -> Negatives {
    // Warm caches and the screener's per-thread buffers before timing.
    for n in set.iter().take(500) {
        black_box(screener.screen(&Query::new(&n.query).with_kind(n.kind)));
    }
    let mut out = Negatives {
        persons: Tallies::default(),
        orgs: Tallies::default(),
        held: Vec::new(),
        times: Vec::with_capacity(set.len()),
    };
    for n in set {
        let query = Query::new(&n.query).with_kind(n.kind);
        let start = Instant::now();
        let hits = screener.screen(&query);
        out.times.push(start.elapsed());
        let held = !hits.is_empty();
        let namesake = holds_namesake(screener, &n.query, &hits);
        let tallies = match n.kind {
            PartyKind::Person => &mut out.persons,
            PartyKind::Organization => &mut out.orgs,
        };
        tallies.record(&n.locale, held, namesake);
        if let Some(best) = hits.first() {
            let entry = &screener.entries()[best.entry];
            out.held.push(Held {
                locale: n.locale.clone(),
                kind: n.kind,
                query: n.query.clone(),
                matched: entry.names[best.name].text.clone(),
                score: best.score,
                namesake,
            });
        }
    }
    out
}

struct Aliases {
    /// Per name kind of the alias queried: asked, found.
    by_kind: Vec<(NameKind, usize, usize)>,
    misses: Vec<String>,
}

impl Aliases {
    fn total(&self) -> (usize, usize) {
        self.by_kind
            .iter()
            .fold((0, 0), |(a, f), (_, ka, kf)| (a + ka, f + kf))
    }
}

/// Queries one alias of every entry that has one; see the module docs.
fn alias_recall(screener: &Screener) -> Aliases {
    let mut out = Aliases {
        by_kind: Vec::new(),
        misses: Vec::new(),
    };
    for (i, entry) in screener.entries().iter().enumerate() {
        let primary = normalize(entry.primary_name()).joined();
        let Some(alias) = entry.names.iter().skip(1).find(|n| {
            let joined = normalize(&n.text).joined();
            !joined.is_empty() && joined != primary
        }) else {
            continue;
        };
        let kind = match entry.kind {
            EntryKind::Individual => PartyKind::Person,
            EntryKind::Entity | EntryKind::Vessel | EntryKind::Aircraft => PartyKind::Organization,
        };
        let hits = screener.screen(&Query::new(&alias.text).with_kind(kind));
        let found = hits.iter().any(|h| h.entry == i);
        let at = match out.by_kind.iter().position(|(k, _, _)| *k == alias.kind) {
            Some(at) => at,
            None => {
                out.by_kind.push((alias.kind, 0, 0));
                out.by_kind.len() - 1
            }
        };
        out.by_kind[at].1 += 1;
        if found {
            out.by_kind[at].2 += 1;
        } else {
            out.misses.push(format!(
                "`{}` ({:?}) of {}:{} `{}`: {}",
                alias.text,
                alias.kind,
                entry.list.code(),
                entry.uid,
                entry.primary_name(),
                match hits.first() {
                    Some(h) => format!(
                        "best hit `{}` ({:.3})",
                        screener.entries()[h.entry].primary_name(),
                        h.score
                    ),
                    None => "no hit".to_owned(),
                }
            ));
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Year, month and day of a count of days since 1970-01-01 (Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cpu}, {cores} logical CPUs, {}/{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn tally_table(out: &mut String, tallies: &Tallies) {
    writeln!(
        out,
        "| locale | script | screened | held | namesakes | other holds | held % | other holds % |"
    )
    .unwrap();
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|").unwrap();
    let row = |out: &mut String, label: &str, script: &str, t: &Tally| {
        writeln!(
            out,
            "| {label} | {script} | {} | {} | {} | {} | {:.2} | {:.2} |",
            t.screened,
            t.held,
            t.namesakes,
            t.other_holds(),
            t.hold_rate(),
            t.other_hold_rate()
        )
        .unwrap();
    };
    for (locale, t) in tallies.iter() {
        row(out, locale, script(locale), t);
    }
    row(out, "**all**", "", &tallies.total());
}

fn main() {
    let start = Instant::now();
    let screener = labelled::all_lists();
    let index_time = start.elapsed();
    let set = negatives();
    let mut neg = screen_negatives(&screener, &set);
    neg.times.sort_unstable();
    let accuracy = labelled::evaluate(&screener);
    let aliases = alias_recall(&screener);

    let mut r = String::new();
    let w = &mut r;
    writeln!(w, "# Screening precision across scripts\n").unwrap();
    writeln!(
        w,
        "Generated by `cargo bench -p cordon-screening --bench precision` on {} \
         ({}). Do not edit by hand: run it again.\n",
        today(),
        machine()
    )
    .unwrap();
    writeln!(
        w,
        "Lists: every file of `data/sanctions/` the accuracy test reads, {} entries, \
         {} indexed names (indexed in {:.2} s). Threshold {DEFAULT_THRESHOLD} (the \
         default), at most the default number of hits, every query with its kind.\n",
        screener.entries().len(),
        screener.indexed_names(),
        index_time.as_secs_f64()
    )
    .unwrap();

    writeln!(w, "## Ordinary people, per locale\n").unwrap();
    writeln!(
        w,
        "Synthetic names from `crates/screening/tests/data/negatives.tsv` (Faker). \
         *Held*: at least one hit. *Namesakes*: held, and a hit is on a name the \
         query bears by the namesake rule (`cordon_screening::precision::is_namesake`: \
         every query token pairs one to one with an entry token at Jaro–Winkler ≥ 0.95 \
         after normalisation, syllables written apart may join, and no entry token is \
         left over but one surname). \
         *Other holds*: held without being a namesake — the holds better scoring \
         could avoid. Percentages are of the names screened. A name in Arabic or \
         Hebrew script is compared by its consonants, as the screener compares it, so \
         its namesakes are namesakes as far as the script can tell (`محمدی`, Mohammadi, \
         has the consonants of MAHMUD).\n"
    )
    .unwrap();
    tally_table(w, &neg.persons);
    writeln!(w, "\n## Organisations, per locale\n").unwrap();
    writeln!(
        w,
        "`fake.company()` names with the `org` kind. The namesake rule needs every \
         word of the entry name but legal forms.\n"
    )
    .unwrap();
    tally_table(w, &neg.orgs);

    writeln!(w, "\n## Labelled set (`accuracy.tsv`)\n").unwrap();
    writeln!(
        w,
        "Scored as `tests/it/accuracy.rs` scores it (with each case's kind and country).\n"
    )
    .unwrap();
    writeln!(
        w,
        "- recall: {:.3} ({} of {} positives found)",
        accuracy.recall(),
        accuracy.tp,
        accuracy.tp + accuracy.fn_
    )
    .unwrap();
    writeln!(
        w,
        "- precision: {:.3} ({} false positives); negatives with a hit: {} of {}",
        accuracy.precision(),
        accuracy.fp,
        accuracy.negatives_held,
        accuracy.negatives
    )
    .unwrap();
    let categories: Vec<String> = accuracy
        .by_category
        .iter()
        .map(|(c, (ok, n))| format!("{c} {ok}/{n}"))
        .collect();
    writeln!(
        w,
        "- per category (positives found, negatives without a hit): {}",
        categories.join(", ")
    )
    .unwrap();
    writeln!(w, "- misses and false positives: {}", accuracy.misses.len()).unwrap();

    let (asked, found) = aliases.total();
    writeln!(w, "\n## Alias recall\n").unwrap();
    writeln!(
        w,
        "One alias per list entry that has one, generated from the lists at run time \
         and kept apart from any tuning: the first alias whose normalised form differs \
         from the primary name's, queried with the entry's kind (an individual as a \
         person, anything else as an organisation). Found when the entry is among the \
         hits. The alias is queried as the list writes it, so this guards that every \
         alias stays reachable; it does not measure variant matching.\n"
    )
    .unwrap();
    writeln!(
        w,
        "- all: {found} of {asked} found ({:.2} %)",
        100.0 * found as f64 / asked.max(1) as f64
    )
    .unwrap();
    for (kind, a, f) in &aliases.by_kind {
        writeln!(w, "- {kind:?}: {f} of {a}").unwrap();
    }
    if !aliases.misses.is_empty() {
        writeln!(
            w,
            "\nFirst {} of {} misses:\n",
            ALIAS_MISSES_SHOWN.min(aliases.misses.len()),
            aliases.misses.len()
        )
        .unwrap();
        for m in aliases.misses.iter().take(ALIAS_MISSES_SHOWN) {
            writeln!(w, "- {m}").unwrap();
        }
    }

    writeln!(w, "\n## Latency\n").unwrap();
    writeln!(
        w,
        "Each of the {} negative queries timed alone on one thread, after a warm-up \
         (release build): p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs.",
        neg.times.len(),
        percentile(&neg.times, 0.50).as_secs_f64() * 1e6,
        percentile(&neg.times, 0.90).as_secs_f64() * 1e6,
        percentile(&neg.times, 0.99).as_secs_f64() * 1e6,
        neg.times.last().map_or(0.0, |d| d.as_secs_f64() * 1e6)
    )
    .unwrap();

    writeln!(w, "\n## Every hold\n").unwrap();
    writeln!(
        w,
        "Every held negative in file order, with its best hit's matched name and \
         score, and whether the hold counts as a namesake (any hit may make it one).\n"
    )
    .unwrap();
    writeln!(
        w,
        "| locale | kind | query | matched name | score | namesake |"
    )
    .unwrap();
    writeln!(w, "|---|---|---|---|---:|---|").unwrap();
    for e in &neg.held {
        let kind = match e.kind {
            PartyKind::Person => "person",
            PartyKind::Organization => "org",
        };
        writeln!(
            w,
            "| {} | {kind} | {} | {} | {:.3} | {} |",
            e.locale,
            e.query.replace('|', "\\|"),
            e.matched.replace('|', "\\|"),
            e.score,
            if e.namesake { "yes" } else { "no" }
        )
        .unwrap();
    }

    print!("{r}");
    let path = format!("{MANIFEST}/../../bench/screening/PRECISION.md");
    std::fs::write(&path, &r).unwrap();
    eprintln!("written to {path}");
}
