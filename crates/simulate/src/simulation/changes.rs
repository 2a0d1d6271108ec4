//! How the two directive sets differ, and what that means at the simulated time.

use std::collections::BTreeSet;

use cordon_policy::{Change, Directive, Exemption, Mode, Phase, Policy, Standing};
use jiff::Timestamp;

use super::{SimModel, Simulation};
use crate::report::{ChangeKind, DirectiveChange};

/// Exemptions compared by what they say, not by catalog-specific model ids.
fn same_exemption(a: &Exemption, b: &Exemption) -> bool {
    a.licence == b.licence
        && a.holder == b.holder
        && a.expires == b.expires
        && a.models == b.models
        && a.min_verification == b.min_verification
}

/// Whether two directives decide alike: everything but wording.
///
/// Rules compare with their compiled conditions, so a country group that
/// changed between the sets' registries counts as a change.
pub(crate) fn same_directive(a: &Directive, b: &Directive) -> bool {
    a.mode == b.mode
        && a.effective == b.effective
        && a.grace_until == b.grace_until
        && a.expires == b.expires
        && a.min_verification == b.min_verification
        && a.unknown == b.unknown
        && a.unknown_during_grace == b.unknown_during_grace
        && a.scope == b.scope
        && a.rules == b.rules
        && a.exemptions.len() == b.exemptions.len()
        && a.exemptions
            .iter()
            .zip(&b.exemptions)
            .all(|(x, y)| same_exemption(x, y))
}

fn change(d: &Directive, kind: ChangeKind, at: Timestamp) -> DirectiveChange {
    DirectiveChange {
        id: d.id.clone(),
        change: kind,
        mode: d.mode,
        standing: d.standing(at),
        effective: d.effective,
        grace_until: d.grace_until,
        expires: d.expires,
    }
}

pub(crate) fn changed_directives(
    baseline: &Policy,
    proposed: &Policy,
    at: Timestamp,
) -> Vec<DirectiveChange> {
    let ids: BTreeSet<&str> = baseline
        .directives()
        .iter()
        .chain(proposed.directives())
        .map(|d| d.id.as_str())
        .collect();
    ids.into_iter()
        .filter_map(
            |id| match (baseline.directive(id), proposed.directive(id)) {
                (None, Some(p)) => Some(change(p, ChangeKind::Added, at)),
                (Some(b), None) => Some(change(b, ChangeKind::Removed, at)),
                (Some(b), Some(p)) if !same_directive(b, p) => {
                    Some(change(p, ChangeKind::Modified, at))
                }
                _ => None,
            },
        )
        .collect()
}

/// Whether every subject's decision for this model is the same under both sets
/// and no proposed grace period can make it a grace-period cell.
pub(crate) fn identical_for_model(
    baseline: &Policy,
    proposed: &Policy,
    m: &SimModel,
    at: Timestamp,
) -> bool {
    let (Some(b), Some(p)) = (m.baseline, m.proposed) else {
        return false;
    };
    let mut bs = baseline.candidates(b);
    let mut ps = proposed.candidates(p);
    loop {
        match (bs.next(), ps.next()) {
            (None, None) => break,
            (Some(x), Some(y)) if x.id == y.id && same_directive(x, y) => {
                if y.mode == Mode::Enforced && y.phase(at) == Some(Phase::Grace) {
                    return false;
                }
            }
            _ => return false,
        }
    }
    true
}

pub(crate) fn notes(sim: &Simulation) -> Vec<String> {
    let at = sim.at();
    let mut out = Vec::new();
    let changes = sim.changed_directives();
    if changes.is_empty() {
        out.push(
            "the proposed set is equivalent to the baseline: no directive was added, removed or modified"
                .to_owned(),
        );
    }
    for c in changes {
        let Some(d) = (match c.change {
            ChangeKind::Removed => sim.baseline().directive(&c.id),
            ChangeKind::Added | ChangeKind::Modified => sim.proposed().directive(&c.id),
        }) else {
            continue;
        };
        let what = match c.change {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Modified => "modified",
        };
        let standing = match c.standing {
            Standing::Grace | Standing::InForce if d.mode == Mode::Shadow => {
                format!("in shadow mode at {at}: consulted but never decides")
            }
            Standing::Grace | Standing::InForce => continue,
            Standing::Pending => format!("not yet in effect at {at}"),
            Standing::Expired => format!("expired at {at}"),
            Standing::Draft => "a draft and never consulted".to_owned(),
            Standing::Retired => "retired and never consulted".to_owned(),
        };
        let next = match d.next_change(at) {
            Some((t, Change::TakesEffect)) => format!("; it takes effect at {t}"),
            Some((t, Change::GraceEnds)) => format!("; its grace period ends at {t}"),
            Some((t, Change::Expires)) => format!("; it expires at {t}"),
            None => "; no change is scheduled".to_owned(),
        };
        out.push(format!("directive `{}` ({what}) is {standing}{next}", c.id));
    }
    if !sim.proposed_in_effect() {
        out.push(format!(
            "no enforced directive of the proposed set is in effect at {at}"
        ));
    }
    out
}
