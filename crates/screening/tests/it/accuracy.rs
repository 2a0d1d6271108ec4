//! Precision and recall on the labelled set in `tests/data/accuracy.tsv`.
//!
//! The floors below are the figures measured at [`DEFAULT_THRESHOLD`] and
//! reported in the README; a change to normalisation or scoring that makes
//! either worse fails here.

use cordon_screening::screener::DEFAULT_THRESHOLD;

use crate::labelled::{all_lists, evaluate};

/// Recall measured at the default threshold.
const RECALL_FLOOR: f64 = RECALL_MEASURED - 0.005;
/// Precision measured at the default threshold.
const PRECISION_FLOOR: f64 = PRECISION_MEASURED - 0.005;
const RECALL_MEASURED: f64 = 0.955;
const PRECISION_MEASURED: f64 = 0.960;

#[test]
fn precision_and_recall_hold_at_the_default_threshold() {
    let o = evaluate(&all_lists());
    let recall = o.recall();
    let precision = o.precision();
    for m in &o.misses {
        eprintln!("{m}");
    }
    for (c, (ok, n)) in &o.by_category {
        eprintln!("{c:<16} {ok}/{n}");
    }
    eprintln!(
        "threshold {DEFAULT_THRESHOLD}: recall {recall:.3} ({}/{}), precision {precision:.3} ({} false positives; {} of {} negatives hit)",
        o.tp,
        o.tp + o.fn_,
        o.fp,
        o.negatives_held,
        o.negatives
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
