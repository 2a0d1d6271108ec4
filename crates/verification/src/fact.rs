//! One fact about a customer, as a source states it.

use cordon_subject::VerificationLevel;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An attribute of a subject that evidence can establish: a field of the
/// subject JSON (docs/subjects.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// Every citizenship (a set).
    Citizenships,
    /// Every permanent residency (a set).
    PermanentResidencies,
    /// Country of ordinary residence.
    ResidenceCountry,
    /// ISO 3166-2 region of residence.
    ResidenceRegion,
    /// Refugee or asylee under 8 U.S.C. 1324b(a)(3).
    ProtectedIndividual,
    /// An explicit U.S.-person determination.
    UsPerson,
    /// The organisation (name and country of incorporation).
    Organization,
    /// The full legal name.
    Name,
    /// The year of birth.
    BirthYear,
}

impl Attribute {
    /// Whether restricted-party screening reads this attribute: a name
    /// screened, or a hint the match is scored with.
    pub fn screened(self) -> bool {
        matches!(
            self,
            Attribute::Name
                | Attribute::BirthYear
                | Attribute::Citizenships
                | Attribute::ResidenceCountry
                | Attribute::Organization
        )
    }

    /// Every attribute, in the order the subject JSON lists them.
    pub const ALL: [Attribute; 9] = [
        Attribute::Name,
        Attribute::BirthYear,
        Attribute::Citizenships,
        Attribute::PermanentResidencies,
        Attribute::ResidenceCountry,
        Attribute::ResidenceRegion,
        Attribute::ProtectedIndividual,
        Attribute::UsPerson,
        Attribute::Organization,
    ];

    /// The subject JSON field.
    pub fn field(self) -> &'static str {
        match self {
            Attribute::Citizenships => "citizenships",
            Attribute::PermanentResidencies => "permanent_residencies",
            Attribute::ResidenceCountry => "residence_country",
            Attribute::ResidenceRegion => "residence_region",
            Attribute::ProtectedIndividual => "protected_individual",
            Attribute::UsPerson => "us_person",
            Attribute::Organization => "organization",
            Attribute::Name => "name",
            Attribute::BirthYear => "birth_year",
        }
    }

    /// The attribute of a subject JSON field.
    pub fn from_field(field: &str) -> Option<Attribute> {
        Self::ALL.into_iter().find(|a| a.field() == field)
    }

    /// Whether values are sets, where two sources' values add up rather
    /// than contradict each other (a second passport is a second
    /// citizenship, not a dispute about the first).
    pub fn is_set(self) -> bool {
        matches!(
            self,
            Attribute::Citizenships | Attribute::PermanentResidencies
        )
    }
}

/// One fact a source states, with how it was established.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// What the fact is about.
    pub attribute: Attribute,
    /// The value, bare, as the subject JSON writes it (`["DE"]`, `"DE"`,
    /// `true`, `{"name": …, "country": …}`).
    pub value: Value,
    /// How well the source established it.
    pub level: VerificationLevel,
    /// When the source established it.
    pub verified_at: Option<Timestamp>,
    /// When it stops counting.
    pub expires_at: Option<Timestamp>,
    /// The trust framework the source names (OIDC4IDA `trust_framework`).
    pub trust_framework: Option<String>,
    /// How it was established (`document`, `electronic_record`, a vendor's
    /// check name).
    pub method: Option<String>,
    /// The country that issued the document checked: a different fact from
    /// nationality, kept apart from it.
    pub document_country: Option<String>,
}

impl Fact {
    /// A fact at `level` with nothing else known about how it was made.
    pub fn new(attribute: Attribute, value: Value, level: VerificationLevel) -> Self {
        Fact {
            attribute,
            value,
            level,
            verified_at: None,
            expires_at: None,
            trust_framework: None,
            method: None,
            document_country: None,
        }
    }
}
