//! The dimensions a request and its subject vary along, and the values a
//! class of each dimension stands for.
//!
//! A dimension is one recorded fact (the residence, with its country,
//! region and verification level, is one) or one property of the request.
//! Conditions read attributes; several attributes read the same fact
//! (`subject.residence_country` and `subject.residence`), and derived
//! attributes read several (`subject.foreign_person` reads citizenships,
//! permanent residencies, protected status and the subject's kind), so the
//! analysis varies facts, not attribute names.

use cordon_jurisdiction::{CountryCode, RegionCode};
use cordon_policy::{Attr, Endpoint, FeatureSet, ToolTypeSet};
use cordon_subject::{RestrictedList, ScreeningStatus, SubjectKind, VerificationLevel};

/// One fact of the subject or property of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dim {
    /// Individual or organisation.
    Kind,
    /// The account's overall verification level.
    Verification,
    /// Citizenships (a set: dual nationals exist).
    Citizenships,
    /// Permanent residencies.
    PermanentResidencies,
    /// Protected-individual status.
    Protected,
    /// An explicitly recorded U.S.-person determination.
    UsPersonRecord,
    /// Residence: country and region.
    Residence,
    /// Billing address: country and region.
    Billing,
    /// The organisation's country of incorporation and registered region.
    OrgLocation,
    /// The organisation's headquarters.
    OrgHeadquarters,
    /// The governments that own or control the organisation.
    OrgGovernments,
    /// Restricted-party screening hits.
    Screening,
    /// Where the request comes from.
    Location,
    /// Whether the client address is an anonymiser.
    Anonymizer,
    /// The endpoint called.
    Endpoint,
    /// Features used and tool types declared.
    Features,
    /// The request's `max_tokens`.
    MaxTokens,
}

impl Dim {
    /// Every dimension, in the order cases list them.
    pub const ALL: [Dim; 17] = [
        Dim::Kind,
        Dim::Verification,
        Dim::Citizenships,
        Dim::PermanentResidencies,
        Dim::Protected,
        Dim::UsPersonRecord,
        Dim::Residence,
        Dim::Billing,
        Dim::OrgLocation,
        Dim::OrgHeadquarters,
        Dim::OrgGovernments,
        Dim::Screening,
        Dim::Location,
        Dim::Anonymizer,
        Dim::Endpoint,
        Dim::Features,
        Dim::MaxTokens,
    ];

    /// The name reports use: the attribute a directive writes for it.
    pub fn name(self) -> &'static str {
        match self {
            Dim::Kind => "subject.kind",
            Dim::Verification => "subject.verification",
            Dim::Citizenships => "subject.citizenships",
            Dim::PermanentResidencies => "subject.permanent_residencies",
            Dim::Protected => "subject.protected_individual",
            Dim::UsPersonRecord => "subject.us_person (recorded)",
            Dim::Residence => "subject.residence",
            Dim::Billing => "subject.billing",
            Dim::OrgLocation => "subject.organization.location",
            Dim::OrgHeadquarters => "subject.organization.headquarters",
            Dim::OrgGovernments => "subject.organization.governments",
            Dim::Screening => "subject.screening",
            Dim::Location => "request.location",
            Dim::Anonymizer => "request.anonymizer",
            Dim::Endpoint => "request.endpoint",
            Dim::Features => "request.features",
            Dim::MaxTokens => "request.max_tokens",
        }
    }

    /// Whether the dimension is a place, where an embargo can apply.
    pub fn is_place(self) -> bool {
        matches!(
            self,
            Dim::Residence | Dim::Billing | Dim::OrgLocation | Dim::OrgHeadquarters | Dim::Location
        )
    }

    /// Whether the dimension is a recorded subject fact with a verification level.
    pub fn has_level(self) -> bool {
        matches!(
            self,
            Dim::Citizenships
                | Dim::PermanentResidencies
                | Dim::Protected
                | Dim::UsPersonRecord
                | Dim::Residence
                | Dim::Billing
        )
    }
}

/// The facts an attribute reads: what must vary for a predicate on it to
/// take each of its values.
pub fn dims_of(a: Attr) -> &'static [Dim] {
    match a {
        Attr::Citizenships => &[Dim::Citizenships],
        Attr::PermanentResidencies => &[Dim::PermanentResidencies],
        Attr::ResidenceCountry | Attr::ResidenceRegion | Attr::Residence => &[Dim::Residence],
        // 15 CFR 772.1 (1)-(2) as the subject crate derives it: a recorded
        // value wins; else citizenship, permanent residency, protected
        // status; an organisation by its incorporation.
        Attr::UsPerson => &[
            Dim::UsPersonRecord,
            Dim::Citizenships,
            Dim::PermanentResidencies,
            Dim::Protected,
            Dim::Kind,
            Dim::OrgLocation,
        ],
        Attr::ForeignPerson => &[
            Dim::Citizenships,
            Dim::PermanentResidencies,
            Dim::Protected,
            Dim::Kind,
        ],
        Attr::ProtectedIndividual => &[Dim::Protected],
        Attr::ResidencePermanent => &[Dim::Residence, Dim::Citizenships, Dim::PermanentResidencies],
        Attr::BillingCountry | Attr::BillingRegion | Attr::Billing => &[Dim::Billing],
        Attr::Verification => &[Dim::Verification],
        Attr::Kind => &[Dim::Kind],
        Attr::OrganizationCountry | Attr::OrganizationLocation => &[Dim::OrgLocation],
        Attr::OrganizationHeadquarters => &[Dim::OrgHeadquarters],
        Attr::OrganizationGovernments => &[Dim::OrgGovernments],
        Attr::ScreeningPending | Attr::ScreeningConfirmed | Attr::ScreeningCleared => {
            &[Dim::Screening]
        }
        Attr::RequestCountry | Attr::RequestRegion | Attr::RequestLocation => &[Dim::Location],
        Attr::Anonymizer => &[Dim::Anonymizer],
        Attr::RequestEndpoint => &[Dim::Endpoint],
        Attr::RequestFeatures | Attr::RequestToolTypes => &[Dim::Features],
        Attr::MaxTokens => &[Dim::MaxTokens],
    }
}

/// A known place: a country and, where known, a region of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Place {
    /// The country.
    pub country: CountryCode,
    /// The region, when known; always within `country`.
    pub region: Option<RegionCode>,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.region {
            Some(r) => write!(f, "{r}"),
            None => write!(f, "{}", self.country),
        }
    }
}

/// The value a class of one dimension stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Individual or organisation.
    Kind(SubjectKind),
    /// The account's overall verification level.
    Level(VerificationLevel),
    /// A recorded set of countries at one verification level; `None` is not recorded.
    Countries(Option<Vec<CountryCode>>, VerificationLevel),
    /// A recorded flag at a level; `None` is not recorded.
    Flag(Option<bool>, VerificationLevel),
    /// A recorded place at a level; `None` is not recorded (or not located).
    Place(Option<Place>, VerificationLevel),
    /// Screening hits per list; `None` is never screened.
    Screening(Option<Vec<(RestrictedList, ScreeningStatus)>>),
    /// The anonymiser flag.
    Anonymizer(bool),
    /// The endpoint.
    Endpoint(Endpoint),
    /// Features used and tool types declared.
    Features(FeatureSet, ToolTypeSet),
    /// `max_tokens`, when given.
    MaxTokens(Option<u32>),
}

impl Value {
    /// Whether the value is recorded at all (a known fact at some level).
    pub fn is_recorded(&self) -> bool {
        match self {
            Value::Countries(v, _) => v.is_some(),
            Value::Flag(v, _) => v.is_some(),
            Value::Place(v, _) => v.is_some(),
            Value::Screening(v) => v.is_some(),
            Value::MaxTokens(v) => v.is_some(),
            _ => true,
        }
    }

    /// The verification level of a recorded fact, for dimensions that have one.
    pub fn level(&self) -> Option<VerificationLevel> {
        match self {
            Value::Countries(_, l) | Value::Flag(_, l) | Value::Place(_, l) => Some(*l),
            _ => None,
        }
    }

    /// The same value recorded at another level.
    #[must_use]
    pub fn at_level(&self, level: VerificationLevel) -> Value {
        match self {
            Value::Countries(v, _) => Value::Countries(v.clone(), level),
            Value::Flag(v, _) => Value::Flag(*v, level),
            Value::Place(v, _) => Value::Place(*v, level),
            other => other.clone(),
        }
    }

    /// A short description for reports (`DE, US @ document_verified`, `unknown`).
    pub fn describe(&self) -> String {
        let at = |l: &VerificationLevel| format!(" @ {}", l.as_str());
        match self {
            Value::Kind(SubjectKind::Individual) => "individual".into(),
            Value::Kind(SubjectKind::Organization) => "organization".into(),
            Value::Level(l) => l.as_str().into(),
            Value::Countries(None, _)
            | Value::Flag(None, _)
            | Value::Place(None, _)
            | Value::Screening(None)
            | Value::MaxTokens(None) => "unknown".into(),
            Value::Countries(Some(v), l) if v.is_empty() => {
                format!("[] (recorded, empty){}", at(l))
            }
            Value::Countries(Some(v), l) => format!(
                "{}{}",
                v.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                at(l)
            ),
            Value::Flag(Some(b), l) => format!("{b}{}", at(l)),
            Value::Place(Some(p), l) => format!("{p}{}", at(l)),
            Value::Screening(Some(h)) if h.is_empty() => "screened, no hits".into(),
            Value::Screening(Some(h)) => h
                .iter()
                .map(|(list, status)| format!("{} {}", list.code(), status_name(*status)))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Anonymizer(b) => b.to_string(),
            Value::Endpoint(e) => e.as_str().into(),
            Value::Features(f, t) if f.is_empty() && t.is_empty() => "none".into(),
            Value::Features(f, t) => f
                .iter()
                .map(|x| x.as_str().to_owned())
                .chain(t.iter().map(|x| format!("tool:{}", x.as_str())))
                .collect::<Vec<_>>()
                .join(", "),
            Value::MaxTokens(Some(n)) => n.to_string(),
        }
    }
}

/// The name subject records use for a review status.
pub(crate) fn status_name(s: ScreeningStatus) -> &'static str {
    match s {
        ScreeningStatus::Pending => "pending",
        ScreeningStatus::Confirmed => "confirmed",
        ScreeningStatus::Cleared => "cleared",
    }
}
