//! Screening benchmarks over the real OFAC SDN names (`sdn.csv` + `alt.csv`,
//! about 31,000 names).
//!
//! `cargo bench -p cordon-screening --bench screen` runs criterion on index
//! building and single queries, then prints per-query latency percentiles and
//! batch throughput on one and two threads over a fixed mix of queries: list
//! names, variants of them (reordered, a middle name dropped, a letter
//! changed, transliterated), and ordinary names that are not listed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark code"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use cordon_screening::ListEntry;
use cordon_screening::lists::ListFile;
use cordon_screening::screener::{Query, Screener};
use cordon_screening::snapshot;
use criterion::{BatchSize, Criterion};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sanctions");

/// The SDN entries with their aliases, read by the list readers.
fn sdn_entries() -> Vec<ListEntry> {
    let files: Vec<(String, Vec<u8>)> = ["sdn.csv", "alt.csv"]
        .iter()
        .map(|f| {
            let path = format!("{DATA}/{f}");
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    let files: Vec<ListFile<'_>> = files
        .iter()
        .map(|(name, bytes)| ListFile { name, bytes })
        .collect();
    snapshot::import(&files).unwrap().entries
}

/// A small deterministic generator (xorshift), so every run screens the
/// same queries.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const GIVEN: &[&str] = &[
    "John", "Mary", "James", "Linda", "Carlos", "Ana", "Ahmed", "Fatima", "Ivan", "Olga", "Wei",
    "Li", "Priya", "Hans", "Pierre", "Giulia", "Kwame", "Mehmet", "Reza", "Nguyen", "Emma", "Noah",
    "Mohammed", "Elena",
];
const FAMILY: &[&str] = &[
    "Smith", "Johnson", "Garcia", "Lopez", "Khan", "Rahman", "Ivanov", "Petrov", "Wang", "Chen",
    "Patel", "Mueller", "Dubois", "Rossi", "Nowak", "Okafor", "Yilmaz", "Ahmadi", "Park", "Tran",
    "Murphy", "Silva", "Haddad", "Sato",
];
const COMPANY: &[&str] = &[
    "Acme Widgets Inc",
    "Northwind Traders",
    "Contoso Ltd",
    "Globex Corporation",
    "Blue River Logistics LLC",
    "Summit Capital Partners",
    "Golden Harvest Foods GmbH",
    "Pacific Rim Shipping Co., Ltd.",
];

/// A letter changed, dropped or doubled somewhere in the name.
fn typo(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 6 {
        return name.to_owned();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 => chars[i] = 'E',
        1 => {
            chars.remove(i);
        }
        _ => chars.insert(i, chars[i]),
    }
    chars.into_iter().collect()
}

fn queries(entries: &[ListEntry], n: usize) -> Vec<String> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let entry = &entries[rng.below(entries.len())];
        let name = &entry.names[rng.below(entry.names.len())].text;
        let q = match rng.below(6) {
            0 => name.clone(),
            1 => match name.split_once(", ") {
                Some((surname, given)) => format!("{given} {surname}"),
                None => name.clone(),
            },
            2 => match name.split_once(", ") {
                Some((surname, given)) => {
                    format!("{} {surname}", given.split(' ').next().unwrap_or(given))
                }
                None => name.clone(),
            },
            3 => typo(&mut rng, name),
            4 => COMPANY[rng.below(COMPANY.len())].to_owned(),
            _ => format!(
                "{} {}",
                GIVEN[rng.below(GIVEN.len())],
                FAMILY[rng.below(FAMILY.len())]
            ),
        };
        out.push(q);
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(screener: &Screener, queries: &[String]) {
    // Warm up caches and thread-local buffers.
    for q in queries.iter().take(1000) {
        black_box(screener.screen(&Query::new(q)));
    }
    let mut times: Vec<Duration> = queries
        .iter()
        .map(|q| {
            let start = Instant::now();
            black_box(screener.screen(&Query::new(q)));
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    println!(
        "screen latency over {} queries: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        times.len(),
        percentile(&times, 0.50),
        percentile(&times, 0.90),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );

    for threads in [1usize, 2] {
        let start = Instant::now();
        std::thread::scope(|scope| {
            for part in queries.chunks(queries.len().div_ceil(threads)) {
                scope.spawn(move || {
                    for q in part {
                        black_box(screener.screen(&Query::new(q)));
                    }
                });
            }
        });
        let elapsed = start.elapsed();
        let per_second = queries.len() as f64 / elapsed.as_secs_f64();
        println!(
            "batch on {threads} thread(s): {per_second:.0} names/s; 1,000,000 names in {:.0} s",
            1_000_000.0 / per_second
        );
    }
}

fn main() {
    let entries = sdn_entries();
    let start = Instant::now();
    let screener = Screener::new(entries.clone());
    println!(
        "index: {} entries, {} names built in {:?}",
        entries.len(),
        screener.indexed_names(),
        start.elapsed()
    );
    let mix = queries(&entries, 20_000);

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("index_build_sdn", |b| {
        b.iter_batched(
            || entries.clone(),
            |e| black_box(Screener::new(e)),
            BatchSize::LargeInput,
        );
    });
    let mut group = c.benchmark_group("screen");
    for (label, name) in [
        ("exact_person", "KARADZIC, Radovan"),
        ("variant_person", "Yevgeny Prigozin"),
        ("cyrillic", "Евгений Пригожин"),
        ("company", "PJSC Transkapitalbank"),
        ("unlisted", "John Smith"),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| black_box(screener.screen(&Query::new(black_box(name)))));
        });
    }
    let mut i = 0;
    group.bench_function("mix", |b| {
        b.iter(|| {
            i = (i + 1) % mix.len();
            black_box(screener.screen(&Query::new(&mix[i])))
        });
    });
    group.finish();
    c.final_summary();

    report(&screener, &mix);
}
