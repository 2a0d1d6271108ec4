//! The subject of a decision and the questions a directive can ask about it.

use cordon_jurisdiction::{CountryCode, CountrySet, RegionCode};
use jiff::Timestamp;

use crate::{
    Attested, Licence, Provenance, RestrictedList, Screened, ScreeningHit, ScreeningStatus, Truth,
    VerificationLevel,
};

/// Whether the subject is a natural person or a legal person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A natural person (an individual account).
    #[default]
    Individual,
    /// A legal person (an organisation's own account).
    Organization,
}

/// The organisation a subject belongs to (or is).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Organization {
    /// Its legal name.
    pub name: Attested<String>,
    /// Its country of incorporation, if recorded.
    pub country: Option<Attested<CountryCode>>,
    /// The ISO 3166-2 region of its registered address, if recorded.
    ///
    /// Not required to lie in `country`: a company registered in Crimea may be
    /// recorded with the country under whose law it was registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Attested<RegionCode>>,
    /// The country of its headquarters (principal place of business), if recorded.
    ///
    /// Sanctions reach an organisation located in an embargoed place wherever
    /// it was incorporated and wherever it connects from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headquarters: Option<Attested<CountryCode>>,
    /// The ISO 3166-2 region of its headquarters, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headquarters_region: Option<Attested<RegionCode>>,
    /// The governments the organisation is, or is owned or controlled by, as
    /// the countries they govern. `None` is unknown; an empty list records
    /// "none" (OFAC FAQ 398: some governments are blocked without being listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub governments: Option<Vec<Attested<CountryCode>>>,
    /// Its recorded owners; their shares sum to at most 100 percent.
    ///
    /// Screening uses them for OFAC's 50 percent rule: an organisation owned
    /// 50 percent or more by listed parties is treated as listed.
    pub owners: Vec<Owner>,
}

impl Organization {
    /// An organisation known only by its name: every other attribute unknown.
    pub fn named(name: Attested<String>) -> Organization {
        Organization {
            name,
            country: None,
            region: None,
            headquarters: None,
            headquarters_region: None,
            governments: None,
            owners: Vec::new(),
        }
    }
}

/// A share of ownership in percent.
///
/// INVARIANT: finite, above 0 and at most 100, so it is never NaN and `Eq` holds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Percent(f64);

impl Eq for Percent {}

impl Percent {
    /// A share, if `p` is a finite number above 0 and at most 100.
    pub fn new(p: f64) -> Option<Percent> {
        (p.is_finite() && p > 0.0 && p <= 100.0).then_some(Percent(p))
    }

    /// The share in percent.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// One owner of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Owner {
    /// The owner's name, as screened against the restricted-party lists.
    pub name: String,
    /// Its share of the organisation.
    pub percent: Percent,
    /// The owner's own account, when the owner is an organisation (or person)
    /// in the same store: its screening status then counts through ownership.
    pub account: Option<String>,
    /// The owner's country, a hint for screening.
    pub country: Option<CountryCode>,
    /// Person or organisation, if recorded; screening takes an organisation
    /// when it is not.
    pub kind: Option<SubjectKind>,
}

/// A customer or organisation with its attributes.
///
/// `None` for an attribute means *not recorded*: unknown. A recorded list (even an
/// empty one) is the complete list at the verification level of its entries.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Subject {
    /// The account id, if the subject came from a store.
    pub id: Option<String>,
    /// Individual or organisation.
    pub kind: SubjectKind,
    /// The full legal name of the person (or of the organisation, for an
    /// organisation's own account), as screened against restricted-party lists.
    pub name: Option<Attested<String>>,
    /// The person's year of birth, a hint for screening.
    pub birth_year: Option<Attested<u16>>,
    /// The account's overall verification level.
    pub verification: VerificationLevel,
    /// Citizenships: a set, since dual nationals exist.
    pub citizenships: Option<Vec<Attested<CountryCode>>>,
    /// Permanent residencies (a U.S. one makes a lawful permanent resident).
    pub permanent_residencies: Option<Vec<Attested<CountryCode>>>,
    /// Country of ordinary residence.
    pub residence_country: Option<Attested<CountryCode>>,
    /// Region of ordinary residence (ISO 3166-2).
    pub residence_region: Option<Attested<RegionCode>>,
    /// Protected individual under 8 U.S.C. 1324b(a)(3) (refugees, asylees).
    pub protected_individual: Option<Attested<bool>>,
    /// Country of the billing address: a second signal of where the customer is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_country: Option<Attested<CountryCode>>,
    /// ISO 3166-2 region of the billing address: the signal for embargoed
    /// regions (Crimea) that country-only IP geolocation cannot see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_region: Option<Attested<RegionCode>>,
    /// U.S.-person status given explicitly; overrides the derivation.
    pub us_person: Option<Attested<bool>>,
    /// The organisation, if any.
    pub organization: Option<Organization>,
    /// Screening hits on record: `Some` (even empty) is a screening result,
    /// `None` means never screened, which is unknown, not clean.
    pub screening: Option<Vec<ScreeningHit>>,
    /// When and against which snapshot the subject was last screened, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screened: Option<Screened>,
    /// The licences the subject holds, as the holder organisation or as a
    /// named individual; left out of JSON when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licences: Vec<Licence>,
}

/// Why a subject is or is not a U.S. person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsPersonBasis {
    /// Given explicitly in the record.
    Declared,
    /// A U.S. citizen — 15 CFR 772.1 "U.S. person" (1).
    Citizen,
    /// A U.S. lawful permanent resident — 15 CFR 772.1 (1).
    PermanentResident,
    /// A protected individual under 8 U.S.C. 1324b(a)(3) — 15 CFR 772.1 (1).
    ProtectedIndividual,
    /// Organised under U.S. law — 15 CFR 772.1 (2).
    UsIncorporated,
    /// Known to be none of the above.
    NoneApplies,
}

/// The outcome of the U.S.-person derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UsPersonFinding {
    /// Whether the subject is a U.S. person.
    pub truth: Truth,
    /// The ground for a known answer; `None` when unknown.
    pub basis: Option<UsPersonBasis>,
}

/// Kleene "any element is in the set" over a recorded list of attested values.
///
/// Entries that do not qualify (too weakly verified, or expired) might be
/// anything, so they turn a `False` into `Unknown` but never make a `True`.
#[inline]
pub(crate) fn any_in(
    list: Option<&[Attested<CountryCode>]>,
    set: &CountrySet,
    min: VerificationLevel,
    at: Timestamp,
) -> Truth {
    let Some(list) = list else {
        return Truth::Unknown;
    };
    let mut unqualified = false;
    for e in list {
        if e.provenance.qualifies(min, at) {
            if set.contains(e.value) {
                return Truth::True;
            }
        } else {
            unqualified = true;
        }
    }
    if unqualified {
        Truth::Unknown
    } else {
        Truth::False
    }
}

#[inline]
fn qualified<T: Copy>(a: Option<&Attested<T>>, min: VerificationLevel, at: Timestamp) -> Option<T> {
    a.filter(|a| a.provenance.qualifies(min, at))
        .map(|a| a.value)
}

pub(crate) fn contains_us(
    list: Option<&[Attested<CountryCode>]>,
    min: VerificationLevel,
    at: Timestamp,
) -> Truth {
    // Same Kleene rule as `any_in`, specialised to one country: this runs on
    // every U.S.-person question and a bitset would be built for nothing.
    let Some(list) = list else {
        return Truth::Unknown;
    };
    let mut unqualified = false;
    for e in list {
        if !e.provenance.qualifies(min, at) {
            unqualified = true;
        } else if e.value == CountryCode::US {
            return Truth::True;
        }
    }
    if unqualified {
        Truth::Unknown
    } else {
        Truth::False
    }
}

impl Subject {
    /// Whether any citizenship is in `set`.
    #[inline]
    pub fn citizenship_in(&self, set: &CountrySet, min: VerificationLevel, at: Timestamp) -> Truth {
        any_in(self.citizenships.as_deref(), set, min, at)
    }

    /// Whether any permanent residency is in `set`.
    #[inline]
    pub fn permanent_residency_in(
        &self,
        set: &CountrySet,
        min: VerificationLevel,
        at: Timestamp,
    ) -> Truth {
        any_in(self.permanent_residencies.as_deref(), set, min, at)
    }

    /// The residence country, if recorded and qualifying.
    #[inline]
    pub fn residence_country(&self, min: VerificationLevel, at: Timestamp) -> Option<CountryCode> {
        qualified(self.residence_country.as_ref(), min, at)
    }

    /// The residence region, if recorded and qualifying.
    #[inline]
    pub fn residence_region(&self, min: VerificationLevel, at: Timestamp) -> Option<RegionCode> {
        qualified(self.residence_region.as_ref(), min, at)
    }

    /// One recorded fact of the organisation, if it qualifies at `min`.
    fn organization_fact<T: Copy>(
        &self,
        field: impl Fn(&Organization) -> Option<&Attested<T>>,
        min: VerificationLevel,
        at: Timestamp,
    ) -> Option<T> {
        qualified(self.organization.as_ref().and_then(field), min, at)
    }

    /// The organisation's country of incorporation, if recorded and qualifying.
    #[inline]
    pub fn organization_country(
        &self,
        min: VerificationLevel,
        at: Timestamp,
    ) -> Option<CountryCode> {
        self.organization_fact(|o| o.country.as_ref(), min, at)
    }

    /// The region of the organisation's registered address, if recorded and qualifying.
    pub fn organization_region(&self, min: VerificationLevel, at: Timestamp) -> Option<RegionCode> {
        self.organization_fact(|o| o.region.as_ref(), min, at)
    }

    /// The country of the organisation's headquarters, if recorded and qualifying.
    pub fn organization_headquarters(
        &self,
        min: VerificationLevel,
        at: Timestamp,
    ) -> Option<CountryCode> {
        self.organization_fact(|o| o.headquarters.as_ref(), min, at)
    }

    /// The region of the organisation's headquarters, if recorded and qualifying.
    pub fn organization_headquarters_region(
        &self,
        min: VerificationLevel,
        at: Timestamp,
    ) -> Option<RegionCode> {
        self.organization_fact(|o| o.headquarters_region.as_ref(), min, at)
    }

    /// Whether the organisation is, or is owned or controlled by, the
    /// government of a country in `set`; unknown without an organisation or
    /// without a recorded list.
    pub fn organization_government_in(
        &self,
        set: &CountrySet,
        min: VerificationLevel,
        at: Timestamp,
    ) -> Truth {
        any_in(
            self.organization
                .as_ref()
                .and_then(|o| o.governments.as_deref()),
            set,
            min,
            at,
        )
    }

    /// The billing address's country, if recorded and qualifying.
    pub fn billing_country(&self, min: VerificationLevel, at: Timestamp) -> Option<CountryCode> {
        qualified(self.billing_country.as_ref(), min, at)
    }

    /// The billing address's region, if recorded and qualifying.
    pub fn billing_region(&self, min: VerificationLevel, at: Timestamp) -> Option<RegionCode> {
        qualified(self.billing_region.as_ref(), min, at)
    }

    /// Whether the subject lives for good where they live: the country of
    /// residence is one of their citizenships or permanent residencies.
    ///
    /// This is how a directive tells a settled resident abroad from a
    /// temporary stay (31 CFR 515.505 unblocks Cuban nationals who have taken
    /// up permanent residence outside Cuba). True when a qualifying
    /// citizenship or permanent residency is the residence country; false when
    /// the residence and both lists are known and neither list holds it;
    /// otherwise unknown.
    pub fn residence_permanent(&self, min: VerificationLevel, at: Timestamp) -> Truth {
        let Some(home) = self.residence_country(min, at) else {
            return Truth::Unknown;
        };
        let set: CountrySet = std::iter::once(home).collect();
        self.citizenship_in(&set, min, at)
            .or(self.permanent_residency_in(&set, min, at))
    }

    /// The organisation's name, if recorded and qualifying.
    pub fn organization_name(&self, min: VerificationLevel, at: Timestamp) -> Option<&str> {
        self.organization
            .as_ref()
            .filter(|o| o.name.provenance.qualifies(min, at))
            .map(|o| o.name.value.as_str())
    }

    /// The name screened for this subject: `name`, or for an organisation
    /// without one, `organization.name`.
    pub fn legal_name(&self) -> Option<&str> {
        match (&self.name, self.kind, &self.organization) {
            (Some(n), _, _) => Some(n.value.as_str()),
            (None, SubjectKind::Organization, Some(o)) => Some(o.name.value.as_str()),
            _ => None,
        }
    }

    /// Protected-individual status, if recorded and qualifying.
    pub fn protected_individual(&self, min: VerificationLevel, at: Timestamp) -> Truth {
        qualified(self.protected_individual.as_ref(), min, at)
            .map_or(Truth::Unknown, Truth::from_bool)
    }

    /// The lists on which the subject has a hit with `status` that counts at
    /// `at` ([`ScreeningHit::counts_at`]), as a bit mask of [`RestrictedList::bit`];
    /// 0 when never screened (see [`Subject::screening_known`]).
    #[inline]
    pub fn screening_mask(&self, status: ScreeningStatus, at: Timestamp) -> u16 {
        self.screening
            .iter()
            .flatten()
            .filter(|h| h.status == status && h.counts_at(at))
            .fold(0, |m, h| m | h.list.bit())
    }

    /// Whether the subject has been screened: a `screening` list is on record.
    #[inline]
    pub fn screening_known(&self) -> bool {
        self.screening.is_some()
    }

    /// Whether the subject is a U.S. person, per 15 CFR 772.1, counting only
    /// attributes verified at `min` or above and unexpired at `at`.
    ///
    /// An explicit `us_person` value wins. Otherwise an individual is a U.S.
    /// person if a U.S. citizen, a U.S. permanent resident or a protected
    /// individual, and known *not* to be one only when all three are known false;
    /// an organisation is one if organised under U.S. law. Paragraph (3) of the
    /// definition ("any person in the United States") is about location, which
    /// directives test through the request's country instead.
    pub fn us_person(&self, min: VerificationLevel, at: Timestamp) -> UsPersonFinding {
        let found = |truth, basis| UsPersonFinding {
            truth,
            basis: Some(basis),
        };
        if let Some(v) = qualified(self.us_person.as_ref(), min, at) {
            return found(Truth::from_bool(v), UsPersonBasis::Declared);
        }
        match self.kind {
            SubjectKind::Organization => match self.organization_country(min, at) {
                Some(c) if c == CountryCode::US => {
                    found(Truth::True, UsPersonBasis::UsIncorporated)
                }
                Some(_) => found(Truth::False, UsPersonBasis::NoneApplies),
                None => UsPersonFinding {
                    truth: Truth::Unknown,
                    basis: None,
                },
            },
            SubjectKind::Individual => {
                let citizen = contains_us(self.citizenships.as_deref(), min, at);
                let resident = contains_us(self.permanent_residencies.as_deref(), min, at);
                let protected = self.protected_individual(min, at);
                if citizen == Truth::True {
                    found(Truth::True, UsPersonBasis::Citizen)
                } else if resident == Truth::True {
                    found(Truth::True, UsPersonBasis::PermanentResident)
                } else if protected == Truth::True {
                    found(Truth::True, UsPersonBasis::ProtectedIndividual)
                } else if citizen.or(resident).or(protected) == Truth::False {
                    found(Truth::False, UsPersonBasis::NoneApplies)
                } else {
                    UsPersonFinding {
                        truth: Truth::Unknown,
                        basis: None,
                    }
                }
            }
        }
    }

    /// The provenance of the attribute an explanation names, for reporting.
    pub fn provenance_of(&self, attribute: &str) -> Vec<(String, Provenance)> {
        fn one<T: ToString>(a: Option<&Attested<T>>) -> Vec<(String, Provenance)> {
            a.map(|a| (a.value.to_string(), a.provenance.clone()))
                .into_iter()
                .collect()
        }
        let list = |l: Option<&Vec<Attested<CountryCode>>>| {
            l.into_iter()
                .flatten()
                .map(|a| (a.value.to_string(), a.provenance.clone()))
                .collect::<Vec<_>>()
        };
        let org = self.organization.as_ref();
        match attribute {
            "citizenships" => list(self.citizenships.as_ref()),
            "permanent_residencies" => list(self.permanent_residencies.as_ref()),
            "residence_country" => one(self.residence_country.as_ref()),
            "residence_region" => one(self.residence_region.as_ref()),
            "name" => one(self.name.as_ref()),
            "birth_year" => one(self.birth_year.as_ref()),
            "protected_individual" => one(self.protected_individual.as_ref()),
            "us_person" => one(self.us_person.as_ref()),
            "billing_country" => one(self.billing_country.as_ref()),
            "billing_region" => one(self.billing_region.as_ref()),
            "organization.name" => one(org.map(|o| &o.name)),
            "organization.country" => one(org.and_then(|o| o.country.as_ref())),
            "organization.region" => one(org.and_then(|o| o.region.as_ref())),
            "organization.headquarters" => one(org.and_then(|o| o.headquarters.as_ref())),
            "organization.headquarters_region" => {
                one(org.and_then(|o| o.headquarters_region.as_ref()))
            }
            "organization.governments" => list(org.and_then(|o| o.governments.as_ref())),
            _ => Vec::new(),
        }
    }

    /// Lists with a hit of `status` that counts at `at`, for reporting.
    pub fn screening_lists(&self, status: ScreeningStatus, at: Timestamp) -> Vec<RestrictedList> {
        let mut v: Vec<_> = self
            .screening
            .iter()
            .flatten()
            .filter(|h| h.status == status && h.counts_at(at))
            .map(|h| h.list)
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests;
