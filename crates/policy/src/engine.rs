//! Deciding a request against a policy.
//!
//! Combination, as `docs/directives.md` specifies: any enforced, in-scope
//! refusal refuses (deny over verification-required); obligations from every
//! enforced directive combine to the most restrictive; exemptions are checked
//! explicitly and lift only the directive that grants them; shadow directives
//! are evaluated and reported but never decide.
//!
//! A directive that refuses is lifted by one of its file's `[[exemption]]`s
//! or, failing that, by a licence record the subject holds
//! ([`licence_lifts`]).

use cordon_catalog::{Catalog, Resolution};
use cordon_subject::{Licence, LicenceBasis, Subject, SubjectKind, Truth};
use jiff::Timestamp;

use crate::directive::{Directive, Exemption, Mode, Obligations, Rule, RuleEffect, UnknownEffect};
use crate::policy::Policy;
use crate::program::{Ctx, Facts};
use crate::request::Request;

/// The outcome of a decision, ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Forward the request as it is.
    Allow,
    /// Forward the request after applying obligations.
    AllowWithObligations,
    /// Refuse until the customer verifies what the directive needs.
    VerificationRequired,
    /// Refuse.
    Deny,
}

impl Effect {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::AllowWithObligations => "allow_with_obligations",
            Effect::VerificationRequired => "verification_required",
            Effect::Deny => "deny",
        }
    }

    fn of_rule(e: RuleEffect) -> Effect {
        match e {
            RuleEffect::Deny => Effect::Deny,
            RuleEffect::VerificationRequired => Effect::VerificationRequired,
            RuleEffect::AllowWithObligations => Effect::AllowWithObligations,
        }
    }
}

/// Where a directive stands in time at the moment of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Effective, within its grace period.
    Grace,
    /// Effective, past any grace period.
    InForce,
    /// Not yet effective: a shadow-mode directive evaluated as if in force,
    /// so an order due next month can be tried on today's traffic.
    Upcoming,
}

/// What one rule contributes to its directive's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOutcome {
    /// The condition is false: the rule does nothing.
    Quiet,
    /// The condition is unknown and unknown means `allow`: the rule does not
    /// fire, and the decision carries a warning.
    AllowedUnknown,
    /// The rule fires with this effect (its own, or its unknown meaning).
    Fires(Effect),
}

/// What lifted a directive for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exempted {
    /// One of the directive file's `[[exemption]]`s: an index into
    /// [`Directive::exemptions`].
    Exemption(u8),
    /// A licence record the subject holds: an index into
    /// [`Subject::licences`].
    Licence(u16),
}

/// What one consulted directive contributed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consulted {
    /// Index into [`Policy::directives`].
    pub directive: u16,
    /// Grace or in force.
    pub phase: Phase,
    /// The directive's own effect (before exemption).
    pub effect: Effect,
    /// The rule that produced it, if any rule fired.
    pub rule: Option<u8>,
    /// The truth of that rule's condition.
    pub truth: Truth,
    /// Obligations it imposes.
    pub obligations: Obligations,
    /// The exemption or licence that lifted it.
    pub exempted_by: Option<Exempted>,
    /// Whether some rule's condition was unknown and unknown meant "allow".
    pub allowed_unknown: bool,
}

impl Consulted {
    /// The effect after exemptions.
    pub fn effective(&self) -> Effect {
        if self.exempted_by.is_some() {
            Effect::Allow
        } else {
            self.effect
        }
    }
}

/// The directives consulted for one decision; reuse one per thread so deciding
/// does not allocate.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub(crate) consulted: Vec<Consulted>,
}

impl Trace {
    /// A trace with room for `n` consulted directives.
    pub fn with_capacity(n: usize) -> Self {
        Trace {
            consulted: Vec::with_capacity(n),
        }
    }

    /// The directives consulted, in id order.
    pub fn consulted(&self) -> &[Consulted] {
        &self.consulted
    }
}

/// A decision: the effect and what it obliges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// What to do with the request.
    pub effect: Effect,
    /// Obligations to apply when allowed.
    pub obligations: Obligations,
    /// The enforced directive that decided a refusal: among the most
    /// restrictive, the highest [`Directive::priority`], then the first id.
    pub decided_by: Option<u16>,
    /// Whether the model name was unknown to the catalog (always a denial).
    pub unknown_model: bool,
}

/// Whether an organisation name matches an exemption holder: case-insensitive,
/// whitespace-collapsed, without allocating.
fn same_org(name: &str, key: &str) -> bool {
    let mut a = name.split_whitespace().flat_map(|w| {
        w.chars()
            .flat_map(char::to_lowercase)
            .chain(std::iter::once(' '))
    });
    let mut b = key.chars().chain(std::iter::once(' '));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (x, y) if x == y => {}
            _ => return false,
        }
    }
}

impl Exemption {
    /// Whether the exemption lifts the directive for this subject and request.
    pub(crate) fn applies(&self, subject: &Subject, request: &Request) -> bool {
        let at = request.at;
        self.expires.is_none_or(|x| at < x)
            && request
                .model
                .is_some_and(|m| self.model_ids.is_empty() || self.model_ids.contains(&m))
            && subject
                .organization_name(self.min_verification, at)
                .is_some_and(|n| same_org(n, &self.holder_key))
    }
}

/// How a licence the subject holds lifts directive `d` for `request`, if it
/// does (`docs/licences.md`):
///
/// - `d`'s id is among the directives the licence names;
/// - the request is at or after `issued` and before `expires`;
/// - the request's model is one the licence names (resolved through
///   `catalog`, so an alias names its model), or it names none; and
/// - the subject is the holder organisation itself, or an individual the
///   licence names whose citizenships are known at `d`'s minimum
///   verification level and include no excluded nationality
///   ([`Licence::covers`]): unknown citizenship fails closed.
///
/// Allocates nothing.
pub fn licence_lifts(
    licence: &Licence,
    d: &Directive,
    subject: &Subject,
    request: &Request,
    catalog: &Catalog,
) -> Option<LicenceBasis> {
    let at = request.at;
    let model = request.model?;
    let model_named = licence.models.is_empty()
        || licence.models.iter().any(
            |name| matches!(catalog.resolve(name), Resolution::Known { id, .. } if id == model),
        );
    if !(licence.lifts(&d.id) && licence.in_force(at) && model_named) {
        return None;
    }
    licence.covers(subject, d.levels.of(crate::Attr::Citizenships), at)
}

impl Directive {
    /// The directive's phase at `at`, or `None` when it is not consulted:
    /// expired, or not yet effective unless in shadow mode (a shadow
    /// directive is evaluated before `effective` as if in force, which is
    /// what shadow mode is for; it never decides).
    #[inline]
    pub fn phase(&self, at: Timestamp) -> Option<Phase> {
        if self.expires.is_some_and(|x| at >= x) {
            return None;
        }
        if at < self.effective {
            return (self.mode == Mode::Shadow).then_some(Phase::Upcoming);
        }
        Some(if self.grace_until.is_some_and(|g| at < g) {
            Phase::Grace
        } else {
            Phase::InForce
        })
    }

    /// Whether the request is inside the directive's endpoint and feature scope.
    #[inline]
    pub(crate) fn covers_request(&self, r: &Request) -> bool {
        (self.scope.endpoints.is_empty() || self.scope.endpoints.contains(r.endpoint))
            && (self.scope.features.is_empty() || self.scope.features.intersects(r.features))
    }

    /// What unknown means for a rule in a phase.
    pub(crate) fn unknown_for(
        &self,
        rule_override: Option<UnknownEffect>,
        phase: Phase,
    ) -> UnknownEffect {
        // During grace the directive's grace-period meaning wins over a rule's:
        // grace is the directive's promise to customers it cannot yet classify.
        let grace = if phase == Phase::Grace {
            self.unknown_during_grace
        } else {
            None
        };
        grace.or(rule_override).unwrap_or(self.unknown)
    }

    /// What one rule contributes given its condition's truth in a phase:
    /// the single statement of what a rule's truth means, shared by
    /// [`Directive::rule_outcomes`] and the engine's own evaluation.
    fn rule_effect(&self, rule: &Rule, truth: Truth, phase: Phase) -> RuleOutcome {
        match truth {
            Truth::False => RuleOutcome::Quiet,
            Truth::True => RuleOutcome::Fires(Effect::of_rule(rule.effect)),
            Truth::Unknown => match self.unknown_for(rule.on_unknown, phase) {
                UnknownEffect::Deny => RuleOutcome::Fires(Effect::Deny),
                UnknownEffect::VerificationRequired => {
                    RuleOutcome::Fires(Effect::VerificationRequired)
                }
                UnknownEffect::Apply => RuleOutcome::Fires(Effect::of_rule(rule.effect)),
                UnknownEffect::Allow => RuleOutcome::AllowedUnknown,
            },
        }
    }

    /// Each rule's condition truth and what the rule contributes, for a
    /// subject and request in `phase`, evaluated exactly as a decision
    /// evaluates them (the directive's verification levels and
    /// foreign-person definition apply).
    ///
    /// Policy analysis uses it to tell which rule of a directive decides and
    /// whether an unknown was allowed; deciding never calls it.
    pub fn rule_outcomes(
        &self,
        subject: &Subject,
        request: &Request,
        phase: Phase,
    ) -> Vec<(Truth, RuleOutcome)> {
        let facts = Facts::new(subject, request.at);
        let ctx = Ctx {
            subject,
            request,
            levels: &self.levels,
            facts: &facts,
            foreign_person: self.foreign_person_except(),
        };
        self.rules
            .iter()
            .map(|rule| {
                let truth = rule.expr.eval(&ctx);
                (truth, self.rule_effect(rule, truth, phase))
            })
            .collect()
    }

    /// Evaluates the directive's rules, then what may lift them.
    fn evaluate(
        &self,
        index: u16,
        phase: Phase,
        subject: &Subject,
        request: &Request,
        facts: &Facts,
        catalog: &Catalog,
    ) -> Consulted {
        let ctx = Ctx {
            subject,
            request,
            levels: &self.levels,
            facts,
            foreign_person: self.foreign_person_except(),
        };
        let mut out = Consulted {
            directive: index,
            phase,
            effect: Effect::Allow,
            rule: None,
            truth: Truth::False,
            obligations: Obligations::default(),
            exempted_by: None,
            allowed_unknown: false,
        };
        for (ri, rule) in self.rules.iter().enumerate() {
            let truth = rule.expr.eval(&ctx);
            let effect = match self.rule_effect(rule, truth, phase) {
                RuleOutcome::Quiet => continue,
                RuleOutcome::AllowedUnknown => {
                    out.allowed_unknown = true;
                    continue;
                }
                RuleOutcome::Fires(effect) => effect,
            };
            if effect == Effect::AllowWithObligations {
                out.obligations = out.obligations.combine(rule.obligations);
            }
            if effect > out.effect {
                out.effect = effect;
                out.rule = u8::try_from(ri).ok();
                out.truth = truth;
            }
        }
        if out.effect != Effect::Allow {
            // The file's exemptions first, as before licence records existed,
            // so what they lift is explained exactly as it always was.
            out.exempted_by = self
                .exemptions
                .iter()
                .position(|x| x.applies(subject, request))
                .and_then(|i| u8::try_from(i).ok())
                .map(Exempted::Exemption)
                .or_else(|| {
                    subject
                        .licences
                        .iter()
                        .position(|l| licence_lifts(l, self, subject, request, catalog).is_some())
                        .and_then(|i| u16::try_from(i).ok())
                        .map(Exempted::Licence)
                });
        }
        out
    }
}

impl Policy {
    /// Decides a request for a subject, recording what was consulted in `trace`.
    ///
    /// Allocates nothing once `trace` has [`Policy::max_consulted`] capacity.
    pub fn decide(&self, subject: &Subject, request: &Request, trace: &mut Trace) -> Decision {
        trace.consulted.clear();
        let Some(model) = request.model else {
            return Decision {
                effect: Effect::Deny,
                obligations: Obligations::default(),
                decided_by: None,
                unknown_model: true,
            };
        };
        let mut decision = Decision {
            effect: Effect::Allow,
            obligations: Obligations::default(),
            decided_by: None,
            unknown_model: false,
        };
        let Some(candidates) = self.by_model.get(model.index()) else {
            // A model id from another catalog: refuse rather than guess.
            decision.effect = Effect::Deny;
            decision.unknown_model = true;
            return decision;
        };
        let facts = Facts::new(subject, request.at);
        // The deciding directive's priority: among equal refusals the
        // highest decides (docs/directives.md#which-message-the-customer-sees).
        let mut decided_priority = i32::MIN;
        for &i in candidates.iter() {
            let Some(d) = self.directives.get(usize::from(i)) else {
                continue;
            };
            let Some(phase) = d.phase(request.at) else {
                continue;
            };
            if !d.covers_request(request) {
                continue;
            }
            if d.about_persons
                && request.person_decided_apart
                && subject.kind == SubjectKind::Organization
            {
                // The end user's own decision answers it (docs/verification.md).
                continue;
            }
            let c = d.evaluate(i, phase, subject, request, &facts, &self.catalog);
            trace.consulted.push(c);
            if d.mode != Mode::Enforced {
                continue;
            }
            let effect = c.effective();
            if effect == Effect::AllowWithObligations {
                decision.obligations = decision.obligations.combine(c.obligations);
            }
            if effect > decision.effect
                || (effect == decision.effect
                    && effect > Effect::AllowWithObligations
                    && d.priority > decided_priority)
            {
                decision.effect = effect;
                if effect > Effect::AllowWithObligations {
                    decision.decided_by = Some(i);
                    decided_priority = d.priority;
                }
            }
        }
        if decision.effect == Effect::AllowWithObligations && decision.obligations.is_empty() {
            decision.effect = Effect::Allow;
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::same_org;

    #[test]
    fn organisation_names_compare_without_case_or_spacing() {
        assert!(same_org("Northwind  Labs", "northwind labs"));
        assert!(same_org(" NORTHWIND LABS ", "northwind labs"));
        assert!(!same_org("Northwind Labs Ltd", "northwind labs"));
        assert!(!same_org("Northwind", "northwind labs"));
        assert!(!same_org("", "northwind labs"));
    }
}
