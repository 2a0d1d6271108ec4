//! Checked, typed conditions and their three-valued evaluation.

use std::cell::Cell;
use std::ops::Range;

use cordon_jurisdiction::{
    Confidence, CountryCode, CountrySet, GroupRegistry, GroupStatus, Jurisdictions, RegionCode,
};
use cordon_subject::{
    PersonClasses, RestrictedList, ScreeningStatus, Subject, SubjectKind, Truth, VerificationLevel,
};

use crate::condition::{Ast, Item, Op, Operand};
use crate::request::{Endpoint, EndpointSet, Feature, FeatureSet, Request, ToolType, ToolTypeSet};
use crate::vocabulary::{Attr, AttrType};

/// An ordering comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn holds<T: Ord>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

/// Places named by a condition: whole countries and regions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Places {
    pub countries: CountrySet,
    pub regions: Box<[RegionCode]>,
    /// The countries that the regions belong to: a known country outside this
    /// set rules every region out even when the region itself is unknown.
    pub region_countries: CountrySet,
}

/// One typed predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pred {
    Known(Attr),
    CountrySet(Attr, CountrySet),
    Country(Attr, CountrySet),
    Region(Attr, Places),
    Location(Attr, Places),
    Flag(Attr, bool),
    Level(Cmp, VerificationLevel),
    Lists(ScreeningStatus, u16),
    Endpoint(EndpointSet),
    Features(FeatureSet),
    ToolTypes(ToolTypeSet),
    MaxTokens(Cmp, u64),
    Kind(SubjectKind),
}

/// A checked condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Const(Truth),
    Not(Box<Expr>),
    And(Box<[Expr]>),
    Or(Box<[Expr]>),
    /// A predicate with its byte range in the condition text.
    Pred(Pred, Range<usize>),
}

/// Subject facts that many directives ask for, computed at most once per decision.
///
/// A decision may consult dozens of directives that all ask whether the subject
/// is a U.S. person at the same verification level; deriving it once per level
/// keeps the cost of a decision from growing with that repetition.
pub(crate) struct Facts {
    us_person: [Cell<Option<Truth>>; VerificationLevel::ALL.len()],
    /// The last foreign-person answer per level, with the classes it was
    /// for: directives of one order share their definition.
    foreign_person: [Cell<Option<(u8, Truth)>>; VerificationLevel::ALL.len()],
    screening: [u16; 3],
    /// Whether the subject was screened at all: never screened is unknown.
    screened: bool,
}

impl Facts {
    /// The facts of `subject` for a decision at `at` (a hit by the BIS
    /// affiliates rule counts only while that rule is in force).
    pub(crate) fn new(subject: &Subject, at: jiff::Timestamp) -> Facts {
        Facts {
            us_person: Default::default(),
            foreign_person: Default::default(),
            screening: [
                subject.screening_mask(ScreeningStatus::Pending, at),
                subject.screening_mask(ScreeningStatus::Confirmed, at),
                subject.screening_mask(ScreeningStatus::Cleared, at),
            ],
            screened: subject.screening_known(),
        }
    }

    fn us_person(&self, c: &Ctx<'_>) -> Truth {
        let min = c.min(Attr::UsPerson);
        let Some(slot) = self.us_person.get(min as usize) else {
            return c.subject.us_person(min, c.request.at).truth;
        };
        if let Some(t) = slot.get() {
            return t;
        }
        let t = c.subject.us_person(min, c.request.at).truth;
        slot.set(Some(t));
        t
    }

    fn foreign_person(&self, c: &Ctx<'_>) -> Truth {
        let min = c.min(Attr::ForeignPerson);
        let derive = || {
            c.subject
                .foreign_person(c.foreign_person, min, c.request.at)
                .truth
        };
        let Some(slot) = self.foreign_person.get(min as usize) else {
            return derive();
        };
        let key = c.foreign_person.bits();
        if let Some((k, t)) = slot.get()
            && k == key
        {
            return t;
        }
        let t = derive();
        slot.set(Some((key, t)));
        t
    }

    fn screening(&self, status: ScreeningStatus) -> u16 {
        let i = match status {
            ScreeningStatus::Pending => 0,
            ScreeningStatus::Confirmed => 1,
            ScreeningStatus::Cleared => 2,
        };
        self.screening.get(i).copied().unwrap_or(0)
    }
}

/// What a condition is evaluated against.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub subject: &'a Subject,
    pub request: &'a Request,
    /// Subject attributes below their level (or expired) are unknown.
    pub levels: &'a crate::levels::Levels,
    /// Per-decision cache of subject facts.
    pub facts: &'a Facts,
    /// The directive's excepted classes for `subject.foreign_person`.
    pub foreign_person: PersonClasses,
}

impl Ctx<'_> {
    /// The level attribute `a` must be verified at for this directive.
    #[inline]
    pub(crate) fn min(&self, a: Attr) -> VerificationLevel {
        self.levels.of(a)
    }
}

fn country_of(attr: Attr, c: &Ctx<'_>) -> Option<CountryCode> {
    let at = c.request.at;
    match attr {
        Attr::ResidenceCountry | Attr::Residence | Attr::ResidenceRegion => {
            c.subject.residence_country(c.min(attr), at)
        }
        Attr::OrganizationCountry | Attr::OrganizationLocation => {
            c.subject.organization_country(c.min(attr), at)
        }
        Attr::OrganizationHeadquarters => c.subject.organization_headquarters(c.min(attr), at),
        Attr::BillingCountry | Attr::BillingRegion | Attr::Billing => {
            c.subject.billing_country(c.min(attr), at)
        }
        Attr::RequestCountry | Attr::RequestLocation | Attr::RequestRegion => c.request.country,
        _ => None,
    }
}

fn region_of(attr: Attr, c: &Ctx<'_>) -> Option<RegionCode> {
    match attr {
        Attr::ResidenceRegion | Attr::Residence => {
            c.subject.residence_region(c.min(attr), c.request.at)
        }
        Attr::RequestRegion | Attr::RequestLocation => c.request.region,
        Attr::OrganizationLocation => c.subject.organization_region(c.min(attr), c.request.at),
        Attr::OrganizationHeadquarters => c
            .subject
            .organization_headquarters_region(c.min(attr), c.request.at),
        Attr::BillingRegion | Attr::Billing => c.subject.billing_region(c.min(attr), c.request.at),
        _ => None,
    }
}

/// Kleene membership of a (country, region) pair in a set of regions.
fn region_in(country: Option<CountryCode>, region: Option<RegionCode>, places: &Places) -> Truth {
    match region {
        Some(r) => Truth::from_bool(places.regions.contains(&r)),
        // The region is unknown, but a known country outside every listed region's
        // country rules them all out.
        None => match country {
            Some(c) if !places.region_countries.contains(c) => Truth::False,
            _ if places.regions.is_empty() => Truth::False,
            _ => Truth::Unknown,
        },
    }
}

impl Pred {
    #[inline]
    fn eval(&self, c: &Ctx<'_>) -> Truth {
        let at = c.request.at;
        match self {
            Pred::Known(a) => Truth::from_bool(known(*a, c)),
            Pred::CountrySet(Attr::Citizenships, set) => {
                c.subject.citizenship_in(set, c.min(Attr::Citizenships), at)
            }
            Pred::CountrySet(Attr::OrganizationGovernments, set) => c
                .subject
                .organization_government_in(set, c.min(Attr::OrganizationGovernments), at),
            Pred::CountrySet(a, set) => c.subject.permanent_residency_in(set, c.min(*a), at),
            Pred::Country(a, set) => {
                country_of(*a, c).map_or(Truth::Unknown, |v| Truth::from_bool(set.contains(v)))
            }
            Pred::Region(a, places) => region_in(country_of(*a, c), region_of(*a, c), places),
            Pred::Location(a, places) => {
                let region = region_of(*a, c);
                // A known region implies its country.
                match country_of(*a, c).or_else(|| region.map(|r| r.country())) {
                    None => Truth::Unknown,
                    Some(cc) if places.countries.contains(cc) => Truth::True,
                    Some(cc) => region_in(Some(cc), region, places),
                }
            }
            Pred::Flag(a, want) => {
                let v = match a {
                    Attr::UsPerson => c.facts.us_person(c),
                    Attr::ForeignPerson => c.facts.foreign_person(c),
                    Attr::ProtectedIndividual => c.subject.protected_individual(c.min(*a), at),
                    Attr::ResidencePermanent => c.subject.residence_permanent(c.min(*a), at),
                    _ => c
                        .request
                        .anonymizer
                        .map_or(Truth::Unknown, Truth::from_bool),
                };
                if *want { v } else { !v }
            }
            Pred::Level(cmp, level) => Truth::from_bool(cmp.holds(c.subject.verification, *level)),
            Pred::Lists(status, mask) => {
                if c.facts.screened {
                    Truth::from_bool(c.facts.screening(*status) & mask != 0)
                } else {
                    Truth::Unknown
                }
            }
            Pred::Endpoint(set) => Truth::from_bool(set.contains(c.request.endpoint)),
            Pred::Features(set) => Truth::from_bool(set.intersects(c.request.features)),
            Pred::ToolTypes(set) => Truth::from_bool(set.intersects(c.request.tool_types)),
            Pred::MaxTokens(cmp, n) => c.request.max_tokens.map_or(Truth::Unknown, |m| {
                Truth::from_bool(cmp.holds(u64::from(m), *n))
            }),
            Pred::Kind(k) => Truth::from_bool(c.subject.kind == *k),
        }
    }
}

/// Whether an attribute has a usable value (at the directive's level); never unknown.
pub(crate) fn known(a: Attr, c: &Ctx<'_>) -> bool {
    let at = c.request.at;
    let all_qualify = |l: &Option<Vec<cordon_subject::Attested<CountryCode>>>| {
        l.as_ref()
            .is_some_and(|l| l.iter().all(|e| e.provenance.qualifies(c.min(a), at)))
    };
    match a {
        Attr::Citizenships => all_qualify(&c.subject.citizenships),
        Attr::PermanentResidencies => all_qualify(&c.subject.permanent_residencies),
        Attr::ResidenceCountry | Attr::Residence => {
            c.subject.residence_country(c.min(a), at).is_some()
        }
        Attr::ResidenceRegion => c.subject.residence_region(c.min(a), at).is_some(),
        Attr::UsPerson => c.facts.us_person(c) != Truth::Unknown,
        Attr::ForeignPerson => c.facts.foreign_person(c) != Truth::Unknown,
        Attr::ProtectedIndividual => c.subject.protected_individual(c.min(a), at) != Truth::Unknown,
        Attr::OrganizationCountry => c.subject.organization_country(c.min(a), at).is_some(),
        // A location is known when its country is, as for the residence.
        Attr::OrganizationLocation => {
            c.subject.organization_country(c.min(a), at).is_some()
                || c.subject.organization_region(c.min(a), at).is_some()
        }
        Attr::OrganizationHeadquarters => {
            c.subject.organization_headquarters(c.min(a), at).is_some()
                || c.subject
                    .organization_headquarters_region(c.min(a), at)
                    .is_some()
        }
        Attr::OrganizationGovernments => c
            .subject
            .organization
            .as_ref()
            .is_some_and(|o| all_qualify(&o.governments)),
        Attr::ResidencePermanent => c.subject.residence_permanent(c.min(a), at) != Truth::Unknown,
        Attr::BillingCountry => c.subject.billing_country(c.min(a), at).is_some(),
        Attr::Billing => {
            c.subject.billing_country(c.min(a), at).is_some()
                || c.subject.billing_region(c.min(a), at).is_some()
        }
        Attr::BillingRegion => c.subject.billing_region(c.min(a), at).is_some(),
        Attr::RequestCountry | Attr::RequestLocation => c.request.country.is_some(),
        Attr::RequestRegion => c.request.region.is_some(),
        Attr::Anonymizer => c.request.anonymizer.is_some(),
        Attr::MaxTokens => c.request.max_tokens.is_some(),
        Attr::ScreeningPending | Attr::ScreeningConfirmed | Attr::ScreeningCleared => {
            c.facts.screened
        }
        Attr::Verification
        | Attr::Kind
        | Attr::RequestEndpoint
        | Attr::RequestFeatures
        | Attr::RequestToolTypes => true,
    }
}

impl Expr {
    /// Evaluates in Kleene logic, short-circuiting on a dominating value.
    #[inline]
    pub(crate) fn eval(&self, c: &Ctx<'_>) -> Truth {
        match self {
            Expr::Const(t) => *t,
            Expr::Not(e) => !e.eval(c),
            Expr::And(es) => {
                let mut acc = Truth::True;
                for e in es.iter() {
                    acc = acc.and(e.eval(c));
                    if acc == Truth::False {
                        break;
                    }
                }
                acc
            }
            Expr::Or(es) => {
                let mut acc = Truth::False;
                for e in es.iter() {
                    acc = acc.or(e.eval(c));
                    if acc == Truth::True {
                        break;
                    }
                }
                acc
            }
            Expr::Pred(p, _) => p.eval(c),
        }
    }

    /// Evaluates every predicate (no short-circuit), reporting each with its range.
    pub(crate) fn visit(&self, c: &Ctx<'_>, out: &mut Vec<(Range<usize>, Attr, Truth)>) {
        match self {
            Expr::Const(_) => {}
            Expr::Not(e) => e.visit(c, out),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.visit(c, out)),
            Expr::Pred(p, span) => out.push((span.clone(), p.attr(), p.eval(c))),
        }
    }

    /// The countries of the regions that the condition tests against the
    /// request's location (`request.region`, `request.location`): the
    /// countries for which it needs a region from IP geolocation.
    pub(crate) fn request_region_countries(&self, out: &mut CountrySet) {
        match self {
            Expr::Const(_) => {}
            Expr::Not(e) => e.request_region_countries(out),
            Expr::And(es) | Expr::Or(es) => {
                es.iter().for_each(|e| e.request_region_countries(out));
            }
            Expr::Pred(
                Pred::Region(Attr::RequestRegion | Attr::RequestLocation, places)
                | Pred::Location(Attr::RequestRegion | Attr::RequestLocation, places),
                _,
            ) => *out = out.union(&places.region_countries),
            Expr::Pred(..) => {}
        }
    }

    /// Every attribute the condition reads.
    /// The attributes of the unknown predicates that leave this expression
    /// unknown: a conjunction with a false member, or a disjunction with a
    /// true one, is settled, and nothing inside it needs verifying (an
    /// individual is not asked where their organisation is incorporated when
    /// the rule is about organisations).
    pub(crate) fn unsettled_attrs(&self, c: &Ctx<'_>, out: &mut Vec<Attr>) {
        match self {
            Expr::Const(_) => {}
            Expr::Not(e) => e.unsettled_attrs(c, out),
            Expr::And(es) | Expr::Or(es) => {
                let settles = if matches!(self, Expr::And(_)) {
                    Truth::False
                } else {
                    Truth::True
                };
                if es.iter().any(|e| e.eval(c) == settles) {
                    return;
                }
                for e in es.iter().filter(|e| e.eval(c) == Truth::Unknown) {
                    e.unsettled_attrs(c, out);
                }
            }
            Expr::Pred(p, _) => {
                if p.eval(c) == Truth::Unknown && !out.contains(&p.attr()) {
                    out.push(p.attr());
                }
            }
        }
    }

    pub(crate) fn attrs(&self, out: &mut Vec<Attr>) {
        match self {
            Expr::Const(_) => {}
            Expr::Not(e) => e.attrs(out),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.attrs(out)),
            Expr::Pred(p, _) => {
                if !out.contains(&p.attr()) {
                    out.push(p.attr());
                }
            }
        }
    }
}

impl Pred {
    pub(crate) fn attr(&self) -> Attr {
        match self {
            Pred::Known(a)
            | Pred::CountrySet(a, _)
            | Pred::Country(a, _)
            | Pred::Region(a, _)
            | Pred::Location(a, _)
            | Pred::Flag(a, _) => *a,
            Pred::Level(..) => Attr::Verification,
            Pred::Lists(ScreeningStatus::Pending, _) => Attr::ScreeningPending,
            Pred::Lists(ScreeningStatus::Confirmed, _) => Attr::ScreeningConfirmed,
            Pred::Lists(ScreeningStatus::Cleared, _) => Attr::ScreeningCleared,
            Pred::Endpoint(_) => Attr::RequestEndpoint,
            Pred::Features(_) => Attr::RequestFeatures,
            Pred::ToolTypes(_) => Attr::RequestToolTypes,
            Pred::MaxTokens(..) => Attr::MaxTokens,
            Pred::Kind(_) => Attr::Kind,
        }
    }
}

/// An operand item as the user wrote it, for messages.
fn describe(item: &Item) -> String {
    match item {
        Item::Name(n, _) => format!("`{n}`"),
        Item::Number(n, _) => format!("`{n}`"),
        Item::Group(g, _) => format!("`group(\"{g}\")`"),
    }
}

/// A problem found while checking a condition, at a byte range of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckIssue {
    pub span: Range<usize>,
    pub message: String,
    pub is_error: bool,
}

/// Checks an untyped condition against the vocabulary, the jurisdictions and the groups.
pub(crate) struct Checker<'a> {
    pub jurisdictions: &'a Jurisdictions,
    pub groups: &'a GroupRegistry,
    /// Whether the directive has a `[foreign_person]` table, without which
    /// `subject.foreign_person` means nothing.
    pub foreign_person_defined: bool,
    pub issues: Vec<CheckIssue>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        self.issues.push(CheckIssue {
            span,
            message,
            is_error: true,
        });
    }

    fn warn(&mut self, span: Range<usize>, message: String) {
        self.issues.push(CheckIssue {
            span,
            message,
            is_error: false,
        });
    }

    /// Checks and types `ast`; on error, records issues and returns a constant in its place.
    pub(crate) fn check(&mut self, ast: &Ast) -> Expr {
        match ast {
            Ast::Literal(b) => Expr::Const(Truth::from_bool(*b)),
            Ast::Not(inner) => Expr::Not(Box::new(self.check(inner))),
            Ast::And(terms) => Expr::And(terms.iter().map(|t| self.check(t)).collect()),
            Ast::Or(terms) => Expr::Or(terms.iter().map(|t| self.check(t)).collect()),
            Ast::Known { attr, span } => match self.attribute(attr, span) {
                Some(a) => Expr::Pred(Pred::Known(a), span.clone()),
                None => Expr::Const(Truth::Unknown),
            },
            Ast::Flag { attr, span } => match self.attribute(attr, span) {
                Some(a) if a.ty() == AttrType::Flag => {
                    Expr::Pred(Pred::Flag(a, true), span.clone())
                }
                Some(a) => {
                    self.error(
                        span.clone(),
                        format!(
                            "`{}` is {}, not true or false; compare it, e.g. `{} in [...]`",
                            a.name(),
                            a.ty().describe(),
                            a.name()
                        ),
                    );
                    Expr::Const(Truth::Unknown)
                }
                None => Expr::Const(Truth::Unknown),
            },
            Ast::Compare {
                attr,
                op,
                operand,
                span,
            } => {
                let Some(a) = self.attribute(attr, span) else {
                    return Expr::Const(Truth::Unknown);
                };
                let negate = matches!(op, Op::NotIn | Op::Ne);
                match self.predicate(a, *op, operand, span) {
                    Some(p) => {
                        let e = Expr::Pred(p, span.clone());
                        if negate { Expr::Not(Box::new(e)) } else { e }
                    }
                    None => Expr::Const(Truth::Unknown),
                }
            }
        }
    }

    fn attribute(&mut self, name: &str, span: &Range<usize>) -> Option<Attr> {
        let found = Attr::parse(name);
        if found == Some(Attr::ForeignPerson) && !self.foreign_person_defined {
            self.error(
                span.start..span.start + name.len(),
                "`subject.foreign_person` is defined by each directive, and this one has no definition; add a `[foreign_person]` table naming who is not a foreign person under it, e.g. `except = [\"us_citizens\", \"us_nationals\", \"permanent_residents\", \"protected_individuals\"]` with its `citation` (docs/directives.md#foreign-persons)".into(),
            );
            return None;
        }
        if found.is_none() {
            let hint = Attr::suggest(name)
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            self.error(
                span.start..span.start + name.len(),
                format!("unknown attribute `{name}`{hint} (the attributes are listed in docs/directives.md)"),
            );
        }
        found
    }

    fn items(operand: &Operand) -> &[Item] {
        match operand {
            Operand::One(i) => std::slice::from_ref(i),
            Operand::List(items) => items,
        }
    }

    fn predicate(
        &mut self,
        a: Attr,
        op: Op,
        operand: &Operand,
        span: &Range<usize>,
    ) -> Option<Pred> {
        let ty = a.ty();
        let allowed: &[Op] = match ty {
            AttrType::CountrySet
            | AttrType::Location
            | AttrType::Lists
            | AttrType::Features
            | AttrType::ToolTypes => &[Op::In, Op::NotIn],
            AttrType::Country | AttrType::Region | AttrType::Endpoint => {
                &[Op::In, Op::NotIn, Op::Eq, Op::Ne]
            }
            AttrType::Flag | AttrType::Kind => &[Op::Eq, Op::Ne],
            AttrType::Level | AttrType::Number => &[Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge],
        };
        if !allowed.contains(&op) {
            let ops: Vec<&str> = allowed.iter().map(|o| o.as_str()).collect();
            self.error(
                span.clone(),
                format!(
                    "`{}` cannot be used with `{}` on `{}` ({}); use {}",
                    op.as_str(),
                    op.as_str(),
                    a.name(),
                    ty.describe(),
                    ops.join(", ")
                ),
            );
            return None;
        }
        let items = Self::items(operand);
        if matches!(op, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge) && items.len() != 1 {
            self.error(
                span.clone(),
                format!(
                    "`{}` compares with one value; use `in [...]` for a list",
                    op.as_str()
                ),
            );
            return None;
        }
        let cmp = match op {
            Op::Lt => Cmp::Lt,
            Op::Le => Cmp::Le,
            Op::Gt => Cmp::Gt,
            Op::Ge => Cmp::Ge,
            _ => Cmp::Eq,
        };
        let first = items.first()?;
        match ty {
            AttrType::CountrySet | AttrType::Country => {
                let places = self.places(a, items, false)?;
                Some(if ty == AttrType::CountrySet {
                    Pred::CountrySet(a, places.countries)
                } else {
                    Pred::Country(a, places.countries)
                })
            }
            AttrType::Region => Some(Pred::Region(a, self.places(a, items, true)?)),
            AttrType::Location => Some(Pred::Location(a, self.places_any(items)?)),
            AttrType::Flag => match first {
                Item::Name(n, _) if n == "true" || n == "false" => Some(Pred::Flag(a, n == "true")),
                other => {
                    self.error(other.span(), format!("`{}` is true or false", a.name()));
                    None
                }
            },
            AttrType::Level => {
                let mut levels = Vec::new();
                for item in items {
                    match item {
                        Item::Name(n, _) if VerificationLevel::parse(n).is_some() => levels.extend(VerificationLevel::parse(n)),
                        other => self.error(
                            other.span(),
                            format!("{} is not a verification level (expected none, self_declared, document_verified or attested)", describe(other)),
                        ),
                    }
                }
                if levels.len() != items.len() {
                    return None;
                }
                if op == Op::In || op == Op::NotIn {
                    // `in [a, b]` over an ordered scale: the checker keeps it simple and
                    // only accepts a single level.
                    if levels.len() != 1 {
                        self.error(
                            span.clone(),
                            "compare a level with `>=` or `==`, not a list".into(),
                        );
                        return None;
                    }
                }
                levels.first().map(|l| Pred::Level(cmp, *l))
            }
            AttrType::Lists => {
                let status = match a {
                    Attr::ScreeningPending => ScreeningStatus::Pending,
                    Attr::ScreeningConfirmed => ScreeningStatus::Confirmed,
                    _ => ScreeningStatus::Cleared,
                };
                let mut mask = 0u16;
                for item in items {
                    match item {
                        Item::Name(n, _) if RestrictedList::parse(n).is_some() => {
                            mask |= RestrictedList::parse(n).map_or(0, RestrictedList::bit);
                        }
                        other => {
                            let codes: Vec<&str> =
                                RestrictedList::ALL.iter().map(|l| l.code()).collect();
                            self.error(
                                other.span(),
                                format!(
                                    "{} is not a restricted-list code (expected one of: {})",
                                    describe(other),
                                    codes.join(", ")
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(Pred::Lists(status, mask))
            }
            AttrType::Endpoint => self
                .enum_set(items, Endpoint::parse, Endpoint::names)
                .map(|v| Pred::Endpoint(v.into_iter().collect())),
            AttrType::Features => self
                .enum_set(items, Feature::parse, Feature::names)
                .map(|v| Pred::Features(v.into_iter().collect())),
            AttrType::ToolTypes => self
                .enum_set(items, ToolType::parse, ToolType::names)
                .map(|v| Pred::ToolTypes(v.into_iter().collect())),
            AttrType::Number => match first {
                Item::Number(n, _) => Some(Pred::MaxTokens(cmp, *n)),
                other => {
                    self.error(
                        other.span(),
                        format!("`{}` is compared with a number", a.name()),
                    );
                    None
                }
            },
            AttrType::Kind => match first {
                Item::Name(n, _) if n == "individual" => Some(Pred::Kind(SubjectKind::Individual)),
                Item::Name(n, _) if n == "organization" => {
                    Some(Pred::Kind(SubjectKind::Organization))
                }
                other => {
                    self.error(
                        other.span(),
                        "expected `individual` or `organization`".into(),
                    );
                    None
                }
            },
        }
    }

    fn enum_set<T>(
        &mut self,
        items: &[Item],
        parse: fn(&str) -> Option<T>,
        names: fn() -> String,
    ) -> Option<Vec<T>> {
        let mut out = Vec::new();
        for item in items {
            match item {
                Item::Name(n, _) if parse(n).is_some() => out.extend(parse(n)),
                other => {
                    self.error(
                        other.span(),
                        format!(
                            "{} is not valid here (expected one of: {})",
                            describe(other),
                            names()
                        ),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    fn group(&mut self, id: &str, span: &Range<usize>) -> Option<(CountrySet, Vec<RegionCode>)> {
        match self.groups.get(id) {
            Some(g) => {
                if g.confidence == Confidence::Unverified {
                    self.warn(
                        span.clone(),
                        format!(
                            "group `{id}` is marked unverified: its membership was not checked against {}; confirm it before relying on this rule",
                            g.citation
                        ),
                    );
                }
                if g.status == GroupStatus::Rescinded {
                    self.warn(
                        span.clone(),
                        format!(
                            "group `{id}` is rescinded (since {}); a directive using it describes a hypothetical or historical measure",
                            g.rescinded.as_deref().unwrap_or("an unrecorded date")
                        ),
                    );
                }
                Some((g.countries, g.regions.clone()))
            }
            None => {
                let known: Vec<&str> = self.groups.iter().map(|g| g.id.as_str()).collect();
                self.error(
                    span.clone(),
                    format!(
                        "unknown country group `{id}`; known groups: {}",
                        known.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// Countries (and regions, when `regions` is true) named by a list.
    fn places(&mut self, a: Attr, items: &[Item], regions: bool) -> Option<Places> {
        let p = self.places_any(items)?;
        if regions && !p.countries.is_empty() {
            self.error(
                items.first().map(Item::span).unwrap_or_default(),
                format!("`{}` holds a region; list ISO 3166-2 codes such as `UA-43` (use `{}` for whole countries)", a.name(), match a { Attr::RequestRegion => "request.country", Attr::BillingRegion => "subject.billing_country", _ => "subject.residence_country" }),
            );
            return None;
        }
        if !regions && !p.regions.is_empty() {
            self.error(
                items.first().map(Item::span).unwrap_or_default(),
                format!("`{}` holds countries, not regions; test regions with `request.location`/`subject.residence` or a `*_region` attribute", a.name()),
            );
            return None;
        }
        Some(p)
    }

    fn places_any(&mut self, items: &[Item]) -> Option<Places> {
        let mut countries = CountrySet::EMPTY;
        let mut regions = Vec::new();
        let mut ok = true;
        for item in items {
            match item {
                Item::Group(id, span) => match self.group(id, span) {
                    Some((c, r)) => {
                        countries = countries.union(&c);
                        regions.extend(r);
                    }
                    None => ok = false,
                },
                Item::Name(n, span) if n.contains(':') => {
                    let known = if self.groups.get(n).is_some() {
                        "a country group"
                    } else {
                        "written like a country group id"
                    };
                    self.error(
                        span.clone(),
                        format!("`{n}` is {known}: a group is named as `group(\"{n}\")`"),
                    );
                    ok = false;
                }
                Item::Name(n, span) if n.contains('-') => match RegionCode::parse(n) {
                    Ok(r) if self.jurisdictions.is_region(r) => regions.push(r),
                    Ok(r) => {
                        self.error(
                            span.clone(),
                            format!("`{r}` is not a known ISO 3166-2 region code"),
                        );
                        ok = false;
                    }
                    Err(e) => {
                        self.error(span.clone(), e.to_string());
                        ok = false;
                    }
                },
                Item::Name(n, span) => match CountryCode::parse(n) {
                    Ok(c)
                        if self.jurisdictions.is_country(c)
                            && n.len() == 2
                            && n.bytes().all(|b| b.is_ascii_uppercase()) =>
                    {
                        countries.insert(c)
                    }
                    Ok(c) if self.jurisdictions.is_country(c) => {
                        self.error(
                            span.clone(),
                            format!("write country codes in upper case: `{c}`"),
                        );
                        ok = false;
                    }
                    Ok(c) => {
                        self.error(
                            span.clone(),
                            format!("`{c}` is not an assigned ISO 3166-1 country code"),
                        );
                        ok = false;
                    }
                    Err(e) => {
                        self.error(span.clone(), e.to_string());
                        ok = false;
                    }
                },
                Item::Number(_, span) => {
                    self.error(
                        span.clone(),
                        "expected a country code, region code or group(\"...\"), found a number"
                            .into(),
                    );
                    ok = false;
                }
            }
        }
        regions.sort();
        regions.dedup();
        let region_countries = regions.iter().map(RegionCode::country).collect();
        ok.then(|| Places {
            countries,
            regions: regions.into_boxed_slice(),
            region_countries,
        })
    }
}
