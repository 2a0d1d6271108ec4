use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};

use cordon_screening::{EntryKind, EntryName, NameKind};
use cordon_subject::{RestrictedList, ScreeningStatus};
use serde_json::json;

use super::*;
use crate::IdentityStore;

use RestrictedList::{Dpl, El, Sdn};
use ScreeningStatus::{Cleared, Confirmed, Pending};

fn at(day: u8) -> Timestamp {
    format!("2026-12-{day:02}T12:00:00Z").parse().unwrap()
}

fn entry(list: RestrictedList, uid: &str, kind: EntryKind, names: &[&str]) -> ListEntry {
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

fn snapshot(mut entries: Vec<ListEntry>) -> Snapshot {
    entries.sort_by(|a, b| (a.list, &a.uid).cmp(&(b.list, &b.uid)));
    let mut counts = BTreeMap::new();
    for e in &entries {
        *counts.entry(e.list).or_insert(0) += 1;
    }
    let content_hash = entries
        .iter()
        .map(ListEntry::version_hex)
        .collect::<String>();
    Snapshot {
        entries,
        sources: Vec::new(),
        problems: Vec::new(),
        content_hash,
        counts,
    }
}

/// The lists of the first publication.
fn lists_v1() -> Vec<ListEntry> {
    vec![
        entry(Sdn, "100", EntryKind::Individual, &["IVAN PETROV"]),
        entry(Sdn, "200", EntryKind::Entity, &["BANK ROSSIYA"]),
        entry(Sdn, "300", EntryKind::Entity, &["ORLAN HOLDINGS"]),
        entry(El, "e-1", EntryKind::Entity, &["NORTH STAR MICRO"]),
        entry(Dpl, "d-1", EntryKind::Individual, &["JOHN ROE"]),
    ]
}

/// A matcher by exact name (any name of an entry, any case), built from the
/// store's active snapshot as the real one would be.
struct Exact {
    names: HashMap<String, Vec<Candidate>>,
}

impl Exact {
    fn active(store: &SqliteStore) -> Exact {
        let id = store.active_snapshot().unwrap().unwrap().id;
        let mut names: HashMap<String, Vec<Candidate>> = HashMap::new();
        for e in store.snapshot_entries(id).unwrap() {
            for n in &e.names {
                names
                    .entry(n.text.to_uppercase())
                    .or_default()
                    .push(Candidate {
                        list: e.list,
                        uid: e.uid.clone(),
                        entry_version: e.version_hex(),
                        entry_name: e.primary_name().to_owned(),
                        score: 1.0,
                    });
            }
        }
        Exact { names }
    }
}

impl NameScreener for Exact {
    fn screen(
        &self,
        name: &str,
        _: PartyKind,
        _: Option<CountryCode>,
        _: Option<u16>,
    ) -> Vec<Candidate> {
        self.names
            .get(&name.to_uppercase())
            .cloned()
            .unwrap_or_default()
    }
}

fn store_with(entries: Vec<ListEntry>) -> SqliteStore {
    let s = SqliteStore::open_in_memory().unwrap();
    s.save_snapshot(&snapshot(entries), None, at(1)).unwrap();
    s
}

fn import(store: &SqliteStore, entries: Vec<ListEntry>, day: u8) -> SavedSnapshot {
    store
        .save_snapshot(&snapshot(entries), None, at(day))
        .unwrap()
}

fn rescreen_at(store: &SqliteStore, day: u8) -> RescreenReport {
    rescreen(store, &Exact::active(store), at(day)).unwrap()
}

/// The `screening` attribute as stored, as (list, status, entry) triples.
fn attribute(store: &SqliteStore, id: &str) -> Vec<(RestrictedList, ScreeningStatus, String)> {
    let rec = store.get(id).unwrap().unwrap();
    rec.to_subject(store.jurisdictions())
        .unwrap()
        .screening
        .into_iter()
        .flatten()
        .map(|h| (h.list, h.status, h.entry.unwrap_or_default()))
        .collect()
}

fn keys(changes: &[HitChange]) -> Vec<(&str, RestrictedList, &str)> {
    changes
        .iter()
        .map(|c| (c.account.as_str(), c.list, c.uid.as_str()))
        .collect()
}

#[test]
fn snapshots_are_stored_with_their_history_and_read_back() {
    let s = SqliteStore::open_in_memory().unwrap();
    assert_eq!(s.active_snapshot().unwrap(), None);
    let v1 = snapshot(lists_v1());
    let published = "2026-11-30".parse().unwrap();
    let first = s.save_snapshot(&v1, Some(published), at(1)).unwrap();
    assert!(!first.unchanged);
    let active = s.active_snapshot().unwrap().unwrap();
    assert_eq!(active.id, first.id);
    assert_eq!(active.hash, v1.content_hash);
    assert_eq!(active.published, Some(published));
    assert_eq!(active.imported_at, at(1));
    assert_eq!(active.counts.get(&Sdn), Some(&3));
    assert_eq!(active.counts.get(&El), Some(&1));
    assert!(active.active);
    assert_eq!(s.snapshot_entries(first.id).unwrap(), v1.entries);

    // The same content again stores nothing.
    let again = s.save_snapshot(&v1, None, at(2)).unwrap();
    assert_eq!(
        again,
        SavedSnapshot {
            id: first.id,
            unchanged: true
        }
    );
    assert_eq!(s.snapshots().unwrap().len(), 1);

    let mut changed = lists_v1();
    changed.pop();
    let second = import(&s, changed, 3);
    assert!(!second.unchanged && second.id != first.id);
    let history = s.snapshots().unwrap();
    assert_eq!(
        history.iter().map(|h| (h.id, h.active)).collect::<Vec<_>>(),
        vec![(second.id, true), (first.id, false)]
    );
    assert_eq!(history[0].counts.get(&Dpl), None);

    // Rolling back, then pruning, keeps the active one.
    s.activate_snapshot(first.id).unwrap();
    assert_eq!(s.active_snapshot().unwrap().unwrap().id, first.id);
    assert_eq!(s.prune_snapshots(0).unwrap(), 1);
    assert_eq!(s.snapshots().unwrap().len(), 1);
    let e = s.snapshot_entries(second.id).unwrap_err();
    assert!(matches!(e, StoreError::SnapshotNotFound { .. }), "{e}");
    assert!(s.activate_snapshot(SnapshotId(99)).is_err());
}

#[test]
fn a_snapshot_with_a_repeated_entry_is_refused_whole() {
    let s = SqliteStore::open_in_memory().unwrap();
    let mut entries = lists_v1();
    entries.push(entry(Sdn, "200", EntryKind::Entity, &["OTHER"]));
    let e = s
        .save_snapshot(&snapshot(entries), None, at(1))
        .unwrap_err();
    assert!(e.to_string().contains("`200` on `SDN`"), "{e}");
    assert!(s.snapshots().unwrap().is_empty());
}

#[test]
fn a_rescreen_puts_hits_in_the_screening_attribute_and_changes_only_what_changed() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.add_account(
        "ivan",
        json!({"name": "Ivan Petrov", "birth_year": 1961, "citizenships": ["RU"]}),
    )
    .unwrap();
    s.add_account("jane", json!({"name": "Jane Doe"})).unwrap();
    s.add_account(
        "northstar",
        json!({"kind": "organization", "organization": {"name": "North Star Micro", "country": "CN"}}),
    )
    .unwrap();
    s.add_account("nameless", json!({"citizenships": ["DE"]}))
        .unwrap();
    let before = s.version().unwrap();

    // Lists imported after the accounts were created: re-screening finds the hits.
    import(&s, lists_v1(), 1);
    let r = rescreen_at(&s, 2);
    assert_eq!(r.accounts, 4);
    assert_eq!(r.snapshot, Some(s.active_snapshot().unwrap().unwrap().id));
    assert_eq!(
        keys(&r.new_hits),
        vec![("ivan", Sdn, "100"), ("northstar", El, "e-1")]
    );
    assert_eq!(r.accounts_changed, 2);
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(Sdn, Pending, "100".to_owned())]
    );
    assert_eq!(
        attribute(&s, "northstar"),
        vec![(El, Pending, "e-1".to_owned())]
    );
    assert!(attribute(&s, "jane").is_empty());
    // One bump for the import, which nodes load, and one for the one batch.
    assert_eq!(s.version().unwrap(), before + 2);

    let hits = s.hits("northstar").unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].matched_by, vec![MatchedBy::Organization]);
    assert_eq!(hits[0].matched_name, "North Star Micro");
    assert_eq!(hits[0].entry_name, "NORTH STAR MICRO");
    assert_eq!(hits[0].first_seen, at(2));

    // Nothing changed: nothing written, the counter stays.
    let r = rescreen_at(&s, 3);
    assert_eq!(r.accounts_changed, 0);
    assert!(r.new_hits.is_empty() && r.removed_hits.is_empty() && r.status_changes.is_empty());
    assert_eq!(s.version().unwrap(), before + 2);
    assert_eq!(s.hits("northstar").unwrap()[0].first_seen, at(2));
}

#[test]
fn a_confirmed_hit_is_what_the_restricted_parties_directive_denies() {
    let s = store_with(lists_v1());
    s.add_account("roe", json!({"name": "John Roe"})).unwrap();
    rescreen_at(&s, 2);
    let deny = Sdn.bit() | El.bit() | Dpl.bit();
    let subject = |s: &SqliteStore| {
        s.get("roe")
            .unwrap()
            .unwrap()
            .to_subject(s.jurisdictions())
            .unwrap()
    };
    // `subject.screening.pending in [SDN, EL, DPL]`: verification required.
    assert_eq!(subject(&s).screening_mask(Pending, at(3)) & deny, Dpl.bit());
    assert_eq!(subject(&s).screening_mask(Confirmed, at(3)), 0);

    let before = s.version().unwrap();
    let d = s
        .set_disposition(
            "roe",
            Dpl,
            "d-1",
            ReviewDecision::Confirmed,
            "compliance@northwind",
            Some("same person: address and date of birth match"),
            at(3),
        )
        .unwrap();
    assert!(d.applies);
    assert!(s.version().unwrap() > before);
    // `subject.screening.confirmed in [SDN, EL, DPL]`: deny.
    assert_eq!(
        subject(&s).screening_mask(Confirmed, at(3)) & deny,
        Dpl.bit()
    );
    assert_eq!(subject(&s).screening_mask(Pending, at(3)), 0);
    assert_eq!(s.hits("roe").unwrap()[0].status, Confirmed);
}

#[test]
fn a_cleared_hit_stays_cleared_when_the_lists_are_imported_again_with_the_entry_unchanged() {
    let s = store_with(lists_v1());
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    rescreen_at(&s, 2);
    s.set_disposition(
        "ivan",
        Sdn,
        "100",
        ReviewDecision::Cleared,
        "reviewer-1",
        None,
        at(3),
    )
    .unwrap();
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(Sdn, Cleared, "100".to_owned())]
    );

    // A new publication: another entry added, entry 100 as it was.
    let mut v2 = lists_v1();
    v2.push(entry(Sdn, "400", EntryKind::Entity, &["NEW CO"]));
    assert!(!import(&s, v2, 4).unchanged);
    let r = rescreen_at(&s, 4);
    assert!(r.status_changes.is_empty(), "{:?}", r.status_changes);
    assert_eq!(r.accounts_changed, 0);
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(Sdn, Cleared, "100".to_owned())]
    );
}

#[test]
fn a_changed_entry_makes_a_cleared_hit_pending_again_and_keeps_the_old_disposition() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    // Lists imported after the accounts were created: re-screening finds the hits.
    import(&s, lists_v1(), 1);
    rescreen_at(&s, 2);
    let old_version = s.hits("ivan").unwrap()[0].entry_version.clone();
    s.set_disposition(
        "ivan",
        Sdn,
        "100",
        ReviewDecision::Cleared,
        "reviewer-1",
        Some("different birth year"),
        at(3),
    )
    .unwrap();

    // OFAC adds an alias to entry 100: a new version, to be reviewed again.
    let mut v2 = lists_v1();
    v2[0] = entry(
        Sdn,
        "100",
        EntryKind::Individual,
        &["IVAN PETROV", "IVAN PETROFF"],
    );
    import(&s, v2, 4);
    let before = s.version().unwrap();
    let r = rescreen_at(&s, 4);
    assert_eq!(r.status_changes.len(), 1);
    let c = &r.status_changes[0];
    assert_eq!(
        (c.hit.account.as_str(), c.hit.list, c.hit.uid.as_str()),
        ("ivan", Sdn, "100")
    );
    assert_eq!(
        (c.from, c.hit.status, c.entry_changed),
        (Cleared, Pending, true)
    );
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(Sdn, Pending, "100".to_owned())]
    );
    assert_eq!(s.version().unwrap(), before + 1);
    let hit = &s.hits("ivan").unwrap()[0];
    assert_ne!(hit.entry_version, old_version);
    assert_eq!(hit.first_seen, at(2));

    let ds = s.dispositions("ivan").unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].entry_version, old_version);
    assert_eq!(ds[0].note.as_deref(), Some("different birth year"));
    assert!(!ds[0].applies);

    // Reviewed again, against the new version.
    s.set_disposition(
        "ivan",
        Sdn,
        "100",
        ReviewDecision::Cleared,
        "reviewer-2",
        None,
        at(5),
    )
    .unwrap();
    let ds = s.dispositions("ivan").unwrap();
    assert_eq!(
        ds.iter().map(|d| d.applies).collect::<Vec<_>>(),
        vec![false, true]
    );
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(Sdn, Cleared, "100".to_owned())]
    );
}

#[test]
fn an_entry_leaving_the_list_removes_the_hit_and_reports_it() {
    let s = store_with(lists_v1());
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    s.add_account("roe", json!({"name": "John Roe"})).unwrap();
    rescreen_at(&s, 2);
    s.set_disposition(
        "roe",
        Dpl,
        "d-1",
        ReviewDecision::Confirmed,
        "r",
        None,
        at(3),
    )
    .unwrap();

    let v2: Vec<ListEntry> = lists_v1()
        .into_iter()
        .filter(|e| e.uid != "100" && e.uid != "d-1")
        .collect();
    import(&s, v2, 4);
    let r = rescreen_at(&s, 4);
    assert_eq!(
        keys(&r.removed_hits),
        vec![("ivan", Sdn, "100"), ("roe", Dpl, "d-1")]
    );
    assert_eq!(r.removed_hits[1].status, Confirmed);
    assert!(r.new_hits.is_empty());
    assert!(attribute(&s, "ivan").is_empty());
    assert!(attribute(&s, "roe").is_empty());
    assert!(s.hits("ivan").unwrap().is_empty());
    // The disposition stays as history.
    assert_eq!(s.dispositions("roe").unwrap().len(), 1);
    let e = s
        .set_disposition(
            "ivan",
            Sdn,
            "100",
            ReviewDecision::Cleared,
            "r",
            None,
            at(5),
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::HitNotFound { .. }), "{e}");
}

#[test]
fn hits_written_by_hand_are_kept() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.add_account(
        "ivan",
        json!({"name": "Ivan Petrov", "screening": [{"list": "MEU", "status": "confirmed", "entry": "vendor-7"}]}),
    )
    .unwrap();
    // Lists imported after the accounts were created: re-screening finds the hits.
    import(&s, lists_v1(), 1);
    let r = rescreen_at(&s, 2);
    assert_eq!(keys(&r.new_hits), vec![("ivan", Sdn, "100")]);
    assert_eq!(
        attribute(&s, "ivan"),
        vec![
            (Sdn, Pending, "100".to_owned()),
            (RestrictedList::Meu, Confirmed, "vendor-7".to_owned())
        ]
    );
    // Gone from the list: only the hit screening wrote goes.
    import(&s, lists_v1().split_off(1), 3);
    rescreen_at(&s, 3);
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(RestrictedList::Meu, Confirmed, "vendor-7".to_owned())]
    );
}

#[test]
fn a_disposition_is_refused_without_a_current_hit_or_a_reviewer() {
    let s = store_with(lists_v1());
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    rescreen_at(&s, 2);
    let set = |account: &str, uid: &str, reviewer: &str| {
        s.set_disposition(
            account,
            Sdn,
            uid,
            ReviewDecision::Cleared,
            reviewer,
            None,
            at(3),
        )
        .unwrap_err()
    };
    let e = set("ivan", "200", "r");
    assert!(matches!(e, StoreError::HitNotFound { .. }), "{e}");
    assert!(e.to_string().contains("`SDN` entry `200`"), "{e}");
    let e = set("nobody", "100", "r");
    assert!(matches!(e, StoreError::AccountNotFound { .. }), "{e}");
    let e = set("ivan", "100", "  ");
    assert!(matches!(e, StoreError::InvalidDisposition { .. }), "{e}");
    assert!(s.dispositions("ivan").unwrap().is_empty());
    assert!(s.hits("nobody").is_err());
}

/// `acme-holdings` is 60% owned by IVAN PETROV; `acme-trading` 30% by BANK
/// ROSSIYA and 25% by acme-holdings; `acme-retail` 30% by BANK ROSSIYA only.
fn ownership_store() -> SqliteStore {
    let s = SqliteStore::open_in_memory().unwrap();
    add_ownership_accounts(&s);
    // Lists imported after the accounts were created: re-screening finds the hits.
    import(&s, lists_v1(), 1);
    s
}

/// The accounts of [`ownership_store`].
fn add_ownership_accounts(s: &SqliteStore) {
    s.add_account(
        "acme-holdings",
        json!({"kind": "organization", "organization": {"name": "Acme Holdings", "owners": [
            {"name": "Ivan Petrov", "percent": 60, "kind": "individual"},
            {"name": "Maria Lopez", "percent": 40, "kind": "individual"}]}}),
    )
    .unwrap();
    s.add_account(
        "acme-trading",
        json!({"kind": "organization", "organization": {"name": "Acme Trading", "country": "CY", "owners": [
            {"name": "Bank Rossiya", "percent": 30, "country": "RU"},
            {"name": "Acme Holdings", "percent": 25, "account": "acme-holdings"},
            {"name": "Clean Ltd", "percent": 45}]}}),
    )
    .unwrap();
    s.add_account(
        "acme-retail",
        json!({"kind": "organization", "organization": {"name": "Acme Retail", "owners": [
            {"name": "Bank Rossiya", "percent": 30}]}}),
    )
    .unwrap();
}

#[test]
fn the_fifty_percent_rule_lists_an_organisation_through_its_owners_accounts() {
    let s = ownership_store();
    let r = rescreen_at(&s, 2);
    // Owners' hits are stored for review but are not the organisation's own.
    assert_eq!(
        keys(&r.new_hits),
        vec![
            ("acme-holdings", Sdn, "100"),
            ("acme-holdings", Sdn, OWNERSHIP_UID),
            ("acme-retail", Sdn, "200"),
            ("acme-trading", Sdn, "200"),
            ("acme-trading", Sdn, OWNERSHIP_UID),
        ]
    );
    assert!(attribute(&s, "acme-retail").is_empty());
    let holdings = attribute(&s, "acme-holdings");
    assert_eq!(holdings.len(), 1);
    assert_eq!((holdings[0].0, holdings[0].1), (Sdn, Pending));
    assert_eq!(holdings[0].2, "ownership 60%: 60% SDN 100");

    let trading = s.hits("acme-trading").unwrap();
    let derived = trading.iter().find(|h| h.uid == OWNERSHIP_UID).unwrap();
    assert_eq!(derived.status, Pending);
    assert_eq!(derived.matched_by, vec![MatchedBy::Ownership]);
    assert_eq!(derived.score, 0.55);
    let chain = derived.ownership.as_ref().unwrap();
    assert_eq!(
        chain["explanation"],
        r#"acme-trading ← 30% "Bank Rossiya" (SDN 200, pending) + 25% via org "acme-holdings" ← 60% "Ivan Petrov" (SDN 100, pending)"#
    );
    let bank = trading.iter().find(|h| h.uid == "200").unwrap();
    assert_eq!(bank.matched_by, vec![MatchedBy::Owner(0)]);

    // Reviewers confirm the owners: the derived hits follow at once.
    s.set_disposition(
        "acme-holdings",
        Sdn,
        "100",
        ReviewDecision::Confirmed,
        "r",
        None,
        at(3),
    )
    .unwrap();
    assert_eq!(attribute(&s, "acme-holdings")[0].1, Confirmed);
    assert_eq!(attribute(&s, "acme-trading")[0].1, Pending);
    s.set_disposition(
        "acme-trading",
        Sdn,
        "200",
        ReviewDecision::Confirmed,
        "r",
        None,
        at(3),
    )
    .unwrap();
    let trading = attribute(&s, "acme-trading");
    assert_eq!((trading[0].0, trading[0].1), (Sdn, Confirmed));
    // Acme Retail's 30% confirmed owner still does not list it.
    assert!(attribute(&s, "acme-retail").is_empty());

    // A derived hit is not reviewed itself.
    let e = s
        .set_disposition(
            "acme-trading",
            Sdn,
            OWNERSHIP_UID,
            ReviewDecision::Cleared,
            "r",
            None,
            at(4),
        )
        .unwrap_err();
    assert!(matches!(e, StoreError::DerivedHit { .. }), "{e}");

    // Clearing Ivan Petrov as owner of acme-holdings undoes both.
    s.set_disposition(
        "acme-holdings",
        Sdn,
        "100",
        ReviewDecision::Cleared,
        "r",
        None,
        at(5),
    )
    .unwrap();
    assert!(attribute(&s, "acme-holdings").is_empty());
    assert!(attribute(&s, "acme-trading").is_empty());
    let r = rescreen_at(&s, 6);
    assert_eq!(r.accounts_changed, 0, "{r:?}");
}

#[test]
fn an_owner_account_with_a_hit_written_by_hand_counts_for_the_fifty_percent_rule() {
    let s = store_with(lists_v1());
    s.add_account(
        "parent",
        json!({"kind": "organization", "organization": {"name": "Parent Co"},
               "screening": [{"list": "SDN", "status": "confirmed", "entry": "vendor-9"}]}),
    )
    .unwrap();
    s.add_account(
        "child",
        json!({"kind": "organization", "organization": {"name": "Child Co", "owners": [
            {"name": "Parent Co", "percent": 51, "account": "parent"}]}}),
    )
    .unwrap();
    rescreen_at(&s, 2);
    assert_eq!(
        attribute(&s, "child"),
        vec![(Sdn, Confirmed, "ownership 51%: 51% via parent".to_owned())]
    );
    let chain = s.hits("child").unwrap()[0].ownership.clone().unwrap();
    assert_eq!(
        chain["explanation"],
        r#"child ← 51% via org "parent" (SDN vendor-9, confirmed)"#
    );
}

#[test]
fn an_entity_list_owner_makes_a_bis_affiliates_hit_not_a_fifty_percent_one() {
    let s = store_with(lists_v1());
    s.add_account(
        "parent",
        json!({"kind": "organization", "organization": {"name": "Parent Co"},
               "screening": [{"list": "EL", "status": "confirmed", "entry": "vendor-9"}]}),
    )
    .unwrap();
    for (id, country) in [("child", "DE"), ("us-child", "US")] {
        s.add_account(
            id,
            json!({"kind": "organization", "organization": {"name": format!("{id} Co"), "country": country, "owners": [
                {"name": "Parent Co", "percent": 51, "account": "parent"}]}}),
        )
        .unwrap();
    }
    rescreen_at(&s, 2);
    assert_eq!(
        attribute(&s, "child"),
        vec![(
            El,
            Confirmed,
            "affiliates rule 51%: 51% via parent".to_owned()
        )]
    );
    let hit = s
        .hits("child")
        .unwrap()
        .into_iter()
        .find(|h| h.uid == AFFILIATES_UID)
        .unwrap();
    assert_eq!(hit.ownership.unwrap()["basis"], "bis_affiliates");
    let subject = s
        .get("child")
        .unwrap()
        .unwrap()
        .to_subject(s.jurisdictions())
        .unwrap();
    assert_eq!(
        subject.screening.as_ref().unwrap()[0].basis,
        Some(cordon_subject::HitBasis::BisAffiliates)
    );
    // Recorded whatever the date; counted only while the rule is in force.
    let suspended: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    let in_force: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    assert_eq!(subject.screening_mask(Confirmed, suspended), 0);
    assert_eq!(subject.screening_mask(Confirmed, in_force), El.bit());
    // Organised in the United States: not a foreign entity, not reached.
    assert!(attribute(&s, "us-child").is_empty());
}

#[test]
fn ownership_cycles_and_unknown_owner_accounts_are_reported() {
    let s = store_with(lists_v1());
    s.add_account(
        "a-corp",
        json!({"kind": "organization", "organization": {"name": "A Corp", "owners": [
            {"name": "B Corp", "percent": 60, "account": "b-corp"},
            {"name": "Orlan Holdings", "percent": 40}]}}),
    )
    .unwrap();
    s.add_account(
        "b-corp",
        json!({"kind": "organization", "organization": {"name": "B Corp", "owners": [
            {"name": "A Corp", "percent": 60, "account": "a-corp"},
            {"name": "Ghost", "percent": 10, "account": "ghost-co"}]}}),
    )
    .unwrap();
    let r = rescreen_at(&s, 2);
    assert_eq!(
        r.ownership_cycles,
        vec![vec!["a-corp".to_owned(), "b-corp".to_owned()]]
    );
    assert_eq!(
        r.unknown_owners,
        vec![UnknownOwner {
            account: "b-corp".to_owned(),
            owner: 1,
            owner_account: "ghost-co".to_owned()
        }]
    );
    // 40% listed owner: neither is listed, the cycle adds nothing.
    assert!(attribute(&s, "a-corp").is_empty());
    assert!(attribute(&s, "b-corp").is_empty());
}

#[test]
fn an_unreadable_record_is_reported_and_the_rest_screened() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    s.add_account("broken", json!({})).unwrap();
    s.lock()
        .execute(
            "UPDATE accounts SET subject = '{\"citizenships\": [\"XZ\"]}' WHERE id = 'broken'",
            [],
        )
        .unwrap();
    // Lists imported after the accounts were created: re-screening finds the hits.
    import(&s, lists_v1(), 1);
    let r = rescreen_at(&s, 2);
    assert_eq!(r.accounts, 1);
    assert_eq!(r.unreadable.len(), 1);
    assert_eq!(r.unreadable[0].account, "broken");
    assert!(
        r.unreadable[0].message.contains("`XZ`"),
        "{:?}",
        r.unreadable
    );
    assert_eq!(keys(&r.new_hits), vec![("ivan", Sdn, "100")]);
}

/// Records a disposition the first time it is asked, as a reviewer working
/// while a re-screen runs would.
struct ReviewerMeanwhile<'a> {
    inner: Exact,
    store: &'a SqliteStore,
    done: Cell<bool>,
}

impl NameScreener for ReviewerMeanwhile<'_> {
    fn screen(
        &self,
        name: &str,
        kind: PartyKind,
        country: Option<CountryCode>,
        birth_year: Option<u16>,
    ) -> Vec<Candidate> {
        if !self.done.replace(true) {
            self.store
                .set_disposition(
                    "ivan",
                    Sdn,
                    "100",
                    ReviewDecision::Cleared,
                    "r",
                    None,
                    at(3),
                )
                .unwrap();
        }
        self.inner.screen(name, kind, country, birth_year)
    }
}

#[test]
fn a_disposition_recorded_during_a_rescreen_is_not_lost() {
    let s = store_with(lists_v1());
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    s.add_account("roe", json!({"name": "John Roe"})).unwrap();
    rescreen_at(&s, 2);
    // The run reads ivan's hit as pending, then the reviewer clears it, then
    // the run writes: the clearance must survive.
    s.set_attributes("roe", json!({"name": "Jane Roe"}))
        .unwrap();
    let screener = ReviewerMeanwhile {
        inner: Exact::active(&s),
        store: &s,
        done: Cell::new(false),
    };
    rescreen(&s, &screener, at(3)).unwrap();
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(Sdn, Cleared, "100".to_owned())]
    );
    assert!(attribute(&s, "roe").is_empty());
}

/// 100,000 accounts in a file: 1 in 100 named like a listed party, 1 in 50
/// an organisation with owners. Run with
/// `cargo test -p cordon-store --release -- --ignored --nocapture screening_100k`.
#[test]
#[ignore = "takes seconds; a measurement, run by hand"]
fn screening_100k_accounts() {
    use std::fmt::Write as _;
    use std::time::Instant;

    let dir = std::env::temp_dir().join(format!("cordon-screening-100k-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = SqliteStore::open(dir.join("identity.db")).unwrap();
    let mut entries = lists_v1();
    for i in 0..15_000 {
        entries.push(entry(
            Sdn,
            &format!("x{i}"),
            EntryKind::Entity,
            &[&format!("LISTED PARTY {i}")],
        ));
    }
    s.save_snapshot(&snapshot(entries), None, at(1)).unwrap();

    let n = 100_000;
    let mut jsonl = String::new();
    for i in 0..n {
        let name = if i % 100 == 0 {
            format!("Listed Party {}", i / 100)
        } else {
            format!("Customer {i}")
        };
        let rec = if i % 50 == 1 {
            json!({"id": format!("org-{i}"), "kind": "organization", "organization": {"name": name, "owners": [
                {"name": format!("Listed Party {}", i / 50), "percent": 50},
                {"name": "Parent", "percent": 30, "account": format!("org-{}", i.max(50) - 50 + 1)}]}})
        } else {
            json!({"id": format!("acct-{i}"), "name": name, "citizenships": ["DE"], "verification": "self_declared"})
        };
        writeln!(jsonl, "{rec}").unwrap();
    }
    let t = Instant::now();
    let r = s
        .import(
            jsonl.as_bytes(),
            crate::ImportFormat::Jsonl,
            crate::ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(r.imported, n);
    eprintln!("import: {:?}", t.elapsed());

    let screener = Exact::active(&s);
    let t = Instant::now();
    let r = rescreen(&s, &screener, at(2)).unwrap();
    let first = t.elapsed();
    eprintln!(
        "first rescreen: {first:?}, {} accounts, {} names, {} changed, {} new hits",
        r.accounts,
        r.names,
        r.accounts_changed,
        r.new_hits.len()
    );
    assert_eq!(r.accounts, n);
    assert!(r.new_hits.len() > 3000, "{}", r.new_hits.len());

    let t = Instant::now();
    let r = rescreen(&s, &screener, at(3)).unwrap();
    eprintln!(
        "unchanged rescreen: {:?}, {} changed",
        t.elapsed(),
        r.accounts_changed
    );
    assert_eq!(r.accounts_changed, 0);

    let uid = s
        .hits("org-1")
        .unwrap()
        .into_iter()
        .find(|h| h.uid != OWNERSHIP_UID)
        .unwrap()
        .uid;
    let t = Instant::now();
    s.set_disposition(
        "org-1",
        Sdn,
        &uid,
        ReviewDecision::Confirmed,
        "r",
        None,
        at(4),
    )
    .unwrap();
    eprintln!("one disposition: {:?}", t.elapsed());
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_individual_acting_for_a_listed_employer_is_screened_as_the_employer() {
    let s = store_with(lists_v1());
    s.add_account(
        "employee",
        json!({"name": "Mary Major", "organization": {"name": "North Star Micro", "country": "CN"}}),
    )
    .unwrap();
    s.add_account(
        "elsewhere",
        json!({"name": "Mary Major", "organization": {"name": "Contoso Bakery"}}),
    )
    .unwrap();
    rescreen_at(&s, 2);
    assert_eq!(
        attribute(&s, "employee"),
        vec![(El, Pending, "e-1".to_owned())]
    );
    let hits = s.hits("employee").unwrap();
    assert_eq!(hits[0].matched_by, vec![MatchedBy::Employer]);
    let recorded = s
        .subject("employee")
        .unwrap()
        .unwrap()
        .screening
        .unwrap_or_default();
    assert_eq!(recorded[0].basis, Some(cordon_subject::HitBasis::Employer));
    assert!(attribute(&s, "elsewhere").is_empty());
}

#[test]
fn rescreen_records_the_screening_of_every_account_so_only_never_screened_is_unknown() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.add_account("clean", json!({"name": "Nobody In Particular"}))
        .unwrap();
    s.add_account("nameless", json!({"citizenships": ["US"]}))
        .unwrap();
    let subject = |id: &str| {
        s.get(id)
            .unwrap()
            .unwrap()
            .to_subject(s.jurisdictions())
            .unwrap()
    };
    // Added but not yet screened: unknown, not clean.
    assert!(!subject("clean").screening_known());
    // Lists imported after the accounts were created: re-screening finds the hits.
    import(&s, lists_v1(), 1);
    let r = rescreen_at(&s, 2);
    let snapshot = r.snapshot.unwrap().0;
    for id in ["clean", "nameless"] {
        let sub = subject(id);
        assert_eq!(sub.screening, Some(Vec::new()), "{id}");
        assert_eq!(
            sub.screened.as_ref().map(|x| (x.snapshot, x.at)),
            Some((snapshot, at(2))),
            "{id}"
        );
    }
    // The same snapshot again rewrites nobody.
    let r = rescreen_at(&s, 3);
    assert_eq!(r.accounts_changed, 0, "{r:?}");
    assert_eq!(subject("clean").screened.unwrap().at, at(2));
}

#[test]
fn without_an_active_snapshot_nobody_is_recorded_as_screened() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.add_account("clean", json!({"name": "Nobody In Particular"}))
        .unwrap();
    let none = Exact {
        names: HashMap::new(),
    };
    let r = rescreen(&s, &none, at(2)).unwrap();
    assert_eq!(r.snapshot, None);
    let sub = s
        .get("clean")
        .unwrap()
        .unwrap()
        .to_subject(s.jurisdictions())
        .unwrap();
    assert!(!sub.screening_known());
}

#[test]
fn an_account_created_or_renamed_while_lists_are_active_is_screened_at_once() {
    let s = store_with(lists_v1());
    let subject = |id: &str| {
        s.get(id)
            .unwrap()
            .unwrap()
            .to_subject(s.jurisdictions())
            .unwrap()
    };
    let snapshot = s.active_snapshot().unwrap().unwrap().id.0;
    // Created between list imports: screened against the active snapshot
    // at once, not left unknown until the next import.
    s.add_account("clean", json!({"name": "Nobody In Particular"}))
        .unwrap();
    let clean = subject("clean");
    assert_eq!(clean.screening, Some(Vec::new()));
    assert_eq!(clean.screened.map(|x| x.snapshot), Some(snapshot));
    s.add_account("ivan", json!({"name": "Ivan Petrov"}))
        .unwrap();
    assert_eq!(
        attribute(&s, "ivan"),
        vec![(Sdn, Pending, "100".to_owned())]
    );
    // A new name is screened at once too.
    s.set_attributes("clean", json!({"name": "John Roe"}))
        .unwrap();
    assert_eq!(
        attribute(&s, "clean"),
        vec![(Dpl, Pending, "d-1".to_owned())]
    );
}

#[test]
fn accounts_created_while_lists_are_active_apply_ownership_at_once_and_leave_the_rest_alone() {
    let s = store_with(lists_v1());
    s.add_account("bystander", json!({"name": "Nobody In Particular"}))
        .unwrap();
    let before = s.get("bystander").unwrap().unwrap();
    add_ownership_accounts(&s);
    // Each organisation was screened as it was created, owners included: the
    // 50 percent rule applies without waiting for a re-screen.
    let holdings = attribute(&s, "acme-holdings");
    assert_eq!(holdings.len(), 1, "{holdings:?}");
    assert_eq!(holdings[0].2, "ownership 60%: 60% SDN 100");
    let trading = s.hits("acme-trading").unwrap();
    assert!(
        trading.iter().any(|h| h.uid == OWNERSHIP_UID),
        "{trading:?}"
    );
    assert!(attribute(&s, "acme-retail").is_empty());
    // Nobody else was screened again or rewritten.
    let after = s.get("bystander").unwrap().unwrap();
    assert_eq!(after.subject, before.subject);
    assert_eq!(after.updated_at, before.updated_at);
    // A re-screen against the same snapshot finds nothing new to write.
    let r = rescreen_at(&s, 2);
    assert_eq!(r.accounts_changed, 0, "{r:?}");
}

#[test]
fn a_legal_name_verified_by_webhook_is_screened_in_the_same_transaction() {
    const HASH64: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    use cordon_subject::VerificationLevel;
    use cordon_verification::{Attribute, Event, EventKind, Fact};
    let s = store_with(lists_v1());
    s.add_account("signup", json!({"name": "Jo", "verification": "none"}))
        .unwrap();
    assert!(attribute(&s, "signup").is_empty());
    let event = Event {
        account: "signup".into(),
        kind: EventKind::Completed,
        facts: vec![Fact::new(
            Attribute::Name,
            json!("Ivan Petrov"),
            VerificationLevel::DocumentVerified,
        )],
        object_id: None,
        event_time: None,
    };
    let out = s
        .record_event(crate::Delivered {
            source: "kyc",
            kind: cordon_verification::SourceKind::KycVendor,
            delivery_id: Some("d1"),
            payload_sha256: HASH64,
            event: &event,
        })
        .unwrap();
    assert!(matches!(out, crate::Intake::Accepted { .. }), "{out:?}");
    // The vendor's name is on the SDN list: a hit for review at once.
    assert_eq!(
        attribute(&s, "signup"),
        vec![(Sdn, Pending, "100".to_owned())]
    );
    // A fact screening does not read leaves the screening alone.
    let before = s.hits("signup").unwrap();
    let event = Event {
        facts: vec![Fact::new(
            Attribute::ProtectedIndividual,
            json!(false),
            VerificationLevel::DocumentVerified,
        )],
        ..event
    };
    s.record_event(crate::Delivered {
        source: "kyc",
        kind: cordon_verification::SourceKind::KycVendor,
        delivery_id: Some("d2"),
        payload_sha256: HASH64,
        event: &event,
    })
    .unwrap();
    assert_eq!(s.hits("signup").unwrap(), before);
}

/// A screener that writes down the name and kind of every query it gets.
struct KindRecorder {
    inner: Exact,
    asked: std::cell::RefCell<Vec<(String, PartyKind)>>,
}

impl NameScreener for KindRecorder {
    fn screen(
        &self,
        name: &str,
        kind: PartyKind,
        country: Option<CountryCode>,
        birth_year: Option<u16>,
    ) -> Vec<Candidate> {
        self.asked.borrow_mut().push((name.to_owned(), kind));
        self.inner.screen(name, kind, country, birth_year)
    }
}

#[test]
fn every_name_is_screened_with_the_kind_of_its_party() {
    let s = store_with(lists_v1());
    s.add_account(
        "employee",
        json!({"name": "Mary Major", "organization": {"name": "North Star Micro"}}),
    )
    .unwrap();
    add_ownership_accounts(&s);
    let recorder = KindRecorder {
        inner: Exact::active(&s),
        asked: Default::default(),
    };
    rescreen(&s, &recorder, at(2)).unwrap();
    let asked: BTreeMap<String, PartyKind> = recorder.asked.into_inner().into_iter().collect();
    let kind = |name: &str| asked.get(name).copied();
    // A person's own name as a person, the employer they act for as an
    // organisation.
    assert_eq!(kind("Mary Major"), Some(PartyKind::Person));
    assert_eq!(kind("North Star Micro"), Some(PartyKind::Organization));
    // An organisation's name, its owners as their kind says, and an owner
    // without a kind as an organisation.
    assert_eq!(kind("Acme Trading"), Some(PartyKind::Organization));
    assert_eq!(kind("Ivan Petrov"), Some(PartyKind::Person));
    assert_eq!(kind("Clean Ltd"), Some(PartyKind::Organization));
}
