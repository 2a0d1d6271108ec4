//! No output reaches a customer, and no refusal is sent, before the
//! decision's record is durable: the request goes upstream while the record
//! syncs, and the answer waits for the sync.
//!
//! The log here is on a disk whose syncs the test holds and releases, so
//! what the customer receives while a record is not yet durable is observed
//! on the wire, byte by byte.

use std::io;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use cordon_audit_log::storage::{LockError, LockGuard, OpenMode, OsStorage, Storage, StorageFile};
use cordon_gateway::mock;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::audit::{Trail, audited};
use super::{Directives, Harness, Setup, hello, start};

/// Holds every file sync until released; a release may fail the syncs
/// waiting at that moment.
#[derive(Debug, Default)]
struct SyncGate {
    state: Mutex<GateState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct GateState {
    closed: bool,
    /// Syncs blocked in the gate.
    waiting: usize,
    /// Whether the syncs blocked now fail when released.
    fail_waiting: bool,
}

impl SyncGate {
    fn close(&self) {
        self.state.lock().unwrap().closed = true;
    }

    /// Lets every sync through, the blocked ones failing when `fail`.
    fn open(&self, fail: bool) {
        let mut s = self.state.lock().unwrap();
        s.closed = false;
        s.fail_waiting = fail && s.waiting > 0;
        self.changed.notify_all();
    }

    fn waiting(&self) -> usize {
        self.state.lock().unwrap().waiting
    }

    fn pass(&self) -> io::Result<()> {
        let mut s = self.state.lock().unwrap();
        if !s.closed {
            return Ok(());
        }
        s.waiting += 1;
        // Bounded, so that a failing test cannot leave the writer (and the
        // log's drop, which joins it) blocked for ever.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut abandoned = false;
        while s.closed {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                abandoned = true;
                break;
            }
            s = self.changed.wait_timeout(s, left).unwrap().0;
        }
        s.waiting -= 1;
        let fail = s.fail_waiting || abandoned;
        if s.waiting == 0 {
            s.fail_waiting = false;
        }
        if fail {
            Err(io::Error::other("the disk failed the sync"))
        } else {
            Ok(())
        }
    }
}

/// The test's hold on a [`SyncGate`], which lets every sync through when
/// dropped (a test that fails midway too).
struct Gate(Arc<SyncGate>);

impl std::ops::Deref for Gate {
    type Target = SyncGate;
    fn deref(&self) -> &SyncGate {
        &self.0
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.0.open(false);
    }
}

/// The operating system's file system behind a [`SyncGate`].
#[derive(Debug)]
struct GatedDisk {
    gate: Arc<SyncGate>,
}

struct GatedFile {
    file: Arc<dyn StorageFile>,
    gate: Arc<SyncGate>,
}

impl StorageFile for GatedFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
    fn sync(&self) -> io::Result<()> {
        self.gate.pass()?;
        self.file.sync()
    }
    fn size(&self) -> io::Result<u64> {
        self.file.size()
    }
}

impl Storage for GatedDisk {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn StorageFile>> {
        Ok(Arc::new(GatedFile {
            file: os().open(path, mode)?,
            gate: Arc::clone(&self.gate),
        }))
    }
    fn file_len(&self, path: &Path) -> io::Result<u64> {
        os().file_len(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        os().list(dir)
    }
    fn is_dir(&self, path: &Path) -> bool {
        os().is_dir(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        os().create_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        os().rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        os().remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        os().sync_dir(dir)
    }
    fn lock(&self, path: &Path) -> Result<Box<dyn LockGuard>, LockError> {
        os().lock(path)
    }
}

fn os() -> OsStorage {
    OsStorage
}

/// The audited harness on a gated disk, with `token_delay` between the
/// mock's streamed tokens.
async fn gated(token_delay: Duration) -> (Harness, Gate) {
    let gate = Arc::new(SyncGate::default());
    let h = start(Setup {
        directives: Directives::Only(&["foreign-national-frontier.toml"]),
        token_delay,
        audit: Some(Trail {
            storage: Some(Arc::new(GatedDisk {
                gate: Arc::clone(&gate),
            })),
            ..Trail::default()
        }),
        ..audited()
    })
    .await;
    (h, Gate(gate))
}

/// A chat completion sent by hand on its own connection, so the test sees
/// every byte the gateway sends and when.
async fn raw_chat(h: &Harness, who: &str, body: serde_json::Value) -> TcpStream {
    let body = body.to_string();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        h.key(who),
        body.len()
    );
    let mut conn = TcpStream::connect(h.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body.as_bytes()).await.unwrap();
    conn
}

/// Fails unless `conn` stays silent for a while.
async fn assert_silent(conn: &mut TcpStream, what: &str) {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(300), conn.read(&mut byte)).await {
        Err(_) => {}
        Ok(read) => panic!(
            "{what}: the gateway sent something before the record was durable: {read:?} {byte:?}"
        ),
    }
}

/// Everything `conn` receives until the gateway closes it.
async fn read_all(conn: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut out))
        .await
        .expect("the answer arrives once the sync is released")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until `f` holds, for at most five seconds.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn the_request_goes_upstream_while_its_record_syncs_and_the_answer_waits_for_the_sync() {
    let (h, gate) = gated(Duration::from_millis(1)).await;
    let trail = h.gw.audit().unwrap();
    gate.close();
    let mut conn = raw_chat(&h, "us-citizen", hello("fable-5")).await;
    // The upstream has the request and has answered, and the sync is held.
    eventually("the upstream received the request", || {
        h.upstream_requests() == 1
    })
    .await;
    eventually("the record's sync is held", || gate.waiting() > 0).await;
    assert_silent(&mut conn, "an allowed request").await;
    assert_eq!(trail.stats().size, 0, "nothing is durable yet");

    gate.open(false);
    let answer = read_all(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(mock::REPLY), "{answer}");
    let index: u64 = header(&answer, "x-cordon-audit-index").parse().unwrap();
    assert!(
        trail.stats().size > index,
        "answered once its entry is synced"
    );
    h.finish();
}

#[tokio::test]
async fn a_refusal_is_sent_only_once_its_record_is_durable() {
    let (h, gate) = gated(Duration::from_millis(1)).await;
    gate.close();
    let mut conn = raw_chat(&h, "foreign-national", hello("fable-5")).await;
    eventually("the record's sync is held", || gate.waiting() > 0).await;
    assert_silent(&mut conn, "a refusal").await;
    gate.open(false);
    let answer = read_all(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 451"), "{answer}");
    assert_eq!(h.upstream_requests(), 0, "a refusal is never forwarded");
    h.finish();
}

#[tokio::test]
async fn a_sync_that_fails_after_forwarding_closes_the_upstream_and_answers_503() {
    // A stream of a token every 100 ms: still open upstream when the sync
    // fails.
    let (h, gate) = gated(Duration::from_millis(100)).await;
    let streams = || h.mock.state.open_streams.load(Ordering::SeqCst);
    gate.close();
    let mut body = hello("fable-5");
    body["stream"] = json!(true);
    let mut conn = raw_chat(&h, "us-citizen", body).await;
    eventually("the upstream is streaming", || streams() == 1).await;
    eventually("the record's sync is held", || gate.waiting() > 0).await;
    assert_silent(&mut conn, "a stream").await;

    gate.open(true);
    let answer = read_all(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("audit_unavailable"), "{answer}");
    assert!(
        !answer.contains("data:"),
        "no chunk of the stream: {answer}"
    );
    assert!(!answer.contains("Hello from"), "{answer}");
    eventually("the upstream stream is closed", || streams() == 0).await;
    // The log restored its segment and goes on.
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    h.finish();
}

/// The value of header `name` in a raw HTTP/1.1 answer.
fn header<'a>(answer: &'a str, name: &str) -> &'a str {
    answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or_default()
}
