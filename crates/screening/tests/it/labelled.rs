//! The real list files and the labelled set in `tests/data/accuracy.tsv`,
//! read and scored the same way by the accuracy test and the precision
//! benchmark (which includes this file by path).

use std::collections::BTreeMap;

use cordon_jurisdiction::CountryCode;
use cordon_screening::lists::ListFile;
use cordon_screening::screener::{PartyKind, Query, Screener};
use cordon_screening::snapshot::import;

/// Every list file in `data/sanctions/` the labelled set was drawn from,
/// indexed.
pub fn all_lists() -> Screener {
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

/// The labelled set's outcome on one screener.
pub struct Outcome {
    /// Positives that found an expected entry.
    pub tp: usize,
    /// Negatives with a hit, and positives whose hits hold only other entries.
    pub fp: usize,
    /// Positives that found no expected entry.
    pub fn_: usize,
    /// Per category: cases right (positives found, negatives without a hit)
    /// and cases.
    pub by_category: BTreeMap<String, (usize, usize)>,
    /// Negatives with any hit.
    pub negatives_held: usize,
    /// Negatives.
    pub negatives: usize,
    /// Every miss and false positive, in words.
    pub misses: Vec<String>,
}

impl Outcome {
    /// Found positives over all positives.
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_) as f64
    }

    /// True positives over all hits counted.
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp) as f64
    }
}

/// Screens every case at the default threshold and scores it as
/// `tests/data/README.md` says.
pub fn evaluate(screener: &Screener) -> Outcome {
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
        negatives_held: 0,
        negatives: 0,
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
            o.negatives += 1;
            if found.is_empty() {
                cat.0 += 1;
            } else {
                o.fp += 1;
                o.negatives_held += 1;
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
