//! Horizontal bar charts as inline SVG.
//!
//! Bars are drawn from the report's integers; the exact figures sit in the
//! `<tspan data-figure>` labels beside each bar and in the tables under the
//! charts, so the drawing itself only has to be proportionate.

use std::fmt::Write as _;

use super::{changes, esc, svg_fig, transition_colour, transition_label};
use crate::report::Group;

/// Chart width in SVG user units; the SVG scales to its container.
const WIDTH: f64 = 860.0;
/// Right edge of the row labels.
const LABEL_END: f64 = 196.0;
/// Left edge of the bars.
const BAR_X: f64 = 206.0;
/// Length of the longest bar.
const BAR_LEN: f64 = 430.0;
/// Height of one row, and of a bar within it.
const ROW: f64 = 28.0;
/// Height of a bar.
const BAR_H: f64 = 16.0;
/// Space above the first row.
const TOP: f64 = 6.0;
/// Longest label drawn in full; longer ones are cut with an ellipsis.
const LABEL_CHARS: usize = 28;

/// Which bar chart to draw.
pub(super) enum Bars {
    /// Changed cells per group, one segment per transition.
    Stacked,
    /// Affected accounts per group, one colour.
    Affected,
}

/// A chart of `groups` from the report array `dim` (`by_model`, …), labelled by `label`.
///
/// Returns an empty string for no groups; the caller says so in words.
pub(super) fn bars(
    dim: &str,
    groups: &[Group],
    kind: &Bars,
    title: &str,
    label: impl Fn(&Group) -> String,
) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let value = |g: &Group| match kind {
        Bars::Stacked => g.cells.changed(),
        Bars::Affected => g.affected_accounts,
    };
    let max = groups.iter().map(value).max().unwrap_or(0).max(1) as f64;
    let height = TOP * 2.0 + ROW * groups.len() as f64;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-label=\"{}\">\n<title>{}</title>\n",
        esc(title),
        esc(title)
    );
    let _ = writeln!(
        out,
        "<line class=\"axis\" x1=\"{BAR_X}\" y1=\"0\" x2=\"{BAR_X}\" y2=\"{height}\"/>"
    );
    for (i, g) in groups.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let bar_y = y + (ROW - BAR_H) / 2.0;
        let text_y = y + ROW / 2.0 + 4.5;
        let full = label(g);
        let _ = writeln!(
            out,
            "<text class=\"label\" x=\"{LABEL_END}\" y=\"{text_y}\" text-anchor=\"end\">\
             <title>{}</title>{}</text>",
            esc(&full),
            esc(&shorten(&full))
        );
        let mut x = BAR_X;
        match kind {
            Bars::Stacked => {
                for t in changes() {
                    let n = g.cells.get(t);
                    if n == 0 {
                        continue;
                    }
                    let w = n as f64 / max * BAR_LEN;
                    let _ = writeln!(
                        out,
                        "<rect x=\"{x:.2}\" y=\"{bar_y}\" width=\"{:.2}\" height=\"{BAR_H}\" \
                         fill=\"{}\"><title>{} — {}: {n} cells</title></rect>",
                        w.max(1.0),
                        transition_colour(t),
                        esc(&full),
                        transition_label(t)
                    );
                    x += w;
                }
            }
            Bars::Affected => {
                let n = g.affected_accounts;
                if n > 0 {
                    let w = n as f64 / max * BAR_LEN;
                    let _ = writeln!(
                        out,
                        "<rect class=\"bar\" x=\"{x}\" y=\"{bar_y}\" width=\"{:.2}\" \
                         height=\"{BAR_H}\"><title>{}: {n} affected accounts</title></rect>",
                        w.max(1.0),
                        esc(&full)
                    );
                    x += w;
                }
            }
        }
        if x == BAR_X {
            let _ = writeln!(
                out,
                "<rect class=\"none\" x=\"{BAR_X}\" y=\"{}\" width=\"{BAR_LEN}\" height=\"2\"/>",
                bar_y + BAR_H / 2.0 - 1.0
            );
        }
        let _ = writeln!(
            out,
            "<text class=\"value\" x=\"{:.2}\" y=\"{text_y}\">{} <tspan class=\"muted\">of</tspan> \
             {} <tspan class=\"muted\">accounts</tspan></text>",
            x.max(BAR_X) + 8.0,
            svg_fig(
                &format!("{dim}[{}].affected_accounts", g.key),
                g.affected_accounts
            ),
            svg_fig(&format!("{dim}[{}].accounts", g.key), g.accounts),
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The legend for stacked transition bars, as HTML.
pub(super) fn legend() -> String {
    let mut out = String::from("<ul class=\"legend\">");
    for t in changes() {
        let _ = write!(
            out,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
            transition_colour(t),
            transition_label(t)
        );
    }
    out.push_str("</ul>\n");
    out
}

/// `s` cut to [`LABEL_CHARS`] characters with an ellipsis.
fn shorten(s: &str) -> String {
    if s.chars().count() <= LABEL_CHARS {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}
