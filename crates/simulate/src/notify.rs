//! Notify rows: one line per account and change, telling the customer what to
//! do and by when. Only account ids go in, never names or addresses.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use cordon_subject::VerificationLevel;
use jiff::Timestamp;
use serde::Serialize;

use cordon_policy::{Effect, Obligations};

use crate::limits::limits_text;
use crate::way::{self, Need};
use crate::{AccountImpact, CellImpact, Simulation, Transition};

/// One account's change under one directive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyRow {
    /// Account id.
    pub account: String,
    /// What changes.
    pub change: Transition,
    /// The models concerned, in model order.
    pub models: Vec<Arc<str>>,
    /// The request shape concerned, as [`crate::Shape::label`] names it.
    pub shape: Arc<str>,
    /// The limits the proposed set holds the models to, in words
    /// (`max_tokens 2000; tools removed`); empty when none.
    pub limits: String,
    /// What the customer should do or expect, e.g. `verify subject.us_person at
    /// document_verified before 2026-12-04T00:00:00Z`.
    pub action: String,
    /// When the change bites, if it has a date; for a change that rests on
    /// a grace period, the period's end when nothing bites earlier.
    pub deadline: Option<Timestamp>,
    /// The directive behind the change.
    pub directive: Option<String>,
    /// Where the customer can act: the directive's remedy link.
    pub remedy: Option<String>,
    /// For a verification transition: the ways of verifying that restore
    /// every model of the row, in [`Simulation::ways`] order; empty when none
    /// does (and for other changes).
    pub ways: Vec<String>,
    /// Where the customer starts verifying: the start URL with the account
    /// and the first of `ways` a customer starts, unsigned; only with
    /// [`Simulation::with_start_url`].
    pub start: Option<String>,
}

/// The notify CSV's columns; `shape` and `limits` come last so readers of
/// the earlier columns by position keep working.
pub fn notify_csv_header() -> [&'static str; 11] {
    [
        "account",
        "change",
        "models",
        "action",
        "deadline",
        "directive",
        "remedy",
        "ways",
        "start",
        "shape",
        "limits",
    ]
}

impl NotifyRow {
    /// The row's CSV fields, in [`notify_csv_header`] order: models and ways
    /// joined with `;`, the deadline in RFC 3339, absent values empty.
    pub fn to_csv_record(&self) -> [String; 11] {
        [
            self.account.clone(),
            self.change.as_str().to_owned(),
            self.models.join(";"),
            self.action.clone(),
            self.deadline.map(|t| t.to_string()).unwrap_or_default(),
            self.directive.clone().unwrap_or_default(),
            self.remedy.clone().unwrap_or_default(),
            self.ways.join(";"),
            self.start.clone().unwrap_or_default(),
            self.shape.to_string(),
            self.limits.clone(),
        ]
    }
}

/// Percent-encodes a query value as the gateway's start links do: every
/// byte but unreserved characters (RFC 3986, section 2.3).
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `start_url` with `account` and `way` as query parameters.
fn start_link(start_url: &str, account: &str, way: &str) -> String {
    let sep = if start_url.contains('?') { '&' } else { '?' };
    format!(
        "{start_url}{sep}account={}&way={}",
        encode(account),
        encode(way)
    )
}

/// The rows as a CSV document with its header line.
pub fn notify_csv(rows: &[NotifyRow]) -> String {
    let mut out = String::new();
    crate::report::csv::write_row(&mut out, notify_csv_header());
    for r in rows {
        crate::report::csv::write_row(&mut out, r.to_csv_record().iter().map(String::as_str));
    }
    out
}

/// "verify A, B at LEVEL": the attributes in first-seen order, at the highest
/// level any of them needs (the directive's floor when the explanation names none).
fn verify_text(attrs: &[&str], level: Option<VerificationLevel>) -> String {
    let level = level.map_or(String::new(), |l| format!(" at {}", l.as_str()));
    if attrs.is_empty() {
        format!("verify{level}")
    } else {
        format!("verify {}{level}", attrs.join(", "))
    }
}

/// The limits a row is about: for limits that begin when a grace period
/// ends, those; otherwise the proposed set's at the simulated time.
fn row_limits(c: &CellImpact) -> &Obligations {
    let allowed_after = c
        .after_grace
        .is_some_and(|e| e <= Effect::AllowWithObligations);
    if c.transition == Transition::ObligationsChanged && allowed_after {
        &c.after_grace_limits
    } else {
        &c.proposed_limits
    }
}

/// What the end of a grace period changes for a row, when the action does
/// not already say it: the limits that hold until then for a verification
/// deadline, the refusal that follows for a row refused now.
fn grace_note(cells: &[&CellImpact], change: Transition) -> Option<String> {
    let c = cells.iter().find(|c| c.grace_ends.is_some())?;
    let g = c.grace_ends?;
    match change {
        Transition::VerificationRequiredAfterGrace => {
            let limits = limits_text(&c.proposed_limits);
            (!limits.is_empty()).then(|| format!("until then {limits}"))
        }
        // The action already dates limits that begin when it ends.
        Transition::ObligationsChanged => None,
        _ => {
            let after = c.after_grace?;
            Some(format!(
                "from {g}, when its grace period ends: {}",
                after.as_str()
            ))
        }
    }
}

/// The account's notify rows: one per (change, directive, shape, limits), in
/// transition, directive, shape order, then by limits; none for an account
/// without changes.
pub fn notify_rows(sim: &Simulation, impact: &AccountImpact) -> Vec<NotifyRow> {
    type Key<'a> = (Transition, Option<&'a str>, usize, String);
    let mut groups: BTreeMap<Key<'_>, Vec<usize>> = BTreeMap::new();
    let shape_index = |label: &str| {
        sim.shape_labels()
            .iter()
            .position(|l| &**l == label)
            .unwrap_or(usize::MAX)
    };
    for (i, c) in impact.cells.iter().enumerate() {
        if c.transition.is_change() {
            let key = (
                c.transition,
                c.directive.as_deref(),
                shape_index(&c.shape),
                limits_text(row_limits(c)),
            );
            groups.entry(key).or_default().push(i);
        }
    }
    groups
        .into_iter()
        .map(|((change, directive, _, limits), cells)| {
            let cells: Vec<_> = cells
                .into_iter()
                .filter_map(|i| impact.cells.get(i))
                .collect();
            let d = directive.and_then(|id| sim.directive(id));
            let grace_ends = cells.iter().filter_map(|c| c.grace_ends).min();
            let deadline = cells.iter().filter_map(|c| c.deadline).min().or(grace_ends);
            let mut attrs: Vec<&str> = Vec::new();
            let mut level = None;
            for v in cells.iter().flat_map(|c| c.verify.iter()) {
                if !attrs.contains(&v.attribute.as_str()) {
                    attrs.push(&v.attribute);
                }
                level = level.max(Some(v.level));
            }
            let level = level.or(d.map(|d| d.min_verification));
            let by = deadline.map(|t| format!(" before {t}")).unwrap_or_default();
            let on = deadline.map(|t| format!(" at {t}")).unwrap_or_default();
            let action = match change {
                // Nothing to verify: refused outright once the period ends.
                Transition::VerificationRequiredAfterGrace if attrs.is_empty() => {
                    format!("access ends{on}")
                }
                Transition::VerificationRequiredAfterGrace | Transition::VerificationRequired => {
                    format!("{}{by}", verify_text(&attrs, level))
                }
                Transition::RefusalChanged
                    if cells
                        .iter()
                        .any(|c| c.proposed == cordon_policy::Effect::VerificationRequired) =>
                {
                    verify_text(&attrs, level)
                }
                Transition::RefusalChanged => "access remains refused".to_owned(),
                Transition::LoseAccess if cells.iter().any(|c| c.refused_as_unknown) => {
                    let level = level.map_or(String::new(), |l| format!(" at {}", l.as_str()));
                    format!("access ends{on}; verifying{level} may restore it")
                }
                Transition::LoseAccess => format!("access ends{on}"),
                Transition::ObligationsChanged if limits.is_empty() => format!("limits lifted{on}"),
                Transition::ObligationsChanged => format!("new limits apply{on}: {limits}"),
                Transition::GainAccess => "access restored".to_owned(),
                Transition::Unchanged => String::new(),
            };
            let action = match grace_note(&cells, change) {
                Some(note) => format!("{action}; {note}"),
                None => action,
            };
            let mut ways = Vec::new();
            let mut start = None;
            if way::restorable_index(change).is_some() {
                let mut need = Need::default();
                for c in &cells {
                    need.add(&c.verify);
                }
                let restoring = sim
                    .ways()
                    .iter()
                    .filter(|w| need.met_by(w, impact.organization));
                for w in restoring {
                    if start.is_none() && w.startable() {
                        start = sim
                            .start_url()
                            .map(|u| start_link(u, &impact.account, &w.name));
                    }
                    ways.push(w.name.clone());
                }
            }
            NotifyRow {
                account: impact.account.clone(),
                change,
                models: cells.iter().map(|c| c.model.clone()).collect(),
                shape: cells
                    .first()
                    .map_or_else(|| Arc::from(""), |c| c.shape.clone()),
                limits,
                action,
                deadline,
                directive: directive.map(str::to_owned),
                remedy: d.and_then(|d| d.remedy.clone()),
                ways,
                start,
            }
        })
        .collect()
}
