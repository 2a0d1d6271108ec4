//! The text summary on standard output: what a compliance officer reads
//! first; the files hold the rest.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use cordon_simulate::report::{Group, VerifyAccounts};
use cordon_simulate::{Report, Transition};

/// Where the run wrote its files, for the last lines.
pub(super) struct Written<'a> {
    pub(super) out: Option<&'a Path>,
    /// The notify file and how many rows it holds.
    pub(super) notify: Option<(&'a Path, u64)>,
}

/// A transition as a person says it.
fn phrase(t: Transition) -> &'static str {
    match t {
        Transition::Unchanged => "unchanged",
        Transition::LoseAccess => "lose access",
        Transition::VerificationRequired => "must verify first",
        Transition::VerificationRequiredAfterGrace => "must verify before a grace period ends",
        Transition::GainAccess => "gain access",
        Transition::ObligationsChanged => "keep access with changed limits",
        Transition::RefusalChanged => "refused differently",
    }
}

fn opt(t: Option<jiff::Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

/// `none` for no limits.
fn or_none(limits: &str) -> &str {
    if limits.is_empty() { "none" } else { limits }
}

/// One line per affected group: its affected accounts and changed cells by kind.
fn breakdown(o: &mut String, groups: &[Group]) -> Result<()> {
    for g in groups.iter().filter(|g| g.affected_accounts > 0) {
        let parts: Vec<String> = Transition::ALL
            .iter()
            .filter(|t| t.is_change() && g.cells.get(**t) > 0)
            .map(|t| format!("{} {}", g.cells.get(*t), phrase(*t)))
            .collect();
        // Affected accounts, then cells: an account has a cell per model
        // and shape, so the two counts differ.
        writeln!(
            o,
            "  {:<16} {:>9} of {} account(s); cells: {}",
            g.key,
            g.affected_accounts,
            g.accounts,
            parts.join(", ")
        )?;
    }
    Ok(())
}

/// Renders the summary.
pub(super) fn text(r: &Report, written: &Written<'_>) -> Result<String> {
    let mut o = String::new();
    writeln!(
        o,
        "Simulated `{}` ({}) replacing `{}` ({}) at {}",
        r.proposed.label, r.proposed.version, r.baseline.label, r.baseline.version, r.at
    )?;
    writeln!(
        o,
        "Requests assumed to come from {}",
        match r.location.as_str() {
            "residence" =>
                "each account's country of residence (an organisation's: of incorporation)",
            "unknown" => "an unknown location",
            country => country,
        }
    )?;

    writeln!(o, "\nChanged directives")?;
    if r.changed_directives.is_empty() {
        writeln!(o, "  none")?;
    }
    for c in &r.changed_directives {
        let mut times = format!("effective {}", c.effective);
        if let Some(g) = c.grace_until {
            write!(times, ", grace until {g}")?;
        }
        if let Some(e) = c.expires {
            write!(times, ", expires {e}")?;
        }
        writeln!(
            o,
            "  {:<9} {}  ({}, {} at the simulated time; {times})",
            c.change.as_str(),
            c.id,
            c.mode.as_str(),
            c.standing.as_str().replace('_', " "),
        )?;
    }

    writeln!(
        o,
        "Request shapes: {}",
        if r.shapes.len() == 1 && r.shapes.first().is_some_and(|s| s == "chat") {
            "a plain chat request only (--feature, --endpoint or --shapes all for more)".to_owned()
        } else {
            r.shapes.join(", ")
        }
    )?;

    writeln!(
        o,
        "\nAccounts: {} simulated on {} model(s) × {} shape(s), {} cells; {} affected",
        r.accounts,
        r.models.len(),
        r.shapes.len(),
        r.cells,
        r.affected_accounts
    )?;
    let mut any = false;
    for t in Transition::ALL {
        let (Some(accounts), cells) = (r.accounts_by_transition.get(t), r.totals.get(t)) else {
            continue;
        };
        if cells == 0 {
            continue;
        }
        any = true;
        writeln!(
            o,
            "  {:<40} {accounts:>9} account(s) {cells:>10} cell(s)",
            phrase(t)
        )?;
    }
    if !any {
        writeln!(o, "  no account × model cell changes")?;
    }

    if r.by_model.iter().any(|g| g.affected_accounts > 0) {
        writeln!(o, "\nAffected accounts per model")?;
        breakdown(&mut o, &r.by_model)?;
    }

    if r.by_shape.len() > 1 {
        writeln!(o, "\nAffected accounts per request shape")?;
        breakdown(&mut o, &r.by_shape)?;
    }

    if !r.limit_changes.is_empty() {
        writeln!(o, "\nLimits of changed cells (baseline → proposed)")?;
        for l in &r.limit_changes {
            writeln!(
                o,
                "  {:<16} {} → {}: {} cell(s)",
                l.shape,
                or_none(&l.baseline_limits),
                or_none(&l.proposed_limits),
                l.cells
            )?;
        }
    }

    if !r.grace_deadlines.is_empty() {
        writeln!(o, "\nGrace deadlines")?;
        for d in &r.grace_deadlines {
            let mut line = format!(
                "  {}  {}: {} account(s) must verify before then",
                d.deadline, d.directive, d.accounts
            );
            if d.refusal_changes > 0 {
                write!(
                    line,
                    "; {} account(s) refused now are refused differently after",
                    d.refusal_changes
                )?;
            }
            if d.new_limits > 0 {
                write!(
                    line,
                    "; {} account(s) are held to new limits after",
                    d.new_limits
                )?;
            }
            writeln!(o, "{line}")?;
        }
    }

    if !r.already_refused.is_empty() {
        writeln!(o, "\nUnchanged because another directive already refuses")?;
        for a in &r.already_refused {
            writeln!(
                o,
                "  `{}`: {} account(s), {} cell(s) unchanged because `{}` already refuses",
                a.directive, a.accounts, a.cells, a.refused_by
            )?;
        }
    }

    for t in VerifyAccounts::TRANSITIONS {
        let asked = r.accounts_by_transition.get(t).unwrap_or(0);
        if asked == 0 {
            continue;
        }
        writeln!(
            o,
            "\nWays back for the {asked} account(s) that {}",
            phrase(t)
        )?;
        for w in &r.restorable_by.ways {
            let mut what = format!("{}, up to {}", w.kind.as_str(), w.max_level.as_str());
            if w.organisations_only {
                what.push_str(", members only");
            }
            writeln!(
                o,
                "  {:<28} {what:<48} {:>9}",
                w.key,
                w.accounts.get(t).unwrap_or(0)
            )?;
        }
        writeln!(
            o,
            "  {:<77} {:>9}",
            "none: no way of verifying restores them",
            r.restorable_by.none.get(t).unwrap_or(0)
        )?;
    }

    if let Some(t) = &r.traffic {
        writeln!(o, "\nTraffic replayed from `{}`", t.log)?;
        writeln!(
            o,
            "  decisions        {} (since {}; first {}, last {})",
            t.decisions,
            opt(t.since),
            opt(t.first),
            opt(t.last)
        )?;
        writeln!(
            o,
            "  replayed         {} from {} account(s); skipped {} without an account, {} of accounts not in the store",
            t.replayed, t.accounts, t.skipped.no_account, t.skipped.unknown_account
        )?;
        for (label, x) in [
            ("would refuse", &t.would_refuse),
            ("newly refused", &t.newly_refused),
            ("newly allowed", &t.newly_allowed),
        ] {
            writeln!(
                o,
                "  {label:<16} {} request(s) from {} account(s)",
                x.requests, x.accounts
            )?;
        }
    }

    if !r.notes.is_empty() {
        writeln!(o, "\nNotes")?;
        for n in &r.notes {
            writeln!(o, "  - {n}")?;
        }
    }

    if written.out.is_some() || written.notify.is_some() {
        writeln!(o)?;
    }
    if let Some(dir) = written.out {
        writeln!(
            o,
            "Wrote report.json, report.csv and report.html to `{}`",
            dir.display()
        )?;
    }
    if let Some((file, rows)) = written.notify {
        writeln!(o, "Wrote {rows} notify row(s) to `{}`", file.display())?;
    }
    Ok(o)
}
