//! The sections about request shapes: what each shape changes, the limits
//! that change, and the refusals a changed directive would add but another
//! directive already makes.

use std::fmt::Write as _;

use super::sections::group_table;
use super::{esc, fig};
use crate::report::Report;

/// Changed cells per request shape; shown only when more than the plain
/// chat request was decided, where it would repeat the headline.
pub(super) fn by_shape(out: &mut String, r: &Report) {
    if r.by_shape.len() < 2 {
        return;
    }
    out.push_str(
        "<section aria-labelledby=\"shapes\">\n<h2 id=\"shapes\">By request shape</h2>\n\
         <p class=\"small\">Each shape is decided for every account × model: <code>chat</code> \
         is a plain chat request, <code>chat+tools</code> a chat request using tools, \
         <code>fine_tuning</code> a request to that endpoint.</p>\n",
    );
    group_table(
        out,
        "by_shape",
        &r.by_shape,
        usize::MAX,
        "Shape",
        &r.totals,
        |g| format!("<code>{}</code>", esc(&g.key)),
    );
    out.push_str("</section>\n");
}

/// Changed cells held to limits (obligations) under either set.
pub(super) fn limit_changes(out: &mut String, r: &Report) {
    if r.limit_changes.is_empty() {
        return;
    }
    out.push_str(
        "<section aria-labelledby=\"limits\">\n<h2 id=\"limits\">Limits</h2>\n\
         <p>Changed cells whose requests are held to limits under either set.</p>\n\
         <table class=\"data\">\n<thead><tr><th>Shape</th><th>Baseline limits</th>\
         <th>Proposed limits</th><th class=\"num\">Cells</th></tr></thead>\n<tbody>\n",
    );
    let none = "<span class=\"small\">none</span>".to_owned();
    let words = |s: &str| {
        if s.is_empty() { none.clone() } else { esc(s) }
    };
    for l in &r.limit_changes {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&l.shape),
            words(&l.baseline_limits),
            words(&l.proposed_limits),
            fig(&format!("limit_changes[{}].cells", l.key), l.cells)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

/// Cells a changed directive would refuse but another already refuses.
pub(super) fn already_refused(out: &mut String, r: &Report) {
    if r.already_refused.is_empty() {
        return;
    }
    out.push_str(
        "<section aria-labelledby=\"already\">\n<h2 id=\"already\">Already refused</h2>\n\
         <p>These cells are unchanged only because another directive already refuses them; \
         the changed directive would refuse them too were that directive lifted.</p>\n\
         <table class=\"data\">\n<thead><tr><th>Changed directive</th><th>Already refused by</th>\
         <th class=\"num\">Accounts</th><th class=\"num\">Cells</th></tr></thead>\n<tbody>\n",
    );
    for a in &r.already_refused {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(&a.directive),
            esc(&a.refused_by),
            fig(&format!("already_refused[{}].accounts", a.key), a.accounts),
            fig(&format!("already_refused[{}].cells", a.key), a.cells)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}
