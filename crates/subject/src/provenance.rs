//! Where an attribute came from and how well it is verified.

use jiff::Timestamp;

/// How well an attribute is verified, in increasing order of trust.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VerificationLevel {
    /// Nothing was checked.
    #[default]
    None,
    /// The customer said so.
    SelfDeclared,
    /// An identity document was checked.
    DocumentVerified,
    /// A responsible party (an employer, a licence holder, the operator) attested to it.
    Attested,
}

impl VerificationLevel {
    /// Every level in increasing order.
    pub const ALL: [VerificationLevel; 4] = [
        VerificationLevel::None,
        VerificationLevel::SelfDeclared,
        VerificationLevel::DocumentVerified,
        VerificationLevel::Attested,
    ];

    /// The snake_case name used in files and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            VerificationLevel::None => "none",
            VerificationLevel::SelfDeclared => "self_declared",
            VerificationLevel::DocumentVerified => "document_verified",
            VerificationLevel::Attested => "attested",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<VerificationLevel> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// The provenance of one attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// Who supplied the value (a KYC vendor, the customer, an import file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// How well the value is verified.
    #[serde(rename = "verification")]
    pub level: VerificationLevel,
    /// When it was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<Timestamp>,
    /// When the verification lapses; after it the value is treated as unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
}

impl Provenance {
    /// Provenance at a level, with no source or dates.
    pub fn at_level(level: VerificationLevel) -> Self {
        Provenance {
            level,
            ..Provenance::default()
        }
    }

    /// Whether a value with this provenance may be used at time `at` by a rule that
    /// demands `min`: verified well enough and not expired.
    #[inline]
    pub fn qualifies(&self, min: VerificationLevel, at: Timestamp) -> bool {
        self.level >= min && self.expires.is_none_or(|e| at < e)
    }
}

/// A value with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attested<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl<T> Attested<T> {
    /// A value at a verification level, with no source or dates.
    pub fn new(value: T, level: VerificationLevel) -> Self {
        Attested {
            value,
            provenance: Provenance::at_level(level),
        }
    }
}
