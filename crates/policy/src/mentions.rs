//! What a rule's condition mentions: the attributes it reads and the values
//! it compares them with.
//!
//! Policy analysis partitions each attribute's domain into the classes a
//! directive set can tell apart; it needs the constants conditions name, not
//! their evaluation, which stays in [`crate::program`].

use cordon_jurisdiction::{CountrySet, RegionCode};
use cordon_subject::{ScreeningStatus, VerificationLevel};

use crate::program::{Expr, Pred};
use crate::request::{EndpointSet, FeatureSet, ToolTypeSet};
use crate::vocabulary::Attr;

/// One predicate of a condition, with the constants it compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mention {
    /// `known(attr)`: the condition tells a recorded value from an unknown one.
    Known(Attr),
    /// A country or country-set attribute tested against countries.
    Countries(Attr, CountrySet),
    /// A region or location attribute tested against countries and regions
    /// (groups already expanded to their members).
    Places {
        /// The attribute tested.
        attr: Attr,
        /// Whole countries named.
        countries: CountrySet,
        /// Regions named.
        regions: Vec<RegionCode>,
    },
    /// A boolean attribute.
    Flag(Attr),
    /// `subject.verification` compared with a level.
    Level(VerificationLevel),
    /// Restricted lists with a hit of one review status, as a list mask.
    Lists(ScreeningStatus, u16),
    /// The endpoint tested against a set.
    Endpoints(EndpointSet),
    /// Features tested against a set.
    Features(FeatureSet),
    /// Tool types tested against a set.
    ToolTypes(ToolTypeSet),
    /// `request.max_tokens` compared with a number.
    MaxTokens(u64),
    /// `subject.kind` compared.
    Kind,
}

impl Mention {
    /// The attribute the predicate reads.
    pub fn attr(&self) -> Attr {
        match self {
            Mention::Known(a) | Mention::Countries(a, _) | Mention::Flag(a) => *a,
            Mention::Places { attr, .. } => *attr,
            Mention::Level(_) => Attr::Verification,
            Mention::Lists(ScreeningStatus::Pending, _) => Attr::ScreeningPending,
            Mention::Lists(ScreeningStatus::Confirmed, _) => Attr::ScreeningConfirmed,
            Mention::Lists(ScreeningStatus::Cleared, _) => Attr::ScreeningCleared,
            Mention::Endpoints(_) => Attr::RequestEndpoint,
            Mention::Features(_) => Attr::RequestFeatures,
            Mention::ToolTypes(_) => Attr::RequestToolTypes,
            Mention::MaxTokens(_) => Attr::MaxTokens,
            Mention::Kind => Attr::Kind,
        }
    }
}

impl Pred {
    fn mention(&self) -> Mention {
        match self {
            Pred::Known(a) => Mention::Known(*a),
            Pred::CountrySet(a, s) | Pred::Country(a, s) => Mention::Countries(*a, *s),
            Pred::Region(a, p) | Pred::Location(a, p) => Mention::Places {
                attr: *a,
                countries: p.countries,
                regions: p.regions.to_vec(),
            },
            Pred::Flag(a, _) => Mention::Flag(*a),
            Pred::Level(_, l) => Mention::Level(*l),
            Pred::Lists(s, m) => Mention::Lists(*s, *m),
            Pred::Endpoint(s) => Mention::Endpoints(*s),
            Pred::Features(s) => Mention::Features(*s),
            Pred::ToolTypes(s) => Mention::ToolTypes(*s),
            Pred::MaxTokens(_, n) => Mention::MaxTokens(*n),
            Pred::Kind(_) => Mention::Kind,
        }
    }
}

impl Expr {
    pub(crate) fn mentions(&self, out: &mut Vec<Mention>) {
        match self {
            Expr::Const(_) => {}
            Expr::Not(e) => e.mentions(out),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.mentions(out)),
            Expr::Pred(p, _) => out.push(p.mention()),
        }
    }
}
