//! Crash-state tests: the log's promises checked on every disk image a
//! crash may leave, and under an injected `EIO` or `ENOSPC` at every
//! operation (see [`crate::storage::sim`]).
//!
//! For every image: recovery opens (a crash is never corruption); every
//! entry acknowledged before the crash is there, at its index, with its
//! bytes; every checkpoint signed before the crash holds (the tree is at
//! least that large and has that root there); no leaf whose append was
//! refused before the crash is in the log; `verify` agrees with the
//! recovered writer; and a second open finds nothing more to repair.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use cordon_audit::merkle::{Hash, SourceError};
use cordon_audit::{SigningKey, VerifierKey};

use crate::storage::Storage as _;
use crate::storage::sim::{Image, SimFault, SimFs, Snapshot};
use crate::{AppendError, AuditLog, CheckpointSigner, LogConfig, LogHealth, LogReader, verify};

const DIR: &str = "/data/audit";
const ORIGIN: &str = "crash.example/log";

/// What the writer told the outside world, with the operation count at the
/// moment it did.
#[derive(Debug, Default)]
struct Told {
    acked: Vec<(u64, u64, Vec<u8>)>,
    refused: Vec<(u64, Vec<u8>)>,
    signed: Vec<(u64, u64, Hash)>,
}

type Shared = Arc<Mutex<Told>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Told> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, [9; 32]).unwrap()
}

struct RecordingSigner {
    key: SigningKey,
    fs: SimFs,
    told: Shared,
}

impl CheckpointSigner for RecordingSigner {
    fn sign(&self, size: u64, root: &Hash) -> Result<String, SourceError> {
        lock(&self.told).signed.push((self.fs.ops(), size, *root));
        CheckpointSigner::sign(&self.key, size, root)
    }
}

fn config(fs: &SimFs) -> LogConfig {
    let mut c = LogConfig::new(DIR, ORIGIN);
    c.storage = Arc::new(fs.clone());
    // Small segments so that the workload rolls over several times.
    c.segment_bytes = 900;
    c.max_batch = 3;
    c
}

fn open(fs: &SimFs, told: &Shared) -> Result<AuditLog, crate::OpenError> {
    let signer = RecordingSigner {
        key: key(),
        fs: fs.clone(),
        told: Arc::clone(told),
    };
    AuditLog::open(config(fs), signer).map(|(log, _)| log)
}

/// A unique leaf of a size that varies with its number.
fn leaf(n: u64) -> Vec<u8> {
    let mut s = format!("{{\"leaf\":{n},\"pad\":\"");
    s.push_str(&"x".repeat(((n * 37) % 160) as usize));
    s.push_str("\"}");
    s.into_bytes()
}

/// Appends `leaves` together and waits, recording each outcome.
fn append(log: &AuditLog, fs: &SimFs, told: &Shared, leaves: Vec<Vec<u8>>) {
    let (tx, rx) = mpsc::channel();
    for leaf in leaves {
        let tx = tx.clone();
        let fs = fs.clone();
        let told = Arc::clone(told);
        let bytes = leaf.clone();
        log.append(leaf, move |r| {
            let ops = fs.ops();
            match r {
                Ok(index) => lock(&told).acked.push((ops, index, bytes)),
                Err(_) => lock(&told).refused.push((ops, bytes)),
            }
            let _ = tx.send(());
        });
    }
    drop(tx);
    for () in rx {}
}

/// The workload: batches of one to three leaves, a checkpoint after every
/// third batch, segments rolling over.
fn workload(log: &AuditLog, fs: &SimFs, told: &Shared, rounds: u64) {
    let mut n = 0;
    for round in 0..rounds {
        let count = 1 + round % 3;
        append(log, fs, told, (n..n + count).map(leaf).collect());
        n += count;
        if round % 3 == 2 {
            let _ = log.checkpoint_now();
        }
    }
}

/// Checks one crash image against what had been told by operation `ops`.
fn check_image(image: &Image, ops: u64, told: &Told) -> Result<(), String> {
    let fs = SimFs::from_image(image);
    let quiet = Arc::new(Mutex::new(Told::default()));
    let log = open(&fs, &quiet).map_err(|e| format!("recovery refused: {e}"))?;
    let size = log.stats().size;
    drop(log);
    let dir = Path::new(DIR);
    let derived = crate::check_derived(&fs, dir).map_err(|e| format!("check failed: {e}"))?;
    if !derived.is_clean() || derived.segment_damage.is_some() || derived.torn_tail.is_some() {
        return Err(format!("the recovered files do not check: {derived:?}"));
    }
    let reader = LogReader::open_on(Arc::new(fs.clone()), dir)
        .map_err(|e| format!("the reader could not open: {e}"))?;
    if reader.size() != size {
        return Err(format!(
            "the reader sees {} entries, the writer recovered {size}",
            reader.size()
        ));
    }
    for (at, index, bytes) in told.acked.iter().filter(|a| a.0 <= ops) {
        match reader.entry(*index) {
            Ok(found) if &found == bytes => {}
            Ok(_) => {
                return Err(format!(
                    "entry {index}, acknowledged at op {at}, was replaced"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "entry {index}, acknowledged at op {at}, is lost: {e}"
                ));
            }
        }
    }
    for (at, signed_size, root) in told.signed.iter().filter(|s| s.0 <= ops) {
        match reader.root_at(*signed_size) {
            Ok(r) if r == *root => {}
            Ok(_) => {
                return Err(format!(
                    "the checkpoint of {signed_size} entries signed at op {at} is contradicted"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "the checkpoint of {signed_size} entries signed at op {at} is beyond the log: {e}"
                ));
            }
        }
    }
    let refused: HashSet<&[u8]> = told
        .refused
        .iter()
        .filter(|r| r.0 <= ops)
        .map(|r| r.1.as_slice())
        .collect();
    if !refused.is_empty() {
        let mut back = None;
        reader
            .scan(0..size, |index, data| {
                if refused.contains(data) {
                    back = Some(index);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())?;
        if let Some(index) = back {
            return Err(format!("a refused leaf came back as entry {index}"));
        }
    }
    let verifier: VerifierKey = key().verifier();
    let report = verify(&reader, &verifier).map_err(|e| format!("verify failed: {e}"))?;
    if report.entries != size || report.root != reader.root() {
        return Err(format!(
            "verify found {} entries, the writer {size}",
            report.entries
        ));
    }
    let (log, again) =
        AuditLog::open(config(&fs), key()).map_err(|e| format!("the second open refused: {e}"))?;
    drop(log);
    if again.cut.is_some() || again.size != size {
        return Err(format!("the second open still repaired: {again:?}"));
    }
    Ok(())
}

/// The image's files and their lengths, for failure messages.
fn describe(image: &Image) -> String {
    image
        .files
        .iter()
        .map(|(path, bytes)| format!("{} ({} bytes)", path.display(), bytes.len()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks every crash image of `snapshots`; returns how many distinct
/// images were checked (those in `seen` are skipped).
fn check_snapshots(
    snapshots: &[Snapshot],
    told: &Told,
    seen: &mut HashSet<Image>,
) -> Result<usize, String> {
    let mut checked = 0;
    for snap in snapshots {
        for image in snap.crash_images() {
            if seen.contains(&image) {
                continue;
            }
            check_image(&image, snap.ops, told).map_err(|e| {
                format!(
                    "crash after operation {}: {e}\n{}",
                    snap.ops,
                    describe(&image)
                )
            })?;
            seen.insert(image);
            checked += 1;
        }
    }
    Ok(checked)
}

const ROUNDS: u64 = 12;

#[test]
fn every_crash_state_of_a_workload_recovers_with_every_promise_kept() {
    let fs = SimFs::new();
    let told = Arc::new(Mutex::new(Told::default()));
    fs.record();
    let log = open(&fs, &told).unwrap();
    workload(&log, &fs, &told, ROUNDS);
    drop(log);
    let snapshots = fs.snapshots();
    let told = told.lock().unwrap();
    assert!(told.refused.is_empty());
    assert!(told.signed.len() >= 3, "{:?}", told.signed);
    let mut seen = HashSet::new();
    let checked = check_snapshots(&snapshots, &told, &mut seen).unwrap();
    eprintln!(
        "crash states: {checked} distinct disk images from {} operations",
        snapshots.len()
    );
    assert!(checked > snapshots.len(), "{checked}");
}

#[test]
fn a_new_writer_after_a_process_crash_signs_only_what_a_power_loss_keeps() {
    let fs = SimFs::new();
    let told = Arc::new(Mutex::new(Told::default()));
    fs.record();
    let log = open(&fs, &told).unwrap();
    workload(&log, &fs, &told, ROUNDS / 2);
    drop(log);
    let first = std::mem::take(&mut *told.lock().unwrap());
    let mut seen = HashSet::new();
    let mut checked = 0;
    let snapshots = fs.snapshots();
    for snap in &snapshots {
        // The process dies at `snap`; a new writer opens what the page cache
        // holds and signs at once, as `cordon audit prove` does.
        let after = SimFs::resume(snap);
        let second = Arc::new(Mutex::new(Told::default()));
        after.record();
        let log = open(&after, &second)
            .unwrap_or_else(|e| panic!("reopening after a crash at op {}: {e}", snap.ops));
        log.checkpoint_now().unwrap();
        drop(log);
        let mut told = std::mem::take(&mut *second.lock().unwrap());
        told.acked
            .extend(first.acked.iter().filter(|a| a.0 <= snap.ops).cloned());
        told.signed
            .extend(first.signed.iter().filter(|a| a.0 <= snap.ops).cloned());
        checked += check_snapshots(&after.snapshots(), &told, &mut seen)
            .unwrap_or_else(|e| panic!("process crash at op {}: {e}", snap.ops));
    }
    eprintln!(
        "process crash then power loss: {} crash points, {checked} distinct disk images",
        snapshots.len()
    );
}

/// Runs the workload with operation `at` failing; returns the snapshots
/// from the fault on and what the writer told.
fn run_with_fault(at: u64, fault: SimFault) -> Result<(Vec<Snapshot>, Told, u64), String> {
    let fs = SimFs::new();
    let told = Arc::new(Mutex::new(Told::default()));
    fs.record();
    fs.fail_at(at, fault);
    let log = match open(&fs, &told) {
        Ok(log) => log,
        Err(e) => {
            // A failed open names what failed, and changes nothing a retry needs.
            let message = e.to_string();
            if !message.contains('/') {
                return Err(format!("open failed without naming a path: {message}"));
            }
            open(&fs, &told).map_err(|e| format!("a retried open failed: {e}"))?
        }
    };
    workload(&log, &fs, &told, ROUNDS / 2);
    if let LogHealth::Stopped { reason } = log.health() {
        return Err(format!("one transient fault stopped the writer: {reason}"));
    }
    // The log works again after the fault (which may fall on the first try).
    let index = log
        .append_blocking(leaf(10_000))
        .or_else(|_| log.append_blocking(leaf(10_001)))
        .map_err(|e| format!("the log did not recover from the fault: {e}"))?;
    log.checkpoint_now()
        .or_else(|_| log.checkpoint_now())
        .map_err(|e| format!("no checkpoint after the fault: {e}"))?;
    drop(log);
    let told = std::mem::take(&mut *told.lock().unwrap_or_else(PoisonError::into_inner));
    let snapshots = fs.snapshots();
    let mut from_fault: Vec<Snapshot> = snapshots.into_iter().filter(|s| s.ops > at).collect();
    // The states right after the fault, while the writer handles it, and
    // the end.
    let end = from_fault.pop();
    from_fault.truncate(16);
    from_fault.extend(end);
    Ok((from_fault, told, index))
}

#[test]
fn an_eio_or_enospc_at_any_operation_keeps_every_promise() {
    let fs = SimFs::new();
    let told = Arc::new(Mutex::new(Told::default()));
    let log = open(&fs, &told).unwrap();
    workload(&log, &fs, &told, ROUNDS / 2);
    drop(log);
    let total = fs.ops();
    let mut seen = HashSet::new();
    let mut checked = 0;
    let mut runs = 0;
    for at in 0..total {
        for fault in [SimFault::Eio, SimFault::NoSpace] {
            let (snapshots, told, _) = run_with_fault(at, fault)
                .unwrap_or_else(|e| panic!("{fault:?} at operation {at}: {e}"));
            checked += check_snapshots(&snapshots, &told, &mut seen)
                .unwrap_or_else(|e| panic!("{fault:?} at operation {at}: {e}"));
            runs += 1;
        }
    }
    eprintln!("faults: {runs} runs over {total} operations, {checked} distinct crash images");
    assert!(runs >= 2 * 100, "{runs}");
}

#[test]
fn a_failed_sync_whose_cut_cannot_be_made_durable_stops_the_writer() {
    let fs = SimFs::new();
    let told = Arc::new(Mutex::new(Told::default()));
    let log = open(&fs, &told).unwrap();
    append(&log, &fs, &told, vec![leaf(0), leaf(1)]);
    // Nothing queued that an idle flush could write between the operations.
    log.checkpoint_now().unwrap();
    // The next batch: write, then sync (EIO); then the cut, which fails.
    let next = fs.ops();
    fs.fail_at(next + 1, SimFault::Eio);
    fs.fail_at(next + 2, SimFault::Eio);
    fs.record();
    append(&log, &fs, &told, vec![leaf(2)]);
    let LogHealth::Stopped { reason } = log.health() else {
        panic!("the writer should have stopped: {:?}", log.health());
    };
    assert!(reason.contains("`STOPPED` marker"), "{reason}");
    assert!(matches!(
        log.append_blocking(leaf(3)),
        Err(AppendError::Stopped(_))
    ));
    drop(log);
    let told = told.lock().unwrap();
    assert_eq!(told.acked.len(), 2, "{told:?}");
    assert_eq!(told.refused.len(), 1);
    // Restarted on the disk as the process left it (page cache and all):
    // the refused batch, whole in the page cache, must not come back, and
    // neither may it after any power loss while the restart runs.
    let restarted = SimFs::resume(fs.snapshots().last().unwrap());
    check_image(&restarted.live_image(), u64::MAX, &told).unwrap();
    restarted.record();
    let quiet = Arc::new(Mutex::new(Told::default()));
    drop(open(&restarted, &quiet).unwrap());
    let mut seen = HashSet::new();
    check_snapshots(&restarted.snapshots(), &told, &mut seen).unwrap();
}

/// A disk whose next sync of one directory fails once, when armed.
#[derive(Debug)]
struct FailDirSyncOnce {
    inner: SimFs,
    armed: Mutex<Option<std::path::PathBuf>>,
}

impl crate::storage::Storage for FailDirSyncOnce {
    fn open(
        &self,
        path: &Path,
        mode: crate::storage::OpenMode,
    ) -> std::io::Result<Arc<dyn crate::storage::StorageFile>> {
        self.inner.open(path, mode)
    }
    fn file_len(&self, path: &Path) -> std::io::Result<u64> {
        self.inner.file_len(path)
    }
    fn list(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.inner.is_dir(path)
    }
    fn create_dir(&self, path: &Path) -> std::io::Result<()> {
        self.inner.create_dir(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        self.inner.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        if armed.as_deref() == Some(dir) {
            *armed = None;
            return Err(std::io::Error::other("simulated EIO on the directory"));
        }
        drop(armed);
        self.inner.sync_dir(dir)
    }
    fn lock(
        &self,
        path: &Path,
    ) -> Result<Box<dyn crate::storage::LockGuard>, crate::storage::LockError> {
        self.inner.lock(path)
    }
}

#[test]
fn a_failed_rollover_fails_one_batch_and_the_next_one_takes_the_new_segment() {
    let fs = SimFs::new();
    let disk = Arc::new(FailDirSyncOnce {
        inner: fs.clone(),
        armed: Mutex::new(None),
    });
    let mut c = config(&fs);
    c.storage = Arc::clone(&disk) as Arc<dyn crate::storage::Storage>;
    let (log, _) = AuditLog::open(c, key()).unwrap();
    // Fill the first segment past its size, then fail the roll-over's
    // directory sync: the new segment's file is left behind.
    let mut n = 0;
    while fs.list(&Path::new(DIR).join("segments")).unwrap().len() < 2 && n < 40 {
        *disk.armed.lock().unwrap() = Some(Path::new(DIR).join("segments"));
        let first = log.append_blocking(leaf(n));
        n += 1;
        if first.is_err() {
            break;
        }
    }
    assert!(
        matches!(log.health(), LogHealth::Failing { ref reason, .. } if reason.contains("creating segment")),
        "{:?}",
        log.health()
    );
    // Before the fix every retry failed on the file left behind.
    assert_eq!(log.append_blocking(leaf(1000)).unwrap(), n - 1);
    assert_eq!(log.health(), LogHealth::Ok);
    drop(log);
    let reader = LogReader::open_on(Arc::new(fs.clone()), Path::new(DIR)).unwrap();
    assert_eq!(reader.size(), n);
    assert_eq!(fs.list(&Path::new(DIR).join("segments")).unwrap().len(), 2);
    verify(&reader, &key().verifier()).unwrap();
}

#[test]
fn a_segment_left_unsynced_by_a_dead_writer_is_made_durable_before_it_is_used() {
    // The roll-over's directory sync fails and the process exits before a
    // retry: the new segment's name is not durable.
    let fs = SimFs::new();
    let disk = Arc::new(FailDirSyncOnce {
        inner: fs.clone(),
        armed: Mutex::new(None),
    });
    let mut c = config(&fs);
    c.storage = Arc::clone(&disk) as Arc<dyn crate::storage::Storage>;
    let told = Arc::new(Mutex::new(Told::default()));
    let (log, _) = AuditLog::open(c, key()).unwrap();
    let mut n = 0;
    loop {
        *disk.armed.lock().unwrap() = Some(Path::new(DIR).join("segments"));
        append(&log, &fs, &told, vec![leaf(n)]);
        n += 1;
        if lock(&told).refused.len() == 1 || n > 40 {
            break;
        }
    }
    drop(log);
    // A new writer on what the process left, appending and signing.
    let after = SimFs::resume(fs.snapshots().last().unwrap_or(&fs_snapshot(&fs)));
    after.record();
    let second = Arc::new(Mutex::new(Told::default()));
    let log = open(&after, &second).unwrap();
    append(&log, &after, &second, vec![leaf(100), leaf(101)]);
    log.checkpoint_now().unwrap();
    drop(log);
    let mut all = std::mem::take(&mut *second.lock().unwrap());
    all.acked
        .extend(lock(&told).acked.iter().map(|a| (0, a.1, a.2.clone())));
    let mut seen = HashSet::new();
    check_snapshots(&after.snapshots(), &all, &mut seen).unwrap();
}

/// A snapshot of `fs` as it is now.
fn fs_snapshot(fs: &SimFs) -> Snapshot {
    fs.record();
    fs.snapshots().pop().unwrap()
}

#[test]
fn a_rebuild_from_nothing_is_durable_before_the_derived_files_are_trusted_again() {
    let fs = SimFs::new();
    let told = Arc::new(Mutex::new(Told::default()));
    let log = open(&fs, &told).unwrap();
    workload(&log, &fs, &told, 6);
    drop(log);
    // Every derived byte damaged: the open rebuilds them from nothing.
    let mut image = fs.live_image();
    for (path, bytes) in image.files.iter_mut() {
        if path.starts_with(Path::new(DIR).join("tree")) {
            bytes.iter_mut().for_each(|b| *b ^= 0xff);
        }
    }
    let damaged = SimFs::from_image(&image);
    damaged.record();
    let quiet = Arc::new(Mutex::new(Told::default()));
    drop(open(&damaged, &quiet).unwrap());
    let told = std::mem::take(&mut *told.lock().unwrap());
    let mut seen = HashSet::new();
    let checked = check_snapshots(&damaged.snapshots(), &told, &mut seen).unwrap();
    assert!(checked > 10, "{checked}");
}

#[test]
fn recovery_itself_survives_a_crash_at_every_step() {
    let fs = SimFs::new();
    let told = Arc::new(Mutex::new(Told::default()));
    fs.record();
    let log = open(&fs, &told).unwrap();
    workload(&log, &fs, &told, 6);
    drop(log);
    let first = std::mem::take(&mut *told.lock().unwrap());
    let mut images = Vec::new();
    let mut unique = HashSet::new();
    for snap in fs.snapshots() {
        for image in snap.crash_images() {
            if unique.insert(image.clone()) {
                images.push((snap.ops, image));
            }
        }
    }
    // Every seventh distinct image: torn tails, half-written checkpoints,
    // directory entries missing; recovery runs on each with every step
    // recorded, appends and signs, and is crashed at every step.
    let mut seen = HashSet::new();
    let mut checked = 0;
    let mut runs = 0;
    for (ops, image) in images.iter().step_by(7) {
        let disk = SimFs::from_image(image);
        disk.record();
        let second = Arc::new(Mutex::new(Told::default()));
        let log = open(&disk, &second).unwrap_or_else(|e| panic!("recovery after op {ops}: {e}"));
        append(&log, &disk, &second, vec![leaf(500), leaf(501)]);
        log.checkpoint_now().unwrap();
        drop(log);
        let mut all = std::mem::take(&mut *second.lock().unwrap());
        all.acked.extend(
            first
                .acked
                .iter()
                .filter(|a| a.0 <= *ops)
                .map(|a| (0, a.1, a.2.clone())),
        );
        all.signed.extend(
            first
                .signed
                .iter()
                .filter(|a| a.0 <= *ops)
                .map(|a| (0, a.1, a.2)),
        );
        checked += check_snapshots(&disk.snapshots(), &all, &mut seen)
            .unwrap_or_else(|e| panic!("recovering the crash after op {ops}: {e}"));
        runs += 1;
    }
    eprintln!("recovery crashed: {runs} recoveries, {checked} distinct disk images");
}
