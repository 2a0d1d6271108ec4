//! What an analysis found, as text and JSON.

use std::fmt::Write as _;

use cordon_policy::Effect;
use jiff::Timestamp;

use crate::explore::ModelGroup;

/// A request that shows a property failing, as a command anyone can run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Counterexample {
    /// The ready-to-run `cordon decide …` command line.
    pub command: String,
    /// The effect that command prints: the whole set's decision.
    pub effect: Effect,
    /// The classes that make the case, for reading without running it.
    pub case: String,
}

/// One way a property fails.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// What goes wrong, in one sentence.
    pub summary: String,
    /// The directive at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directive: Option<String>,
    /// The rule at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The request that shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
    /// The request it is compared with (before verifying, the other set, the
    /// same request with the unknown made known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contrast: Option<Counterexample>,
}

/// The verdict on one property.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PropertyReport {
    /// The property as written.
    pub property: String,
    /// What it asserts.
    pub text: String,
    /// Whether it holds.
    pub holds: bool,
    /// Whether every class combination it needs was decided; a property
    /// that holds on an incomplete check is not proven.
    pub complete: bool,
    /// Decisions made for it.
    pub combinations: u64,
    /// The violations found (at most a few per directive).
    pub violations: Vec<Violation>,
    /// Remarks: directives not consulted, bounds that applied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The size of the partition the analysis decided over.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionSummary {
    /// Directives whose rules were enumerated (shadow and enforced).
    pub directives: usize,
    /// Rule groups enumerated.
    pub rule_groups: usize,
    /// Classes over every dimension of every directive.
    pub classes: usize,
    /// Classes per dimension, summed over directives.
    pub dimensions: std::collections::BTreeMap<String, usize>,
    /// Model groups: models no directive tells apart.
    pub model_groups: Vec<ModelGroup>,
    /// Time points: one before the first boundary, then every effective,
    /// grace-end and expiry instant.
    pub time_points: Vec<Timestamp>,
}

/// The result of `cordon analyze`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The directive set analysed, as named.
    pub directives: String,
    /// The set it was compared with, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub against: Option<String>,
    /// The analysed set's policy version.
    pub policy_version: String,
    /// What was enumerated.
    pub partition: PartitionSummary,
    /// Decisions made in all.
    pub combinations: u64,
    /// Whether every property's check was complete.
    pub complete: bool,
    /// Whether every property holds.
    pub holds: bool,
    /// One verdict per property, in the order asked.
    pub properties: Vec<PropertyReport>,
}

impl Report {
    /// The report as text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "directive set: {} ({})",
            self.directives, self.policy_version
        );
        if let Some(a) = &self.against {
            let _ = writeln!(out, "compared with: {a}");
        }
        let p = &self.partition;
        let _ = writeln!(
            out,
            "partition: {} directives, {} rule groups, {} classes, {} model groups, {} time points",
            p.directives,
            p.rule_groups,
            p.classes,
            p.model_groups.len(),
            p.time_points.len()
        );
        let _ = writeln!(
            out,
            "decided {} combinations; check {}",
            self.combinations,
            if self.complete {
                "complete"
            } else {
                "INCOMPLETE (see notes)"
            }
        );
        for pr in &self.properties {
            let _ = writeln!(out);
            let verdict = match (pr.holds, pr.complete) {
                (true, true) => "holds",
                (true, false) => "holds on every combination tried (not proven)",
                (false, _) => "VIOLATED",
            };
            let _ = writeln!(
                out,
                "{} — {verdict} ({} combinations)",
                pr.property, pr.combinations
            );
            let _ = writeln!(out, "  {}", pr.text);
            for n in &pr.notes {
                let _ = writeln!(out, "  note: {n}");
            }
            for v in &pr.violations {
                let _ = writeln!(out, "  ✗ {}", v.summary);
                if let Some(c) = &v.counterexample {
                    let _ = writeln!(out, "    case: {}", c.case);
                    let _ = writeln!(out, "    decides {}: {}", c.effect.as_str(), c.command);
                }
                if let Some(c) = &v.contrast {
                    let _ = writeln!(out, "    compare ({}): {}", c.effect.as_str(), c.command);
                }
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            if self.holds {
                "all properties hold"
            } else {
                "some properties are violated"
            }
        );
        out
    }
}
