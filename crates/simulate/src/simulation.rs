//! The simulation: two directive sets, one time, every account × model cell.

mod changes;
mod grace;
mod when;

use grace::GraceEnd;

use std::sync::Arc;

use cordon_catalog::{ModelId, Resolution};
use cordon_jurisdiction::CountryCode;
use cordon_policy::{
    Decision, Directive, Effect, Mode, Obligations, Policy, Request, Standing, Trace,
};
use cordon_subject::{Subject, Truth, VerificationLevel};
use jiff::Timestamp;

use crate::SimulateError;
use crate::limits::held_to;
use crate::report::{ChangeKind, DirectiveChange};
use crate::shape::Shape;
use crate::tally::{Scratch, Tally};
use crate::transition::Transition;
use crate::way::{self, Need, Way};

/// One model decided for every account, with its id in each set's catalog.
#[derive(Debug, Clone)]
pub(crate) struct SimModel {
    /// Canonical id.
    pub(crate) id: Arc<str>,
    pub(crate) baseline: Option<ModelId>,
    pub(crate) proposed: Option<ModelId>,
    /// Both sets decide this model identically for every subject and no
    /// proposed grace period is running, so its cells are `Unchanged` without
    /// deciding them.
    pub(crate) identical: bool,
}

/// Where simulated requests come from.
///
/// A request's location is a fact about the request (the client address),
/// not about the account, and a directive may refuse an unknown location
/// outright; so the simulation has to assume one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Location {
    /// From the account's recorded residence country and region, whatever
    /// their verification level (for an organisation without one, its
    /// country and region of incorporation); unknown for an account with
    /// neither.
    #[default]
    Residence,
    /// From an undeterminable location, as a failed geolocation would be.
    Unknown,
    /// Every request from this country.
    Country(CountryCode),
}

impl Location {
    /// How the report names the assumption: `residence`, `unknown` or a country code.
    pub fn label(self) -> String {
        match self {
            Location::Residence => "residence".to_owned(),
            Location::Unknown => "unknown".to_owned(),
            Location::Country(c) => c.as_str().to_owned(),
        }
    }
}

/// A baseline and a proposed directive set compared at one time.
///
/// Holds the policies behind `Arc`s and nothing mutable, so one simulation
/// serves every worker thread; each thread keeps its own [`Tally`].
#[derive(Debug)]
pub struct Simulation {
    baseline: Arc<Policy>,
    proposed: Arc<Policy>,
    at: Timestamp,
    models: Vec<SimModel>,
    changes: Vec<DirectiveChange>,
    location: Location,
    notice_from: Option<Timestamp>,
    /// Directive ids by index, shared by every changed cell that names one.
    baseline_ids: Vec<Arc<str>>,
    proposed_ids: Vec<Arc<str>>,
    /// The ways a customer asked to verify can verify, in report order.
    ways: Vec<Way>,
    /// Where customers start verifying, for notify rows.
    start_url: Option<String>,
    /// The request shapes decided for every account × model, in report order.
    shapes: Vec<Shape>,
    /// Their labels, shared by every changed cell.
    shape_labels: Vec<Arc<str>>,
    /// Per proposed directive index: whether it was added or modified, so
    /// a refusal it would make can be told apart from an old one.
    changed_proposed: Vec<bool>,
}

/// What a customer must verify, from the proposed set's explanation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verify {
    /// The attribute, e.g. `subject.us_person`.
    pub attribute: String,
    /// The level it must be verified at.
    pub level: VerificationLevel,
}

/// One changed cell of an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellImpact {
    /// Model id.
    pub model: Arc<str>,
    /// The request shape decided, as [`Shape::label`] names it.
    pub shape: Arc<str>,
    /// What happens to it.
    pub transition: Transition,
    /// The baseline's effect at the simulated time.
    pub baseline: Effect,
    /// The proposed set's effect at the simulated time.
    pub proposed: Effect,
    /// The limits the baseline holds an allowed request to.
    pub baseline_limits: Obligations,
    /// The limits the proposed set holds an allowed request to at the
    /// simulated time (during a grace period, until it ends).
    pub proposed_limits: Obligations,
    /// When a grace period this cell's proposed outcome rests on ends: the
    /// directive decided an unknown attribute by its grace-period meaning
    /// (`allow`, `apply`, ...) and decides otherwise afterwards.
    pub grace_ends: Option<Timestamp>,
    /// The proposed effect once that grace period has ended.
    pub after_grace: Option<Effect>,
    /// The limits the proposed set holds the request to once that grace
    /// period has ended; empty when none.
    pub after_grace_limits: Obligations,
    /// The directive behind the change: the proposed refusal's decider, the
    /// directive whose grace period ends, the baseline refusal's decider for a
    /// regained model, or a directive imposing obligations.
    pub directive: Option<Arc<str>>,
    /// When the change bites: the end of the grace period, or for a lost
    /// model the directive's effective time when it is not before the
    /// simulated time.
    pub deadline: Option<Timestamp>,
    /// For verification transitions: what to verify.
    pub verify: Arc<[Verify]>,
    /// For a lost model: the refusal is what the directive makes of an
    /// attribute it cannot determine, so verifying may restore access.
    pub refused_as_unknown: bool,
}

/// An account's changed cells, for notifying the customer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountImpact {
    /// Account id.
    pub account: String,
    /// Whether the account belongs to an organisation (`organization.name`
    /// recorded), so that ways only organisations use count for it.
    pub organization: bool,
    /// Changed cells, in model order; never empty.
    pub cells: Vec<CellImpact>,
}

/// One cell's outcome before it is turned into counts.
struct Cell {
    transition: Transition,
    baseline: Decision,
    proposed: Decision,
    /// For the grace case: the proposed directive and its `grace_until`; the
    /// decision at that time is left in `Scratch::later`.
    grace: Option<(u16, Timestamp)>,
    /// For any other cell whose proposed outcome rests on a grace period:
    /// what the directive decides once the period ends, when that differs
    /// (refused differently, or held to other limits).
    after_grace: Option<GraceEnd>,
}

/// Which scratch trace holds the decision being explained.
#[derive(Clone, Copy)]
enum Which {
    Proposed,
    Later,
}

fn ids(p: &Policy) -> Vec<Arc<str>> {
    p.directives()
        .iter()
        .map(|d| Arc::from(d.id.as_str()))
        .collect()
}

fn refused(d: &Decision) -> bool {
    d.effect > Effect::AllowWithObligations
}

impl Simulation {
    /// Pairs the models of both catalogs and compares the directive sets.
    ///
    /// Models are the proposed catalog's, in its order, then those only the
    /// baseline knows; a model missing from one catalog is refused there, as
    /// the engine refuses unknown models.
    ///
    /// # Errors
    /// [`SimulateError::ModelConflict`] when a name is an id in one catalog and
    /// resolves to another model in the other; [`SimulateError::NoModels`] when
    /// both catalogs are empty.
    pub fn new(
        baseline: Arc<Policy>,
        proposed: Arc<Policy>,
        at: Timestamp,
    ) -> Result<Self, SimulateError> {
        let mut models = Vec::new();
        let (bc, pc) = (baseline.catalog(), proposed.catalog());
        for (pid, m) in pc.models() {
            let b = match bc.resolve(&m.id) {
                Resolution::Known {
                    id,
                    via: cordon_catalog::Via::Id,
                } => Some(id),
                Resolution::Known { id, .. } => {
                    return Err(SimulateError::ModelConflict {
                        model: m.id.clone(),
                        id_in: "proposed",
                        other: bc.model(id).map(|x| x.id.clone()).unwrap_or_default(),
                        other_in: "baseline",
                    });
                }
                Resolution::Unknown => None,
            };
            models.push(SimModel {
                id: Arc::from(m.id.as_str()),
                baseline: b,
                proposed: Some(pid),
                identical: false,
            });
        }
        for (bid, m) in bc.models() {
            if models.iter().any(|x| x.baseline == Some(bid)) {
                continue;
            }
            if let Resolution::Known { id, .. } = pc.resolve(&m.id) {
                return Err(SimulateError::ModelConflict {
                    model: m.id.clone(),
                    id_in: "baseline",
                    other: pc.model(id).map(|x| x.id.clone()).unwrap_or_default(),
                    other_in: "proposed",
                });
            }
            models.push(SimModel {
                id: Arc::from(m.id.as_str()),
                baseline: Some(bid),
                proposed: None,
                identical: false,
            });
        }
        if models.is_empty() {
            return Err(SimulateError::NoModels);
        }
        for m in &mut models {
            m.identical = changes::identical_for_model(&baseline, &proposed, m, at);
        }
        let changes = changes::changed_directives(&baseline, &proposed, at);
        let (baseline_ids, proposed_ids) = (ids(&baseline), ids(&proposed));
        let changed_proposed = proposed
            .directives()
            .iter()
            .map(|d| {
                changes
                    .iter()
                    .any(|c| c.id == d.id && c.change != ChangeKind::Removed)
            })
            .collect();
        Ok(Simulation {
            baseline,
            proposed,
            at,
            models,
            changes,
            location: Location::default(),
            notice_from: None,
            baseline_ids,
            proposed_ids,
            ways: vec![Way::self_declaration()],
            start_url: None,
            shapes: vec![Shape::plain()],
            shape_labels: vec![Arc::from(Shape::plain().label())],
            changed_proposed,
        })
    }

    /// Counts, for accounts asked to verify, which of `ways` could restore
    /// their access (see [`Way::restores`]), in this order.
    ///
    /// Without it self-declaration is the only way, since every gateway
    /// accepts it.
    pub fn with_ways(mut self, ways: Vec<Way>) -> Self {
        self.ways = ways;
        self
    }

    /// Gives notify rows a start link: `start_url` with the account and the
    /// first way that restores the row, unsigned (the gateway signs links
    /// when it refuses).
    pub fn with_start_url(mut self, start_url: String) -> Self {
        self.start_url = Some(start_url);
        self
    }

    /// Decides every account × model for each of `shapes`, in this order,
    /// instead of the plain chat request alone; an empty list keeps the
    /// plain request. Shapes given twice are decided once.
    pub fn with_shapes(mut self, shapes: Vec<Shape>) -> Self {
        let mut unique: Vec<Shape> = Vec::with_capacity(shapes.len());
        for s in shapes {
            if !unique.contains(&s) {
                unique.push(s);
            }
        }
        if !unique.is_empty() {
            self.shape_labels = unique.iter().map(|s| Arc::from(s.label())).collect();
            self.shapes = unique;
        }
        self
    }

    /// The request shapes decided, in report order.
    pub fn shapes(&self) -> &[Shape] {
        &self.shapes
    }

    /// The shapes' labels, in [`Simulation::shapes`] order.
    pub(crate) fn shape_labels(&self) -> &[Arc<str>] {
        &self.shape_labels
    }

    /// The ways of verifying counted, in report order.
    pub fn ways(&self) -> &[Way] {
        &self.ways
    }

    /// Where customers start verifying, if set.
    pub fn start_url(&self) -> Option<&str> {
        self.start_url.as_deref()
    }

    /// Decides requests as coming from `location` instead of the account's residence.
    pub fn with_location(mut self, location: Location) -> Self {
        self.location = location;
        self
    }

    /// Dates notify rows from `now`: a change that bites after it carries
    /// that time as its deadline, even when the simulated time is later.
    ///
    /// Without it deadlines count from [`Simulation::at`]. The engine never
    /// reads the clock, so the caller passes its own `now`.
    pub fn with_notice_from(mut self, now: Timestamp) -> Self {
        self.notice_from = Some(now);
        self
    }

    /// Where simulated requests come from.
    pub fn location(&self) -> Location {
        self.location
    }

    /// A request of `shape` for a model at a time, located as
    /// [`Simulation::location`] says.
    fn request(
        &self,
        model: Option<ModelId>,
        shape: &Shape,
        subject: &Subject,
        at: Timestamp,
    ) -> Request {
        let mut r = Request::new(model, at);
        shape.apply(&mut r);
        match self.location {
            Location::Residence => {
                r.country = subject.residence_country.as_ref().map(|c| c.value);
                r.region = subject.residence_region.as_ref().map(|c| c.value);
                // An organisation has no residence: it connects from where
                // it is incorporated or registered.
                if r.country.is_none() && subject.kind == cordon_subject::SubjectKind::Organization
                {
                    let any = cordon_subject::VerificationLevel::None;
                    r.country = subject.organization_country(any, at);
                    r.region = subject.organization_region(any, at);
                }
            }
            Location::Unknown => {}
            Location::Country(c) => r.country = Some(c),
        }
        r
    }

    /// The time every decision is made for.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// The set in force today.
    pub fn baseline(&self) -> &Policy {
        &self.baseline
    }

    /// The set being proposed.
    pub fn proposed(&self) -> &Policy {
        &self.proposed
    }

    /// Model ids decided for every account, in report order.
    pub fn models(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|m| &*m.id)
    }

    pub(crate) fn sim_models(&self) -> &[SimModel] {
        &self.models
    }

    /// Directives added, removed or modified between the sets (in id order),
    /// each with its mode, times and standing at [`Simulation::at`].
    ///
    /// Modified means a different mode, effective, grace or expiry time,
    /// verification floor, unknown handling, scope, rules or exemptions;
    /// wording (title, message, comments) does not count.
    pub fn changed_directives(&self) -> &[DirectiveChange] {
        &self.changes
    }

    /// A directive by id, from the proposed set or else the baseline.
    pub(crate) fn directive(&self, id: &str) -> Option<&Directive> {
        self.proposed
            .directive(id)
            .or_else(|| self.baseline.directive(id))
    }

    /// Plain sentences for the report: changed directives that do not decide at
    /// [`Simulation::at`] (pending, expired, draft, retired, shadow) with their
    /// next scheduled change, or that the sets are equivalent.
    pub fn notes(&self) -> Vec<String> {
        changes::notes(self)
    }

    /// Decides every model for one account under both sets and adds the result
    /// to `tally`; returns the account's changed cells, or `None` when nothing
    /// changes for it.
    ///
    /// Each cell is a request of one of [`Simulation::shapes`] (by default a
    /// plain chat request) for the model at [`Simulation::at`], from the place
    /// [`Simulation::location`] assumes (by default the account's recorded
    /// residence); replay logged traffic to see real locations and features.
    ///
    /// A cell whose proposed outcome rests on what a directive in its grace
    /// period makes of an unknown attribute is decided again at that grace
    /// period's end: if allowed now and refused then, it is
    /// [`Transition::VerificationRequiredAfterGrace`]; if refused now and
    /// refused differently then, the cell says so ([`CellImpact::grace_ends`]).
    pub fn account(&self, id: &str, subject: &Subject, tally: &mut Tally) -> Option<AccountImpact> {
        self.decide_account(id, subject, tally, true)
    }

    /// Like [`Simulation::account`], counting only: builds no changed cells
    /// (no strings, and explanations only of cells asked to verify, whose
    /// ways are counted), for reports without notify rows.
    pub fn count(&self, subject: &Subject, tally: &mut Tally) {
        self.decide_account("", subject, tally, false);
    }

    fn decide_account(
        &self,
        id: &str,
        subject: &Subject,
        tally: &mut Tally,
        impacts: bool,
    ) -> Option<AccountImpact> {
        tally.prepare(self);
        let mut account = [0u32; Transition::COUNT];
        let mut cells: Vec<CellImpact> = Vec::new();
        let mut needs = [Need::default(); way::RESTORABLE.len()];
        tally.scratch.start_account(self.shapes.len());
        for (mi, m) in self.models.iter().enumerate() {
            let mut per_model = [0u32; Transition::COUNT];
            for (si, shape) in self.shapes.iter().enumerate() {
                let cell = if m.identical {
                    None
                } else {
                    Some(self.cell(m, shape, subject, &mut tally.scratch))
                };
                let t = cell
                    .as_ref()
                    .map_or(Transition::Unchanged, |c| c.transition);
                for counts in [
                    Some(&mut per_model),
                    Some(&mut account),
                    tally.scratch.by_shape.get_mut(si),
                ]
                .into_iter()
                .flatten()
                {
                    if let Some(n) = counts.get_mut(t.index()) {
                        *n += 1;
                    }
                }
                let Some(c) = cell else { continue };
                if !t.is_change() {
                    self.note_already_refused(&c, &mut tally.scratch);
                    continue;
                }
                tally.add_limit_change(si, &held_to(&c.baseline), &held_to(&c.proposed));
                if let Some((d, _)) = c.grace {
                    tally.scratch.note_grace(d);
                }
                if let Some(e) = c.after_grace {
                    if refused(&c.proposed) {
                        tally.scratch.note_grace_refusal(e.directive);
                    } else {
                        tally.scratch.note_grace_limits(e.directive);
                    }
                }
                let restorable = way::restorable_index(c.transition);
                // Counting alone explains only what the ways are counted on.
                let verify = if impacts || restorable.is_some() {
                    self.verify_cell(m, shape, subject, &c, &mut tally.scratch)
                } else {
                    Arc::from([])
                };
                if let Some(need) = restorable.and_then(|i| needs.get_mut(i)) {
                    need.add(&verify);
                }
                if impacts {
                    if cells.is_empty() {
                        cells.reserve_exact(self.models.len());
                    }
                    cells.push(self.impact(m, si, &c, verify, &tally.scratch));
                }
            }
            tally.add_model_cells(mi, &per_model);
        }
        let organization = subject.organization.is_some();
        tally.add_account(subject, &account);
        tally.add_restorable(self, &needs, organization);
        if cells.is_empty() {
            None
        } else {
            Some(AccountImpact {
                account: id.to_owned(),
                organization,
                cells,
            })
        }
    }

    fn cell(&self, m: &SimModel, shape: &Shape, subject: &Subject, s: &mut Scratch) -> Cell {
        let at = self.at;
        let baseline = self.baseline.decide(
            subject,
            &self.request(m.baseline, shape, subject, at),
            &mut s.base,
        );
        let proposed = self.proposed.decide(
            subject,
            &self.request(m.proposed, shape, subject, at),
            &mut s.prop,
        );
        let mut transition = Transition::between(&baseline, &proposed);
        let mut grace = None;
        if !refused(&proposed) {
            grace = self.refused_after_grace(m, shape, subject, s);
            if grace.is_some() {
                transition = Transition::VerificationRequiredAfterGrace;
            }
        }
        let after_grace = if grace.is_none() {
            self.changed_after_grace(m, shape, subject, &proposed, s)
        } else {
            None
        };
        // Limits that begin when a grace period ends are a change even
        // when the sets agree today.
        if after_grace.is_some() && transition == Transition::Unchanged && !refused(&proposed) {
            transition = Transition::ObligationsChanged;
        }
        Cell {
            transition,
            baseline,
            proposed,
            grace,
            after_grace,
        }
    }

    /// Records, for a cell refused under both sets alike, each added or
    /// modified proposed directive that would refuse it too: the cell is
    /// unchanged only because the baseline's deciding directive already
    /// refuses (whichever of the two the proposed set names as decider).
    fn note_already_refused(&self, c: &Cell, s: &mut Scratch) {
        let Some(by) = c.baseline.decided_by else {
            return;
        };
        if !refused(&c.baseline) || !refused(&c.proposed) {
            return;
        }
        let by_id = self.baseline_ids.get(usize::from(by));
        for x in s.prop.consulted() {
            let changed = self
                .changed_proposed
                .get(usize::from(x.directive))
                .copied()
                .unwrap_or(false);
            let enforced = self
                .proposed
                .directives()
                .get(usize::from(x.directive))
                .is_some_and(|d| d.mode == Mode::Enforced);
            let same = self.proposed_ids.get(usize::from(x.directive)) == by_id;
            if changed && enforced && !same && x.effective() > Effect::AllowWithObligations {
                s.already_refused.push((x.directive, by));
            }
        }
    }

    /// What a changed cell asks the customer to verify: for a refusal with
    /// `verification_required` now or after the grace period, the proposed
    /// set's explanation; otherwise nothing. Explanations are built here only.
    fn verify_cell(
        &self,
        m: &SimModel,
        shape: &Shape,
        subject: &Subject,
        c: &Cell,
        s: &mut Scratch,
    ) -> Arc<[Verify]> {
        match c.transition {
            Transition::VerificationRequiredAfterGrace => {
                // INVARIANT: `cell` sets `grace` whenever it classifies a cell
                // as VerificationRequiredAfterGrace; the fallback explains the
                // decision at the simulated time rather than panicking.
                let g = c.grace.map_or(self.at, |(_, g)| g);
                let later = s.later_decision;
                self.verify(m, shape, subject, g, &later, Which::Later, s)
            }
            Transition::LoseAccess
            | Transition::VerificationRequired
            | Transition::RefusalChanged
                if c.proposed.effect == Effect::VerificationRequired =>
            {
                self.verify(m, shape, subject, self.at, &c.proposed, Which::Proposed, s)
            }
            _ => Arc::from([]),
        }
    }

    /// The notify details of a changed cell, with what it asks to verify.
    fn impact(
        &self,
        m: &SimModel,
        shape: usize,
        c: &Cell,
        verify: Arc<[Verify]>,
        s: &Scratch,
    ) -> CellImpact {
        let name = |p: &Policy, i: Option<u16>| {
            let ids = if std::ptr::eq(p, &*self.baseline) {
                &self.baseline_ids
            } else {
                &self.proposed_ids
            };
            i.and_then(|i| ids.get(usize::from(i))).cloned()
        };
        let obligations_by = |p: &Policy, trace: &Trace| {
            trace
                .consulted()
                .iter()
                .filter(|x| x.effective() == Effect::AllowWithObligations)
                .find(|x| {
                    p.directives()
                        .get(usize::from(x.directive))
                        .is_some_and(|d| d.mode == Mode::Enforced)
                })
                .and_then(|x| name(p, Some(x.directive)))
        };
        let mut deadline = None;
        let directive = match c.transition {
            Transition::Unchanged => None,
            Transition::VerificationRequiredAfterGrace => {
                // INVARIANT: `cell` sets `grace` whenever it classifies a cell
                // as VerificationRequiredAfterGrace; the fallback names no
                // directive rather than panicking.
                let (d, g) = c.grace.unwrap_or((u16::MAX, self.at));
                deadline = Some(g);
                name(&self.proposed, Some(d))
            }
            Transition::LoseAccess
            | Transition::VerificationRequired
            | Transition::RefusalChanged => {
                let id = name(&self.proposed, c.proposed.decided_by);
                if c.transition != Transition::RefusalChanged {
                    // When the refusal begins: unknowns were let through
                    // until the grace period ended; known refusals apply
                    // from the effective time.
                    let from = self.notice_from.map_or(self.at, |n| n.min(self.at));
                    deadline = c
                        .proposed
                        .decided_by
                        .and_then(|i| self.proposed.directives().get(usize::from(i)))
                        .map(|d| match (c.transition, d.grace_until) {
                            (Transition::VerificationRequired, Some(g)) => g,
                            _ => d.effective,
                        })
                        .filter(|e| *e >= from);
                }
                id
            }
            Transition::GainAccess => name(&self.baseline, c.baseline.decided_by),
            Transition::ObligationsChanged => match c.after_grace {
                // Limits that begin when a grace period ends bite then.
                Some(e) if !refused(&c.proposed) => {
                    deadline = Some(e.at);
                    name(&self.proposed, Some(e.directive))
                }
                _ => obligations_by(&self.proposed, &s.prop)
                    .or_else(|| obligations_by(&self.baseline, &s.base)),
            },
        };
        let (grace_ends, after_grace, after_grace_limits) = match (c.grace, c.after_grace) {
            (Some((_, g)), _) => (
                Some(g),
                Some(s.later_decision.effect),
                held_to(&s.later_decision),
            ),
            (None, Some(e)) => (Some(e.at), Some(e.effect), e.limits),
            (None, None) => (None, None, Obligations::default()),
        };
        CellImpact {
            model: m.id.clone(),
            shape: self
                .shape_labels
                .get(shape)
                .cloned()
                .unwrap_or_else(|| Arc::from("")),
            transition: c.transition,
            baseline: c.baseline.effect,
            proposed: c.proposed.effect,
            baseline_limits: held_to(&c.baseline),
            proposed_limits: held_to(&c.proposed),
            grace_ends,
            after_grace,
            after_grace_limits,
            directive,
            deadline,
            verify,
            refused_as_unknown: c.transition == Transition::LoseAccess
                && c.proposed.decided_by.is_some_and(|d| {
                    s.prop
                        .consulted()
                        .iter()
                        .any(|x| x.directive == d && x.truth == Truth::Unknown)
                }),
        }
    }

    /// What the proposed set's explanation asks the subject to verify.
    ///
    /// The list depends on the subject, the deciding directive, the effect and
    /// the time, never on the model (no condition reads it), so it is built
    /// once per account and directive and reused for its other models.
    #[allow(
        clippy::too_many_arguments,
        reason = "one cell's model, shape, subject and decision, and the thread's scratch"
    )]
    fn verify(
        &self,
        m: &SimModel,
        shape: &Shape,
        subject: &Subject,
        at: Timestamp,
        decision: &Decision,
        which: Which,
        s: &mut Scratch,
    ) -> Arc<[Verify]> {
        let key = (decision.decided_by, decision.effect, at);
        if let Some((_, v)) = s.verify.iter().find(|(k, _)| *k == key) {
            return v.clone();
        }
        let trace = match which {
            Which::Proposed => &s.prop,
            Which::Later => &s.later,
        };
        let request = self.request(m.proposed, shape, subject, at);
        let v: Arc<[Verify]> = self
            .proposed
            .explain(subject, &request, &m.id, decision, trace)
            .verify
            .into_iter()
            .map(|v| Verify {
                attribute: v.attribute.to_owned(),
                level: v.min_verification,
            })
            .collect();
        s.verify.push((key, v.clone()));
        v
    }

    /// Whether a proposed directive decides at [`Simulation::at`].
    pub(crate) fn proposed_in_effect(&self) -> bool {
        self.proposed.directives().iter().any(|d| {
            d.mode == Mode::Enforced
                && matches!(d.standing(self.at), Standing::Grace | Standing::InForce)
        })
    }
}

#[cfg(test)]
mod tests;
