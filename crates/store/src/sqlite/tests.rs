use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::json;

use super::*;

fn store() -> SqliteStore {
    SqliteStore::open_in_memory().unwrap()
}

const GERMAN: &str = r#"{"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false}"#;

fn german() -> Value {
    serde_json::from_str(GERMAN).unwrap()
}

// A key's round trip to its principal and the refusal of wrong or malformed
// keys are checked for every backend in `tests/conformance.rs`.

#[test]
fn revoked_keys_and_disabled_accounts_do_not_authenticate() {
    let s = store();
    s.add_account("a", json!({})).unwrap();
    let k1 = s.create_key("a", None).unwrap();
    let k2 = s.create_key("a", None).unwrap();
    let info = s.revoke_key(&k1.prefix).unwrap();
    assert!(info.revoked_at.is_some());
    assert_eq!(s.authenticate(&k1.key).unwrap(), None);
    assert!(s.authenticate(&k2.key).unwrap().is_some());
    assert!(matches!(
        s.revoke_key(&k1.prefix),
        Err(StoreError::KeyAlreadyRevoked { .. })
    ));

    s.disable("a").unwrap();
    assert_eq!(s.authenticate(&k2.key).unwrap(), None);
    s.enable("a").unwrap();
    assert!(s.authenticate(&k2.key).unwrap().is_some());
}

#[test]
fn a_taken_prefix_is_retried_with_a_fresh_one() {
    // Prefixes come from 4-byte draws; the queue hands out `aa…` twice, then `bb…`.
    let prefixes = Mutex::new(vec![[0xbb; 4], [0xaa; 4], [0xaa; 4]]);
    let counter = AtomicU8::new(0);
    let s = store().with_random(move |buf: &mut [u8]| {
        if buf.len() == 4 {
            let next = prefixes.lock().unwrap().pop().unwrap_or([0xaa; 4]);
            buf.copy_from_slice(&next);
        } else {
            buf.fill(counter.fetch_add(1, Ordering::Relaxed));
        }
        Ok(())
    });
    s.add_account("a", json!({})).unwrap();
    let first = s.create_key("a", None).unwrap();
    assert_eq!(first.prefix, "ck_aaaaaaaa");
    let second = s.create_key("a", None).unwrap();
    assert_eq!(second.prefix, "ck_bbbbbbbb");
    // Both still authenticate to the right key.
    assert_eq!(
        s.authenticate(&first.key).unwrap().unwrap().key_prefix,
        "ck_aaaaaaaa"
    );
    assert_eq!(
        s.authenticate(&second.key).unwrap().unwrap().key_prefix,
        "ck_bbbbbbbb"
    );
    // A source that only ever yields taken prefixes gives up with a clear error.
    let e = s.create_key("a", None).unwrap_err();
    assert!(matches!(e, StoreError::PrefixExhausted { tries: 8 }), "{e}");
    assert_eq!(s.list_keys("a").unwrap().len(), 2);
}

#[test]
fn every_change_increments_the_version() {
    let s = store();
    let mut last = s.version().unwrap();
    let mut step = |what: &str| {
        let v = s.version().unwrap();
        assert!(v > last, "{what}: {v} <= {last}");
        last = v;
    };
    s.add_account("a", json!({})).unwrap();
    step("add");
    s.set_attributes("a", json!({"citizenships": ["FR"]}))
        .unwrap();
    step("set");
    let k = s.create_key("a", None).unwrap();
    step("create key");
    s.revoke_key(&k.prefix).unwrap();
    step("revoke");
    s.disable("a").unwrap();
    step("disable");
    s.enable("a").unwrap();
    step("enable");
    s.import(
        "id\nb\n".as_bytes(),
        ImportFormat::Csv,
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    step("import");
    // Reads and failed writes do not count.
    let before = s.version().unwrap();
    s.get("a").unwrap();
    s.list().unwrap();
    assert!(s.add_account("a", json!({})).is_err());
    assert!(
        s.set_attributes("a", json!({"citizenships": ["XZ"]}))
            .is_err()
    );
    assert_eq!(s.version().unwrap(), before);
}

#[test]
fn validation_errors_name_the_field() {
    let s = store();
    let e = s
        .add_account("a", json!({"citizenships": [{"country": "XZ"}]}))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "account `a`: subject field `citizenships[0].country`: `XZ` is not an assigned ISO 3166-1 country code"
    );
    s.add_account("a", json!({"residence_country": "DE"}))
        .unwrap();
    let e = s
        .set_attributes("a", json!({"residence_region": "FR-IDF"}))
        .unwrap_err();
    assert!(
        e.to_string().contains("subject field `residence_region`"),
        "{e}"
    );
    let e = s
        .set_attributes("a", json!({"verification": "passport"}))
        .unwrap_err();
    assert!(e.to_string().contains("`verification`"), "{e}");
    let e = s.set_attributes("a", json!(["DE"])).unwrap_err();
    assert!(e.to_string().contains("JSON object"), "{e}");
    let e = s.add_account("A b", json!({})).unwrap_err();
    assert!(
        e.to_string().starts_with("account id `A b` is invalid"),
        "{e}"
    );
    let e = s.add_account("a", json!({})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "account `a` already exists (use `set` to change its attributes)"
    );
    let e = s.set_attributes("zz", json!({})).unwrap_err();
    assert_eq!(e.to_string(), "account `zz` does not exist");
    let e = s.create_key("zz", None).unwrap_err();
    assert_eq!(e.to_string(), "account `zz` does not exist");
    let e = s.revoke_key("ck_12345678").unwrap_err();
    assert_eq!(e.to_string(), "no API key has the prefix `ck_12345678`");
    // A failed patch leaves the stored subject as it was.
    assert_eq!(
        s.get("a").unwrap().unwrap().subject,
        json!({"residence_country": "DE"})
    );
}

#[test]
fn set_attributes_merges_shallowly_and_null_removes() {
    let s = store();
    s.add_account("a", german()).unwrap();
    let r = s
        .set_attributes(
            "a",
            json!({"residence_country": "DE", "permanent_residencies": null}),
        )
        .unwrap();
    assert_eq!(
        r.subject,
        json!({"verification": "document_verified", "citizenships": ["DE"], "protected_individual": false, "residence_country": "DE"})
    );
    assert!(r.updated_at >= r.created_at);
}

#[test]
fn times_come_from_the_injected_clock() {
    let t: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let s = store().with_clock(move || t);
    let r = s.add_account("a", json!({})).unwrap();
    assert_eq!((r.created_at, r.updated_at), (t, t));
    let k = s.create_key("a", Some("  laptop  ")).unwrap();
    let keys = s.list_keys("a").unwrap();
    assert_eq!(keys[0].created_at, t);
    assert_eq!(keys[0].label.as_deref(), Some("laptop"));
    assert_eq!(keys[0].prefix, k.prefix);
}

#[test]
fn issued_keys_never_debug_print_the_secret() {
    let s = store();
    s.add_account("a", json!({})).unwrap();
    let k = s.create_key("a", None).unwrap();
    let shown = format!("{k:?}");
    assert!(
        shown.contains(&k.prefix) && shown.contains("redacted"),
        "{shown}"
    );
    assert!(!shown.contains(&k.key[12..]), "{shown}");
}

#[test]
fn the_schema_is_created_once_and_recorded() {
    let s = store();
    assert_eq!(s.schema_version().unwrap(), schema::latest());
    let conn = s.lock();
    let applied: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, schema::latest());
    let user_version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user_version, schema::latest());
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[test]
fn only_the_hash_of_the_secret_is_stored() {
    let s = store();
    s.add_account("a", json!({})).unwrap();
    let k = s.create_key("a", None).unwrap();
    let secret = &k.key[12..];
    let conn = s.lock();
    let (prefix, hash): (String, Vec<u8>) = conn
        .query_row("SELECT prefix, secret_hash FROM api_keys", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(format!("ck_{prefix}"), k.prefix);
    assert_eq!(hash, key::hash_secret(secret).to_vec());
    let dump: String = conn
        .query_row(
            "SELECT group_concat(prefix || hex(secret_hash) || coalesce(label, '')) FROM api_keys",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!dump.to_lowercase().contains(secret));
}
