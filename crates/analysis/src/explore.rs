//! Deciding every class combination of a directive's rule groups with the
//! real engine.
//!
//! For each consulted directive, each of its rule groups is enumerated over
//! the product of the classes of the dimensions it reads, for every model
//! group the directive covers and every time at which the phases of the
//! directives consulted differ; every other dimension keeps a *background*
//! value chosen so that no rule of the directive outside the group fires.
//! Each combination is decided by [`Policy::decide`] on the whole set, and
//! the directive's own rule outcomes come from
//! [`Directive::rule_outcomes`]: the analysis never evaluates a condition
//! itself.

use std::collections::BTreeSet;

use cordon_catalog::ModelId;
use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_policy::{
    Consulted, Decision, Directive, Effect, Endpoint, Mode, Phase, Policy, RuleOutcome, Trace,
};
use cordon_subject::{SubjectKind, Truth, VerificationLevel};
use jiff::{SignedDuration, Timestamp};

use crate::case::Case;
use crate::dims::{Dim, Place, Value};
use crate::error::AnalysisError;
use crate::partition::{Group, Partition, SetTests};

/// The most combinations one rule group may take before the analysis stops
/// with an error instead of running for ever.
pub const MAX_GROUP_COMBINATIONS: u64 = 2_000_000;

/// Models that every directive of the sets treats alike.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModelGroup {
    /// The model decided for the whole group.
    #[serde(skip)]
    pub representative: ModelId,
    /// Canonical names of every model in the group.
    pub models: Vec<String>,
}

/// A directive set with its partitions, one per directive (in id order).
pub struct SetView<'a> {
    /// The checked set.
    pub policy: &'a Policy,
    /// The partition of each directive, by index.
    pub partitions: Vec<Partition>,
    /// What the whole set distinguishes.
    pub tests: SetTests,
}

impl<'a> SetView<'a> {
    /// Partitions every directive of `policy`.
    pub fn new(policy: &'a Policy, j: &Jurisdictions) -> SetView<'a> {
        let tests =
            Partition::place_tests_of(policy.directives().iter().filter(|d| SetView::consulted(d)));
        SetView {
            policy,
            partitions: policy
                .directives()
                .iter()
                .map(|d| Partition::of(d, j, &tests))
                .collect(),
            tests,
        }
    }

    /// Whether a directive takes part in decisions at all.
    pub fn consulted(d: &Directive) -> bool {
        matches!(d.mode, Mode::Enforced | Mode::Shadow)
    }
}

/// A decision with one directive's part in it: the decision, the
/// directive's contribution, the strongest effect of the other enforced
/// directives, and the directive's rule outcomes.
pub type Contribution = (
    Decision,
    Option<Consulted>,
    Effect,
    Vec<(Truth, RuleOutcome)>,
);

/// One decided combination, as the checks see it.
pub struct Visit<'v> {
    /// The directive whose rule group is being enumerated (index into its set).
    pub directive: usize,
    /// The rule group.
    pub group: &'v Group,
    /// The case decided.
    pub case: &'v Case,
    /// The directive's own contribution, when it was consulted.
    pub consulted: Option<Consulted>,
    /// The most restrictive effect (after exemptions) of every other
    /// enforced directive consulted.
    pub others: Effect,
    /// The directive's rules: each condition's truth and what it contributes.
    pub outcomes: Vec<(Truth, RuleOutcome)>,
}

/// Enumerates and decides cases, counting every decision made.
pub struct Explorer<'a> {
    /// Country and region tables.
    pub jurisdictions: &'a Jurisdictions,
    /// The value every dimension keeps when not enumerated.
    pub background: Case,
    /// Model groups over every set being analysed.
    pub models: Vec<ModelGroup>,
    /// Time points: one before every boundary, then each boundary.
    pub times: Vec<Timestamp>,
    /// Decisions made so far.
    pub decisions: u64,
    trace: Trace,
}

/// The background: a document-verified U.S. citizen with nothing else
/// against them, screened with no hits, asking from the United States.
fn default_background(model: ModelId, model_name: String, at: Timestamp) -> Case {
    let attested = VerificationLevel::Attested;
    let us = Some(Place {
        country: CountryCode::US,
        region: None,
    });
    let values = Dim::ALL
        .iter()
        .map(|d| match d {
            Dim::Kind => Value::Kind(SubjectKind::Individual),
            Dim::Verification => Value::Level(VerificationLevel::DocumentVerified),
            Dim::Citizenships => Value::Countries(Some(vec![CountryCode::US]), attested),
            Dim::PermanentResidencies => Value::Countries(Some(Vec::new()), attested),
            Dim::Protected => Value::Flag(Some(false), attested),
            Dim::UsPersonRecord => Value::Flag(None, VerificationLevel::None),
            Dim::Residence => Value::Place(us, attested),
            Dim::Billing | Dim::OrgLocation | Dim::OrgHeadquarters => {
                Value::Place(None, VerificationLevel::None)
            }
            Dim::OrgGovernments => Value::Countries(None, VerificationLevel::None),
            Dim::Screening => Value::Screening(Some(Vec::new())),
            Dim::Location => Value::Place(us, VerificationLevel::None),
            Dim::Anonymizer => Value::Anonymizer(false),
            Dim::Endpoint => Value::Endpoint(Endpoint::Chat),
            Dim::Features => Value::Features(Default::default(), Default::default()),
            Dim::MaxTokens => Value::MaxTokens(None),
        })
        .collect();
    Case {
        values,
        model,
        model_name,
        at,
    }
}

/// What to enumerate of a dimension, given its classes.
pub type Domain<'r> = dyn Fn(Dim, &[Value]) -> Vec<Value> + 'r;

/// Every class of every dimension.
pub fn every_class(_: Dim, classes: &[Value]) -> Vec<Value> {
    classes.to_vec()
}

/// An odometer over the classes of some dimensions.
pub struct Points<'p> {
    dims: Vec<(Dim, &'p [Value])>,
    index: Vec<usize>,
    done: bool,
}

impl<'p> Points<'p> {
    /// Every combination of the classes of `dims` in `partition`, each
    /// dimension's classes passed through `domain` (which may restrict or
    /// replace them).
    pub fn new(
        partition: &'p Partition,
        dims: &[Dim],
        domain: &Domain<'_>,
        filtered: &'p mut Vec<(Dim, Vec<Value>)>,
    ) -> Points<'p> {
        filtered.clear();
        for d in dims {
            let classes = partition.domains.get(d).map(Vec::as_slice).unwrap_or(&[]);
            filtered.push((*d, domain(*d, classes)));
        }
        let dims: Vec<(Dim, &'p [Value])> =
            filtered.iter().map(|(d, v)| (*d, v.as_slice())).collect();
        let done = dims.iter().any(|(_, v)| v.is_empty());
        Points {
            index: vec![0; dims.len()],
            dims,
            done,
        }
    }

    /// How many combinations there are.
    pub fn count(&self) -> u64 {
        self.dims
            .iter()
            .map(|(_, v)| v.len() as u64)
            .fold(1u64, u64::saturating_mul)
    }

    /// Applies the current combination to `case`, then advances; false when
    /// every combination has been given.
    pub fn next_into(&mut self, case: &mut Case) -> bool {
        if self.done {
            return false;
        }
        for ((d, values), i) in self.dims.iter().zip(&self.index) {
            if let Some(v) = values.get(*i) {
                case.set(*d, v.clone());
            }
        }
        self.done = true;
        for ((_, values), i) in self.dims.iter().zip(self.index.iter_mut()) {
            *i += 1;
            if *i < values.len() {
                self.done = false;
                break;
            }
            *i = 0;
        }
        true
    }
}

impl<'a> Explorer<'a> {
    /// An explorer over the model groups and time points of `sets`.
    ///
    /// # Errors
    /// When the catalog has no model to decide for.
    pub fn new(sets: &[&SetView<'_>], j: &'a Jurisdictions) -> Result<Explorer<'a>, AnalysisError> {
        let first = sets.first().ok_or(AnalysisError::NothingToAnalyse)?;
        let catalog = first.policy.catalog();
        let mut groups: Vec<(Vec<Vec<String>>, ModelGroup)> = Vec::new();
        for (id, model) in catalog.models() {
            let sig: Vec<Vec<String>> = sets
                .iter()
                .map(|s| {
                    s.policy
                        .candidates(id)
                        .map(|d| format!("{}\u{0}{}", d.id, d.source.text()))
                        .collect()
                })
                .collect();
            match groups.iter_mut().find(|(s, _)| *s == sig) {
                Some((_, g)) => g.models.push(model.id.clone()),
                None => groups.push((
                    sig,
                    ModelGroup {
                        representative: id,
                        models: vec![model.id.clone()],
                    },
                )),
            }
        }
        let models: Vec<ModelGroup> = groups.into_iter().map(|(_, g)| g).collect();
        let mut bounds: BTreeSet<Timestamp> = BTreeSet::new();
        for s in sets {
            for d in s
                .policy
                .directives()
                .iter()
                .filter(|d| SetView::consulted(d))
            {
                bounds.insert(d.effective);
                bounds.extend(d.grace_until);
                bounds.extend(d.expires);
            }
        }
        let mut times: Vec<Timestamp> = Vec::new();
        if let Some(first) = bounds.first()
            && let Ok(before) = first.checked_sub(SignedDuration::from_hours(24))
        {
            times.push(before);
        }
        times.extend(bounds.iter().copied());
        let rep = models.first().ok_or(AnalysisError::NoModels)?;
        let name = catalog
            .model(rep.representative)
            .map(|m| m.id.clone())
            .unwrap_or_default();
        let at = times.last().copied().unwrap_or(Timestamp::UNIX_EPOCH);
        let background = default_background(rep.representative, name, at);
        let mut explorer = Explorer {
            jurisdictions: j,
            background,
            models,
            times,
            decisions: 0,
            trace: Trace::default(),
        };
        for s in sets {
            explorer.quiet(s)?;
        }
        Ok(explorer)
    }

    /// The case's subject, through the subject record parser.
    fn subject(&self, case: &Case) -> Result<cordon_subject::Subject, AnalysisError> {
        case.subject(self.jurisdictions)
            .map_err(|e| AnalysisError::Case {
                detail: e.to_string(),
            })
    }

    /// Whether every rule of `rules` is false for `case`.
    fn all_false(
        &self,
        d: &Directive,
        rules: &[usize],
        case: &Case,
    ) -> Result<bool, AnalysisError> {
        let subject = self.subject(case)?;
        let outcomes = d.rule_outcomes(&subject, &case.request(), Phase::InForce);
        Ok(rules
            .iter()
            .all(|r| matches!(outcomes.get(*r), Some((Truth::False, _)))))
    }

    /// A combination of `group`'s classes on top of `base` under which none
    /// of its rules holds or is unknown, when there is one.
    fn quiet_point(
        &self,
        d: &Directive,
        p: &Partition,
        group: &Group,
        base: &Case,
    ) -> Result<Option<Case>, AnalysisError> {
        if self.all_false(d, &group.rules, base)? {
            return Ok(None);
        }
        let mut filtered = Vec::new();
        let mut points = Points::new(p, &group.dims, &every_class, &mut filtered);
        let mut case = base.clone();
        let mut tried = 0u64;
        while points.next_into(&mut case) {
            tried += 1;
            if tried > MAX_GROUP_COMBINATIONS {
                break;
            }
            if self.all_false(d, &group.rules, &case)? {
                return Ok(Some(case));
            }
        }
        Ok(None)
    }

    /// Moves the background where no rule of any consulted directive of
    /// `set` holds, group by group, where such a place exists.
    fn quiet(&mut self, set: &SetView<'_>) -> Result<(), AnalysisError> {
        for _pass in 0..2 {
            for (d, p) in set.policy.directives().iter().zip(&set.partitions) {
                if !SetView::consulted(d) {
                    continue;
                }
                for g in &p.groups {
                    if let Some(case) = self.quiet_point(d, p, g, &self.background)? {
                        for dim in &g.dims {
                            self.background.set(*dim, case.get(*dim).clone());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The background for enumerating directive `d`: in its scope, and with
    /// every rule group of it quiet.
    pub fn background_for(&self, d: &Directive, p: &Partition) -> Result<Case, AnalysisError> {
        let mut base = self.background.clone();
        if !d.scope.endpoints.is_empty()
            && let Value::Endpoint(e) = base.get(Dim::Endpoint)
            && !d.scope.endpoints.contains(*e)
            && let Some(first) = d.scope.endpoints.iter().next()
        {
            base.set(Dim::Endpoint, Value::Endpoint(first));
        }
        if !d.scope.features.is_empty()
            && let Value::Features(f, t) = base.get(Dim::Features)
            && !d.scope.features.intersects(*f)
            && let Some(first) = d.scope.features.iter().next()
        {
            let mut f = *f;
            f.insert(first);
            let t = *t;
            base.set(Dim::Features, Value::Features(f, t));
        }
        for g in &p.groups {
            if let Some(case) = self.quiet_point(d, p, g, &base)? {
                for dim in &g.dims {
                    base.set(*dim, case.get(*dim).clone());
                }
            }
        }
        Ok(base)
    }

    /// Decides a case on a whole set with the real engine.
    ///
    /// # Errors
    /// When the case's subject record is refused (a partition bug, reported).
    pub fn decide(&mut self, policy: &Policy, case: &Case) -> Result<Decision, AnalysisError> {
        let subject = self.subject(case)?;
        self.decisions += 1;
        Ok(policy.decide(&subject, &case.request(), &mut self.trace))
    }

    /// Decides a case and returns directive `index`'s contribution with the
    /// strongest effect of the other enforced directives.
    pub fn decide_for(
        &mut self,
        policy: &Policy,
        index: usize,
        case: &Case,
    ) -> Result<Contribution, AnalysisError> {
        let subject = self.subject(case)?;
        Ok(self.decide_subject(policy, index, &subject, case))
    }

    /// As [`Explorer::decide_for`], with the case's subject already read:
    /// the cases of one class combination differ only in model and time.
    fn decide_subject(
        &mut self,
        policy: &Policy,
        index: usize,
        subject: &cordon_subject::Subject,
        case: &Case,
    ) -> Contribution {
        let request = case.request();
        self.decisions += 1;
        let decision = policy.decide(subject, &request, &mut self.trace);
        let mut mine = None;
        let mut others = Effect::Allow;
        for c in self.trace.consulted() {
            if usize::from(c.directive) == index {
                mine = Some(*c);
            } else if policy
                .directives()
                .get(usize::from(c.directive))
                .is_some_and(|d| d.mode == Mode::Enforced)
            {
                others = others.max(c.effective());
            }
        }
        let outcomes = match (mine, policy.directives().get(index)) {
            (Some(c), Some(d)) => d.rule_outcomes(subject, &request, c.phase),
            _ => Vec::new(),
        };
        (decision, mine, others, outcomes)
    }

    /// The time points at which `d` is consulted for model group `m`, one per
    /// distinct combination of the phases of every directive consulted.
    pub fn times_for(&self, policy: &Policy, d: &Directive, m: usize) -> Vec<usize> {
        let Some(group) = self.models.get(m) else {
            return Vec::new();
        };
        let mut seen: BTreeSet<Vec<Option<u8>>> = BTreeSet::new();
        let mut out = Vec::new();
        // Latest first: a counterexample reads best at the most recent time
        // that shows it.
        for (i, t) in self.times.iter().enumerate().rev() {
            if d.phase(*t).is_none() {
                continue;
            }
            let sig: Vec<Option<u8>> = policy
                .candidates(group.representative)
                .map(|c| c.phase(*t).map(|p| p as u8))
                .collect();
            if seen.insert(sig) {
                out.push(i);
            }
        }
        out
    }

    /// One model group and time per phase `d` can be in: its own
    /// contribution depends on the model only through its scope (every
    /// model group it covers is alike to it) and on time only through its
    /// phase. Latest time first, so cases read as recent ones.
    pub fn phase_placements(&self, d: &Directive) -> Vec<(usize, usize)> {
        let Some(m) = self.models_for(d).first().copied() else {
            return Vec::new();
        };
        let mut seen: Vec<Phase> = Vec::new();
        let mut out = Vec::new();
        for (i, t) in self.times.iter().enumerate().rev() {
            if let Some(phase) = d.phase(*t)
                && !seen.contains(&phase)
            {
                seen.push(phase);
                out.push((m, i));
            }
        }
        out
    }

    /// Every model group and time at which `d` is consulted in `phase`, the
    /// other directives' phases and scopes varying: where a rule masked by
    /// another directive at one placement may decide at another.
    pub fn placements_in_phase(
        &self,
        policy: &Policy,
        d: &Directive,
        phase: Phase,
    ) -> Vec<(usize, usize)> {
        self.models_for(d)
            .into_iter()
            .flat_map(|m| {
                self.times_for(policy, d, m)
                    .into_iter()
                    .filter(|t| self.times.get(*t).and_then(|at| d.phase(*at)) == Some(phase))
                    .map(move |t| (m, t))
            })
            .collect()
    }

    /// The model groups whose models `d` covers.
    pub fn models_for(&self, d: &Directive) -> Vec<usize> {
        (0..self.models.len())
            .filter(|m| {
                self.models
                    .get(*m)
                    .is_some_and(|g| d.covers_model(g.representative))
            })
            .collect()
    }

    /// Puts a case on a model group and time point.
    pub fn place(&self, policy: &Policy, case: &mut Case, m: usize, t: usize) {
        if let Some(g) = self.models.get(m) {
            case.model = g.representative;
            case.model_name = policy
                .catalog()
                .model(g.representative)
                .map(|x| x.id.clone())
                .unwrap_or_default();
        }
        if let Some(at) = self.times.get(t) {
            case.at = *at;
        }
    }

    /// Decides every combination of every rule group of directive `index`,
    /// each dimension's classes passed through `domain`, on top of `base`,
    /// and hands each to `visit`.
    ///
    /// # Errors
    /// A group with more than [`MAX_GROUP_COMBINATIONS`] combinations, or
    /// whatever `visit` returns.
    pub fn each_visit(
        &mut self,
        set: &SetView<'_>,
        index: usize,
        base: &Case,
        domain: &Domain<'_>,
        visit: &mut dyn FnMut(&mut Explorer<'a>, &Visit<'_>) -> Result<(), AnalysisError>,
    ) -> Result<(), AnalysisError> {
        let (Some(d), Some(p)) = (
            set.policy.directives().get(index),
            set.partitions.get(index),
        ) else {
            return Ok(());
        };
        let placements = self.phase_placements(d);
        for group in &p.groups {
            let mut filtered = Vec::new();
            let mut points = Points::new(p, &group.dims, domain, &mut filtered);
            let count = points.count();
            if count > MAX_GROUP_COMBINATIONS {
                return Err(AnalysisError::TooManyCombinations {
                    directive: d.id.clone(),
                    combinations: count,
                });
            }
            let mut case = base.clone();
            while points.next_into(&mut case) {
                let subject = self.subject(&case)?;
                for (m, t) in &placements {
                    self.place(set.policy, &mut case, *m, *t);
                    let (_, consulted, others, outcomes) =
                        self.decide_subject(set.policy, index, &subject, &case);
                    let v = Visit {
                        directive: index,
                        group,
                        case: &case,
                        consulted,
                        others,
                        outcomes,
                    };
                    visit(self, &v)?;
                }
            }
        }
        Ok(())
    }
}

/// Whether an effect refuses the request.
pub fn refuses(e: Effect) -> bool {
    e >= Effect::VerificationRequired
}
