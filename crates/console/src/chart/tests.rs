use super::*;

/// The WCAG 2.1 relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

fn contrast_on_white(hex: &str) -> f64 {
    1.05 / (luminance(hex) + 0.05)
}

#[test]
fn marks_and_text_meet_wcag_aa_on_white() {
    assert!((contrast_on_white("#ffffff") - 1.0).abs() < 1e-9);
    assert!((contrast_on_white("#000000") - 21.0).abs() < 1e-9);
    for colour in PALETTE {
        assert!(contrast_on_white(colour) >= 3.0, "{colour}");
    }
    assert!(contrast_on_white(FUNNEL_BAR) >= 3.0);
    assert!(contrast_on_white(TEXT) >= 4.5);
}

#[test]
fn the_axis_tops_out_at_a_round_number_at_or_above_the_highest_bar() {
    assert_eq!(axis_top(0), 1);
    assert_eq!(axis_top(1), 1);
    assert_eq!(axis_top(3), 5);
    assert_eq!(axis_top(7), 10);
    assert_eq!(axis_top(11), 20);
    assert_eq!(axis_top(200), 200);
    assert_eq!(axis_top(201), 500);
    assert_eq!(axis_top(u64::MAX), u64::MAX);
}

#[test]
fn a_share_of_nothing_is_nothing() {
    assert_eq!(percent(3, 0), 0);
    assert_eq!(percent(2, 3), 66);
    assert_eq!(percent(5, 5), 100);
}

fn labels(n: usize) -> Vec<String> {
    (0..n).map(|h| format!("{h:02}:00")).collect()
}

fn refusals() -> Vec<Series> {
    vec![
        Series {
            name: "export-frontier".into(),
            counts: vec![0, 3, 1, 0],
        },
        Series {
            name: "embargo-<cu>".into(),
            counts: vec![0, 2, 0, 4],
        },
    ]
}

/// Two series over four hours, with a tick every other hour.
fn four_hours() -> String {
    let labels = labels(4);
    let series = refusals();
    stacked_bars(&StackedBars {
        id: "by-directive",
        title: "Refusals by directive",
        bucket: "Hour",
        labels: &labels,
        tick: 2,
        series: &series,
    })
    .into_string()
}

#[test]
fn stacked_bars_draw_one_segment_per_non_empty_count_and_the_total_reaches_the_top() {
    let svg = four_hours();
    assert_eq!(svg.matches("<rect x=").count(), 4);
    // The tallest bar (5) reaches the axis top (5): its top edge is the plot's.
    assert!(svg.contains(&format!(r#"y="{}""#, at(TOP))), "{svg}");
    // Names are escaped in the legend and the table alike.
    assert!(svg.contains("embargo-&lt;cu&gt;") && !svg.contains("<cu>"));
    assert!(svg.contains(r#"role="img" aria-labelledby="by-directive-title""#));
    // Empty buckets are left out of the table, and every label is in it.
    assert!(!svg.contains(r#"<th scope="row">00:00</th>"#));
    assert!(svg.contains(r#"<th scope="row">03:00</th><td>0</td><td>4</td><td>4</td>"#));
}

#[test]
fn snapshot_of_stacked_bars() {
    insta::assert_snapshot!(four_hours().replace('>', ">\n"));
}

#[test]
fn snapshot_of_a_funnel() {
    let stages = [
        ("Refused for want of verification".to_owned(), 8),
        ("Verification started".to_owned(), 5),
        ("Restored".to_owned(), 2),
    ];
    insta::assert_snapshot!(
        funnel(&Funnel {
            id: "funnel",
            title: "Verification funnel",
            stages: &stages,
        })
        .into_string()
        .replace('>', ">\n")
    );
}

#[test]
fn an_empty_funnel_draws_empty_bars_without_dividing_by_zero() {
    let stages = [("Refused".to_owned(), 0), ("Restored".to_owned(), 0)];
    let svg = funnel(&Funnel {
        id: "f",
        title: "t",
        stages: &stages,
    })
    .into_string();
    assert!(svg.contains(r#"width="0.0""#) && svg.contains("0 (0 %)"));
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
}
