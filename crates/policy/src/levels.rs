//! Minimum verification levels: a directive's default, overridden per attribute.

use cordon_subject::VerificationLevel;

use crate::vocabulary::Attr;

/// How many attributes there are.
const ATTRS: usize = Attr::ALL.len();

/// The level below which a directive treats each subject attribute as unknown.
///
/// `min_verification` is the default; `[min_verification_for]` raises or
/// lowers it for one recorded fact, so requiring document-level residence
/// does not also require it of the country of incorporation. An override
/// applies to every attribute read from the same fact (the residence's
/// country, region and location are one fact), so a condition cannot escape
/// it by naming the fact another way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    default: VerificationLevel,
    by_attr: [Option<VerificationLevel>; ATTRS],
}

impl Levels {
    /// Every attribute at `default`.
    pub fn new(default: VerificationLevel) -> Self {
        Levels {
            default,
            by_attr: [None; ATTRS],
        }
    }

    /// The level an attribute must be verified at.
    #[inline]
    pub fn of(&self, a: Attr) -> VerificationLevel {
        self.by_attr
            .get(a as usize)
            .copied()
            .flatten()
            .unwrap_or(self.default)
    }

    /// The directive's default.
    pub fn default_level(&self) -> VerificationLevel {
        self.default
    }

    /// Sets `level` for `a` and every attribute read from the same fact.
    pub(crate) fn set(&mut self, a: Attr, level: VerificationLevel) {
        for same in same_fact(a) {
            if let Some(slot) = self.by_attr.get_mut(*same as usize) {
                *slot = Some(level);
            }
        }
    }
}

/// The attributes read from the same recorded fact as `a`, `a` included.
pub fn same_fact(a: Attr) -> &'static [Attr] {
    use Attr::*;
    match a {
        ResidenceCountry | ResidenceRegion | Residence => {
            &[ResidenceCountry, ResidenceRegion, Residence]
        }
        OrganizationCountry | OrganizationLocation => &[OrganizationCountry, OrganizationLocation],
        BillingCountry | BillingRegion | Billing => &[BillingCountry, BillingRegion, Billing],
        Citizenships => &[Citizenships],
        PermanentResidencies => &[PermanentResidencies],
        UsPerson => &[UsPerson],
        ForeignPerson => &[ForeignPerson],
        ProtectedIndividual => &[ProtectedIndividual],
        ResidencePermanent => &[ResidencePermanent],
        OrganizationHeadquarters => &[OrganizationHeadquarters],
        OrganizationGovernments => &[OrganizationGovernments],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_covers_its_fact_and_nothing_else() {
        let mut l = Levels::new(VerificationLevel::SelfDeclared);
        l.set(Attr::Residence, VerificationLevel::DocumentVerified);
        for a in [
            Attr::Residence,
            Attr::ResidenceCountry,
            Attr::ResidenceRegion,
        ] {
            assert_eq!(l.of(a), VerificationLevel::DocumentVerified, "{a:?}");
        }
        for a in [Attr::OrganizationCountry, Attr::Citizenships, Attr::Billing] {
            assert_eq!(l.of(a), VerificationLevel::SelfDeclared, "{a:?}");
        }
    }

    #[test]
    fn only_recorded_subject_facts_can_be_overridden() {
        for a in Attr::ALL {
            let facts = same_fact(*a);
            assert_eq!(
                !facts.is_empty(),
                a.is_subject()
                    && !matches!(
                        a,
                        Attr::Verification
                            | Attr::Kind
                            | Attr::ScreeningPending
                            | Attr::ScreeningConfirmed
                            | Attr::ScreeningCleared
                    ),
                "{a:?}"
            );
            assert!(facts.contains(a) || facts.is_empty(), "{a:?}");
        }
    }
}
