//! Turning a merged tally into a [`Report`].

use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_policy::Policy;
use cordon_subject::VerificationLevel;
use jiff::Timestamp;

use super::{
    AccountCounts, AlreadyRefused, FORMAT, GraceDeadline, Group, LimitChange, Report,
    RequestsAccounts, Restorable, SetSummary, Skipped, TrafficModel, TrafficReport,
    TransitionCounts, VerifyAccounts, WayAccounts,
};
use crate::limits::limits_text;
use crate::replay::{NEWLY_ALLOWED, NEWLY_REFUSED, SEEN, WOULD_REFUSE};
use crate::tally::{GroupTally, RestorableCounts};
use crate::{Simulation, Tally, TrafficTally, Transition};

/// What the report says about its inputs that the simulation does not know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportInputs {
    /// Where the baseline came from (a directory, `embedded`).
    pub baseline_label: String,
    /// Where the proposed set came from.
    pub proposed_label: String,
    /// The audit log replayed, when traffic was replayed.
    pub traffic: Option<TrafficSource>,
}

/// The audit log a traffic replay read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficSource {
    /// The log directory, as given.
    pub log: String,
    /// Decisions before this time were not replayed.
    pub since: Option<Timestamp>,
    /// Time of the first decision replayed.
    pub first: Option<Timestamp>,
    /// Time of the last decision replayed.
    pub last: Option<Timestamp>,
}

fn set_summary(p: &Policy, label: String) -> SetSummary {
    SetSummary {
        label,
        version: p.version().to_owned(),
        directives: p.directives().iter().map(|d| d.id.clone()).collect(),
    }
}

fn group(key: String, name: String, g: &GroupTally) -> Group {
    Group {
        key,
        name,
        accounts: g.accounts,
        affected_accounts: g.affected,
        cells: TransitionCounts::from_array(g.cells),
    }
}

/// Most affected first, then by key, so equal inputs give equal order.
fn sorted(mut groups: Vec<Group>) -> Vec<Group> {
    groups.sort_by(|a, b| {
        b.affected_accounts
            .cmp(&a.affected_accounts)
            .then_with(|| a.key.cmp(&b.key))
    });
    groups
}

fn country_groups(table: &[GroupTally], j: Option<&Jurisdictions>) -> Vec<Group> {
    let groups = table
        .iter()
        .enumerate()
        .filter(|(_, g)| g.accounts > 0)
        .map(|(i, g)| match CountryCode::from_index(i) {
            Some(c) => {
                let name = j
                    .and_then(|j| j.country_name(c))
                    .map_or_else(|| c.to_string(), str::to_owned);
                group(c.to_string(), name, g)
            }
            None => group("unknown".into(), "Not recorded".into(), g),
        })
        .collect();
    sorted(groups)
}

fn accounts_by(a: &[u64; Transition::COUNT]) -> AccountCounts {
    let c = TransitionCounts::from_array(*a);
    AccountCounts {
        lose_access: c.lose_access,
        verification_required: c.verification_required,
        verification_required_after_grace: c.verification_required_after_grace,
        gain_access: c.gain_access,
        obligations_changed: c.obligations_changed,
        refusal_changed: c.refusal_changed,
    }
}

fn verify_accounts(
    &[verification_required, verification_required_after_grace]: &RestorableCounts,
) -> VerifyAccounts {
    VerifyAccounts {
        verification_required,
        verification_required_after_grace,
    }
}

fn restorable(sim: &Simulation, tally: &Tally) -> Restorable {
    Restorable {
        ways: sim
            .ways()
            .iter()
            .zip(
                tally
                    .restorable
                    .iter()
                    .chain(std::iter::repeat(&RestorableCounts::default())),
            )
            .map(|(w, counts)| WayAccounts {
                key: w.name.clone(),
                kind: w.kind,
                max_level: w.max_level,
                organisations_only: w.organisations_only,
                accounts: verify_accounts(counts),
            })
            .collect(),
        none: verify_accounts(&tally.unrestorable),
    }
}

fn traffic_report(sim: &Simulation, t: TrafficTally, source: TrafficSource) -> TrafficReport {
    let count = |flag: u8| t.accounts.values().filter(|f| **f & flag != 0).count() as u64;
    let catalog = sim.proposed().catalog();
    let mut by_model: Vec<TrafficModel> = t
        .models
        .iter()
        .enumerate()
        .filter(|(_, m)| m.requests > 0)
        .filter_map(|(i, m)| {
            let id = catalog.model(cordon_catalog::ModelId(u16::try_from(i).ok()?))?;
            Some((id.id.clone(), m))
        })
        .chain(t.unknown_models.iter().map(|(k, m)| (k.to_string(), m)))
        .map(|(key, m)| TrafficModel {
            key,
            requests: m.requests,
            newly_refused: m.newly_refused,
            newly_allowed: m.newly_allowed,
        })
        .collect();
    by_model.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.key.cmp(&b.key)));
    TrafficReport {
        log: source.log,
        since: source.since,
        first: source.first,
        last: source.last,
        decisions: t.decisions,
        replayed: t.replayed,
        skipped: Skipped {
            no_account: t.no_account,
            unknown_account: t.unknown_account,
        },
        accounts: count(SEEN),
        would_refuse: RequestsAccounts {
            requests: t.would_refuse,
            accounts: count(WOULD_REFUSE),
        },
        newly_refused: RequestsAccounts {
            requests: t.newly_refused,
            accounts: count(NEWLY_REFUSED),
        },
        newly_allowed: RequestsAccounts {
            requests: t.newly_allowed,
            accounts: count(NEWLY_ALLOWED),
        },
        by_model,
    }
}

/// Per proposed directive whose grace period ends for some account: the
/// accounts refused then, refused differently then, and held to other
/// limits then; earliest first.
fn grace_deadlines(sim: &Simulation, tally: &Tally) -> Vec<GraceDeadline> {
    let directives = sim.proposed().directives();
    let count = |table: &[u64], i: usize| table.get(i).copied().unwrap_or(0);
    let mut out: Vec<GraceDeadline> = directives
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let g = GraceDeadline {
                directive: d.id.clone(),
                deadline: d.grace_until?,
                accounts: count(&tally.grace, i),
                refusal_changes: count(&tally.grace_refusal, i),
                new_limits: count(&tally.grace_limits, i),
            };
            (g.accounts + g.refusal_changes + g.new_limits > 0).then_some(g)
        })
        .collect();
    out.sort_by(|a, b| {
        a.deadline
            .cmp(&b.deadline)
            .then_with(|| a.directive.cmp(&b.directive))
    });
    out
}

/// Limit changes in shape order, most cells first, then by limits.
fn limit_changes(tally: &Tally, shapes: &[String]) -> Vec<LimitChange> {
    let mut out: Vec<(usize, LimitChange)> = tally
        .limit_changes
        .iter()
        .map(|l| {
            let shape = shapes.get(l.shape).cloned().unwrap_or_default();
            let (before, after) = (limits_text(&l.baseline), limits_text(&l.proposed));
            let or_none = |s: &str| {
                if s.is_empty() {
                    "none".to_owned()
                } else {
                    s.to_owned()
                }
            };
            (
                l.shape,
                LimitChange {
                    key: format!("{shape}: {} -> {}", or_none(&before), or_none(&after)),
                    shape,
                    baseline: l.baseline,
                    proposed: l.proposed,
                    baseline_limits: before,
                    proposed_limits: after,
                    cells: l.cells,
                },
            )
        })
        .collect();
    out.sort_by(|(a, x), (b, y)| {
        a.cmp(b)
            .then_with(|| y.cells.cmp(&x.cells))
            .then_with(|| x.proposed_limits.cmp(&y.proposed_limits))
            .then_with(|| x.baseline_limits.cmp(&y.baseline_limits))
    });
    out.into_iter().map(|(_, l)| l).collect()
}

/// Cells left unchanged because another directive already refuses, by directive ids.
fn already_refused(sim: &Simulation, tally: &Tally) -> Vec<AlreadyRefused> {
    let id = |p: &cordon_policy::Policy, i: u16| {
        p.directives().get(usize::from(i)).map(|d| d.id.clone())
    };
    let mut out: Vec<AlreadyRefused> = tally
        .already_refused
        .iter()
        .filter_map(|a| {
            let directive = id(sim.proposed(), a.directive)?;
            let refused_by = id(sim.baseline(), a.by)?;
            Some(AlreadyRefused {
                key: format!("{directive}<{refused_by}"),
                directive,
                refused_by,
                accounts: a.accounts,
                cells: a.cells,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.directive
            .cmp(&b.directive)
            .then_with(|| a.refused_by.cmp(&b.refused_by))
    });
    out
}

/// Builds the report from the merged tallies.
///
/// Country names come from the embedded jurisdiction table (the code stands
/// in when it has none). Deterministic: groups are sorted by affected accounts
/// (descending) then key, and nothing depends on hash order or the clock.
pub fn report(
    sim: &Simulation,
    tally: Tally,
    traffic: Option<TrafficTally>,
    inputs: ReportInputs,
) -> Report {
    let j = Jurisdictions::embedded().ok();
    let shapes: Vec<String> = sim.shapes().iter().map(|s| s.label()).collect();
    let by_shape = shapes
        .iter()
        .zip(
            tally
                .shapes
                .iter()
                .chain(std::iter::repeat(&GroupTally::default())),
        )
        .map(|(s, g)| group(s.clone(), s.clone(), g))
        .collect();
    let limit_changes = limit_changes(&tally, &shapes);
    let already_refused = already_refused(sim, &tally);
    let models: Vec<String> = sim.models().map(str::to_owned).collect();
    let by_model = sorted(
        models
            .iter()
            .zip(
                tally
                    .models
                    .iter()
                    .chain(std::iter::repeat(&GroupTally::default())),
            )
            .map(|(id, g)| group(id.clone(), id.clone(), g))
            .collect(),
    );
    let mut by_organization: Vec<Group> = tally
        .organization
        .iter()
        .map(|(k, g)| group(k.to_string(), k.to_string(), g))
        .collect();
    if tally.no_organization.accounts > 0 {
        by_organization.push(group(
            "(none)".into(),
            "No organisation".into(),
            &tally.no_organization,
        ));
    }
    let by_verification = VerificationLevel::ALL
        .iter()
        .zip(&tally.verification)
        .filter(|(_, g)| g.accounts > 0)
        .map(|(l, g)| group(l.as_str().into(), l.as_str().replace('_', " "), g))
        .collect();
    let grace_deadlines = grace_deadlines(sim, &tally);
    let mut notes = sim.notes();
    // A grace period already running in both sets is no change, yet its end
    // is a real deadline for these customers: say why they are listed.
    for g in &grace_deadlines {
        let unchanged = sim.changed_directives().iter().all(|c| c.id != g.directive);
        if unchanged && g.accounts > 0 {
            notes.push(format!(
                "directive `{}` is in both sets and in its grace period; {} account(s) must still verify before it ends at {}",
                g.directive, g.accounts, g.deadline
            ));
        }
    }
    Report {
        format: FORMAT,
        at: sim.at(),
        location: sim.location().label(),
        baseline: set_summary(sim.baseline(), inputs.baseline_label),
        proposed: set_summary(sim.proposed(), inputs.proposed_label),
        changed_directives: sim.changed_directives().to_vec(),
        notes,
        cells: tally
            .accounts
            .saturating_mul(models.len() as u64)
            .saturating_mul(shapes.len() as u64),
        models,
        shapes,
        accounts: tally.accounts,
        totals: TransitionCounts::from_array(tally.cells),
        affected_accounts: tally.affected,
        accounts_by_transition: accounts_by(&tally.accounts_by),
        grace_deadlines,
        limit_changes,
        already_refused,
        restorable_by: restorable(sim, &tally),
        by_model,
        by_shape,
        by_citizenship: country_groups(&tally.citizenship, j),
        by_residence: country_groups(&tally.residence, j),
        by_organization: sorted(by_organization),
        by_verification: sorted(by_verification),
        traffic: traffic.map(|t| traffic_report(sim, t, inputs.traffic.unwrap_or_default())),
    }
}
