//! The shaped matrix as text and CSV.

use std::fmt::Write as _;

use cordon_policy::Effect;

use super::{Outcome, ShapedDiff, ShapedMatrix};
use crate::limits::limits_text;
use crate::report::csv::write_row;

/// A cell in a text table: the effect, or the limits of an allowed cell
/// (`≤2000` for an output cap, `-tools` per feature removed).
fn short(o: &Outcome) -> String {
    match o.effect {
        Effect::Allow => "allow".to_owned(),
        Effect::AllowWithObligations => {
            let mut s = String::new();
            if let Some(n) = o.limits.max_tokens {
                let _ = write!(s, "≤{n}");
            }
            for f in o.limits.remove_features.iter() {
                let _ = write!(s, "-{}", f.as_str());
            }
            if s.is_empty() { "oblig".to_owned() } else { s }
        }
        Effect::VerificationRequired => "verify".to_owned(),
        Effect::Deny => "DENY".to_owned(),
    }
}

/// A cell in words: the effect, with its limits in parentheses when it has any.
fn long(o: &Outcome) -> String {
    let limits = limits_text(&o.limits);
    if limits.is_empty() {
        o.effect.as_str().to_owned()
    } else {
        format!("{} ({limits})", o.effect.as_str())
    }
}

impl ShapedMatrix {
    /// One aligned table per shape, each with a per-model summary that
    /// counts the cells held to each set of limits.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "access matrix at {} (policy {})\n\
             subject: a verified single national resident in each country, connecting from it\n\
             shapes: {}\n",
            self.at,
            self.policy_version,
            self.shapes
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (si, shape) in self.shapes.iter().enumerate() {
            let cells = |r: &super::ShapedRow| r.cells.get(si).cloned().unwrap_or_default();
            let width = self
                .rows
                .iter()
                .flat_map(|r| cells(r).into_iter().map(|o| short(&o).chars().count()))
                .chain(self.models.iter().map(|m| m.chars().count()))
                .max()
                .unwrap_or(6)
                .max(6);
            let _ = write!(
                out,
                "\nshape {}\n{:<4}{:<32}",
                shape.label(),
                "cc",
                "country"
            );
            for m in &self.models {
                let _ = write!(out, " {m:>width$}");
            }
            out.push('\n');
            for r in &self.rows {
                let name: String = r.name.chars().take(30).collect();
                let _ = write!(out, "{:<4}{:<32}", r.country, name);
                for o in cells(r) {
                    let _ = write!(out, " {:>width$}", short(&o));
                }
                out.push('\n');
            }
            for (mi, m) in self.models.iter().enumerate() {
                let of = |r: &super::ShapedRow| r.cells.get(si).and_then(|c| c.get(mi)).copied();
                let count = |e: Effect| {
                    self.rows
                        .iter()
                        .filter(|r| of(r).is_some_and(|o| o.effect == e))
                        .count()
                };
                let mut limits: Vec<(String, usize)> = Vec::new();
                for o in self.rows.iter().filter_map(of) {
                    let text = limits_text(&o.limits);
                    if o.effect != Effect::AllowWithObligations || text.is_empty() {
                        continue;
                    }
                    match limits.iter_mut().find(|(t, _)| *t == text) {
                        Some((_, n)) => *n += 1,
                        None => limits.push((text, 1)),
                    }
                }
                let detail: Vec<String> =
                    limits.iter().map(|(t, n)| format!("{n} at {t}")).collect();
                let detail = if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", detail.join(", "))
                };
                let _ = writeln!(
                    out,
                    "{m}: {} allow, {} with obligations{detail}, {} verification required, {} deny",
                    count(Effect::Allow),
                    count(Effect::AllowWithObligations),
                    count(Effect::VerificationRequired),
                    count(Effect::Deny)
                );
            }
        }
        out.push_str(
            "\nlegend: allow · ≤N = allowed, output capped at N tokens · -F = allowed, feature F removed \
             · oblig = allowed with obligations · verify = verification required · DENY\n",
        );
        out
    }

    /// CSV with a header row, `shape,country,name,<model>...`, one row per
    /// shape and country; a cell is the effect, with its limits in parentheses.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header = vec!["shape", "country", "name"];
        header.extend(self.models.iter().map(String::as_str));
        write_row(&mut out, header);
        for (si, shape) in self.shapes.iter().enumerate() {
            for r in &self.rows {
                let mut line = vec![shape.label(), r.country.to_string(), r.name.clone()];
                if let Some(cells) = r.cells.get(si) {
                    line.extend(cells.iter().map(long));
                }
                write_row(&mut out, line.iter().map(String::as_str));
            }
        }
        out
    }
}

impl ShapedDiff {
    /// A text listing of the changed cells, limits included.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "changes at {}\n  before: {}\n  after:  {}\n  shapes: {}\n\n",
            self.at,
            self.before_version,
            self.after_version,
            self.shapes
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if self.changes.is_empty() {
            out.push_str("no cell changes\n");
        }
        for c in &self.changes {
            let _ = writeln!(
                out,
                "{} {:<20} {:<16} {} → {}",
                c.country,
                c.model,
                c.shape.label(),
                long(&c.before),
                long(&c.after)
            );
        }
        let _ = writeln!(out, "\n{} cell(s) changed", self.changes.len());
        for a in &self.already_refused {
            let _ = writeln!(
                out,
                "`{}`: {} cell(s) unchanged because `{}` already refuses",
                a.directive, a.cells, a.refused_by
            );
        }
        out
    }

    /// CSV with a header row:
    /// `country,model,shape,before,after,before_limits,after_limits`.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        write_row(
            &mut out,
            [
                "country",
                "model",
                "shape",
                "before",
                "after",
                "before_limits",
                "after_limits",
            ],
        );
        for c in &self.changes {
            let line = [
                c.country.to_string(),
                c.model.clone(),
                c.shape.label(),
                c.before.effect.as_str().to_owned(),
                c.after.effect.as_str().to_owned(),
                limits_text(&c.before.limits),
                limits_text(&c.after.limits),
            ];
            write_row(&mut out, line.iter().map(String::as_str));
        }
        out
    }
}
