//! Appends to a log until killed, printing each acknowledged entry as
//! `<index> <producer> <sequence>`; the crash test kills it with SIGKILL and
//! checks that every printed entry survived.
//!
//! Usage: `audit-log-crash-child <dir>`.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use cordon_audit::merkle::{Hash, SourceError};
use cordon_audit_log::{AuditLog, CheckpointSigner, LogConfig};
use sha2::{Digest, Sha256};

/// Signs like the tests' verifier expects (a keyed hash, not a signature).
struct KeyedHashSigner;

impl CheckpointSigner for KeyedHashSigner {
    fn sign(&self, size: u64, root: &Hash) -> Result<String, SourceError> {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let body = format!("test.example/log\n{size}\n{}\n", hex(root));
        let tag = Sha256::new()
            .chain_update(b"test key")
            .chain_update(&body)
            .finalize();
        Ok(format!("{body}\n— test {}\n", hex(&tag)))
    }
}

/// The leaf producer `p` appends as its `seq`-th.
fn leaf(p: u64, seq: u64) -> Vec<u8> {
    format!(
        r#"{{"v":1,"kind":"decision","producer":{p},"seq":{seq},"pad":"{}"}}"#,
        "p".repeat((seq % 300) as usize)
    )
    .into_bytes()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: audit-log-crash-child <dir>")?;
    let mut config = LogConfig::new(dir, "test.example/log");
    config.checkpoint_interval = Some(Duration::from_millis(20));
    config.segment_bytes = 256 << 10;
    let (log, _) = AuditLog::open(config, KeyedHashSigner)?;
    let log = Arc::new(log);
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let (tx, rx) = std::sync::mpsc::channel();
                for seq in 0.. {
                    // Keep 64 appends in flight per producer.
                    let tx = tx.clone();
                    log.append(leaf(p, seq), move |r| {
                        let _ = tx.send((seq, r));
                    });
                    if seq >= 64 {
                        let Ok((seq, Ok(index))) = rx.recv() else {
                            return;
                        };
                        let mut out = std::io::stdout().lock();
                        if writeln!(out, "{index} {p} {seq}")
                            .and_then(|()| out.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            })
        })
        .collect();
    for p in producers {
        let _ = p.join();
    }
    Ok(())
}
