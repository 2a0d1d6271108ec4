//! Charts as inline SVG, each with the same numbers as a table.
//!
//! The console sends no scripts and its Content Security Policy allows no
//! inline styles, so a chart is drawn on the server with SVG presentation
//! attributes alone. Each is an image to assistive technology (`role="img"`,
//! named by its `<title>` through `aria-labelledby`) and comes with a table
//! of its numbers in a `<details>`, which is its text equivalent. Colours
//! are dark enough on white for WCAG 2.1 AA: 3:1 for the marks (1.4.11) and
//! 4.5:1 for text (1.4.3); segments are also told apart by white gaps.

use maud::{Markup, html};

/// Marks, in the order series take them: each at least 3:1 on white.
pub const PALETTE: [&str; 6] = [
    "#0b5cad", "#a40e26", "#116329", "#8a4600", "#6639ba", "#57606a",
];

/// A funnel's bars: one colour, as each stage is a part of the one before
/// rather than a category of its own; 3:1 or more on white.
const FUNNEL_BAR: &str = "#0b5cad";

/// Axis and label text: at least 4.5:1 on white.
pub const TEXT: &str = "#1b1f24";

/// Grid lines, which carry no information of their own.
const GRID: &str = "#d0d7de";

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// One named series of counts, one per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// What is counted (a directive, a model).
    pub name: String,
    /// The count in each bucket, oldest first.
    pub counts: Vec<u64>,
}

/// Counts over time, stacked by series: one bar per bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackedBars<'a> {
    /// The element id the chart's title and table hang from; unique on the page.
    pub id: &'a str,
    /// What the chart shows, as its accessible name and the table's caption.
    pub title: &'a str,
    /// What a bucket is, heading the table's first column (e.g. "Hour (UTC)").
    pub bucket: &'a str,
    /// Each bucket's label, oldest first.
    pub labels: &'a [String],
    /// Show every `tick`th label under the axis (the table has them all).
    pub tick: usize,
    /// The series, at most [`PALETTE`]'s length; the caller folds the rest.
    pub series: &'a [Series],
}

/// A funnel: how many reached each stage of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funnel<'a> {
    /// The element id the chart's title and table hang from; unique on the page.
    pub id: &'a str,
    /// What the chart shows.
    pub title: &'a str,
    /// Each stage and how many reached it, first stage first.
    pub stages: &'a [(String, u64)],
}

/// A coordinate as SVG text: one decimal, so output is stable.
fn at(x: f64) -> String {
    format!("{x:.1}")
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `max`, so the axis reads in
/// round numbers; 1 for an empty chart.
fn axis_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let top = step.saturating_mul(m);
            if top >= max {
                return top;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// `part` of `whole` in whole per cent, rounded down; 0 of nothing.
pub fn percent(part: u64, whole: u64) -> u64 {
    part.saturating_mul(100).checked_div(whole).unwrap_or(0)
}

/// Renders `chart` as an SVG image and its table.
pub fn stacked_bars(chart: &StackedBars<'_>) -> Markup {
    let n = chart.labels.len().max(1);
    let totals: Vec<u64> = (0..chart.labels.len())
        .map(|b| {
            chart
                .series
                .iter()
                .map(|s| s.counts.get(b).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let top = axis_top(totals.iter().copied().max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar = slot * 0.8;
    let y = |v: u64| TOP + plot_h - plot_h * v as f64 / top as f64;
    // Each bucket's non-empty segments, bottom up: (x, from, to, colour).
    let mut segments = Vec::new();
    for b in 0..chart.labels.len() {
        let x = LEFT + slot * b as f64 + (slot - bar) / 2.0;
        let mut base = 0u64;
        for (s, colour) in chart.series.iter().zip(PALETTE) {
            let v = s.counts.get(b).copied().unwrap_or(0);
            if v > 0 {
                segments.push((x, base, base + v, colour));
                base += v;
            }
        }
    }
    let title_id = format!("{}-title", chart.id);
    let tick = chart.tick.max(1);
    html! {
        figure class="chart" {
            svg id=(chart.id) role="img" aria-labelledby=(title_id) xmlns="http://www.w3.org/2000/svg"
                viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } width="100%" font-family="system-ui, sans-serif" font-size="12" {
                title id=(title_id) { (chart.title) }
                @for v in [0, top / 2, top] {
                    line x1=(at(LEFT)) x2=(at(WIDTH - RIGHT)) y1=(at(y(v))) y2=(at(y(v))) stroke=(GRID) {}
                    text x=(at(LEFT - 6.0)) y=(at(y(v) + 4.0)) text-anchor="end" fill=(TEXT) { (v) }
                }
                @for (x, low, high, colour) in &segments {
                    rect x=(at(*x)) y=(at(y(*high))) width=(at(bar)) height=(at(y(*low) - y(*high)))
                        fill=(colour) stroke="#ffffff" stroke-width="1" {}
                }
                @for (b, label) in chart.labels.iter().enumerate().filter(|(b, _)| b % tick == 0) {
                    text x=(at(LEFT + slot * (b as f64 + 0.5))) y=(at(HEIGHT - 8.0)) text-anchor="middle" fill=(TEXT) { (label) }
                }
            }
            figcaption {
                strong { (chart.title) }
                ul class="legend" {
                    @for (s, colour) in chart.series.iter().zip(PALETTE) {
                        li { svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" { rect width="12" height="12" fill=(colour) {} }
                            " " (s.name) }
                    }
                }
                details {
                    summary { "The numbers" }
                    div class="scroll" role="region" tabindex="0" aria-label=(chart.title) { table {
                        caption { (chart.title) "; a row with none is left out" }
                        thead { tr { th scope="col" { (chart.bucket) } @for s in chart.series { th scope="col" { (s.name) } } th scope="col" { "Total" } } }
                        tbody {
                            @for (b, label) in chart.labels.iter().enumerate() {
                                @if totals.get(b).copied().unwrap_or(0) > 0 {
                                    tr {
                                        th scope="row" { (label) }
                                        @for s in chart.series { td { (s.counts.get(b).copied().unwrap_or(0)) } }
                                        td { (totals.get(b).copied().unwrap_or(0)) }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
        }
    }
}

/// Renders `chart` as horizontal bars, one per stage, each with its count
/// and its share of the first stage, and its table.
pub fn funnel(chart: &Funnel<'_>) -> Markup {
    const LABEL: f64 = 270.0;
    const ROW: f64 = 34.0;
    let first = chart.stages.first().map_or(0, |(_, n)| *n);
    let top = chart
        .stages
        .iter()
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
        .max(1);
    let room = WIDTH - LABEL - 110.0;
    let height = ROW * chart.stages.len() as f64 + 8.0;
    let title_id = format!("{}-title", chart.id);
    html! {
        figure class="chart" {
            svg id=(chart.id) role="img" aria-labelledby=(title_id) xmlns="http://www.w3.org/2000/svg"
                viewBox={ "0 0 " (WIDTH) " " (at(height)) } width="100%" font-family="system-ui, sans-serif" font-size="13" {
                title id=(title_id) { (chart.title) }
                @for (i, (stage, n)) in chart.stages.iter().enumerate() {
                    @let y = 4.0 + ROW * i as f64;
                    @let w = room * *n as f64 / top as f64;
                    text x=(at(LABEL - 8.0)) y=(at(y + 19.0)) text-anchor="end" fill=(TEXT) { (stage) }
                    rect x=(at(LABEL)) y=(at(y + 4.0)) width=(at(w)) height="22" fill=(FUNNEL_BAR) {}
                    text x=(at(LABEL + w + 6.0)) y=(at(y + 19.0)) fill=(TEXT) { (n) " (" (percent(*n, first)) " %)" }
                }
            }
            figcaption {
                strong { (chart.title) }
                details {
                    summary { "The numbers" }
                    div class="scroll" role="region" tabindex="0" aria-label=(chart.title) { table {
                        caption { (chart.title) }
                        thead { tr { th scope="col" { "Stage" } th scope="col" { "Accounts" } th scope="col" { "Of the first stage" } } }
                        tbody { @for (stage, n) in chart.stages {
                            tr { th scope="row" { (stage) } td { (n) } td { (percent(*n, first)) " %" } }
                        } }
                    } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
