use serde_json::json;

use crate::{ImportFormat, ImportOptions, SqliteStore};

fn store() -> SqliteStore {
    SqliteStore::open_in_memory().unwrap().with_actor("alice")
}

#[test]
fn every_change_is_journalled_in_order_with_its_actor() {
    let s = store();
    s.add_account("a", json!({"citizenships": ["FR"]})).unwrap();
    s.set_attributes("a", json!({"residence_country": "DE"}))
        .unwrap();
    let key = s.create_key("a", Some("laptop")).unwrap();
    s.revoke_key(&key.prefix).unwrap();
    s.disable("a").unwrap();
    s.enable("a").unwrap();

    let changes = s.pending_changes(100).unwrap();
    let actions: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.created",
            "account.updated",
            "key.created",
            "key.revoked",
            "account.disabled",
            "account.enabled"
        ]
    );
    assert!(changes.iter().all(|c| c.actor == "alice"));
    assert!(changes.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        changes[1].details["patch"],
        json!({"residence_country": "DE"})
    );
    assert_eq!(changes[2].subject, key.prefix);
    assert_eq!(changes[2].details["label"], json!("laptop"));
    // The key's secret is never journalled.
    let secret = key.key.rsplit('_').next().unwrap();
    for c in &changes {
        assert!(!serde_json::to_string(&c.details).unwrap().contains(secret));
    }
}

#[test]
fn a_failed_change_leaves_no_journal_row() {
    let s = store();
    s.add_account("a", json!({})).unwrap();
    assert!(s.add_account("a", json!({})).is_err());
    assert!(
        s.set_attributes("a", json!({"citizenships": ["XZ"]}))
            .is_err()
    );
    assert_eq!(s.pending_changes(100).unwrap().len(), 1);
}

#[test]
fn acknowledged_changes_go_and_ids_are_never_reused() {
    let s = store();
    s.add_account("a", json!({})).unwrap();
    s.add_account("b", json!({})).unwrap();
    let first = s.pending_changes(1).unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(s.acknowledge_changes(first[0].id).unwrap(), 1);
    let rest = s.pending_changes(100).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].subject, "b");
    s.acknowledge_changes(rest[0].id).unwrap();
    s.add_account("c", json!({})).unwrap();
    let next = s.pending_changes(100).unwrap();
    assert!(next[0].id > rest[0].id, "journal ids must keep increasing");
}

#[test]
fn an_import_journals_each_stored_row_with_its_line() {
    let s = store();
    let input = "{\"id\":\"x\"}\n{\"id\":\"bad id!\"}\n{\"id\":\"y\",\"citizenships\":[\"US\"]}\n";
    let report = s
        .import(
            input.as_bytes(),
            ImportFormat::Jsonl,
            ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(report.imported, 2);
    let changes = s.pending_changes(100).unwrap();
    let lines: Vec<(String, serde_json::Value)> = changes
        .iter()
        .map(|c| (c.subject.clone(), c.details["import_line"].clone()))
        .collect();
    assert_eq!(
        lines,
        [("x".to_owned(), json!(1)), ("y".to_owned(), json!(3))]
    );
}
