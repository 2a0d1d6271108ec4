//! Arbitrary damage to the derived files of a valid audit log: the tree
//! nodes (`tree/<height>`), the entry offsets (`index/offsets`) and the
//! latest checkpoint (`checkpoint`), which hold nothing the segments and the
//! `checkpoints` file do not, and which a crash, a full disk or a careless
//! copy can leave short, long, zeroed or wrong.
//!
//! The log is built once, on a simulated disk: 40 leaves in batches of at
//! most 3, segments of about 2,000 bytes, checkpoints signed at 24 and 36
//! entries, then 4 more leaves. Each input is a sequence of edits to its
//! derived files; the segments and the `checkpoints` file are left intact.
//! An edit is an opcode byte (which file: `tree/0` to `tree/7`,
//! `index/offsets`, `checkpoint`; and what: overwrite, truncate, extend,
//! zero a range, delete, replace, flip bits, swap two records), a 2-byte
//! little-endian offset and what the edit needs from the bytes after it.
//!
//! Checks:
//! - a reader opened on the damaged files never panics and, if it opens,
//!   has the log's root (it checks the derived files against the segments);
//! - the writer opens (derived files are never a reason to refuse) with the
//!   log's size and root, and after it is dropped a reader opens and
//!   `verify` passes with the log's entries and root;
//! - damage only past the durable mark (`index/synced`, set to 24 in the
//!   base log: what a crash can leave) is gone after the writer's open, as
//!   `check_derived` finds;
//! - whenever `check_derived` finds the files clean (and otherwise after
//!   `repair_derived`, which must leave them clean): every inclusion proof
//!   verifies against the root, the hash tile `tile/0/000.p/<w>` up to the
//!   latest checkpoint holds the leaf hashes of the entries, every entry
//!   reads back as appended, and the `checkpoint` file holds the latest
//!   stored checkpoint again.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cordon_audit::merkle::{Hash, leaf_hash, verify_inclusion};
use cordon_audit::{SigningKey, VerifierKey};
use cordon_audit_log::storage::Storage;
use cordon_audit_log::storage::sim::{Image, SimFs};
use cordon_audit_log::{AuditLog, LogConfig, LogReader, check_derived, repair_derived, verify};
use libfuzzer_sys::fuzz_target;

const DIR: &str = "/log";
const ORIGIN: &str = "fuzz.example/log";
/// How far the base log's derived files are marked durable.
const DURABLE: u64 = 24;

/// The log every input damages.
struct Base {
    key: SigningKey,
    verifier: VerifierKey,
    image: Image,
    leaves: Vec<Vec<u8>>,
    root: Hash,
    /// The size the latest checkpoint signs.
    checkpoint_size: u64,
    /// The latest checkpoint's text, as the `checkpoint` file holds it.
    checkpoint: Vec<u8>,
}

fn config(fs: &SimFs) -> LogConfig {
    let mut c = LogConfig::new(DIR, ORIGIN);
    c.storage = Arc::new(fs.clone());
    c.segment_bytes = 2000;
    c.max_batch = 3;
    c.checkpoint_interval = None;
    c
}

fn leaf(n: usize) -> Vec<u8> {
    let mut s = format!("{{\"leaf\":{n},\"pad\":\"");
    s.push_str(&"x".repeat((n * 37) % 120));
    s.push_str("\"}");
    s.into_bytes()
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let key = SigningKey::from_seed(ORIGIN, [7; 32]).expect("a valid key name");
        let verifier = key.verifier();
        let fs = SimFs::new();
        let (log, _) = AuditLog::open(config(&fs), key.clone()).expect("an empty log opens");
        let leaves: Vec<Vec<u8>> = (0..40).map(leaf).collect();
        let mut checkpoint = String::new();
        for (range, sign) in [
            (0..5, false),
            (5..13, false),
            (13..24, true),
            (24..30, false),
            (30..36, true),
            (36..40, false),
        ] {
            let done = log.append_many(leaves[range.clone()].to_vec());
            for (i, r) in range.zip(done) {
                assert_eq!(r, Ok(i as u64), "leaf {i} is not appended in order");
            }
            if sign {
                checkpoint = log.checkpoint_now().expect("a checkpoint is signed");
            }
        }
        drop(log);
        let mut image = fs.live_image();
        // The writer's shutdown marked the files durable through all 40
        // entries; mark them durable through 24 only, so that damage past
        // that point is what an open must mend.
        image.files.insert(
            Path::new(DIR).join("index").join("synced"),
            format!("cordon-derived-synced {DURABLE}\n").into_bytes(),
        );
        let reader = LogReader::open_on(Arc::new(fs.clone()), Path::new(DIR))
            .expect("the base log opens for reading");
        let report = verify(&reader, &verifier).expect("the base log verifies");
        assert_eq!(report.entries, 40);
        assert_eq!(report.checkpoints, 2);
        assert_eq!(reader.size(), 40);
        Base {
            key,
            verifier,
            image,
            leaves,
            root: report.root,
            checkpoint_size: 36,
            checkpoint: checkpoint.into_bytes(),
        }
    })
}

/// The derived files an opcode can pick.
fn derived_file(k: u8) -> PathBuf {
    let dir = Path::new(DIR);
    match k {
        0..=7 => dir.join("tree").join(k.to_string()),
        8 => dir.join("index").join("offsets"),
        _ => dir.join("checkpoint"),
    }
}

/// Consumes and returns up to `n` bytes from the front of `input`.
fn take<'a>(input: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, tail) = input.split_at(n.min(input.len()));
    *input = tail;
    head
}

fn byte(input: &mut &[u8]) -> u8 {
    take(input, 1).first().copied().unwrap_or(0)
}

/// Applies the edits the input describes to the derived files of `image`.
fn damage(image: &mut Image, mut input: &[u8]) {
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        let path = derived_file(op % 10);
        let width = match op % 10 {
            0..=7 => 32,
            8 => 8,
            _ => 1,
        };
        let off = usize::from(u16::from_le_bytes([byte(&mut input), byte(&mut input)]));
        let file = image.files.get_mut(&path);
        match ((op / 10) % 8, file) {
            // Overwrite at an offset, extending the file if needed.
            (0, Some(bytes)) => {
                let n = usize::from(byte(&mut input));
                let data = take(&mut input, n);
                let at = off % (bytes.len() + 1);
                let end = at + data.len();
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[at..end].copy_from_slice(data);
            }
            // Truncate.
            (1, Some(bytes)) => {
                let len = off % (bytes.len() + 1);
                bytes.truncate(len);
            }
            // Extend with bytes from the input, zeros when it runs out.
            (2, file) => {
                let n = usize::from(byte(&mut input));
                let mut data = take(&mut input, n).to_vec();
                data.resize(n, 0);
                match file {
                    Some(bytes) => bytes.extend_from_slice(&data),
                    None => {
                        image.files.insert(path, data);
                    }
                }
            }
            // Zero a range, as unwritten blocks read.
            (3, Some(bytes)) => {
                let n = usize::from(byte(&mut input));
                let at = off % (bytes.len() + 1);
                let end = (at + n).min(bytes.len());
                bytes[at..end].fill(0);
            }
            // Delete.
            (4, Some(_)) => {
                image.files.remove(&path);
            }
            // Replace the whole file.
            (5, _) => {
                let n = usize::from(u16::from_le_bytes([byte(&mut input), byte(&mut input)]));
                let data = take(&mut input, n).to_vec();
                image.files.insert(path, data);
            }
            // Flip bits of one byte.
            (6, Some(bytes)) => {
                let mask = byte(&mut input);
                if !bytes.is_empty() {
                    let at = off % bytes.len();
                    bytes[at] ^= mask;
                }
            }
            // Swap two records (nodes, offsets): valid values in wrong places.
            (7, Some(bytes)) => {
                let other = usize::from(byte(&mut input));
                let records = bytes.len() / width;
                if records > 1 {
                    let (i, j) = (off % records, other % records);
                    for k in 0..width {
                        bytes.swap(i * width + k, j * width + k);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether the derived records within the durable mark (which the writer
/// trusts) are as the base log has them; the `checkpoint` file is
/// rewritten on open whatever it holds.
fn trusted_prefix_intact(image: &Image, base: &Base) -> bool {
    let dir = Path::new(DIR);
    let n = DURABLE;
    let mut ranges: Vec<(PathBuf, usize)> = (0..8u32)
        .map(|h| {
            (
                dir.join("tree").join(h.to_string()),
                ((n >> h) * 32) as usize,
            )
        })
        .collect();
    ranges.push((dir.join("index").join("offsets"), (n * 8) as usize));
    ranges.into_iter().all(|(path, len)| {
        let now = image.files.get(&path).and_then(|b| b.get(..len));
        let was = base.image.files.get(&path).and_then(|b| b.get(..len));
        len == 0 || (now.is_some() && now == was)
    })
}

/// Checks what a reader serves from the log on `fs` against the base log:
/// every inclusion proof, the level-0 hash tile up to the latest checkpoint,
/// every entry, and the `checkpoint` file.
fn reads_right(fs: &SimFs, base: &Base) -> Result<(), String> {
    let dir = Path::new(DIR);
    let size = base.leaves.len() as u64;
    let reader = LogReader::open_on(Arc::new(fs.clone()), dir)
        .map_err(|e| format!("the log does not open for reading: {e}"))?;
    let verified =
        verify(&reader, &base.verifier).map_err(|e| format!("the log fails verify: {e}"))?;
    if (verified.entries, verified.root) != (size, base.root) {
        return Err("verify computes another tree".into());
    }
    if (reader.size(), reader.root()) != (size, base.root) {
        return Err("the reader sees another tree".into());
    }
    let hashes: Vec<Hash> = base.leaves.iter().map(|l| leaf_hash(l)).collect();
    for (i, hash) in (0..size).zip(&hashes) {
        let proof = reader
            .inclusion_proof(i, size)
            .map_err(|e| format!("no inclusion proof for entry {i}: {e}"))?;
        verify_inclusion(hash, i, size, &proof, &base.root).map_err(|e| {
            format!("the inclusion proof of entry {i} in {size} entries does not verify: {e}")
        })?;
    }
    let width = base.checkpoint_size;
    let tile = reader
        .hash_tile(0, 0, width as u16)
        .map_err(|e| format!("no hash tile 0/0 of width {width}: {e}"))?;
    let expected: Vec<u8> = hashes[..width as usize].concat();
    if tile != expected {
        let first = tile
            .chunks(32)
            .zip(expected.chunks(32))
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(format!(
            "hash tile 0/0 of width {width} is not the leaf hashes of the entries (first wrong: node {first})"
        ));
    }
    for (i, leaf) in (0..size).zip(&base.leaves) {
        match reader.entry(i) {
            Ok(bytes) if &bytes == leaf => {}
            Ok(_) => return Err(format!("entry {i} reads other bytes")),
            Err(e) => return Err(format!("entry {i} does not read: {e}")),
        }
    }
    let latest = fs.live_image().files.get(&dir.join("checkpoint")).cloned();
    if latest.as_deref() != Some(base.checkpoint.as_slice()) {
        return Err("the `checkpoint` file does not hold the latest stored checkpoint".into());
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let base = base();
    let dir = Path::new(DIR);
    let size = base.leaves.len() as u64;
    let mut image = base.image.clone();
    damage(&mut image, data);
    let fs = SimFs::from_image(&image);

    // A reader of the damaged files, before any writer repairs them.
    if let Ok(reader) = LogReader::open_on(Arc::new(fs.clone()), dir) {
        assert_eq!(
            reader.root(),
            base.root,
            "a reader of the damaged derived files has another root"
        );
        for i in 0..reader.size() {
            let _ = reader.entry(i);
            let _ = reader.inclusion_proof(i, reader.size());
        }
        let _ = reader.hash_tile(0, 0, base.checkpoint_size as u16);
        let _ = reader.hash_tile(1, 0, 1);
        let _ = reader.latest_checkpoint();
    }

    let (log, report) = match AuditLog::open(config(&fs), base.key.clone()) {
        Ok(opened) => opened,
        Err(e) => panic!("the writer refuses a log whose segments are intact: {e}"),
    };
    assert_eq!(report.size, size, "the writer recovered another size");
    assert_eq!(report.root, base.root, "the writer recovered another root");
    drop(log);

    let reader = LogReader::open_on(Arc::new(fs.clone()), dir)
        .unwrap_or_else(|e| panic!("the repaired log does not open for reading: {e}"));
    let verified = verify(&reader, &base.verifier)
        .unwrap_or_else(|e| panic!("the repaired log fails verify: {e}"));
    assert_eq!(
        verified.entries, size,
        "verify counts another number of entries"
    );
    assert_eq!(verified.root, base.root, "verify computes another root");
    assert_eq!(reader.size(), size, "the reader sees another size");
    assert_eq!(reader.root(), base.root, "the reader sees another root");

    // The writer trusts the derived files up to their durable mark and
    // rewrites the rest: damage past that point (what a crash can do) is
    // gone after the open. Damage inside it
    // is what `check_derived` is for: whenever it reports the files clean,
    // every proof, tile and entry read from them is right, and after
    // `repair_derived` they are clean.
    let check = check_derived(&fs, dir).unwrap_or_else(|e| panic!("the check failed: {e}"));
    if trusted_prefix_intact(&image, base) {
        assert!(
            check.is_clean(),
            "damage past the latest checkpoint survived the writer's open: {check:?}"
        );
    }
    if check.is_clean() {
        if let Err(e) = reads_right(&fs, base) {
            panic!("the check found the derived files clean, but {e}");
        }
    } else {
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let repair =
            repair_derived(&storage, dir).unwrap_or_else(|e| panic!("the repair failed: {e}"));
        assert_eq!((repair.entries, repair.root), (size, base.root));
        let again = check_derived(&fs, dir).unwrap_or_else(|e| panic!("the check failed: {e}"));
        assert!(again.is_clean(), "the repair left problems: {again:?}");
        if let Err(e) = reads_right(&fs, base) {
            panic!("after the repair, {e}");
        }
    }
});
