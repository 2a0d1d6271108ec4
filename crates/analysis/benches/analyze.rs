//! How long `cordon analyze` takes, and how many combinations it decides,
//! for the shipped directive set and for a generated 200-directive set,
//! with every property that needs no parameter.
//!
//! Prints one line per set (median of the runs); nothing here asserts a
//! time. Run: `cargo bench -p cordon-analysis --bench analyze`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "a benchmark harness: failing loudly on a broken fixture is what we want"
)]

#[path = "support/generated.rs"]
mod generated;

use std::path::Path;
use std::time::{Duration, Instant};

use cordon_analysis::{Input, Named, Property, analyze};
use cordon_catalog::Catalog;
use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::Policy;
use cordon_source::SourceFile;

fn measure(name: &str, policy: &Policy, runs: usize) {
    let j = Jurisdictions::embedded().unwrap();
    let groups = GroupRegistry::embedded(j).unwrap();
    let mut times: Vec<Duration> = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let report = analyze(&Input {
            set: Named {
                policy,
                label: name.into(),
            },
            against: None,
            catalog: None,
            properties: Property::defaults(),
            jurisdictions: j,
            groups: &groups,
        })
        .unwrap();
        times.push(start.elapsed());
        last = Some(report);
    }
    times.sort();
    let r = last.unwrap();
    let violated: Vec<&str> = r
        .properties
        .iter()
        .filter(|p| !p.holds)
        .map(|p| p.property.as_str())
        .collect();
    println!(
        "{name:<28} {:>4} directives  {:>5} rule groups  {:>6} classes  {:>9} combinations  median {:>8.3} s  (complete: {}, violated: {})",
        r.partition.directives,
        r.partition.rule_groups,
        r.partition.classes,
        r.combinations,
        times[times.len() / 2].as_secs_f64(),
        r.complete,
        if violated.is_empty() {
            "none".into()
        } else {
            violated.join(", ")
        }
    );
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let j = Jurisdictions::embedded().unwrap();
    let groups = GroupRegistry::embedded(j).unwrap();
    let catalog = || Catalog::load(&root.join("catalog.toml")).unwrap();
    let shipped = Policy::load_dir(&root.join("directives"), catalog(), j, &groups).unwrap();
    measure("shipped directives/", &shipped, 5);
    let files: Vec<SourceFile> = generated::generated_set(200, 0x0c0d_0200);
    let generated = Policy::from_files(&files, catalog(), j, &groups)
        .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics));
    measure("generated, 200 directives", &generated, 1);
}
