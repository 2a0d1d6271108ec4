//! The commit observer sees exactly the committed batches, in order, and
//! before any appender learns its index.

use std::sync::{Arc, Mutex};

use cordon_audit_log::{AppendError, AuditLog, CommitObserver, Fault};

use crate::support::{TempDir, TestSigner, config, leaf};

/// Records every batch it is told of, and the log size appenders had been
/// told of at that moment.
#[derive(Default)]
struct Seen {
    batches: Mutex<Vec<(u64, Vec<Vec<u8>>)>>,
    acknowledged: Arc<Mutex<u64>>,
}

impl CommitObserver for Seen {
    fn committed(&self, first: u64, leaves: &[&[u8]]) {
        let acked = *self.acknowledged.lock().unwrap();
        assert!(
            acked <= first,
            "an appender heard of index {} before the observer saw batch {first}",
            acked - 1
        );
        self.batches
            .lock()
            .unwrap()
            .push((first, leaves.iter().map(|l| l.to_vec()).collect()));
    }
}

#[test]
fn the_observer_sees_each_committed_batch_before_its_appenders_and_never_a_failed_one() {
    let tmp = TempDir::new("observer");
    let seen = Arc::new(Seen::default());
    let mut cfg = config(tmp.path());
    cfg.observer = Some(seen.clone());
    let (log, _) = AuditLog::open(cfg, TestSigner::default()).unwrap();
    let acked = Arc::clone(&seen.acknowledged);
    let append = |log: &AuditLog, i: u64| {
        let r = log.append_blocking(leaf(i));
        if let Ok(index) = r {
            let mut a = acked.lock().unwrap();
            *a = (*a).max(index + 1);
        }
        r
    };
    for i in 0..5 {
        assert_eq!(append(&log, i).unwrap(), i);
    }
    log.inject_fault(Fault::FailWrite);
    assert!(matches!(append(&log, 5), Err(AppendError::Unavailable(_))));
    log.inject_fault(Fault::None);
    let many = log.append_many((5..12).map(leaf).collect());
    assert!(many.iter().all(Result::is_ok), "{many:?}");
    drop(log);

    let batches = seen.batches.lock().unwrap();
    let mut next = 0;
    for (first, leaves) in batches.iter() {
        assert_eq!(
            *first, next,
            "batches reach the observer in order, without gaps"
        );
        for (k, l) in leaves.iter().enumerate() {
            assert_eq!(l, &leaf(first + k as u64));
        }
        next = first + leaves.len() as u64;
    }
    assert_eq!(next, 12, "every committed entry, and the failed one never");
}
