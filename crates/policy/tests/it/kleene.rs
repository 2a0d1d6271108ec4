//! Soundness of three-valued evaluation: whatever a condition decides about a
//! subject with unknown attributes must stay decided once those attributes are
//! filled in, whatever their values. A shortcut that turned "unknown" into a
//! definite answer too early (fail open or fail closed) breaks this property.

use cordon_policy::{Effect, Policy};
use cordon_source::SourceFile;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::support::*;

const ATOMS: &[&str] = &[
    "subject.citizenships in [IR]",
    "subject.citizenships in [US, DE]",
    "subject.permanent_residencies in [US]",
    "subject.residence_country in [IR, CU]",
    "subject.residence_region in [UA-43]",
    "subject.residence in group(\"OFAC:comprehensive\")",
    "subject.us_person",
    "subject.protected_individual",
    "request.country in [IR, CU]",
    "request.region in [UA-43, UA-40]",
    "request.location in group(\"OFAC:comprehensive\")",
    "request.anonymizer",
    "request.max_tokens > 4096",
];

fn condition() -> impl Strategy<Value = String> {
    let atom = proptest::sample::select(ATOMS).prop_map(str::to_owned);
    atom.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| format!("not ({c})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a}) or ({b})")),
        ]
    })
}

/// A place: `(country, region)` where the region, when set, lies in the country.
const PLACES: &[(&str, Option<&str>)] = &[
    ("IR", None),
    ("DE", None),
    ("US", None),
    ("UA", Some("UA-43")),
    ("UA", Some("UA-30")),
    ("UA", None),
];

#[derive(Debug, Clone)]
struct World {
    citizenships: Option<Vec<&'static str>>,
    residencies: Option<Vec<&'static str>>,
    protected: Option<bool>,
    residence: Option<(&'static str, Option<&'static str>)>,
    request: Option<(&'static str, Option<&'static str>)>,
    anonymizer: Option<bool>,
    max_tokens: Option<u32>,
}

fn countries() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(vec!["US", "IR", "DE", "CU"], 0..=2)
}

fn place() -> impl Strategy<Value = (&'static str, Option<&'static str>)> {
    proptest::sample::select(PLACES)
}

fn world() -> impl Strategy<Value = World> {
    (
        proptest::option::of(countries()),
        proptest::option::of(countries()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(place()),
        proptest::option::of(place()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(prop_oneof![Just(100u32), Just(9000u32)]),
    )
        .prop_map(|(c, r, p, res, req, a, m)| World {
            citizenships: c,
            residencies: r,
            protected: p,
            residence: res,
            request: req,
            anonymizer: a,
            max_tokens: m,
        })
}

impl World {
    /// Fills every unknown with a value from `fill` (same shape, all known).
    fn complete(&self, fill: &World) -> World {
        // A place with a country but no region: keep the country, take the region
        // from the fill only when it is in the same country.
        let place =
            |p: Option<(&'static str, Option<&'static str>)>,
             f: Option<(&'static str, Option<&'static str>)>| match (p, f) {
                (Some((c, None)), Some((fc, fr))) if fc == c => Some((c, fr)),
                (Some(p), _) => Some(p),
                (None, f) => f,
            };
        World {
            citizenships: self
                .citizenships
                .clone()
                .or_else(|| fill.citizenships.clone()),
            residencies: self
                .residencies
                .clone()
                .or_else(|| fill.residencies.clone()),
            protected: self.protected.or(fill.protected),
            residence: place(self.residence, fill.residence),
            request: place(self.request, fill.request),
            anonymizer: self.anonymizer.or(fill.anonymizer),
            max_tokens: self.max_tokens.or(fill.max_tokens),
        }
    }

    fn subject_json(&self) -> String {
        let mut v = json!({});
        if let Some(c) = &self.citizenships {
            v["citizenships"] = json!(c);
        }
        if let Some(r) = &self.residencies {
            v["permanent_residencies"] = json!(r);
        }
        if let Some(p) = self.protected {
            v["protected_individual"] = Value::Bool(p);
        }
        if let Some((c, r)) = self.residence {
            v["residence_country"] = json!(c);
            if let Some(r) = r {
                v["residence_region"] = json!(r);
            }
        }
        v.to_string()
    }
}

fn policy_for(condition: &str) -> Policy {
    let text = format!(
        "id = \"p\"\ntitle = \"t\"\nauthority = \"a\"\ncitation = \"c\"\nissued = 2026-01-01\neffective = 2026-01-01T00:00:00Z\nmode = \"enforced\"\nmessage = \"m\"\n[unknown]\neffect = \"verification_required\"\n[[rule]]\nid = \"r\"\nwhen = '{condition}'\neffect = \"deny\"\n"
    );
    Policy::from_files(
        &[SourceFile::new("p.toml", text)],
        catalog(),
        jurisdictions(),
        &groups(),
    )
    .unwrap()
}

fn effect(p: &Policy, w: &World) -> Effect {
    let who = subject(&w.subject_json());
    let mut a = ask(p, "lyric-4").nowhere().with(|r| {
        r.anonymizer = w.anonymizer;
        r.max_tokens = w.max_tokens;
    });
    match w.request {
        Some((c, None)) => a = a.from(c),
        Some((_, Some(r))) => a = a.region(r),
        None => {}
    }
    a.decide(&who).effect
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn known_answers_survive_filling_in_unknowns(cond in condition(), partial in world(), fill in world()) {
        let p = policy_for(&cond);
        let before = effect(&p, &partial);
        // Deny means the condition was true, allow false, verification required unknown.
        if before != Effect::VerificationRequired {
            let complete = partial.complete(&fill);
            prop_assert_eq!(effect(&p, &complete), before, "condition {} partial {:?} complete {:?}", cond, partial, complete);
        }
    }
}
