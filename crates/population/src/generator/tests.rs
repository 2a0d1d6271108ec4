use super::*;
use crate::options::{Shares, VerificationMix};

fn population() -> &'static Population {
    Population::embedded().unwrap()
}

fn generate(options: GeneratorOptions) -> Vec<(String, Value)> {
    Generator::new(population(), options).unwrap().collect()
}

fn only(level: VerificationMix) -> GeneratorOptions {
    let mut o = GeneratorOptions::new(300, 9);
    o.shares.verification = level;
    o.shares.organization_account = 0.0;
    o
}

const NONE: VerificationMix = VerificationMix {
    none: 1.0,
    self_declared: 0.0,
    document_verified: 0.0,
    attested: 0.0,
};
const DOCUMENT: VerificationMix = VerificationMix {
    none: 0.0,
    self_declared: 0.0,
    document_verified: 1.0,
    attested: 0.0,
};

#[test]
fn ids_and_names_follow_the_index() {
    assert_eq!(account_id(123), "acct-000000123");
    assert_eq!(account_id(1_000_000_000), "acct-1000000000");
    let g = Generator::new(population(), GeneratorOptions::new(2, 1)).unwrap();
    assert_eq!(g.size_hint(), (2, Some(2)));
    let all: Vec<_> = g.collect();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].0, "acct-000000002");
}

#[test]
fn unverified_accounts_record_no_citizenship() {
    for (_, r) in generate(only(NONE)) {
        assert_eq!(r["verification"], "none");
        assert!(r.get("citizenships").is_none(), "{r}");
        assert!(r.get("permanent_residencies").is_none(), "{r}");
        assert!(r.get("residence_country").is_some(), "{r}");
    }
}

#[test]
fn verified_accounts_record_every_us_person_ground_and_dates() {
    let as_of = GeneratorOptions::new(0, 0).as_of;
    let records = generate(only(DOCUMENT));
    for (_, r) in &records {
        assert!(
            r["citizenships"].as_array().is_some_and(|c| !c.is_empty()),
            "{r}"
        );
        assert!(r["permanent_residencies"].is_array(), "{r}");
        assert!(r["protected_individual"].is_boolean(), "{r}");
        let verified: Timestamp = r["verified_at"].as_str().unwrap().parse().unwrap();
        let expires: Timestamp = r["expires"].as_str().unwrap().parse().unwrap();
        assert!(verified <= as_of && expires > as_of, "{r}");
    }
}

#[test]
fn dual_nationals_get_two_distinct_citizenships_some_self_declared() {
    let mut o = only(DOCUMENT);
    o.shares.dual_citizenship = 1.0;
    o.shares.dual_with_us = 0.5;
    o.shares.second_citizenship_self_declared = 0.5;
    let (mut with_us, mut self_declared) = (0, 0);
    for (_, r) in generate(o) {
        let list = r["citizenships"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{r}");
        let code = |v: &Value| v.as_str().or(v["country"].as_str()).unwrap().to_owned();
        assert_ne!(code(&list[0]), code(&list[1]), "{r}");
        with_us += usize::from(code(&list[1]) == "US");
        self_declared += usize::from(list[1].is_object());
    }
    assert!((100..200).contains(&with_us), "{with_us}");
    assert!((100..200).contains(&self_declared), "{self_declared}");
}

#[test]
fn licensed_members_are_attested_and_organisation_accounts_are_entities() {
    let mut o = GeneratorOptions::new(200, 4);
    o.shares.licensed_member = 1.0;
    o.shares.organization_member = 0.0;
    o.shares.organization_account = 0.0;
    for (_, r) in generate(o) {
        assert_eq!(r["organization"]["name"], "Northwind Labs", "{r}");
        assert_eq!(r["organization"]["verification"], "attested", "{r}");
    }
    let mut o = GeneratorOptions::new(50, 4);
    o.shares.organization_account = 1.0;
    o.organizations = 3;
    let g = Generator::new(population(), o).unwrap();
    let names: Vec<String> = g.organizations().iter().map(|x| x.name.clone()).collect();
    assert_eq!(names, ["Company 0001", "Company 0002", "Company 0003"]);
    for (_, r) in g {
        assert_eq!(r["kind"], "organization");
        assert!(names.iter().any(|n| r["name"] == n.as_str()), "{r}");
        assert_eq!(r["name"], r["organization"]["name"]);
        assert!(r.get("citizenships").is_none(), "{r}");
    }
}

#[test]
fn foreigners_in_the_us_get_green_cards_and_protection() {
    let mut o = only(DOCUMENT);
    o.count = 3000;
    o.shares.residence_in_citizenship = 0.0;
    o.shares.dual_citizenship = 0.0;
    o.shares.us_permanent_resident = 0.5;
    o.shares.protected_individual = 1.0;
    let (mut lpr, mut protected, mut in_us) = (0, 0, 0);
    for (_, r) in generate(o) {
        let lists_us = r["permanent_residencies"] == serde_json::json!(["US"]);
        let is_protected = r["protected_individual"] == true;
        if r["residence_country"] == "US" {
            in_us += 1;
            // Every non-LPR foreigner in the US is protected at share 1.
            assert!(lists_us != is_protected, "{r}");
        } else {
            assert!(!lists_us && !is_protected, "{r}");
        }
        lpr += usize::from(lists_us);
        protected += usize::from(is_protected);
    }
    assert!(in_us > 50, "{in_us}");
    assert!(lpr > 0 && protected > 0, "{lpr} {protected}");
}

#[test]
fn bad_options_are_refused_with_the_share_named() {
    let check = |f: &dyn Fn(&mut GeneratorOptions), needle: &str| {
        let mut o = GeneratorOptions::new(1, 1);
        f(&mut o);
        let e = Generator::new(population(), o).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    };
    check(
        &|o| o.shares.dual_citizenship = 1.5,
        "`dual_citizenship` is 1.5",
    );
    check(&|o| o.shares.licensed_member = -0.1, "`licensed_member`");
    check(
        &|o| o.shares.residence_in_citizenship = f64::NAN,
        "`residence_in_citizenship`",
    );
    check(&|o| o.shares.verification.none = 0.5, "add up to 1.1");
    check(&|o| o.organizations = 0, "`organizations` is 0");
    check(
        &|o| {
            o.shares.organization_member = 0.6;
            o.shares.licensed_member = 0.5;
        },
        "more than 1",
    );
    let mut fine = GeneratorOptions::new(1, 1);
    fine.organizations = 0;
    fine.shares = Shares {
        organization_member: 0.0,
        organization_account: 0.0,
        ..Shares::default()
    };
    assert!(Generator::new(population(), fine).is_ok());
}

#[test]
fn the_default_as_of_parses() {
    let t: Timestamp = crate::DEFAULT_AS_OF.parse().unwrap();
    assert_eq!(GeneratorOptions::new(1, 1).as_of, t);
}
