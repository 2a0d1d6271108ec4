#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use cordon_audit_log::CommitObserver;

use super::{CommitQueue, Taken};

const NOW: Duration = Duration::ZERO;

fn leaves(taken: Taken) -> Vec<Vec<u8>> {
    match taken {
        Taken::Entries { leaves, .. } => leaves,
        other => panic!("expected entries, got {other:?}"),
    }
}

#[test]
fn entries_come_out_in_order_and_at_most_max_at_a_time() {
    let q = CommitQueue::new(1 << 20);
    q.committed(0, &[b"a", b"b"]);
    q.committed(2, &[b"c"]);
    assert_eq!(
        leaves(q.take(0, 2, NOW)),
        vec![b"a".to_vec(), b"b".to_vec()]
    );
    assert_eq!(leaves(q.take(2, 2, NOW)), vec![b"c".to_vec()]);
    assert_eq!(q.take(3, 2, NOW), Taken::Nothing);
}

#[test]
fn entries_already_shipped_are_skipped() {
    let q = CommitQueue::new(1 << 20);
    q.committed(10, &[b"a", b"b", b"c"]);
    assert_eq!(leaves(q.take(12, 8, NOW)), vec![b"c".to_vec()]);
}

#[test]
fn entries_the_queue_never_saw_are_a_gap_to_read_from_disk() {
    let q = CommitQueue::new(1 << 20);
    // The log held 0..7 before the queue was attached.
    q.committed(7, &[b"h"]);
    assert_eq!(q.take(5, 8, NOW), Taken::Gap { until: Some(7) });
    assert_eq!(leaves(q.take(7, 8, NOW)), vec![b"h".to_vec()]);
}

#[test]
fn past_its_limit_the_queue_lets_go_and_reports_the_gap() {
    let q = CommitQueue::new(4);
    q.committed(0, &[b"ab", b"cd"]);
    q.committed(2, &[b"ef"]);
    assert_eq!(q.take(0, 8, NOW), Taken::Gap { until: None });
    q.committed(3, &[b"g"]);
    assert_eq!(q.take(0, 8, NOW), Taken::Gap { until: Some(3) });
    assert_eq!(leaves(q.take(3, 8, NOW)), vec![b"g".to_vec()]);
}

#[test]
fn a_batch_that_does_not_follow_the_last_restarts_the_queue() {
    let q = CommitQueue::new(1 << 20);
    q.committed(0, &[b"a"]);
    q.committed(5, &[b"f"]);
    assert_eq!(q.take(0, 8, NOW), Taken::Gap { until: Some(5) });
}

#[test]
fn a_waiting_taker_wakes_when_a_batch_commits() {
    let q = Arc::new(CommitQueue::new(1 << 20));
    let writer = Arc::clone(&q);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        writer.committed(0, &[b"x"]);
    });
    assert_eq!(
        leaves(q.take(0, 8, Duration::from_secs(30))),
        vec![b"x".to_vec()]
    );
    t.join().unwrap();
}
