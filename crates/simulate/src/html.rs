//! The simulation report as one self-contained HTML page, the form a compliance
//! officer forwards to management.
//!
//! The page opens offline: styles are inline, charts and the world map are SVG
//! generated here, there is no script, and a Content Security Policy forbids
//! every fetch, so nothing in the page (nor anything smuggled into an
//! organisation name) can reach the network. All text from the report is
//! escaped.
//!
//! Every number taken from the report sits in an element carrying
//! `data-figure="<path>"`, where the path names the JSON field (`totals.lose_access`,
//! `by_model[fable-5].cells.gain_access`, `restorable_by.ways[demo-kyc].accounts.verification_required`;
//! arrays of groups and ways are indexed by their `key`, grace deadlines by
//! their `directive`). The element's text content is
//! exactly the JSON integer: digit groups are spaced by CSS, not by characters,
//! so a browser test can compare page and JSON.

mod charts;
mod map;
mod sections;
mod shapes;
#[cfg(test)]
mod tests;

use jiff::Timestamp;

use crate::Transition;
use crate::report::Report;

/// The page's stylesheet, inlined into `<style>`.
const STYLE: &str = include_str!("html/style.css");

/// Renders the report as a complete HTML document.
///
/// The result depends only on `report`: the same report gives byte-identical
/// HTML, so a page can be regenerated from its JSON and compared.
pub fn render(report: &Report) -> String {
    let mut out = String::with_capacity(320 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"Cordon\">\n");
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    out.push_str(&format!(
        "<title>Directive impact report — {}</title>\n",
        esc(&report.proposed.label)
    ));
    out.push_str("<style>\n");
    out.push_str(STYLE);
    out.push_str(&map::class_styles());
    out.push_str("</style>\n</head>\n<body>\n<main class=\"page\">\n");
    sections::header(&mut out, report);
    sections::notes(&mut out, report);
    sections::sets(&mut out, report);
    sections::headline(&mut out, report);
    sections::changed_directives(&mut out, report);
    sections::grace_deadlines(&mut out, report);
    sections::ways(&mut out, report);
    sections::models(&mut out, report);
    shapes::by_shape(&mut out, report);
    shapes::limit_changes(&mut out, report);
    shapes::already_refused(&mut out, report);
    sections::verification(&mut out, report);
    sections::citizenship(&mut out, report);
    sections::organizations(&mut out, report);
    sections::residence(&mut out, report);
    sections::traffic(&mut out, report);
    sections::footer(&mut out, report);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// Escapes text for HTML element content and quoted attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A figure in HTML: `<span data-figure=…>` whose text content is exactly `n`.
///
/// Digits after the first group go into `<i>` elements that the stylesheet
/// spaces, so `1234567` reads as "1 234 567" yet copies and compares as the
/// plain integer.
fn fig(path: &str, n: u64) -> String {
    let class = if n == 0 { "n z" } else { "n" };
    format!(
        "<span class=\"{class}\" data-figure=\"{}\">{}</span>",
        esc(path),
        grouped(n, "<i>", "</i>")
    )
}

/// A figure in SVG text: a `<tspan data-figure=…>` spaced with `dx`.
fn svg_fig(path: &str, n: u64) -> String {
    format!(
        "<tspan data-figure=\"{}\">{}</tspan>",
        esc(path),
        grouped(n, "<tspan dx=\"2.5\">", "</tspan>")
    )
}

/// `n` in groups of three digits, each group after the first wrapped in `open`/`close`.
fn grouped(n: u64, open: &str, close: &str) -> String {
    let digits = n.to_string();
    let head = match digits.len() % 3 {
        0 => 3,
        r => r,
    };
    let (first, mut rest) = digits.split_at_checked(head).unwrap_or((&digits, ""));
    let mut out = String::from(first);
    while let (Some(group), Some(tail)) = (rest.get(..3), rest.get(3..)) {
        out.push_str(open);
        out.push_str(group);
        out.push_str(close);
        rest = tail;
    }
    out
}

/// `part` as a percentage of `whole`, one decimal; a dash when `whole` is zero.
fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_owned();
    }
    let p = part as f64 * 100.0 / whole as f64;
    if part > 0 && p < 0.1 {
        "&lt;0.1%".to_owned()
    } else {
        format!("{p:.1}%")
    }
}

/// A timestamp for people: `2025-06-01 00:00 UTC` (seconds only when not zero),
/// inside `<time datetime>` carrying the exact RFC 3339 value.
fn time(ts: Timestamp) -> String {
    let exact = ts.to_string();
    let (date, rest) = exact.split_once('T').unwrap_or((exact.as_str(), ""));
    let clock = rest.trim_end_matches('Z');
    // Sub-second digits help nobody reading the page; `datetime` keeps them.
    let clock = clock.split_once('.').map_or(clock, |(whole, _)| whole);
    let clock = clock.strip_suffix(":00").unwrap_or(clock);
    format!(
        "<time datetime=\"{}\">{} {} UTC</time>",
        esc(&exact),
        esc(date),
        esc(clock)
    )
}

/// Whole days from `from` to `to`, rounded down; negative when `to` is earlier.
fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).div_euclid(86_400)
}

/// What each changing transition is called on the page, and its colour.
fn transition_label(t: Transition) -> &'static str {
    match t {
        Transition::Unchanged => "Unchanged",
        Transition::LoseAccess => "Lose access",
        Transition::VerificationRequired => "Must verify",
        Transition::VerificationRequiredAfterGrace => "Must verify before deadline",
        Transition::GainAccess => "Gain access",
        Transition::ObligationsChanged => "New limits",
        Transition::RefusalChanged => "Refusal changes",
    }
}

/// One sentence saying what a transition means for the customer.
fn transition_help(t: Transition) -> &'static str {
    match t {
        Transition::Unchanged => "Same decision under both sets.",
        Transition::LoseAccess => "Allowed today, refused under the proposed set.",
        Transition::VerificationRequired => {
            "Allowed today, refused until the customer verifies attributes."
        }
        Transition::VerificationRequiredAfterGrace => {
            "Still allowed during a grace period; refused after it unless verified."
        }
        Transition::GainAccess => "Refused today, allowed under the proposed set.",
        Transition::ObligationsChanged => "Allowed under both, with different limits.",
        Transition::RefusalChanged => "Refused under both, for a different reason.",
    }
}

/// The fill colour of a transition in charts and legends.
fn transition_colour(t: Transition) -> &'static str {
    match t {
        Transition::Unchanged => "#c9ced6",
        Transition::LoseAccess => "#c0392b",
        Transition::VerificationRequired => "#e67e22",
        Transition::VerificationRequiredAfterGrace => "#f1c40f",
        Transition::GainAccess => "#27ae60",
        Transition::ObligationsChanged => "#2e86c1",
        Transition::RefusalChanged => "#8e44ad",
    }
}

/// The changing transitions, in report order.
fn changes() -> impl Iterator<Item = Transition> {
    Transition::ALL.into_iter().filter(|t| t.is_change())
}
