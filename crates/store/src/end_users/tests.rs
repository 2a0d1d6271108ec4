use serde_json::json;

use super::*;
use crate::IdentityStore;

fn store() -> SqliteStore {
    let s = SqliteStore::open_in_memory()
        .unwrap()
        .with_clock(|| "2026-12-07T12:00:00Z".parse().unwrap());
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
    s
}

fn reg(end_user: &str, account: &str) -> Registration {
    Registration {
        end_user: end_user.into(),
        account: account.into(),
    }
}

fn resolved(s: &SqliteStore, end_user: Option<&str>) -> Option<(String, bool)> {
    s.end_user("northwind", end_user)
        .unwrap()
        .map(|e| (e.account.id, e.everyone))
}

#[test]
fn a_registered_end_user_resolves_to_its_member_account_and_others_to_none() {
    let s = store();
    let out = s
        .register_end_users("northwind", &[reg("ann@northwind.example", "ann")])
        .unwrap();
    assert_eq!(out.registered, 1);
    assert!(out.created.is_empty());
    assert_eq!(
        resolved(&s, Some("ann@northwind.example")),
        Some(("ann".into(), false))
    );
    assert_eq!(resolved(&s, Some("bob@northwind.example")), None);
    assert_eq!(resolved(&s, None), None);
    // Another organisation's registration does not resolve here.
    assert_eq!(
        s.end_user("contoso", Some("ann@northwind.example"))
            .unwrap(),
        None
    );
}

#[test]
fn the_account_for_every_end_user_catches_the_unregistered_ones_only() {
    let s = store();
    s.register_end_users(
        "northwind",
        &[
            reg("ann-1", "ann"),
            reg(EVERY_END_USER, "northwind.everyone"),
        ],
    )
    .unwrap();
    assert_eq!(resolved(&s, Some("ann-1")), Some(("ann".into(), false)));
    assert_eq!(
        resolved(&s, Some("someone-else")),
        Some(("northwind.everyone".into(), true))
    );
    assert_eq!(
        resolved(&s, None),
        Some(("northwind.everyone".into(), true))
    );
    // Sending `*` as an identifier is not a way to be someone registered.
    assert_eq!(
        resolved(&s, Some(EVERY_END_USER)),
        Some(("northwind.everyone".into(), true))
    );
}

#[test]
fn a_new_member_account_is_created_knowing_only_its_organisation() {
    let s = store();
    let v0 = s.version().unwrap();
    let out = s
        .register_end_users(
            "northwind",
            &[reg("u-7", "northwind.u-7"), reg("u-8", "northwind.u-7")],
        )
        .unwrap();
    assert_eq!(out.created, vec!["northwind.u-7".to_owned()]);
    assert_eq!(out.registered, 2);
    assert!(s.version().unwrap() > v0, "the gateway must see the change");
    let rec = s.get("northwind.u-7").unwrap().unwrap();
    assert_eq!(rec.subject["kind"], "individual");
    assert_eq!(rec.subject["organization"]["name"], "Northwind Labs");
    assert_eq!(rec.subject["organization"]["verification"], "attested");
    assert!(rec.subject.get("citizenships").is_none());
    let listed = s.end_users("northwind").unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|e| e.end_user_sha256.len() == 64));
    assert!(!listed.iter().any(|e| e.end_user_sha256.contains("u-7")));
}

#[test]
fn registration_is_all_or_nothing_and_names_the_bad_entry() {
    let s = store();
    let cases: Vec<(Vec<Registration>, &str)> = vec![
        (
            vec![reg("u-1", "ann"), reg("u-2", "outsider")],
            "end_users[1].account `outsider` is not an individual member",
        ),
        (
            vec![reg("u-1", "northwind.new"), reg("", "ann")],
            "end_users[1].id",
        ),
        (
            vec![reg(&"x".repeat(MAX_END_USER_LEN + 1), "ann")],
            "end_users[0].id",
        ),
        (
            vec![reg("u-1", "Not An Id")],
            "end_users[0].account `Not An Id` is not an account id",
        ),
        (vec![reg("u-1", "northwind")], "the organisation itself"),
        (vec![], "1 to 1000"),
    ];
    for (regs, expected) in cases {
        let e = s.register_end_users("northwind", &regs).unwrap_err();
        assert!(e.to_string().contains(expected), "{e}");
    }
    assert!(s.end_users("northwind").unwrap().is_empty());
    assert!(s.get("northwind.new").unwrap().is_none(), "rolled back");
    let e = s
        .register_end_users("ann", &[reg("u", "outsider")])
        .unwrap_err();
    assert!(e.to_string().contains("not an organisation account"), "{e}");
    let e = s
        .register_end_users("nobody", &[reg("u", "ann")])
        .unwrap_err();
    assert!(matches!(e, StoreError::AccountNotFound { .. }), "{e}");
}

#[test]
fn removing_an_end_user_stops_it_resolving_and_keeps_the_account() {
    let s = store();
    s.register_end_users("northwind", &[reg("u-1", "ann"), reg("u-2", "ann")])
        .unwrap();
    assert_eq!(
        s.remove_end_users("northwind", &["u-1".into(), "nobody".into()])
            .unwrap(),
        1
    );
    assert_eq!(resolved(&s, Some("u-1")), None);
    assert_eq!(resolved(&s, Some("u-2")), Some(("ann".into(), false)));
    assert!(s.get("ann").unwrap().is_some());
}

#[test]
fn registrations_are_journaled_without_the_identifiers() {
    let s = store();
    s.register_end_users("northwind", &[reg("ann@northwind.example", "ann")])
        .unwrap();
    s.remove_end_users("northwind", &["ann@northwind.example".into()])
        .unwrap();
    let journal = s.pending_changes(100).unwrap();
    let ours: Vec<_> = journal
        .iter()
        .filter(|c| c.action.starts_with("end_users."))
        .collect();
    assert_eq!(ours.len(), 2);
    for c in &journal {
        assert!(
            !Value::Object(c.details.clone())
                .to_string()
                .contains("ann@"),
            "{c:?}"
        );
    }
    assert_eq!(ours[0].details["accounts"], json!(["ann"]));
}

#[test]
fn the_digest_depends_on_the_organisation() {
    assert_ne!(end_user_digest("a", "u"), end_user_digest("b", "u"));
    assert_ne!(end_user_digest("a", "bu"), end_user_digest("ab", "u"));
    assert_eq!(end_user_digest("a", EVERY_END_USER), "*");
}
