//! The gateway with its audit log: every decision is in the log before its
//! response, a log that cannot be written refuses what it must, and the log
//! is served to auditors and customers.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cordon_audit::leaf::{self, AdminRecord, DecisionRecord, Pseudonym, Record, Source};
use cordon_audit::{Checkpoint, InclusionBundle, SigningKey, VerifierKey};
use cordon_audit_log::{AuditLog, Fault, LogConfig, LogReader};
use cordon_gateway::Gateway;
use cordon_gateway::audit::{self, AuditTrail};
use cordon_gateway::config::{AuditConfig, OnFailure};
use cordon_gateway::mock;
use serde_json::{Value, json};

use super::{Directives, Harness, Reply, Setup, ask, hello, start};

const READ_TOKEN: &str = "auditor-token-0123456789";
const ORIGIN: &str = "test.example/audit";

/// The audit trail a harness records to, in `<dir>/audit`, signed with a
/// fixed key.
pub(super) struct Trail {
    pub(super) on_failure: OnFailure,
    pub(super) read_token: Option<&'static str>,
    /// How many entries a shared store's copy holds: decisions wait for it
    /// (`durability = "replicated"`).
    pub(super) replica: Option<tokio::sync::watch::Receiver<u64>>,
    /// The file system the log is on; the operating system's when `None`.
    pub(super) storage: Option<Arc<dyn cordon_audit_log::storage::Storage>>,
}

impl Default for Trail {
    fn default() -> Self {
        Trail {
            on_failure: OnFailure::Refuse,
            read_token: Some(READ_TOKEN),
            replica: None,
            storage: None,
        }
    }
}

impl Trail {
    /// Opens the log in `dir` and has `gw` record to it.
    pub(super) fn attach(&self, gw: &Gateway, dir: &Path) {
        let key = SigningKey::from_seed(ORIGIN, [7; 32]).unwrap();
        let verifier = key.verifier();
        let config = AuditConfig {
            on_failure: self.on_failure,
            read_token: self.read_token.map(str::to_owned),
            checkpoint_interval_secs: 0,
            ..AuditConfig::default()
        };
        let mut log_config = LogConfig::new(dir.join("audit"), ORIGIN);
        if let Some(storage) = &self.storage {
            log_config.storage = Arc::clone(storage);
        }
        let (log, _) = AuditLog::open(log_config, key).unwrap();
        let mut trail = AuditTrail::new(log, b"test salt".to_vec(), verifier, &config);
        if let Some(confirmed) = &self.replica {
            trail = trail.replicated(confirmed.clone(), Duration::from_millis(300));
        }
        gw.set_audit(trail);
    }
}

/// The harness with an audit trail, two accounts whose attributes came from
/// `kyc-vendor`, and every shipped directive.
pub(super) fn audited() -> Setup {
    Setup {
        token_delay: Duration::from_millis(1),
        accounts: Some(&["us-citizen", "foreign-national"]),
        account_source: Some("kyc-vendor"),
        audit: Some(Trail::default()),
        ..Setup::default()
    }
}

impl Reply {
    /// The log index the response names in its audit header.
    fn index(&self) -> u64 {
        self.header(audit::AUDIT_INDEX).parse().unwrap_or_else(|_| {
            panic!(
                "no audit index in a {} response: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

impl Harness {
    fn trail(&self) -> Arc<AuditTrail> {
        self.gw.audit().unwrap()
    }

    fn verifier(&self) -> VerifierKey {
        self.trail().verifier().clone()
    }

    fn reader(&self) -> LogReader {
        LogReader::open(self.dir.join("audit")).unwrap()
    }

    fn record(&self, index: u64) -> Record {
        leaf::decode(&self.reader().entry(index).unwrap()).unwrap()
    }

    fn decision(&self, index: u64) -> DecisionRecord {
        match self.record(index) {
            Record::Decision(d) => d,
            Record::Admin(a) => panic!("entry {index} is an admin leaf: {a:?}"),
        }
    }

    fn admin_leaves(&self) -> Vec<AdminRecord> {
        let reader = self.reader();
        (0..reader.size())
            .filter_map(|i| match leaf::decode(&reader.entry(i).unwrap()).unwrap() {
                Record::Admin(a) => Some(a),
                Record::Decision(_) => None,
            })
            .collect()
    }

    /// Every byte the log directory holds.
    fn log_bytes(&self) -> Vec<u8> {
        fn walk(dir: &Path, out: &mut Vec<u8>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.extend(std::fs::read(&p).unwrap());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.join("audit"), &mut out);
        out
    }
}

#[tokio::test]
async fn a_request_is_answered_only_after_its_leaf_is_in_the_log() {
    let h = start(audited()).await;
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Opened only now: whatever it finds was committed before the response.
    let d = h.decision(r.index());
    assert_eq!(d.id, r.header("x-cordon-decision-id"));
    assert_eq!(d.account.as_deref(), Some("us-citizen"));
    assert_eq!(d.effect, "allow");
    assert_eq!(d.model.as_deref(), Some("fable-5"));
    assert_eq!(d.endpoint, "chat");
    assert_eq!(d.source, Source::Gateway);
    assert_eq!(d.client_country.as_deref(), Some("US"));
    assert_eq!(d.policy_version, h.gw.compiled().policy.version());
    assert!(
        d.consulted
            .contains(&"foreign-national-frontier-2026".to_owned())
    );
    let citizenship = d
        .attributes
        .iter()
        .find(|a| a.value == "citizenships: US")
        .unwrap_or_else(|| panic!("{:#?}", d.attributes));
    assert_eq!(
        citizenship.provenance.as_ref().unwrap().source.as_deref(),
        Some("kyc-vendor")
    );
    h.finish();
}

#[tokio::test]
async fn refusals_are_logged_with_their_directive() {
    let h = start(audited()).await;
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    let d = h.decision(r.index());
    assert_eq!(d.id, r.header("x-cordon-decision-id"));
    assert_eq!(d.effect, "deny");
    assert_eq!(
        d.decided_by.as_deref(),
        Some("foreign-national-frontier-2026")
    );
    assert_eq!(h.upstream_requests(), 0);

    // An unknown model is a refusal too, with no resolved model.
    let r = h.chat("us-citizen", hello("no-such-model")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let d = h.decision(r.index());
    assert_eq!((d.effect.as_str(), d.model.as_deref()), ("deny", None));
    assert_eq!(d.model_requested, "no-such-model");
    h.finish();
}

#[tokio::test]
async fn the_log_never_holds_the_prompt_or_the_api_key() {
    let h = start(audited()).await;
    let prompt = format!("canary-prompt-{}-7f3a9c", std::process::id());
    let allowed = h.chat("us-citizen", ask("fable-5", &prompt)).await;
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    let refused = h.chat("foreign-national", ask("fable-5", &prompt)).await;
    assert_eq!(refused.status, 451);
    h.trail().log().checkpoint_now().unwrap();
    let bytes = h.log_bytes();
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains(allowed.header("x-cordon-decision-id")));
    assert!(!contains(&prompt), "the prompt is in the log");
    assert!(!contains(mock::REPLY), "the completion is in the log");
    for who in ["us-citizen", "foreign-national"] {
        let key = h.key(who);
        let secret = key.rsplit('_').next().unwrap();
        assert!(!contains(&key) && !contains(secret), "a key is in the log");
    }
    assert!(!contains("upstream-secret"));
    h.finish();
}

#[tokio::test]
async fn a_log_that_cannot_be_written_refuses_and_recovers() {
    let h = start(Setup {
        directives: Directives::Only(&["foreign-national-frontier.toml"]),
        ..audited()
    })
    .await;
    h.trail().log().inject_fault(Fault::FailWrite);

    // fable-5 is controlled by a directive: always refused.
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "audit_unavailable");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disk")
    );
    assert_eq!(r.header(audit::AUDIT_INDEX), "");
    assert!(r.header("x-cordon-decision-id").starts_with("dec_"));
    // lyric-4 is not, and `on_failure` is "refuse".
    let r = h.chat("us-citizen", hello("lyric-4")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    // It may have gone upstream while its record was being written; no
    // byte of the answer reaches the customer.
    assert!(!r.text().contains(mock::REPLY), "{}", r.text());
    // Anthropic callers get their own error shape.
    let anthropic = h
        .send(
            "POST",
            "/v1/messages",
            &[
                ("x-api-key", &h.key("us-citizen")),
                ("anthropic-version", "2023-06-01"),
                ("content-type", "application/json"),
            ],
            json!({"model": "fable-5", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}).to_string(),
        )
        .await;
    assert_eq!(anthropic.status, 503);
    assert_eq!(anthropic.json()["type"], "error");
    // The decision API is refused the same way.
    let decide = h
        .decide(json!({"api_key": h.key("us-citizen"), "model": "fable-5", "country": "US"}))
        .await;
    assert_eq!(decide.status, 503, "{}", decide.text());
    assert_eq!(decide.json()["error"]["code"], "audit_unavailable");

    let health = h.get("/healthz", None).await;
    assert_eq!(health.status, 503, "{}", health.text());
    // How long a cached key is trusted without the store is stated.
    assert_eq!(health.json()["cached_keys_trusted_ms"], 250);
    assert!(
        health.json()["audit_log"]["reason"]
            .as_str()
            .unwrap()
            .contains("injected write failure"),
        "{}",
        health.text()
    );
    let metrics = h.get("/metrics", None).await.text();
    assert!(metrics.contains("cordon_audit_healthy 0"), "{metrics}");
    assert!(!metrics.contains("cordon_audit_appends_total{result=\"failed\"} 0"));

    h.trail().log().inject_fault(Fault::None);
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(h.decision(r.index()).id, r.header("x-cordon-decision-id"));
    let health = h.get("/healthz", None).await;
    assert_eq!(health.status, 200, "{}", health.text());
    assert_eq!(health.json()["audit_log"]["status"], "ok");
    h.finish();
}

#[tokio::test]
async fn replicated_decisions_take_effect_only_once_the_shared_store_holds_them() {
    let (confirm, confirmed) = tokio::sync::watch::channel(0u64);
    let h = start(Setup {
        directives: Directives::Only(&["foreign-national-frontier.toml"]),
        audit: Some(Trail {
            replica: Some(confirmed),
            ..Trail::default()
        }),
        ..audited()
    })
    .await;
    // Nothing confirms: the decision is on the node's disk only, so it is
    // not carried out.
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "audit_unavailable");
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("shared store"), "{message}");
    assert!(!r.text().contains(mock::REPLY), "{}", r.text());
    let health = h.get("/healthz", None).await;
    assert_eq!(health.json()["audit_log"]["durability"], "replicated");

    // A shipper that confirms whatever the log commits, a little later.
    let trail = h.trail();
    let shipper = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if confirm.send(trail.stats().size).is_err() {
                break;
            }
        }
    });
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        h.trail().stats().size > r.index(),
        "answered after its entry committed"
    );
    // A refusal waits for the shared store just the same.
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    shipper.abort();
    h.finish();
}

#[tokio::test]
async fn a_writer_that_could_not_restore_its_segment_stops_and_says_how_to_recover() {
    let h = start(Setup {
        directives: Directives::Only(&["foreign-national-frontier.toml"]),
        ..audited()
    })
    .await;
    // The batch fails half-written and cutting it fails too.
    h.trail().log().inject_fault(Fault::PartialWriteStuck);
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "audit_unavailable");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stopped after a disk failure"),
        "{}",
        r.text()
    );
    // Clearing the fault does not restart it: the segment's state is unknown.
    h.trail().log().inject_fault(Fault::None);
    let r = h.chat("us-citizen", hello("lyric-4")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(!r.text().contains(mock::REPLY), "{}", r.text());
    let health = h.get("/healthz", None).await;
    assert_eq!(health.status, 503, "{}", health.text());
    assert_eq!(health.json()["audit_log"]["status"], "stopped");
    assert!(
        health.json()["audit_log"]["reason"]
            .as_str()
            .unwrap()
            .contains("the `STOPPED` marker"),
        "{}",
        health.text()
    );
    h.finish();
}

#[tokio::test]
async fn on_failure_allow_lets_only_uncontrolled_requests_through() {
    let h = start(Setup {
        directives: Directives::Only(&["foreign-national-frontier.toml"]),
        audit: Some(Trail {
            on_failure: OnFailure::Allow,
            ..Trail::default()
        }),
        ..audited()
    })
    .await;
    h.trail().log().inject_fault(Fault::FailSync);
    let r = h.chat("us-citizen", hello("lyric-4")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header(audit::AUDIT_INDEX), "", "nothing was recorded");
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(!r.text().contains(mock::REPLY), "{}", r.text());
    let metrics = h.get("/metrics", None).await.text();
    assert!(
        metrics.contains("cordon_audit_unrecorded_total 1"),
        "{metrics}"
    );
    h.trail().log().inject_fault(Fault::None);
    h.finish();
}

#[tokio::test]
async fn every_decision_endpoint_records_its_decision() {
    let h = start(audited()).await;
    let decide = h
        .decide(json!({"subject": {"citizenships": ["DE"]}, "model": "fable-5", "country": "DE"}))
        .await;
    assert_eq!(decide.status, 200, "{}", decide.text());
    let d = h.decision(decide.index());
    assert_eq!(d.id, decide.json()["decision_id"]);
    assert_eq!((d.source, d.account), (Source::DecisionApi, None));
    assert_eq!(d.client_country.as_deref(), Some("DE"));

    let account = json!({"type": "account", "id": "foreign-national"});
    let authzen = h.authzen(account, "fable-5", Value::Null).await;
    assert_eq!(authzen.status, 200, "{}", authzen.text());
    let d = h.decision(authzen.index());
    assert_eq!(d.account.as_deref(), Some("foreign-national"));
    assert_eq!(d.effect, "deny");

    let nginx = h.nginx("us-citizen", "fable-5").await;
    assert_eq!(nginx.status, 200);
    assert_eq!(h.decision(nginx.index()).source, Source::DecisionApi);

    let envoy = h
        .post(
            "foreign-national",
            "/ext_authz/v1/chat/completions",
            json!({"model": "fable-5", "messages": []}),
        )
        .await;
    assert_eq!(envoy.status, 451, "{}", envoy.text());
    assert_eq!(h.decision(envoy.index()).effect, "deny");

    // Listing models is not a decision.
    let size = h.reader().size();
    let models = h.get("/v1/models", Some(&h.key("us-citizen"))).await;
    assert_eq!(models.status, 200);
    assert_eq!(h.reader().size(), size);
    h.finish();
}

#[tokio::test]
async fn reloads_and_account_changes_become_admin_leaves() {
    let h = start(audited()).await;
    let gw = h.gw.clone();
    tokio::task::spawn_blocking(move || gw.reload().unwrap())
        .await
        .unwrap();
    let activated: Vec<_> = h
        .admin_leaves()
        .into_iter()
        .filter(|a| a.action == "directives.activated")
        .collect();
    assert_eq!(activated.len(), 1, "{activated:?}");
    let version = h.gw.compiled().policy.version().to_owned();
    assert_eq!(activated[0].subject.as_deref(), Some(version.as_str()));
    assert_eq!(activated[0].details["trigger"], "reload");
    assert_eq!(activated[0].actor, audit::SERVE_ACTOR);
    assert!(activated[0].details["directives"].contains("ofac-iran"));

    h.store
        .add_account(
            "acme",
            json!({"name": "Jane Q. Doe", "organization": {"name": "Acme Trading", "owners": [
                {"name": "Ivan Petrov", "percent": 60}
            ]}}),
        )
        .unwrap();
    let trail = h.trail();
    let report = audit::copy_journal(h.store.as_ref(), trail.log(), trail.salt()).unwrap();
    // The harness's list import, its two accounts (each created, then
    // screened), their two keys, and the new account, created and screened.
    let actions: Vec<String> = h.admin_leaves().into_iter().map(|a| a.action).collect();
    assert_eq!((report.admin, report.decisions), (9, 0), "{actions:?}");
    assert!(h.store.pending_changes(10).unwrap().is_empty());
    let created = h
        .admin_leaves()
        .into_iter()
        .find(|a| a.action == "account.created" && a.subject.as_deref() == Some("acme"))
        .unwrap();
    assert!(created.id.starts_with("journal-"));
    let p = |v: &str| Pseudonym::new(b"test salt", v).into_string();
    assert_eq!(created.details["subject.name"], p("Jane Q. Doe"));
    assert_eq!(
        created.details["subject.organization.name"],
        p("Acme Trading")
    );
    assert!(created.details["subject.organization.owners"].contains(&p("Ivan Petrov")));
    assert_eq!(created.actor, "cordon tests");
    let bytes = h.log_bytes();
    for name in ["Jane", "Acme Trading", "Petrov"] {
        assert!(
            !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
            "`{name}` is in the log"
        );
    }
    h.finish();
}

#[tokio::test]
async fn receipts_verify_and_are_only_for_the_callers_own_decisions() {
    let h = start(audited()).await;
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200);
    let index = r.index();
    let path = format!("/v1/audit/receipts/{index}");

    let receipt = h.get(&path, Some(&h.key("us-citizen"))).await;
    assert_eq!(receipt.status, 200, "{}", receipt.text());
    let bundle = InclusionBundle::parse(&receipt.text()).unwrap();
    assert_eq!(bundle.index, index);
    let checked = bundle.check(&h.verifier()).unwrap();
    assert!(checked.checkpoint.size > index);
    let Record::Decision(d) = leaf::decode(&checked.leaf).unwrap() else {
        panic!("the receipt holds no decision")
    };
    assert_eq!(d.id, r.header("x-cordon-decision-id"));
    // Checked against another key, it fails.
    let other = SigningKey::from_seed(ORIGIN, [8; 32]).unwrap().verifier();
    assert!(bundle.check(&other).is_err());

    let theirs = h.get(&path, Some(&h.key("foreign-national"))).await;
    assert_eq!(theirs.status, 404, "{}", theirs.text());
    assert!(!theirs.text().contains("c2sp.org/tlog-proof"));
    assert_eq!(h.get(&path, None).await.status, 401);
    assert_eq!(h.get(&path, Some("ck_bogus_key")).await.status, 401);
    let key = h.key("us-citizen");
    assert_eq!(h.get("/v1/audit/receipts/x1", Some(&key)).await.status, 400);
    assert_eq!(
        h.get("/v1/audit/receipts/999999", Some(&key)).await.status,
        404
    );
    // A refusal of another account is that account's to prove.
    let refused = h.chat("foreign-national", hello("fable-5")).await;
    let path = format!("/v1/audit/receipts/{}", refused.index());
    assert_eq!(h.get(&path, Some(&key)).await.status, 404);
    let own = h.get(&path, Some(&h.key("foreign-national"))).await;
    assert_eq!(own.status, 200, "{}", own.text());
    InclusionBundle::parse(&own.text())
        .unwrap()
        .check(&h.verifier())
        .unwrap();
    h.finish();
}

#[tokio::test]
async fn tiles_need_the_token_and_match_the_reader() {
    let h = start(audited()).await;
    for who in ["us-citizen", "foreign-national", "us-citizen"] {
        h.chat(who, hello("fable-5")).await;
    }
    assert_eq!(h.get("/audit/checkpoint", None).await.status, 401);
    assert_eq!(
        h.get("/audit/checkpoint", Some("wrong-token-0123456789"))
            .await
            .status,
        401
    );
    h.trail().log().checkpoint_now().unwrap();
    let cp = h.get("/audit/checkpoint", Some(READ_TOKEN)).await;
    assert_eq!(cp.status, 200, "{}", cp.text());
    let checkpoint = Checkpoint::open(&cp.text(), &h.verifier()).unwrap();
    let size = checkpoint.size;
    assert_eq!(size, 3);
    let width = u16::try_from(size).unwrap();

    let reader = h.reader();
    let tile = h
        .get(&format!("/audit/tile/0/000.p/{width}"), Some(READ_TOKEN))
        .await;
    assert_eq!(tile.status, 200, "{}", tile.text());
    assert_eq!(tile.body, reader.hash_tile(0, 0, width).unwrap());
    assert_eq!(tile.header("content-type"), "application/octet-stream");
    let entries = h
        .get(
            &format!("/audit/tile/entries/000.p/{width}"),
            Some(READ_TOKEN),
        )
        .await;
    assert_eq!(entries.status, 200);
    assert_eq!(entries.body, reader.entry_bundle(0, width).unwrap());
    assert_eq!(
        h.get("/audit/tile/0/000.p/3", None).await.status,
        401,
        "tiles need the token too"
    );
    // Beyond the checkpoint, and non-canonical spellings, are not served.
    let beyond = h.get("/audit/tile/0/000.p/4", Some(READ_TOKEN)).await;
    assert_eq!(beyond.status, 404);
    assert_eq!(
        h.get("/audit/tile/0/0.p/3", Some(READ_TOKEN)).await.status,
        404
    );

    // A newer checkpoint is picked up.
    h.chat("us-citizen", hello("fable-5")).await;
    h.trail().log().checkpoint_now().unwrap();
    let tile = h.get("/audit/tile/0/000.p/4", Some(READ_TOKEN)).await;
    assert_eq!(tile.status, 200);
    assert_eq!(tile.body, h.reader().hash_tile(0, 0, 4).unwrap());
    h.finish();
}

impl Harness {
    /// `POST /audit/checkpoint`, with `bearer` as the bearer token if there is one.
    async fn sign_checkpoint(&self, bearer: Option<&str>) -> Reply {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("authorization", a)])
            .unwrap_or_default();
        self.send("POST", "/audit/checkpoint", &headers, "").await
    }
}

#[tokio::test]
async fn an_auditor_has_the_writer_sign_and_store_a_checkpoint() {
    let h = start(audited()).await;
    for who in ["us-citizen", "foreign-national"] {
        h.chat(who, hello("fable-5")).await;
    }
    assert_eq!(
        h.get("/audit/checkpoint", Some(READ_TOKEN)).await.status,
        404,
        "no checkpoint yet"
    );
    let r = h.sign_checkpoint(None).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.header("www-authenticate"), "Bearer");
    assert_eq!(
        h.sign_checkpoint(Some("wrong-token-0123456789"))
            .await
            .status,
        401
    );
    assert!(
        h.reader().checkpoints().is_empty(),
        "a refused call signs nothing"
    );

    let r = h.sign_checkpoint(Some(READ_TOKEN)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(r.header("cache-control"), "no-store");
    let signed = r.text();
    let checkpoint = Checkpoint::open(&signed, &h.verifier()).unwrap();
    assert_eq!(checkpoint.size, h.trail().stats().size);
    // Stored in the log: what readers and the GET see.
    assert_eq!(h.reader().checkpoints(), std::slice::from_ref(&signed));
    let latest = h.get("/audit/checkpoint", Some(READ_TOKEN)).await;
    assert_eq!(latest.status, 200);
    assert_eq!(latest.text(), signed);

    // Nothing new: the stored checkpoint again, not another one.
    let again = h.sign_checkpoint(Some(READ_TOKEN)).await;
    assert_eq!(again.text(), signed);
    assert_eq!(h.reader().checkpoints().len(), 1);
    // A grown log gets a new one, which includes the new entry.
    let index = h.chat("us-citizen", hello("fable-5")).await.index();
    let newer = h.sign_checkpoint(Some(READ_TOKEN)).await;
    assert_eq!(newer.status, 200);
    let newer = Checkpoint::open(&newer.text(), &h.verifier()).unwrap();
    assert!(newer.size > index, "{} <= {index}", newer.size);
    assert_eq!(h.reader().checkpoints().len(), 2);

    // A checkpoint that cannot be stored is a 503 in the usual error shape.
    h.chat("us-citizen", hello("fable-5")).await;
    std::fs::create_dir(h.dir.join("audit/checkpoint.tmp")).unwrap();
    let r = h.sign_checkpoint(Some(READ_TOKEN)).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "unavailable");
    h.finish();
}

#[tokio::test]
async fn without_a_read_token_the_auditor_endpoints_are_disabled() {
    let h = start(Setup {
        audit: Some(Trail {
            read_token: None,
            ..Trail::default()
        }),
        ..audited()
    })
    .await;
    assert_eq!(
        h.get("/audit/checkpoint", Some(READ_TOKEN)).await.status,
        404
    );
    assert_eq!(
        h.get("/audit/tile/0/000.p/1", Some(READ_TOKEN))
            .await
            .status,
        404
    );
    assert_eq!(h.sign_checkpoint(Some(READ_TOKEN)).await.status, 404);
    h.finish();
}
