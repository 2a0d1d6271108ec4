//! Precision and recall on the labelled set in `tests/data/accuracy.tsv`.
//!
//! The floors below are the figures measured at [`DEFAULT_THRESHOLD`] and
//! reported in the README; a change to normalisation or scoring that makes
//! either worse fails here.

use std::collections::BTreeMap;

use cordon_jurisdiction::CountryCode;
use cordon_screening::lists::ListFile;
use cordon_screening::screener::{DEFAULT_THRESHOLD, PartyKind, Query, Screener};
use cordon_screening::snapshot::import;

/// Recall measured at the default threshold.
const RECALL_FLOOR: f64 = RECALL_MEASURED - 0.005;
/// Precision measured at the default threshold.
const PRECISION_FLOOR: f64 = PRECISION_MEASURED - 0.005;
const RECALL_MEASURED: f64 = 0.950;
const PRECISION_MEASURED: f64 = 0.955;

fn all_lists() -> Screener {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sanctions");
    let names = [
        "sdn.csv",
        "alt.csv",
        "add.csv",
        "sdn_comments.csv",
        "cons_prim.csv",
        "cons_alt.csv",
        "cons_add.csv",
        "cons_comments.csv",
        "consolidated.csv",
        "dpl.txt",
    ];
    let bytes: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| {
            let p = format!("{dir}/{n}");
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let files: Vec<ListFile<'_>> = bytes
        .iter()
        .map(|(n, b)| ListFile { name: n, bytes: b })
        .collect();
    Screener::new(import(&files).unwrap().entries)
}

struct Outcome {
    tp: usize,
    fp: usize,
    fn_: usize,
    by_category: BTreeMap<String, (usize, usize)>,
    misses: Vec<String>,
}

fn evaluate(screener: &Screener) -> Outcome {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/accuracy.tsv"
    ))
    .unwrap();
    let mut o = Outcome {
        tp: 0,
        fp: 0,
        fn_: 0,
        by_category: BTreeMap::new(),
        misses: Vec::new(),
    };
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 5, "accuracy.tsv:{}: too few columns", i + 1);
        let kind = match cols[1] {
            "person" => Some(PartyKind::Person),
            "org" => Some(PartyKind::Organization),
            "" => None,
            k => panic!("accuracy.tsv:{}: kind `{k}`", i + 1),
        };
        let country = (!cols[2].is_empty()).then(|| CountryCode::parse(cols[2]).unwrap());
        let query = Query {
            country,
            kind,
            ..Query::new(cols[0])
        };
        let found: Vec<String> = screener
            .screen(&query)
            .iter()
            .map(|h| {
                let e = &screener.entries()[h.entry];
                format!("{}:{}", e.list.code(), e.uid)
            })
            .collect();
        let cat = o.by_category.entry(cols[4].to_owned()).or_default();
        cat.1 += 1;
        if cols[3] == "-" {
            if found.is_empty() {
                cat.0 += 1;
            } else {
                o.fp += 1;
                o.misses
                    .push(format!("false positive: {} -> {:?}", cols[0], found));
            }
        } else {
            let expected: Vec<&str> = cols[3].split('|').collect();
            if found.iter().any(|f| expected.contains(&f.as_str())) {
                o.tp += 1;
                cat.0 += 1;
            } else {
                o.fn_ += 1;
                if !found.is_empty() {
                    o.fp += 1;
                }
                o.misses
                    .push(format!("missed: {} ({}) -> {:?}", cols[0], cols[3], found));
            }
        }
    }
    o
}

#[test]
fn precision_and_recall_hold_at_the_default_threshold() {
    let o = evaluate(&all_lists());
    let recall = o.tp as f64 / (o.tp + o.fn_) as f64;
    let precision = o.tp as f64 / (o.tp + o.fp) as f64;
    for m in &o.misses {
        eprintln!("{m}");
    }
    for (c, (ok, n)) in &o.by_category {
        eprintln!("{c:<16} {ok}/{n}");
    }
    eprintln!(
        "threshold {DEFAULT_THRESHOLD}: recall {recall:.3} ({}/{}), precision {precision:.3} ({} false positives)",
        o.tp,
        o.tp + o.fn_,
        o.fp
    );
    assert!(
        recall >= RECALL_FLOOR,
        "recall {recall:.3} fell below {RECALL_FLOOR:.3}"
    );
    assert!(
        precision >= PRECISION_FLOOR,
        "precision {precision:.3} fell below {PRECISION_FLOOR:.3}"
    );
}
