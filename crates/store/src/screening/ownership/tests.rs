use super::*;

use RestrictedList::{Dpl, El, Meu, Sdn, Ssi, Uvl};
use ScreeningStatus::{Cleared, Confirmed, Pending};

fn listing(list: RestrictedList, uid: &str, status: ScreeningStatus) -> Listing {
    Listing {
        list,
        uid: uid.to_owned(),
        name: format!("ENTRY {uid}"),
        status,
    }
}

fn party(id: &str, listings: Vec<Listing>, owners: Vec<Owner>) -> Party {
    Party {
        id: id.to_owned(),
        kind: PartyKind::Organization,
        listings,
        owners,
        foreign: true,
    }
}

/// An owner known only by name, with the hits of that name.
fn named(index: usize, name: &str, percent: f64, listings: Vec<Listing>) -> Owner {
    Owner {
        index,
        name: name.to_owned(),
        percent,
        listings,
        account: None,
    }
}

/// An owner that is party `account` in the store.
fn via(index: usize, name: &str, percent: f64, account: usize) -> Owner {
    Owner {
        index,
        name: name.to_owned(),
        percent,
        listings: Vec::new(),
        account: Some(account),
    }
}

#[test]
fn fifty_percent_owned_by_a_listed_party_is_listed_and_forty_nine_is_not() {
    let parties = [
        party(
            "fifty",
            vec![],
            vec![named(0, "BANK", 50.0, vec![listing(Sdn, "1", Confirmed)])],
        ),
        party(
            "forty-nine",
            vec![],
            vec![named(0, "BANK", 49.0, vec![listing(Sdn, "1", Confirmed)])],
        ),
    ];
    let o = Ownership::resolve(&parties);
    let d = o.derived(0, ofac(Sdn)).unwrap();
    assert_eq!(d.status, Confirmed);
    assert_eq!(d.listed, 50.0);
    assert_eq!(o.status(0, Sdn), Some(Confirmed));
    assert_eq!(o.derived(1, ofac(Sdn)), None);
    assert_eq!(o.status(1, Sdn), None);
    // Listed on SDN only.
    assert_eq!(o.derived(0, rule_for(El).unwrap()), None);
}

#[test]
fn shares_of_several_listed_owners_add_up_per_list() {
    let parties = [
        party(
            "two-quarters",
            vec![],
            vec![
                named(0, "A", 25.0, vec![listing(Sdn, "1", Confirmed)]),
                named(1, "B", 25.0, vec![listing(Sdn, "2", Confirmed)]),
                named(2, "C", 50.0, vec![]),
            ],
        ),
        party(
            "thirds",
            vec![],
            vec![
                named(0, "A", 10.2, vec![listing(Sdn, "1", Confirmed)]),
                named(1, "B", 38.4, vec![listing(Sdn, "2", Confirmed)]),
                named(2, "C", 1.4, vec![listing(Sdn, "3", Confirmed)]),
            ],
        ),
        party(
            "two-lists",
            vec![],
            vec![
                named(0, "A", 30.0, vec![listing(Sdn, "1", Confirmed)]),
                named(1, "E", 30.0, vec![listing(El, "9", Confirmed)]),
            ],
        ),
    ];
    let o = Ownership::resolve(&parties);
    let d = o.derived(0, ofac(Sdn)).unwrap();
    assert_eq!((d.status, d.listed), (Confirmed, 50.0));
    assert_eq!(
        d.explanation,
        r#"two-quarters ← 25% "A" (SDN 1, confirmed) + 25% "B" (SDN 2, confirmed)"#
    );
    assert_eq!(d.label, "ownership 50%: 25% SDN 1, 25% SDN 2");
    // 10.2 + 38.4 + 1.4 is 49.99999999999999 in binary; it is 50.
    let d = o.derived(1, ofac(Sdn)).unwrap();
    assert_eq!(d.status, Confirmed);
    assert_eq!(
        d.label,
        "ownership 50%: 10.2% SDN 1, 38.4% SDN 2, 1.4% SDN 3"
    );
    // 30% on SDN and 30% on the Entity List make neither.
    assert_eq!(o.derived(2, ofac(Sdn)), None);
    assert_eq!(o.derived(2, rule_for(El).unwrap()), None);
}

#[test]
fn a_pending_owner_makes_the_derived_hit_pending_and_a_cleared_one_does_not_count() {
    let parties = [
        party(
            "mixed",
            vec![],
            vec![
                named(0, "A", 30.0, vec![listing(Sdn, "1", Confirmed)]),
                named(1, "B", 25.0, vec![listing(Sdn, "2", Pending)]),
            ],
        ),
        party(
            "confirmed-enough",
            vec![],
            vec![
                named(0, "A", 50.0, vec![listing(Sdn, "1", Confirmed)]),
                named(1, "B", 10.0, vec![listing(Sdn, "2", Pending)]),
            ],
        ),
        party(
            "cleared",
            vec![],
            vec![
                named(0, "A", 30.0, vec![listing(Sdn, "1", Confirmed)]),
                named(1, "B", 25.0, vec![listing(Sdn, "2", Cleared)]),
            ],
        ),
    ];
    let o = Ownership::resolve(&parties);
    let d = o.derived(0, ofac(Sdn)).unwrap();
    assert_eq!((d.status, d.listed, d.confirmed), (Pending, 55.0, 30.0));
    assert_eq!(d.chain["confirmed_percent"], 30.0);
    let d = o.derived(1, ofac(Sdn)).unwrap();
    assert_eq!((d.status, d.listed, d.confirmed), (Confirmed, 60.0, 50.0));
    assert_eq!(o.derived(2, ofac(Sdn)), None);
}

#[test]
fn ownership_counts_through_a_subsidiary_that_is_itself_listed_by_the_rule() {
    let parties = [
        // 0: owned 30% by a listed bank and 25% by acme-holdings.
        party(
            "acme-trading",
            vec![],
            vec![
                named(
                    0,
                    "BANK ROSSIYA",
                    30.0,
                    vec![listing(Sdn, "12345", Confirmed)],
                ),
                via(1, "Acme Holdings", 25.0, 1),
                named(2, "Clean Co", 45.0, vec![]),
            ],
        ),
        // 1: owned 60% by a listed person.
        party(
            "acme-holdings",
            vec![],
            vec![named(
                0,
                "IVAN PETROV",
                60.0,
                vec![listing(Sdn, "678", Confirmed)],
            )],
        ),
        // 2: owned 50% by acme-trading, so listed two levels down.
        party("acme-retail", vec![], vec![via(0, "Acme Trading", 50.0, 0)]),
    ];
    let o = Ownership::resolve(&parties);
    let d = o.derived(0, ofac(Sdn)).unwrap();
    assert_eq!((d.status, d.listed), (Confirmed, 55.0));
    assert_eq!(
        d.explanation,
        r#"acme-trading ← 30% "BANK ROSSIYA" (SDN 12345, confirmed) + 25% via org "acme-holdings" ← 60% "IVAN PETROV" (SDN 678, confirmed)"#
    );
    assert_eq!(d.chain["owners"][1]["account"], "acme-holdings");
    assert_eq!(
        d.chain["owners"][1]["via"]["owners"][0]["entries"][0]["uid"],
        "678"
    );
    let d = o.derived(2, ofac(Sdn)).unwrap();
    assert_eq!(d.status, Confirmed);
    assert!(
        d.explanation
            .starts_with(r#"acme-retail ← 50% via org "acme-trading" ← (30% "BANK ROSSIYA""#),
        "{}",
        d.explanation
    );
    // A subsidiary owning less than half of nothing else listed stays unlisted.
    assert_eq!(o.status(1, El), None);
}

#[test]
fn an_owner_account_listed_by_its_own_name_counts_with_its_entry() {
    let parties = [
        party("owned", vec![], vec![via(0, "Parent", 50.0, 1)]),
        party("parent", vec![listing(El, "e-7", Pending)], vec![]),
    ];
    let o = Ownership::resolve(&parties);
    let d = o.derived(0, rule_for(El).unwrap()).unwrap();
    assert_eq!(d.status, Pending);
    assert_eq!(
        d.explanation,
        r#"owned ← 50% via org "parent" (EL e-7, pending)"#
    );
}

#[test]
fn an_ownership_cycle_is_reported_and_lists_nobody_by_itself() {
    let unlisted = [
        party("a", vec![], vec![via(0, "B", 60.0, 1)]),
        party("b", vec![], vec![via(0, "A", 60.0, 0)]),
        party("c", vec![], vec![via(0, "C", 100.0, 2)]),
    ];
    let o = Ownership::resolve(&unlisted);
    for i in 0..3 {
        assert_eq!(o.status(i, Sdn), None);
        assert_eq!(o.derived(i, ofac(Sdn)), None);
    }
    assert_eq!(cycles(&unlisted), vec![vec![0, 1], vec![2]]);

    // A listed party with half of `a` lists `a`, then `b` through `a`; the
    // explanation of `a` stops where the cycle comes back to it.
    let listed = [
        party(
            "a",
            vec![],
            vec![
                via(0, "B", 40.0, 1),
                named(1, "BANK", 50.0, vec![listing(Sdn, "1", Confirmed)]),
            ],
        ),
        party("b", vec![], vec![via(0, "A", 60.0, 0)]),
    ];
    let o = Ownership::resolve(&listed);
    assert_eq!(o.status(1, Sdn), Some(Confirmed));
    let d = o.derived(0, ofac(Sdn)).unwrap();
    assert_eq!(d.listed, 90.0);
    assert_eq!(
        d.explanation,
        r#"a ← 40% via org "b" ← 60% via org "a" (ownership cycle) + 50% "BANK" (SDN 1, confirmed)"#
    );
    assert_eq!(cycles(&listed), vec![vec![0, 1]]);
}

#[test]
fn a_long_chain_is_followed_without_recursion_limits() {
    // p0 is listed by name; each next party is wholly owned by the previous.
    let n = 5000;
    let mut parties = vec![party(
        "p0",
        vec![],
        vec![named(0, "X", 100.0, vec![listing(Sdn, "1", Pending)])],
    )];
    for i in 1..n {
        parties.push(party(
            &format!("p{i}"),
            vec![],
            vec![via(0, "prev", 100.0, i - 1)],
        ));
    }
    let o = Ownership::resolve(&parties);
    assert_eq!(o.status(n - 1, Sdn), Some(Pending));
    let d = o.derived(n - 1, ofac(Sdn)).unwrap();
    assert!(d.explanation.ends_with("(…)"), "{}", d.explanation);
    assert!(cycles(&parties).is_empty());
}

#[test]
fn the_fifty_percent_rule_applies_to_sdn_and_ssi_owners_only() {
    // OFAC FAQ 398: SDN blocking, and (2014 summary) SSI. Not denial orders,
    // not the Unverified List, not the Entity List.
    for (list, derived) in [(Sdn, true), (Ssi, true), (Dpl, false), (Uvl, false)] {
        let parties = [party(
            "owned",
            vec![],
            vec![named(0, "OWNER", 60.0, vec![listing(list, "1", Confirmed)])],
        )];
        let o = Ownership::resolve(&parties);
        let got = RULES.into_iter().filter_map(|r| o.derived(0, r)).count();
        assert_eq!(got > 0, derived, "{list}");
        assert_eq!(o.status(0, list).is_some(), derived, "{list}");
    }
}

#[test]
fn the_bis_affiliates_rule_adds_entity_list_and_meu_owners_together() {
    let parties = [party(
        "affiliate",
        vec![],
        vec![
            named(0, "EL OWNER", 30.0, vec![listing(El, "e-1", Confirmed)]),
            named(1, "MEU OWNER", 25.0, vec![listing(Meu, "m-1", Confirmed)]),
        ],
    )];
    let o = Ownership::resolve(&parties);
    let d = o.derived(0, rule_for(El).unwrap()).unwrap();
    assert_eq!((d.status, d.listed), (Confirmed, 55.0));
    assert!(d.label.starts_with("affiliates rule 55%"), "{}", d.label);
    assert_eq!(d.chain["basis"], "bis_affiliates");
    // Neither list is reached by OFAC's rule.
    assert_eq!(o.derived(0, ofac(Sdn)), None);
}

#[test]
fn the_bis_affiliates_rule_reaches_foreign_entities_only() {
    let mut us = party(
        "us-affiliate",
        vec![],
        vec![named(
            0,
            "EL OWNER",
            60.0,
            vec![listing(El, "e-1", Confirmed)],
        )],
    );
    us.foreign = false;
    let parties = [us];
    let o = Ownership::resolve(&parties);
    assert_eq!(o.derived(0, rule_for(El).unwrap()), None);
    assert_eq!(o.status(0, El), None);
}
