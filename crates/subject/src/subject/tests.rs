use super::*;
use crate::VerificationLevel as L;

fn at() -> Timestamp {
    "2026-11-27T00:00:00Z".parse().unwrap()
}

fn cc(s: &str) -> CountryCode {
    CountryCode::parse(s).unwrap()
}

fn codes(list: &[(&str, L)]) -> Option<Vec<Attested<CountryCode>>> {
    Some(list.iter().map(|(c, l)| Attested::new(cc(c), *l)).collect())
}

#[test]
fn a_verified_us_citizen_is_a_us_person_even_as_a_dual_national() {
    let s = Subject {
        citizenships: codes(&[("IR", L::DocumentVerified), ("US", L::DocumentVerified)]),
        ..Subject::default()
    };
    let f = s.us_person(L::DocumentVerified, at());
    assert_eq!(f.truth, Truth::True);
    assert_eq!(f.basis, Some(UsPersonBasis::Citizen));
}

#[test]
fn a_self_declared_us_citizenship_is_unknown_when_documents_are_required() {
    let s = Subject {
        citizenships: codes(&[("US", L::SelfDeclared)]),
        ..Subject::default()
    };
    assert_eq!(s.us_person(L::DocumentVerified, at()).truth, Truth::Unknown);
    assert_eq!(s.us_person(L::SelfDeclared, at()).truth, Truth::True);
}

#[test]
fn a_foreign_national_is_known_not_a_us_person_only_when_every_ground_is_known() {
    let mut s = Subject {
        citizenships: codes(&[("DE", L::DocumentVerified)]),
        ..Subject::default()
    };
    assert_eq!(
        s.us_person(L::DocumentVerified, at()).truth,
        Truth::Unknown,
        "residency not recorded"
    );
    s.permanent_residencies = codes(&[]);
    assert_eq!(
        s.us_person(L::DocumentVerified, at()).truth,
        Truth::Unknown,
        "protected status not recorded"
    );
    s.protected_individual = Some(Attested::new(false, L::DocumentVerified));
    let f = s.us_person(L::DocumentVerified, at());
    assert_eq!(
        (f.truth, f.basis),
        (Truth::False, Some(UsPersonBasis::NoneApplies))
    );
}

#[test]
fn a_green_card_holder_is_a_us_person() {
    let s = Subject {
        citizenships: codes(&[("IN", L::DocumentVerified)]),
        permanent_residencies: codes(&[("US", L::DocumentVerified)]),
        ..Subject::default()
    };
    assert_eq!(
        s.us_person(L::DocumentVerified, at()).basis,
        Some(UsPersonBasis::PermanentResident)
    );
}

#[test]
fn an_explicit_status_overrides_the_derivation() {
    let s = Subject {
        citizenships: codes(&[("DE", L::DocumentVerified)]),
        us_person: Some(Attested::new(false, L::Attested)),
        ..Subject::default()
    };
    assert_eq!(s.us_person(L::DocumentVerified, at()).truth, Truth::False);
}

#[test]
fn expired_verification_counts_as_unknown() {
    let mut a = Attested::new(cc("US"), L::DocumentVerified);
    a.provenance.expires = Some("2026-01-01T00:00:00Z".parse().unwrap());
    let s = Subject {
        citizenships: Some(vec![a]),
        ..Subject::default()
    };
    assert_eq!(s.us_person(L::DocumentVerified, at()).truth, Truth::Unknown);
}

#[test]
fn organisations_are_us_persons_when_incorporated_in_the_us() {
    let org = |c: &str| Organization {
        country: Some(Attested::new(cc(c), L::Attested)),
        ..Organization::named(Attested::new("X".into(), L::Attested))
    };
    let s = Subject {
        kind: SubjectKind::Organization,
        organization: Some(org("US")),
        ..Subject::default()
    };
    assert_eq!(
        s.us_person(L::DocumentVerified, at()).basis,
        Some(UsPersonBasis::UsIncorporated)
    );
    let s = Subject {
        kind: SubjectKind::Organization,
        organization: Some(org("CN")),
        ..Subject::default()
    };
    assert_eq!(s.us_person(L::DocumentVerified, at()).truth, Truth::False);
}

#[test]
fn weakly_verified_entries_make_membership_unknown_not_false() {
    let set: CountrySet = [cc("IR")].into_iter().collect();
    let s = Subject {
        citizenships: codes(&[("DE", L::DocumentVerified), ("IR", L::SelfDeclared)]),
        ..Subject::default()
    };
    assert_eq!(
        s.citizenship_in(&set, L::DocumentVerified, at()),
        Truth::Unknown
    );
    assert_eq!(s.citizenship_in(&set, L::SelfDeclared, at()), Truth::True);
    let s = Subject {
        citizenships: codes(&[("DE", L::DocumentVerified)]),
        ..Subject::default()
    };
    assert_eq!(
        s.citizenship_in(&set, L::DocumentVerified, at()),
        Truth::False
    );
    assert_eq!(
        Subject::default().citizenship_in(&set, L::None, at()),
        Truth::Unknown
    );
}
