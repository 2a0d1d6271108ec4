use cordon_subject::VerificationLevel::{self, Attested, DocumentVerified, None, SelfDeclared};
use cordon_verification::SourceKind;

use super::*;

fn verify(levels: &[VerificationLevel]) -> Vec<Verify> {
    levels
        .iter()
        .enumerate()
        .map(|(i, l)| Verify {
            attribute: format!("subject.attribute_{i}"),
            level: *l,
        })
        .collect()
}

#[test]
fn a_way_restores_what_it_can_establish_at_the_level_asked() {
    let kyc = Way::source("kyc", SourceKind::KycVendor, DocumentVerified);
    assert!(kyc.restores(&verify(&[DocumentVerified]), false));
    assert!(kyc.restores(&verify(&[SelfDeclared, DocumentVerified]), false));
    assert!(kyc.restores(&verify(&[None]), false), "below its level");
    assert!(
        !kyc.restores(&verify(&[DocumentVerified, Attested]), false),
        "every attribute must be within reach"
    );
    let weak = Way::source("form", SourceKind::KycVendor, SelfDeclared);
    assert!(!weak.restores(&verify(&[DocumentVerified]), false));
    assert!(weak.restores(&verify(&[SelfDeclared]), true));
}

#[test]
fn nothing_to_verify_is_restored_by_no_way() {
    for way in [
        Way::self_declaration(),
        Way::organisation_attestation(),
        Way::source("kyc", SourceKind::KycVendor, Attested),
    ] {
        assert!(!way.restores(&[], true), "{}", way.name);
    }
}

#[test]
fn self_declaration_reaches_only_self_declared() {
    let way = Way::self_declaration();
    assert_eq!(way.name, "self-declaration");
    assert_eq!(way.kind, SourceKind::SelfDeclaration);
    assert!(way.restores(&verify(&[SelfDeclared]), false));
    assert!(way.restores(&verify(&[None, SelfDeclared]), false));
    assert!(!way.restores(&verify(&[DocumentVerified]), false));
    assert!(way.startable());
}

#[test]
fn an_attestation_reaches_every_level_but_only_for_members_of_an_organisation() {
    let way = Way::organisation_attestation();
    assert!(way.restores(&verify(&[Attested, DocumentVerified]), true));
    assert!(!way.restores(&verify(&[SelfDeclared]), false));
    assert!(!way.startable(), "the organisation attests, not the member");
}

#[test]
fn an_issuer_reaches_the_highest_level_of_its_trust_frameworks() {
    let way = Way::issuer("corp-sso", [SelfDeclared, DocumentVerified, SelfDeclared]).unwrap();
    assert_eq!(way.kind, SourceKind::Oidc);
    assert_eq!(way.max_level, DocumentVerified);
    assert!(way.restores(&verify(&[DocumentVerified]), false));
    assert!(!way.restores(&verify(&[Attested]), false));
    assert_eq!(Way::issuer("no-frameworks", []), Option::None);
}

#[test]
fn a_need_is_met_only_when_every_cell_is() {
    let kyc = Way::source("kyc", SourceKind::KycVendor, DocumentVerified);
    let mut need = Need::default();
    assert!(
        !need.any() && !need.met_by(&kyc, false),
        "no cell, nothing to restore"
    );
    need.add(&verify(&[SelfDeclared]));
    assert!(need.met_by(&kyc, false));
    assert!(need.met_by(&Way::self_declaration(), false));
    need.add(&verify(&[DocumentVerified]));
    assert!(need.met_by(&kyc, false));
    assert!(!need.met_by(&Way::self_declaration(), false));
    need.add(&[]);
    assert!(
        need.any() && !need.met_by(&kyc, false),
        "a cell no way restores"
    );
}
