//! Temporary directories and a keyed-hash stand-in for checkpoint signing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cordon_audit::merkle::{Hash, SourceError};
use cordon_audit_log::{AuditLog, CheckpointSigner, CheckpointVerifier, LogConfig, RecoveryReport};
use sha2::{Digest, Sha256};

pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "cordon-audit-log-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const KEY: &[u8] = b"test key";

fn tag(body: &str) -> String {
    hex(&Sha256::new()
        .chain_update(KEY)
        .chain_update(body)
        .finalize()
        .into())
}

pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs `origin\nsize\nroot-hex\n` with a keyed hash; counts calls and can
/// be told to fail.
#[derive(Clone, Default)]
pub struct TestSigner {
    pub fail: Arc<Mutex<bool>>,
    pub calls: Arc<AtomicU64>,
}

impl CheckpointSigner for TestSigner {
    fn sign(&self, size: u64, root: &Hash) -> Result<String, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if *self.fail.lock().unwrap() {
            return Err("the signing key is unavailable".into());
        }
        let body = format!("test.example/log\n{size}\n{}\n", hex(root));
        Ok(format!("{body}\n— test {}\n", tag(&body)))
    }
}

pub struct TestVerifier;

impl CheckpointVerifier for TestVerifier {
    fn open(&self, note: &str) -> Result<(u64, Hash), SourceError> {
        let (body, sig) = note.split_once("\n— test ").ok_or("no signature line")?;
        if sig.trim_end() != tag(body) {
            return Err("bad signature".into());
        }
        let mut lines = body.lines().skip(1);
        let size: u64 = lines.next().ok_or("no size")?.parse()?;
        let root_hex = lines.next().ok_or("no root")?;
        let mut root = [0u8; 32];
        for (i, b) in root.iter_mut().enumerate() {
            *b = u8::from_str_radix(root_hex.get(2 * i..2 * i + 2).ok_or("short root")?, 16)?;
        }
        Ok((size, root))
    }
}

pub fn config(dir: &Path) -> LogConfig {
    LogConfig::new(dir, "test.example/log")
}

pub fn open(dir: &Path) -> (AuditLog, RecoveryReport) {
    AuditLog::open(config(dir), TestSigner::default()).unwrap()
}

/// A leaf that looks like a decision record of about 400 bytes.
pub fn leaf(i: u64) -> Vec<u8> {
    let mut s = format!(
        r#"{{"v":1,"kind":"decision","id":"d-{i:012}","time":"2026-05-01T12:00:00Z","account":"acct-{}","model":"frontier-large","resolved":"vendor/frontier-large-2026-04","endpoint":"/v1/chat/completions","effect":"allow","mode":"enforced","decided_by":"dir-eu-2026-03","consulted":["dir-eu-2026-03","dir-us-ear-744"],"policy":"sha256:","country":"DE","region":null,"anonymiser":false,"source":"gateway"}}"#,
        i % 977
    );
    s.push_str(&"x".repeat((i % 64) as usize));
    s.into_bytes()
}

/// Appends `n` leaves from `start` in batches of `per` and returns them.
pub fn fill(log: &AuditLog, start: u64, n: u64, per: usize) -> Vec<Vec<u8>> {
    let leaves: Vec<Vec<u8>> = (start..start + n).map(leaf).collect();
    for chunk in leaves.chunks(per) {
        for r in log.append_many(chunk.to_vec()) {
            r.unwrap();
        }
    }
    leaves
}

pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// A batch record as the tests see it (the layout is documented in the crate).
#[derive(Clone, Debug)]
pub struct Rec {
    pub offset: usize,
    pub len: usize,
    pub first: u64,
    pub entries: Vec<(u64, Hash, Vec<u8>)>,
    pub size: u64,
    pub root: Hash,
}

pub fn records(path: &Path) -> Vec<Rec> {
    let b = std::fs::read(path).unwrap();
    let u64_at = |at: usize| u64::from_be_bytes(b[at..at + 8].try_into().unwrap());
    let mut out = Vec::new();
    let mut at = 0;
    while at < b.len() {
        assert_eq!(&b[at..at + 8], b"CRDNBAT1");
        let first = u64_at(at + 8);
        let count = u32::from_be_bytes(b[at + 16..at + 20].try_into().unwrap());
        let mut p = at + 20;
        let mut entries = Vec::new();
        for _ in 0..count {
            let len = u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
            let index = u64_at(p + 4);
            let hash: Hash = b[p + 12..p + 44].try_into().unwrap();
            entries.push((index, hash, b[p + 44..p + 44 + len].to_vec()));
            p += 44 + len;
        }
        let size = u64_at(p);
        let root: Hash = b[p + 8..p + 40].try_into().unwrap();
        let len = p + 80 - at;
        assert_eq!(u64_at(p + 40), len as u64);
        out.push(Rec {
            offset: at,
            len,
            first,
            entries,
            size,
            root,
        });
        at += len;
    }
    out
}

/// Encodes a record with a correct checksum, as someone rewriting the file
/// with knowledge of the format would.
pub fn encode(rec: &Rec) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"CRDNBAT1");
    b.extend_from_slice(&rec.first.to_be_bytes());
    b.extend_from_slice(&(rec.entries.len() as u32).to_be_bytes());
    for (index, hash, data) in &rec.entries {
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        b.extend_from_slice(&index.to_be_bytes());
        b.extend_from_slice(hash);
        b.extend_from_slice(data);
    }
    b.extend_from_slice(&rec.size.to_be_bytes());
    b.extend_from_slice(&rec.root);
    b.extend_from_slice(&((b.len() + 40) as u64).to_be_bytes());
    let sum: [u8; 32] = Sha256::digest(&b).into();
    b.extend_from_slice(&sum);
    b
}
