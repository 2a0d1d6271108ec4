//! Policy analysis: proves what a directive set does for *every* subject,
//! location, model, feature and time, not only for the customers on file.
//!
//! ```text
//! Policy ──partition──▶ classes per dimension ──enumerate rule groups──▶ Policy::decide ──▶ properties ──▶ Report
//! ```
//!
//! Each directive's conditions can tell only finitely many values of each
//! attribute apart: countries no condition names behave alike, groups and
//! regions are expanded to their members, verification levels fall into the
//! bands the directive demands, and every attribute is also *unknown*.
//! The analysis decides one representative of every combination of those
//! classes with the real engine ([`cordon_policy::Policy::decide`]); it never
//! evaluates a condition itself. Combinations are formed only among the
//! dimensions one group of rules reads together, per model group the
//! directives tell apart and per time point where their phases change, which
//! keeps the shipped set well under a second. Every violation comes with a
//! `cordon decide` command that reproduces it. `docs/analysis.md` states
//! each property exactly and what "complete" covers.
#![deny(missing_docs)]

mod case;
mod checks;
mod dims;
mod error;
mod explore;
mod partition;
mod property;
mod report;

pub use case::{CASE_ORGANIZATION, Case, CommandContext, shell_quote};
pub use dims::{Dim, Place, Value};
pub use error::AnalysisError;
pub use explore::ModelGroup;
pub use partition::{Partition, SetTests};
pub use property::{Property, ProtectedClass, UserProperty, declared};
pub use report::{Counterexample, PartitionSummary, PropertyReport, Report, Violation};

use std::collections::BTreeMap;

use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::Policy;

use crate::checks::Commands;
use crate::explore::{Explorer, SetView};

/// A set to analyse, as named on the command line.
pub struct Named<'a> {
    /// The checked set.
    pub policy: &'a Policy,
    /// The `--directives` argument that names it, used in counterexamples.
    pub label: String,
}

/// What to analyse.
pub struct Input<'a> {
    /// The directive set.
    pub set: Named<'a>,
    /// The set to compare with (`--against`), for properties that compare.
    pub against: Option<Named<'a>>,
    /// The `--catalog` argument, when given, repeated in counterexamples.
    pub catalog: Option<String>,
    /// The properties, in the order to report them.
    pub properties: Vec<Property>,
    /// Country and region tables, for the subject records cases are written as.
    pub jurisdictions: &'a Jurisdictions,
    /// Country groups, for the conditions of properties written in the
    /// condition language.
    pub groups: &'a GroupRegistry,
}

/// Analyses a directive set against properties.
///
/// # Errors
/// A property that compares sets without `--against`, sets checked against
/// different catalogs, a rule group too large to enumerate, or a generated
/// case the subject parser refuses (a bug, reported rather than skipped).
pub fn analyze(input: &Input<'_>) -> Result<Report, AnalysisError> {
    if let Some(p) = input.properties.iter().find(|p| p.needs_against())
        && input.against.is_none()
    {
        return Err(AnalysisError::NeedsAgainst {
            property: p.written(),
        });
    }
    if let Some(a) = &input.against
        && a.policy.catalog().source_text() != input.set.policy.catalog().source_text()
    {
        return Err(AnalysisError::CatalogMismatch);
    }
    let j = input.jurisdictions;
    let set = SetView::new(input.set.policy, j);
    let against = input.against.as_ref().map(|a| SetView::new(a.policy, j));
    let views: Vec<&SetView<'_>> = std::iter::once(&set).chain(against.as_ref()).collect();
    let mut ex = Explorer::new(&views, j)?;
    let commands = Commands {
        set: CommandContext {
            directives: input.set.label.clone(),
            catalog: input.catalog.clone(),
        },
        against: input.against.as_ref().map(|a| a.label.clone()),
    };
    let want: Vec<&'static str> = input.properties.iter().map(Property::name).collect();
    let needs_shared = input
        .properties
        .iter()
        .any(|p| !p.needs_against() && !matches!(p, Property::User(_)));
    let mut shared = if needs_shared {
        Some(checks::shared(&mut ex, &set, &commands, &want)?)
    } else {
        None
    };
    // With a reviewed set to compare with, its embargoes are the ones a
    // change may rely on: a change that refuses protected customers in a new
    // place (a mistyped country code) is caught instead of justifying itself.
    let baseline = match &against {
        Some(b)
            if input
                .properties
                .iter()
                .any(|p| matches!(p, Property::ProtectedKeepAccess(_))) =>
        {
            Some(checks::embargo_of(&mut ex, b)?)
        }
        _ => None,
    };
    let mut properties = Vec::new();
    for p in &input.properties {
        let report = match p {
            Property::ProtectedKeepAccess(class) => {
                let embargoes = match (&baseline, &against, &shared) {
                    (Some(table), Some(b), _) => checks::Embargoes { table, set: b },
                    (_, _, Some(s)) => checks::Embargoes {
                        table: &s.embargo,
                        set: &set,
                    },
                    _ => continue,
                };
                checks::protected(&mut ex, &set, &embargoes, *class, &commands)?
            }
            Property::User(u) => checks::user(&mut ex, &set, u, input.groups, &commands)?,
            Property::OnlyModels(_) | Property::OnlyEffect(_) => match &against {
                Some(b) => checks::compare(&mut ex, &set, b, p, &commands)?,
                None => continue,
            },
            other => match shared.as_mut().and_then(|s| s.reports.remove(other.name())) {
                Some(r) => r,
                None => continue,
            },
        };
        properties.push(report);
    }
    let mut dims: BTreeMap<String, usize> = BTreeMap::new();
    let mut groups = 0;
    let mut directives = 0;
    for (d, p) in set.policy.directives().iter().zip(&set.partitions) {
        if !SetView::consulted(d) {
            continue;
        }
        directives += 1;
        groups += p.groups.len();
        for (dim, values) in &p.domains {
            *dims.entry(dim.name().to_owned()).or_default() += values.len();
        }
    }
    let partition = PartitionSummary {
        directives,
        rule_groups: groups,
        classes: dims.values().sum(),
        dimensions: dims,
        model_groups: ex.models.clone(),
        time_points: ex.times.clone(),
    };
    Ok(Report {
        directives: input.set.label.clone(),
        against: input.against.as_ref().map(|a| a.label.clone()),
        policy_version: input.set.policy.version().to_owned(),
        partition,
        combinations: ex.decisions,
        complete: properties.iter().all(|p| p.complete),
        holds: properties.iter().all(|p| p.holds),
        properties,
    })
}
