//! The generator end to end: every record a valid subject, the configured
//! shares met, the output reproducible.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

use std::collections::BTreeMap;

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_population::{Generator, GeneratorOptions, Population, Shares, VerificationMix};
use cordon_subject::{SubjectRecord, Truth, VerificationLevel};
use proptest::prelude::*;
use serde_json::Value;

fn population() -> &'static Population {
    Population::embedded().unwrap()
}

fn generate(options: GeneratorOptions) -> Vec<(String, Value)> {
    Generator::new(population(), options).unwrap().collect()
}

/// Checks a record as the store does on import, and builds its subject.
fn subject(id: &str, record: &Value) -> cordon_subject::Subject {
    cordon_store::validate_account_id(id).unwrap();
    SubjectRecord::from_value(record.clone())
        .into_subject(Jurisdictions::embedded().unwrap())
        .unwrap_or_else(|e| panic!("{id}: {e}\n{record}"))
}

#[test]
fn ten_thousand_records_are_valid_subjects() {
    let at = "2026-12-10T00:00:00Z".parse().unwrap();
    let mut us_person = BTreeMap::new();
    for (id, record) in generate(GeneratorOptions::new(10_000, 1)) {
        let s = subject(&id, &record);
        let truth = s.us_person(VerificationLevel::DocumentVerified, at).truth;
        *us_person.entry(format!("{truth:?}")).or_insert(0u32) += 1;
    }
    // Verified accounts are determinable either way; the rest are unknown.
    let get = |t: Truth| us_person.get(&format!("{t:?}")).copied().unwrap_or(0);
    assert!(get(Truth::False) > 1500, "{us_person:?}");
    assert!(get(Truth::True) > 20, "{us_person:?}");
    assert!(get(Truth::Unknown) > 6000, "{us_person:?}");
}

#[test]
fn same_seed_same_records_other_seed_other_records() {
    let a = generate(GeneratorOptions::new(500, 7));
    let b = generate(GeneratorOptions::new(500, 7));
    assert_eq!(a, b);
    let c = generate(GeneratorOptions::new(500, 8));
    assert_ne!(a, c);
    // A smaller count is a prefix of a larger one.
    let d = generate(GeneratorOptions::new(200, 7));
    assert_eq!(a[..200], d[..]);
}

#[test]
fn the_output_of_a_seed_is_pinned() {
    // Changing the generator changes every stored population; make it deliberate.
    let (id, record) = Generator::new(population(), GeneratorOptions::new(1, 1))
        .unwrap()
        .record(1);
    assert_eq!(id, "acct-000000001");
    let records: Vec<String> = generate(GeneratorOptions::new(6, 1))
        .into_iter()
        .map(|(id, r)| format!("{id} {r}"))
        .collect();
    assert_eq!(records[0], format!("{id} {record}"));
    insta::assert_snapshot!(records.join("\n"));
}

/// The fraction of `records` for which `f` holds, among those where `among` holds.
fn share(
    records: &[(String, Value)],
    among: impl Fn(&Value) -> bool,
    f: impl Fn(&Value) -> bool,
) -> (f64, usize) {
    let base: Vec<&Value> = records
        .iter()
        .map(|(_, r)| r)
        .filter(|r| among(r))
        .collect();
    let hits = base.iter().filter(|r| f(r)).count();
    (hits as f64 / base.len().max(1) as f64, base.len())
}

fn codes(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|l| {
            l.iter()
                .map(|c| c.as_str().or(c["country"].as_str()).unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn close(name: &str, (got, n): (f64, usize), want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{name}: {got:.4} of {n}, configured {want}"
    );
}

#[test]
fn shares_match_the_configuration_for_100k_accounts() {
    // Non-default shares, so a generator that ignored them would fail.
    let shares = Shares {
        verification: VerificationMix {
            none: 0.3,
            self_declared: 0.3,
            document_verified: 0.3,
            attested: 0.1,
        },
        organization_account: 0.04,
        residence_in_citizenship: 0.8,
        dual_citizenship: 0.1,
        dual_with_us: 0.3,
        us_permanent_resident: 0.6,
        protected_individual: 0.2,
        second_citizenship_self_declared: 0.4,
        organization_member: 0.25,
        licensed_member: 0.02,
    };
    let mut options = GeneratorOptions::new(100_000, 3);
    options.shares = shares;
    let all = generate(options);
    let any = |_: &Value| true;
    let person = |r: &Value| r.get("kind").is_none();
    let level = |l: &'static str| move |r: &Value| r["verification"] == l;
    close("none", share(&all, any, level("none")), 0.3, 0.01);
    close(
        "self_declared",
        share(&all, any, level("self_declared")),
        0.3,
        0.01,
    );
    close(
        "document_verified",
        share(&all, any, level("document_verified")),
        0.3,
        0.01,
    );
    close("attested", share(&all, any, level("attested")), 0.1, 0.01);
    close(
        "organisations",
        share(&all, any, |r| r["kind"] == "organization"),
        0.04,
        0.005,
    );

    let recorded = |r: &Value| person(r) && r.get("citizenships").is_some();
    close(
        "no citizenship at level none",
        share(
            &all,
            |r| person(r) && level("none")(r),
            |r| r.get("citizenships").is_none(),
        ),
        1.0,
        0.0,
    );
    let dual = |r: &Value| codes(&r["citizenships"]).len() == 2;
    close("dual", share(&all, recorded, dual), 0.1, 0.01);
    close(
        "dual with US",
        share(
            &all,
            |r| recorded(r) && dual(r) && codes(&r["citizenships"])[0] != "US",
            |r| codes(&r["citizenships"])[1] == "US",
        ),
        // Forced to the US, or drawn as the US by population share.
        0.3 + 0.7 * population().share(CountryCode::US),
        0.03,
    );
    close(
        "residence in a citizenship",
        share(&all, recorded, |r| {
            codes(&r["citizenships"])
                .iter()
                .any(|c| r["residence_country"] == c.as_str())
        }),
        0.8,
        0.01,
    );
    let verified = |r: &Value| {
        person(r) && r["permanent_residencies"].is_array() && r["protected_individual"].is_boolean()
    };
    let foreigner_in_us = |r: &Value| {
        verified(r)
            && r["residence_country"] == "US"
            && !codes(&r["citizenships"]).contains(&"US".to_owned())
    };
    let lpr = |r: &Value| codes(&r["permanent_residencies"]) == ["US"];
    close("green cards", share(&all, foreigner_in_us, lpr), 0.6, 0.1);
    close(
        "protected",
        share(
            &all,
            |r| foreigner_in_us(r) && !lpr(r),
            |r| r["protected_individual"] == true,
        ),
        0.2,
        0.12,
    );
    close(
        "second citizenship self-declared",
        share(
            &all,
            |r| verified(r) && dual(r),
            |r| r["citizenships"][1].is_object(),
        ),
        0.4,
        0.04,
    );
    let org = |name: &'static str| {
        move |r: &Value| {
            r["organization"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(name))
        }
    };
    close(
        "licensed members",
        share(&all, person, org("Northwind Labs")),
        0.02,
        0.003,
    );
    close(
        "organisation members",
        share(&all, person, org("Company ")),
        0.25,
        0.01,
    );

    // Citizenship follows population share.
    for code in ["CN", "IN", "US", "DE"] {
        let want = population().share(code.parse::<CountryCode>().unwrap());
        close(
            code,
            share(&all, recorded, |r| codes(&r["citizenships"])[0] == code),
            want,
            0.006,
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_valid_options_give_valid_reproducible_records(
        seed in any::<u64>(),
        levels in (0.0..1.0f64, 0.0..1.0f64, 0.0..1.0f64),
        org_account in 0.0..=1.0f64,
        residence in 0.0..=1.0f64,
        dual in 0.0..=1.0f64,
        dual_us in 0.0..=1.0f64,
        lpr in 0.0..=1.0f64,
        protected in 0.0..=1.0f64,
        second in 0.0..=1.0f64,
        member in 0.0..=0.5f64,
        licensed in 0.0..=0.5f64,
        organizations in 1u32..50,
    ) {
        // Split [0, 1] at three sorted points into the four levels.
        let mut cuts = [levels.0, levels.1, levels.2];
        cuts.sort_by(f64::total_cmp);
        let mut options = GeneratorOptions::new(150, seed);
        options.organizations = organizations;
        options.shares = Shares {
            verification: VerificationMix {
                none: cuts[0],
                self_declared: cuts[1] - cuts[0],
                document_verified: cuts[2] - cuts[1],
                attested: 1.0 - cuts[2],
            },
            organization_account: org_account,
            residence_in_citizenship: residence,
            dual_citizenship: dual,
            dual_with_us: dual_us,
            us_permanent_resident: lpr,
            protected_individual: protected,
            second_citizenship_self_declared: second,
            organization_member: member,
            licensed_member: licensed,
        };
        let first = generate(options.clone());
        prop_assert_eq!(first.len(), 150);
        for (id, record) in &first {
            subject(id, record);
        }
        prop_assert_eq!(first, generate(options));
    }
}
