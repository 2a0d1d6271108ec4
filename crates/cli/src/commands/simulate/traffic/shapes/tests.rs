use cordon_audit::leaf::{self, AdminRecord, Mode, Obligations, Source};
use cordon_audit::{DecisionRecord, Record};

use super::*;

fn decision(account: Option<&str>, model: &str, country: &str, effect: &str) -> DecisionRecord {
    DecisionRecord {
        id: "dec_1".into(),
        time: "2026-11-26T10:00:00.250Z".into(),
        account: account.map(Into::into),
        model_requested: model.into(),
        model: Some(model.into()),
        endpoint: "chat".into(),
        effect: effect.into(),
        mode: Mode::Enforced,
        decided_by: None,
        consulted: vec!["a".into()],
        obligations: Obligations::default(),
        attributes: Vec::new(),
        policy_version: "sha256:0".into(),
        client_country: Some(country.into()),
        client_region: None,
        anonymizer: Some(false),
        source: Source::Gateway,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    }
}

fn encode(d: DecisionRecord) -> Vec<u8> {
    leaf::encode(&Record::Decision(d)).unwrap()
}

fn outcomes(c: &Counts, account: &str) -> Vec<(Shape, LoggedOutcomes)> {
    let n = c.accounts.get(account).unwrap();
    let mut v: Vec<_> = c
        .pairs
        .iter()
        .filter(|((a, _), _)| *a == n)
        .map(|((_, s), o)| (c.shapes[*s as usize].clone(), *o))
        .collect();
    v.sort_by(|a, b| (&a.0.model, &a.0.features).cmp(&(&b.0.model, &b.0.features)));
    v
}

fn leaves() -> Vec<Vec<u8>> {
    let mut tools = decision(Some("a"), "fable-5", "DE", "allow");
    tools.features = vec!["tools".into()];
    let mut early = decision(Some("a"), "fable-5", "DE", "allow");
    early.time = "2026-11-01T00:00:00Z".into();
    let admin = AdminRecord {
        id: "adm_1".into(),
        time: "2026-11-26T09:00:00Z".into(),
        actor: "system".into(),
        action: "directives.activated".into(),
        subject: None,
        details: Default::default(),
    };
    vec![
        encode(decision(Some("a"), "fable-5", "DE", "allow")),
        encode(decision(Some("a"), "fable-5", "DE", "allow")),
        encode(decision(Some("a"), "fable-5", "DE", "deny")),
        encode(decision(Some("a"), "fable-4", "DE", "allow")),
        encode(tools),
        encode(decision(
            Some("b"),
            "fable-5",
            "DE",
            "verification_required",
        )),
        encode(decision(None, "fable-5", "DE", "allow")),
        encode(early),
        leaf::encode(&Record::Admin(admin)).unwrap(),
        br#"{"v":2,"kind":"decision"}"#.to_vec(),
        b"not json".to_vec(),
    ]
}

fn since() -> Option<Timestamp> {
    Some("2026-11-20T00:00:00Z".parse().unwrap())
}

#[test]
fn decisions_are_counted_by_account_shape_and_logged_outcome() {
    let mut c = Counts::default();
    for l in leaves() {
        c.leaf(&l, since());
    }
    assert_eq!(c.no_account, 1);
    assert_eq!(c.undecodable, 2, "a newer version and a broken leaf");
    assert_eq!(c.accounts.len(), 2);
    assert_eq!(
        c.shapes.len(),
        3,
        "fable-5, fable-4, fable-5 with tools; b's is a's first"
    );
    let a = outcomes(&c, "a");
    let fable5: Vec<_> = a
        .iter()
        .filter(|(s, _)| s.model == "fable-5")
        .map(|(s, o)| (s.features.clone(), (o.allowed, o.refused, o.other)))
        .collect();
    assert!(fable5.contains(&(vec![], (2, 1, 0))), "{fable5:?}");
    assert!(
        fable5.contains(&(vec!["tools".into()], (1, 0, 0))),
        "{fable5:?}"
    );
    let b = outcomes(&c, "b");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].1.refused, 1);
    assert_eq!(
        c.first.map(|t| t.to_string()).as_deref(),
        Some("2026-11-26T10:00:00.25Z")
    );
}

#[test]
fn counts_merged_from_workers_equal_counts_of_one() {
    let all = leaves();
    let mut one = Counts::default();
    for l in &all {
        one.leaf(l, since());
    }
    let (mut x, mut y) = (Counts::default(), Counts::default());
    // The second worker sees its accounts and shapes in another order.
    for (k, l) in all.iter().enumerate().rev() {
        if k % 2 == 0 { &mut x } else { &mut y }.leaf(l, since());
    }
    x.merge(y);
    assert_eq!(x.no_account, one.no_account);
    assert_eq!(x.undecodable, one.undecodable);
    assert_eq!((x.first, x.last), (one.first, one.last));
    assert_eq!(x.shapes.len(), one.shapes.len());
    for account in ["a", "b"] {
        assert_eq!(outcomes(&x, account), outcomes(&one, account), "{account}");
    }
}

#[test]
fn an_escaped_string_is_read_like_a_plain_one() {
    let plain = encode(decision(Some("a\"b"), "fable-5", "DE", "allow"));
    assert!(String::from_utf8_lossy(&plain).contains(r#""account":"a\"b""#));
    let mut c = Counts::default();
    c.leaf(&plain, None);
    assert_eq!(c.undecodable, 0);
    assert!(c.accounts.get("a\"b").is_some());
}

#[test]
fn each_account_gets_its_own_entries() {
    let mut pairs: QuickMap<(u32, u32), LoggedOutcomes> = QuickMap::default();
    let o = |n| LoggedOutcomes {
        allowed: n,
        ..LoggedOutcomes::default()
    };
    pairs.insert((2, 7), o(1));
    pairs.insert((0, 3), o(2));
    pairs.insert((2, 5), o(3));
    let by = ByAccount::new(4, pairs);
    assert_eq!(by.of(0), [(3, o(2))]);
    assert!(by.of(1).is_empty());
    let mut two = by.of(2).to_vec();
    two.sort_by_key(|(s, _)| *s);
    assert_eq!(two, [(5, o(3)), (7, o(1))]);
    assert!(by.of(3).is_empty());
    assert!(by.of(9).is_empty(), "out of range");
}

#[test]
fn the_hasher_spreads_nearby_keys() {
    use std::hash::BuildHasher;
    let b = BuildHasherDefault::<Quick>::default();
    let mut top = std::collections::HashSet::new();
    for a in 0u32..256 {
        top.insert(b.hash_one((a, 0u32)) >> 57);
    }
    assert!(top.len() > 64, "only {} of 128 control values", top.len());
    assert_ne!(b.hash_one("acct-000000001"), b.hash_one("acct-000000002"));
}

#[test]
fn short_and_long_account_ids_are_numbered_alike() {
    let long = "acct-".repeat(10);
    let mut a = Accounts::default();
    assert_eq!(a.intern("acct-000000001"), 0);
    assert_eq!(a.intern(&long), 1);
    assert_eq!(a.intern(""), 2);
    assert_eq!(a.intern("acct-000000001"), 0);
    assert_eq!(a.intern(&long), 1);
    assert_eq!(a.intern("x".repeat(INLINE).as_str()), 3);
    assert_eq!(a.intern("x".repeat(INLINE + 1).as_str()), 4);
    assert_eq!(a.len(), 5);
    assert_eq!(a.get("acct-000000001"), Some(0));
    assert_eq!(
        a.get("acct-000000001\0"),
        None,
        "padding is not part of the id"
    );
    assert_eq!(a.get("acct"), None);
    let mut all: Vec<(String, u32)> = a.iter().map(|(id, n)| (id.to_owned(), n)).collect();
    all.sort_by_key(|(_, n)| *n);
    let ids: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "acct-000000001",
            &long,
            "",
            &"x".repeat(INLINE),
            &"x".repeat(INLINE + 1)
        ]
    );
}
