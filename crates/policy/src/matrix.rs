//! The access matrix: countries × models, for a verified single national of each country.
//!
//! Compliance staff read it to see what a directive set does to the world at a
//! glance, and diff two sets to see exactly who a change affects.

use std::fmt::Write as _;

use cordon_catalog::Resolution;
use cordon_jurisdiction::{CountryCode, Jurisdictions};
use cordon_subject::{Attested, Subject, VerificationLevel};
use jiff::Timestamp;
use serde::Serialize;

use crate::engine::{Effect, Trace};
use crate::policy::Policy;
use crate::request::Request;

/// The matrix's subject for a country: a citizen of it and nowhere else, resident
/// there, with no other permanent residency and no protected status, all
/// attested, and screened with no hit (the matrix is about places, not parties).
pub fn matrix_subject(c: CountryCode) -> Subject {
    let level = VerificationLevel::Attested;
    Subject {
        verification: level,
        citizenships: Some(vec![Attested::new(c, level)]),
        permanent_residencies: Some(Vec::new()),
        residence_country: Some(Attested::new(c, level)),
        protected_individual: Some(Attested::new(false, level)),
        screening: Some(Vec::new()),
        ..Subject::default()
    }
}

/// One row of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow {
    /// Country code.
    pub country: CountryCode,
    /// Country name.
    pub name: String,
    /// One effect per model, in the matrix's model order.
    pub effects: Vec<Effect>,
}

/// The country × model table.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// The time decided for.
    pub at: Timestamp,
    /// The policy version.
    pub policy_version: String,
    /// Model ids, in catalog order.
    pub models: Vec<String>,
    /// One row per assigned country.
    pub rows: Vec<MatrixRow>,
}

/// One cell that differs between two matrices.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MatrixCell {
    /// Country code.
    pub country: CountryCode,
    /// Model id.
    pub model: String,
    /// Effect under the first set.
    pub before: Effect,
    /// Effect under the second set.
    pub after: Effect,
}

/// The cells that change from one directive set to another.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixDiff {
    /// The time decided for.
    pub at: Timestamp,
    /// Version of the first set.
    pub before_version: String,
    /// Version of the second set.
    pub after_version: String,
    /// Changed cells, by country then model.
    pub changes: Vec<MatrixCell>,
}

fn short(e: Effect) -> &'static str {
    match e {
        Effect::Allow => "allow",
        Effect::AllowWithObligations => "oblig",
        Effect::VerificationRequired => "verify",
        Effect::Deny => "DENY",
    }
}

impl Matrix {
    /// Decides every country × model cell at `at`, for chat requests from the country.
    pub fn build(policy: &Policy, jurisdictions: &Jurisdictions, at: Timestamp) -> Matrix {
        Self::build_for(
            policy,
            jurisdictions,
            at,
            &policy
                .catalog()
                .models()
                .map(|(_, m)| m.id.clone())
                .collect::<Vec<_>>(),
        )
    }

    /// Like [`Matrix::build`] for a given list of model names (unknown names are refused).
    pub fn build_for(
        policy: &Policy,
        jurisdictions: &Jurisdictions,
        at: Timestamp,
        models: &[String],
    ) -> Matrix {
        let ids: Vec<_> = models
            .iter()
            .map(|m| match policy.catalog().resolve(m) {
                Resolution::Known { id, .. } => Some(id),
                Resolution::Unknown => None,
            })
            .collect();
        let mut trace = Trace::with_capacity(policy.max_consulted());
        let rows = jurisdictions
            .countries()
            .map(|(c, name)| {
                let subject = matrix_subject(c);
                let effects = ids
                    .iter()
                    .map(|id| {
                        let mut req = Request::new(*id, at);
                        req.country = Some(c);
                        policy.decide(&subject, &req, &mut trace).effect
                    })
                    .collect();
                MatrixRow {
                    country: c,
                    name: name.to_owned(),
                    effects,
                }
            })
            .collect();
        Matrix {
            at,
            policy_version: policy.version().to_owned(),
            models: models.to_vec(),
            rows,
        }
    }

    /// The cells that differ from `other` (models matched by id; a model missing
    /// from one side is refused there).
    pub fn diff(&self, other: &Matrix) -> MatrixDiff {
        let mut models: Vec<String> = self.models.clone();
        for m in &other.models {
            if !models.contains(m) {
                models.push(m.clone());
            }
        }
        let cell = |mx: &Matrix, row: usize, model: &str| {
            mx.models
                .iter()
                .position(|m| m == model)
                .and_then(|i| mx.rows.get(row).and_then(|r| r.effects.get(i)).copied())
                .unwrap_or(Effect::Deny)
        };
        let mut changes = Vec::new();
        for (ri, row) in self.rows.iter().enumerate() {
            for m in &models {
                let (before, after) = (cell(self, ri, m), cell(other, ri, m));
                if before != after {
                    changes.push(MatrixCell {
                        country: row.country,
                        model: m.clone(),
                        before,
                        after,
                    });
                }
            }
        }
        MatrixDiff {
            at: self.at,
            before_version: self.policy_version.clone(),
            after_version: other.policy_version.clone(),
            changes,
        }
    }

    /// CSV with a header row: `country,name,<model>...`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("country,name");
        for m in &self.models {
            let _ = write!(out, ",{m}");
        }
        out.push('\n');
        for r in &self.rows {
            let _ = write!(out, "{},\"{}\"", r.country, r.name.replace('"', "\"\""));
            for e in &r.effects {
                let _ = write!(out, ",{}", e.as_str());
            }
            out.push('\n');
        }
        out
    }

    /// An aligned text table, with a legend and a per-model summary.
    pub fn to_text(&self) -> String {
        let width = self
            .models
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(6)
            .max(6);
        let mut out = format!(
            "access matrix at {} (policy {})\n",
            self.at, self.policy_version
        );
        out.push_str(
            "subject: a verified single national resident in each country, connecting from it\n\n",
        );
        let _ = write!(out, "{:<4}{:<32}", "cc", "country");
        for m in &self.models {
            let _ = write!(out, " {m:>width$}");
        }
        out.push('\n');
        for r in &self.rows {
            let name: String = r.name.chars().take(30).collect();
            let _ = write!(out, "{:<4}{:<32}", r.country, name);
            for e in &r.effects {
                let _ = write!(out, " {:>width$}", short(*e));
            }
            out.push('\n');
        }
        out.push_str("\nlegend: allow · oblig = allow with obligations · verify = verification required · DENY\n");
        for (i, m) in self.models.iter().enumerate() {
            let count = |e: Effect| {
                self.rows
                    .iter()
                    .filter(|r| r.effects.get(i) == Some(&e))
                    .count()
            };
            let _ = writeln!(
                out,
                "{m}: {} allow, {} with obligations, {} verification required, {} deny",
                count(Effect::Allow),
                count(Effect::AllowWithObligations),
                count(Effect::VerificationRequired),
                count(Effect::Deny)
            );
        }
        out
    }
}

impl MatrixDiff {
    /// CSV with a header row.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("country,model,before,after\n");
        for c in &self.changes {
            let _ = writeln!(
                out,
                "{},{},{},{}",
                c.country,
                c.model,
                c.before.as_str(),
                c.after.as_str()
            );
        }
        out
    }

    /// A text listing of the changed cells.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "changes at {}\n  before: {}\n  after:  {}\n\n",
            self.at, self.before_version, self.after_version
        );
        if self.changes.is_empty() {
            out.push_str("no cell changes\n");
        }
        for c in &self.changes {
            let _ = writeln!(
                out,
                "{} {:<20} {} → {}",
                c.country,
                c.model,
                c.before.as_str(),
                c.after.as_str()
            );
        }
        let _ = writeln!(out, "\n{} cell(s) changed", self.changes.len());
        out
    }
}
