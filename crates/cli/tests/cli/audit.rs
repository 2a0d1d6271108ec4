//! `cordon audit`, run as an operator or auditor would, against logs built
//! with the storage crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use cordon_audit::leaf::{self, Mode, Obligations, Source};
use cordon_audit::{AdminRecord, DecisionRecord, InclusionBundle, Record, SigningKey};
use cordon_audit_log::{AuditLog, LogConfig, LogReader, OpenError};

use super::{GERMAN, cordon_in, expect_code, expect_stderr, s, stderr, stdout, temp_dir};

const ORIGIN: &str = "test.example/audit";

/// Runs `cordon ARGS` away from the repository, so that nothing in it (its
/// `directives/`, a `cordon-data/`) is picked up by default.
fn cordon(args: &[&str]) -> Output {
    cordon_in(&std::env::temp_dir(), args)
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(ORIGIN, [seed; 32]).unwrap()
}

fn decision(i: u64) -> DecisionRecord {
    let deny = i % 3 == 2;
    DecisionRecord {
        id: format!("dec_{i:024x}"),
        time: format!("2026-01-01T{i:02}:00:00Z"),
        account: match i % 3 {
            0 => Some("acct_a".into()),
            1 => Some("acct_b".into()),
            _ => None,
        },
        model_requested: if i.is_multiple_of(2) {
            "fable"
        } else {
            "lyric"
        }
        .into(),
        model: Some(
            if i.is_multiple_of(2) {
                "fable-5"
            } else {
                "lyric-2"
            }
            .into(),
        ),
        endpoint: "chat".into(),
        effect: if deny { "deny" } else { "allow" }.into(),
        mode: Mode::Enforced,
        decided_by: deny.then(|| "ofac-comprehensive-sanctions".into()),
        consulted: vec![
            "foreign-national-frontier".into(),
            "ofac-comprehensive-sanctions".into(),
        ],
        obligations: Obligations::default(),
        attributes: Vec::new(),
        policy_version: "sha256:0123".into(),
        client_country: Some(if deny { "IR" } else { "DE" }.into()),
        client_region: None,
        anonymizer: Some(false),
        source: Source::Gateway,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    }
}

fn admin(i: u64) -> AdminRecord {
    AdminRecord {
        id: format!("adm_{i:04}"),
        time: format!("2026-01-01T{i:02}:30:00Z"),
        actor: "system".into(),
        action: "account.created".into(),
        subject: Some("acct_a".into()),
        details: BTreeMap::from([("verification".into(), "attested".into())]),
    }
}

/// Entry `i` of the fixture logs: decisions, with a change at 4.
fn entry(i: u64) -> Vec<u8> {
    let record = if i == 4 {
        Record::Admin(admin(i))
    } else {
        Record::Decision(decision(i))
    };
    leaf::encode(&record).unwrap()
}

/// Writes the key pair into a data directory as `cordon audit keygen` does.
fn write_keys(data: &Path, key: &SigningKey) {
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join("audit-key"), key.to_text()).unwrap();
    std::fs::write(
        data.join("audit-key.pub"),
        format!("{}\n", key.verifier().to_text()),
    )
    .unwrap();
}

/// Appends `leaves` one batch each, signing a checkpoint (with `signer`)
/// after the sizes in `checkpoints`.
fn append(data: &Path, signer: SigningKey, leaves: &[Vec<u8>], checkpoints: &[u64]) {
    // A `cordon` that another test is starting holds a copy of this process's
    // descriptors, the log's lock among them, until it execs: a log closed a
    // moment ago may still look open for a while.
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        match AuditLog::open(LogConfig::new(data.join("audit"), ORIGIN), signer.clone()) {
            Ok((log, _)) => break log,
            Err(OpenError::Locked { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("{e}"),
        }
    };
    for leaf in leaves {
        let index = log.append_blocking(leaf.clone()).unwrap();
        if checkpoints.contains(&(index + 1)) {
            log.checkpoint_now().unwrap();
        }
    }
    log.shutdown();
}

/// A data directory with the fixed key and `leaves`, checkpointed after the
/// sizes in `checkpoints`.
fn data_dir(name: &str, leaves: &[Vec<u8>], checkpoints: &[u64]) -> PathBuf {
    let data = temp_dir(name);
    write_keys(&data, &key(7));
    append(&data, key(7), leaves, checkpoints);
    data
}

/// A data directory with the fixed key and entries `0..n`, checkpointed
/// after 5 and after 8 entries.
fn fixture(name: &str, n: u64) -> PathBuf {
    let leaves: Vec<Vec<u8>> = (0..n).map(entry).collect();
    data_dir(name, &leaves, &[5, 8])
}

fn segment(data: &Path) -> PathBuf {
    let dir = data.join("audit/segments");
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs.pop().unwrap()
}

/// Byte offset of the record holding entry `k` in a log of one-entry
/// batches: header 20, entry head 44, trailer 80 bytes around each leaf.
fn record_offset(k: u64) -> usize {
    (0..k).map(|j| 144 + entry(j).len()).sum()
}

/// Runs `cordon audit VERB ARGS --data-dir DATA`.
fn audit(verb: &str, data: &Path, args: &[&str]) -> Output {
    let mut all = vec!["audit", verb];
    all.extend_from_slice(args);
    all.extend(["--data-dir", s(data)]);
    cordon(&all)
}

fn verify(data: &Path, args: &[&str]) -> Output {
    audit("verify", data, args)
}

/// The text summary without its timing line and with the path made stable.
fn summary(o: &Output, data: &Path) -> String {
    stdout(o)
        .lines()
        .filter(|l| !l.trim_start().starts_with("time "))
        .map(|l| l.replace(s(data), "[DATA]"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn keygen_writes_the_pair_and_never_prints_the_secret() {
    let data = temp_dir("keygen");
    let o = audit("keygen", &data, &["--origin", "audit.example.com/cordon"]);
    expect_code(&o, 0);
    let public = std::fs::read_to_string(data.join("audit-key.pub")).unwrap();
    assert!(public.starts_with("audit.example.com/cordon+"), "{public}");
    assert_eq!(stdout(&o), public);
    let private = std::fs::read_to_string(data.join("audit-key")).unwrap();
    assert!(private.starts_with("PRIVATE+KEY+audit.example.com/cordon+"));
    // `PRIVATE+KEY+<name>+<key id>+<base64 key>`; the base64 may hold `+`
    // itself, so it is everything after the key id.
    let seed = private
        .trim()
        .strip_prefix("PRIVATE+KEY+audit.example.com/cordon+")
        .and_then(|rest| rest.split_once('+'))
        .map(|(_, key)| key)
        .unwrap();
    assert!(seed.len() > 40, "{seed}");
    for out in [stdout(&o), stderr(&o)] {
        assert!(!out.contains("PRIVATE") && !out.contains(seed), "{out}");
    }
    expect_stderr(&o, "audit-key`");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("audit-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the private key is readable by others");
    }
    // A second keygen must not silently replace the key.
    let o = audit("keygen", &data, &[]);
    expect_code(&o, 2);
    expect_stderr(&o, "--force");
    assert_eq!(
        std::fs::read_to_string(data.join("audit-key")).unwrap(),
        private
    );
    let o = audit("keygen", &data, &["--force"]);
    expect_code(&o, 0);
    assert_ne!(
        std::fs::read_to_string(data.join("audit-key")).unwrap(),
        private
    );
    assert!(stdout(&o).starts_with("cordon.localhost/audit+"));
}

#[test]
fn verify_summarises_an_intact_log() {
    let data = fixture("verify-ok", 10);
    let o = verify(&data, &[]);
    expect_code(&o, 0);
    assert!(stdout(&o).contains("  time "), "{}", stdout(&o));
    insta::assert_snapshot!(summary(&o, &data));

    let o = verify(&data, &["--format", "json"]);
    expect_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["entries"], 10);
    assert_eq!(v["checkpoints"], 2);
    assert_eq!(v["signed_size"], 8);
}

#[test]
fn a_flipped_byte_fails_naming_the_entry() {
    let data = fixture("flip", 10);
    let seg = segment(&data);
    let mut bytes = std::fs::read(&seg).unwrap();
    // The tenth byte of entry 6's leaf.
    bytes[record_offset(6) + 20 + 44 + 10] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let o = verify(&data, &[]);
    expect_code(&o, 1);
    expect_stderr(&o, "verification failed");
    expect_stderr(&o, "entry 6 is bad");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let o = verify(&data, &["--format", "json"]);
    expect_code(&o, 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_code"], 1);
    assert!(v["error"].as_str().unwrap().contains("entry 6"), "{v}");
}

#[test]
fn a_removed_entry_fails_naming_where_it_was() {
    let data = fixture("removed", 10);
    let seg = segment(&data);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.drain(record_offset(3)..record_offset(4));
    std::fs::write(&seg, &bytes).unwrap();
    let o = verify(&data, &[]);
    expect_code(&o, 1);
    expect_stderr(&o, "entry 3 is bad");
    expect_stderr(&o, "removed");
}

#[test]
fn a_checkpoint_signed_by_another_key_fails_naming_it() {
    let data = fixture("forged", 9);
    // Same log name, another key: what a forger without the key can make.
    append(&data, key(8), &[entry(9)], &[10]);
    let o = verify(&data, &[]);
    expect_code(&o, 1);
    expect_stderr(&o, "checkpoint 2 (counting from 0) is bad");
    expect_stderr(&o, "not signed by key");
}

#[test]
fn a_wrong_key_fails_and_an_unusable_one_is_an_input_error() {
    let data = fixture("wrong-key", 8);
    let other = temp_dir("wrong-key-other");
    write_keys(&other, &key(9));
    let o = verify(&data, &["--key", s(&other.join("audit-key.pub"))]);
    expect_code(&o, 1);
    expect_stderr(&o, "checkpoint 0 (counting from 0) is bad");

    std::fs::write(other.join("bad.pub"), "not a key\n").unwrap();
    let o = verify(&data, &["--key", s(&other.join("bad.pub"))]);
    expect_code(&o, 2);
    expect_stderr(&o, "is not a public key");

    let o = verify(&data, &["--key", s(&other.join("missing.pub"))]);
    expect_code(&o, 2);
    expect_stderr(&o, "missing.pub");

    let o = verify(&data, &["--log", s(&other.join("nowhere"))]);
    expect_code(&o, 2);
    expect_stderr(&o, "is not an audit log");
}

/// The stored checkpoint of `size` entries.
fn stored_checkpoint(data: &Path, size: u64) -> String {
    LogReader::open(data.join("audit"))
        .unwrap()
        .checkpoints()
        .into_iter()
        .find(|c| c.split('\n').nth(1) == Some(size.to_string().as_str()))
        .unwrap()
}

#[test]
fn a_saved_checkpoint_catches_a_rewritten_history() {
    let data = fixture("saved", 8);
    let saved = data.join("saved-5.checkpoint");
    std::fs::write(&saved, stored_checkpoint(&data, 5)).unwrap();
    let o = verify(&data, &["--checkpoint", s(&saved)]);
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains("(size 5) is consistent with the log"),
        "{}",
        stdout(&o)
    );

    // The operator rebuilds the log with entry 2 changed and re-signs it:
    // the log verifies on its own, but not against what the auditor saved.
    let mut leaves: Vec<Vec<u8>> = (0..8).map(entry).collect();
    let mut d = decision(2);
    d.effect = "allow".into();
    d.decided_by = None;
    leaves[2] = leaf::encode(&Record::Decision(d)).unwrap();
    let rewritten = data_dir("saved-rewritten", &leaves, &[5, 8]);
    expect_code(&verify(&rewritten, &[]), 0);
    let o = verify(&rewritten, &["--checkpoint", s(&saved)]);
    expect_code(&o, 1);
    expect_stderr(&o, "saved-5.checkpoint");
    expect_stderr(&o, "was rewritten");

    // A log cut back below what the auditor saw.
    let saved8 = data.join("saved-8.checkpoint");
    std::fs::write(&saved8, stored_checkpoint(&data, 8)).unwrap();
    let short = data_dir("saved-short", &leaves[..6], &[5]);
    let o = verify(&short, &["--checkpoint", s(&saved8)]);
    expect_code(&o, 1);
    expect_stderr(&o, "entries were removed");

    // A file that is not a checkpoint is an unusable input.
    std::fs::write(data.join("junk.checkpoint"), "hello\n").unwrap();
    let o = verify(&data, &["--checkpoint", s(&data.join("junk.checkpoint"))]);
    expect_code(&o, 2);
}

fn check_proof(bundle: &Path, key: &Path) -> Output {
    cordon(&["audit", "check-proof", s(bundle), "--key", s(key)])
}

#[test]
fn a_receipt_checks_out_with_nothing_but_itself_and_the_key() {
    let data = fixture("receipt", 10);
    let receipt = data.join("receipt.tlog-proof");
    let id = decision(2).id;
    let o = audit("prove", &data, &[&id, "--out", s(&receipt)]);
    expect_code(&o, 0);
    expect_stderr(&o, "entry 2 of the tree of 8");

    let auditor = temp_dir("receipt-auditor");
    std::fs::copy(&receipt, auditor.join("receipt")).unwrap();
    std::fs::copy(data.join("audit-key.pub"), auditor.join("key.pub")).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
    let o = check_proof(&auditor.join("receipt"), &auditor.join("key.pub"));
    expect_code(&o, 0);
    insta::assert_snapshot!(stdout(&o));

    let text = std::fs::read_to_string(auditor.join("receipt")).unwrap();
    let bundle = InclusionBundle::parse(&text).unwrap();
    let write = |name: &str, b: &InclusionBundle| {
        let p = auditor.join(name);
        std::fs::write(&p, b.encode()).unwrap();
        p
    };
    // One flipped bit in one proof hash.
    let mut flipped = bundle.clone();
    flipped.proof[1][7] ^= 0x10;
    let o = check_proof(&write("flipped", &flipped), &auditor.join("key.pub"));
    expect_code(&o, 1);
    expect_stderr(&o, "does not verify");
    // Another leaf, with the genuine proof.
    let mut swapped = bundle.clone();
    swapped.extra = Some(entry(3));
    let o = check_proof(&write("swapped", &swapped), &auditor.join("key.pub"));
    expect_code(&o, 1);
    // The right proof at the wrong index.
    let mut moved = bundle.clone();
    moved.index = 3;
    let o = check_proof(&write("moved", &moved), &auditor.join("key.pub"));
    expect_code(&o, 1);
    // The checkpoint's tree size altered: its signature breaks.
    let mut resized = bundle.clone();
    resized.checkpoint = resized.checkpoint.replacen("\n8\n", "\n9\n", 1);
    let o = check_proof(&write("resized", &resized), &auditor.join("key.pub"));
    expect_code(&o, 1);
    // Another key.
    let other = temp_dir("receipt-other-key");
    write_keys(&other, &key(9));
    let o = check_proof(&auditor.join("receipt"), &other.join("audit-key.pub"));
    expect_code(&o, 1);
    expect_stderr(&o, "not signed by key");
    // No leaf: nothing to check.
    let mut bare = bundle;
    bare.extra = None;
    let o = check_proof(&write("bare", &bare), &auditor.join("key.pub"));
    expect_code(&o, 2);
}

#[test]
fn garbage_and_truncated_bundles_are_input_errors() {
    let data = fixture("garbage", 8);
    let receipt = data.join("receipt");
    let o = audit("prove", &data, &[&decision(6).id, "--out", s(&receipt)]);
    expect_code(&o, 0);
    let key = data.join("audit-key.pub");
    let text = std::fs::read(&receipt).unwrap();
    let probe = data.join("probe");
    for cut in (0..text.len()).step_by(5) {
        std::fs::write(&probe, &text[..cut]).unwrap();
        let o = check_proof(&probe, &key);
        expect_code(&o, 2);
        let err = stderr(&o);
        assert!(
            err.starts_with("error: ") && err.contains("probe"),
            "cut {cut}: {err}"
        );
    }
    std::fs::write(&probe, &text[..text.len() / 2]).unwrap();
    let o = check_proof(&probe, &key);
    expect_stderr(&o, "is malformed");

    std::fs::write(&probe, [0xff, 0xfe, 0x00, 0x12, 0x80]).unwrap();
    let o = check_proof(&probe, &key);
    expect_code(&o, 2);
    expect_stderr(&o, "not UTF-8");

    std::fs::write(&probe, "GET / HTTP/1.1\r\n\r\n").unwrap();
    let o = check_proof(&probe, &key);
    expect_code(&o, 2);
    expect_stderr(&o, "neither a receipt nor a consistency bundle");

    let o = check_proof(&data.join("nothing-here"), &key);
    expect_code(&o, 2);
}

#[test]
fn consistency_bundles_round_trip() {
    let data = fixture("consistency", 10);
    let bundle = data.join("5-8.proof");
    let o = audit("consistency", &data, &["5", "8", "--out", s(&bundle)]);
    expect_code(&o, 0);
    let key = data.join("audit-key.pub");
    let o = check_proof(&bundle, &key);
    expect_code(&o, 0);
    assert!(
        stdout(&o)
            .starts_with("valid consistency proof: the log at size 8 extends the log at size 5\n"),
        "{}",
        stdout(&o)
    );

    // From a saved checkpoint file, to standard output.
    let saved = data.join("saved-5");
    std::fs::write(&saved, stored_checkpoint(&data, 5)).unwrap();
    let o = audit("consistency", &data, &[s(&saved), "8"]);
    expect_code(&o, 0);
    assert_eq!(o.stdout, std::fs::read(&bundle).unwrap());

    // A flipped proof hash, and sizes the log has no checkpoint for.
    let text = std::fs::read_to_string(&bundle).unwrap();
    let mut parsed = cordon_audit::ConsistencyBundle::parse(&text).unwrap();
    parsed.proof[0][0] ^= 1;
    std::fs::write(&bundle, parsed.encode()).unwrap();
    expect_code(&check_proof(&bundle, &key), 1);
    let o = audit("consistency", &data, &["3", "8"]);
    expect_code(&o, 2);
    expect_stderr(&o, "stored sizes: 5, 8");
    let o = audit("consistency", &data, &["8", "5"]);
    expect_code(&o, 2);
}

/// Runs `cordon audit prove ARGS --data-dir DATA`, again while a `cordon`
/// another test is starting still holds a copy of a fixture's log lock (see
/// [`append`]).
fn prove(data: &Path, args: &[&str]) -> Output {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = audit("prove", data, args);
        if !stderr(&o).contains("a writer holds the audit log") || Instant::now() > deadline {
            return o;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The sizes of the checkpoints stored in the data directory's log.
fn checkpoint_sizes(data: &Path) -> Vec<u64> {
    LogReader::open(data.join("audit"))
        .unwrap()
        .checkpoints()
        .iter()
        .map(|c| c.split('\n').nth(1).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn prove_has_the_writer_sign_and_store_a_checkpoint() {
    let data = fixture("fresh", 10);
    // Entry 9 is after the last checkpoint (8).
    let id = decision(9).id;
    let out = data.join("r");

    // Without the signing key nothing can sign.
    let private = data.join("audit-key");
    let aside = data.join("audit-key.aside");
    std::fs::rename(&private, &aside).unwrap();
    let o = prove(&data, &[&id]);
    expect_code(&o, 2);
    expect_stderr(&o, "no stored checkpoint covers entry 9 yet");
    expect_stderr(&o, "wait for the next checkpoint");
    assert!(o.stdout.is_empty());
    assert_eq!(checkpoint_sizes(&data), [5, 8]);

    // With it, and no writer running, the log's writer signs and stores one.
    std::fs::rename(&aside, &private).unwrap();
    let o = prove(&data, &[&id, "--out", s(&out)]);
    expect_code(&o, 0);
    expect_stderr(&o, "signed a checkpoint of 10 entries with `");
    expect_stderr(&o, "stored it in the log");
    assert_eq!(checkpoint_sizes(&data), [5, 8, 10]);
    let o = verify(&data, &["--format", "json"]);
    expect_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["checkpoints"].as_u64(), v["signed_size"].as_u64()),
        (Some(3), Some(10))
    );
    let o = check_proof(&out, &data.join("audit-key.pub"));
    expect_code(&o, 0);
    assert!(stdout(&o).contains("at size 10"), "{}", stdout(&o));
    let receipt = std::fs::read_to_string(&out).unwrap();
    assert!(
        receipt.ends_with(&stored_checkpoint(&data, 10)),
        "the receipt carries the stored checkpoint:\n{receipt}"
    );

    // The stored checkpoint now serves without the key.
    std::fs::remove_file(&private).unwrap();
    let o = prove(&data, &[&id]);
    expect_code(&o, 0);
    assert!(!stderr(&o).contains("signed"), "{}", stderr(&o));
    assert_eq!(o.stdout, receipt.as_bytes());

    let o = audit("prove", &data, &["dec_nope"]);
    expect_code(&o, 1);
    expect_stderr(&o, "no decision `dec_nope`");
}

#[test]
fn prove_asks_the_gateway_that_holds_the_log() {
    const TOKEN: &str = "auditor-token-0123456789";
    let data = fixture("prove-gateway", 10);
    let work = temp_dir("prove-gateway-work");
    let gateway = super::server::Gateway::start(
        &work,
        &super::root().join("directives"),
        &work.join("identity.db"),
        &data,
        &format!("[audit]\ncheckpoint_interval_secs = 0\nread_token = \"{TOKEN}\""),
    );
    let url = format!("http://127.0.0.1:{}", gateway.port);
    let id = decision(9).id;

    // The gateway holds the log: this process may not sign, and without
    // --gateway it says what to do instead.
    let o = audit("prove", &data, &[&id]);
    expect_code(&o, 2);
    expect_stderr(&o, "a writer holds the audit log");
    expect_stderr(&o, "no stored checkpoint covers entry 9 yet");
    expect_stderr(&o, "--gateway URL --token TOKEN");
    assert_eq!(checkpoint_sizes(&data), [5, 8]);

    let o = audit(
        "prove",
        &data,
        &[&id, "--gateway", &url, "--token", "wrong-token-0123456789"],
    );
    expect_code(&o, 2);
    expect_stderr(&o, "answered HTTP 401");
    let o = audit("prove", &data, &[&id, "--gateway", &url]);
    expect_code(&o, 2);
    expect_stderr(&o, "CORDON_AUDIT_TOKEN");

    // With the token from the environment, the gateway's writer signs and
    // stores a checkpoint of what it has committed (the fixture's entries and
    // the gateway's own start-up record).
    let out = data.join("r");
    let o = super::command_in(&std::env::temp_dir())
        .args(["audit", "prove", &id, "--gateway", &url, "--out", s(&out)])
        .args(["--data-dir", s(&data)])
        .env("CORDON_AUDIT_TOKEN", TOKEN)
        .output()
        .unwrap();
    expect_code(&o, 0);
    expect_stderr(&o, &format!("the gateway `{url}` signed a checkpoint of"));
    let sizes = checkpoint_sizes(&data);
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    assert!(sizes[2] > 10, "{sizes:?}");
    let o = check_proof(&out, &data.join("audit-key.pub"));
    expect_code(&o, 0);
    assert!(
        stdout(&o).contains(&format!("at size {}", sizes[2])),
        "{}",
        stdout(&o)
    );
    drop(gateway);
    expect_code(&verify(&data, &[]), 0);
}

fn search(data: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let o = audit("search", data, args);
    expect_code(&o, 0);
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn indices(v: &[serde_json::Value]) -> Vec<u64> {
    v.iter().map(|e| e["index"].as_u64().unwrap()).collect()
}

#[test]
fn search_filters_and_writes_csv() {
    let data = fixture("search", 10);
    let all = search(&data, &[]);
    assert_eq!(indices(&all), (0..10).collect::<Vec<_>>());
    // Each line is the leaf as hashed, with its index in front.
    let o = audit("search", &data, &["--limit", "4"]);
    let leaf3 = String::from_utf8(entry(3)).unwrap();
    assert_eq!(
        stdout(&o).lines().nth(3),
        Some(format!("{{\"index\":3,{}", &leaf3[1..]).as_str())
    );
    assert_eq!(stdout(&o).lines().count(), 4);

    assert_eq!(
        indices(&search(&data, &["--account", "acct_a"])),
        [0, 3, 4, 6, 9]
    );
    assert_eq!(
        indices(&search(
            &data,
            &["--account", "acct_a", "--kind", "decision"]
        )),
        [0, 3, 6, 9]
    );
    assert_eq!(indices(&search(&data, &["--kind", "admin"])), [4]);
    assert_eq!(indices(&search(&data, &["--effect", "deny"])), [2, 5, 8]);
    assert_eq!(
        indices(&search(
            &data,
            &["--directive", "ofac-comprehensive-sanctions"]
        )),
        [2, 5, 8]
    );
    assert_eq!(
        indices(&search(&data, &["--model", "lyric-2"])),
        [1, 3, 5, 7, 9]
    );
    assert_eq!(indices(&search(&data, &["--model", "fable"])), [0, 2, 6, 8]);
    assert_eq!(
        indices(&search(
            &data,
            &[
                "--since",
                "2026-01-01T03:00:00Z",
                "--until",
                "2026-01-01T06:00:00Z"
            ]
        )),
        [3, 4, 5]
    );
    assert_eq!(
        indices(&search(&data, &["--limit", "2", "--effect", "allow"])),
        [0, 1]
    );
    // Ages count back from now: 100,000 days ago is before every entry.
    assert_eq!(search(&data, &["--since", "100000d"]).len(), 10);
    assert!(search(&data, &["--until", "100000d"]).is_empty());

    let o = audit("search", &data, &["--format", "csv"]);
    expect_code(&o, 0);
    insta::assert_snapshot!(stdout(&o));

    let o = audit("search", &data, &["--since", "yesterday"]);
    expect_code(&o, 2);
    expect_stderr(&o, "--since `yesterday`");
}

#[test]
fn decide_for_a_stored_account_journals_the_decision() {
    let dir = temp_dir("decide");
    let db = dir.join("identity.db");
    let o = cordon(&[
        "accounts",
        "--store",
        s(&db),
        "add",
        "acct_de",
        "--subject",
        GERMAN,
    ]);
    expect_code(&o, 0);
    let decide = |extra: &[&str]| {
        // Run outside the repository: the shipped set is named by --builtin.
        let mut args = vec![
            "decide",
            "--builtin",
            "--model",
            "fable-5",
            "--country",
            "DE",
            "--at",
            "2026-12-10T00:00:00Z",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        cordon(&args)
    };
    let o = decide(&["--store", s(&db), "--account", "acct_de"]);
    expect_code(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = v["decision_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("dec_") && id.len() == 28, "{id}");
    assert!(stderr(&o).contains(&format!("journalled decision `{id}`")));

    let store = cordon_store::SqliteStore::open(&db).unwrap();
    let rows = store.pending_changes(100).unwrap();
    let decisions: Vec<_> = rows.iter().filter(|r| r.action == "decision").collect();
    assert_eq!(decisions.len(), 1, "{rows:?}");
    assert_eq!(decisions[0].subject, id);
    let record: DecisionRecord =
        serde_json::from_value(serde_json::Value::Object(decisions[0].details.clone())).unwrap();
    assert_eq!(record.id, id);
    assert_eq!(record.account.as_deref(), Some("acct_de"));
    assert_eq!(record.source, Source::Cli);
    assert_eq!(record.time, "2026-12-10T00:00:00Z");
    assert_eq!(record.client_country.as_deref(), Some("DE"));
    assert_eq!(record.model_requested, "fable-5");
    assert_eq!(v["effect"], record.effect.as_str());
    assert_eq!(v["policy_version"], record.policy_version.as_str());
    // What the journal copier will append is a valid leaf.
    leaf::encode(&Record::Decision(record)).unwrap();

    // The same decision on an inline subject is not journalled.
    let o = decide(&["--subject", GERMAN]);
    expect_code(&o, 0);
    let inline: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(inline.get("decision_id").is_none());
    assert_eq!(inline["effect"], v["effect"]);
    let rows = store.pending_changes(100).unwrap();
    assert_eq!(rows.iter().filter(|r| r.action == "decision").count(), 1);

    let o = decide(&["--store", s(&db), "--account", "acct_nobody"]);
    expect_code(&o, 1);
    expect_stderr(&o, "no account `acct_nobody`");
    let o = decide(&["--account", "acct_de"]);
    assert!(!o.status.success());
    expect_stderr(&o, "--store");
    let o = decide(&[
        "--store",
        s(&dir.join("missing.db")),
        "--account",
        "acct_de",
    ]);
    expect_code(&o, 1);
    assert!(!dir.join("missing.db").exists());
}

/// `cordon serve` on `data`, which must refuse to start; its standard error.
fn serve_refused(name: &str, data: &Path, extra: &str) -> String {
    let work = temp_dir(name);
    let (code, err) = super::server::serve_refused(&work, data, extra);
    assert_eq!(code, Some(1), "{err}");
    err
}

#[test]
fn serve_refuses_to_start_when_the_key_of_a_checkpointed_log_is_missing() {
    let data = fixture("serve-no-key", 8);
    let private = data.join("audit-key");
    std::fs::remove_file(&private).unwrap();
    let err = serve_refused("serve-no-key-work", &data, "");
    assert!(
        err.contains(&format!("signing key `{}` is missing", private.display())),
        "{err}"
    );
    assert!(err.contains("restore the key from a backup"), "{err}");
    assert!(!private.exists(), "a new key was made");
    assert_eq!(
        std::fs::read_to_string(data.join("audit-key.pub")).unwrap(),
        format!("{}\n", key(7).verifier().to_text())
    );
    expect_code(&verify(&data, &[]), 0);

    // A key named in the configuration is never made either; its absence is
    // explained the same way.
    let named = data.join("elsewhere/audit-key");
    let err = serve_refused(
        "serve-no-named-key-work",
        &data,
        &format!("[audit]\nkey = \"{}\"", named.display()),
    );
    assert!(
        err.contains(&format!("signing key `{}` is missing", named.display()))
            && err.contains("restore the key from a backup"),
        "{err}"
    );
}

#[test]
fn serve_refuses_a_key_that_did_not_sign_the_log() {
    let data = fixture("serve-wrong-key", 8);
    let other = temp_dir("serve-wrong-key-other");
    write_keys(&other, &key(9));
    let ours = key(7).verifier().to_text();
    let theirs = key(9).verifier().to_text();

    // Only the private key replaced: the public key file disagrees with it.
    std::fs::copy(other.join("audit-key"), data.join("audit-key")).unwrap();
    let err = serve_refused("serve-wrong-key-work", &data, "");
    assert!(
        err.contains(&format!("`{}`", data.join("audit-key.pub").display()))
            && err.contains(&ours)
            && err.contains(&theirs),
        "{err}"
    );

    // Both files of another data directory: the stored checkpoints do not
    // verify with that key.
    std::fs::copy(other.join("audit-key.pub"), data.join("audit-key.pub")).unwrap();
    let err = serve_refused("serve-wrong-key-work-2", &data, "");
    assert!(
        err.contains(&format!(
            "signing key `{}` (public key `{theirs}`) does not match the audit log",
            data.join("audit-key").display()
        )),
        "{err}"
    );
    assert!(
        err.contains("the key file is the wrong one, or the log was signed by another key"),
        "{err}"
    );
    // Nothing was signed with the wrong key: with its own key back, the log
    // verifies.
    write_keys(&data, &key(7));
    expect_code(&verify(&data, &[]), 0);
}

#[test]
fn keygen_force_is_refused_for_a_log_with_checkpoints() {
    let data = fixture("keygen-checkpointed", 8);
    let private = std::fs::read(data.join("audit-key")).unwrap();
    let o = audit("keygen", &data, &["--force"]);
    expect_code(&o, 2);
    expect_stderr(&o, "signs the checkpoints stored in the audit log");
    expect_stderr(&o, "start a new data directory");
    assert_eq!(std::fs::read(data.join("audit-key")).unwrap(), private);
    assert!(o.stdout.is_empty());

    // Nor is a lost key replaced by a new one.
    std::fs::remove_file(data.join("audit-key")).unwrap();
    let o = audit("keygen", &data, &[]);
    expect_code(&o, 2);
    expect_stderr(&o, "restore the key from a backup");
    assert!(!data.join("audit-key").exists());
    expect_code(&verify(&data, &[]), 0);
}

#[test]
fn check_finds_a_damaged_tree_node_and_repair_rewrites_it() {
    let data = fixture("check-repair", 12);
    let clean = audit("check", &data, &[]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(stdout(&clean).contains("12 entries"), "{}", stdout(&clean));
    assert!(stdout(&clean).contains("problems:     0"));

    // Zero the hash of node 3 at height 0: within the checkpointed range,
    // where readers trust the file.
    let tree0 = data.join("audit/tree/0");
    let mut bytes = std::fs::read(&tree0).unwrap();
    bytes[3 * 32..4 * 32].fill(0);
    std::fs::write(&tree0, &bytes).unwrap();
    let found = audit("check", &data, &["--format", "json"]);
    assert_eq!(found.status.code(), Some(1), "{}", stderr(&found));
    let v: serde_json::Value = serde_json::from_str(&stdout(&found)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["check"]["problem_count"], 1);
    assert_eq!(v["check"]["problems"][0]["record"], 3);
    assert!(
        v["check"]["problems"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("tree/0")
    );
    expect_stderr(&found, "--repair");

    let repaired = audit("check", &data, &["--repair"]);
    assert_eq!(repaired.status.code(), Some(0), "{}", stderr(&repaired));
    assert!(
        stdout(&repaired).contains("problems now 0"),
        "{}",
        stdout(&repaired)
    );
    assert_eq!(audit("check", &data, &[]).status.code(), Some(0));
    assert_eq!(verify(&data, &[]).status.code(), Some(0));
}

#[test]
fn check_of_a_directory_without_a_log_is_an_input_error() {
    let data = temp_dir("check-none");
    let o = audit("check", &data, &[]);
    assert_eq!(o.status.code(), Some(2));
    expect_stderr(&o, "is not an audit log");
}
