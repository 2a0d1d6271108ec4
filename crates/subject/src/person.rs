//! Whether a natural person is a *foreign person* under one directive.
//!
//! "U.S. person" is the wrong test for an order about foreign nationals:
//! 15 CFR 772.1 and OFAC's definitions make *any person in the United
//! States* a U.S. person, so a foreign national working in California is
//! one. The EAR's deemed-export rule (15 CFR 734.13(b)) instead turns on
//! citizenship, permanent residency and protected status, and which of those
//! classes an order excepts is the order's own definition. A directive names
//! the classes ([`PersonClasses`]); [`Subject::foreign_person`] answers from
//! citizenships, permanent residencies and protected-individual status only:
//! an explicit `us_person` value, which a vendor may record under OFAC's
//! location-inclusive meaning, never answers it.

use cordon_jurisdiction::{CountryCode, CountrySet};
use jiff::Timestamp;

use crate::subject::{any_in, contains_us};
use crate::{Subject, SubjectKind, Truth, VerificationLevel};

/// A class of natural persons a directive may except from "foreign person".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonClass {
    /// A citizenship recorded as `US`.
    UsCitizens,
    /// U.S. nationals by a territory: a citizenship recorded as `PR`, `GU`,
    /// `VI`, `AS` or `MP` (Puerto Rico, Guam, the U.S. Virgin Islands,
    /// American Samoa, the Northern Mariana Islands). Identity documents
    /// record U.S. nationality as `US`; these codes appear when a source
    /// records the territory instead, and they mean a U.S. citizen or a
    /// non-citizen U.S. national (American Samoa).
    UsNationals,
    /// A permanent residency recorded as `US` (a lawful permanent resident).
    PermanentResidents,
    /// A protected individual under 8 U.S.C. 1324b(a)(3).
    ProtectedIndividuals,
}

impl PersonClass {
    /// Every class, in documentation order.
    pub const ALL: [PersonClass; 4] = [
        PersonClass::UsCitizens,
        PersonClass::UsNationals,
        PersonClass::PermanentResidents,
        PersonClass::ProtectedIndividuals,
    ];

    /// The name directive files use (`except = ["us_citizens", …]`).
    pub fn as_str(self) -> &'static str {
        match self {
            PersonClass::UsCitizens => "us_citizens",
            PersonClass::UsNationals => "us_nationals",
            PersonClass::PermanentResidents => "permanent_residents",
            PersonClass::ProtectedIndividuals => "protected_individuals",
        }
    }

    /// Parses the name directive files use.
    pub fn parse(name: &str) -> Option<PersonClass> {
        PersonClass::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The subject attribute whose verification proves membership of the
    /// class, as conditions name it.
    pub fn proven_by(self) -> &'static str {
        match self {
            PersonClass::UsCitizens | PersonClass::UsNationals => "subject.citizenships",
            PersonClass::PermanentResidents => "subject.permanent_residencies",
            PersonClass::ProtectedIndividuals => "subject.protected_individual",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`PersonClass`]es: the persons a directive does not count as
/// foreign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PersonClasses(u8);

impl PersonClasses {
    /// No class.
    pub const EMPTY: PersonClasses = PersonClasses(0);

    /// Adds a class.
    pub fn insert(&mut self, c: PersonClass) {
        self.0 |= c.bit();
    }

    /// Whether the set holds `c`.
    pub fn contains(self, c: PersonClass) -> bool {
        self.0 & c.bit() != 0
    }

    /// The classes held, in documentation order.
    pub fn iter(self) -> impl Iterator<Item = PersonClass> {
        PersonClass::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// A small number unique to the set, for caches keyed by it.
    pub fn bits(self) -> u8 {
        self.0
    }
}

impl FromIterator<PersonClass> for PersonClasses {
    fn from_iter<I: IntoIterator<Item = PersonClass>>(iter: I) -> Self {
        let mut s = PersonClasses::EMPTY;
        for c in iter {
            s.insert(c);
        }
        s
    }
}

impl serde::Serialize for PersonClasses {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Why a subject is or is not a foreign person under one directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignPersonBasis {
    /// Not a foreign person: a member of this excepted class.
    Excepted(PersonClass),
    /// A foreign person: known to be in none of the excepted classes.
    NoExceptionApplies,
}

/// The outcome of [`Subject::foreign_person`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ForeignPersonFinding {
    /// Whether the subject is a foreign person.
    pub truth: Truth,
    /// The ground for a known answer; `None` when unknown.
    pub basis: Option<ForeignPersonBasis>,
    /// The excepted classes whose membership is unknown, so verifying
    /// them could settle an unknown answer.
    #[serde(skip)]
    pub undetermined: PersonClasses,
}

/// Codes a source may record for U.S. nationality by a territory
/// ([`PersonClass::UsNationals`]).
const TERRITORIES: [&str; 5] = ["PR", "GU", "VI", "AS", "MP"];

fn territories() -> CountrySet {
    let mut set = CountrySet::EMPTY;
    for c in TERRITORIES
        .iter()
        .filter_map(|c| CountryCode::parse(c).ok())
    {
        set.insert(c);
    }
    set
}

impl Subject {
    /// Whether the subject is a *foreign person* under a directive that
    /// excepts the classes in `except`, counting only attributes verified at
    /// `min` or above and unexpired at `at`.
    ///
    /// Only a natural person can be one: an organisation's own account
    /// answers unknown, since the person using it is not recorded there (the
    /// gateway decides on the end user behind an organisation's key).
    ///
    /// An individual is *not* a foreign person when a member of an excepted
    /// class, and *is* one only when known to be a member of none; otherwise
    /// unknown. Membership comes from citizenships, permanent residencies and
    /// protected-individual status only — never from a recorded `us_person`
    /// value, which under OFAC's and the EAR's paragraph (3) includes anyone
    /// in the United States (15 CFR 772.1).
    pub fn foreign_person(
        &self,
        except: PersonClasses,
        min: VerificationLevel,
        at: Timestamp,
    ) -> ForeignPersonFinding {
        if self.kind == SubjectKind::Organization {
            return ForeignPersonFinding {
                truth: Truth::Unknown,
                basis: None,
                undetermined: except,
            };
        }
        let mut undetermined = PersonClasses::EMPTY;
        for class in except.iter() {
            let member = match class {
                PersonClass::UsCitizens => contains_us(self.citizenships.as_deref(), min, at),
                PersonClass::UsNationals => {
                    any_in(self.citizenships.as_deref(), &territories(), min, at)
                }
                PersonClass::PermanentResidents => {
                    contains_us(self.permanent_residencies.as_deref(), min, at)
                }
                PersonClass::ProtectedIndividuals => self.protected_individual(min, at),
            };
            match member {
                Truth::True => {
                    return ForeignPersonFinding {
                        truth: Truth::False,
                        basis: Some(ForeignPersonBasis::Excepted(class)),
                        undetermined: PersonClasses::EMPTY,
                    };
                }
                Truth::Unknown => undetermined.insert(class),
                Truth::False => {}
            }
        }
        if undetermined.is_empty() {
            ForeignPersonFinding {
                truth: Truth::True,
                basis: Some(ForeignPersonBasis::NoExceptionApplies),
                undetermined,
            }
        } else {
            ForeignPersonFinding {
                truth: Truth::Unknown,
                basis: None,
                undetermined,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Attested;

    const DOC: VerificationLevel = VerificationLevel::DocumentVerified;

    fn at() -> Timestamp {
        "2026-12-07T12:00:00Z".parse().unwrap()
    }

    fn all() -> PersonClasses {
        PersonClass::ALL.into_iter().collect()
    }

    fn cc(s: &str) -> CountryCode {
        CountryCode::parse(s).unwrap()
    }

    fn person(citizenships: &[&str]) -> Subject {
        Subject {
            citizenships: Some(
                citizenships
                    .iter()
                    .map(|c| Attested::new(cc(c), DOC))
                    .collect(),
            ),
            permanent_residencies: Some(Vec::new()),
            protected_individual: Some(Attested::new(false, DOC)),
            ..Subject::default()
        }
    }

    #[test]
    fn a_recorded_us_person_value_does_not_make_a_foreign_national_any_less_foreign() {
        let mut s = person(&["DE"]);
        s.us_person = Some(Attested::new(true, VerificationLevel::Attested));
        let f = s.foreign_person(all(), DOC, at());
        assert_eq!(f.truth, Truth::True);
        assert_eq!(f.basis, Some(ForeignPersonBasis::NoExceptionApplies));
    }

    #[test]
    fn territory_citizenships_count_only_when_us_nationals_are_excepted() {
        let s = person(&["PR"]);
        assert_eq!(s.foreign_person(all(), DOC, at()).truth, Truth::False);
        let citizens_only: PersonClasses = [PersonClass::UsCitizens].into_iter().collect();
        assert_eq!(
            s.foreign_person(citizens_only, DOC, at()).truth,
            Truth::True
        );
    }

    #[test]
    fn a_class_not_excepted_does_not_protect() {
        let mut s = person(&["IN"]);
        s.permanent_residencies = Some(vec![Attested::new(CountryCode::US, DOC)]);
        assert_eq!(s.foreign_person(all(), DOC, at()).truth, Truth::False);
        let citizens: PersonClasses = [PersonClass::UsCitizens, PersonClass::UsNationals]
            .into_iter()
            .collect();
        assert_eq!(s.foreign_person(citizens, DOC, at()).truth, Truth::True);
    }

    #[test]
    fn unknown_classes_leave_the_answer_unknown_and_are_named() {
        let mut s = person(&["DE"]);
        s.permanent_residencies = None;
        let f = s.foreign_person(all(), DOC, at());
        assert_eq!(f.truth, Truth::Unknown);
        assert_eq!(
            f.undetermined.iter().collect::<Vec<_>>(),
            vec![PersonClass::PermanentResidents]
        );
    }

    #[test]
    fn an_organisation_is_not_a_natural_person() {
        let s = Subject {
            kind: SubjectKind::Organization,
            us_person: Some(Attested::new(true, VerificationLevel::Attested)),
            ..person(&["US"])
        };
        assert_eq!(s.foreign_person(all(), DOC, at()).truth, Truth::Unknown);
    }
}
