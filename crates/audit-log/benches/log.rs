//! Throughput, latency, verification and proof figures of the log store, and
//! the same batches written to SQLite for comparison.
//!
//! Run: `cargo bench -p cordon-audit-log --bench log [-- append|verify|proof|sqlite]`
//! (all four without a name). The log lives under the system temp directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "a benchmark harness: failing loudly on a broken setup is what we want"
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cordon_audit::merkle::{self, Completed, Frontier, Hash, SourceError, leaf_hash};
use cordon_audit_log::{
    AuditLog, CheckpointSigner, CheckpointVerifier, LogConfig, LogReader, verify,
};

struct NullSigner;

impl CheckpointSigner for NullSigner {
    fn sign(&self, size: u64, root: &Hash) -> Result<String, SourceError> {
        let hex: String = root.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("bench.example/log\n{size}\n{hex}\n"))
    }
}

struct NullVerifier;

impl CheckpointVerifier for NullVerifier {
    fn open(&self, note: &str) -> Result<(u64, Hash), SourceError> {
        let mut lines = note.lines().skip(1);
        let size = lines.next().ok_or("size")?.parse()?;
        let hex = lines.next().ok_or("root")?;
        let mut root = [0u8; 32];
        for (i, b) in root.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
        }
        Ok((size, root))
    }
}

/// A decision leaf of about 400 bytes of canonical JSON.
fn leaf(i: u64) -> Vec<u8> {
    format!(
        r#"{{"v":1,"kind":"decision","id":"01JTZ{i:021}","time":"2026-05-01T12:00:{:02}Z","account":"acct_{:08}","model":"frontier-large","resolved":"vendor/frontier-large-2026-04","endpoint":"/v1/chat/completions","effect":"allow","mode":"enforced","decided_by":"eu-2026-03","consulted":["eu-2026-03","us-ear-744.23"],"obligations":[],"policy":"sha256:9f2c4e1a","country":"DE","region":"BY","anonymiser":false,"source":"gateway"}}"#,
        i % 60,
        i % 100_000
    )
    .into_bytes()
}

fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "cordon-audit-log-bench-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn du(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        total += if m.is_dir() { du(&e.path()) } else { m.len() };
    }
    total
}

fn open(dir: &Path) -> AuditLog {
    AuditLog::open(LogConfig::new(dir, "bench.example/log"), NullSigner)
        .unwrap()
        .0
}

fn append() {
    let dir = temp("append");
    let log = Arc::new(open(&dir));
    const PRODUCERS: u64 = 8;
    const PER: u64 = 50_000;
    const IN_FLIGHT: u64 = 2048;
    let leaves: Vec<Vec<u8>> = (0..1000).map(leaf).collect();
    let leaves = Arc::new(leaves);
    let started = Instant::now();
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let log = Arc::clone(&log);
            let leaves = Arc::clone(&leaves);
            std::thread::spawn(move || {
                let acked = Arc::new(AtomicU64::new(0));
                for i in 0..PER {
                    while i - acked.load(Ordering::Acquire) >= IN_FLIGHT {
                        std::thread::yield_now();
                    }
                    let acked = Arc::clone(&acked);
                    log.append(leaves[((p * PER + i) % 1000) as usize].clone(), move |r| {
                        r.unwrap();
                        acked.fetch_add(1, Ordering::Release);
                    });
                }
                while acked.load(Ordering::Acquire) < PER {
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let stats = log.stats();
    let n = PRODUCERS * PER;
    println!(
        "append: {n} decisions from {PRODUCERS} producers in {secs:.2} s = {:.0} decisions/s; {} fsyncs = {:.0} fsyncs/s, {:.0} decisions per batch, last commit {} µs",
        n as f64 / secs,
        stats.fsyncs,
        stats.fsyncs as f64 / secs,
        n as f64 / stats.batches as f64,
        stats.last_commit_micros
    );

    // Latency at a moderate rate: 8 producers at 1,250/s each for 3 s.
    let before = log.stats();
    let samples = Arc::new(Mutex::new(Vec::<u64>::new()));
    let rate_per_producer = 1250u64;
    let run = Duration::from_secs(3);
    let handles: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let log = Arc::clone(&log);
            let samples = Arc::clone(&samples);
            std::thread::spawn(move || {
                let start = Instant::now();
                let gap = Duration::from_secs(1) / rate_per_producer as u32;
                let mut k = 0u32;
                while start.elapsed() < run {
                    let due = start + gap * k;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let t0 = Instant::now();
                    let samples = Arc::clone(&samples);
                    log.append(leaf(p * 1_000_000 + u64::from(k)), move |r| {
                        r.unwrap();
                        samples
                            .lock()
                            .unwrap()
                            .push(t0.elapsed().as_micros() as u64);
                    });
                    k += 1;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let mut s = samples.lock().unwrap().clone();
    s.sort_unstable();
    let after = log.stats();
    let pct = |q: f64| s[((s.len() as f64 - 1.0) * q) as usize];
    println!(
        "append latency at {}/s: {} samples, p50 {} µs, p99 {} µs, max {} µs; {:.0} decisions per batch",
        rate_per_producer * PRODUCERS,
        s.len(),
        pct(0.50),
        pct(0.99),
        s.last().unwrap(),
        s.len() as f64 / (after.batches - before.batches) as f64
    );
    let size = after.size;
    drop(Arc::try_unwrap(log).ok());
    let segs = du(&dir.join("segments"));
    let tree = du(&dir.join("tree"));
    let index = du(&dir.join("index"));
    let leaf_bytes: u64 = (0..1000).map(|i| leaf(i).len() as u64).sum::<u64>() / 1000;
    println!(
        "disk per decision: {:.1} bytes (segments {:.1}, tree {:.1}, index {:.1}) for leaves of ~{leaf_bytes} bytes",
        (segs + tree + index) as f64 / size as f64,
        segs as f64 / size as f64,
        tree as f64 / size as f64,
        index as f64 / size as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Builds (or reuses) a log of one million leaves.
fn million() -> PathBuf {
    let dir = std::env::temp_dir().join("cordon-audit-log-bench-million");
    if let Ok(r) = LogReader::open(&dir)
        && r.size() == 1_000_000
        && r.latest_checkpoint().is_some()
    {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let log = open(&dir);
    for chunk in 0..(1_000_000 / 4000) {
        let leaves: Vec<Vec<u8>> = (chunk * 4000..(chunk + 1) * 4000).map(leaf).collect();
        for r in log.append_many(leaves) {
            r.unwrap();
        }
        if chunk % 50 == 49 {
            log.checkpoint_now().unwrap();
        }
    }
    log.checkpoint_now().unwrap();
    drop(log);
    println!(
        "built a 1,000,000-leaf log in {:.1} s ({:.0} MB)",
        started.elapsed().as_secs_f64(),
        du(&dir) as f64 / 1e6
    );
    dir
}

fn verify_bench() {
    let dir = million();
    for _ in 0..3 {
        let started = Instant::now();
        let reader = LogReader::open(&dir).unwrap();
        let opened = started.elapsed();
        let report = verify(&reader, &NullVerifier).unwrap();
        println!(
            "verify: {} entries, {} batches, {} checkpoints in {:.2} s (open {:.0} ms; page cache warm)",
            report.entries,
            report.batches,
            report.checkpoints,
            started.elapsed().as_secs_f64(),
            opened.as_secs_f64() * 1e3
        );
    }
}

fn proof_bench() {
    let dir = million();
    let reader = LogReader::open(&dir).unwrap();
    let size = reader.size();
    let root = reader.root();
    let n = 20_000u64;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let started = Instant::now();
    let mut total = 0usize;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let proof = reader.inclusion_proof(x % size, size).unwrap();
        total += proof.len();
    }
    let per = started.elapsed().as_secs_f64() / n as f64 * 1e6;
    let entry = reader.entry(123_456).unwrap();
    let proof = reader.inclusion_proof(123_456, size).unwrap();
    merkle::verify_inclusion(&leaf_hash(&entry), 123_456, size, &proof, &root).unwrap();
    let started = Instant::now();
    for k in 0..n {
        reader.consistency_proof(1 + k * 37, size).unwrap();
    }
    let cons = started.elapsed().as_secs_f64() / n as f64 * 1e6;
    let started = Instant::now();
    for k in 0..2000u64 {
        reader.hash_tile(0, k * 7 % 3900, 256).unwrap();
    }
    let tile = started.elapsed().as_secs_f64() / 2000.0 * 1e6;
    println!(
        "proof over {size} leaves: inclusion {per:.1} µs ({} hashes), consistency {cons:.1} µs, full hash tile {tile:.1} µs",
        total / n as usize
    );
}

fn sqlite_compare() {
    for batch in [1usize, 16, 256, 4096] {
        let total = match batch {
            1 => 2_000,
            16 => 32_000,
            _ => 200_000,
        };
        let dir = temp("cmp-log");
        let log = open(&dir);
        let started = Instant::now();
        let mut commit_micros = 0;
        for chunk in 0..total / batch {
            let leaves: Vec<Vec<u8>> = (0..batch)
                .map(|k| leaf((chunk * batch + k) as u64))
                .collect();
            for r in log.append_many(leaves) {
                r.unwrap();
            }
            commit_micros += log.stats().last_commit_micros;
        }
        let log_secs = started.elapsed().as_secs_f64();
        if batch == 1 {
            println!(
                "batches of 1: write+sync {:.0} µs of {:.0} µs per batch",
                commit_micros as f64 / total as f64,
                log_secs * 1e6 / total as f64
            );
        }
        drop(log);
        let log_bytes = du(&dir);
        let _ = std::fs::remove_dir_all(&dir);

        let dir = temp("cmp-sqlite");
        let db = rusqlite::Connection::open(dir.join("log.db")).unwrap();
        db.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE entries(idx INTEGER PRIMARY KEY, hash BLOB NOT NULL, data BLOB NOT NULL);
             CREATE TABLE nodes(height INTEGER, idx INTEGER, hash BLOB NOT NULL, PRIMARY KEY(height, idx)) WITHOUT ROWID;",
        )
        .unwrap();
        let mut frontier = Frontier::new();
        let started = Instant::now();
        let mut db = db;
        for chunk in 0..total / batch {
            let tx = db.transaction().unwrap();
            {
                let mut ins = tx
                    .prepare_cached("INSERT INTO entries VALUES (?1, ?2, ?3)")
                    .unwrap();
                let mut node = tx
                    .prepare_cached("INSERT INTO nodes VALUES (?1, ?2, ?3)")
                    .unwrap();
                for k in 0..batch {
                    let data = leaf((chunk * batch + k) as u64);
                    let h = leaf_hash(&data);
                    let index = frontier.size();
                    ins.execute(rusqlite::params![index as i64, &h[..], data])
                        .unwrap();
                    let mut done: Vec<Completed> = Vec::new();
                    frontier.push(h, |c| done.push(c));
                    for c in done.into_iter().skip(1) {
                        node.execute(rusqlite::params![c.height, c.index as i64, &c.hash[..]])
                            .unwrap();
                    }
                }
            }
            tx.commit().unwrap();
        }
        let sql_secs = started.elapsed().as_secs_f64();
        db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        drop(db);
        let sql_bytes = du(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        println!(
            "batches of {batch:>4}: segment log {:>7.0} decisions/s, {:>5.0} B/decision | sqlite WAL+FULL {:>7.0} decisions/s, {:>5.0} B/decision",
            total as f64 / log_secs,
            log_bytes as f64 / total as f64,
            total as f64 / sql_secs,
            sql_bytes as f64 / total as f64
        );
    }
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    if run("append") {
        append();
    }
    if run("verify") {
        verify_bench();
    }
    if run("proof") {
        proof_bench();
    }
    if run("sqlite") {
        sqlite_compare();
    }
}
