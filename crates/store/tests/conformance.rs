//! The identity-store operations both backends have, checked against each:
//! SQLite always, PostgreSQL when `CORDON_TEST_POSTGRES` names a server
//! (`postgres://user@host:port/db`; `tests/postgres/run.sh` starts one).
//! Each PostgreSQL test gets a database of its own on that server.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use cordon_jurisdiction::Jurisdictions;
use cordon_screening::screener::Screener;
use cordon_screening::{EntryKind, EntryName, NameKind};
use cordon_store::end_users::{RegisteredEndUser, Registration, end_user_digest};
use cordon_store::postgres::{ChangeListener, Shipment, ShippedHead};
use cordon_store::screening::{
    ListEntry, MatcherScreener, OWNERSHIP_UID, ReviewDecision, ScreeningStore, Snapshot,
    SnapshotId, rescreen,
};
use cordon_store::{
    AccountRecord, ChangeJournal, Delivered, Fleet, IdentityStore, ImportFormat, ImportOptions,
    ImportReport, Intake, IssuedKey, KeyInfo, LicenceIndex, LicenceRecord, LicenceSource,
    LicenceStatus, NodeReport, ObjectKind, PostgresStore, ProviderObject, Rederived, SqliteStore,
    StoreError,
};
use cordon_subject::{Licence, RestrictedList, ScreeningStatus, Subject, VerificationLevel};
use cordon_verification::{Attribute, Event, EventKind, Fact, SourceKind};
use jiff::Timestamp;
use serde_json::{Value, json};

/// What the conformance checks need beyond [`IdentityStore`].
trait Backend: IdentityStore + Fleet + ChangeJournal + ScreeningStore {
    fn add_account(&self, id: &str, subject: Value) -> Result<AccountRecord, StoreError>;
    fn create_key(&self, account: &str, label: Option<&str>) -> Result<IssuedKey, StoreError>;
    fn revoke_key(&self, prefix: &str) -> Result<KeyInfo, StoreError>;
    fn list_keys(&self, account: &str) -> Result<Vec<KeyInfo>, StoreError>;
    fn end_users(&self, organization: &str) -> Result<Vec<RegisteredEndUser>, StoreError>;
    fn approve_licence(&self, number: &str) -> Result<LicenceRecord, StoreError>;
    fn revoke_licence(&self, number: &str) -> Result<LicenceRecord, StoreError>;
    fn licences(&self) -> Result<Vec<LicenceRecord>, StoreError>;
    fn licence(&self, number: &str) -> Result<Option<LicenceRecord>, StoreError>;
    fn licence_index(&self) -> Result<LicenceIndex, StoreError>;
    fn attach_licences(&self, account: &str, subject: &mut Subject) -> Result<(), StoreError>;
    fn set_attributes(&self, id: &str, patch: Value) -> Result<AccountRecord, StoreError>;
    fn disable(&self, id: &str) -> Result<AccountRecord, StoreError>;
    fn enable(&self, id: &str) -> Result<AccountRecord, StoreError>;
    fn list(&self) -> Result<Vec<AccountRecord>, StoreError>;
    fn find(&self, text: &str, limit: usize) -> Result<Vec<AccountRecord>, StoreError>;
    fn count(&self) -> Result<u64, StoreError>;
    fn import(
        &self,
        text: &str,
        format: ImportFormat,
        options: ImportOptions,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport, StoreError>;
}

macro_rules! backend {
    ($t:ty) => {
        impl Backend for $t {
            fn add_account(&self, id: &str, subject: Value) -> Result<AccountRecord, StoreError> {
                <$t>::add_account(self, id, subject)
            }
            fn create_key(
                &self,
                account: &str,
                label: Option<&str>,
            ) -> Result<IssuedKey, StoreError> {
                <$t>::create_key(self, account, label)
            }
            fn revoke_key(&self, prefix: &str) -> Result<KeyInfo, StoreError> {
                <$t>::revoke_key(self, prefix)
            }
            fn list_keys(&self, account: &str) -> Result<Vec<KeyInfo>, StoreError> {
                <$t>::list_keys(self, account)
            }
            fn end_users(&self, organization: &str) -> Result<Vec<RegisteredEndUser>, StoreError> {
                <$t>::end_users(self, organization)
            }
            fn approve_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
                <$t>::approve_licence(self, number)
            }
            fn revoke_licence(&self, number: &str) -> Result<LicenceRecord, StoreError> {
                <$t>::revoke_licence(self, number)
            }
            fn licences(&self) -> Result<Vec<LicenceRecord>, StoreError> {
                <$t>::licences(self)
            }
            fn licence(&self, number: &str) -> Result<Option<LicenceRecord>, StoreError> {
                <$t>::licence(self, number)
            }
            fn licence_index(&self) -> Result<LicenceIndex, StoreError> {
                <$t>::licence_index(self)
            }
            fn attach_licences(
                &self,
                account: &str,
                subject: &mut Subject,
            ) -> Result<(), StoreError> {
                <$t>::attach_licences(self, account, subject)
            }
            fn set_attributes(&self, id: &str, patch: Value) -> Result<AccountRecord, StoreError> {
                <$t>::set_attributes(self, id, patch)
            }
            fn disable(&self, id: &str) -> Result<AccountRecord, StoreError> {
                <$t>::disable(self, id)
            }
            fn enable(&self, id: &str) -> Result<AccountRecord, StoreError> {
                <$t>::enable(self, id)
            }
            fn list(&self) -> Result<Vec<AccountRecord>, StoreError> {
                <$t>::list(self)
            }
            fn find(&self, text: &str, limit: usize) -> Result<Vec<AccountRecord>, StoreError> {
                <$t>::find(self, text, limit)
            }
            fn count(&self) -> Result<u64, StoreError> {
                <$t>::count(self)
            }
            fn import(
                &self,
                text: &str,
                format: ImportFormat,
                options: ImportOptions,
                progress: &mut dyn FnMut(u64),
            ) -> Result<ImportReport, StoreError> {
                <$t>::import(self, text.as_bytes(), format, options, progress)
            }
        }
    };
}
backend!(SqliteStore);
backend!(PostgresStore);

const T0: &str = "2026-12-01T12:00:00.123456789Z";

fn german() -> Value {
    json!({"verification": "document_verified", "citizenships": ["DE"], "permanent_residencies": [], "protected_individual": false, "residence_country": "DE"})
}

fn sqlite() -> SqliteStore {
    SqliteStore::open_in_memory()
        .unwrap()
        .with_clock(|| T0.parse().unwrap())
}

/// The server `CORDON_TEST_POSTGRES` names, if set.
fn server() -> Option<String> {
    std::env::var("CORDON_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (main, query) = url.split_once('?').map_or((url, ""), |(m, q)| (m, q));
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    let host_end = main[scheme_end..]
        .find('/')
        .map_or(main.len(), |i| scheme_end + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{db}{query}", &main[..host_end])
}

/// A new, empty database named for the test, migrated; `None` (the test
/// is skipped, and says so) without `CORDON_TEST_POSTGRES`.
fn fresh_database(test: &str) -> Option<String> {
    let Some(server) = server() else {
        eprintln!("skipped: CORDON_TEST_POSTGRES is not set (tests/postgres/run.sh sets it)");
        return None;
    };
    let db = format!("cordon_test_{test}");
    let mut admin = ::postgres::Client::connect(&server, ::postgres::NoTls)
        .unwrap_or_else(|e| panic!("CORDON_TEST_POSTGRES `{server}`: {e}"));
    // Separate statements: a batch would be one transaction, which neither allows.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .unwrap();
    Some(with_database(&server, &db))
}

fn postgres_store(test: &str) -> Option<(PostgresStore, String)> {
    let url = fresh_database(test)?;
    PostgresStore::migrate(&url).unwrap();
    // A node name gives the handle a cursor in the change journal, so the
    // checks read what each change journaled, as they do from SQLite.
    let store = PostgresStore::connect(&url)
        .unwrap()
        .with_clock(|| T0.parse().unwrap())
        .with_node("conformance");
    Some((store, url))
}

fn a_key_round_trips_to_its_principal(s: &dyn Backend) {
    let rec = s.add_account("acct-1", german()).unwrap();
    assert_eq!(rec.created_at, T0.parse().unwrap());
    assert_eq!(s.account("acct-1").unwrap(), Some(rec));
    let k = s.create_key("acct-1", Some(" ci ")).unwrap();
    assert!(k.key.starts_with(&format!("{}_", k.prefix)));
    let p = s.authenticate(&k.key).unwrap().unwrap();
    assert_eq!(p.account, "acct-1");
    assert_eq!(p.key_prefix, k.prefix);
    assert_eq!(p.subject.id.as_deref(), Some("acct-1"));
    assert_eq!(s.subject("acct-1").unwrap(), Some(p.subject));
    let keys = s.list_keys("acct-1").unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].label.as_deref(), Some("ci"));
    assert_eq!(s.account("nobody").unwrap(), None);
    assert_eq!(s.subject("nobody").unwrap(), None);
}

fn wrong_and_malformed_keys_do_not_authenticate(s: &dyn Backend) {
    s.add_account("a", json!({})).unwrap();
    let k = s.create_key("a", None).unwrap();
    let mut wrong = k.key.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(s.authenticate(&wrong).unwrap(), None);
    let other = if k.prefix == "ck_00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let unknown = format!("ck_{other}_{}", &k.key[12..]);
    assert_eq!(s.authenticate(&unknown).unwrap(), None);
    for bad in ["", "ck_", "Bearer x", &k.prefix, &format!("{} ", k.key)] {
        assert_eq!(s.authenticate(bad).unwrap(), None, "{bad}");
    }
}

fn a_revoked_key_stops_authenticating_and_the_version_increases(s: &dyn Backend) {
    let v0 = s.version().unwrap();
    s.add_account("a", json!({})).unwrap();
    let v1 = s.version().unwrap();
    assert!(v1 > v0);
    let k1 = s.create_key("a", None).unwrap();
    let k2 = s.create_key("a", None).unwrap();
    let v2 = s.version().unwrap();
    assert!(v2 > v1);
    assert!(s.authenticate(&k1.key).unwrap().is_some());

    let info = s.revoke_key(&k1.prefix).unwrap();
    assert_eq!(info.revoked_at, Some(T0.parse().unwrap()));
    let v3 = s.version().unwrap();
    assert!(v3 > v2, "revoking moves the version: {v2} -> {v3}");
    assert_eq!(s.authenticate(&k1.key).unwrap(), None);
    assert!(s.authenticate(&k2.key).unwrap().is_some());

    // Refused changes change nothing.
    assert!(matches!(
        s.revoke_key(&k1.prefix),
        Err(StoreError::KeyAlreadyRevoked { .. })
    ));
    assert!(matches!(
        s.revoke_key("ck_00000000"),
        Err(StoreError::KeyNotFound { .. })
    ));
    assert!(matches!(
        s.revoke_key("ck_xyz"),
        Err(StoreError::InvalidKeyPrefix { .. })
    ));
    assert_eq!(s.version().unwrap(), v3);
}

fn refused_changes_leave_the_store_as_it_was(s: &dyn Backend) {
    s.add_account("a", german()).unwrap();
    let v = s.version().unwrap();
    assert!(matches!(
        s.add_account("a", json!({})),
        Err(StoreError::AccountExists { .. })
    ));
    assert!(matches!(
        s.add_account("A b", json!({})),
        Err(StoreError::InvalidAccountId { .. })
    ));
    let e = s
        .add_account("b", json!({"citizenships": ["DE", "XZ"]}))
        .unwrap_err();
    assert!(e.to_string().contains("citizenships[1]"), "{e}");
    assert!(matches!(
        s.create_key("nobody", None),
        Err(StoreError::AccountNotFound { .. })
    ));
    assert!(matches!(
        s.create_key("a", Some(&"x".repeat(201))),
        Err(StoreError::InvalidPatch { .. })
    ));
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(s.account("b").unwrap(), None);
    assert!(s.list_keys("a").unwrap().is_empty());
}

fn a_node_report_reads_back_as_written_and_replaces_the_last(s: &dyn Backend) {
    let mut r = NodeReport {
        node: "host/127.0.0.1:8080".into(),
        listen: "127.0.0.1:8080".into(),
        policy_version: "sha256:aa".into(),
        policy_bundle: Some("sha256:bundle".into()),
        started_at: T0.parse().unwrap(),
        heartbeat_at: T0.parse().unwrap(),
        audit_size: 12,
        audit_checkpoint: Some("3 written".into()),
        healthy: true,
        detail: String::new(),
    };
    s.report_node(&r).unwrap();
    assert_eq!(s.nodes().unwrap(), vec![r.clone()]);
    r.healthy = false;
    r.detail = "audit log failing".into();
    r.audit_size = 13;
    r.policy_bundle = None;
    s.report_node(&r).unwrap();
    assert_eq!(s.nodes().unwrap(), vec![r]);
}

fn object(kind: ObjectKind, id: &str, account: &str, details: Value) -> ProviderObject {
    ProviderObject {
        kind,
        id: id.into(),
        account: account.into(),
        model: Some("fable-5".into()),
        details,
    }
}

fn a_provider_object_belongs_to_the_account_that_recorded_it_first(s: &dyn Backend) {
    let v = s.version().unwrap();
    let batch = object(
        ObjectKind::Batch,
        "batch_1",
        "acme",
        json!({"input_file_id": "file-1", "lines": [{"model": "fable-5", "n": 2}]}),
    );
    s.record_object(&batch).unwrap();
    assert_eq!(
        s.object(ObjectKind::Batch, "batch_1").unwrap(),
        Some(batch.clone())
    );
    // One id of another kind is another object.
    assert_eq!(s.object(ObjectKind::File, "batch_1").unwrap(), None);

    // Another account cannot take it over; the first owner keeps it as it was.
    let mut theirs = batch.clone();
    theirs.account = "mallory".into();
    theirs.details = json!({});
    let e = s.record_object(&theirs).unwrap_err();
    assert!(
        matches!(e, StoreError::ObjectOwned { kind: "batch", .. }),
        "{e}"
    );
    assert_eq!(
        s.object(ObjectKind::Batch, "batch_1").unwrap(),
        Some(batch.clone())
    );

    // The owner records it again: model and details are replaced; details
    // that are not an object are stored as an empty one.
    let mut later = batch.clone();
    later.model = None;
    later.details = json!({"output_file_id": "file-9"});
    s.record_object(&later).unwrap();
    assert_eq!(s.object(ObjectKind::Batch, "batch_1").unwrap(), Some(later));
    let odd = object(
        ObjectKind::Response,
        "resp_1",
        "acme",
        json!(["not", "an", "object"]),
    );
    s.record_object(&odd).unwrap();
    assert_eq!(
        s.object(ObjectKind::Response, "resp_1")
            .unwrap()
            .unwrap()
            .details,
        json!({})
    );

    // Ids out of bounds are refused; a 256-byte id is kept.
    for bad in [String::new(), "r".repeat(257)] {
        let e = s
            .record_object(&object(ObjectKind::Response, &bad, "acme", json!({})))
            .unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
    }
    let long = "r".repeat(256);
    s.record_object(&object(ObjectKind::Response, &long, "acme", json!({})))
        .unwrap();
    assert!(s.object(ObjectKind::Response, &long).unwrap().is_some());

    assert!(s.forget_object(ObjectKind::Batch, "batch_1").unwrap());
    assert!(!s.forget_object(ObjectKind::Batch, "batch_1").unwrap());
    assert_eq!(s.object(ObjectKind::Batch, "batch_1").unwrap(), None);
    // Another account may record a forgotten id anew.
    s.record_object(&theirs).unwrap();
    assert_eq!(
        s.object(ObjectKind::Batch, "batch_1")
            .unwrap()
            .unwrap()
            .account,
        "mallory"
    );
    // Objects are not administrative changes: nothing cached depends on them.
    assert_eq!(s.version().unwrap(), v);
}

/// Every change journaled so far, as (action, subject, details).
fn journal(s: &dyn Backend) -> Vec<(String, String, Value)> {
    s.pending_changes(10_000)
        .unwrap()
        .into_iter()
        .map(|c| (c.action, c.subject, Value::Object(c.details)))
        .collect()
}

/// The changes journaled after the first `n`.
fn journaled_after(s: &dyn Backend, n: usize) -> Vec<(String, String, Value)> {
    journal(s).split_off(n)
}

fn reg(end_user: &str, account: &str) -> Registration {
    Registration {
        end_user: end_user.into(),
        account: account.into(),
    }
}

/// An organisation account with a member and an outsider.
fn northwind(s: &dyn Backend) {
    s.add_account(
        "northwind",
        json!({"kind": "organization", "name": "Northwind Labs", "organization": {"name": "Northwind Labs", "country": "US"}}),
    )
    .unwrap();
    s.add_account(
        "ann",
        json!({"citizenships": ["DE"], "organization": {"name": "Northwind Labs"}}),
    )
    .unwrap();
    s.add_account("outsider", json!({"organization": {"name": "Contoso"}}))
        .unwrap();
}

fn resolved(s: &dyn Backend, end_user: Option<&str>) -> Option<(String, bool)> {
    s.end_user("northwind", end_user)
        .unwrap()
        .map(|e| (e.account.id, e.everyone))
}

fn end_users_resolve_to_member_accounts_created_and_journaled_once(s: &dyn Backend) {
    northwind(s);
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let out = s
        .register_end_users(
            "northwind",
            &[
                reg("ann@northwind.example", "ann"),
                reg("bob@northwind.example", "bob"),
                reg("*", "everyone"),
                reg("bob.alt@northwind.example", "bob"),
            ],
        )
        .unwrap();
    assert_eq!(out.registered, 4);
    assert_eq!(out.created, ["bob", "everyone"]);
    assert!(s.version().unwrap() > v);

    // The accounts created are attested members, with nothing else known.
    let bob = s.account("bob").unwrap().unwrap();
    assert_eq!(
        bob.subject,
        json!({"kind": "individual", "organization": {"name": "Northwind Labs", "verification": "attested", "source": "northwind"}})
    );
    assert_eq!(bob.created_at, T0.parse().unwrap());
    assert_eq!(
        journaled_after(s, seen),
        vec![
            (
                "account.created".into(),
                "bob".into(),
                json!({"subject": bob.subject, "end_user_of": "northwind"})
            ),
            (
                "account.created".into(),
                "everyone".into(),
                json!({"subject": bob.subject, "end_user_of": "northwind"})
            ),
            (
                "end_users.registered".into(),
                "northwind".into(),
                json!({"count": 4, "accounts": ["ann", "bob", "everyone"]})
            ),
        ]
    );

    assert_eq!(
        resolved(s, Some("ann@northwind.example")),
        Some(("ann".into(), false))
    );
    assert_eq!(
        resolved(s, Some("bob.alt@northwind.example")),
        Some(("bob".into(), false))
    );
    // Anyone else, no one named, and `*` itself: the account for everyone.
    for other in [Some("carol@northwind.example"), None, Some("*")] {
        assert_eq!(
            resolved(s, other),
            Some(("everyone".into(), true)),
            "{other:?}"
        );
    }
    // Another organisation's end user of the same name is not this one.
    assert_eq!(
        s.end_user("outsider", Some("ann@northwind.example"))
            .unwrap(),
        None
    );

    // Only digests are kept, listed by member account then digest.
    let listed: Vec<(String, String)> = s
        .end_users("northwind")
        .unwrap()
        .into_iter()
        .map(|e| (e.account, e.end_user_sha256))
        .collect();
    let digest = |e: &str| end_user_digest("northwind", e);
    let mut bobs = [
        digest("bob@northwind.example"),
        digest("bob.alt@northwind.example"),
    ];
    bobs.sort();
    assert_eq!(
        listed,
        vec![
            ("ann".into(), digest("ann@northwind.example")),
            ("bob".into(), bobs[0].clone()),
            ("bob".into(), bobs[1].clone()),
            ("everyone".into(), "*".into()),
        ]
    );

    // Registering an identifier again moves it.
    s.register_end_users("northwind", &[reg("ann@northwind.example", "bob")])
        .unwrap();
    assert_eq!(
        resolved(s, Some("ann@northwind.example")),
        Some(("bob".into(), false))
    );

    // Removing: only what was registered counts, and only that is a change.
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let removed = s
        .remove_end_users(
            "northwind",
            &[
                "ann@northwind.example".into(),
                "nobody@northwind.example".into(),
            ],
        )
        .unwrap();
    assert_eq!(removed, 1);
    assert!(s.version().unwrap() > v);
    assert_eq!(
        journaled_after(s, seen),
        vec![(
            "end_users.removed".into(),
            "northwind".into(),
            json!({"count": 1})
        )]
    );
    assert_eq!(
        resolved(s, Some("ann@northwind.example")),
        Some(("everyone".into(), true))
    );
    let v = s.version().unwrap();
    assert_eq!(
        s.remove_end_users("northwind", &["ann@northwind.example".into()])
            .unwrap(),
        0
    );
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(journal(s).len(), seen + 1);
    // The member accounts stay.
    assert!(s.account("ann").unwrap().is_some());
}

fn a_refused_registration_records_nothing(s: &dyn Backend) {
    northwind(s);
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let long = "x".repeat(257);
    let refusals: Vec<(&str, Vec<Registration>, &str)> = vec![
        (
            "northwind",
            vec![
                reg("new@n.example", "newbie"),
                reg("o@n.example", "outsider"),
            ],
            "end_users[1].account `outsider` is not an individual member",
        ),
        (
            "northwind",
            vec![reg("", "newbie")],
            "end_users[0].id must be 1 to 256 bytes",
        ),
        (
            "northwind",
            vec![reg(&long, "newbie")],
            "end_users[0].id must be 1 to 256 bytes",
        ),
        (
            "northwind",
            vec![
                reg("a@n.example", "newbie"),
                reg("b@n.example", "Not An Id"),
            ],
            "end_users[1].account `Not An Id` is not an account id",
        ),
        (
            "northwind",
            vec![reg("a@n.example", "northwind")],
            "end_users[0].account is the organisation itself",
        ),
        (
            "ann",
            vec![reg("a@n.example", "newbie")],
            "is not an organisation account",
        ),
        (
            "northwind",
            vec![],
            "register 1 to 1000 end users at a time",
        ),
    ];
    for (org, regs, message) in refusals {
        let e = s.register_end_users(org, &regs).unwrap_err();
        assert!(matches!(e, StoreError::InvalidPatch { .. }), "{e}");
        assert!(e.to_string().contains(message), "{message}: {e}");
    }
    assert!(matches!(
        s.register_end_users("nobody", &[reg("a@n.example", "newbie")]),
        Err(StoreError::AccountNotFound { .. })
    ));
    assert!(matches!(
        s.remove_end_users("nobody", &["a@n.example".into()]),
        Err(StoreError::AccountNotFound { .. })
    ));
    assert!(matches!(
        s.remove_end_users("northwind", &[]),
        Err(StoreError::InvalidPatch { .. })
    ));
    // Nothing of a refused call stays: no account, no registration, no
    // journal row, no change.
    assert_eq!(s.account("newbie").unwrap(), None);
    assert!(s.end_users("northwind").unwrap().is_empty());
    assert_eq!(resolved(s, Some("new@n.example")), None);
    assert_eq!(journal(s).len(), seen);
    assert_eq!(s.version().unwrap(), v);
}

/// An organisation with two members, an outsider and a person of no
/// organisation.
fn acme(s: &dyn Backend) {
    s.add_account(
        "acme",
        json!({"kind": "organization", "name": "Acme Labs", "verification": "attested"}),
    )
    .unwrap();
    for (id, org) in [
        ("acme-ana", "Acme Labs"),
        ("acme-bo", "Acme Labs"),
        ("other-cy", "Other Corp"),
    ] {
        s.add_account(
            id,
            json!({"verification": "document_verified", "citizenships": ["DE"],
                   "organization": {"name": org, "verification": "attested"}}),
        )
        .unwrap();
    }
    s.add_account("solo", json!({"name": "Solo Person"}))
        .unwrap();
}

fn licence(edit: impl FnOnce(&mut Value)) -> Licence {
    let mut v = json!({
        "number": "D1234567", "authority": "BIS",
        "directives": ["foreign-national-frontier-2026"],
        "holder": "acme", "individuals": ["acme-ana"],
        "excluded_nationalities": ["CN"], "models": ["fable-5"],
        "conditions": "Not for Dr. Example's lab.",
        "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"
    });
    edit(&mut v);
    Licence::from_value(&v, Jurisdictions::embedded().unwrap(), None).unwrap()
}

/// The numbers of the licences attached to `account`'s subject.
fn held(s: &dyn Backend, account: &str) -> Vec<String> {
    s.subject(account)
        .unwrap()
        .unwrap()
        .licences
        .into_iter()
        .map(|l| l.number)
        .collect()
}

fn a_subject_as_given_is_attached_the_licences_that_cover_it(s: &dyn Backend) {
    acme(s);
    s.record_licence(&licence(|_| {}), LicenceSource::Staff)
        .unwrap();
    let numbers = |subject: &Subject| -> Vec<String> {
        subject.licences.iter().map(|l| l.number.clone()).collect()
    };
    // As stored: the member the licence names.
    let mut ana = s.subject("acme-ana").unwrap().unwrap();
    ana.licences.clear();
    s.attach_licences("acme-ana", &mut ana).unwrap();
    assert_eq!(numbers(&ana), ["D1234567"]);
    // The same account with a record saying she works elsewhere: not covered.
    let mut moved = s.subject("other-cy").unwrap().unwrap();
    s.attach_licences("acme-ana", &mut moved).unwrap();
    assert!(moved.licences.is_empty());
    // A member the licence does not name: not covered, whatever the record.
    let mut bo = ana.clone();
    s.attach_licences("acme-bo", &mut bo).unwrap();
    assert!(bo.licences.is_empty());
}

fn licences_are_recorded_approved_revoked_and_attached_to_whom_they_cover(s: &dyn Backend) {
    acme(s);
    let ana_key = s.create_key("acme-ana", None).unwrap();
    let seen = journal(s).len();
    let v = s.version().unwrap();

    let staff = s
        .record_licence(&licence(|_| {}), LicenceSource::Staff)
        .unwrap();
    assert_eq!(staff.licence, licence(|_| {}));
    assert_eq!(staff.status, LicenceStatus::Active);
    assert_eq!(staff.source_kind, LicenceSource::Staff);
    assert_eq!(staff.actor, "cordon");
    assert_eq!(staff.recorded_at, T0.parse().unwrap());
    assert_eq!((staff.approved_at, staff.revoked_at), (None, None));
    assert!(s.version().unwrap() > v);
    // Journaled with everything but the conditions, which go by their hash.
    let recorded = journaled_after(s, seen);
    assert_eq!(recorded.len(), 1);
    let (action, subject, details) = &recorded[0];
    assert_eq!(
        (action.as_str(), subject.as_str()),
        ("licence.recorded", "D1234567")
    );
    assert_eq!(details["individuals"], json!(["acme-ana"]));
    assert_eq!(details["excluded_nationalities"], json!(["CN"]));
    assert_eq!(details["expires"], json!("2027-11-01T00:00:00Z"));
    assert_eq!(details["status"], json!("active"));
    assert!(details.get("conditions").is_none(), "{details}");
    assert_eq!(
        details["conditions_sha256"].as_str().map(str::len),
        Some(64),
        "{details}"
    );

    // Attached to the holder and the member it names, nobody else; also to
    // the principal a key of the member authenticates as.
    assert_eq!(held(s, "acme"), ["D1234567"]);
    assert_eq!(held(s, "acme-ana"), ["D1234567"]);
    assert!(held(s, "acme-bo").is_empty());
    let p = s.authenticate(&ana_key.key).unwrap().unwrap();
    assert_eq!(p.subject.licences, vec![licence(|_| {})]);

    // A submission is pending: it lifts nothing until approved.
    let submitted = licence(|l| {
        l["number"] = json!("D-9");
        l["individuals"] = json!(["acme-bo", "acme-ana"]);
        l["conditions"] = Value::Null;
    });
    let pending = s
        .record_licence(&submitted, LicenceSource::OrgSubmission)
        .unwrap();
    assert_eq!(pending.status, LicenceStatus::Pending);
    assert!(held(s, "acme-bo").is_empty());
    // Listed by number, bytewise (`-` before digits).
    let numbers: Vec<String> = s
        .licences()
        .unwrap()
        .into_iter()
        .map(|r| r.licence.number)
        .collect();
    assert_eq!(numbers, ["D-9", "D1234567"]);

    let seen = journal(s).len();
    let approved = s.approve_licence("D-9").unwrap();
    assert_eq!(approved.status, LicenceStatus::Active);
    assert_eq!(approved.approved_at, Some(T0.parse().unwrap()));
    assert_eq!(approved.approved_by.as_deref(), Some("cordon"));
    assert_eq!(s.licence("D-9").unwrap(), Some(approved));
    assert_eq!(held(s, "acme-bo"), ["D-9"]);
    assert_eq!(held(s, "acme-ana"), ["D-9", "D1234567"]);
    let index = s.licence_index().unwrap();
    assert_eq!(index.accounts(), 3);
    let numbers_of =
        |id: &str| -> Vec<String> { index.of(id).iter().map(|l| l.number.clone()).collect() };
    assert_eq!(numbers_of("acme-ana"), ["D-9", "D1234567"]);
    assert_eq!(numbers_of("acme"), ["D-9", "D1234567"]);
    assert!(numbers_of("other-cy").is_empty());

    let revoked = s.revoke_licence("D1234567").unwrap();
    assert_eq!(revoked.status, LicenceStatus::Revoked);
    assert_eq!(revoked.revoked_at, Some(T0.parse().unwrap()));
    assert_eq!(held(s, "acme-ana"), ["D-9"]);
    assert_eq!(
        journaled_after(s, seen),
        vec![
            (
                "licence.approved".into(),
                "D-9".into(),
                json!({"holder": "acme", "from": "pending", "to": "active"})
            ),
            (
                "licence.revoked".into(),
                "D1234567".into(),
                json!({"holder": "acme", "from": "active", "to": "revoked"})
            ),
        ]
    );

    // Changes a status does not allow change nothing.
    let v = s.version().unwrap();
    let seen = journal(s).len();
    for (e, status, action) in [
        (s.approve_licence("D-9").unwrap_err(), "active", "approved"),
        (
            s.revoke_licence("D1234567").unwrap_err(),
            "revoked",
            "revoked",
        ),
        (
            s.approve_licence("D1234567").unwrap_err(),
            "revoked",
            "approved",
        ),
    ] {
        match e {
            StoreError::LicenceStatus {
                status: st,
                action: ac,
                ..
            } => assert_eq!((st, ac), (status, action)),
            other => panic!("{other}"),
        }
    }
    assert!(matches!(
        s.revoke_licence("D0"),
        Err(StoreError::LicenceNotFound { .. })
    ));
    assert_eq!(s.licence("D0").unwrap(), None);
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(journal(s).len(), seen);
}

fn a_licence_that_does_not_check_against_the_store_is_refused_whole(s: &dyn Backend) {
    acme(s);
    s.record_licence(&licence(|_| {}), LicenceSource::OrgSubmission)
        .unwrap();
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let e = s
        .record_licence(&licence(|_| {}), LicenceSource::Staff)
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::LicenceExists {
                status: "pending",
                ..
            }
        ),
        "{e}"
    );
    let refused: Vec<(Licence, &str, &str)> = vec![
        (
            licence(|l| {
                l["number"] = json!("D2");
                l["expires"] = json!("2026-12-01T12:00:00Z");
            }),
            "expires",
            "is in the past",
        ),
        (
            licence(|l| {
                l["number"] = json!("D2");
                l["holder"] = json!("nobody");
            }),
            "holder",
            "no account `nobody`",
        ),
        (
            licence(|l| {
                l["number"] = json!("D2");
                l["holder"] = json!("solo");
                l["individuals"] = json!([]);
            }),
            "holder",
            "is not an organisation",
        ),
        (
            licence(|l| {
                l["number"] = json!("D2");
                l["individuals"] = json!(["acme-ana", "other-cy"]);
            }),
            "individuals[1]",
            "is not a member of `acme`",
        ),
        (
            licence(|l| {
                l["number"] = json!("D2");
                l["individuals"] = json!(["ghost"]);
            }),
            "individuals[0]",
            "no account `ghost`",
        ),
    ];
    for (l, field, message) in refused {
        match s.record_licence(&l, LicenceSource::Staff).unwrap_err() {
            StoreError::InvalidLicence {
                field: f,
                message: m,
                ..
            } => {
                assert_eq!(f, field);
                assert!(m.contains(message), "{field}: {m}");
            }
            other => panic!("{field}: {other}"),
        }
    }
    assert_eq!(s.licence("D2").unwrap(), None);
    assert_eq!(s.licences().unwrap().len(), 1);
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(journal(s).len(), seen);
}

const HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn completed(account: &str, attribute: Attribute, value: Value, level: VerificationLevel) -> Event {
    Event {
        account: account.into(),
        kind: EventKind::Completed,
        facts: vec![Fact::new(attribute, value, level)],
        object_id: Some("sess_1".into()),
        event_time: Some("2026-12-01T11:00:00Z".parse().unwrap()),
    }
}

fn revoked(account: &str, object: Option<&str>, at: &str) -> Event {
    Event {
        account: account.into(),
        kind: EventKind::Revoked,
        facts: Vec::new(),
        object_id: object.map(str::to_owned),
        event_time: Some(at.parse().unwrap()),
    }
}

fn deliver<'a>(event: &'a Event, id: &'a str) -> Delivered<'a> {
    Delivered {
        source: "kyc",
        kind: SourceKind::KycVendor,
        delivery_id: Some(id),
        payload_sha256: HASH,
        event,
    }
}

fn subject_of(s: &dyn Backend, id: &str) -> Value {
    s.account(id).unwrap().unwrap().subject
}

fn accepted(rows: usize, changed: bool) -> impl Fn(&Intake) -> bool {
    move |i| matches!(i, Intake::Accepted { rows: r, changed: c, .. } if *r == rows && *c == changed)
}

fn a_verification_event_derives_the_subject_once_and_a_replay_changes_nothing(s: &dyn Backend) {
    s.add_account("a", json!({"verification": "none", "name": "Ann"}))
        .unwrap();
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let e = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::DocumentVerified,
    );
    let out = s.record_event(deliver(&e, "d1")).unwrap();
    assert!(accepted(1, true)(&out), "{out:?}");
    assert!(s.version().unwrap() > v);
    let sub = subject_of(s, "a");
    assert_eq!(sub["citizenships"][0]["country"], "US");
    assert_eq!(sub["citizenships"][0]["verification"], "document_verified");
    assert_eq!(sub["citizenships"][0]["source"], "kyc");
    assert_eq!(sub["name"], "Ann");
    // The principal sees the derived subject.
    assert_eq!(
        s.subject("a")
            .unwrap()
            .unwrap()
            .citizenships
            .map(|c| c.len()),
        Some(1),
        "{sub}"
    );
    let rows = s.evidence("a").unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.value, json!(["US"]));
    assert_eq!(r.account, "a");
    assert_eq!(r.source, "kyc");
    assert_eq!(r.object_id.as_deref(), Some("sess_1"));
    assert_eq!(r.delivery_id.as_deref(), Some("d1"));
    assert_eq!(r.verified_at, Some("2026-12-01T11:00:00Z".parse().unwrap()));
    assert_eq!(r.received_at, T0.parse().unwrap());
    assert_eq!(r.withdrawn_at, None);
    assert_eq!(
        journaled_after(s, seen),
        vec![(
            "verification.accepted".into(),
            "a".into(),
            json!({"source": "kyc", "source_kind": "kyc_vendor", "event": "completed", "outcome": "accepted",
                   "facts": [{"attribute": "citizenships", "level": "document_verified"}],
                   "payload_sha256": HASH, "delivery_id": "d1", "object_id": "sess_1"})
        )]
    );

    // A replay, even with another body, changes nothing and is not journaled.
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let other = completed(
        "a",
        Attribute::Citizenships,
        json!(["FR"]),
        VerificationLevel::Attested,
    );
    assert_eq!(
        s.record_event(deliver(&other, "d1")).unwrap(),
        Intake::Replay {
            first: "accepted".into()
        }
    );
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(journal(s).len(), seen);
    assert_eq!(s.evidence("a").unwrap().len(), 1);

    // An event for no account is kept as an orphan and taken again once
    // the account exists; a pending event changes nothing.
    let ghost = completed(
        "ghost",
        Attribute::UsPerson,
        json!(false),
        VerificationLevel::DocumentVerified,
    );
    assert_eq!(
        s.record_event(deliver(&ghost, "d2")).unwrap(),
        Intake::Orphan
    );
    let pending = Event {
        kind: EventKind::Pending,
        facts: Vec::new(),
        ..e.clone()
    };
    assert_eq!(
        s.record_event(deliver(&pending, "d3")).unwrap(),
        Intake::Pending
    );
    assert_eq!(
        s.version().unwrap(),
        v,
        "orphans and pending events change no account"
    );
    let outcomes: Vec<String> = journaled_after(s, seen)
        .into_iter()
        .map(|(action, subject, _)| format!("{action} {subject}"))
        .collect();
    assert_eq!(
        outcomes,
        ["verification.orphan ghost", "verification.pending a"]
    );
    s.add_account("ghost", json!({})).unwrap();
    assert!(accepted(1, true)(
        &s.record_event(deliver(&ghost, "d2")).unwrap()
    ));
    assert_eq!(subject_of(s, "ghost")["us_person"]["value"], json!(false));

    // A batch: each event its own outcome, a repeat within it a replay,
    // one change for the whole batch.
    let v = s.version().unwrap();
    let ea = completed(
        "a",
        Attribute::ResidenceCountry,
        json!("US"),
        VerificationLevel::DocumentVerified,
    );
    let eb = completed(
        "ghost",
        Attribute::ResidenceCountry,
        json!("DE"),
        VerificationLevel::DocumentVerified,
    );
    let out = s
        .record_events(&[deliver(&ea, "d4"), deliver(&eb, "d5"), deliver(&eb, "d4")])
        .unwrap();
    assert!(accepted(1, true)(&out[0]), "{out:?}");
    assert!(accepted(1, true)(&out[1]), "{out:?}");
    assert_eq!(
        out[2],
        Intake::Replay {
            first: "accepted".into()
        }
    );
    assert_eq!(s.version().unwrap(), v + 1, "one change for the batch");

    // A refused delivery is journaled and changes nothing.
    let seen = journal(s).len();
    s.record_rejection("kyc", Some("d9"), HASH, "level above the source's maximum")
        .unwrap();
    assert_eq!(s.version().unwrap(), v + 1);
    assert_eq!(
        journaled_after(s, seen),
        vec![(
            "verification.rejected".into(),
            "kyc".into(),
            json!({"source": "kyc", "reason": "level above the source's maximum", "payload_sha256": HASH, "delivery_id": "d9"})
        )]
    );
    assert!(matches!(
        s.evidence("nobody"),
        Err(StoreError::AccountNotFound { .. })
    ));
}

fn a_revocation_withdraws_what_its_source_said_up_to_its_time(s: &dyn Backend) {
    s.add_account("a", json!({"verification": "none", "name": "Ann"}))
        .unwrap();
    let e = completed(
        "a",
        Attribute::Citizenships,
        json!(["CN"]),
        VerificationLevel::DocumentVerified,
    );
    s.record_event(deliver(&e, "d1")).unwrap();
    // Older than the verification: withdraws nothing.
    let early = revoked("a", None, "2026-12-01T10:00:00Z");
    assert!(accepted(0, false)(
        &s.record_event(deliver(&early, "d2")).unwrap()
    ));
    // Another session abandoned: the first session's finding stays.
    let abandoned = revoked("a", Some("sess_2"), "2026-12-01T11:30:00Z");
    assert!(accepted(0, false)(
        &s.record_event(deliver(&abandoned, "d3")).unwrap()
    ));
    assert_eq!(subject_of(s, "a")["citizenships"][0]["country"], "CN");
    // The session that found it, revoked: withdrawn, back to unknown.
    let withdrawn = revoked("a", Some("sess_1"), "2026-12-01T11:40:00Z");
    assert!(accepted(1, true)(
        &s.record_event(deliver(&withdrawn, "d4")).unwrap()
    ));
    assert!(
        subject_of(s, "a").get("citizenships").is_none(),
        "{}",
        subject_of(s, "a")
    );
    assert_eq!(
        s.evidence("a").unwrap()[0].withdrawn_at,
        Some(T0.parse().unwrap())
    );

    // A fact from before a revocation already received arrives late: kept,
    // withdrawn from the start. One from after it counts.
    let mut retried = completed(
        "a",
        Attribute::UsPerson,
        json!(true),
        VerificationLevel::DocumentVerified,
    );
    retried.event_time = Some("2026-12-01T11:35:00Z".parse().unwrap());
    s.record_event(deliver(&retried, "d5")).unwrap();
    assert!(
        subject_of(s, "a").get("us_person").is_none(),
        "{}",
        subject_of(s, "a")
    );
    let rows = s.evidence("a").unwrap();
    assert_eq!(rows.len(), 2, "kept as evidence");
    assert_eq!(rows[1].withdrawn_at, Some(T0.parse().unwrap()));
    // A second revocation of the same session, older: the later one is kept.
    let older = revoked("a", Some("sess_1"), "2026-12-01T11:20:00Z");
    s.record_event(deliver(&older, "d6")).unwrap();
    let mut between = retried.clone();
    between.event_time = Some("2026-12-01T11:30:00Z".parse().unwrap());
    s.record_event(deliver(&between, "d7")).unwrap();
    assert!(
        subject_of(s, "a").get("us_person").is_none(),
        "still withdrawn through 11:40"
    );
    let mut later = retried.clone();
    later.object_id = Some("sess_3".into());
    s.record_event(deliver(&later, "d8")).unwrap();
    assert_eq!(subject_of(s, "a")["us_person"]["value"], json!(true));
}

fn the_later_of_two_revocations_holds_whatever_the_precision_of_their_times(s: &dyn Backend) {
    s.add_account("a", json!({"verification": "none", "name": "Ann"}))
        .unwrap();
    // The later revocation arrives first. As text, `12:00:00Z` sorts after
    // `12:00:00.5Z`: a comparison of the text would keep the earlier one.
    let later = revoked("a", Some("sess_1"), "2026-12-01T12:00:00.5Z");
    s.record_event(deliver(&later, "r1")).unwrap();
    let earlier = revoked("a", Some("sess_1"), "2026-12-01T12:00:00Z");
    s.record_event(deliver(&earlier, "r2")).unwrap();
    // A fact of the session dated between the two arrives late: withdrawn.
    let mut between = completed(
        "a",
        Attribute::UsPerson,
        json!(true),
        VerificationLevel::DocumentVerified,
    );
    between.event_time = Some("2026-12-01T12:00:00.2Z".parse().unwrap());
    s.record_event(deliver(&between, "f1")).unwrap();
    assert_eq!(
        s.evidence("a").unwrap()[0].withdrawn_at,
        Some(T0.parse().unwrap()),
        "revoked through 12:00:00.5"
    );
    assert!(subject_of(s, "a").get("us_person").is_none());
    // The same the other way round on a whole-source revocation: a later
    // one with fewer digits replaces an earlier one with more.
    let fine = revoked("a", None, "2026-12-01T13:00:00.999Z");
    s.record_event(deliver(&fine, "r3")).unwrap();
    let whole = revoked("a", None, "2026-12-01T13:00:01Z");
    s.record_event(deliver(&whole, "r4")).unwrap();
    let mut edge = between.clone();
    edge.object_id = Some("sess_9".into());
    edge.event_time = Some("2026-12-01T13:00:00.9995Z".parse().unwrap());
    s.record_event(deliver(&edge, "f2")).unwrap();
    assert_eq!(
        s.evidence("a").unwrap()[1].withdrawn_at,
        Some(T0.parse().unwrap()),
        "revoked through 13:00:01"
    );
    // After both: counts.
    let mut after = edge.clone();
    after.event_time = Some("2026-12-01T13:00:01.5Z".parse().unwrap());
    s.record_event(deliver(&after, "f3")).unwrap();
    assert_eq!(subject_of(s, "a")["us_person"]["value"], json!(true));
}

fn attributes_change_the_record_and_the_subject_derived_from_it(s: &dyn Backend) {
    s.add_account("a", german()).unwrap();
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let rec = s
        .set_attributes(
            "a",
            json!({"citizenships": ["FR"], "residence_country": null, "name": "Ann"}),
        )
        .unwrap();
    assert_eq!(rec.subject["citizenships"], json!(["FR"]));
    assert!(
        rec.subject.get("residence_country").is_none(),
        "{}",
        rec.subject
    );
    assert_eq!(s.account("a").unwrap(), Some(rec));
    assert!(
        s.version().unwrap() > v,
        "nodes must read the account again"
    );
    assert_eq!(
        journaled_after(s, seen),
        vec![(
            "account.updated".into(),
            "a".into(),
            json!({"patch": {"citizenships": ["FR"], "residence_country": null, "name": "Ann"}})
        )]
    );

    // Refused patches change nothing, and say why.
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let before = s.account("a").unwrap();
    let e = s
        .set_attributes("a", json!({"citizenships": ["FR", "XZ"]}))
        .unwrap_err();
    assert!(e.to_string().contains("citizenships[1]"), "{e}");
    assert!(matches!(
        s.set_attributes("a", json!({"id": "b"})),
        Err(StoreError::InvalidPatch { .. })
    ));
    assert!(matches!(
        s.set_attributes("a", json!(["FR"])),
        Err(StoreError::InvalidPatch { .. })
    ));
    assert!(matches!(
        s.set_attributes("nobody", json!({"name": "N"})),
        Err(StoreError::AccountNotFound { .. })
    ));
    assert_eq!(s.account("a").unwrap(), before);
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(journal(s).len(), seen);

    // Once evidence arrived, a patch changes the record only: the evidence
    // still decides what it covers, and the subject is derived again.
    s.add_account("b", json!({"verification": "none", "name": "Bo"}))
        .unwrap();
    let e = completed(
        "b",
        Attribute::Citizenships,
        json!(["CN"]),
        VerificationLevel::DocumentVerified,
    );
    s.record_event(deliver(&e, "d1")).unwrap();
    let rec = s
        .set_attributes("b", json!({"citizenships": ["US"], "name": "Bob"}))
        .unwrap();
    assert_eq!(
        rec.subject["citizenships"][0]["country"], "CN",
        "{}",
        rec.subject
    );
    assert!(
        !rec.subject.to_string().contains("\"US\""),
        "{}",
        rec.subject
    );
    assert!(rec.subject.to_string().contains("Bob"), "{}", rec.subject);
}

fn a_disabled_account_s_keys_stop_authenticating_until_it_is_enabled(s: &dyn Backend) {
    s.add_account("a", german()).unwrap();
    let k = s.create_key("a", None).unwrap();
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let rec = s.disable("a").unwrap();
    assert!(rec.disabled);
    assert_eq!(s.authenticate(&k.key).unwrap(), None);
    let v1 = s.version().unwrap();
    assert!(v1 > v, "nodes must drop the cached principal");
    let rec = s.enable("a").unwrap();
    assert!(!rec.disabled);
    assert!(s.authenticate(&k.key).unwrap().is_some());
    assert!(s.version().unwrap() > v1);
    let actions: Vec<(String, String, Value)> = journaled_after(s, seen);
    assert_eq!(
        actions,
        vec![
            ("account.disabled".into(), "a".into(), json!({})),
            ("account.enabled".into(), "a".into(), json!({})),
        ]
    );
    let v = s.version().unwrap();
    assert!(matches!(
        s.disable("nobody"),
        Err(StoreError::AccountNotFound { .. })
    ));
    assert!(matches!(
        s.enable("nobody"),
        Err(StoreError::AccountNotFound { .. })
    ));
    assert_eq!(s.version().unwrap(), v);
}

fn accounts_are_listed_by_id_bytewise(s: &dyn Backend) {
    assert!(s.list().unwrap().is_empty());
    // A linguistic collation would sort these by letters and digits alone.
    for id in ["b", "a_1", "a.1", "a-2", "a1", "a-1"] {
        s.add_account(id, json!({})).unwrap();
    }
    s.disable("a1").unwrap();
    let all = s.list().unwrap();
    let ids: Vec<&str> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a-1", "a-2", "a.1", "a1", "a_1", "b"]);
    assert!(all[3].disabled && !all[0].disabled);
    assert_eq!(all[5], s.account("b").unwrap().unwrap());
}

fn accounts_are_found_by_text_in_their_id_or_record_a_page_at_a_time(s: &dyn Backend) {
    s.add_account("alpha", json!({"name": "Ann SMITH"}))
        .unwrap();
    s.add_account("beta", json!({"name": "Bob 50% Ltd"}))
        .unwrap();
    s.add_account("gamma", json!({})).unwrap();
    let ids = |found: Vec<AccountRecord>| found.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(s.count().unwrap(), 3);
    assert_eq!(ids(s.find("smith", 10).unwrap()), ["alpha"]);
    assert_eq!(ids(s.find("", 2).unwrap()), ["alpha", "beta"]);
    assert_eq!(ids(s.find("gam", 10).unwrap()), ["gamma"]);
    // Wildcards in the text are literal.
    assert_eq!(ids(s.find("50%", 10).unwrap()), ["beta"]);
    assert!(s.find("5_", 10).unwrap().is_empty());
    assert!(s.find("%%", 10).unwrap().is_empty());
}

fn a_search_finds_an_account_by_its_new_text_and_not_its_old_after_each_kind_of_write(
    s: &dyn Backend,
) {
    let ids = |text: &str| -> Vec<String> {
        s.find(text, 10)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    s.add_account("north", json!({"name": "Ada Quill"}))
        .unwrap();
    s.add_account("south", json!({"name": "Ben Rowe"})).unwrap();
    assert_eq!(ids("QUILL"), ["north"]);
    // A quote is text like any other (the record's JSON quotes its
    // strings), not a query operator.
    assert_eq!(ids("\"ada"), ["north"]);
    assert_eq!(ids("rth"), ["north"]);
    s.set_attributes("north", json!({"name": "Ada Lovelace"}))
        .unwrap();
    assert!(ids("quill").is_empty());
    assert_eq!(ids("lovelace"), ["north"]);
    // Text too short for a trigram reads the same records.
    assert_eq!(ids("la"), ["north"]);
    // An import that replaces a record replaces what is found by it.
    let report = s
        .import(
            "{\"id\": \"south\", \"name\": \"Cleo Marsh\"}\n{\"id\": \"west\", \"name\": \"Dee Quill\"}\n",
            ImportFormat::Jsonl,
            ImportOptions {
                batch: 1,
                upsert: true,
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(
        (report.imported, report.updated),
        (1, 1),
        "{:?}",
        report.errors
    );
    assert!(ids("rowe").is_empty());
    assert_eq!(ids("marsh"), ["south"]);
    assert_eq!(ids("quill"), ["west"]);
    // Text in every record: the first page by id, whichever way it is read.
    let page: Vec<String> = s
        .find("name", 2)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(page, ["north", "south"]);
    // Disabling changes no text: the account is still found once.
    s.disable("west").unwrap();
    assert_eq!(ids("dee quill"), ["west"]);
}

fn an_import_keeps_good_rows_reports_bad_ones_and_upserts_on_request(s: &dyn Backend) {
    s.add_account("old", json!({"name": "Old"})).unwrap();
    let k = s.create_key("old", None).unwrap();
    s.disable("old").unwrap();
    let v = s.version().unwrap();
    let seen = journal(s).len();
    let csv = "id,citizenships,residence_country\n\
               a1,DE,DE\n\
               a2,XZ,\n\
               a3,FR;IT,FR\n\
               a1,US,US\n\
               old,GB,GB\n\
               Bad Id,DE,\n\
               a4,,\n";
    let mut progress = Vec::new();
    let report = s
        .import(
            csv,
            ImportFormat::Csv,
            ImportOptions {
                batch: 2,
                upsert: false,
            },
            &mut |lines| progress.push(lines),
        )
        .unwrap();
    assert_eq!((report.imported, report.updated, report.lines), (3, 0, 8));
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 5, 6, 7], "{:?}", report.errors);
    assert!(
        report.errors[0].message.contains("citizenships"),
        "{:?}",
        report.errors
    );
    assert!(
        report.errors[1].message.contains("more than once"),
        "{:?}",
        report.errors
    );
    assert!(
        report.errors[2].message.contains("already exists"),
        "{:?}",
        report.errors
    );
    assert_eq!(progress.last(), Some(&8));
    assert_eq!(
        s.account("a3").unwrap().unwrap().subject["citizenships"],
        json!(["FR", "IT"])
    );
    assert_eq!(s.account("a2").unwrap(), None);
    assert_eq!(
        s.account("old").unwrap().unwrap().subject,
        json!({"name": "Old"})
    );
    // Two batches stored something: the counter moved, each row journaled
    // with its line.
    assert!(s.version().unwrap() > v);
    let new = journaled_after(s, seen);
    assert_eq!(new.len(), 3, "{new:?}");
    assert_eq!(new[0].0, "account.created");
    assert_eq!(new[1].2["import_line"], json!(4));
    assert_eq!(new[2].1, "a4");

    // With upsert, an existing account's subject is replaced; it keeps its
    // keys and stays disabled.
    let seen = journal(s).len();
    let jsonl = "{\"id\": \"old\", \"citizenships\": [\"GB\"]}\n{\"id\": \"a5\"}\n";
    let report = s
        .import(
            jsonl,
            ImportFormat::Jsonl,
            ImportOptions {
                batch: 10,
                upsert: true,
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!((report.imported, report.updated), (1, 1));
    assert!(report.errors.is_empty());
    let old = s.account("old").unwrap().unwrap();
    assert_eq!(old.subject, json!({"citizenships": ["GB"]}));
    assert!(old.disabled);
    assert_eq!(s.list_keys("old").unwrap()[0].prefix, k.prefix);
    let new = journaled_after(s, seen);
    assert_eq!(
        new.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["account.replaced", "account.created"]
    );

    // A file whose header does not read is refused whole, before any row.
    let v = s.version().unwrap();
    assert!(matches!(
        s.import(
            "id,colour\nz,red\n",
            ImportFormat::Csv,
            ImportOptions::default(),
            &mut |_| {}
        ),
        Err(StoreError::CsvHeader(_))
    ));
    assert_eq!(s.account("z").unwrap(), None);
    assert_eq!(s.version().unwrap(), v);
}

/// A clock tests move by hand, in whole seconds.
type HandClock = Arc<AtomicI64>;

fn hand_clock(at: &str) -> HandClock {
    Arc::new(AtomicI64::new(at.parse::<Timestamp>().unwrap().as_second()))
}

fn reading(clock: &HandClock) -> impl Fn() -> Timestamp + Send + Sync + 'static {
    let clock = Arc::clone(clock);
    move || Timestamp::from_second(clock.load(Ordering::SeqCst)).unwrap()
}

fn set(clock: &HandClock, at: &str) {
    clock.store(
        at.parse::<Timestamp>().unwrap().as_second(),
        Ordering::SeqCst,
    );
}

fn a_value_hidden_by_an_expiring_one_counts_again_once_derived_anew(
    s: &dyn Backend,
    clock: &HandClock,
) {
    s.add_account("a", json!({"name": "Ann"})).unwrap();
    s.add_account("b", json!({"name": "Bo"})).unwrap();
    let declared = completed(
        "a",
        Attribute::Citizenships,
        json!(["FR"]),
        VerificationLevel::SelfDeclared,
    );
    s.record_event(deliver(&declared, "d-1")).unwrap();
    let mut attested = completed(
        "a",
        Attribute::Citizenships,
        json!(["US"]),
        VerificationLevel::Attested,
    );
    attested.facts[0].expires_at = Some("2026-12-08T00:00:00Z".parse().unwrap());
    s.record_event(deliver(&attested, "d-2")).unwrap();
    let citizenship = |s: &dyn Backend| subject_of(s, "a")["citizenships"].to_string();
    assert!(citizenship(s).contains("US"), "{}", citizenship(s));
    // Nothing is due before the expiry, nor at its second.
    assert_eq!(s.rederive_due(100).unwrap(), Rederived::default());
    set(clock, "2026-12-08T00:00:00Z");
    assert_eq!(s.rederive_due(100).unwrap(), Rederived::default());

    let v = s.version().unwrap();
    let seen = journal(s).len();
    set(clock, "2026-12-08T00:00:01Z");
    let done = s.rederive_due(100).unwrap();
    assert_eq!((done.examined, done.changed), (1, vec!["a".to_owned()]));
    assert!(citizenship(s).contains("FR"), "{}", citizenship(s));
    assert!(!citizenship(s).contains("US"), "{}", citizenship(s));
    assert!(
        s.version().unwrap() > v,
        "cached principals must be read again"
    );
    assert_eq!(
        journaled_after(s, seen),
        vec![(
            "account.rederived".into(),
            "a".into(),
            json!({"reason": "evidence expired"})
        )]
    );
    // Done once: not due again, and nothing moves.
    let v = s.version().unwrap();
    assert_eq!(s.rederive_due(100).unwrap(), Rederived::default());
    assert_eq!(s.version().unwrap(), v);

    // Several due: the limit holds, the longest due first.
    for (id, expires, delivery) in [
        ("b", "2026-12-09T00:00:00Z", "d-3"),
        ("a", "2026-12-10T00:00:00Z", "d-4"),
    ] {
        let mut e = completed(
            id,
            Attribute::UsPerson,
            json!(true),
            VerificationLevel::Attested,
        );
        e.facts[0].expires_at = Some(expires.parse().unwrap());
        s.record_event(deliver(&e, delivery)).unwrap();
    }
    set(clock, "2026-12-11T00:00:00Z");
    let first = s.rederive_due(1).unwrap();
    assert_eq!((first.examined, first.changed), (1, vec!["b".to_owned()]));
    let second = s.rederive_due(10).unwrap();
    assert_eq!((second.examined, second.changed), (1, vec!["a".to_owned()]));
    assert!(subject_of(s, "a").get("us_person").is_none());
}

mod expiry {
    use super::*;

    #[test]
    fn sqlite_a_value_hidden_by_an_expiring_one_counts_again_once_derived_anew() {
        let clock = hand_clock("2026-12-07T12:00:00Z");
        let s = SqliteStore::open_in_memory()
            .unwrap()
            .with_clock(reading(&clock));
        a_value_hidden_by_an_expiring_one_counts_again_once_derived_anew(&s, &clock);
    }

    #[test]
    fn postgres_a_value_hidden_by_an_expiring_one_counts_again_once_derived_anew() {
        let Some(url) = fresh_database("expiry") else {
            return;
        };
        PostgresStore::migrate(&url).unwrap();
        let clock = hand_clock("2026-12-07T12:00:00Z");
        let s = PostgresStore::connect(&url)
            .unwrap()
            .with_clock(reading(&clock))
            .with_node("conformance");
        a_value_hidden_by_an_expiring_one_counts_again_once_derived_anew(&s, &clock);
    }
}

fn list_entry(list: RestrictedList, uid: &str, kind: EntryKind, names: &[&str]) -> ListEntry {
    ListEntry {
        list,
        uid: uid.to_owned(),
        kind,
        names: names
            .iter()
            .enumerate()
            .map(|(i, n)| EntryName {
                text: (*n).to_owned(),
                kind: if i == 0 {
                    NameKind::Primary
                } else {
                    NameKind::Aka
                },
            })
            .collect(),
        programs: vec!["RUSSIA-EO14024".to_owned()],
        addresses: Vec::new(),
        countries: Vec::new(),
        birth_years: Vec::new(),
        remarks: None,
    }
}

/// A snapshot of `entries`, kept in the order given (not sorted), so that a
/// store that loses the order is caught.
fn lists(entries: Vec<ListEntry>) -> Snapshot {
    let mut counts = std::collections::BTreeMap::new();
    for e in &entries {
        *counts.entry(e.list).or_insert(0) += 1;
    }
    let content_hash = entries.iter().map(ListEntry::version_hex).collect();
    Snapshot {
        entries,
        sources: vec![],
        problems: Vec::new(),
        content_hash,
        counts,
    }
}

fn lists_v1() -> Vec<ListEntry> {
    vec![
        list_entry(
            RestrictedList::Sdn,
            "300",
            EntryKind::Entity,
            &["ORLAN HOLDINGS"],
        ),
        list_entry(
            RestrictedList::Sdn,
            "100",
            EntryKind::Individual,
            &["IVAN PETROV"],
        ),
        list_entry(
            RestrictedList::El,
            "e-1",
            EntryKind::Entity,
            &["NORTH STAR MICRO"],
        ),
        list_entry(
            RestrictedList::Sdn,
            "200",
            EntryKind::Entity,
            &["BANK ROSSIYA"],
        ),
        list_entry(
            RestrictedList::Dpl,
            "d-1",
            EntryKind::Individual,
            &["JOHN ROE"],
        ),
    ]
}

/// Saves `entries` as the active snapshot at `at` and screens everyone
/// against it, as `cordon lists import` does.
fn import_lists(s: &dyn Backend, entries: Vec<ListEntry>, at: &str) -> SnapshotId {
    let saved = s
        .save_snapshot(&lists(entries), None, at.parse().unwrap())
        .unwrap();
    let screener = Screener::new(s.snapshot_entries(saved.id).unwrap());
    rescreen(s, &MatcherScreener::new(&screener), at.parse().unwrap()).unwrap();
    saved.id
}

/// The `screening` attribute of a stored subject, as (list, status, entry).
fn screening_of(
    s: &dyn Backend,
    id: &str,
) -> Option<Vec<(RestrictedList, ScreeningStatus, String)>> {
    s.subject(id).unwrap().unwrap().screening.map(|hits| {
        hits.into_iter()
            .map(|h| (h.list, h.status, h.entry.unwrap_or_default()))
            .collect()
    })
}

fn list_snapshots_are_stored_activated_journaled_and_rolled_back(s: &dyn Backend) {
    assert_eq!(s.active_snapshot().unwrap(), None);
    let v0 = s.version().unwrap();
    let v1 = lists(lists_v1());
    let published = "2026-11-30".parse().unwrap();
    let first = s
        .save_snapshot(&v1, Some(published), T0.parse().unwrap())
        .unwrap();
    assert!(!first.unchanged);
    let active = s.active_snapshot().unwrap().unwrap();
    assert_eq!(
        (active.id, active.active, active.published),
        (first.id, true, Some(published))
    );
    assert_eq!(active.hash, v1.content_hash);
    assert_eq!(active.imported_at, T0.parse().unwrap());
    assert_eq!(active.counts.get(&RestrictedList::Sdn), Some(&3));
    // Entries read back whole and in the order they were saved.
    assert_eq!(s.snapshot_entries(first.id).unwrap(), v1.entries);
    assert!(s.version().unwrap() > v0, "nodes must load the new lists");
    assert_eq!(
        journal(s),
        vec![(
            "screening.lists_activated".into(),
            first.id.to_string(),
            json!({"hash": v1.content_hash, "counts": {"SDN": 3, "EL": 1, "DPL": 1}})
        )]
    );

    // The same content again stores, journals and announces nothing.
    let v = s.version().unwrap();
    let again = s.save_snapshot(&v1, None, T0.parse().unwrap()).unwrap();
    assert!(again.unchanged);
    assert_eq!(again.id, first.id);
    assert_eq!(s.version().unwrap(), v);
    assert_eq!(journal(s).len(), 1);

    // Two entries with one id are refused whole.
    let mut twice = lists_v1();
    twice.push(list_entry(
        RestrictedList::Sdn,
        "100",
        EntryKind::Entity,
        &["X"],
    ));
    assert!(matches!(
        s.save_snapshot(&lists(twice), None, T0.parse().unwrap()),
        Err(StoreError::DuplicateListEntry { .. })
    ));
    assert_eq!(s.snapshots().unwrap().len(), 1);

    let mut fewer = lists_v1();
    fewer.pop();
    let second = s
        .save_snapshot(&lists(fewer), None, T0.parse().unwrap())
        .unwrap();
    assert_eq!(
        s.snapshots()
            .unwrap()
            .iter()
            .map(|h| (h.id, h.active))
            .collect::<Vec<_>>(),
        vec![(second.id, true), (first.id, false)]
    );
    // Rolling back is journaled and announced; pruning keeps the active one.
    let v = s.version().unwrap();
    s.activate_snapshot(first.id).unwrap();
    assert!(s.version().unwrap() > v);
    assert_eq!(s.active_snapshot().unwrap().unwrap().id, first.id);
    assert_eq!(
        journaled_after(s, 2),
        vec![(
            "screening.lists_activated".into(),
            first.id.to_string(),
            json!({})
        )]
    );
    assert_eq!(s.prune_snapshots(0).unwrap(), 1);
    assert_eq!(s.snapshots().unwrap().len(), 1);
    assert!(matches!(
        s.snapshot_entries(second.id),
        Err(StoreError::SnapshotNotFound { .. })
    ));
    assert!(matches!(
        s.activate_snapshot(SnapshotId(9999)),
        Err(StoreError::SnapshotNotFound { .. })
    ));
}

fn a_new_name_or_an_imported_account_is_screened_against_the_active_lists(s: &dyn Backend) {
    s.save_snapshot(&lists(lists_v1()), None, T0.parse().unwrap())
        .unwrap();
    s.add_account("renamed", json!({"name": "Plain Person"}))
        .unwrap();
    assert_eq!(screening_of(s, "renamed"), Some(Vec::new()));
    // A patch that does not touch a name screens nothing again.
    s.set_attributes("renamed", json!({"residence_country": "DE"}))
        .unwrap();
    assert!(s.hits("renamed").unwrap().is_empty());
    s.set_attributes("renamed", json!({"name": "Ivan Petrov"}))
        .unwrap();
    assert_eq!(
        screening_of(s, "renamed"),
        Some(vec![(
            RestrictedList::Sdn,
            ScreeningStatus::Pending,
            "100".into()
        )])
    );
    let report = s
        .import(
            "{\"id\": \"imported-ivan\", \"name\": \"Ivan Petrov\"}\n{\"id\": \"imported-plain\", \"name\": \"Plain Person\"}\n",
            ImportFormat::Jsonl,
            ImportOptions {
                batch: 10,
                upsert: false,
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(report.imported, 2, "{:?}", report.errors);
    assert_eq!(s.hits("imported-ivan").unwrap().len(), 1);
    assert_eq!(screening_of(s, "imported-plain"), Some(Vec::new()));
}

fn an_account_added_while_lists_are_active_is_screened_in_the_same_transaction(s: &dyn Backend) {
    // Before any list: added, never screened (unknown, not clean).
    s.add_account("early", json!({"name": "Ivan Petrov"}))
        .unwrap();
    assert_eq!(screening_of(s, "early"), None);
    let snapshot = s
        .save_snapshot(&lists(lists_v1()), None, T0.parse().unwrap())
        .unwrap()
        .id;
    let seen = journal(s).len();
    let v = s.version().unwrap();

    s.add_account(
        "us-co",
        json!({"kind": "organization", "name": "Plain Widgets Inc", "organization": {"name": "Plain Widgets Inc", "country": "US"}}),
    )
    .unwrap();
    let subject = s.subject("us-co").unwrap().unwrap();
    assert_eq!(subject.screening, Some(Vec::new()), "screened, and clean");
    assert_eq!(
        subject.screened.map(|r| (r.snapshot, r.at)),
        Some((snapshot.0, T0.parse().unwrap()))
    );
    assert!(s.version().unwrap() > v);
    let after = journaled_after(s, seen);
    assert_eq!(
        after
            .iter()
            .map(|(a, sub, _)| (a.as_str(), sub.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("account.created", "us-co"),
            ("account.screening_updated", "us-co")
        ]
    );
    assert_eq!(after[1].2, json!({"screening": []}));

    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    assert_eq!(
        screening_of(s, "ivan"),
        Some(vec![(
            RestrictedList::Sdn,
            ScreeningStatus::Pending,
            "100".into()
        )])
    );
    let hits = s.hits("ivan").unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].uid.as_str(), hits[0].score), ("100", 1.0));
    assert_eq!(hits[0].first_seen, T0.parse().unwrap());
    // Adding an account screens only it: the early one stays unscreened
    // until the lists are imported again.
    assert_eq!(screening_of(s, "early"), None);
    assert_eq!(
        s.pending_hits()
            .unwrap()
            .iter()
            .map(|h| h.account.as_str())
            .collect::<Vec<_>>(),
        vec!["ivan"]
    );

    // An organisation 60 % owned by the listed person is listed by the 50
    // percent rule as soon as it is added.
    s.add_account(
        "holdings",
        json!({"kind": "organization", "organization": {"name": "Acme Holdings", "owners": [
            {"name": "Someone Else", "percent": 40, "kind": "individual"},
            {"name": "Ivan Petrov", "percent": 60, "kind": "individual", "account": "ivan"}]}}),
    )
    .unwrap();
    let derived = s.hits("holdings").unwrap();
    assert!(
        derived
            .iter()
            .any(|h| h.uid == OWNERSHIP_UID && h.status == ScreeningStatus::Pending),
        "{derived:?}"
    );
    assert!(matches!(
        s.set_disposition(
            "holdings",
            RestrictedList::Sdn,
            OWNERSHIP_UID,
            ReviewDecision::Cleared,
            "ana",
            None,
            T0.parse().unwrap()
        ),
        Err(StoreError::DerivedHit { .. })
    ));
}

fn a_disposition_decides_the_hit_until_the_list_changes_the_entry(s: &dyn Backend) {
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    s.add_account(
        "holdings",
        json!({"kind": "organization", "organization": {"name": "Acme Holdings", "owners": [
            {"name": "Ivan Petrov", "percent": 60, "kind": "individual"}]}}),
    )
    .unwrap();
    s.add_account("clean", json!({"name": "Nobody In Particular"}))
        .unwrap();
    let first = import_lists(s, lists_v1(), "2026-12-02T00:00:00Z");
    assert_eq!(
        s.subject("clean")
            .unwrap()
            .unwrap()
            .screened
            .map(|r| r.snapshot),
        Some(first.0),
        "an import screens everyone"
    );
    assert_eq!(
        screening_of(s, "holdings").unwrap().len(),
        1,
        "the owner's hit lists the organisation"
    );

    let v = s.version().unwrap();
    let seen = journal(s).len();
    let d = s
        .set_disposition(
            "ivan",
            RestrictedList::Sdn,
            "100",
            ReviewDecision::Cleared,
            " ana@example.com ",
            Some("other person, born 1990"),
            T0.parse().unwrap(),
        )
        .unwrap();
    assert_eq!(d.reviewer, "ana@example.com");
    assert!(d.applies);
    assert!(s.version().unwrap() > v);
    assert_eq!(
        screening_of(s, "ivan"),
        Some(vec![(
            RestrictedList::Sdn,
            ScreeningStatus::Cleared,
            "100".into()
        )])
    );
    let after = journaled_after(s, seen);
    assert_eq!(
        after,
        vec![
            (
                "screening.disposition".into(),
                "ivan".into(),
                json!({"list": "SDN", "uid": "100", "entry_version": d.entry_version, "decision": "cleared", "note": "other person, born 1990"})
            ),
            (
                "account.screening_updated".into(),
                "ivan".into(),
                json!({"screening": [{"list": "SDN", "status": "cleared", "entry": "100"}]})
            )
        ]
    );
    // The organisation's owner is a name of its own, still to be reviewed
    // there; clearing it there unlists the organisation in that transaction.
    assert_eq!(screening_of(s, "holdings").unwrap().len(), 1);
    s.set_disposition(
        "holdings",
        RestrictedList::Sdn,
        "100",
        ReviewDecision::Cleared,
        "ana",
        None,
        T0.parse().unwrap(),
    )
    .unwrap();
    assert_eq!(screening_of(s, "holdings"), Some(Vec::new()));
    assert!(s.pending_hits().unwrap().is_empty());

    // Refusals change nothing.
    let v = s.version().unwrap();
    for (account, uid, reviewer, want) in [
        ("nobody", "100", "ana", "AccountNotFound"),
        ("clean", "100", "ana", "HitNotFound"),
        ("ivan", "100", "  ", "InvalidDisposition"),
    ] {
        let e = s
            .set_disposition(
                account,
                RestrictedList::Sdn,
                uid,
                ReviewDecision::Confirmed,
                reviewer,
                None,
                T0.parse().unwrap(),
            )
            .unwrap_err();
        assert!(format!("{e:?}").starts_with(want), "{e:?}");
    }
    assert!(matches!(
        s.dispositions("nobody"),
        Err(StoreError::AccountNotFound { .. })
    ));
    assert_eq!(s.version().unwrap(), v);

    // The list gives the entry a new alias: the old decision no longer
    // applies, the hit is pending again and the owner lists the
    // organisation again.
    let mut v2 = lists_v1();
    v2[1].names.push(EntryName {
        text: "IVAN PETROFF".into(),
        kind: NameKind::Aka,
    });
    import_lists(s, v2, "2026-12-03T00:00:00Z");
    assert_eq!(
        screening_of(s, "ivan"),
        Some(vec![(
            RestrictedList::Sdn,
            ScreeningStatus::Pending,
            "100".into()
        )])
    );
    assert_eq!(screening_of(s, "holdings").unwrap().len(), 1);
    let history = s.dispositions("ivan").unwrap();
    assert_eq!(history.len(), 1);
    assert!(!history[0].applies, "kept as history only");
    let hit = &s.hits("ivan").unwrap()[0];
    assert_eq!(
        hit.first_seen,
        "2026-12-02T00:00:00Z".parse().unwrap(),
        "a hit found again keeps when it was first seen"
    );
}

fn facts_from_webhooks_and_registered_end_users_are_screened_at_once(s: &dyn Backend) {
    northwind(s);
    let snapshot = s
        .save_snapshot(&lists(lists_v1()), None, T0.parse().unwrap())
        .unwrap()
        .id;
    // A member account created by registration is screened as it is made.
    s.register_end_users("northwind", &[reg("bo@northwind.example", "nw-bo")])
        .unwrap();
    let bo = s.subject("nw-bo").unwrap().unwrap();
    assert_eq!(bo.screening, Some(Vec::new()));
    assert_eq!(bo.screened.map(|r| r.snapshot), Some(snapshot.0));

    // A legal name verified by webhook is screened in the same transaction.
    let seen = journal(s).len();
    let named = completed(
        "nw-bo",
        Attribute::Name,
        json!("John Roe"),
        VerificationLevel::DocumentVerified,
    );
    s.record_event(deliver(&named, "d-name")).unwrap();
    assert_eq!(
        screening_of(s, "nw-bo"),
        Some(vec![(
            RestrictedList::Dpl,
            ScreeningStatus::Pending,
            "d-1".into()
        )])
    );
    let actions: Vec<String> = journaled_after(s, seen)
        .into_iter()
        .map(|(a, sub, _)| format!("{a} {sub}"))
        .collect();
    assert!(
        actions.contains(&"account.screening_updated nw-bo".to_owned()),
        "{actions:?}"
    );
    // A fact screening does not read leaves the hits alone.
    let before = s.hits("nw-bo").unwrap();
    let us = completed(
        "nw-bo",
        Attribute::UsPerson,
        json!(true),
        VerificationLevel::Attested,
    );
    s.record_event(deliver(&us, "d-us")).unwrap();
    assert_eq!(s.hits("nw-bo").unwrap(), before);
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    super::$check(&super::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    if let Some((s, _)) = super::postgres_store(stringify!($check)) {
                        super::$check(&s);
                    }
                }
            )*
        }
    };
}

conformance!(
    a_key_round_trips_to_its_principal,
    wrong_and_malformed_keys_do_not_authenticate,
    a_revoked_key_stops_authenticating_and_the_version_increases,
    refused_changes_leave_the_store_as_it_was,
    a_node_report_reads_back_as_written_and_replaces_the_last,
    a_provider_object_belongs_to_the_account_that_recorded_it_first,
    end_users_resolve_to_member_accounts_created_and_journaled_once,
    a_refused_registration_records_nothing,
    licences_are_recorded_approved_revoked_and_attached_to_whom_they_cover,
    a_subject_as_given_is_attached_the_licences_that_cover_it,
    a_licence_that_does_not_check_against_the_store_is_refused_whole,
    a_verification_event_derives_the_subject_once_and_a_replay_changes_nothing,
    a_revocation_withdraws_what_its_source_said_up_to_its_time,
    list_snapshots_are_stored_activated_journaled_and_rolled_back,
    an_account_added_while_lists_are_active_is_screened_in_the_same_transaction,
    a_new_name_or_an_imported_account_is_screened_against_the_active_lists,
    accounts_are_found_by_text_in_their_id_or_record_a_page_at_a_time,
    a_disposition_decides_the_hit_until_the_list_changes_the_entry,
    facts_from_webhooks_and_registered_end_users_are_screened_at_once,
    the_later_of_two_revocations_holds_whatever_the_precision_of_their_times,
    attributes_change_the_record_and_the_subject_derived_from_it,
    a_disabled_account_s_keys_stop_authenticating_until_it_is_enabled,
    accounts_are_listed_by_id_bytewise,
    an_import_keeps_good_rows_reports_bad_ones_and_upserts_on_request,
    a_search_finds_an_account_by_its_new_text_and_not_its_old_after_each_kind_of_write,
);

/// Checks that need PostgreSQL itself.
mod postgres_only {
    use super::*;

    #[test]
    fn postgres_an_account_search_is_answered_from_the_trigram_indexes() {
        let Some((s, url)) = postgres_store("account_search") else {
            return;
        };
        s.add_account("north", json!({"name": "Ada Quill"}))
            .unwrap();
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        // With scans priced out, the plan shows whether the indexes can
        // answer the query `find` sends at all.
        c.batch_execute("SET enable_seqscan = off").unwrap();
        let plan: Vec<String> = c
            .query(
                "EXPLAIN SELECT id FROM accounts WHERE lower(id) LIKE '%quill%' OR lower(subject::text) LIKE '%quill%'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("accounts_search_id"), "{plan}");
        assert!(plan.contains("accounts_search_subject"), "{plan}");
        assert_eq!(s.find("QUILL", 5).unwrap()[0].id, "north");
    }

    #[test]
    fn postgres_a_store_of_the_schema_before_the_index_gains_it_on_migration() {
        let Some((s, url)) = postgres_store("search_migration") else {
            return;
        };
        s.add_account("north", json!({"name": "Ada Quill"}))
            .unwrap();
        // Back to schema 13: migration 14 adds only the two indexes.
        let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        c.batch_execute(
            "DROP INDEX accounts_search_id; DROP INDEX accounts_search_subject;
             DELETE FROM schema_migrations WHERE version = 14;",
        )
        .unwrap();
        let migrated = PostgresStore::migrate(&url).unwrap();
        assert_eq!(
            migrated.applied.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
            [14]
        );
        let indexes: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_indexes WHERE tablename = 'accounts' AND indexname LIKE 'accounts_search_%'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(indexes, 2);
        assert_eq!(s.find("quill", 5).unwrap()[0].id, "north");
    }

    #[test]
    fn postgres_every_node_copies_the_whole_journal_from_its_own_cursor() {
        let Some((s, url)) = postgres_store("journal_cursors") else {
            return;
        };
        s.add_account("a", german()).unwrap();
        s.create_key("a", None).unwrap();
        let one = PostgresStore::connect(&url).unwrap().with_node("one");
        let two = PostgresStore::connect(&url).unwrap().with_node("two");
        let first = one.pending_changes(10).unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(one.acknowledge_changes(first[1].id).unwrap(), 2);
        assert!(one.pending_changes(10).unwrap().is_empty());
        // Another node still has everything to copy; acknowledging twice is nothing.
        assert_eq!(two.pending_changes(10).unwrap().len(), 2);
        assert_eq!(one.acknowledge_changes(first[1].id).unwrap(), 0);
        // Without a node name there is no cursor to read from.
        assert!(matches!(
            PostgresStore::connect(&url).unwrap().pending_changes(10),
            Err(StoreError::Unsupported { .. })
        ));
    }

    #[test]
    fn postgres_a_write_stuck_on_a_lock_times_out_while_reads_go_on_beside_it() {
        let Some((s, url)) = postgres_store("pool") else {
            return;
        };
        s.add_account("a", german()).unwrap();
        let options = cordon_store::postgres::PostgresOptions {
            pool_size: 2,
            statement_timeout: Duration::from_millis(1500),
        };
        let store = Arc::new(PostgresStore::connect_with(&url, &options).unwrap());
        // Another session holds the change counter, which every write takes.
        let mut holder = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let mut tx = holder.transaction().unwrap();
        tx.execute(
            "SELECT version FROM change_counter WHERE id = 1 FOR UPDATE",
            &[],
        )
        .unwrap();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let r = store.add_account("b", german());
                done.store(true, Ordering::SeqCst);
                r
            })
        };
        std::thread::sleep(Duration::from_millis(200));
        // The other connection answers at once.
        assert!(store.account("a").unwrap().is_some());
        assert!(
            !done.load(Ordering::SeqCst),
            "the read was answered while the write still waited"
        );
        // The stuck write fails with the server's timeout instead of hanging.
        let r = writer.join().unwrap();
        let e = r.unwrap_err();
        assert!(matches!(e, StoreError::Postgres(_)), "{e:?}");
        assert!(e.to_string().contains("statement_timeout"), "{e}");
        drop(tx);
        assert_eq!(store.account("b").unwrap(), None, "nothing half-written");
        store.add_account("b", german()).unwrap();
    }

    #[test]
    fn postgres_publishing_a_bundle_makes_it_active_once_and_journals_it() {
        let Some((s, _)) = postgres_store("publish") else {
            return;
        };
        let id = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        assert_eq!(s.active_bundle_id().unwrap(), None);
        let v0 = IdentityStore::version(&s).unwrap();
        let first = s
            .publish_bundle(&id('a'), "sha256:v1", b"{}", "note a")
            .unwrap();
        assert!(first.changed);
        assert_eq!(first.previous, None);
        assert_eq!(s.active_bundle_id().unwrap(), Some(id('a')));
        assert!(IdentityStore::version(&s).unwrap() > v0, "nodes are told");
        let stored = s.bundle(&id('a')).unwrap().unwrap();
        assert_eq!(stored.content, b"{}");
        assert_eq!(stored.signature, "note a");
        assert_eq!(stored.policy_version, "sha256:v1");
        // The active bundle again: nothing changes, nothing is journaled.
        let again = s
            .publish_bundle(&id('a'), "sha256:v1", b"{}", "note a")
            .unwrap();
        assert!(!again.changed);
        let second = s
            .publish_bundle(&id('b'), "sha256:v2", b"[]", "note b")
            .unwrap();
        assert_eq!(second.previous, Some(id('a')));
        // Back to the first: stored once, active again.
        let back = s
            .publish_bundle(&id('a'), "sha256:v1", b"{}", "note a")
            .unwrap();
        assert!(back.changed);
        assert_eq!(s.active_bundle_id().unwrap(), Some(id('a')));
        let published: Vec<Value> = journal(&s)
            .into_iter()
            .filter(|(action, _, _)| action == "policy.published")
            .map(|(_, _, details)| details)
            .collect();
        assert_eq!(published.len(), 3, "{published:?}");
        assert_eq!(published[1]["bundle"], id('b'));
        assert_eq!(published[1]["previous"], id('a'));
        assert_eq!(published[1]["policy_version"], "sha256:v2");
        for bad in ["sha256:AB", "md5:00", &format!("sha256:{}", "G".repeat(64))] {
            assert!(matches!(
                s.publish_bundle(bad, "v", b"", ""),
                Err(StoreError::InvalidBundleId { .. })
            ));
        }
        assert_eq!(s.bundle(&id('c')).unwrap(), None);
    }

    #[test]
    fn postgres_a_shipment_must_extend_the_shipped_log_exactly() {
        fn shipment<'a>(
            first: u64,
            entries: &'a [&'a [u8]],
            root: u8,
            checkpoints: &'a [(u64, String)],
        ) -> Shipment<'a> {
            Shipment {
                first,
                entries,
                root: [root; 32],
                checkpoints,
            }
        }
        let Some((s, _)) = postgres_store("shipping") else {
            return;
        };
        // Nothing ships before the log is registered.
        assert!(matches!(
            s.ship("n1", &shipment(0, &[&b"a"[..]], 1, &[])),
            Err(StoreError::ShippedLog { .. })
        ));
        s.register_log("n1", "key-a").unwrap();
        s.register_log("n1", "key-a").unwrap();
        assert!(matches!(
            s.register_log("n1", "key-b"),
            Err(StoreError::ShippedLog { .. })
        ));
        assert_eq!(s.shipped_head("n1").unwrap(), ShippedHead::default());
        let cp2 = [(2, "cp2".to_owned())];
        let size = s
            .ship("n1", &shipment(0, &[&b"a"[..], &b"b"[..]], 2, &cp2))
            .unwrap();
        assert_eq!(size, 2);
        // A repeat after an outage, or a gap, is refused whole.
        for first in [0, 1, 3] {
            assert!(matches!(
                s.ship("n1", &shipment(first, &[&b"c"[..]], 9, &[])),
                Err(StoreError::ShippedLog { .. })
            ));
        }
        assert_eq!(
            s.shipped_head("n1").unwrap(),
            ShippedHead {
                size: 2,
                root: Some([2; 32]),
                checkpoint: 2,
            },
            "a refused shipment changes neither the size nor the root"
        );
        let cps = [(2, "cp2".to_owned()), (3, "cp3".to_owned())];
        s.ship("n1", &shipment(2, &[&b"c"[..]], 3, &cps)).unwrap();
        // Checkpoints alone, with no new entries, move nothing else.
        s.ship("n1", &shipment(3, &[], 3, &cps)).unwrap();
        assert_eq!(
            s.shipped_head("n1").unwrap(),
            ShippedHead {
                size: 3,
                root: Some([3; 32]),
                checkpoint: 3,
            }
        );
        let logs = s.shipped_logs().unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(
            logs[0].entries,
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(
            logs[0].checkpoints,
            vec![(2, "cp2".to_owned()), (3, "cp3".to_owned())]
        );
    }

    #[test]
    fn postgres_a_listener_hears_a_revocation_once_it_commits() {
        let Some((s, url)) = postgres_store("listener") else {
            return;
        };
        s.add_account("a", json!({})).unwrap();
        let k = s.create_key("a", None).unwrap();
        let mut listener = ChangeListener::connect(&url).unwrap();
        assert_eq!(listener.wait(Duration::from_millis(100)).unwrap(), None);
        s.revoke_key(&k.prefix).unwrap();
        let heard = listener.wait(Duration::from_secs(5)).unwrap();
        assert_eq!(heard, Some(s.version().unwrap()));
        // A refused change is rolled back, and so is its notification.
        assert!(s.revoke_key(&k.prefix).is_err());
        assert_eq!(listener.wait(Duration::from_millis(300)).unwrap(), None);
    }

    #[test]
    fn postgres_a_plain_listen_hears_the_new_version() {
        let Some((s, url)) = postgres_store("plain_listen") else {
            return;
        };
        let mut raw = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        raw.batch_execute(&format!("LISTEN {}", cordon_store::postgres::CHANNEL))
            .unwrap();
        s.add_account("a", json!({})).unwrap();
        let mut n = raw.notifications();
        let mut it = n.timeout_iter(Duration::from_secs(5));
        let note = ::postgres::fallible_iterator::FallibleIterator::next(&mut it)
            .unwrap()
            .unwrap();
        assert_eq!(note.payload(), s.version().unwrap().to_string());
    }

    #[test]
    fn postgres_migrations_apply_once_and_an_unmigrated_store_is_refused() {
        let Some(url) = fresh_database("migrate") else {
            return;
        };
        let e = PostgresStore::connect(&url).unwrap_err();
        assert!(matches!(e, StoreError::SchemaBehind { .. }), "{e}");
        assert!(e.to_string().contains("cordon store migrate"), "{e}");
        let first = PostgresStore::migrate(&url).unwrap();
        assert!(!first.applied.is_empty());
        let again = PostgresStore::migrate(&url).unwrap();
        assert!(again.applied.is_empty());
        assert_eq!(again.version, first.version);
        PostgresStore::connect(&url).unwrap();
    }

    #[test]
    fn postgres_what_a_handle_cannot_do_is_refused_with_a_clear_error() {
        let Some((_, url)) = postgres_store("unsupported") else {
            return;
        };
        // Every identity-store operation is on PostgreSQL; reading the
        // change journal needs the node whose cursor it moves.
        let e = PostgresStore::connect(&url)
            .unwrap()
            .pending_changes(10)
            .unwrap_err();
        assert!(matches!(e, StoreError::Unsupported { .. }));
        assert!(
            e.to_string()
                .contains("PostgreSQL identity store does not support reading the change journal without a node name"),
            "{e}"
        );
    }

    #[test]
    fn postgres_stores_the_same_records_as_sqlite() {
        let Some((pg, _)) = postgres_store("same_records") else {
            return;
        };
        let lite = sqlite();
        let stores: [&dyn Backend; 2] = [&lite, &pg];
        let [a, b] = stores.map(|s| {
            let rec = s.add_account("acct", german()).unwrap();
            let k = s.create_key("acct", Some("x")).unwrap();
            let mut revoked = s.revoke_key(&k.prefix).unwrap();
            revoked.prefix.clear();
            (rec, revoked, s.subject("acct").unwrap())
        });
        assert_eq!(a, b);

        // Every domain ported since: the same rows, the same derived
        // subjects, the same journal (but for ids, which each store numbers).
        let [a, b] = stores.map(|s| {
            acme(s);
            s.register_end_users(
                "acme",
                &[reg("ana@acme.example", "acme-ana"), reg("*", "acme-all")],
            )
            .unwrap();
            s.record_licence(&licence(|_| {}), LicenceSource::OrgSubmission)
                .unwrap();
            s.approve_licence("D1234567").unwrap();
            let mut e = completed(
                "acme-ana",
                Attribute::BirthYear,
                json!(1990),
                VerificationLevel::DocumentVerified,
            );
            e.facts[0].expires_at = Some("2027-01-01T00:00:00Z".parse().unwrap());
            s.record_event(deliver(&e, "d1")).unwrap();
            s.record_event(deliver(
                &revoked("acme-ana", Some("sess_9"), "2026-12-01T11:00:00Z"),
                "d2",
            ))
            .unwrap();
            let accounts: Vec<AccountRecord> = ["acme", "acme-ana", "acme-all"]
                .map(|id| s.account(id).unwrap().unwrap())
                .into();
            let mut evidence = s.evidence("acme-ana").unwrap();
            for e in &mut evidence {
                e.id = 0;
            }
            (
                accounts,
                s.subject("acme-ana").unwrap(),
                s.end_users("acme").unwrap(),
                s.licences().unwrap(),
                evidence,
                // Key prefixes are random.
                journal(s)
                    .into_iter()
                    .map(|(action, subject, details)| {
                        let subject = if action.starts_with("key.") {
                            String::new()
                        } else {
                            subject
                        };
                        (action, subject, details)
                    })
                    .collect::<Vec<_>>(),
            )
        });
        assert_eq!(a, b);
    }

    #[test]
    fn postgres_screens_exactly_as_sqlite() {
        let Some((pg, _)) = postgres_store("same_screening") else {
            return;
        };
        let lite = sqlite();
        let stores: [&dyn Backend; 2] = [&lite, &pg];
        let [a, b] = stores.map(|s| {
            s.add_account("ivan", json!({"name": "Ivan Petrov"})).unwrap();
            s.add_account(
                "trading",
                json!({"kind": "organization", "organization": {"name": "Acme Trading", "country": "CY", "owners": [
                    {"name": "Bank Rossiya", "percent": 30, "country": "RU"},
                    {"name": "Ivan Petrov", "percent": 25, "account": "ivan"},
                    {"name": "Clean Ltd", "percent": 45}]}}),
            )
            .unwrap();
            import_lists(s, lists_v1(), "2026-12-02T00:00:00Z");
            s.add_account("roe", json!({"name": "John Roe", "citizenships": ["US"]}))
                .unwrap();
            s.set_disposition(
                "roe",
                RestrictedList::Dpl,
                "d-1",
                ReviewDecision::Confirmed,
                "ana",
                None,
                T0.parse().unwrap(),
            )
            .unwrap();
            let mut v2 = lists_v1();
            v2.retain(|e| e.uid != "200");
            import_lists(s, v2, "2026-12-03T00:00:00Z");
            let ids = ["ivan", "trading", "roe"];
            (
                ids.map(|id| s.account(id).unwrap().unwrap()),
                ids.map(|id| s.hits(id).unwrap()),
                ids.map(|id| s.dispositions(id).unwrap()),
                s.pending_hits().unwrap(),
                s.snapshots().unwrap(),
                journal(s),
            )
        });
        assert_eq!(a, b);
    }

    #[test]
    fn postgres_nodes_adding_accounts_at_once_write_what_a_rescreen_would() {
        let Some((s, url)) = postgres_store("screening_race") else {
            return;
        };
        s.save_snapshot(&lists(lists_v1()), None, T0.parse().unwrap())
            .unwrap();
        // Two nodes add accounts at once; each must see the other's hits
        // when it applies ownership, so every write holds the change lock.
        let nodes: Vec<PostgresStore> = (0..2)
            .map(|_| {
                PostgresStore::connect(&url)
                    .unwrap()
                    .with_clock(|| T0.parse().unwrap())
            })
            .collect();
        std::thread::scope(|scope| {
            for (n, node) in nodes.iter().enumerate() {
                scope.spawn(move || {
                    for i in 0..10 {
                        node.add_account(&format!("ivan-{n}-{i}"), json!({"name": "Ivan Petrov"}))
                            .unwrap();
                        node.add_account(
                            &format!("org-{n}-{i}"),
                            json!({"kind": "organization", "organization": {"name": "Acme", "owners": [
                                {"name": "Ivan Petrov", "percent": 50, "account": format!("ivan-{}-{i}", 1 - n)}]}}),
                        )
                        .unwrap();
                    }
                });
            }
        });
        for n in 0..2 {
            for i in 0..10 {
                assert_eq!(
                    screening_of(&s, &format!("ivan-{n}-{i}")),
                    Some(vec![(
                        RestrictedList::Sdn,
                        ScreeningStatus::Pending,
                        "100".into()
                    )])
                );
                let org = screening_of(&s, &format!("org-{n}-{i}")).unwrap();
                assert_eq!(org.len(), 1, "org-{n}-{i}: {org:?}");
            }
        }
        // What the nodes wrote is what screening everyone afresh gives.
        let screener = Screener::new(s.snapshot_entries(SnapshotId(1)).unwrap());
        let r = rescreen(&s, &MatcherScreener::new(&screener), T0.parse().unwrap()).unwrap();
        assert_eq!(r.accounts, 40);
        assert_eq!(r.accounts_changed, 0, "{r:?}");
        assert!(r.new_hits.is_empty() && r.removed_hits.is_empty(), "{r:?}");
    }

    #[test]
    fn postgres_a_bad_url_or_unreachable_server_is_an_error() {
        let e = PostgresStore::connect("mysql://x").unwrap_err();
        assert!(matches!(e, StoreError::InvalidStoreUrl { .. }), "{e}");
        let e =
            PostgresStore::connect("postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
                .unwrap_err();
        assert!(matches!(e, StoreError::PostgresConnect { .. }), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(e.to_string().contains("check that the server runs"), "{e}");
    }

    #[test]
    fn postgres_no_connection_left_is_an_error_with_a_remedy_not_a_hang() {
        let Some(url) = fresh_database("connection_limit") else {
            return;
        };
        PostgresStore::migrate(&url).unwrap();
        let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        // Roles are the server's, not the database's: one per run.
        let role = format!("cordon_limited_{}", std::process::id());
        admin
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN CONNECTION LIMIT 1; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
            ))
            .unwrap();
        let limited = url.replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
        let first = PostgresStore::connect(&limited).unwrap();
        let e = PostgresStore::connect(&limited).unwrap_err();
        assert!(matches!(e, StoreError::PostgresConnect { .. }), "{e}");
        assert!(e.to_string().contains("raise its `max_connections`"), "{e}");
        drop(first);
    }
}
