//! What to generate: the count, the seed and the modelling shares.

use cordon_jurisdiction::CountryCode;
use jiff::Timestamp;

/// The time verifications are dated back from unless told otherwise.
///
/// Fixed, not "now": the same options must give the same records on any day.
pub const DEFAULT_AS_OF: &str = "2026-11-01T00:00:00Z";

/// How many accounts to generate, from which seed, with which shares.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorOptions {
    /// Accounts to generate; ids run from `acct-000000001` to the count.
    pub count: u64,
    /// The seed: the same `(count, seed)` and shares give the same records.
    pub seed: u64,
    /// How common each attribute is; see [`Shares`] for the defaults and why.
    pub shares: Shares,
    /// How many generated organisations accounts can belong to (default 1,000).
    pub organizations: u32,
    /// The organisation holding an export licence, whose members are attested (default Northwind Labs, US).
    pub licensed_organization: LicensedOrganization,
    /// Verifications are dated in the two years before this time, and
    /// document-verified values expire three years after verification, so
    /// every value is current at `as_of` (default [`DEFAULT_AS_OF`]).
    pub as_of: Timestamp,
}

impl GeneratorOptions {
    /// The default options for `count` accounts from `seed`.
    pub fn new(count: u64, seed: u64) -> Self {
        GeneratorOptions {
            count,
            seed,
            shares: Shares::default(),
            organizations: 1000,
            licensed_organization: LicensedOrganization::default(),
            // INVARIANT: the constant is a valid RFC 3339 time (tested); the
            // fallback only keeps the function total.
            as_of: DEFAULT_AS_OF.parse().unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }
}

/// The organisation named as holder of a licence exemption.
///
/// Its members are recorded with `attested` membership (from a licence
/// roster), the level a licence exemption can demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensedOrganization {
    /// The holder's name, as its organisation account records it.
    pub name: String,
    /// Its country of incorporation.
    pub country: CountryCode,
}

impl Default for LicensedOrganization {
    /// Northwind Labs, the holder of the demo's licence record L-2026-0042.
    fn default() -> Self {
        LicensedOrganization {
            name: "Northwind Labs".to_owned(),
            country: CountryCode::US,
        }
    }
}

/// The account's overall verification level, as fractions that sum to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerificationMix {
    /// Nothing checked: no citizenship recorded, residence from the billing address.
    pub none: f64,
    /// Citizenship and residence typed in at sign-up.
    pub self_declared: f64,
    /// Identity documents checked by a KYC vendor.
    pub document_verified: f64,
    /// Vouched for by the provider's export-compliance desk.
    pub attested: f64,
}

impl Default for VerificationMix {
    /// 40 % none, 35 % self-declared, 20 % document-verified, 5 % attested.
    ///
    /// Modelling assumption: most API customers sign up with an e-mail
    /// address and a card, and on the day a directive lands most customers'
    /// nationality is unknown; only enterprise and regulated customers go
    /// through document checks, and few are attested by hand.
    fn default() -> Self {
        VerificationMix {
            none: 0.40,
            self_declared: 0.35,
            document_verified: 0.20,
            attested: 0.05,
        }
    }
}

impl VerificationMix {
    /// The four fractions in level order, with their level names.
    pub(crate) fn entries(&self) -> [(&'static str, f64); 4] {
        [
            ("none", self.none),
            ("self_declared", self.self_declared),
            ("document_verified", self.document_verified),
            ("attested", self.attested),
        ]
    }
}

/// How common each attribute is: fractions from 0 to 1.
///
/// Every default is a **modelling assumption** chosen to give simulations a
/// plausible mix, not a measured fact about any provider's customers; the
/// reasoning is on each field. Citizenship itself is drawn by population
/// share from the population table and has no share here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shares {
    /// The overall verification levels.
    pub verification: VerificationMix,
    /// Accounts that are organisations (`kind: "organization"`) rather than people.
    /// Default 0.02: API sign-ups are overwhelmingly individual developers.
    pub organization_account: f64,
    /// People living in a country of which they are a citizen. Default 0.96:
    /// about 3.6 % of the world's people live outside their country of birth
    /// (UN DESA, International Migrant Stock 2020: 281 million).
    pub residence_in_citizenship: f64,
    /// People with a second citizenship. Default 0.05: no reliable world
    /// figure exists; chosen so dual nationals are common enough to matter.
    pub dual_citizenship: f64,
    /// Of dual nationals who are not U.S. citizens by their first
    /// citizenship, those whose second one is U.S. Default 0.15: birthright
    /// citizenship and naturalisation make U.S.+X a frequent pair.
    pub dual_with_us: f64,
    /// Of non-U.S. citizens living in the U.S., those holding a green card
    /// (lawful permanent residents). Default 0.55: roughly 13 million LPRs
    /// (DHS estimate for 2022) among roughly 22 million non-citizen residents
    /// (Census ACS 2022).
    pub us_permanent_resident: f64,
    /// Of non-U.S. citizens living in the U.S. without a green card, those who
    /// are refugees or asylees (protected individuals, 8 U.S.C. 1324b(a)(3)).
    /// Default 0.05: a small group, since most adjust to LPR status after a year.
    pub protected_individual: f64,
    /// Of dual nationals at document_verified or above, those whose second
    /// citizenship was only self-declared (the document check covered one
    /// passport). Default 0.25.
    pub second_citizenship_self_declared: f64,
    /// People who give an employer, one of the generated organisations
    /// (membership self-declared). Default 0.20.
    pub organization_member: f64,
    /// People who are members of the licensed organisation (membership
    /// attested). Default 0.01: one enterprise customer among many.
    pub licensed_member: f64,
}

impl Default for Shares {
    fn default() -> Self {
        Shares {
            verification: VerificationMix::default(),
            organization_account: 0.02,
            residence_in_citizenship: 0.96,
            dual_citizenship: 0.05,
            dual_with_us: 0.15,
            us_permanent_resident: 0.55,
            protected_individual: 0.05,
            second_citizenship_self_declared: 0.25,
            organization_member: 0.20,
            licensed_member: 0.01,
        }
    }
}

impl Shares {
    /// Every plain fraction with its field name, for checking.
    fn fractions(&self) -> [(&'static str, f64); 9] {
        [
            ("organization_account", self.organization_account),
            ("residence_in_citizenship", self.residence_in_citizenship),
            ("dual_citizenship", self.dual_citizenship),
            ("dual_with_us", self.dual_with_us),
            ("us_permanent_resident", self.us_permanent_resident),
            ("protected_individual", self.protected_individual),
            (
                "second_citizenship_self_declared",
                self.second_citizenship_self_declared,
            ),
            ("organization_member", self.organization_member),
            ("licensed_member", self.licensed_member),
        ]
    }
}

/// Options that cannot generate a population.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeneratorError {
    /// A share is not a fraction.
    #[error("share `{name}` is {value}; expected a fraction from 0 to 1")]
    Share {
        /// The share's field name, e.g. `dual_citizenship`.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// The verification levels do not add up to 1.
    #[error(
        "the verification shares add up to {sum}; none, self_declared, document_verified and attested must add up to 1"
    )]
    VerificationMix {
        /// Their sum.
        sum: f64,
    },
    /// Members of an organisation cannot be drawn from none.
    #[error(
        "`organizations` is 0 but organisation shares are above 0; give at least 1 organisation or set `organization_member` and `organization_account` to 0"
    )]
    NoOrganizations,
    /// People are to join organisations beyond everyone.
    #[error(
        "`organization_member` ({member}) and `licensed_member` ({licensed}) add up to more than 1"
    )]
    Membership {
        /// `organization_member`.
        member: f64,
        /// `licensed_member`.
        licensed: f64,
    },
}

/// Tolerance on the verification mix summing to 1, for decimal fractions.
const SUM_SLACK: f64 = 1e-9;

impl GeneratorOptions {
    /// Checks the shares.
    ///
    /// # Errors
    /// The first share out of range, a verification mix not summing to 1,
    /// membership shares above 1 in total, or organisation shares with no
    /// organisations.
    pub fn validate(&self) -> Result<(), GeneratorError> {
        let s = &self.shares;
        let levels = s.verification.entries();
        for (name, value) in s.fractions().into_iter().chain(levels) {
            if !(0.0..=1.0).contains(&value) {
                return Err(GeneratorError::Share { name, value });
            }
        }
        let sum: f64 = levels.iter().map(|(_, v)| v).sum();
        if (sum - 1.0).abs() > SUM_SLACK {
            return Err(GeneratorError::VerificationMix { sum });
        }
        if s.organization_member + s.licensed_member > 1.0 + SUM_SLACK {
            return Err(GeneratorError::Membership {
                member: s.organization_member,
                licensed: s.licensed_member,
            });
        }
        if self.organizations == 0 && (s.organization_member > 0.0 || s.organization_account > 0.0)
        {
            return Err(GeneratorError::NoOrganizations);
        }
        Ok(())
    }
}
