//! Directives: one TOML file each, checked into a [`Directive`].
//!
//! The file format is specified in `docs/directives.md`; this module is its
//! implementation. Checking collects every problem in a file rather than stopping
//! at the first, so compliance staff fix a file in one pass.

mod check;

pub use check::{CheckEnv, check_file};

use cordon_catalog::ModelId;
use cordon_source::SourceFile;
use cordon_subject::{PersonClasses, VerificationLevel};
use jiff::Timestamp;
use serde::Deserialize;

use crate::program::Expr;
use crate::request::{EndpointSet, FeatureSet};

/// Whether and how a directive takes part in decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Being written; checked but never consulted.
    Draft,
    /// Consulted and reported as "would deny", but never decides.
    Shadow,
    /// Consulted and enforced.
    Enforced,
    /// No longer in force; checked but never consulted.
    Retired,
}

impl Mode {
    /// Every mode, in lifecycle order.
    pub const ALL: [Mode; 4] = [Mode::Draft, Mode::Shadow, Mode::Enforced, Mode::Retired];

    /// The name directive files use (`mode = "…"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Draft => "draft",
            Mode::Shadow => "shadow",
            Mode::Enforced => "enforced",
            Mode::Retired => "retired",
        }
    }

    /// Parses the name directive files use.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

/// What a rule does when its condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleEffect {
    /// Refuse the request.
    Deny,
    /// Refuse until the customer verifies the attributes the rule needs.
    VerificationRequired,
    /// Allow, with the rule's obligations applied.
    AllowWithObligations,
}

/// What an *unknown* condition means for a directive or rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownEffect {
    /// Refuse.
    Deny,
    /// Allow (with a warning in the decision's reasons).
    Allow,
    /// Refuse until the customer verifies the unknown attributes.
    VerificationRequired,
    /// Act as if the condition held: apply the rule's own effect.
    Apply,
}

/// Constraints an allowed request must be made to satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Obligations {
    /// Cap on `max_tokens`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Features to strip from the request.
    #[serde(skip_serializing_if = "FeatureSet::is_empty")]
    pub remove_features: FeatureSet,
}

impl Obligations {
    /// Combines two sets of obligations into the most restrictive.
    #[must_use]
    pub fn combine(self, other: Obligations) -> Obligations {
        Obligations {
            max_tokens: match (self.max_tokens, other.max_tokens) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            remove_features: FeatureSet(self.remove_features.0 | other.remove_features.0),
        }
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.max_tokens.is_none() && self.remove_features.is_empty()
    }
}

/// Which requests a directive is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Scope {
    /// Models named (canonical ids); with families and tags empty too, every model.
    pub models: Vec<String>,
    /// Families named.
    pub families: Vec<String>,
    /// Classification tags named.
    pub tags: Vec<String>,
    /// Endpoints; empty means every endpoint.
    pub endpoints: EndpointSet,
    /// Features; empty means every request, otherwise only requests using one of them.
    pub features: FeatureSet,
}

/// One rule of a directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Id, unique within the directive.
    pub id: String,
    /// The condition as written.
    pub when: String,
    pub(crate) expr: Expr,
    /// Effect when the condition holds.
    pub effect: RuleEffect,
    /// Obligations, for `allow_with_obligations`.
    pub obligations: Obligations,
    /// What unknown means for this rule, overriding the directive's.
    pub on_unknown: Option<UnknownEffect>,
    /// The customer's message when this rule's condition holds, in place of
    /// the directive's: one directive can refuse on several legal grounds
    /// (a confirmed listing, a possible match under review) and each refusal
    /// must say which. When the condition is unknown the directive's message
    /// is shown, since the rule's ground was not established.
    pub message: Option<String>,
    /// The law this rule applies, when narrower than the directive's citation.
    pub citation: Option<String>,
    /// Where the customer can act when this rule decides and its condition
    /// held, in place of the directive's `remedy`.
    pub remedy: Option<String>,
}

/// A licence that exempts its holder from a directive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exemption {
    /// Licence number.
    pub licence: String,
    /// Holder organisation, as written.
    pub holder: String,
    #[serde(skip)]
    pub(crate) holder_key: String,
    /// When the licence lapses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// Models it covers; empty means every model in the directive's scope.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<String>,
    #[serde(skip)]
    pub(crate) model_ids: Vec<ModelId>,
    /// How well the subject's organisation must be verified to use it.
    pub min_verification: VerificationLevel,
}

/// A directive's definition of who is a foreign person (`[foreign_person]`).
///
/// An order about foreign nationals must say whom it protects; the EAR's
/// "foreign person" (15 CFR 772.1) excepts U.S. citizens, lawful permanent
/// residents and protected individuals, but an order may define its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ForeignPersonDefinition {
    /// The classes of natural persons who are *not* foreign persons under
    /// the directive.
    pub except: PersonClasses,
}

/// A property of the directive set asserted in a directive file
/// (`[[property]]`), written as `cordon analyze --property` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredProperty {
    /// The property, as written.
    pub check: String,
    /// Why it should hold, for reviewers.
    pub note: Option<String>,
    /// Where `check` is written.
    pub location: cordon_source::Location,
    /// The field, for messages (`property[0].check`).
    pub field: String,
}

/// A checked directive.
#[derive(Debug, Clone)]
pub struct Directive {
    /// Unique id.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Issuing authority.
    pub authority: String,
    /// Legal citation.
    pub citation: String,
    /// Link to the order or regulation.
    pub link: Option<String>,
    /// Date issued, as written (`YYYY-MM-DD` or a time).
    pub issued: String,
    /// When it takes effect.
    pub effective: Timestamp,
    /// End of the grace period, if any.
    pub grace_until: Option<Timestamp>,
    /// When it lapses, if ever.
    pub expires: Option<Timestamp>,
    /// Draft, shadow, enforced or retired.
    pub mode: Mode,
    /// Subject attributes verified below this level (or expired) are unknown.
    pub min_verification: VerificationLevel,
    /// The level each subject attribute must be verified at: the default
    /// `min_verification`, overridden per fact by `[min_verification_for]`.
    pub levels: crate::levels::Levels,
    /// Message shown to a refused customer.
    pub message: String,
    /// Where a refused customer can act (verify, appeal, read the order).
    pub remedy: Option<String>,
    /// Whose message a refused customer sees when several enforced
    /// directives refuse with the same effect: the highest priority, then
    /// the first id. The effect always comes first (deny over
    /// verification required), so priority never softens a decision.
    pub priority: i32,
    /// Which requests it covers.
    pub scope: Scope,
    pub(crate) scope_models: Option<Vec<ModelId>>,
    /// What unknown means (outside the grace period, and inside it unless overridden).
    pub unknown: UnknownEffect,
    /// What unknown means during the grace period, when it differs.
    pub unknown_during_grace: Option<UnknownEffect>,
    /// The rules.
    pub rules: Vec<Rule>,
    /// Licences that exempt their holders.
    pub exemptions: Vec<Exemption>,
    /// Who is a foreign person under it, when it defines that.
    pub foreign_person: Option<ForeignPersonDefinition>,
    /// The legal source of that definition, as written.
    pub foreign_person_citation: Option<String>,
    /// Whether a rule tests `subject.foreign_person`: the directive is about
    /// natural persons, and is decided on the person, not on an
    /// organisation's own account.
    pub about_persons: bool,
    /// Countries whose regions this directive's author accepts that no
    /// GeoIP database may provide (`accept_missing_regions`): the gap is
    /// stated in the directive file, where it is reviewed with the rules,
    /// instead of refusing start-up.
    pub accept_missing_regions: cordon_jurisdiction::CountrySet,
    /// Properties of the set its `[[property]]` tables assert, for
    /// `cordon analyze`; never consulted by a decision.
    pub properties: Vec<DeclaredProperty>,
    /// The file it came from.
    pub source: SourceFile,
    /// Byte offset of the `id` value in the file, for diagnostics about the directive as a whole.
    pub(crate) id_offset: usize,
}

impl Rule {
    /// The predicates of the rule's condition with the constants they
    /// compare against, in the order written.
    pub fn mentions(&self) -> Vec<crate::Mention> {
        let mut out = Vec::new();
        self.expr.mentions(&mut out);
        out
    }
}

impl Directive {
    /// Whether the directive covers a model.
    #[inline]
    pub fn covers_model(&self, id: ModelId) -> bool {
        self.scope_models
            .as_ref()
            .is_none_or(|m| m.binary_search(&id).is_ok())
    }

    /// The classes a directive excepts from "foreign person"; empty without
    /// a `[foreign_person]` table (the checker then refuses the attribute).
    pub(crate) fn foreign_person_except(&self) -> PersonClasses {
        self.foreign_person
            .map_or(PersonClasses::EMPTY, |d| d.except)
    }

    /// The models it covers, or `None` for every model.
    pub fn scope_models(&self) -> Option<&[ModelId]> {
        self.scope_models.as_deref()
    }
}
