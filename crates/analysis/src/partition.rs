//! Partitioning each dimension's domain into the classes one directive's
//! conditions can tell apart.
//!
//! Two countries that every predicate of a directive treats alike (both in,
//! or both out of, each list it names) decide alike, so one stands for
//! both; groups and regions are expanded to their members first, so a
//! group is never a class of its own. Every dimension also has its
//! *unknown* class, and recorded facts one class per verification band the
//! directive distinguishes. A directive's rules are split into groups that
//! read disjoint dimensions: within a group every combination of classes is
//! decided; across groups the classes are independent, so they need not be
//! combined.

use std::collections::{BTreeMap, BTreeSet};

use cordon_jurisdiction::{CountryCode, CountrySet, Jurisdictions, RegionCode};
use cordon_policy::{
    Attr, Directive, Endpoint, Feature, FeatureSet, Mention, ToolType, ToolTypeSet,
};
use cordon_subject::{RestrictedList, ScreeningStatus, SubjectKind, VerificationLevel};

use crate::dims::{Dim, Place, Value, dims_of};

/// The most atoms a set-valued fact is expanded over in every subset; with
/// more, subsets of at most two atoms are tried and the partition is marked
/// incomplete.
const MAX_SET_ATOMS: usize = 6;

/// The most screening states tried; beyond it the partition is incomplete.
const MAX_SCREENING_STATES: usize = 4096;

/// Countries the analysis prefers as the representative of "every country no
/// condition names", so counterexamples read naturally.
const PREFERRED_UNNAMED: [&str; 8] = ["DE", "FR", "JP", "BR", "IN", "CA", "AU", "NL"];

/// A test of a place against named countries and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceTest {
    countries: CountrySet,
    regions: Vec<RegionCode>,
}

impl PlaceTest {
    /// Whether a place lies in what the test names: 2 inside, 1 in a country
    /// some of whose regions it names (the region decides), 0 outside.
    fn signature(&self, p: Option<Place>) -> u8 {
        match p {
            None => 3,
            Some(p) if self.countries.contains(p.country) => 2,
            Some(Place {
                region: Some(r), ..
            }) if self.regions.contains(&r) => 2,
            Some(p) if self.regions.iter().any(|r| r.country() == p.country) => 1,
            Some(_) => 0,
        }
    }
}

/// What the whole set distinguishes about places, and the levels its
/// directives demand of each fact.
#[derive(Debug, Clone, Default)]
pub struct SetTests {
    places: BTreeMap<Dim, Vec<PlaceTest>>,
    /// Every `min_verification` some directive demands of each fact.
    pub levels: BTreeMap<Dim, BTreeSet<VerificationLevel>>,
}

/// The rules of a directive that read overlapping dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Indices into the directive's rules.
    pub rules: Vec<usize>,
    /// The dimensions they read, in [`Dim`] order.
    pub dims: Vec<Dim>,
}

/// One directive's partition of every dimension it reads.
#[derive(Debug, Clone)]
pub struct Partition {
    /// The classes of each dimension read, each as its representative value.
    pub domains: BTreeMap<Dim, Vec<Value>>,
    /// The levels the directive reads each recorded fact at.
    pub levels: BTreeMap<Dim, BTreeSet<VerificationLevel>>,
    /// Dimensions the directive tests with `known(…)`: it states itself what
    /// their being unknown means.
    pub guarded: BTreeSet<Dim>,
    /// Rule groups over disjoint dimensions.
    pub groups: Vec<Group>,
    /// Whether every class combination within each group is enumerated;
    /// false when a set-valued fact had too many atoms for every subset.
    pub complete: bool,
    place_tests: BTreeMap<Dim, Vec<PlaceTest>>,
}

/// The level just below `l`, if any.
fn below(l: VerificationLevel) -> Option<VerificationLevel> {
    let all = VerificationLevel::ALL;
    let i = all.iter().position(|x| *x == l)?;
    i.checked_sub(1).and_then(|j| all.get(j)).copied()
}

/// One representative per verification band a set of thresholds makes.
pub fn level_bands(thresholds: &BTreeSet<VerificationLevel>) -> Vec<VerificationLevel> {
    let mut out: Vec<VerificationLevel> = Vec::new();
    if let Some(first) = thresholds.first()
        && let Some(b) = below(*first)
    {
        out.push(b);
    }
    out.extend(thresholds.iter().copied());
    if out.is_empty() {
        out.push(VerificationLevel::None);
    }
    out
}

/// Every subset of `atoms` (or those of at most two, when there are many),
/// smallest first; the flag says whether all subsets were given.
fn subsets<T: Copy>(atoms: &[T]) -> (Vec<Vec<T>>, bool) {
    let complete = atoms.len() <= MAX_SET_ATOMS;
    let mut out: Vec<Vec<T>> = Vec::new();
    if complete {
        for mask in 0u32..(1u32 << atoms.len()) {
            out.push(
                atoms
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, a)| *a)
                    .collect(),
            );
        }
        out.sort_by_key(Vec::len);
    } else {
        out.push(Vec::new());
        for (i, a) in atoms.iter().enumerate() {
            out.push(vec![*a]);
            for b in atoms.iter().skip(i + 1) {
                out.push(vec![*a, *b]);
            }
        }
    }
    (out, complete)
}

/// What a directive names, gathered per dimension.
#[derive(Default)]
struct Named {
    places: BTreeMap<Dim, Vec<PlaceTest>>,
    sets: BTreeMap<Dim, Vec<CountrySet>>,
    lists: Vec<(ScreeningStatus, u16)>,
    endpoints: Vec<cordon_policy::EndpointSet>,
    features: Vec<FeatureSet>,
    tool_types: Vec<ToolTypeSet>,
    max_tokens: Vec<u64>,
    levels: BTreeMap<Dim, BTreeSet<VerificationLevel>>,
    guarded: BTreeSet<Dim>,
    equality: bool,
    anywhere: CountrySet,
}

fn territories() -> CountrySet {
    let mut s = CountrySet::EMPTY;
    for c in ["PR", "GU", "VI", "AS", "MP"] {
        if let Ok(c) = CountryCode::parse(c) {
            s.insert(c);
        }
    }
    s
}

fn us_only() -> CountrySet {
    let mut s = CountrySet::EMPTY;
    s.insert(CountryCode::US);
    s
}

impl Named {
    fn of(d: &Directive) -> Named {
        let mut n = Named::default();
        for rule in &d.rules {
            for m in rule.mentions() {
                n.add(d, &m);
            }
        }
        if !d.scope.endpoints.is_empty() {
            n.endpoints.push(d.scope.endpoints);
        }
        if !d.scope.features.is_empty() {
            n.features.push(d.scope.features);
        }
        n
    }

    fn add(&mut self, d: &Directive, m: &Mention) {
        let a = m.attr();
        for dim in dims_of(a) {
            if dim.has_level() {
                self.levels.entry(*dim).or_default().insert(d.levels.of(a));
            }
            if matches!(
                dim,
                Dim::OrgLocation | Dim::OrgHeadquarters | Dim::OrgGovernments
            ) {
                self.levels.entry(*dim).or_default().insert(d.levels.of(a));
            }
        }
        match m {
            Mention::Known(a) => {
                self.guarded.extend(dims_of(*a).iter().copied());
                for dim in dims_of(*a) {
                    self.touch(*dim);
                }
            }
            Mention::Countries(a, set) => {
                self.anywhere = self.anywhere.union(set);
                let dim = dims_of(*a).first().copied().unwrap_or(Dim::Location);
                if matches!(
                    a,
                    Attr::Citizenships | Attr::PermanentResidencies | Attr::OrganizationGovernments
                ) {
                    self.sets.entry(dim).or_default().push(*set);
                } else {
                    self.places.entry(dim).or_default().push(PlaceTest {
                        countries: *set,
                        regions: Vec::new(),
                    });
                }
            }
            Mention::Places {
                attr,
                countries,
                regions,
            } => {
                self.anywhere = self.anywhere.union(countries);
                for r in regions {
                    self.anywhere.insert(r.country());
                }
                let dim = dims_of(*attr).first().copied().unwrap_or(Dim::Location);
                self.places.entry(dim).or_default().push(PlaceTest {
                    countries: *countries,
                    regions: regions.clone(),
                });
            }
            Mention::Flag(a) => match a {
                Attr::ForeignPerson | Attr::UsPerson => {
                    let cits = self.sets.entry(Dim::Citizenships).or_default();
                    cits.push(us_only());
                    cits.push(territories());
                    self.sets
                        .entry(Dim::PermanentResidencies)
                        .or_default()
                        .push(us_only());
                    self.anywhere = self.anywhere.union(&us_only()).union(&territories());
                    for dim in dims_of(*a) {
                        self.touch(*dim);
                    }
                    if *a == Attr::UsPerson {
                        self.places
                            .entry(Dim::OrgLocation)
                            .or_default()
                            .push(PlaceTest {
                                countries: us_only(),
                                regions: Vec::new(),
                            });
                    }
                }
                Attr::ResidencePermanent => {
                    self.equality = true;
                    for dim in dims_of(*a) {
                        self.touch(*dim);
                    }
                }
                other => {
                    for dim in dims_of(*other) {
                        self.touch(*dim);
                    }
                }
            },
            Mention::Level(_) => self.touch(Dim::Verification),
            Mention::Lists(s, mask) => self.lists.push((*s, *mask)),
            Mention::Endpoints(s) => self.endpoints.push(*s),
            Mention::Features(s) => self.features.push(*s),
            Mention::ToolTypes(s) => self.tool_types.push(*s),
            Mention::MaxTokens(n) => self.max_tokens.push(*n),
            Mention::Kind => self.touch(Dim::Kind),
        }
    }

    /// Records that a dimension is read even when nothing is named on it.
    fn touch(&mut self, dim: Dim) {
        match dim {
            Dim::Citizenships | Dim::PermanentResidencies | Dim::OrgGovernments => {
                self.sets.entry(dim).or_default();
            }
            Dim::Residence
            | Dim::Billing
            | Dim::OrgLocation
            | Dim::OrgHeadquarters
            | Dim::Location => {
                self.places.entry(dim).or_default();
            }
            // A `known(…)` test of screening: never screened, or screened.
            Dim::Screening => self.lists.push((ScreeningStatus::Pending, 0)),
            _ => {
                self.places.entry(dim).or_default();
            }
        }
    }
}

/// Representatives of "a country nothing names": two, for conditions that
/// compare one fact with another (a residence in a country of citizenship).
fn unnamed(j: &Jurisdictions, named: &CountrySet) -> Vec<CountryCode> {
    let mut out: Vec<CountryCode> = PREFERRED_UNNAMED
        .iter()
        .filter_map(|c| CountryCode::parse(c).ok())
        .filter(|c| j.is_country(*c) && !named.contains(*c))
        .collect();
    for (c, _) in j.countries() {
        if out.len() >= 2 {
            break;
        }
        if !named.contains(c) && !out.contains(&c) {
            out.push(c);
        }
    }
    out.truncate(2);
    out
}

/// The classes of a place dimension under a directive's tests.
fn place_classes(
    j: &Jurisdictions,
    tests: &[PlaceTest],
    unnamed_rep: Option<CountryCode>,
) -> Vec<Place> {
    let mut out: Vec<Place> = Vec::new();
    let mut seen: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut with_regions: Vec<CountryCode> = Vec::new();
    for (c, _) in j.countries() {
        let sig: Vec<u8> = tests
            .iter()
            .map(|t| {
                t.signature(Some(Place {
                    country: c,
                    region: None,
                }))
            })
            .collect();
        if sig.contains(&1) {
            with_regions.push(c);
            continue;
        }
        if sig.iter().all(|s| *s == 0) {
            continue;
        }
        if seen.insert(sig) {
            out.push(Place {
                country: c,
                region: None,
            });
        }
    }
    for c in with_regions {
        out.push(Place {
            country: c,
            region: None,
        });
        let mut region_seen: BTreeSet<Vec<u8>> = BTreeSet::new();
        for (r, _) in j.regions().filter(|(r, _)| r.country() == c) {
            let sig: Vec<u8> = tests
                .iter()
                .map(|t| {
                    t.signature(Some(Place {
                        country: c,
                        region: Some(r),
                    }))
                })
                .collect();
            if region_seen.insert(sig) {
                out.push(Place {
                    country: c,
                    region: Some(r),
                });
            }
        }
    }
    if let Some(u) = unnamed_rep {
        out.push(Place {
            country: u,
            region: None,
        });
    }
    out
}

/// The atoms of a set-valued fact: one country per membership signature.
fn set_atoms(tests: &[CountrySet], extra: &[CountryCode], j: &Jurisdictions) -> Vec<CountryCode> {
    let mut out: Vec<CountryCode> = Vec::new();
    let mut seen: BTreeSet<Vec<bool>> = BTreeSet::new();
    for (c, _) in j.countries() {
        let sig: Vec<bool> = tests.iter().map(|t| t.contains(c)).collect();
        if sig.iter().any(|x| *x) && seen.insert(sig) {
            out.push(c);
        }
    }
    for c in extra {
        if !out.contains(c) {
            out.push(*c);
        }
    }
    out
}

impl Partition {
    /// The place tests of every directive in `set`, by dimension: what the
    /// whole set can tell apart about each place.
    pub fn place_tests_of<'d>(set: impl Iterator<Item = &'d Directive>) -> SetTests {
        let mut out = SetTests::default();
        for d in set {
            let named = Named::of(d);
            for (dim, tests) in named.places {
                out.places.entry(dim).or_default().extend(tests);
            }
            for (dim, levels) in named.levels {
                out.levels.entry(dim).or_default().extend(levels);
            }
        }
        out
    }

    /// The partition of every dimension `d` reads. Places are split by the
    /// tests of the whole set (`set_tests`), not only `d`'s: a place `d`
    /// treats like any other may be one another directive refuses, and a
    /// rule of `d` decides only where no other directive refuses as
    /// strongly.
    pub fn of(d: &Directive, j: &Jurisdictions, set_tests: &SetTests) -> Partition {
        let named = Named::of(d);
        let mut complete = true;
        let mut anywhere = named.anywhere;
        for tests in named.places.values() {
            for t in tests {
                anywhere = anywhere.union(&t.countries);
            }
        }
        let spare = unnamed(j, &anywhere);
        let u1 = spare.first().copied();
        let bands = |dim: Dim| -> Vec<VerificationLevel> {
            named
                .levels
                .get(&dim)
                .map(level_bands)
                .unwrap_or_else(|| vec![VerificationLevel::None])
        };
        let org_level = [Dim::OrgLocation, Dim::OrgHeadquarters, Dim::OrgGovernments]
            .iter()
            .filter_map(|d| named.levels.get(d).and_then(|l| l.last()))
            .max()
            .copied()
            .unwrap_or(VerificationLevel::None);
        let mut domains: BTreeMap<Dim, Vec<Value>> = BTreeMap::new();
        let mut residence_reps: Vec<CountryCode> = Vec::new();
        for (dim, tests) in &named.places {
            match dim {
                Dim::Residence
                | Dim::Billing
                | Dim::OrgLocation
                | Dim::OrgHeadquarters
                | Dim::Location => {
                    let mut all = tests.clone();
                    all.extend(set_tests.places.get(dim).into_iter().flatten().cloned());
                    let classes = place_classes(j, &all, u1);
                    if *dim == Dim::Residence {
                        residence_reps = classes.iter().map(|p| p.country).collect();
                    }
                    let levels = match dim {
                        Dim::Location => vec![VerificationLevel::None],
                        Dim::OrgLocation | Dim::OrgHeadquarters => vec![org_level],
                        _ => bands(*dim),
                    };
                    let mut values = vec![Value::Place(None, VerificationLevel::None)];
                    for l in &levels {
                        values.extend(classes.iter().map(|p| Value::Place(Some(*p), *l)));
                    }
                    domains.insert(*dim, values);
                }
                Dim::Kind => {
                    domains.insert(
                        Dim::Kind,
                        vec![
                            Value::Kind(SubjectKind::Individual),
                            Value::Kind(SubjectKind::Organization),
                        ],
                    );
                }
                Dim::Verification => {
                    domains.insert(
                        Dim::Verification,
                        VerificationLevel::ALL
                            .iter()
                            .map(|l| Value::Level(*l))
                            .collect(),
                    );
                }
                Dim::Protected | Dim::UsPersonRecord => {
                    let mut values = vec![Value::Flag(None, VerificationLevel::None)];
                    for l in bands(*dim) {
                        values.push(Value::Flag(Some(false), l));
                        values.push(Value::Flag(Some(true), l));
                    }
                    domains.insert(*dim, values);
                }
                Dim::MaxTokens => {
                    domains.insert(
                        Dim::MaxTokens,
                        vec![Value::MaxTokens(None), Value::MaxTokens(Some(1))],
                    );
                }
                Dim::Anonymizer => {
                    domains.insert(
                        Dim::Anonymizer,
                        vec![Value::Anonymizer(false), Value::Anonymizer(true)],
                    );
                }
                _ => {}
            }
        }
        if named.equality && !domains.contains_key(&Dim::Residence) {
            let classes = place_classes(j, &[], u1);
            residence_reps = classes.iter().map(|p| p.country).collect();
            let mut values = vec![Value::Place(None, VerificationLevel::None)];
            for l in bands(Dim::Residence) {
                values.extend(classes.iter().map(|p| Value::Place(Some(*p), l)));
            }
            domains.insert(Dim::Residence, values);
        }
        for (dim, tests) in &named.sets {
            let mut extra: Vec<CountryCode> = u1.into_iter().collect();
            if named.equality && *dim != Dim::OrgGovernments {
                extra.extend(residence_reps.iter().copied());
                extra.extend(spare.get(1).copied());
            }
            let atoms = set_atoms(tests, &extra, j);
            let (sets, all) = subsets(&atoms);
            complete &= all;
            let levels = if *dim == Dim::OrgGovernments {
                vec![org_level]
            } else {
                bands(*dim)
            };
            let mut values = vec![Value::Countries(None, VerificationLevel::None)];
            for l in &levels {
                values.extend(sets.iter().map(|s| Value::Countries(Some(s.clone()), *l)));
            }
            domains.insert(*dim, values);
        }
        if !named.lists.is_empty() {
            let (values, all) = screening_classes(&named.lists);
            complete &= all;
            domains.insert(Dim::Screening, values);
        }
        if !named.endpoints.is_empty() {
            let mut seen: BTreeSet<Vec<bool>> = BTreeSet::new();
            let values = Endpoint::ALL
                .iter()
                .filter(|e| seen.insert(named.endpoints.iter().map(|s| s.contains(**e)).collect()))
                .map(|e| Value::Endpoint(*e))
                .collect();
            domains.insert(Dim::Endpoint, values);
        }
        if !named.features.is_empty() || !named.tool_types.is_empty() {
            let features = atoms_of(Feature::ALL, &named.features, |s, f| s.contains(f));
            let tools = atoms_of(ToolType::ALL, &named.tool_types, |s, t| s.contains(t));
            let (fs, a) = subsets(&features);
            let (ts, b) = subsets(&tools);
            complete &= a && b;
            let mut values = Vec::new();
            for f in &fs {
                for t in &ts {
                    values.push(Value::Features(
                        f.iter().copied().collect(),
                        t.iter().copied().collect(),
                    ));
                }
            }
            domains.insert(Dim::Features, values);
        }
        if !named.max_tokens.is_empty() {
            let mut ns: BTreeSet<u32> = BTreeSet::new();
            for n in &named.max_tokens {
                for m in [n.saturating_sub(1), *n, n.saturating_add(1)] {
                    ns.insert(u32::try_from(m).unwrap_or(u32::MAX));
                }
            }
            let mut values = vec![Value::MaxTokens(None)];
            values.extend(ns.into_iter().map(|n| Value::MaxTokens(Some(n))));
            domains.insert(Dim::MaxTokens, values);
        }
        let groups = groups(d, &domains);
        Partition {
            domains,
            levels: named.levels,
            guarded: named.guarded,
            groups,
            complete,
            place_tests: named.places,
        }
    }

    /// Whether two places fall in the same class of a place dimension here.
    pub fn same_place_class(&self, dim: Dim, a: Option<Place>, b: Option<Place>) -> bool {
        // Unknown is a class of its own, whatever the tests name.
        if a.is_none() != b.is_none() {
            return false;
        }
        let tests = self.place_tests.get(&dim).map(Vec::as_slice).unwrap_or(&[]);
        tests.iter().all(|t| t.signature(a) == t.signature(b))
    }

    /// Whether a place is named by the directive's tests of a place
    /// dimension (inside or beside what they name); an unknown place counts
    /// as named for the request's location only, since a directive can
    /// refuse it by name (`known(request.country)`).
    pub fn names_place(&self, dim: Dim, p: Option<Place>) -> bool {
        let tests = self.place_tests.get(&dim).map(Vec::as_slice).unwrap_or(&[]);
        match p {
            // Not knowing where the request comes from is a place a
            // directive can refuse by name; not knowing a subject's
            // residence or organisation is not.
            None => dim == Dim::Location && (self.guarded.contains(&dim) || !tests.is_empty()),
            Some(_) => tests.iter().any(|t| t.signature(p) != 0),
        }
    }

    /// The number of classes over every dimension read.
    pub fn classes(&self) -> usize {
        self.domains.values().map(Vec::len).sum()
    }
}

/// One representative per membership signature among `all`.
fn atoms_of<T: Copy, S>(all: &[T], tests: &[S], has: impl Fn(&S, T) -> bool) -> Vec<T> {
    let mut seen: BTreeSet<Vec<bool>> = BTreeSet::new();
    all.iter()
        .copied()
        .filter(|x| {
            let sig: Vec<bool> = tests.iter().map(|s| has(s, *x)).collect();
            sig.iter().any(|b| *b) && seen.insert(sig)
        })
        .collect()
}

/// Screening classes: never screened, or for each list a directive can tell
/// apart, which review statuses its hits have.
fn screening_classes(tests: &[(ScreeningStatus, u16)]) -> (Vec<Value>, bool) {
    let lists = atoms_of(
        &RestrictedList::ALL,
        tests,
        |(_, mask): &(ScreeningStatus, u16), l: RestrictedList| mask & l.bit() != 0,
    );
    let mut statuses: Vec<ScreeningStatus> = Vec::new();
    for (s, _) in tests {
        if !statuses.contains(s) {
            statuses.push(*s);
        }
    }
    let (states, _) = subsets(&statuses);
    let mut combos: Vec<Vec<(RestrictedList, ScreeningStatus)>> = vec![Vec::new()];
    let mut complete = true;
    for l in &lists {
        let mut next = Vec::new();
        for c in &combos {
            for s in &states {
                let mut v = c.clone();
                v.extend(s.iter().map(|st| (*l, *st)));
                next.push(v);
            }
        }
        if next.len() > MAX_SCREENING_STATES {
            complete = false;
            break;
        }
        combos = next;
    }
    combos.sort_by_key(Vec::len);
    let mut values = vec![Value::Screening(None)];
    values.extend(combos.into_iter().map(|c| Value::Screening(Some(c))));
    (values, complete)
}

/// Splits a directive's rules into groups reading disjoint dimensions.
fn groups(d: &Directive, domains: &BTreeMap<Dim, Vec<Value>>) -> Vec<Group> {
    let rule_dims: Vec<BTreeSet<Dim>> = d
        .rules
        .iter()
        .map(|r| {
            r.mentions()
                .iter()
                .flat_map(|m| dims_of(m.attr()).iter().copied())
                .filter(|dim| domains.contains_key(dim))
                .collect()
        })
        .collect();
    let mut groups: Vec<(Vec<usize>, BTreeSet<Dim>)> = Vec::new();
    for (i, dims) in rule_dims.into_iter().enumerate() {
        let mut merged = (vec![i], dims);
        let mut rest = Vec::new();
        for g in groups {
            if g.1.is_disjoint(&merged.1) {
                rest.push(g);
            } else {
                merged.0.extend(g.0);
                merged.1.extend(g.1);
            }
        }
        merged.0.sort_unstable();
        rest.push(merged);
        groups = rest;
    }
    groups.sort_by_key(|g| g.0.first().copied());
    groups
        .into_iter()
        .map(|(rules, dims)| Group {
            rules,
            dims: dims.into_iter().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_fall_into_the_bands_a_directive_demands() {
        let doc: BTreeSet<VerificationLevel> = [VerificationLevel::DocumentVerified].into();
        assert_eq!(
            level_bands(&doc),
            [
                VerificationLevel::SelfDeclared,
                VerificationLevel::DocumentVerified
            ]
        );
        let none: BTreeSet<VerificationLevel> = [VerificationLevel::None].into();
        assert_eq!(level_bands(&none), [VerificationLevel::None]);
    }

    #[test]
    fn sets_of_few_atoms_take_every_subset_and_of_many_the_small_ones() {
        let (all, complete) = subsets(&[1, 2, 3]);
        assert!(complete);
        assert_eq!(all.len(), 8);
        assert_eq!(all.first(), Some(&Vec::new()));
        let (some, complete) = subsets(&[1, 2, 3, 4, 5, 6, 7]);
        assert!(!complete);
        assert_eq!(some.len(), 1 + 7 + 21);
    }

    #[test]
    fn countries_a_test_treats_alike_are_one_class_and_regions_split_their_country() {
        let j = Jurisdictions::embedded().unwrap();
        let mut cu_ir = CountrySet::EMPTY;
        cu_ir.insert(CountryCode::parse("CU").unwrap());
        cu_ir.insert(CountryCode::parse("IR").unwrap());
        let crimea = RegionCode::parse("UA-43").unwrap();
        let tests = [
            PlaceTest {
                countries: cu_ir,
                regions: Vec::new(),
            },
            PlaceTest {
                countries: CountrySet::EMPTY,
                regions: vec![crimea],
            },
        ];
        let u = CountryCode::parse("DE").ok();
        let classes = place_classes(j, &tests, u);
        // CU and IR are one class; Ukraine unknown region, Crimea, another
        // region; the unnamed country.
        let countries: BTreeSet<CountryCode> = classes.iter().map(|p| p.country).collect();
        assert_eq!(countries.len(), 3, "{classes:?}");
        assert!(classes.iter().any(|p| p.region == Some(crimea)));
        assert!(
            classes
                .iter()
                .any(|p| p.country.as_str() == "UA" && p.region.is_none())
        );
        assert!(
            classes
                .iter()
                .any(|p| p.country.as_str() == "UA" && p.region.is_some_and(|r| r != crimea))
        );
    }
}
