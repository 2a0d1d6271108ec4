use super::*;
use cordon_audit_log::{AuditLog, LogConfig};

fn temp(name: &str) -> DataDir {
    let dir = std::env::temp_dir().join(format!("cordon-data-dir-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    DataDir::resolve(Some(&dir))
}

/// The names of the files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Appends `n` entries to the data directory's log, signed by `key`,
/// with a checkpoint after the last one if `checkpoint` is set.
fn fill_log(d: &DataDir, key: &SigningKey, n: u8, checkpoint: bool) {
    let config = LogConfig::new(d.audit_log(), key.name());
    let (log, _) = AuditLog::open(config, key.clone()).unwrap();
    for i in 0..n {
        log.append_blocking(vec![b'{', i, b'}']).unwrap();
    }
    if checkpoint {
        log.checkpoint_now().unwrap();
    }
    log.shutdown();
}

#[test]
fn a_key_is_made_once_and_read_back() {
    let d = temp("key");
    let log = d.audit_log();
    let (made, created) = d.signing_key_or_create("example.com/log", &log).unwrap();
    assert!(created);
    let (again, created) = d.signing_key_or_create("other.example/log", &log).unwrap();
    assert!(!created);
    assert_eq!(again.verifier().to_text(), made.verifier().to_text());
    assert_eq!(
        load_verifier_key(&d.verifier_key()).unwrap().to_text(),
        made.verifier().to_text()
    );
    let e = d.generate_key("example.com/log", false, &log).unwrap_err();
    assert!(format!("{e:#}").contains("--force"), "{e:#}");
    assert_eq!(
        load_signing_key(&d.signing_key()).unwrap().to_text(),
        made.to_text(),
        "a refused second key leaves the first in place"
    );
    std::fs::remove_dir_all(d.root()).unwrap();
}

#[cfg(unix)]
#[test]
fn secrets_are_owner_only_and_the_public_key_is_readable() {
    let d = temp("modes");
    d.generate_key("example.com/log", false, &d.audit_log())
        .unwrap();
    d.salt_or_create().unwrap();
    assert_eq!(mode(&d.signing_key()), 0o600);
    assert_eq!(mode(&d.salt()), 0o600);
    assert_eq!(mode(&d.verifier_key()) & 0o600, 0o600);
    // Replaced keys keep the modes.
    d.generate_key("example.com/log", true, &d.audit_log())
        .unwrap();
    assert_eq!(mode(&d.signing_key()), 0o600);
    std::fs::remove_dir_all(d.root()).unwrap();
}

#[test]
fn an_atomic_write_replaces_the_file_and_leaves_no_temporary_file() {
    let d = temp("atomic");
    d.create().unwrap();
    let path = d.root().join("f");
    write_atomic(&path, b"one\n", PRIVATE).unwrap();
    write_atomic(&path, b"two\n", PRIVATE).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
    assert_eq!(listing(d.root()), ["f"]);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);

    // A rename that fails (over a non-empty directory) leaves the target
    // as it was and removes the temporary file.
    let blocked = d.root().join("blocked");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("inside"), "kept").unwrap();
    let e = write_atomic(&blocked, b"new", PRIVATE).unwrap_err();
    assert!(format!("{e:#}").contains("blocked`"), "{e:#}");
    assert_eq!(listing(d.root()), ["blocked", "f"]);
    assert_eq!(listing(&blocked), ["inside"]);
    std::fs::remove_dir_all(d.root()).unwrap();
}

#[test]
fn the_data_directory_is_created_with_its_parents() {
    let d = temp("nested");
    let nested = DataDir::resolve(Some(&d.root().join("a/b/c")));
    nested.create().unwrap();
    assert!(nested.root().is_dir());
    nested.create().unwrap();
    std::fs::write(d.root().join("a/file"), "").unwrap();
    let e = create_dir_durable(&d.root().join("a/file/d")).unwrap_err();
    assert!(format!("{e:#}").contains("a/file`"), "{e:#}");
    std::fs::remove_dir_all(d.root()).unwrap();
}

#[test]
fn no_key_is_made_for_a_log_with_checkpoints() {
    let d = temp("checkpointed");
    let log = d.audit_log();
    let key = d.generate_key("example.com/log", false, &log).unwrap();
    // Entries without a checkpoint: a new key invalidates nothing.
    fill_log(&d, &key, 3, false);
    assert!(!holds_checkpoints(&log).unwrap());
    let key = d.generate_key("example.com/log", true, &log).unwrap();
    fill_log(&d, &key, 2, true);
    assert!(holds_checkpoints(&log).unwrap());
    let private = std::fs::read(d.signing_key()).unwrap();

    let e = d.generate_key("example.com/log", true, &log).unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("start a new data directory") && e.contains("audit-key`"),
        "{e}"
    );
    assert_eq!(std::fs::read(d.signing_key()).unwrap(), private);

    std::fs::remove_file(d.signing_key()).unwrap();
    let e = d
        .signing_key_or_create("example.com/log", &log)
        .unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("is missing") && e.contains("restore the key from a backup"),
        "{e}"
    );
    assert!(e.contains(&d.signing_key().display().to_string()), "{e}");
    assert!(!d.signing_key().exists());
    std::fs::remove_dir_all(d.root()).unwrap();
}

#[test]
fn a_key_that_did_not_sign_the_log_is_refused() {
    let d = temp("mismatch");
    let log = d.audit_log();
    let key = d.generate_key("example.com/log", false, &log).unwrap();
    fill_log(&d, &key, 2, true);
    check_key(&key, &d.signing_key(), Some(&d.verifier_key()), &log).unwrap();

    let other = SigningKey::from_seed("example.com/log", [9; 32]).unwrap();
    let e = check_key(&other, Path::new("other-key"), None, &log).unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("`other-key`")
            && e.contains(&other.verifier().to_text())
            && e.contains("does not match"),
        "{e}"
    );

    std::fs::write(
        d.verifier_key(),
        format!("{}\n", other.verifier().to_text()),
    )
    .unwrap();
    let e = check_key(&key, &d.signing_key(), Some(&d.verifier_key()), &log).unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains(&other.verifier().to_text()) && e.contains(&key.verifier().to_text()),
        "{e}"
    );
    std::fs::remove_dir_all(d.root()).unwrap();
}

#[test]
fn the_salt_is_stable_and_a_damaged_one_is_an_error() {
    let d = temp("salt");
    let s1 = d.salt_or_create().unwrap();
    assert_eq!(d.salt_or_create().unwrap(), s1);
    std::fs::write(d.salt(), "zz").unwrap();
    let e = d.salt_or_create().unwrap_err();
    assert!(format!("{e:#}").contains("64 hexadecimal digits"), "{e:#}");
    std::fs::remove_dir_all(d.root()).unwrap();
}
