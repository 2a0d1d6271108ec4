//! Decision latency over a realistic directive set (56 synthetic directives plus
//! the shipped ones, a twenty-model catalog) and the time to build the full
//! country × model matrix.
//!
//! Criterion reports means and medians; the percentile table printed first
//! comes from timing 100,000 individual decisions per path, since the issue's
//! targets are p50 ≤ 1 µs and p99 ≤ 5 µs. Nothing here asserts a time.
//!
//! Run: `cargo bench -p cordon-policy --bench decide`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "a benchmark harness: failing loudly on a broken fixture is what we want"
)]

#[path = "support/mod.rs"]
#[allow(
    dead_code,
    reason = "the Cedar comparison uses parts the bench does not"
)]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use cordon_policy::{Effect, Matrix, Policy, Trace};
use criterion::{Criterion, criterion_group};

/// Decisions timed per path for the percentile table.
const SAMPLES: usize = 100_000;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Times `SAMPLES` individual calls of `f`, after a warm-up, and returns the
/// sorted per-call times in nanoseconds (each including one `Instant` pair).
fn sample(samples: usize, mut f: impl FnMut()) -> Vec<u64> {
    for _ in 0..samples / 10 {
        f();
    }
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        f();
        out.push(t.elapsed().as_nanos() as u64);
    }
    out.sort_unstable();
    out
}

fn report(name: &str, sorted: &[u64]) {
    let mean = sorted.iter().sum::<u64>() as f64 / sorted.len() as f64;
    println!(
        "{name:<18} p50 {:>6} ns  p90 {:>6} ns  p99 {:>6} ns  p99.9 {:>7} ns  max {:>8} ns  mean {:>8.1} ns",
        percentile(sorted, 0.50),
        percentile(sorted, 0.90),
        percentile(sorted, 0.99),
        percentile(sorted, 0.999),
        sorted[sorted.len() - 1],
        mean
    );
}

fn percentiles(policy: &Policy, samples: usize) {
    let cases = support::cases(policy);
    let mut trace = Trace::with_capacity(policy.max_consulted());
    println!(
        "\npolicy: {} directives ({} consulted for the most-covered model), {} models; {samples} timed decisions per path",
        policy.directives().len(),
        policy.max_consulted(),
        policy.catalog().len(),
    );
    let overhead = sample(samples, || {
        black_box(());
    });
    report("(timer overhead)", &overhead);
    for case in &cases {
        let effect = policy
            .decide(&case.subject, &case.request, &mut trace)
            .effect;
        let sorted = sample(samples, || {
            black_box(policy.decide(
                black_box(&case.subject),
                black_box(&case.request),
                &mut trace,
            ));
        });
        report(&format!("{} ({})", case.name, short(effect)), &sorted);
    }
    let mut runs: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            black_box(Matrix::build(
                policy,
                support::jurisdictions(),
                support::at(),
            ));
            t.elapsed()
        })
        .collect();
    runs.sort_unstable();
    let m = Matrix::build(policy, support::jurisdictions(), support::at());
    println!(
        "matrix {} countries x {} models: min {:?}  median {:?}  max {:?} (20 builds)\n",
        m.rows.len(),
        m.models.len(),
        runs[0],
        runs[runs.len() / 2],
        runs[runs.len() - 1]
    );
}

fn short(e: Effect) -> &'static str {
    match e {
        Effect::Allow => "allow",
        Effect::AllowWithObligations => "oblig",
        Effect::VerificationRequired => "verify",
        Effect::Deny => "deny",
    }
}

fn bench_decide(c: &mut Criterion) {
    let policy = support::policy();
    let cases = support::cases(&policy);
    let mut trace = Trace::with_capacity(policy.max_consulted());
    let mut group = c.benchmark_group("decide");
    for name in ["allow", "deny", "unknown"] {
        let case = cases.iter().find(|c| c.name == name).unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                policy.decide(
                    black_box(&case.subject),
                    black_box(&case.request),
                    &mut trace,
                )
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("matrix");
    group.sample_size(20);
    group.bench_function("all_countries_x_all_models", |b| {
        b.iter(|| Matrix::build(&policy, support::jurisdictions(), black_box(support::at())))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_decide
}

fn main() {
    // `cargo test --benches` passes `--test`: run everything once, briefly.
    let quick = std::env::args().any(|a| a == "--test");
    let policy = support::policy();
    percentiles(&policy, if quick { 1_000 } else { SAMPLES });
    benches();
    Criterion::default().configure_from_args().final_summary();
}
