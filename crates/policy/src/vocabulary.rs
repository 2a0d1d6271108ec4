//! The closed vocabulary of attributes a condition may test.
//!
//! Keeping the vocabulary closed and typed lets the checker reject a misspelt
//! attribute at load time (instead of evaluating it as "missing" for ever) and
//! lets the engine analyse which attributes a directive depends on.

/// The type of values an attribute holds, which decides the operators allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// A set of countries (any-member semantics).
    CountrySet,
    /// One country.
    Country,
    /// One ISO 3166-2 region.
    Region,
    /// A country together with, where known, its region.
    Location,
    /// A boolean.
    Flag,
    /// A verification level.
    Level,
    /// Restricted lists with a hit of one review status.
    Lists,
    /// The endpoint.
    Endpoint,
    /// Features used (any-member semantics).
    Features,
    /// Tool types declared (any-member semantics).
    ToolTypes,
    /// A non-negative number.
    Number,
    /// Individual or organisation.
    Kind,
}

impl AttrType {
    /// What values of this type look like, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            AttrType::CountrySet => "a set of countries",
            AttrType::Country => "a country",
            AttrType::Region => "an ISO 3166-2 region",
            AttrType::Location => "a country and region",
            AttrType::Flag => "true or false",
            AttrType::Level => "a verification level",
            AttrType::Lists => "a set of restricted lists",
            AttrType::Endpoint => "an endpoint",
            AttrType::Features => "a set of features",
            AttrType::ToolTypes => "a set of tool types",
            AttrType::Number => "a number",
            AttrType::Kind => "`individual` or `organization`",
        }
    }
}

macro_rules! attributes {
    ( $( $(#[$m:meta])* $variant:ident = ($name:literal, $ty:ident) ),+ $(,)? ) => {
        /// An attribute a condition may test.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Attr { $( $(#[$m])* $variant ),+ }

        impl Attr {
            /// Every attribute, in documentation order.
            pub const ALL: &'static [Attr] = &[ $( Attr::$variant ),+ ];

            /// The dotted name directives write.
            pub fn name(self) -> &'static str {
                match self { $( Attr::$variant => $name ),+ }
            }

            /// The attribute's value type.
            pub fn ty(self) -> AttrType {
                match self { $( Attr::$variant => AttrType::$ty ),+ }
            }
        }
    };
}

attributes! {
    /// Every citizenship the subject holds.
    Citizenships = ("subject.citizenships", CountrySet),
    /// Every permanent residency the subject holds.
    PermanentResidencies = ("subject.permanent_residencies", CountrySet),
    /// Country of ordinary residence.
    ResidenceCountry = ("subject.residence_country", Country),
    /// Region of ordinary residence.
    ResidenceRegion = ("subject.residence_region", Region),
    /// Residence as country-or-region, for groups that hold both.
    Residence = ("subject.residence", Location),
    /// U.S.-person status per 15 CFR 772.1 paragraphs (1)-(2), or as recorded.
    UsPerson = ("subject.us_person", Flag),
    /// A foreign person under the directive's own `[foreign_person]` table.
    ForeignPerson = ("subject.foreign_person", Flag),
    /// Protected individual under 8 U.S.C. 1324b(a)(3).
    ProtectedIndividual = ("subject.protected_individual", Flag),
    /// Whether the residence country is one of the subject's citizenships or
    /// permanent residencies: residence for good, not a temporary stay.
    ResidencePermanent = ("subject.residence_permanent", Flag),
    /// Country of the billing address.
    BillingCountry = ("subject.billing_country", Country),
    /// Region of the billing address.
    BillingRegion = ("subject.billing_region", Region),
    /// Billing address as country-or-region, for groups that hold both.
    Billing = ("subject.billing", Location),
    /// The account's overall verification level.
    Verification = ("subject.verification", Level),
    /// Individual or organisation.
    Kind = ("subject.kind", Kind),
    /// The organisation's country of incorporation.
    OrganizationCountry = ("subject.organization.country", Country),
    /// The organisation's country of incorporation and the region of its
    /// registered address, as country-or-region.
    OrganizationLocation = ("subject.organization.location", Location),
    /// The organisation's headquarters as country-or-region.
    OrganizationHeadquarters = ("subject.organization.headquarters", Location),
    /// The governments the organisation is, or is owned or controlled by.
    OrganizationGovernments = ("subject.organization.governments", CountrySet),
    /// Lists with a hit pending review.
    ScreeningPending = ("subject.screening.pending", Lists),
    /// Lists with a confirmed hit.
    ScreeningConfirmed = ("subject.screening.confirmed", Lists),
    /// Lists with a hit cleared as a false positive.
    ScreeningCleared = ("subject.screening.cleared", Lists),
    /// Client country.
    RequestCountry = ("request.country", Country),
    /// Client region.
    RequestRegion = ("request.region", Region),
    /// Client location as country-or-region.
    RequestLocation = ("request.location", Location),
    /// Whether the client address is an anonymiser.
    Anonymizer = ("request.anonymizer", Flag),
    /// The endpoint called.
    RequestEndpoint = ("request.endpoint", Endpoint),
    /// Features used.
    RequestFeatures = ("request.features", Features),
    /// Tool types declared.
    RequestToolTypes = ("request.tool_types", ToolTypes),
    /// Requested output cap.
    MaxTokens = ("request.max_tokens", Number),
}

impl Attr {
    /// Looks an attribute up by its dotted name.
    pub fn parse(name: &str) -> Option<Attr> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Whether the attribute is about the subject (and so subject to a
    /// directive's minimum verification level).
    pub fn is_subject(self) -> bool {
        self.name().starts_with("subject.")
    }

    /// The closest attribute name, for "did you mean" hints.
    ///
    /// British spellings are read as the American ones the vocabulary uses
    /// (`organisation` is `organization`), then the nearest name by edit
    /// distance wins, so a misspelt field points at its own attribute rather
    /// than at another that merely ends alike.
    pub fn suggest(name: &str) -> Option<&'static str> {
        let american = name
            .replace("organisation", "organization")
            .replace("licence", "license");
        if let Some(a) = Self::parse(&american) {
            return Some(a.name());
        }
        let (best, distance) = Self::ALL
            .iter()
            .map(|a| (a.name(), edit_distance(&american, a.name())))
            .min_by_key(|&(_, d)| d)?;
        if distance <= american.len().max(best.len()) / 3 {
            return Some(best);
        }
        let tail = american.rsplit('.').next().unwrap_or(&american);
        Self::ALL.iter().map(|a| a.name()).find(|n| {
            n.ends_with(tail)
                || n.rsplit('.')
                    .next()
                    .is_some_and(|t| t.starts_with(tail) || tail.starts_with(t))
        })
    }
}

/// Levenshtein distance over characters: the number of single-character
/// insertions, deletions and substitutions between `a` and `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // One row of the table at a time: `previous[j]` is the distance between
    // the prefix of `a` read so far and the first `j` characters of `b`.
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous
                .get(j)
                .map_or(usize::MAX, |d| d + usize::from(ca != *cb));
            let delete = previous.get(j + 1).map_or(usize::MAX, |d| d + 1);
            let insert = current.last().map_or(usize::MAX, |d| d + 1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{Attr, edit_distance};

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn a_british_spelling_points_at_the_american_attribute() {
        assert_eq!(
            Attr::suggest("subject.organisation.country"),
            Some("subject.organization.country")
        );
        assert_eq!(
            Attr::suggest("subject.organisation.location"),
            Some("subject.organization.location")
        );
    }

    #[test]
    fn a_misspelt_attribute_points_at_the_nearest_name() {
        assert_eq!(
            Attr::suggest("subject.citizenship"),
            Some("subject.citizenships")
        );
        assert_eq!(Attr::suggest("request.contry"), Some("request.country"));
    }
}
