//! Shipping a node's audit log to a real PostgreSQL server, when
//! `CORDON_TEST_POSTGRES` names one (`tests/postgres/run.sh` starts it).
//! Each test gets a database of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test fixtures fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cordon_audit::SigningKey;
use cordon_audit::shipped::verify_shipped;
use cordon_audit_log::{AuditLog, LogConfig};
use cordon_fleet::shipper::ShipperHandle;
use cordon_fleet::{CommitQueue, Shipper};
use cordon_store::PostgresStore;

const ORIGIN: &str = "node.test/audit";

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, [3; 32]).unwrap()
}

/// A database of its own on the test server, migrated; `None` (and the
/// test passes vacuously) only when no server is configured, which
/// `tests/postgres/run.sh` refuses.
fn store(test: &str) -> Option<Arc<PostgresStore>> {
    let Ok(server) = std::env::var("CORDON_TEST_POSTGRES") else {
        eprintln!("skipped: CORDON_TEST_POSTGRES is not set (tests/postgres/run.sh sets it)");
        return None;
    };
    let db = format!("cordon_fleet_{test}");
    let mut admin = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    let (base, _) = server.rsplit_once('/').unwrap();
    let url = format!("{base}/{db}");
    PostgresStore::migrate(&url).unwrap();
    Some(Arc::new(PostgresStore::connect(&url).unwrap()))
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("cordon-fleet-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open_log(dir: &Path, queue: Option<Arc<CommitQueue>>) -> AuditLog {
    let mut config = LogConfig::new(dir, ORIGIN);
    config.observer = queue.map(|q| q as _);
    AuditLog::open(config, key()).unwrap().0
}

fn entry(i: u64) -> Vec<u8> {
    format!("{{\"entry\":{i}}}").into_bytes()
}

fn ship(
    store: &Arc<PostgresStore>,
    node: &str,
    dir: &Path,
    queue: Arc<CommitQueue>,
) -> ShipperHandle {
    Shipper::new(
        Arc::clone(store),
        node,
        dir.to_owned(),
        key().verifier(),
        queue,
    )
    .spawn()
    .unwrap()
}

/// Waits until `f` holds, failing after 20 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn verify(store: &PostgresStore, node: &str) -> (usize, u64) {
    let logs = store.shipped_logs().unwrap();
    let log = logs.iter().find(|l| l.node == node).unwrap();
    assert_eq!(log.public_key, key().verifier().to_text());
    let report = verify_shipped(&log.entries, &log.checkpoints, &key().verifier()).unwrap();
    (log.entries.len(), report.checkpoints as u64)
}

#[test]
fn each_committed_batch_is_confirmed_once_the_shared_store_holds_it() {
    let Some(store) = store("confirmed") else {
        return;
    };
    let tmp = TempDir::new("confirmed");
    let queue = Arc::new(CommitQueue::default());
    let log = open_log(&tmp.0, Some(queue.clone()));
    let shipper = ship(&store, "n1", &tmp.0, queue);
    let confirmed = shipper.confirmed();
    for i in 0..40 {
        let index = log.append_blocking(entry(i)).unwrap();
        eventually("the entry is confirmed", || *confirmed.borrow() > index);
        // Confirmed means committed in the shared store.
        assert!(store.shipped_size("n1").unwrap() > index);
    }
    let many = log.append_many((40..300).map(entry).collect());
    assert!(many.iter().all(Result::is_ok));
    log.checkpoint_now().unwrap();
    eventually("the checkpoint is shipped", || {
        store.shipped_head("n1").unwrap().checkpoint == 300
    });
    let (entries, checkpoints) = verify(&store, "n1");
    assert_eq!(entries, 300);
    assert!(checkpoints >= 1);
    let status = shipper.status();
    assert_eq!(status.shipped, 300);
    assert!(status.failing.is_none());
    let [p50, p99] = status.lag_quantiles([0.5, 0.99]);
    assert!(p50.is_some() && p50 <= p99);
    shipper.stop();
}

#[test]
fn shipping_resumes_from_the_log_on_disk_exactly_once() {
    let Some(store) = store("resume") else {
        return;
    };
    let tmp = TempDir::new("resume");
    // A first run ships part of the log, then the node stops.
    let queue = Arc::new(CommitQueue::default());
    let log = open_log(&tmp.0, Some(queue.clone()));
    let shipper = ship(&store, "n1", &tmp.0, queue);
    log.append_many((0..50).map(entry).collect());
    eventually("50 are shipped", || store.shipped_size("n1").unwrap() == 50);
    shipper.stop();
    // Committed while nothing shipped (the node lost its store, or crashed
    // between its disk and the store).
    log.append_many((50..120).map(entry).collect());
    drop(log);
    // The restarted node ships what it missed from disk, then what is new.
    let queue = Arc::new(CommitQueue::default());
    let log = open_log(&tmp.0, Some(queue.clone()));
    let shipper = ship(&store, "n1", &tmp.0, queue);
    log.append_many((120..130).map(entry).collect());
    log.checkpoint_now().unwrap();
    eventually("all 130 are shipped", || {
        store.shipped_head("n1").unwrap().checkpoint == 130
    });
    let (entries, _) = verify(&store, "n1");
    assert_eq!(entries, 130);
    let logs = store.shipped_logs().unwrap();
    for (i, e) in logs[0].entries.iter().enumerate() {
        assert_eq!(e, &entry(i as u64), "entry {i} shipped once, in order");
    }
    shipper.stop();
}

#[test]
fn a_queue_that_let_go_is_filled_from_disk() {
    let Some(store) = store("overflow") else {
        return;
    };
    let tmp = TempDir::new("overflow");
    // A queue of a few bytes drops nearly every batch.
    let queue = Arc::new(CommitQueue::new(16));
    let log = open_log(&tmp.0, Some(queue.clone()));
    let shipper = ship(&store, "n1", &tmp.0, queue);
    for chunk in 0..20u64 {
        log.append_many((chunk * 10..chunk * 10 + 10).map(entry).collect());
    }
    eventually("all 200 are shipped", || {
        store.shipped_size("n1").unwrap() == 200
    });
    log.checkpoint_now().unwrap();
    eventually("the checkpoint is shipped", || {
        store.shipped_head("n1").unwrap().checkpoint == 200
    });
    assert_eq!(verify(&store, "n1").0, 200);
    shipper.stop();
}

#[test]
fn a_log_that_diverged_from_its_shipped_copy_is_not_shipped() {
    let Some(store) = store("diverged") else {
        return;
    };
    let first = TempDir::new("diverged-a");
    let queue = Arc::new(CommitQueue::default());
    let log = open_log(&first.0, Some(queue.clone()));
    let shipper = ship(&store, "n1", &first.0, queue);
    log.append_many((0..10).map(entry).collect());
    eventually("10 are shipped", || store.shipped_size("n1").unwrap() == 10);
    shipper.stop();
    drop(log);

    // Another log under the same node name and key: longer, but different.
    let second = TempDir::new("diverged-b");
    let log = open_log(&second.0, None);
    log.append_many((100..120).map(entry).collect());
    drop(log);
    let shipper = ship(&store, "n1", &second.0, Arc::new(CommitQueue::default()));
    eventually("the shipper reports the divergence", || {
        shipper
            .status()
            .failing
            .is_some_and(|f| f.contains("diverged"))
    });
    assert_eq!(
        store.shipped_size("n1").unwrap(),
        10,
        "nothing more shipped"
    );

    // A log shorter than its shipped copy lost shipped entries.
    let third = TempDir::new("diverged-c");
    open_log(&third.0, None).append_many((0..5).map(entry).collect());
    let short = ship(&store, "n1", &third.0, Arc::new(CommitQueue::default()));
    eventually("the shipper reports the lost entries", || {
        short
            .status()
            .failing
            .is_some_and(|f| f.contains("holds only 5"))
    });
    shipper.stop();
    short.stop();
    assert_eq!(store.shipped_size("n1").unwrap(), 10);
}
