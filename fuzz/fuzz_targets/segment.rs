//! Arbitrary bytes as the segment files of an audit log directory, as the
//! writer's recovery, `LogReader` and `verify` find them on a disk that
//! crashed, was damaged, or was copied by hand.
//!
//! Input: the first byte picks how many segment files there are (1 to 3).
//! Each file is then a name byte, a 2-byte little-endian length (all but the
//! last file, which takes the rest) and its bytes. A name byte below `0xf0`
//! is the file's first index (`{:016x}.seg`), so misnamed segments are
//! explored; the others pick odd names (the largest indices, upper-case or
//! signed hex, too short or too long, not a segment).
//!
//! Checks, on a simulated disk holding only `/log/segments/…`:
//! - `LogReader::open_on`, `verify` and `AuditLog::open` never panic;
//! - a refused open says why (its message is not empty);
//! - when the writer opens (a torn tail cut, the derived files rebuilt) with
//!   `N` entries, then after it is dropped a reader opens, `verify` passes
//!   with `N` entries and the writer's root, and every entry `0..N` reads.
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cordon_audit::{SigningKey, VerifierKey};
use cordon_audit_log::storage::sim::{Image, SimFs};
use cordon_audit_log::{AuditLog, LogConfig, LogReader, verify};
use libfuzzer_sys::fuzz_target;

const DIR: &str = "/log";
const ORIGIN: &str = "fuzz.example/log";

fn keys() -> &'static (SigningKey, VerifierKey) {
    static KEYS: OnceLock<(SigningKey, VerifierKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let key = SigningKey::from_seed(ORIGIN, [7; 32]).expect("a valid key name");
        let verifier = key.verifier();
        (key, verifier)
    })
}

/// The file name a name byte stands for.
fn segment_name(sel: u8) -> String {
    match sel {
        0..=0xef => format!("{:016x}.seg", u64::from(sel)),
        0xf0 => format!("{:016x}.seg", u64::MAX),
        0xf1 => format!("{:016x}.seg", u64::MAX - 1),
        0xf2 => format!("{:016x}.seg", 1u64 << 63),
        0xf3 => format!("{:016x}.seg", 1u64 << 32),
        0xf4 => "000000000000000A.seg".into(),
        0xf5 => "+000000000000000.seg".into(),
        0xf6 => "+000000000000001.seg".into(),
        0xf7 => "0.seg".into(),
        0xf8 => "00000000000000000.seg".into(),
        0xf9 => "000000000000000g.seg".into(),
        0xfa => "0000000000000000.seg.tmp".into(),
        0xfb => "0000000000000000".into(),
        0xfc => ".seg".into(),
        0xfd => format!("{:016x}.seg", 0x100u64),
        0xfe => format!("{:016x}.seg", 0x1000u64),
        0xff => format!("{:016x}.SEG", 0u64),
    }
}

fn image(data: &[u8]) -> Image {
    let seg_dir = Path::new(DIR).join("segments");
    let dirs: BTreeSet<PathBuf> = ["/", DIR]
        .into_iter()
        .map(PathBuf::from)
        .chain([seg_dir.clone()])
        .collect();
    let mut files = BTreeMap::new();
    let Some((&count, mut rest)) = data.split_first() else {
        return Image { dirs, files };
    };
    let count = 1 + usize::from(count % 3);
    for k in 0..count {
        let Some((&name, tail)) = rest.split_first() else {
            break;
        };
        rest = tail;
        let bytes = if k + 1 == count {
            std::mem::take(&mut rest)
        } else {
            let len = match rest {
                [a, b, tail @ ..] => {
                    rest = tail;
                    usize::from(u16::from_le_bytes([*a, *b]))
                }
                _ => {
                    rest = &[];
                    0
                }
            };
            let (bytes, tail) = rest.split_at(len.min(rest.len()));
            rest = tail;
            bytes
        };
        files.insert(seg_dir.join(segment_name(name)), bytes.to_vec());
    }
    Image { dirs, files }
}

fn config(fs: &SimFs) -> LogConfig {
    let mut c = LogConfig::new(DIR, ORIGIN);
    c.storage = Arc::new(fs.clone());
    c.segment_bytes = 600;
    c.max_batch = 3;
    c
}

fuzz_target!(|data: &[u8]| {
    let (key, verifier) = keys();
    let dir = Path::new(DIR);
    let fs = SimFs::from_image(&image(data));

    // A reader and a verification of the log as found.
    if let Ok(reader) = LogReader::open_on(Arc::new(fs.clone()), dir) {
        let _ = reader.damage();
        let _ = verify(&reader, verifier);
    }

    let (log, report) = match AuditLog::open(config(&fs), key.clone()) {
        Ok(opened) => opened,
        Err(e) => {
            assert!(
                !e.to_string().is_empty(),
                "a refused open gives no reason: {e:?}"
            );
            return;
        }
    };
    drop(log);

    let reader = LogReader::open_on(Arc::new(fs.clone()), dir).unwrap_or_else(|e| {
        panic!(
            "the writer opened the log with {} entries, but a reader refuses it: {e}",
            report.size
        )
    });
    let verified = verify(&reader, verifier).unwrap_or_else(|e| {
        panic!(
            "the writer opened the log with {} entries, but verify fails: {e}",
            report.size
        )
    });
    assert_eq!(
        verified.entries, report.size,
        "verify counts another number of entries than the writer recovered"
    );
    assert_eq!(
        verified.root, report.root,
        "verify computes another root than the writer recovered"
    );
    for i in 0..report.size {
        if let Err(e) = reader.entry(i) {
            panic!(
                "entry {i} of the {} the writer recovered does not read: {e}",
                report.size
            );
        }
    }
});
