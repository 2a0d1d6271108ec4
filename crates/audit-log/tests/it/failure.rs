//! Write and sync failures fail the batch, leave no bytes behind, and clear.

use cordon_audit_log::{
    AppendError, AuditLog, CheckpointError, Fault, LogHealth, LogReader, verify,
};

use crate::support::{self, TempDir, TestSigner, TestVerifier, fill, leaf, open, records};

fn check_fault(fault: Fault) {
    let tmp = TempDir::new("fault");
    let (log, _) = open(tmp.path());
    fill(&log, 0, 20, 10);
    let seg = support::segments(tmp.path())[0].clone();
    let good_len = std::fs::metadata(&seg).unwrap().len();

    log.inject_fault(fault);
    let failed = log.append_many(vec![leaf(20), leaf(21), leaf(22)]);
    assert!(
        failed
            .iter()
            .all(|r| matches!(r, Err(AppendError::Unavailable(_)))),
        "{fault:?}: {failed:?}"
    );
    assert!(matches!(
        log.append_blocking(leaf(20)),
        Err(AppendError::Unavailable(reason)) if reason.contains("injected")
    ));
    match log.health() {
        LogHealth::Failing {
            reason,
            since_batches,
        } => {
            assert!(reason.contains("injected"), "{reason}");
            assert!(reason.contains(&seg.display().to_string()), "{reason}");
            assert_eq!(since_batches, 2);
        }
        other => panic!("{fault:?}: health should be failing, not {other:?}"),
    }
    assert_eq!(log.stats().failures, 2);
    assert_eq!(log.stats().size, 20);
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        good_len,
        "{fault:?}"
    );

    log.inject_fault(Fault::None);
    assert_eq!(log.append_blocking(leaf(20)).unwrap(), 20, "{fault:?}");
    assert_eq!(log.health(), LogHealth::Ok);
    fill(&log, 21, 9, 3);
    drop(log);

    // No partial bytes survive: every record parses and verify sees no tail.
    assert_eq!(
        records(&seg).iter().map(|r| r.entries.len()).sum::<usize>(),
        30
    );
    let reader = LogReader::open(tmp.path()).unwrap();
    let report = verify(&reader, &TestVerifier).unwrap();
    assert_eq!(report.entries, 30);
    assert_eq!(report.ignored_tail_bytes, 0);
    for i in 0..30 {
        assert_eq!(reader.entry(i).unwrap(), leaf(i));
    }
}

#[test]
fn a_failed_write_fails_the_batch_and_the_next_batch_succeeds() {
    check_fault(Fault::FailWrite);
}

#[test]
fn a_partial_write_is_cut_before_the_batch_fails() {
    check_fault(Fault::PartialWrite);
}

#[test]
fn a_partial_write_that_could_not_be_cut_stops_the_writer_until_recovery_cuts_it() {
    let tmp = TempDir::new("stuck");
    let (log, _) = open(tmp.path());
    fill(&log, 0, 20, 10);
    let seg = support::segments(tmp.path())[0].clone();
    let good_len = std::fs::metadata(&seg).unwrap().len();

    log.inject_fault(Fault::PartialWriteStuck);
    let refused = vec![b"refused-1".to_vec(), b"refused-2".to_vec()];
    assert!(
        log.append_many(refused.clone())
            .iter()
            .all(|r| matches!(r, Err(AppendError::Stopped(_))))
    );
    let LogHealth::Stopped { reason } = log.health() else {
        panic!("the writer should have stopped: {:?}", log.health());
    };
    assert!(reason.contains("`STOPPED` marker"), "{reason}");
    assert!(reason.contains(&seg.display().to_string()), "{reason}");
    // Clearing the fault does not restart a stopped writer: the segment's
    // state is unknown until recovery reads it.
    log.inject_fault(Fault::None);
    assert!(matches!(
        log.append_blocking(leaf(20)),
        Err(AppendError::Stopped(_))
    ));
    assert!(matches!(
        log.checkpoint_now(),
        Err(CheckpointError::Stopped(_))
    ));
    drop(log);
    assert!(std::fs::metadata(&seg).unwrap().len() > good_len);
    assert!(tmp.path().join("STOPPED").exists());

    // The restart cuts the refused half-batch where the marker says, keeps
    // a copy, and removes the marker.
    let (log, report) = open(tmp.path());
    assert_eq!(report.size, 20);
    assert!(report.cut.is_none(), "nothing torn was left to find");
    let kept = report.quarantined.expect("the cut bytes are kept");
    assert_eq!(
        std::fs::read(&kept).unwrap().len() as u64,
        std::fs::metadata(&kept).unwrap().len()
    );
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), good_len);
    assert!(!tmp.path().join("STOPPED").exists());
    assert_eq!(log.append_blocking(leaf(20)).unwrap(), 20);
    drop(log);
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(verify(&reader, &TestVerifier).unwrap().entries, 21);
    for i in 0..21 {
        assert_eq!(reader.entry(i).unwrap(), leaf(i));
    }
}

#[test]
fn a_failed_sync_fails_the_batch() {
    check_fault(Fault::FailSync);
}

#[test]
fn a_failing_signer_fails_the_checkpoint_but_not_the_log() {
    let tmp = TempDir::new("signer");
    let signer = TestSigner::default();
    let (log, _) = AuditLog::open(support::config(tmp.path()), signer.clone()).unwrap();
    fill(&log, 0, 3, 3);
    *signer.fail.lock().unwrap() = true;
    let err = log.checkpoint_now().unwrap_err();
    assert!(
        matches!(err, CheckpointError::Signer { size: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("unavailable"));
    assert_eq!(log.stats().checkpoint_failures, 1);
    assert_eq!(log.append_blocking(leaf(3)).unwrap(), 3);
    assert!(!tmp.path().join("checkpoint").exists());
    *signer.fail.lock().unwrap() = false;
    let cp = log.checkpoint_now().unwrap();
    assert!(cp.contains("\n4\n"));
    drop(log);
    let reader = LogReader::open(tmp.path()).unwrap();
    assert_eq!(reader.checkpoints(), vec![cp]);
}

#[test]
fn appends_after_shutdown_report_closed() {
    let tmp = TempDir::new("closed");
    let (log, _) = open(tmp.path());
    let log = std::sync::Arc::new(log);
    // Callbacks run even when the handle is dropped with leaves queued.
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..100 {
        let tx = tx.clone();
        log.append(leaf(i), move |r| tx.send(r).unwrap());
    }
    drop(tx);
    drop(std::sync::Arc::try_unwrap(log).unwrap());
    let results: Vec<_> = rx.iter().collect();
    assert_eq!(results.len(), 100);
    assert!(results.iter().all(Result::is_ok));
}
