//! Verification at scale, end to end: a generated identity store, a running
//! gateway on the shipped directives after the foreign-national order's
//! grace period, and a mock KYC vendor that delivers signed webhooks for
//! most of the accounts, mixed with replays, forgeries and stale
//! deliveries. The gateway is killed with SIGKILL half-way and restarted on
//! the same store and data directory; the vendor redelivers what it got no
//! 2xx for, and some of what it did.
//!
//! Afterwards every sampled account's request for `fable-5` must get what
//! an oracle here works out from the facts sent, by the rules of
//! `directives/foreign-national-frontier.toml` (and the residence,
//! organisation and Cuban-national rules of `ofac-*.toml`), independently of
//! the engine; no
//! evidence row may be stored twice; forged and stale deliveries must have
//! changed nothing; and the audit log must verify.
//!
//! Sizes: `CORDON_VERIFICATION_ACCOUNTS` accounts (default 10,000), of which
//! 60 % are verified by webhook, and one chat request for each account of a
//! sample of `CORDON_VERIFICATION_SAMPLE` (default 2,000; `all` for every
//! account). The accounts targeted by forgeries and stale deliveries are
//! always in the sample; the rest are drawn at random. Each sampled account
//! needs an API key, one durable transaction each: on two cores in a debug
//! build, `all` takes about 25 s alone but over a minute beside the other
//! tests of this binary, most of it creating 10,000 keys.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::server::{Gateway, request, wait_healthy};
use super::{command_in, cordon, ok, root, s, temp_dir};

const SEED: &str = "20261207";
const SOURCE: &str = "mock-vendor";
/// The vendor's signing secret (32 bytes).
const SECRET: [u8; 32] = *b"cordon-test-mock-vendor-secret!!";
/// What a forger signs with.
const FORGED: [u8; 32] = *b"not-the-mock-vendor-secret-at-al";
const VENDOR_THREADS: usize = 8;
const CHAT_THREADS: usize = 4;
/// Citizenships the vendor verifies besides the U.S.
const FOREIGN: [&str; 10] = ["DE", "FR", "IN", "CN", "BR", "NG", "JP", "MX", "IR", "RU"];
/// Countries and regions under comprehensive sanctions: residents are
/// refused every model (`ofac-*.toml`, rules `residence` and `organization`).
const OFAC_COUNTRIES: [&str; 3] = ["CU", "IR", "KP"];
const OFAC_REGIONS: [&str; 4] = ["UA-09", "UA-14", "UA-40", "UA-43"];

fn env_count(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) if v == "all" => usize::MAX,
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}=`{v}` is not a count")),
        Err(_) => default,
    }
}

/// A small deterministic generator (SplitMix64): the same accounts are
/// picked on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

// ---------------------------------------------------------------------------
// The oracle: the directives' rules, worked out here from the records and the
// facts sent (as in acceptance.rs), never by asking the engine.

/// What a request for `fable-5` must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Expect {
    Allow,
    Deny,
    VerificationRequired,
}

impl Expect {
    fn effect(self) -> &'static str {
        match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
            Expect::VerificationRequired => "verification_required",
        }
    }
}

/// What the foreign-national directive makes of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    UsPerson,
    ForeignNational,
    Unknown,
}

const LEVELS: [&str; 4] = ["none", "self_declared", "document_verified", "attested"];

fn level_rank(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap()
}

/// Whether a value (bare, or an object with its own provenance) is recorded
/// at `document_verified` or above and not expired at `now`.
fn verified(record: &Value, value: &Value, now: Timestamp) -> bool {
    let field = |name: &str| value.get(name).or_else(|| record.get(name));
    let level = field("verification")
        .and_then(Value::as_str)
        .unwrap_or("none");
    let expired = field("expires")
        .and_then(Value::as_str)
        .is_some_and(|e| e.parse::<Timestamp>().unwrap() <= now);
    level_rank(level) >= level_rank("document_verified") && !expired
}

fn country_of(v: &Value) -> &str {
    v.as_str()
        .or_else(|| v.get("country").and_then(Value::as_str))
        .unwrap()
}

fn bool_of(v: &Value) -> bool {
    v.as_bool()
        .or_else(|| v.get("value").and_then(Value::as_bool))
        .unwrap()
}

/// The directive's reading of a generated record at `now` (15 CFR 772.1
/// "foreign person" as the directive's `[foreign_person]` table spells it
/// out: U.S. citizens and nationals, permanent residents and protected
/// individuals are excepted; a recorded `us_person` plays no part).
///
/// Membership of the licence holder plays no part: the generated store
/// holds no licence record, and a licence covers only the individuals its
/// record names.
fn classify(record: &Value, now: Timestamp) -> Class {
    // Only a natural person is or is not a foreign person: an
    // organisation's own account leaves the order unknown.
    if record["kind"] == "organization" {
        return Class::Unknown;
    }
    let list = |name: &str| record.get(name).and_then(Value::as_array);
    let citizenships = list("citizenships");
    let residencies = list("permanent_residencies");
    let protected = record.get("protected_individual");
    let verified_in = |items: Option<&Vec<Value>>, codes: &[&str]| {
        items.is_some_and(|xs| {
            xs.iter()
                .any(|x| codes.contains(&country_of(x)) && verified(record, x, now))
        })
    };
    if verified_in(citizenships, &["US", "PR", "GU", "VI", "AS", "MP"])
        || verified_in(residencies, &["US"])
        || protected.is_some_and(|p| bool_of(p) && verified(record, p, now))
    {
        return Class::UsPerson;
    }
    let all_verified = |items: Option<&Vec<Value>>, nonempty: bool| {
        items.is_some_and(|xs| match xs.as_slice() {
            [] => !nonempty && verified(record, &Value::Null, now),
            xs => xs.iter().all(|x| verified(record, x, now)),
        })
    };
    if all_verified(citizenships, true)
        && all_verified(residencies, false)
        && protected.is_some_and(|p| !bool_of(p) && verified(record, p, now))
    {
        Class::ForeignNational
    } else {
        Class::Unknown
    }
}

/// Residents of a comprehensively sanctioned place are refused every model,
/// whatever their nationality (any recorded residence counts).
fn ofac_resident(record: &Value) -> bool {
    let text = |field: &str, key: &str| {
        record.get(field).and_then(|v| {
            v.as_str()
                .or_else(|| v.get(key).and_then(Value::as_str))
                .map(str::to_owned)
        })
    };
    let organisation_in = record["kind"] == "organization"
        && record
            .get("organization")
            .and_then(|o| o.get("country"))
            .and_then(Value::as_str)
            .is_some_and(|c| OFAC_COUNTRIES.contains(&c));
    organisation_in
        || text("residence_country", "country")
            .is_some_and(|c| OFAC_COUNTRIES.contains(&c.as_str()))
        || text("residence_region", "region").is_some_and(|r| OFAC_REGIONS.contains(&r.as_str()))
}

/// `ofac-cuba.toml` rule `cuban-nationals`: a recorded Cuban citizenship is
/// refused unless the residence is outside Cuba and among the citizenships or
/// permanent residencies; what is not recorded must be verified.
fn cuban_national(record: &Value) -> Option<Expect> {
    let citizenships = record.get("citizenships").and_then(Value::as_array)?;
    let holds = |xs: &[Value], c: &str| xs.iter().any(|x| country_of(x) == c);
    if !holds(citizenships, "CU") {
        return None;
    }
    let residence = record.get("residence_country").map(country_of);
    match residence {
        None => Some(Expect::VerificationRequired),
        Some("CU") => Some(Expect::Deny),
        Some(r) if holds(citizenships, r) => None,
        Some(r) => match record
            .get("permanent_residencies")
            .and_then(Value::as_array)
        {
            Some(prs) if holds(prs, r) => None,
            Some(_) => Some(Expect::Deny),
            None => Some(Expect::VerificationRequired),
        },
    }
}

/// The more restrictive of two answers: deny, then verification, then allow.
fn stricter(a: Expect, b: Option<Expect>) -> Expect {
    let rank = |e: Expect| match e {
        Expect::Allow => 0,
        Expect::VerificationRequired => 1,
        Expect::Deny => 2,
    };
    match b {
        Some(b) if rank(b) > rank(a) => b,
        _ => a,
    }
}

/// The answer for an account no verification reached: its record decides.
fn expect_from_record(record: &Value, now: Timestamp) -> Expect {
    if ofac_resident(record) {
        return Expect::Deny;
    }
    let frontier = match classify(record, now) {
        Class::UsPerson => Expect::Allow,
        Class::ForeignNational => Expect::Deny,
        Class::Unknown => Expect::VerificationRequired,
    };
    stricter(frontier, cuban_national(record))
}

/// The answer for an account the vendor verified. Only accounts whose record
/// is below `document_verified` are verified, so the vendor's facts outrank
/// the record's on every ground of U.S.-person status they state.
fn expect_from_facts(record: &Value, facts: &Facts, _now: Timestamp) -> Expect {
    if ofac_resident(record) {
        return Expect::Deny;
    }
    if facts.us_person() {
        Expect::Allow
    } else {
        Expect::Deny
    }
}

// ---------------------------------------------------------------------------
// The mock vendor.

/// What the vendor verified about one person.
#[derive(Debug, Clone, PartialEq)]
enum Facts {
    /// A U.S. citizen: citizenship only.
    UsCitizen,
    /// A foreign national: every ground of U.S.-person status stated.
    Foreign(&'static str),
    /// A U.S. lawful permanent resident.
    PermanentResident(&'static str),
    /// A dual national, one citizenship the U.S.
    Dual(&'static str),
}

impl Facts {
    fn us_person(&self) -> bool {
        !matches!(self, Facts::Foreign(_))
    }

    fn subject(&self) -> Value {
        match self {
            Facts::UsCitizen => {
                json!({"verification": "document_verified", "citizenships": ["US"]})
            }
            Facts::Foreign(c) => json!({"verification": "document_verified",
                "citizenships": [c], "permanent_residencies": [], "protected_individual": false}),
            Facts::PermanentResident(c) => json!({"verification": "document_verified",
                "citizenships": [c], "permanent_residencies": ["US"], "protected_individual": false}),
            Facts::Dual(c) => {
                json!({"verification": "document_verified", "citizenships": [c, "US"]})
            }
        }
    }

    /// The evidence rows the store must hold for these facts:
    /// attribute → value.
    fn rows(&self) -> BTreeMap<String, Value> {
        let subject = self.subject();
        subject
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "verification")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Facts that would change the answer, for replays with another body.
    fn opposite(&self) -> Facts {
        match self {
            Facts::Foreign(_) => Facts::UsCitizen,
            Facts::UsCitizen | Facts::PermanentResident(_) | Facts::Dual(_) => Facts::Foreign("DE"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The vendor's first delivery of a verification.
    Original,
    /// A delivery id used before, with its own body.
    Replay,
    /// Signed with the wrong secret.
    Forged,
    /// Signed by the vendor an hour ago.
    Stale,
}

#[derive(Debug, Clone)]
struct Delivery {
    id: String,
    kind: Kind,
    body: String,
}

impl Delivery {
    fn new(id: String, kind: Kind, account: &str, facts: &Facts) -> Delivery {
        let body = json!({
            "type": "verification.completed",
            "account": account,
            "id": format!("vs-{id}"),
            "subject": facts.subject(),
        })
        .to_string();
        Delivery { id, kind, body }
    }
}

/// Standard Webhooks: `v1,<base64 HMAC-SHA256 of {id}.{timestamp}.{body}>`.
fn sign(key: &[u8], id: &str, ts: i64, body: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let msg = [id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body].concat();
    format!("v1,{}", B64.encode(ring::hmac::sign(&k, &msg).as_ref()))
}

/// One HTTP/1.1 request on its own connection: the status and body, or
/// `None` when no complete answer arrived (the gateway was down or killed).
fn post(port: u16, path: &str, headers: &[(&str, String)], body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())?;
    (rest.len() == length).then(|| (status, rest.to_owned()))
}

/// Sends `d` as the vendor (or a forger) would at this moment.
fn send(port: u16, d: &Delivery) -> Option<(u16, String)> {
    let now = Timestamp::now().as_second();
    let (key, ts): (&[u8], i64) = match d.kind {
        Kind::Original | Kind::Replay => (&SECRET, now),
        Kind::Forged => (&FORGED, now),
        Kind::Stale => (&SECRET, now - 3600),
    };
    let headers = [
        ("webhook-id", d.id.clone()),
        ("webhook-timestamp", ts.to_string()),
        ("webhook-signature", sign(key, &d.id, ts, d.body.as_bytes())),
    ];
    post(
        port,
        &format!("/v1/verification/webhooks/{SOURCE}"),
        &headers,
        &d.body,
    )
}

/// What each delivery was answered, by index: `None` for no answer.
type Answers = Vec<Option<(u16, String)>>;

/// Sends every delivery of `batch` over `VENDOR_THREADS` connections at a
/// time; `sent` counts those done, for whoever watches the progress.
fn deliver_all(port: u16, batch: &Arc<Vec<Delivery>>, sent: &Arc<AtomicUsize>) -> Answers {
    let next = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(vec![None; batch.len()]));
    let threads: Vec<_> = (0..VENDOR_THREADS)
        .map(|_| {
            let (batch, next, answers, sent) =
                (batch.clone(), next.clone(), answers.clone(), sent.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(d) = batch.get(i) else { break };
                    let answer = send(port, d);
                    if answer.is_none() {
                        // The gateway is down: a vendor backs off before its next delivery.
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    answers.lock().unwrap()[i] = answer;
                    sent.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    Arc::try_unwrap(answers).unwrap().into_inner().unwrap()
}

/// The `status` the gateway gave a delivery (`accepted`, `replay`, …).
fn status_of(answer: &Option<(u16, String)>) -> Option<String> {
    let (_, body) = answer.as_ref()?;
    let v: Value = serde_json::from_str(body).ok()?;
    v["status"].as_str().map(str::to_owned)
}

fn is_2xx(answer: &Option<(u16, String)>) -> bool {
    answer.as_ref().is_some_and(|(s, _)| (200..300).contains(s))
}

// ---------------------------------------------------------------------------
// The scenario.

/// The shipped directives, with the foreign-national order moved in time so
/// that its grace period ended two days ago, whatever day the test runs.
fn directives_after_grace(dir: &Path, now: Timestamp) {
    std::fs::create_dir_all(dir).unwrap();
    let rfc3339 = |t: Timestamp| Timestamp::from_second(t.as_second()).unwrap().to_string();
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&p).unwrap();
        if p.ends_with("foreign-national-frontier.toml") {
            let effective = now - SignedDuration::from_hours(30 * 24);
            let moved = text
                .replace(
                    "effective = 2026-11-20T00:00:00Z",
                    &format!("effective = {}", rfc3339(effective)),
                )
                .replace(
                    "grace_until = 2026-12-04T00:00:00Z",
                    &format!(
                        "grace_until = {}",
                        rfc3339(now - SignedDuration::from_hours(48))
                    ),
                )
                .replace(
                    "issued = 2026-11-18",
                    &format!(
                        "issued = {}",
                        &rfc3339(effective - SignedDuration::from_hours(48))[..10]
                    ),
                )
                .replace(
                    "expires = 2027-11-20T00:00:00Z",
                    &format!(
                        "expires = {}",
                        rfc3339(now + SignedDuration::from_hours(365 * 24))
                    ),
                );
            assert_ne!(moved, text, "the shipped directive's dates moved");
            text = moved;
        }
        std::fs::write(dir.join(p.file_name().unwrap()), text).unwrap();
    }
}

/// Starts `cordon serve` again on the configuration `Gateway::start` wrote.
fn restart(work: &Path, data: &Path, port: u16) -> Child {
    let log = work.join("serve-restarted.log");
    let mut server = command_in(work)
        .args([
            "serve",
            "--config",
            s(&work.join("cordon.toml")),
            "--data-dir",
            s(data),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut server, &log);
    server
}

#[test]
fn webhooks_at_scale_survive_a_crash_and_decide_every_account() {
    let started = Instant::now();
    let mut timings: Vec<(&str, f64)> = Vec::new();
    let mut lap = Instant::now();
    let mut mark = |what: &'static str, timings: &mut Vec<(&str, f64)>| {
        timings.push((what, lap.elapsed().as_secs_f64()));
        lap = Instant::now();
    };
    let n_accounts = env_count("CORDON_VERIFICATION_ACCOUNTS", 10_000);
    assert!(
        n_accounts >= 500 && n_accounts != usize::MAX,
        "CORDON_VERIFICATION_ACCOUNTS must be a count of at least 500"
    );
    let sample_size = env_count("CORDON_VERIFICATION_SAMPLE", 2_000).min(n_accounts);
    let scaled = |per_10k: usize| (per_10k * n_accounts / 10_000).max(1);
    let (n_verified, n_replays, n_forged, n_stale) =
        (scaled(6_000), scaled(500), scaled(200), scaled(100));

    let work = temp_dir("verification");
    let store = work.join("identity.db");
    let data = work.join("data");
    let records_file = work.join("accounts.jsonl");
    let count = n_accounts.to_string();
    for target in [["--out", s(&records_file)], ["--store", s(&store)]] {
        let mut args = vec!["accounts", "generate", "--count", &count, "--seed", SEED];
        args.extend(target);
        ok(&cordon(&args));
    }
    let records: BTreeMap<String, Value> = std::fs::read_to_string(&records_file)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    assert_eq!(records.len(), n_accounts);
    let now = Timestamp::now();
    mark("generate", &mut timings);

    // Whom the vendor verifies: people whose records are below
    // document_verified (their own facts outrank nothing the vendor says).
    let mut rng = Rng(0x00c0_4d0e);
    let mut eligible: Vec<&str> = records
        .iter()
        .filter(|(_, r)| {
            r["kind"] != "organization"
                && level_rank(r["verification"].as_str().unwrap_or("none"))
                    < level_rank("document_verified")
        })
        .map(|(id, _)| id.as_str())
        .collect();
    rng.shuffle(&mut eligible);
    assert!(
        eligible.len() > n_verified + n_forged + n_stale,
        "only {} accounts below document_verified",
        eligible.len()
    );
    let verified: BTreeMap<&str, Facts> = eligible[..n_verified]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let c = FOREIGN[rng.below(FOREIGN.len())];
            let facts = match i % 4 {
                0 => Facts::UsCitizen,
                1 => Facts::Foreign(c),
                2 => Facts::PermanentResident(c),
                _ => Facts::Dual(c),
            };
            (*id, facts)
        })
        .collect();
    // Forgeries and stale deliveries would let in accounts that must verify.
    let targets: Vec<&str> = eligible[n_verified..]
        .iter()
        .copied()
        .filter(|id| expect_from_record(&records[*id], now) == Expect::VerificationRequired)
        .take(n_forged + n_stale)
        .collect();
    assert_eq!(
        targets.len(),
        n_forged + n_stale,
        "too few unverified accounts"
    );
    let expected: BTreeMap<&str, Expect> = records
        .iter()
        .map(|(id, r)| {
            let e = match verified.get(id.as_str()) {
                Some(f) => expect_from_facts(r, f, now),
                None => expect_from_record(r, now),
            };
            (id.as_str(), e)
        })
        .collect();

    // The deliveries, in the order a busy vendor sends them.
    let mut originals: Vec<Delivery> = verified
        .iter()
        .enumerate()
        .map(|(i, (id, f))| Delivery::new(format!("wh-{i:06}"), Kind::Original, id, f))
        .collect();
    let mut first_pass = originals.clone();
    for (k, id) in targets.iter().enumerate() {
        let kind = if k < n_forged {
            Kind::Forged
        } else {
            Kind::Stale
        };
        let name = if kind == Kind::Forged {
            "forged"
        } else {
            "stale"
        };
        first_pass.push(Delivery::new(
            format!("{name}-{k:04}"),
            kind,
            id,
            &Facts::UsCitizen,
        ));
    }
    rng.shuffle(&mut first_pass);
    rng.shuffle(&mut originals);

    // API keys for the sample: every forgery's and stale delivery's target,
    // then accounts drawn from the rest.
    let mut sample: Vec<&str> = targets.clone();
    let mut rest: Vec<&str> = records
        .keys()
        .map(String::as_str)
        .filter(|id| !targets.contains(id))
        .collect();
    rng.shuffle(&mut rest);
    sample.extend(
        rest.into_iter()
            .take(sample_size.saturating_sub(targets.len())),
    );
    let keys: Vec<(String, String)> = {
        let store = cordon_store::SqliteStore::open(&store).unwrap();
        sample
            .iter()
            .map(|id| {
                let k = store.create_key(id, Some("verification test")).unwrap();
                ((*id).to_owned(), k.key)
            })
            .collect()
    };
    mark("keys", &mut timings);

    let extra = format!(
        "[audit]\ncheckpoint_interval_secs = 1\n\n[[verification.source]]\nname = \"{SOURCE}\"\nformat = \"cordon\"\nsecrets = [\"whsec_{}\"]\n",
        B64.encode(SECRET)
    );
    let directives = work.join("directives-after-grace");
    directives_after_grace(&directives, now);
    let mut gateway = Gateway::start(&work, &directives, &store, &data, &extra);
    let port = gateway.port;
    mark("start", &mut timings);

    // First pass, with a SIGKILL half-way and a restart on the same files.
    let first_pass = Arc::new(first_pass);
    let sent = Arc::new(AtomicUsize::new(0));
    let vendor = {
        let (batch, sent) = (first_pass.clone(), sent.clone());
        std::thread::spawn(move || deliver_all(port, &batch, &sent))
    };
    let half = first_pass.len() / 2;
    let deadline = Instant::now() + Duration::from_secs(300);
    while sent.load(Ordering::SeqCst) < half {
        assert!(
            Instant::now() < deadline,
            "the vendor stalled before half-way"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    gateway.server.kill().unwrap();
    gateway.server.wait().unwrap();
    let killed_at = sent.load(Ordering::SeqCst);
    gateway.server = restart(&work, &data, port);
    let first = vendor.join().unwrap();
    mark("first pass", &mut timings);

    // What the first pass came to. Each verification may be answered
    // `accepted` once at most, whatever is delivered again.
    let mut accepted: BTreeMap<String, usize> = BTreeMap::new();
    let mut count_accepted = |d: &Delivery, a: &Option<(u16, String)>| {
        if status_of(a).as_deref() == Some("accepted") {
            *accepted.entry(d.id.clone()).or_default() += 1;
        }
    };
    let mut unanswered = 0;
    for (d, a) in first_pass.iter().zip(&first) {
        count_accepted(d, a);
        match (d.kind, a) {
            (_, None) => unanswered += 1,
            (Kind::Original, Some((status, body))) => {
                assert_eq!(*status, 200, "{}: {body}", d.id);
                let st = status_of(a);
                assert!(
                    matches!(st.as_deref(), Some("accepted" | "replay")),
                    "{}: {body}",
                    d.id
                );
            }
            (Kind::Forged | Kind::Stale, Some((status, body))) => {
                assert_eq!(*status, 401, "{} {:?}: {body}", d.id, d.kind)
            }
            (Kind::Replay, _) => unreachable!(),
        }
    }

    // The vendor redelivers every verification it got no 2xx for, with a
    // fresh signature, until each is taken (a bounded number of rounds);
    // forgeries and stale deliveries are sent again as they were.
    let got_2xx: BTreeSet<&str> = first_pass
        .iter()
        .zip(&first)
        .filter(|(_, a)| is_2xx(a))
        .map(|(d, _)| d.id.as_str())
        .collect();
    let mut pending: Vec<Delivery> = first_pass
        .iter()
        .filter(|d| !got_2xx.contains(d.id.as_str()))
        .cloned()
        .collect();
    let mut redelivered = 0;
    for round in 0..5 {
        if pending.iter().all(|d| d.kind != Kind::Original) {
            break;
        }
        let batch = Arc::new(std::mem::take(&mut pending));
        redelivered += batch.len();
        let answers = deliver_all(port, &batch, &Arc::new(AtomicUsize::new(0)));
        for (d, a) in batch.iter().zip(&answers) {
            count_accepted(d, a);
            match (d.kind, a) {
                (Kind::Original, Some((200, _))) => {
                    let st = status_of(a);
                    assert!(
                        matches!(st.as_deref(), Some("accepted" | "replay")),
                        "{}: {a:?}",
                        d.id
                    );
                }
                (Kind::Forged | Kind::Stale, Some((401, _))) => {}
                (_, None) if round < 4 => pending.push(d.clone()),
                _ => panic!("redelivery of {} ({:?}) answered {a:?}", d.id, d.kind),
            }
        }
    }
    assert!(
        pending.iter().all(|d| d.kind != Kind::Original),
        "{} verifications never taken",
        pending.len()
    );
    let twice: Vec<_> = accepted.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "accepted more than once: {twice:?}");
    assert!(
        accepted.keys().all(|id| id.starts_with("wh-")),
        "{accepted:?}"
    );

    // Redeliveries of verifications already taken, and replays with
    // another body: every one a replay that changes nothing.
    let by_id: BTreeMap<String, (&str, &Facts)> = verified
        .iter()
        .enumerate()
        .map(|(i, (id, f))| (format!("wh-{i:06}"), (*id, f)))
        .collect();
    let replays: Vec<Delivery> = originals
        .iter()
        .take(n_replays)
        .enumerate()
        .map(|(k, d)| {
            if k % 2 == 0 {
                Delivery {
                    kind: Kind::Replay,
                    ..d.clone()
                }
            } else {
                let (account, facts) = by_id[d.id.as_str()];
                Delivery::new(d.id.clone(), Kind::Replay, account, &facts.opposite())
            }
        })
        .collect();
    let replays = Arc::new(replays);
    let answers = deliver_all(port, &replays, &Arc::new(AtomicUsize::new(0)));
    for (d, a) in replays.iter().zip(&answers) {
        assert_eq!(
            (a.as_ref().map(|x| x.0), status_of(a).as_deref()),
            (Some(200), Some("replay")),
            "replay of {}: {a:?}",
            d.id
        );
    }
    mark("redeliveries and replays", &mut timings);

    // The store: one row per fact of each verification taken, never two.
    {
        let conn = rusqlite::Connection::open(&store).unwrap();
        let duplicated: Vec<(String, i64)> = conn
            .prepare("SELECT delivery_id, count(*) FROM evidence GROUP BY delivery_id, attribute HAVING count(*) > 1")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(duplicated.is_empty(), "duplicated evidence: {duplicated:?}");
        let mut stored: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        let mut stmt = conn
            .prepare("SELECT account, delivery_id, attribute, value, source FROM evidence")
            .unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (account, delivery, attribute, value, source) = row.unwrap();
            assert_eq!(source, SOURCE);
            let (owner, _) = by_id.get(delivery.as_str()).unwrap_or_else(|| {
                panic!("evidence from delivery `{delivery}`, which was never taken")
            });
            assert_eq!(*owner, account, "{delivery}");
            stored
                .entry(account)
                .or_default()
                .insert(attribute, serde_json::from_str(&value).unwrap());
        }
        assert_eq!(stored.len(), verified.len(), "accounts with evidence");
        for (id, facts) in &verified {
            assert_eq!(
                stored.get(*id),
                Some(&facts.rows()),
                "{id}: the evidence is not what the first delivery said"
            );
        }
        for id in &targets {
            assert!(
                !stored.contains_key(*id),
                "{id} has evidence from a forgery or stale delivery"
            );
        }
    }
    mark("store checks", &mut timings);

    // Every sampled account's request is decided as the oracle says.
    let keys = Arc::new(keys);
    let next = Arc::new(AtomicUsize::new(0));
    let got = Arc::new(Mutex::new(Vec::<(String, u16, String)>::new()));
    let threads: Vec<_> = (0..CHAT_THREADS)
        .map(|_| {
            let (keys, next, got) = (keys.clone(), next.clone(), got.clone());
            std::thread::spawn(move || {
                let body =
                    r#"{"model": "fable-5", "messages": [{"role": "user", "content": "hello"}]}"#;
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some((id, key)) = keys.get(i) else { break };
                    let r = request(port, "POST", "/v1/chat/completions", key, body)
                        .unwrap_or_else(|| panic!("no answer for {id}"));
                    let effect = match r.header("x-cordon-effect").unwrap_or("allow") {
                        "allow_with_obligations" => "allow".to_owned(),
                        other => other.to_owned(),
                    };
                    got.lock().unwrap().push((id.clone(), r.status, effect));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), sample.len());
    let mut wrong = Vec::new();
    let mut census: BTreeMap<(bool, Expect), usize> = BTreeMap::new();
    for (id, status, effect) in &got {
        let want = expected[id.as_str()];
        *census
            .entry((verified.contains_key(id.as_str()), want))
            .or_default() += 1;
        let refused = want != Expect::Allow;
        if effect != want.effect() || (*status >= 400) != refused {
            wrong.push(format!(
                "{id}: {status} {effect}, expected {} (facts sent: {:?}; record: {})",
                want.effect(),
                verified.get(id.as_str()),
                records[id]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers differ from the oracle, e.g.\n{}",
        wrong.len(),
        got.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
    // The sample saw every kind of answer, for verified and unverified accounts alike.
    for key in [
        (true, Expect::Allow),
        (true, Expect::Deny),
        (false, Expect::Allow),
        (false, Expect::VerificationRequired),
    ] {
        assert!(
            census.get(&key).copied().unwrap_or(0) >= 5,
            "too few {key:?} in the sample: {census:?}"
        );
    }
    mark("chat requests", &mut timings);

    drop(gateway);
    let summary = ok(&cordon(&["audit", "verify", "--data-dir", s(&data)]));
    assert!(summary.contains("verified the audit log"), "{summary}");
    mark("audit verify", &mut timings);

    eprintln!(
        "{n_accounts} accounts, {} verified by webhook; first pass {} deliveries ({} forged, {} stale), SIGKILL after {killed_at}, {unanswered} unanswered; {redelivered} redelivered; {} replays; {} chat requests ({census:?}); {:.1} s in all: {}",
        verified.len(),
        first_pass.len(),
        n_forged,
        n_stale,
        replays.len(),
        got.len(),
        started.elapsed().as_secs_f64(),
        timings
            .iter()
            .map(|(what, s)| format!("{what} {s:.1} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = std::fs::remove_dir_all(&work);
}
