//! `protected-keep-access`: the protected class keeps every model outside
//! embargoed places.
//!
//! A place is *embargoed* for a model at a phase of an enforced directive
//! when that directive refuses every subject and request whose place (the
//! request's location, the residence, the billing address, the
//! organisation's location or headquarters) falls in that class, and the
//! directive names the place (a country, a region, or an unknown location it
//! tests with `known(…)`): a directive that refuses everyone everywhere
//! embargoes nothing, it cuts everyone off, which is what the property is
//! there to catch. Embargoes are read off the shared enumeration; the
//! protected class is then enumerated with its own facts fixed.

use std::collections::BTreeMap;

use cordon_jurisdiction::CountryCode;
use cordon_policy::{Mode, Policy};
use cordon_subject::{SubjectKind, VerificationLevel};

use crate::case::Case;
use crate::checks::{Check, Commands, decide_one, minimize};
use crate::dims::{Dim, Place, Value};
use crate::error::AnalysisError;
use crate::explore::{Explorer, SetView, Visit, refuses};
use crate::property::{Property, ProtectedClass};
use crate::report::{PropertyReport, Violation};

/// Key: directive, model group, phase, place dimension, class representative.
type Key = (usize, usize, u8, Dim, Option<Place>);

/// Whether each directive refuses everyone in each place class it names.
#[derive(Default)]
pub(crate) struct Embargo {
    refuses_all: BTreeMap<Key, bool>,
}

impl Check for Embargo {
    fn observe(
        &mut self,
        ex: &mut Explorer<'_>,
        set: &SetView<'_>,
        v: &Visit<'_>,
    ) -> Result<(), AnalysisError> {
        let (Some(c), Some(d)) = (v.consulted, set.policy.directives().get(v.directive)) else {
            return Ok(());
        };
        if d.mode != Mode::Enforced {
            return Ok(());
        }
        // The directive decides alike for every model group it covers.
        for m in ex.models_for(d) {
            for dim in v.group.dims.iter().filter(|d| d.is_place()) {
                let Value::Place(place, _) = v.case.get(*dim) else {
                    continue;
                };
                let key = (v.directive, m, c.phase as u8, *dim, *place);
                let all = self.refuses_all.entry(key).or_insert(true);
                *all &= refuses(c.effective());
            }
        }
        Ok(())
    }
}

impl Embargo {
    /// Whether some place of `case` is embargoed for its model group and time.
    fn covers(
        &self,
        set: &SetView<'_>,
        ex: &Explorer<'_>,
        case: &Case,
        m: usize,
        t: usize,
    ) -> bool {
        let Some(at) = ex.times.get(t) else {
            return false;
        };
        self.refuses_all
            .iter()
            .any(|((d, mg, phase, dim, rep), all)| {
                if !*all || *mg != m {
                    return false;
                }
                let (Some(directive), Some(p)) =
                    (set.policy.directives().get(*d), set.partitions.get(*d))
                else {
                    return false;
                };
                if directive.phase(*at).map(|x| x as u8) != Some(*phase)
                    || !p.names_place(*dim, *rep)
                {
                    return false;
                }
                match case.get(*dim) {
                    Value::Place(place, _) => p.same_place_class(*dim, *place, *rep),
                    _ => false,
                }
            })
    }
}

/// The citizenship classes of the protected class, given a directive's partition.
fn citizenships(class: ProtectedClass, classes: &[Value]) -> Vec<Value> {
    let doc = VerificationLevel::DocumentVerified;
    match class {
        ProtectedClass::UsCitizens => vec![Value::Countries(Some(vec![CountryCode::US]), doc)],
        ProtectedClass::UsDualNationals => {
            let mut others: Vec<CountryCode> = Vec::new();
            for v in classes {
                if let Value::Countries(Some(list), _) = v {
                    for c in list {
                        if *c != CountryCode::US && !others.contains(c) {
                            others.push(*c);
                        }
                    }
                }
            }
            if others.is_empty()
                && let Ok(de) = CountryCode::parse("DE")
            {
                others.push(de);
            }
            others
                .into_iter()
                .map(|c| Value::Countries(Some(vec![CountryCode::US, c]), doc))
                .collect()
        }
    }
}

/// The embargoes the protected class is judged against, and the set they come from.
pub(crate) struct Embargoes<'e, 's> {
    /// The table.
    pub table: &'e Embargo,
    /// The set whose directives it describes: the analysed set, or the
    /// reviewed `--against` set, whose embargoes a change must not widen.
    pub set: &'e SetView<'s>,
}

/// Countries tried, in order, as the place nothing in the set names.
const UNNAMED_PLACES: [&str; 10] = ["JP", "BR", "IN", "AU", "NZ", "CA", "MX", "ZA", "KR", "SG"];

/// A country no directive of the set names in any place test: where the
/// protected class is put for every place a rule group does not vary, so an
/// embargo elsewhere cannot hide a refusal.
fn unnamed_place(set: &SetView<'_>) -> Option<Place> {
    UNNAMED_PLACES
        .iter()
        .filter_map(|c| CountryCode::parse(c).ok())
        .map(|country| Place {
            country,
            region: None,
        })
        .find(|p| {
            set.partitions.iter().all(|part| {
                Dim::ALL
                    .iter()
                    .filter(|d| d.is_place())
                    .all(|d| !part.names_place(*d, Some(*p)))
            })
        })
}

/// Checks the protected class against every enforced directive.
pub(crate) fn protected(
    ex: &mut Explorer<'_>,
    set: &SetView<'_>,
    embargo: &Embargoes<'_, '_>,
    class: ProtectedClass,
    commands: &Commands,
) -> Result<PropertyReport, AnalysisError> {
    let start = ex.decisions;
    let mut violations: Vec<Violation> = Vec::new();
    let policy: &Policy = set.policy;
    let unnamed = unnamed_place(set);
    for (index, d) in policy.directives().iter().enumerate() {
        if d.mode != Mode::Enforced {
            continue;
        }
        let Some(p) = set.partitions.get(index) else {
            continue;
        };
        let mut base = ex.background_for(d, p)?;
        let cits_classes = p
            .domains
            .get(&Dim::Citizenships)
            .cloned()
            .unwrap_or_default();
        let cits = citizenships(class, &cits_classes);
        if let Some(place) = unnamed {
            for dim in Dim::ALL.iter().filter(|d| d.is_place()) {
                let level = match dim {
                    Dim::Location => VerificationLevel::None,
                    _ => VerificationLevel::Attested,
                };
                // The organisation is the protected person's employer, if any:
                // left unrecorded unless a rule group varies it.
                if matches!(dim, Dim::OrgLocation | Dim::OrgHeadquarters) {
                    continue;
                }
                base.set(*dim, Value::Place(Some(place), level));
            }
        }
        base.set(Dim::Kind, Value::Kind(SubjectKind::Individual));
        base.set(Dim::Screening, Value::Screening(Some(Vec::new())));
        if let Some(first) = cits.first() {
            base.set(Dim::Citizenships, first.clone());
        }
        let domain = |dim: Dim, classes: &[Value]| -> Vec<Value> {
            match dim {
                Dim::Kind => vec![Value::Kind(SubjectKind::Individual)],
                Dim::Screening => vec![Value::Screening(Some(Vec::new()))],
                Dim::Citizenships => cits.clone(),
                _ => classes.to_vec(),
            }
        };
        let mut found: Option<(Case, usize, usize, Vec<Dim>)> = None;
        let mut visit = |ex: &mut Explorer<'_>, v: &Visit<'_>| -> Result<(), AnalysisError> {
            if found.is_some() {
                return Ok(());
            }
            let Some(c) = v.consulted else {
                return Ok(());
            };
            if !refuses(c.effective()) {
                return Ok(());
            }
            // The directive refuses alike wherever it is in this phase; an
            // embargo may hold at some models and times and not others.
            let unembargoed = ex
                .placements_in_phase(policy, d, c.phase)
                .into_iter()
                .find(|(m, t)| !embargo.table.covers(embargo.set, ex, v.case, *m, *t));
            if let Some((m, t)) = unembargoed {
                let mut case = v.case.clone();
                ex.place(policy, &mut case, m, t);
                found = Some((case, m, t, v.group.dims.clone()));
            }
            Ok(())
        };
        ex.each_visit(set, index, &base, &domain, &mut visit)?;
        let Some((case, m, t, dims)) = found else {
            continue;
        };
        let shrinkable: Vec<Dim> = dims
            .into_iter()
            .filter(|d| !matches!(d, Dim::Kind | Dim::Screening | Dim::Citizenships))
            .collect();
        let mut still = |ex: &mut Explorer<'_>, case: &Case| -> Result<bool, AnalysisError> {
            let (_, c) = decide_one(ex, policy, index, case)?;
            Ok(c.is_some_and(|c| refuses(c.effective()))
                && !embargo.table.covers(embargo.set, ex, case, m, t))
        };
        let case = minimize(ex, &case, &base, &shrinkable, &mut still)?;
        let decision = ex.decide(policy, &case)?;
        violations.push(Violation {
            summary: format!(
                "`{}` refuses ({}) a member of the protected class ({}) for {} where no place of the request is embargoed",
                d.id,
                decision.effect.as_str(),
                class.as_str(),
                case.model_name
            ),
            directive: Some(d.id.clone()),
            rule: None,
            counterexample: Some(commands.on_set(&case, &decision, &ex.background)),
            contrast: None,
        });
    }
    let p = Property::ProtectedKeepAccess(class);
    Ok(PropertyReport {
        property: p.written(),
        text: p.text(),
        holds: violations.is_empty(),
        complete: set.partitions.iter().all(|p| p.complete),
        combinations: ex.decisions - start,
        violations,
        notes: Vec::new(),
    })
}
