//! Ways of verifying: which of them could give back access to an account
//! that a proposed set asks to verify.
//!
//! A way restores a `verification_required` (or
//! `verification_required_after_grace`) cell when it can establish every
//! attribute the proposed set's explanation asks for at the level asked:
//! each attribute's `min_verification` is at or below the way's highest
//! level, and the account may use the way at all (an organisation's
//! attestation only covers its members). A cell whose explanation asks for
//! nothing is refused on what is already known, so no way restores it.

use cordon_subject::VerificationLevel;
use cordon_verification::SourceKind;
use serde::Serialize;

use crate::{Transition, Verify};

/// The transitions a way of verifying can undo, in report order.
pub(crate) const RESTORABLE: [Transition; 2] = crate::report::VerifyAccounts::TRANSITIONS;

/// A transition's index in [`RESTORABLE`].
pub(crate) fn restorable_index(t: Transition) -> Option<usize> {
    RESTORABLE.iter().position(|r| *r == t)
}

/// One way a refused customer can verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Way {
    /// Its name: a configured source or issuer, [`Way::SELF_DECLARATION`] or
    /// [`Way::ORGANISATION_ATTESTATION`].
    pub name: String,
    /// What kind of party records the facts.
    pub kind: SourceKind,
    /// The highest level the facts it records can have.
    pub max_level: VerificationLevel,
    /// Only for accounts that belong to an organisation (`organization.name`
    /// recorded): an organisation attests for its members.
    pub organisations_only: bool,
}

impl Way {
    /// The name of self-declaration, the source its facts are recorded under.
    pub const SELF_DECLARATION: &'static str = "self-declaration";
    /// The name of organisation attestation.
    pub const ORGANISATION_ATTESTATION: &'static str = "organisation-attestation";

    /// The customer's own declaration: always available, `self_declared`.
    pub fn self_declaration() -> Way {
        Way {
            name: Self::SELF_DECLARATION.to_owned(),
            kind: SourceKind::SelfDeclaration,
            max_level: VerificationLevel::SelfDeclared,
            organisations_only: false,
        }
    }

    /// An organisation's attestation about its members: `attested`, only for
    /// accounts that belong to an organisation.
    pub fn organisation_attestation() -> Way {
        Way {
            name: Self::ORGANISATION_ATTESTATION.to_owned(),
            kind: SourceKind::OrgAttestation,
            max_level: VerificationLevel::Attested,
            organisations_only: true,
        }
    }

    /// A webhook source (`[[verification.source]]`) of `kind`, granting at
    /// most `max_level`.
    pub fn source(name: &str, kind: SourceKind, max_level: VerificationLevel) -> Way {
        Way {
            name: name.to_owned(),
            kind,
            max_level,
            organisations_only: false,
        }
    }

    /// An issuer of identity assertions (`[[verification.issuer]]`) whose
    /// trust frameworks give `levels`: it reaches the highest of them.
    /// `None` when it names no trust framework, since it then accepts no
    /// assertion.
    pub fn issuer(name: &str, levels: impl IntoIterator<Item = VerificationLevel>) -> Option<Way> {
        levels.into_iter().max().map(|max_level| Way {
            name: name.to_owned(),
            kind: SourceKind::Oidc,
            max_level,
            organisations_only: false,
        })
    }

    /// Whether a customer starts it from a start link; an attestation is
    /// made by the organisation, not started by the member.
    pub fn startable(&self) -> bool {
        self.kind != SourceKind::OrgAttestation
    }

    /// Whether it can establish every attribute of `verify` at the level
    /// asked, for an account that belongs to an organisation (`member`) or
    /// not. Never for an empty list: nothing to verify, nothing to restore.
    pub fn restores(&self, verify: &[Verify], member: bool) -> bool {
        let mut need = Need::default();
        need.add(verify);
        need.met_by(self, member)
    }

    fn reaches(&self, level: VerificationLevel, member: bool) -> bool {
        (member || !self.organisations_only) && level <= self.max_level
    }
}

/// What a group of cells (one account's cells of one transition, or one
/// notify row's) asks of a way: a way meets it when it restores every cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Need {
    /// A cell was added.
    any: bool,
    /// A cell asks for nothing to verify, so no way restores it.
    blocked: bool,
    /// The highest level a cell asks for.
    level: VerificationLevel,
}

impl Need {
    /// Adds a cell asking for `verify`.
    pub(crate) fn add(&mut self, verify: &[Verify]) {
        self.any = true;
        match verify.iter().map(|v| v.level).max() {
            Some(l) => self.level = self.level.max(l),
            None => self.blocked = true,
        }
    }

    /// Whether a cell was added.
    pub(crate) fn any(&self) -> bool {
        self.any
    }

    /// Whether `way` restores every cell added.
    pub(crate) fn met_by(&self, way: &Way, member: bool) -> bool {
        self.any && !self.blocked && way.reaches(self.level, member)
    }
}

#[cfg(test)]
mod tests;
