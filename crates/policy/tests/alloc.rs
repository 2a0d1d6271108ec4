//! `Policy::decide` performs no heap allocation once its `Trace` has
//! `Policy::max_consulted` capacity: on the allow path, the deny path and every
//! other path of the benchmark's request mix.
//!
//! A separate test binary, because the counting allocator (from the
//! `allocation-counter` crate; the workspace forbids `unsafe`) replaces the
//! global allocator of the whole binary. It counts per thread, so parallel
//! tests do not disturb each other. A behavioural assertion, not a timing one.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs,
    reason = "test code: the shared fixtures fail loudly on a broken fixture"
)]

#[path = "../benches/support/mod.rs"]
#[allow(
    dead_code,
    reason = "shared with the benches; not every fixture is used here"
)]
mod support;

use std::hint::black_box;

use cordon_policy::{Effect, Trace};

/// Allocations made by one `decide` call after a warm-up call on the same trace.
fn allocations(name: &str) -> (Effect, u64) {
    let policy = support::policy();
    let cases = support::cases(&policy);
    let case = cases.iter().find(|c| c.name == name).unwrap();
    let mut trace = Trace::with_capacity(policy.max_consulted());
    let effect = policy
        .decide(&case.subject, &case.request, &mut trace)
        .effect;
    let info = allocation_counter::measure(|| {
        for _ in 0..10 {
            black_box(policy.decide(
                black_box(&case.subject),
                black_box(&case.request),
                &mut trace,
            ));
        }
    });
    (effect, info.count_total)
}

#[test]
fn the_counter_sees_allocations() {
    let info = allocation_counter::measure(|| {
        black_box(vec![1u8; 16]);
    });
    assert_eq!(info.count_total, 1);
}

#[test]
fn deciding_the_allow_path_does_not_allocate() {
    let (effect, count) = allocations("allow");
    assert_eq!(effect, Effect::Allow);
    assert_eq!(count, 0, "decide allocated on the allow path");
}

#[test]
fn deciding_the_deny_path_does_not_allocate() {
    let (effect, count) = allocations("deny");
    assert_eq!(effect, Effect::Deny);
    assert_eq!(count, 0, "decide allocated on the deny path");
}

#[test]
fn a_licence_record_lifts_without_allocating() {
    let policy = support::policy();
    let cases = support::cases(&policy);
    let case = cases.iter().find(|c| c.name == "licensed").unwrap();
    let mut trace = Trace::with_capacity(policy.max_consulted());
    policy.decide(&case.subject, &case.request, &mut trace);
    assert!(
        trace
            .consulted()
            .iter()
            .any(|c| matches!(c.exempted_by, Some(cordon_policy::Exempted::Licence(0)))),
        "the licence lifts the foreign-national order"
    );
    let (_, count) = allocations("licensed");
    assert_eq!(count, 0, "decide allocated checking a licence record");
}

#[test]
fn deciding_never_allocates_once_the_trace_has_capacity() {
    let policy = support::policy();
    let cases = support::cases(&policy);
    // One trace for every case: capacity for the most-covered model suffices.
    let mut trace = Trace::with_capacity(policy.max_consulted());
    let mut allocating = Vec::new();
    for case in &cases {
        let info = allocation_counter::measure(|| {
            black_box(policy.decide(&case.subject, &case.request, &mut trace));
        });
        if info.count_total != 0 {
            allocating.push((case.name, info.count_total));
        }
    }
    assert!(allocating.is_empty(), "decide allocated: {allocating:?}");
}

#[test]
fn a_trace_without_capacity_grows_once_then_stops_allocating() {
    let policy = support::policy();
    let cases = support::cases(&policy);
    let case = cases.iter().find(|c| c.name == "allow").unwrap();
    let mut trace = Trace::default();
    let first = allocation_counter::measure(|| {
        black_box(policy.decide(&case.subject, &case.request, &mut trace));
    });
    assert!(first.count_total > 0, "an empty trace must grow");
    let again = allocation_counter::measure(|| {
        black_box(policy.decide(&case.subject, &case.request, &mut trace));
    });
    assert_eq!(again.count_total, 0);
}
