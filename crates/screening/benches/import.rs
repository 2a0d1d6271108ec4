//! Time to import every list file in `data/sanctions/` (the primary OFAC SDN
//! set, the OFAC consolidated set, both CSL extracts and the DPL) into one
//! snapshot, and the SDN primary file alone.
//!
//! Run: `cargo bench -p cordon-screening --bench import`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "a benchmark harness: failing loudly on a broken fixture is what we want"
)]

use std::hint::black_box;
use std::time::Duration;

use cordon_screening::lists::ListFile;
use cordon_screening::snapshot::import;
use criterion::{Criterion, criterion_group, criterion_main};

macro_rules! data {
    ($f:literal) => {
        ListFile {
            name: $f,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../data/sanctions/",
                $f
            )),
        }
    };
}

fn bench(c: &mut Criterion) {
    let all = [
        data!("sdn.csv"),
        data!("alt.csv"),
        data!("add.csv"),
        data!("sdn_comments.csv"),
        data!("cons_prim.csv"),
        data!("cons_alt.csv"),
        data!("cons_add.csv"),
        data!("cons_comments.csv"),
        data!("consolidated.csv"),
        data!("csl.csv"),
        data!("dpl.txt"),
    ];
    let bytes: usize = all.iter().map(|f| f.bytes.len()).sum();
    let snapshot = import(&all).unwrap();
    println!(
        "importing {} files, {bytes} bytes, {} entries, {} problems",
        all.len(),
        snapshot.entries.len(),
        snapshot.problems.len()
    );
    let mut group = c.benchmark_group("import");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("all data/sanctions files", |b| {
        b.iter(|| import(black_box(&all)).unwrap());
    });
    let newer = [data!("ofac_sdn_2024-05-03/sdn.csv")];
    group.bench_function("sdn.csv 2024-05-03 alone", |b| {
        b.iter(|| import(black_box(&newer)).unwrap());
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
