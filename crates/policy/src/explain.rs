//! Explanations: a decision with every reason behind it, for people and logs.
//!
//! Built only when asked (on a refusal, for the CLI, for the audit log), by
//! re-walking the consulted directives' conditions; the decision itself is made
//! without it, so the allow path stays allocation-free.

use std::fmt::Write as _;

use cordon_catalog::{ModelId, Resolution, Via};
use cordon_subject::{LicenceBasis, PersonClasses, Provenance, ScreeningStatus, Subject, Truth};
use jiff::Timestamp;
use serde::Serialize;

use crate::directive::{Directive, Mode, Obligations, UnknownEffect};
use crate::engine::{Decision, Effect, Exempted, Phase, Trace, licence_lifts};
use crate::policy::Policy;
use crate::program::{Ctx, Facts, known};
use crate::request::Request;
use crate::vocabulary::Attr;

/// How the requested model name resolved.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    /// The name as the client sent it.
    pub requested: String,
    /// The canonical id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// How the name matched: `id`, `alias`, `snapshot`; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// One value a condition used, with where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct ValueUsed {
    /// The attribute, e.g. `subject.citizenships`.
    pub attribute: &'static str,
    /// Its value as the condition saw it (`unknown` when missing or unqualified).
    pub value: serde_json::Value,
    /// Provenance of each recorded value behind it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<ProvenanceReport>,
}

/// The provenance of one recorded value.
#[derive(Debug, Clone, Serialize)]
pub struct ProvenanceReport {
    /// The value.
    pub value: String,
    /// Its provenance.
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// One predicate of a condition and its truth.
#[derive(Debug, Clone, Serialize)]
pub struct PredicateReport {
    /// The predicate as written.
    pub text: String,
    /// Its truth for this request.
    pub truth: Truth,
}

/// One rule of a consulted directive.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    /// Rule id.
    pub id: String,
    /// The condition as written.
    pub when: String,
    /// The condition's truth.
    pub truth: Truth,
    /// What the rule contributed: an effect, or `allow` when it did not fire.
    pub effect: Effect,
    /// When the condition was unknown, what unknown meant here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_meant: Option<UnknownEffect>,
    /// The law this rule applies, when it names its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation: Option<String>,
    /// Each predicate and its truth.
    pub predicates: Vec<PredicateReport>,
}

/// An exemption that lifted a directive: a directive file's `[[exemption]]`,
/// or a licence record the subject holds (which also gives `authority`,
/// `issued`, `basis` and any `conditions`).
#[derive(Debug, Clone, Serialize)]
pub struct ExemptionReport {
    /// Licence number.
    pub licence: String,
    /// Holder: the organisation's name in a file's exemption, the holder
    /// organisation's account id in a licence record.
    pub holder: String,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
    /// For a licence record: who issued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// For a licence record: from when it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<Timestamp>,
    /// For a licence record: how it covers the subject, as the holder
    /// organisation itself or as a named individual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basis: Option<LicenceBasis>,
    /// For a licence record: its conditions as written (shown, not evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
}

/// One consulted directive and what it contributed.
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// Directive id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Issuing authority.
    pub authority: String,
    /// Legal citation.
    pub citation: String,
    /// Shadow or enforced.
    pub mode: Mode,
    /// Grace or in force.
    pub phase: Phase,
    /// The directive's effect after exemptions.
    pub effect: Effect,
    /// Its effect before exemptions, when an exemption lifted it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect_before_exemption: Option<Effect>,
    /// Whether this directive decided the outcome.
    pub decisive: bool,
    /// Obligations it imposes.
    #[serde(skip_serializing_if = "Obligations::is_empty")]
    pub obligations: Obligations,
    /// The exemption applied, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<ExemptionReport>,
    /// The minimum verification level its subject attributes needed.
    pub min_verification: cordon_subject::VerificationLevel,
    /// Every rule with its truth; empty in an explanation of
    /// [`Detail::Decision`].
    pub rules: Vec<RuleReport>,
    /// Every attribute its conditions read, with the value used and its
    /// provenance; in [`Detail::Decision`], only those no earlier reason of
    /// the same mode gave.
    pub values: Vec<ValueUsed>,
}

/// What a customer must verify to get past a `verification_required`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VerificationNeeded {
    /// The unknown attribute.
    pub attribute: &'static str,
    /// The level it must be verified at.
    pub min_verification: cordon_subject::VerificationLevel,
    /// The directive asking for it.
    pub directive: String,
}

/// A decision with every reason behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The outcome.
    pub effect: Effect,
    /// The policy version that decided.
    pub policy_version: String,
    /// When the decision was made for.
    pub at: Timestamp,
    /// The model as requested and resolved.
    pub model: ModelReport,
    /// Obligations to apply (when the effect is `allow_with_obligations`).
    #[serde(skip_serializing_if = "Obligations::is_empty")]
    pub obligations: Obligations,
    /// For a refusal: the deciding directive's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// For a refusal: the message for the customer. For a request allowed
    /// with obligations: why it is limited, each obligating directive's rule
    /// message (else its title) with its id, so a capped answer carries a reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// For a refusal: where the customer can act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// For `verification_required`: what to verify.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verify: Vec<VerificationNeeded>,
    /// Every enforced directive consulted, in id order.
    pub reasons: Vec<Reason>,
    /// Shadow directives consulted: what they would have done.
    pub shadow: Vec<Reason>,
    /// Things the customer or operator should know (grace periods, unknowns allowed).
    pub warnings: Vec<String>,
}

/// The rule that decided directive `decided_by`, when its condition held: a
/// rule decided on an unknown did not establish its ground, so its own
/// message and remedy do not apply.
fn deciding_rule<'d>(
    d: &'d Directive,
    trace: &Trace,
    decided_by: Option<u16>,
) -> Option<&'d crate::directive::Rule> {
    trace
        .consulted()
        .iter()
        .find(|c| Some(c.directive) == decided_by && c.exempted_by.is_none())
        .filter(|c| c.truth == Truth::True)
        .and_then(|c| d.rules.get(usize::from(c.rule?)))
}

/// The deciding directive's message, or its deciding rule's.
fn decisive_message(d: &Directive, trace: &Trace, decided_by: Option<u16>) -> String {
    deciding_rule(d, trace, decided_by)
        .and_then(|r| r.message.clone())
        .unwrap_or_else(|| d.message.clone())
}

/// The deciding directive's remedy, or its deciding rule's.
fn decisive_remedy(d: &Directive, trace: &Trace, decided_by: Option<u16>) -> Option<String> {
    deciding_rule(d, trace, decided_by)
        .and_then(|r| r.remedy.clone())
        .or_else(|| d.remedy.clone())
}

/// The lists with hits of `status`, or `"unknown"` when never screened.
fn screening_value(s: &Subject, status: ScreeningStatus, at: Timestamp) -> serde_json::Value {
    if s.screening_known() {
        serde_json::json!(s.screening_lists(status, at))
    } else {
        serde_json::Value::String("unknown".into())
    }
}

fn provenance_reports(list: Vec<(String, Provenance)>) -> Vec<ProvenanceReport> {
    list.into_iter()
        .map(|(value, provenance)| ProvenanceReport { value, provenance })
        .collect()
}

/// The attributes a customer verifies to make unknown `attr` known: itself,
/// except for `subject.foreign_person`, which no one records — it follows
/// from the citizenships, permanent residencies or protected status behind
/// the excepted classes still undetermined (and an organisation's own
/// account answers it only through the people using it).
fn proven_by(attr: Attr, ctx: &Ctx<'_>) -> Vec<&'static str> {
    if attr != Attr::ForeignPerson {
        return vec![attr.name()];
    }
    if ctx.subject.kind == cordon_subject::SubjectKind::Organization {
        // Nothing recorded on the organisation's own account settles it;
        // the explanation's warning says what does.
        return Vec::new();
    }
    let f = ctx.subject.foreign_person(
        ctx.foreign_person,
        ctx.min(Attr::ForeignPerson),
        ctx.request.at,
    );
    let mut out: Vec<&'static str> = Vec::new();
    for class in f.undetermined.iter() {
        if !out.contains(&class.proven_by()) {
            out.push(class.proven_by());
        }
    }
    out
}

fn value_used(attr: Attr, ctx: &Ctx<'_>) -> ValueUsed {
    use serde_json::{Value, json};
    let s = ctx.subject;
    let r = ctx.request;
    let (min, at) = (ctx.min(attr), r.at);
    let opt = |v: Option<String>| v.map_or(Value::String("unknown".into()), Value::String);
    let qualified_list =
        |l: &Option<Vec<cordon_subject::Attested<cordon_jurisdiction::CountryCode>>>| match l {
            None => Value::String("unknown".into()),
            Some(l) => Value::Array(
                l.iter()
                    .map(|e| {
                        if e.provenance.qualifies(min, at) {
                            json!(e.value.as_str())
                        } else {
                            json!(format!("{} (below {} or expired)", e.value, min.as_str()))
                        }
                    })
                    .collect(),
            ),
        };
    let (value, prov_key) = match attr {
        Attr::Citizenships => (qualified_list(&s.citizenships), "citizenships"),
        Attr::PermanentResidencies => (
            qualified_list(&s.permanent_residencies),
            "permanent_residencies",
        ),
        Attr::ResidenceCountry => (
            opt(s.residence_country(min, at).map(|c| c.to_string())),
            "residence_country",
        ),
        Attr::ResidenceRegion => (
            opt(s.residence_region(min, at).map(|c| c.to_string())),
            "residence_region",
        ),
        Attr::Residence => (
            json!({"country": opt(s.residence_country(min, at).map(|c| c.to_string())), "region": opt(s.residence_region(min, at).map(|c| c.to_string()))}),
            "residence_country",
        ),
        Attr::UsPerson => {
            let f = s.us_person(min, at);
            (json!({"value": f.truth, "basis": f.basis}), "us_person")
        }
        Attr::ForeignPerson => {
            let f = s.foreign_person(ctx.foreign_person, min, at);
            (
                json!({"value": f.truth, "basis": f.basis, "except": ctx.foreign_person}),
                "",
            )
        }
        Attr::ProtectedIndividual => (
            json!(s.protected_individual(min, at)),
            "protected_individual",
        ),
        Attr::Verification => (json!(s.verification), ""),
        Attr::Kind => (json!(s.kind), ""),
        Attr::OrganizationCountry => (
            opt(s.organization_country(min, at).map(|c| c.to_string())),
            "organization.country",
        ),
        Attr::OrganizationLocation => (
            json!({"country": opt(s.organization_country(min, at).map(|c| c.to_string())), "region": opt(s.organization_region(min, at).map(|c| c.to_string()))}),
            "organization.country",
        ),
        Attr::OrganizationHeadquarters => (
            json!({"country": opt(s.organization_headquarters(min, at).map(|c| c.to_string())), "region": opt(s.organization_headquarters_region(min, at).map(|c| c.to_string()))}),
            "organization.headquarters",
        ),
        Attr::OrganizationGovernments => (
            qualified_list(&s.organization.as_ref().and_then(|o| o.governments.clone())),
            "organization.governments",
        ),
        Attr::ResidencePermanent => (json!(s.residence_permanent(min, at)), "residence_country"),
        Attr::BillingCountry => (
            opt(s.billing_country(min, at).map(|c| c.to_string())),
            "billing_country",
        ),
        Attr::BillingRegion => (
            opt(s.billing_region(min, at).map(|c| c.to_string())),
            "billing_region",
        ),
        Attr::Billing => (
            json!({"country": opt(s.billing_country(min, at).map(|c| c.to_string())), "region": opt(s.billing_region(min, at).map(|c| c.to_string()))}),
            "billing_country",
        ),
        Attr::ScreeningPending => (screening_value(s, ScreeningStatus::Pending, at), ""),
        Attr::ScreeningConfirmed => (screening_value(s, ScreeningStatus::Confirmed, at), ""),
        Attr::ScreeningCleared => (screening_value(s, ScreeningStatus::Cleared, at), ""),
        Attr::RequestCountry => (opt(r.country.map(|c| c.to_string())), ""),
        Attr::RequestRegion => (opt(r.region.map(|c| c.to_string())), ""),
        Attr::RequestLocation => (
            json!({"country": opt(r.country.map(|c| c.to_string())), "region": opt(r.region.map(|c| c.to_string()))}),
            "",
        ),
        Attr::Anonymizer => (r.anonymizer.map_or(json!("unknown"), |b| json!(b)), ""),
        Attr::RequestEndpoint => (json!(r.endpoint), ""),
        Attr::RequestFeatures => (json!(r.features), ""),
        Attr::RequestToolTypes => (json!(r.tool_types), ""),
        Attr::MaxTokens => (r.max_tokens.map_or(json!("unknown"), |m| json!(m)), ""),
    };
    let mut provenance = if prov_key.is_empty() {
        Vec::new()
    } else {
        provenance_reports(s.provenance_of(prov_key))
    };
    if matches!(attr, Attr::UsPerson | Attr::ForeignPerson) {
        for k in [
            "citizenships",
            "permanent_residencies",
            "protected_individual",
        ] {
            provenance.extend(
                provenance_reports(s.provenance_of(k))
                    .into_iter()
                    .map(|mut p| {
                        p.value = format!("{k}: {}", p.value);
                        p
                    }),
            );
        }
    }
    let also: &[&str] = match attr {
        Attr::Residence => &["residence_region"],
        Attr::ResidencePermanent => &["citizenships", "permanent_residencies"],
        Attr::Billing => &["billing_region"],
        Attr::OrganizationLocation => &["organization.region"],
        Attr::OrganizationHeadquarters => &["organization.headquarters_region"],
        _ => &[],
    };
    // Where the extra attributes are of another kind than the value shown,
    // name them, as for the U.S.-person grounds.
    let label = attr == Attr::ResidencePermanent;
    for k in also {
        provenance.extend(
            provenance_reports(s.provenance_of(k))
                .into_iter()
                .map(|mut p| {
                    if label {
                        p.value = format!("{k}: {}", p.value);
                    }
                    p
                }),
        );
    }
    ValueUsed {
        attribute: attr.name(),
        value,
        provenance,
    }
}

/// The values an explanation of [`Detail::Decision`] has given so far: a
/// value depends only on the attribute, the level the directive requires of
/// it and the persons the directive does not count as foreign (the subject
/// and request being the same throughout), so an equal key is an equal value.
#[derive(Default)]
struct ValuesGiven(Vec<(Attr, cordon_subject::VerificationLevel, PersonClasses)>);

impl ValuesGiven {
    /// Whether `attr` as `ctx` reads it has not been given yet; records it.
    fn first_time(&mut self, attr: Attr, ctx: &Ctx<'_>) -> bool {
        let key = (attr, ctx.min(attr), ctx.foreign_person);
        if self.0.contains(&key) {
            return false;
        }
        self.0.push(key);
        true
    }
}

/// How much of the reasoning an [`Explanation`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything, each rule's condition and every predicate's truth
    /// included: for people asking why (the decision API, `cordon decide`).
    Full,
    /// What a decision needs to take effect and be recorded: every field
    /// but [`Reason::rules`], which is left empty, and [`Reason::values`],
    /// where a value an earlier reason of the same mode already gave (the
    /// same attribute read at the same level) is not repeated. The gateway's request path builds
    /// one per request; the rule reports and the repeated values were most
    /// of the cost, and the audit record keeps each value once anyway.
    Decision,
}

impl Policy {
    /// Explains a decision made by [`Policy::decide`] with the same inputs.
    pub fn explain(
        &self,
        subject: &Subject,
        request: &Request,
        requested_model: &str,
        decision: &Decision,
        trace: &Trace,
    ) -> Explanation {
        self.explain_with(
            subject,
            request,
            requested_model,
            decision,
            trace,
            Detail::Full,
        )
    }

    /// [`Self::explain`] with the given detail: every field the same,
    /// except the reasons' `rules` and `values` in [`Detail::Decision`].
    pub fn explain_with(
        &self,
        subject: &Subject,
        request: &Request,
        requested_model: &str,
        decision: &Decision,
        trace: &Trace,
        detail: Detail,
    ) -> Explanation {
        let model = self.model_report(requested_model, request.model);
        let mut reasons = Vec::new();
        let mut shadow = Vec::new();
        let mut warnings = Vec::new();
        let mut limited_by: Vec<String> = Vec::new();
        let mut verify: Vec<VerificationNeeded> = Vec::new();
        if decision.unknown_model {
            warnings.push(format!("the catalog has no model `{requested_model}`; requests for unknown models are refused"));
        }
        let facts = Facts::new(subject, request.at);
        let mut enforced_values = ValuesGiven::default();
        let mut shadow_values = ValuesGiven::default();
        for c in trace.consulted() {
            let Some(d) = self.directives.get(usize::from(c.directive)) else {
                continue;
            };
            let ctx = Ctx {
                subject,
                request,
                levels: &d.levels,
                facts: &facts,
                foreign_person: d.foreign_person_except(),
            };
            let mut attrs = Vec::new();
            let rules = d
                .rules
                .iter()
                .filter_map(|rule| {
                    rule.expr.attrs(&mut attrs);
                    let truth = rule.expr.eval(&ctx);
                    let unknown_meant = (truth == Truth::Unknown).then(|| d.unknown_for(rule.on_unknown, c.phase));
                    let effect = match (truth, unknown_meant) {
                        (Truth::True, _) | (Truth::Unknown, Some(UnknownEffect::Apply)) => match rule.effect {
                            crate::RuleEffect::Deny => Effect::Deny,
                            crate::RuleEffect::VerificationRequired => Effect::VerificationRequired,
                            crate::RuleEffect::AllowWithObligations => Effect::AllowWithObligations,
                        },
                        (Truth::Unknown, Some(UnknownEffect::Deny)) => Effect::Deny,
                        (Truth::Unknown, Some(UnknownEffect::VerificationRequired)) => Effect::VerificationRequired,
                        _ => Effect::Allow,
                    };
                    if effect == Effect::VerificationRequired && truth == Truth::Unknown {
                        let mut unknown_attrs = Vec::new();
                        rule.expr.unsettled_attrs(&ctx, &mut unknown_attrs);
                        for a in unknown_attrs.into_iter().filter(|a| a.is_subject() && !known(*a, &ctx)) {
                            for attribute in proven_by(a, &ctx) {
                                let min_verification = Attr::parse(attribute).map_or(d.min_verification, |a| d.levels.of(a));
                                let need = VerificationNeeded { attribute, min_verification, directive: d.id.clone() };
                                if !verify.contains(&need) {
                                    verify.push(need);
                                }
                            }
                        }
                    }
                    if truth == Truth::Unknown && unknown_meant == Some(UnknownEffect::Allow) {
                        let when = match (c.phase, d.grace_until) {
                            (Phase::Grace, Some(g)) => format!("; the grace period ends {g}, after which unknown means {}", unknown_name(d.unknown)),
                            _ => String::new(),
                        };
                        warnings.push(format!("`{}` rule `{}`: the condition is unknown and unknown means allow{when}", d.id, rule.id));
                    }
                    if detail == Detail::Decision {
                        return None;
                    }
                    let mut preds = Vec::new();
                    rule.expr.visit(&ctx, &mut preds);
                    Some(RuleReport {
                        id: rule.id.clone(),
                        when: rule.when.clone(),
                        truth,
                        effect,
                        unknown_meant,
                        citation: rule.citation.clone(),
                        predicates: preds
                            .into_iter()
                            .map(|(span, _, truth)| PredicateReport { text: rule.when.get(span).unwrap_or_default().to_owned(), truth })
                            .collect(),
                    })
                })
                .collect();
            if d.about_persons
                && subject.kind == cordon_subject::SubjectKind::Organization
                && c.effect > Effect::AllowWithObligations
            {
                warnings.push(format!(
                    "`{}` is about natural persons and this is an organisation's own account: it is decided on the person using the organisation's key — register that end user, or the `*` end user with an attestation covering every user of the key (docs/verification.md)",
                    d.id
                ));
            }
            let exemption = match c.exempted_by {
                None => None,
                Some(Exempted::Exemption(i)) => {
                    d.exemptions.get(usize::from(i)).map(|x| ExemptionReport {
                        licence: x.licence.clone(),
                        holder: x.holder.clone(),
                        expires: x.expires,
                        authority: None,
                        issued: None,
                        basis: None,
                        conditions: None,
                    })
                }
                Some(Exempted::Licence(i)) => {
                    subject
                        .licences
                        .get(usize::from(i))
                        .map(|l| ExemptionReport {
                            licence: l.number.clone(),
                            holder: l.holder.clone(),
                            expires: Some(l.expires),
                            authority: Some(l.authority.clone()),
                            issued: Some(l.issued),
                            basis: licence_lifts(l, d, subject, request, &self.catalog),
                            conditions: l.conditions.clone(),
                        })
                }
            };
            if c.exempted_by.is_none() && c.effect > Effect::AllowWithObligations {
                for l in subject.licences.iter().filter(|l| l.lifts(&d.id)) {
                    if let Some(why) = licence_gap(l, d, subject, request, &self.catalog) {
                        warnings.push(format!(
                            "licence {} does not lift `{}`: {why}",
                            l.number, d.id
                        ));
                    }
                }
            }
            let reason = Reason {
                id: d.id.clone(),
                title: d.title.clone(),
                authority: d.authority.clone(),
                citation: d.citation.clone(),
                mode: d.mode,
                phase: c.phase,
                effect: c.effective(),
                effect_before_exemption: c.exempted_by.map(|_| c.effect),
                decisive: decision.decided_by == Some(c.directive),
                obligations: if c.effective() == Effect::AllowWithObligations {
                    c.obligations
                } else {
                    Obligations::default()
                },
                exemption,
                min_verification: d.min_verification,
                rules,
                values: attrs
                    .into_iter()
                    .filter(|&a| {
                        // Kept apart by mode: the audit record lists the
                        // enforced directives' values before the shadow ones'.
                        let given = if d.mode == Mode::Shadow {
                            &mut shadow_values
                        } else {
                            &mut enforced_values
                        };
                        detail == Detail::Full || given.first_time(a, &ctx)
                    })
                    .map(|a| value_used(a, &ctx))
                    .collect(),
            };
            if d.mode == Mode::Enforced && reason.effect == Effect::AllowWithObligations {
                // Why the request is limited: the obligating rule's message,
                // else the directive's title (its message is written for
                // refusals).
                let why = c
                    .rule
                    .and_then(|r| d.rules.get(usize::from(r)))
                    .filter(|_| c.truth == Truth::True)
                    .and_then(|r| r.message.clone())
                    .unwrap_or_else(|| d.title.clone());
                limited_by.push(format!("{why} ({})", d.id));
            }
            if d.mode == Mode::Shadow {
                if reason.effect > Effect::AllowWithObligations {
                    warnings.push(format!(
                        "shadow directive `{}` would {}",
                        d.id,
                        reason.effect.as_str().replace('_', " ")
                    ));
                }
                shadow.push(reason);
            } else {
                reasons.push(reason);
            }
        }
        let decider = decision
            .decided_by
            .and_then(|i| self.directives.get(usize::from(i)));
        if decision.effect != Effect::VerificationRequired {
            verify.clear();
        } else if let Some(d) = decider {
            verify.retain(|v| v.directive == d.id);
        }
        Explanation {
            effect: decision.effect,
            policy_version: self.version().to_owned(),
            at: request.at,
            model,
            obligations: if decision.effect == Effect::AllowWithObligations {
                decision.obligations
            } else {
                Obligations::default()
            },
            decided_by: decider.map(|d| d.id.clone()),
            message: if decision.unknown_model {
                Some(format!(
                    "The model `{requested_model}` does not exist or is not available."
                ))
            } else if decision.effect == Effect::AllowWithObligations {
                Some(limited_by.join("; "))
            } else {
                decider.map(|d| decisive_message(d, trace, decision.decided_by))
            },
            remedy: decider.and_then(|d| decisive_remedy(d, trace, decision.decided_by)),
            verify,
            reasons,
            shadow,
            warnings,
        }
    }

    fn model_report(&self, requested: &str, id: Option<ModelId>) -> ModelReport {
        let resolved = match self.catalog.resolve(requested) {
            Resolution::Known { id, via } => Some((id, via)),
            Resolution::Unknown => None,
        };
        ModelReport {
            requested: requested.to_owned(),
            id: id.and_then(|i| self.catalog.model(i)).map(|m| m.id.clone()),
            via: resolved.filter(|(r, _)| Some(*r) == id).map(|(_, via)| via),
        }
    }
}

/// Why a licence the subject holds, naming directive `d`, does not lift it
/// for this request; `None` when it names someone else (nothing to say to
/// this subject) or when it does lift it.
fn licence_gap(
    l: &cordon_subject::Licence,
    d: &crate::Directive,
    subject: &Subject,
    request: &Request,
    catalog: &cordon_catalog::Catalog,
) -> Option<String> {
    let id = subject.id.as_deref()?;
    let named = id == l.holder || l.individuals.iter().any(|i| i == id);
    if !named || licence_lifts(l, d, subject, request, catalog).is_some() {
        return None;
    }
    let at = request.at;
    if at < l.issued {
        return Some(format!("it applies from {}", l.issued));
    }
    if at >= l.expires {
        return Some(format!("it expired at {}", l.expires));
    }
    let model_named = l.models.is_empty()
        || l.models.iter().any(|name| {
            matches!(catalog.resolve(name), Resolution::Known { id, .. } if Some(id) == request.model)
        });
    if !model_named {
        return Some(format!("it covers only {}", l.models.join(", ")));
    }
    if id == l.holder {
        return Some("its holder is an organisation account, and this account is not one".into());
    }
    if subject.kind != cordon_subject::SubjectKind::Individual {
        return Some("it names this account as an individual, and it is an organisation".into());
    }
    let min = d.levels.of(Attr::Citizenships);
    let known = subject
        .citizenships
        .as_ref()
        .is_some_and(|cs| cs.iter().all(|c| c.provenance.qualifies(min, at)));
    if !known {
        return Some(format!(
            "it covers a named individual only when every citizenship is known at {} or above, and this account's are not",
            min.as_str()
        ));
    }
    let excluded: Vec<&str> = subject
        .citizenships
        .iter()
        .flatten()
        .filter(|c| l.excluded_nationalities.contains(&c.value))
        .map(|c| c.value.as_str())
        .collect();
    Some(format!(
        "it excludes nationals of {}, a citizenship of this account",
        excluded.join(", ")
    ))
}

/// One line about a licence record that lifted a directive.
fn licence_line(x: &ExemptionReport) -> String {
    let covers = match x.basis {
        Some(LicenceBasis::Holder) => "the holder's own account",
        Some(LicenceBasis::NamedIndividual) => "this account as a named individual",
        None => "this account",
    };
    let mut line = format!(
        "licence {} of `{}`, issued by {}, covers {covers}",
        x.licence,
        x.holder,
        x.authority.as_deref().unwrap_or("an unrecorded authority"),
    );
    if let (Some(i), Some(e)) = (x.issued, x.expires) {
        let _ = write!(line, " from {i} until {e}");
    }
    if let Some(c) = &x.conditions {
        let _ = write!(line, "; conditions (not evaluated): {c}");
    }
    line
}

fn unknown_name(u: UnknownEffect) -> &'static str {
    match u {
        UnknownEffect::Deny => "deny",
        UnknownEffect::Allow => "allow",
        UnknownEffect::VerificationRequired => "verification required",
        UnknownEffect::Apply => "apply the rule",
    }
}

impl Explanation {
    /// A plain-text rendering for terminals.
    pub fn to_text(&self) -> String {
        self.render(false)
    }

    /// The text rendering without what allowed: only directives that refuse,
    /// limit or were lifted (enforced or shadow), only the rules that did, and
    /// no attribute values. What an officer reads to see what an order does.
    pub fn to_brief_text(&self) -> String {
        self.render(true)
    }

    fn render(&self, brief: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "effect:          {}", self.effect.as_str());
        let model = match &self.model.id {
            Some(id) if *id == self.model.requested => id.clone(),
            Some(id) => format!("{id} (requested as `{}`)", self.model.requested),
            None => format!("unknown model `{}`", self.model.requested),
        };
        let _ = writeln!(out, "model:           {model}");
        let _ = writeln!(out, "at:              {}", self.at);
        let _ = writeln!(out, "policy version:  {}", self.policy_version);
        if let Some(m) = self.obligations.max_tokens {
            let _ = writeln!(out, "obligation:      max_tokens capped at {m}");
        }
        if !self.obligations.remove_features.is_empty() {
            let names: Vec<&str> = self
                .obligations
                .remove_features
                .iter()
                .map(|f| f.as_str())
                .collect();
            let _ = writeln!(out, "obligation:      remove {}", names.join(", "));
        }
        if let Some(d) = &self.decided_by {
            let _ = writeln!(out, "decided by:      {d}");
        }
        if let Some(m) = &self.message {
            let _ = writeln!(out, "message:         {m}");
        }
        if let Some(r) = &self.remedy {
            let _ = writeln!(out, "remedy:          {r}");
        }
        for v in &self.verify {
            let _ = writeln!(
                out,
                "verify:          {} at {} or above",
                v.attribute,
                v.min_verification.as_str()
            );
        }
        for (title, list) in [
            ("reasons", &self.reasons),
            ("shadow (not enforced)", &self.shadow),
        ] {
            let shown: Vec<&Reason> = list
                .iter()
                .filter(|r| !brief || r.effect != Effect::Allow || r.exemption.is_some())
                .collect();
            if shown.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title}:");
            for r in shown {
                let exempt = r
                    .exemption
                    .as_ref()
                    .map(|x| format!(" — exempted by licence {} ({})", x.licence, x.holder))
                    .unwrap_or_default();
                let phase = match r.phase {
                    Phase::Grace => ", grace period",
                    Phase::Upcoming => ", not yet effective: evaluated as if in force",
                    Phase::InForce => "",
                };
                let mark = if r.decisive { " [decisive]" } else { "" };
                let _ = writeln!(out, "  {} → {}{exempt}{mark}", r.id, r.effect.as_str());
                let _ = writeln!(out, "    {} ({}{phase})", r.citation, r.authority);
                if let Some(x) = r.exemption.as_ref().filter(|x| x.basis.is_some()) {
                    let _ = writeln!(out, "    {}", licence_line(x));
                }
                for rule in r
                    .rules
                    .iter()
                    .filter(|x| !brief || x.effect != Effect::Allow)
                {
                    let _ = writeln!(
                        out,
                        "    rule {}: {} is {} → {}",
                        rule.id,
                        // A condition written over several lines reads as one.
                        rule.when.split_whitespace().collect::<Vec<_>>().join(" "),
                        rule.truth,
                        rule.effect.as_str()
                    );
                    // A rule's own law is shown where it fired, so a refusal
                    // names the ground it stands on.
                    if let Some(c) = rule.citation.as_ref().filter(|_| rule.truth == Truth::True) {
                        let _ = writeln!(out, "      under {c}");
                    }
                    if !brief && rule.predicates.len() > 1 {
                        for p in &rule.predicates {
                            let _ = writeln!(out, "      {} is {}", p.text, p.truth);
                        }
                    }
                }
                for v in r.values.iter().filter(|_| !brief) {
                    let _ = writeln!(out, "    {} = {}", v.attribute, v.value);
                    for p in &v.provenance {
                        let src = p
                            .provenance
                            .source
                            .as_deref()
                            .unwrap_or("unrecorded source");
                        let _ = writeln!(
                            out,
                            "      {} ({}, {src})",
                            p.value,
                            p.provenance.level.as_str()
                        );
                    }
                }
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings:");
            for w in &self.warnings {
                let _ = writeln!(out, "  {w}");
            }
        }
        out
    }
}
