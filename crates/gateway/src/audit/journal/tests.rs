use cordon_audit::SigningKey;
use cordon_audit::leaf::{DecisionRecord, Mode, Obligations, Source};
use cordon_audit_log::{Fault, LogConfig, LogReader};
use serde_json::json;

use super::*;
use cordon_store::SqliteStore;

const SALT: &[u8] = b"test salt";

fn change(actor: &str, details: Value) -> AdminChange {
    let Value::Object(details) = details else {
        panic!("details must be an object")
    };
    AdminChange {
        id: 7,
        at: "2026-01-02T03:04:05Z".parse().unwrap(),
        actor: actor.to_owned(),
        action: "account.created".to_owned(),
        subject: "acme".to_owned(),
        details,
    }
}

fn temp_log(name: &str) -> (AuditLog, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("cordon-gw-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let key = SigningKey::from_seed("test.example/log", [1; 32]).unwrap();
    let (log, _) = AuditLog::open(LogConfig::new(&dir, "test.example/log"), key).unwrap();
    (log, dir)
}

fn decision(id: &str) -> DecisionRecord {
    DecisionRecord {
        id: id.to_owned(),
        time: "2026-01-02T03:04:05Z".to_owned(),
        account: Some("acme".to_owned()),
        model_requested: "fable-5".to_owned(),
        model: Some("fable-5".to_owned()),
        endpoint: "chat".to_owned(),
        effect: "deny".to_owned(),
        mode: Mode::Enforced,
        decided_by: Some("us-ai-diffusion".to_owned()),
        consulted: vec!["us-ai-diffusion".to_owned()],
        obligations: Obligations::default(),
        attributes: Vec::new(),
        policy_version: "v1".to_owned(),
        client_country: None,
        client_region: None,
        anonymizer: None,
        source: Source::Cli,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    }
}

#[test]
fn names_and_email_addresses_anywhere_in_the_details_become_pseudonyms() {
    let c = change(
        "alice@example.com",
        json!({"subject": {
            "name": {"value": "Jane Q. Doe", "verification": "document_verified"},
            "email": "jane@example.com",
            "citizenships": ["US"],
            "organization": {"name": "Acme Trading", "owners": [
                {"name": "Ivan Petrov", "percent": 36.6, "kind": "individual"}
            ]}
        }, "import_line": 4}),
    );
    let a = admin_record(&c, SALT);
    let p = |v: &str| Pseudonym::new(SALT, v).into_string();
    assert_eq!(a.id, "journal-7");
    assert_eq!(a.actor, p("alice@example.com"));
    assert_eq!(a.subject.as_deref(), Some("acme"));
    assert_eq!(a.details["subject.name.value"], p("Jane Q. Doe"));
    assert_eq!(a.details["subject.name.verification"], "document_verified");
    assert_eq!(a.details["subject.email"], p("jane@example.com"));
    assert_eq!(a.details["subject.citizenships"], r#"["US"]"#);
    assert_eq!(a.details["subject.organization.name"], p("Acme Trading"));
    assert_eq!(a.details["import_line"], "4");
    let owners = &a.details["subject.organization.owners"];
    assert!(owners.contains(&p("Ivan Petrov")), "{owners}");
    assert!(owners.contains(r#""percent":36.6"#), "{owners}");
    let leaf = String::from_utf8(leaf::encode(&Record::Admin(a)).unwrap()).unwrap();
    for secret in ["Jane", "jane@", "Ivan", "Petrov", "Acme Trading", "alice"] {
        assert!(!leaf.contains(secret), "`{secret}` leaked into {leaf}");
    }
}

#[test]
fn system_actors_stay_readable() {
    for actor in ["cordon", "cordon serve", "screening", "system"] {
        assert_eq!(admin_record(&change(actor, json!({})), SALT).actor, actor);
    }
}

#[test]
fn oversized_details_become_a_hash_instead_of_stalling_the_journal() {
    let c = change("cordon", json!({"blob": "x".repeat(70_000)}));
    let bytes = leaf_of(&c, SALT);
    let Record::Admin(a) = leaf::decode(&bytes).unwrap() else {
        panic!("not an admin leaf")
    };
    assert_eq!(a.id, "journal-7");
    assert!(a.details["details_omitted"].contains("byte leaf"));
    assert_eq!(a.details["details_sha256"].len(), 64);
}

#[test]
fn the_journal_is_copied_in_order_and_acknowledged() {
    let (log, dir) = temp_log("copy");
    let store = SqliteStore::open_in_memory()
        .unwrap()
        .with_actor("cordon accounts");
    store
        .add_account(
            "acme",
            json!({"name": "Jane Q. Doe", "citizenships": ["US"]}),
        )
        .unwrap();
    store
        .journal(
            "decision",
            "acme",
            serde_json::to_value(decision("dec_000000000000000000000001")).unwrap(),
        )
        .unwrap();
    let report = copy_journal(&store, &log, SALT).unwrap();
    assert_eq!((report.admin, report.decisions), (1, 1));
    assert_eq!((report.first_index, report.last_index), (Some(0), Some(1)));
    assert!(store.pending_changes(10).unwrap().is_empty());
    assert_eq!(
        copy_journal(&store, &log, SALT).unwrap(),
        CopyReport::default()
    );
    drop(log);

    let reader = LogReader::open(&dir).unwrap();
    assert_eq!(reader.size(), 2);
    let Record::Admin(a) = leaf::decode(&reader.entry(0).unwrap()).unwrap() else {
        panic!("entry 0 is not an admin leaf")
    };
    assert_eq!(a.action, "account.created");
    assert_eq!(a.actor, "cordon accounts");
    assert_eq!(
        a.details["subject.name"],
        Pseudonym::new(SALT, "Jane Q. Doe").as_str()
    );
    let Record::Decision(d) = leaf::decode(&reader.entry(1).unwrap()).unwrap() else {
        panic!("entry 1 is not a decision leaf")
    };
    assert_eq!(d, decision("dec_000000000000000000000001"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_append_leaves_the_rows_pending_for_the_next_copy() {
    let (log, dir) = temp_log("fail");
    let store = SqliteStore::open_in_memory().unwrap();
    store.add_account("a", json!({})).unwrap();
    store.add_account("b", json!({})).unwrap();
    log.inject_fault(Fault::FailWrite);
    let err = copy_journal(&store, &log, SALT).unwrap_err();
    assert!(matches!(err, CopyError::Append { id: 1, .. }), "{err}");
    assert_eq!(store.pending_changes(10).unwrap().len(), 2);
    log.inject_fault(Fault::None);
    let report = copy_journal(&store, &log, SALT).unwrap();
    assert_eq!(report.admin, 2);
    assert_eq!(report.through, Some(2));
    assert_eq!(log.stats().size, 2);
    drop(log);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn licence_changes_reach_the_log_as_admin_leaves_without_their_conditions() {
    let (log, dir) = temp_log("licences");
    let store = SqliteStore::open_in_memory()
        .unwrap()
        .with_actor("Olivia Officer");
    store
        .add_account("acme", json!({"kind": "organization", "name": "Acme Labs"}))
        .unwrap();
    store
        .add_account(
            "acme-ana",
            json!({"name": "Ana Example", "organization": {"name": "Acme Labs"}}),
        )
        .unwrap();
    let licence = cordon_subject::Licence::from_value(
        &json!({"number": "D1234567", "authority": "BIS",
                "directives": ["foreign-national-frontier-2026"], "holder": "acme",
                "individuals": ["acme-ana"], "excluded_nationalities": ["CN"],
                "conditions": "Only in Dr. Ana Example's lab.",
                "issued": "2026-11-01T00:00:00Z", "expires": "2099-01-01T00:00:00Z"}),
        cordon_jurisdiction::Jurisdictions::embedded().unwrap(),
        None,
    )
    .unwrap();
    store
        .record_licence(&licence, cordon_store::LicenceSource::OrgSubmission)
        .unwrap();
    store.approve_licence("D1234567").unwrap();
    store.revoke_licence("D1234567").unwrap();
    let report = copy_journal(&store, &log, SALT).unwrap();
    assert_eq!(report.admin, 5);
    drop(log);

    let reader = LogReader::open(&dir).unwrap();
    let leaves: Vec<_> = (2..5)
        .map(|i| match leaf::decode(&reader.entry(i).unwrap()).unwrap() {
            Record::Admin(a) => a,
            other => panic!("entry {i} is not an admin leaf: {other:?}"),
        })
        .collect();
    let actions: Vec<&str> = leaves.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["licence.submitted", "licence.approved", "licence.revoked"]
    );
    let submitted = &leaves[0];
    assert_eq!(submitted.subject.as_deref(), Some("D1234567"));
    assert_eq!(
        submitted.actor,
        Pseudonym::new(SALT, "Olivia Officer").as_str()
    );
    assert_eq!(submitted.details["holder"], "acme");
    assert_eq!(submitted.details["individuals"], r#"["acme-ana"]"#);
    assert_eq!(submitted.details["status"], "pending");
    assert_eq!(submitted.details["conditions_sha256"].len(), 64);
    for a in &leaves {
        let text = format!("{a:?}");
        assert!(!text.contains("Ana Example"), "{text}");
        assert!(!text.contains("Olivia"), "{text}");
    }
    assert_eq!(leaves[2].details["to"], "revoked");
    std::fs::remove_dir_all(dir).unwrap();
}
