use cordon_policy::{Feature, Mode, Obligations, Standing};
use jiff::Timestamp;
use serde_json::Value;

use super::*;
use crate::Way;
use crate::report::{
    AccountCounts, AlreadyRefused, ChangeKind, DirectiveChange, FORMAT, GraceDeadline, Group,
    LimitChange, RequestsAccounts, Restorable, SetSummary, Skipped, TrafficModel, TrafficReport,
    TransitionCounts, VerifyAccounts, WayAccounts,
};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn set(label: &str, directives: &[&str]) -> SetSummary {
    SetSummary {
        label: label.into(),
        version: format!("sha256:{}", "ab".repeat(32)),
        directives: directives.iter().map(|d| (*d).into()).collect(),
    }
}

/// A group whose cells are `[unchanged, lose, verify, verify_after_grace, gain, obligations, refusal]`.
fn group(key: &str, name: &str, accounts: u64, affected: u64, cells: [u64; 7]) -> Group {
    Group {
        key: key.into(),
        name: name.into(),
        accounts,
        affected_accounts: affected,
        cells: TransitionCounts::from_array(cells),
    }
}

fn empty() -> Report {
    Report {
        format: FORMAT,
        location: "residence".to_owned(),
        at: ts("2025-07-01T00:00:00Z"),
        baseline: set("embedded", &[]),
        proposed: set("directives/", &[]),
        changed_directives: vec![],
        notes: vec![],
        models: vec![],
        shapes: vec!["chat".into()],
        accounts: 0,
        cells: 0,
        totals: TransitionCounts::default(),
        affected_accounts: 0,
        accounts_by_transition: AccountCounts::default(),
        grace_deadlines: vec![],
        limit_changes: vec![],
        already_refused: vec![],
        restorable_by: Restorable::default(),
        by_model: vec![],
        by_shape: vec![],
        by_citizenship: vec![],
        by_residence: vec![],
        by_organization: vec![],
        by_verification: vec![],
        traffic: None,
    }
}

fn full() -> Report {
    Report {
        format: FORMAT,
        location: "residence".to_owned(),
        at: ts("2025-07-01T00:00:00Z"),
        baseline: set("embedded", &["ofac-cuba"]),
        proposed: set(
            "<b>proposed</b> & co",
            &["ofac-cuba", "frontier-foreign-nationals"],
        ),
        changed_directives: vec![DirectiveChange {
            id: "frontier-foreign-nationals".into(),
            change: ChangeKind::Added,
            mode: Mode::Enforced,
            standing: Standing::Grace,
            effective: ts("2025-06-15T00:00:00Z"),
            grace_until: Some(ts("2025-08-01T12:30:00Z")),
            expires: None,
        }],
        notes: vec!["directive `x` <script>alert(1)</script> is pending".into()],
        models: vec!["fable-5".into(), "sonnet-lite".into()],
        shapes: vec!["chat".into(), "chat+tools".into()],
        accounts: 1_234_567,
        cells: 2_469_134,
        totals: TransitionCounts::from_array([2_400_000, 50_000, 9_000, 10_000, 134, 0, 0]),
        affected_accounts: 40_001,
        accounts_by_transition: AccountCounts {
            lose_access: 30_000,
            verification_required: 5_000,
            verification_required_after_grace: 6_000,
            gain_access: 100,
            obligations_changed: 0,
            refusal_changed: 0,
        },
        grace_deadlines: vec![GraceDeadline {
            directive: "frontier-foreign-nationals".into(),
            deadline: ts("2025-08-01T12:30:00Z"),
            accounts: 6_000,
            refusal_changes: 12,
            new_limits: 3,
        }],
        limit_changes: vec![LimitChange {
            key: "chat: none -> max_tokens 2000; tools removed".into(),
            shape: "chat".into(),
            baseline: Obligations::default(),
            proposed: Obligations {
                max_tokens: Some(2000),
                remove_features: [Feature::Tools].into_iter().collect(),
            },
            baseline_limits: String::new(),
            proposed_limits: "max_tokens 2000; tools removed".into(),
            cells: 77,
        }],
        already_refused: vec![AlreadyRefused {
            key: "frontier-foreign-nationals<sanctions".into(),
            directive: "frontier-foreign-nationals".into(),
            refused_by: "sanctions".into(),
            accounts: 5,
            cells: 9,
        }],
        restorable_by: Restorable {
            ways: [
                (
                    Way::source(
                        "demo-kyc",
                        cordon_verification::SourceKind::KycVendor,
                        cordon_subject::VerificationLevel::DocumentVerified,
                    ),
                    4_500,
                    5_800,
                ),
                (
                    Way::issuer(
                        "corp.sso <main>",
                        [cordon_subject::VerificationLevel::Attested],
                    )
                    .unwrap(),
                    4_500,
                    5_800,
                ),
                (Way::organisation_attestation(), 120, 30),
                (Way::self_declaration(), 0, 0),
            ]
            .into_iter()
            .map(|(w, now, later)| WayAccounts {
                key: w.name,
                kind: w.kind,
                max_level: w.max_level,
                organisations_only: w.organisations_only,
                accounts: VerifyAccounts {
                    verification_required: now,
                    verification_required_after_grace: later,
                },
            })
            .collect(),
            none: VerifyAccounts {
                verification_required: 500,
                verification_required_after_grace: 200,
            },
        },
        by_model: vec![
            group(
                "fable-5",
                "",
                1_234_567,
                40_000,
                [1_180_000, 50_000, 4_000, 500, 67, 0, 0],
            ),
            group(
                "sonnet-lite",
                "",
                1_234_567,
                9_000,
                [1_220_000, 0, 5_000, 9_500, 67, 0, 0],
            ),
        ],
        by_shape: vec![
            group(
                "chat",
                "chat",
                1_234_567,
                30_000,
                [2_400_000, 40_000, 9_000, 10_000, 134, 0, 0],
            ),
            group(
                "chat+tools",
                "chat+tools",
                1_234_567,
                10_001,
                [0, 10_000, 0, 0, 0, 0, 0],
            ),
        ],
        by_citizenship: vec![
            group("CN", "China", 100_000, 30_000, [0, 30_000, 0, 0, 0, 0, 0]),
            group("DE", "Germany", 200_000, 7, [0, 0, 7, 0, 0, 0, 0]),
            group("MC", "Monaco", 50, 3, [0, 3, 0, 0, 0, 0, 0]),
            group("unknown", "unknown", 1_000, 900, [0, 0, 900, 0, 0, 0, 0]),
            group("US", "United States", 900_000, 0, [0; 7]),
        ],
        by_residence: vec![group(
            "US",
            "United States",
            1_000_000,
            10,
            [0, 10, 0, 0, 0, 0, 0],
        )],
        by_organization: (0..25)
            .map(|i| {
                let key = if i == 0 {
                    "<script>alert(\"x\")</script>".to_owned()
                } else {
                    format!("Org {i}")
                };
                group(&key, &key, 100, 25 - i, [0, 25 - i, 0, 0, 0, 0, 0])
            })
            .collect(),
        by_verification: vec![
            group(
                "none",
                "none",
                1_000_000,
                40_000,
                [0, 40_000, 1, 0, 0, 0, 0],
            ),
            group("attested", "attested", 234_567, 1, [0, 0, 1, 0, 0, 0, 0]),
        ],
        traffic: Some(TrafficReport {
            log: "/var/lib/cordon/audit".into(),
            since: Some(ts("2025-06-24T00:00:00Z")),
            first: Some(ts("2025-06-24T00:00:01Z")),
            last: Some(ts("2025-06-30T23:59:59Z")),
            decisions: 10_000,
            replayed: 9_000,
            skipped: Skipped {
                no_account: 600,
                unknown_account: 400,
            },
            accounts: 321,
            would_refuse: RequestsAccounts {
                requests: 800,
                accounts: 40,
            },
            newly_refused: RequestsAccounts {
                requests: 700,
                accounts: 35,
            },
            newly_allowed: RequestsAccounts {
                requests: 3,
                accounts: 1,
            },
            by_model: vec![TrafficModel {
                key: "fable-5".into(),
                requests: 9_000,
                newly_refused: 700,
                newly_allowed: 3,
            }],
        }),
    }
}

/// Undoes [`esc`].
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every `data-figure` in the page: its path and its element's text content.
fn figures(html: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("data-figure=\"") {
        let after = &rest[i + "data-figure=\"".len()..];
        let end = after.find('"').unwrap();
        let path = unescape(&after[..end]);
        let body = &after[after.find('>').unwrap() + 1..];
        let (mut depth, mut text, mut in_tag, mut closing) = (1, String::new(), false, false);
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '<' => {
                    in_tag = true;
                    closing = chars.peek() == Some(&'/');
                }
                '>' if in_tag => {
                    in_tag = false;
                    depth += if closing { -1 } else { 1 };
                    if depth == 0 {
                        break;
                    }
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        found.push((path, text));
        rest = after;
    }
    found
}

/// The JSON value at a figure path: dotted fields, and one `[key]` selecting the
/// array element whose `key` (or `directive`) equals it.
fn resolve<'a>(json: &'a Value, path: &str) -> Option<&'a Value> {
    let dotted = |mut v: &'a Value, p: &str| -> Option<&'a Value> {
        for part in p.split('.').filter(|s| !s.is_empty()) {
            v = v.get(part)?;
        }
        Some(v)
    };
    match (path.find('['), path.rfind(']')) {
        (Some(open), Some(close)) => {
            let array = dotted(json, &path[..open])?.as_array()?;
            let key = &path[open + 1..close];
            let item = array.iter().find(|g| {
                g.get("key").and_then(Value::as_str) == Some(key)
                    || g.get("directive").and_then(Value::as_str) == Some(key)
            })?;
            dotted(item, &path[close + 1..])
        }
        _ => dotted(json, path),
    }
}

fn check_figures(report: &Report) -> Vec<(String, String)> {
    let html = render(report);
    let json = serde_json::to_value(report).unwrap();
    let figs = figures(&html);
    for (path, text) in &figs {
        let value = resolve(&json, path).unwrap_or_else(|| panic!("no JSON value at `{path}`"));
        assert_eq!(
            value.as_u64().map(|n| n.to_string()).as_deref(),
            Some(text.as_str()),
            "{path}"
        );
    }
    figs
}

#[test]
fn every_figure_on_the_page_equals_the_json() {
    let report = full();
    let figs = check_figures(&report);
    let paths: std::collections::BTreeSet<&str> = figs.iter().map(|(p, _)| p.as_str()).collect();
    for t in Transition::ALL {
        assert!(
            paths.contains(format!("totals.{}", t.as_str()).as_str()),
            "totals.{t}"
        );
    }
    for p in [
        "accounts",
        "cells",
        "affected_accounts",
        "accounts_by_transition.lose_access",
    ] {
        assert!(paths.contains(p), "{p}");
    }
    for g in &report.by_model {
        for f in [
            "accounts",
            "affected_accounts",
            "cells.lose_access",
            "cells.gain_access",
        ] {
            let p = format!("by_model[{}].{f}", g.key);
            assert!(paths.contains(p.as_str()), "{p}");
        }
    }
    for p in [
        "grace_deadlines[frontier-foreign-nationals].accounts",
        "grace_deadlines[frontier-foreign-nationals].refusal_changes",
        "grace_deadlines[frontier-foreign-nationals].new_limits",
        "by_shape[chat+tools].affected_accounts",
        "by_shape[chat+tools].cells.lose_access",
        "limit_changes[chat: none -> max_tokens 2000; tools removed].cells",
        "already_refused[frontier-foreign-nationals<sanctions].accounts",
        "already_refused[frontier-foreign-nationals<sanctions].cells",
        "by_organization[<script>alert(\"x\")</script>].affected_accounts",
        "by_citizenship[unknown].affected_accounts",
        "by_citizenship[MC].affected_accounts",
        "traffic.newly_refused.requests",
        "traffic.skipped.unknown_account",
        "traffic.by_model[fable-5].newly_allowed",
        "restorable_by.ways[demo-kyc].accounts.verification_required",
        "restorable_by.ways[corp.sso <main>].accounts.verification_required_after_grace",
        "restorable_by.ways[self-declaration].accounts.verification_required",
        "restorable_by.none.verification_required",
        "restorable_by.none.verification_required_after_grace",
    ] {
        assert!(paths.contains(p), "{p}");
    }
    // Only the top 20 organisations are listed.
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("by_organization[Org 20]"))
    );
    assert!(paths.contains("by_organization[Org 19].accounts"));
}

#[test]
fn figures_read_as_grouped_digits_but_have_the_exact_integer_as_text() {
    assert_eq!(grouped(0, "<i>", "</i>"), "0");
    assert_eq!(grouped(123, "<i>", "</i>"), "123");
    assert_eq!(grouped(1234, "<i>", "</i>"), "1<i>234</i>");
    assert_eq!(grouped(1_234_567, "<i>", "</i>"), "1<i>234</i><i>567</i>");
    assert_eq!(grouped(123_456, "<i>", "</i>"), "123<i>456</i>");
    let f = fig("totals.lose_access", 1_234_567);
    assert_eq!(
        figures(&f),
        vec![("totals.lose_access".into(), "1234567".into())]
    );
}

#[test]
fn an_empty_report_renders_with_every_section_saying_so() {
    let report = empty();
    let html = render(&report);
    check_figures(&report);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    assert!(html.contains("No directive differs between the two sets."));
    assert!(html.contains("No model was simulated."));
    assert!(html.contains("No account is affected in any country."));
    assert!(html.contains("No account is asked to verify."));
    assert!(!html.contains("Read first"), "no notes, no notes box");
    assert!(!html.contains("Recent traffic replayed"));
    // The map still draws the world, all grey.
    assert!(html.matches("<g class=\"c0\"").count() > 200);
    assert!(!html.contains("<g class=\"c1\""));
}

#[test]
fn user_text_is_escaped_everywhere() {
    let html = render(&full());
    assert!(!html.contains("<script"), "a raw <script> reached the page");
    assert!(!html.contains("<b>proposed"));
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
    assert!(html.contains("&lt;b&gt;proposed&lt;/b&gt; &amp; co"));
    assert!(
        html.contains(
            "<title>Directive impact report — &lt;b&gt;proposed&lt;/b&gt; &amp; co</title>"
        )
    );
}

#[test]
fn nothing_is_fetched_from_the_network() {
    let html = render(&full());
    let mut attrs = 0;
    for attr in ["src=\"", "href=\"", "src='", "href='"] {
        for (i, _) in html.match_indices(attr) {
            attrs += 1;
            let value = &html[i + attr.len()..];
            let before = &html[..i];
            let tag = &before[before.rfind('<').unwrap()..];
            let external = value.starts_with("http:")
                || value.starts_with("https:")
                || value.starts_with("//");
            if external {
                assert!(
                    tag.starts_with("<a "),
                    "external URL outside an attribution link: {tag}"
                );
            }
        }
    }
    assert!(attrs >= 2, "the icon and the attribution link");
    for forbidden in [
        "<script", "<img", "<iframe", "@import", "url(", "<object", "<embed",
    ] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    let links: Vec<_> = html
        .match_indices("<link ")
        .map(|(i, _)| &html[i..i + 40])
        .collect();
    assert_eq!(links, vec!["<link rel=\"icon\" href=\"data:,\">\n<title>D"]);
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none';"));
}

#[test]
fn the_map_shades_countries_by_affected_accounts_and_lists_those_it_cannot_draw() {
    let html = render(&full());
    assert!(html.matches("<rect x=").count() > 4000);
    // China has the most affected accounts: the darkest class in use.
    assert!(html.contains(
        "<g class=\"c5\" data-country=\"CN\"><title>China (CN): 30000 affected accounts</title>"
    ));
    assert!(html.contains("data-country=\"DE\"><title>Germany (DE): 7 affected accounts</title>"));
    assert!(html.contains("<g class=\"c0\" data-country=\"US\"><title>United States (US): no affected accounts</title>"));
    // Names for countries the report does not mention come from the map data.
    assert!(html.contains("data-country=\"FR\"><title>France (FR): no affected accounts"));
    // Monaco wins no 1.5° cell, so it is named under the map instead.
    assert!(!html.contains("data-country=\"MC\""));
    assert!(
        html.contains("Too small for the map's 1.5° grid, with affected accounts: Monaco (MC)")
    );
}

#[test]
fn a_world_report_stays_small_and_renders_the_same_twice() {
    let mut report = full();
    let names = map::cells();
    let mut codes: Vec<[u8; 2]> = names.iter().map(|c| c.country).collect();
    codes.dedup();
    codes.sort();
    codes.dedup();
    report.by_citizenship = codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let code = std::str::from_utf8(c).unwrap();
            group(
                code,
                code,
                10_000 + i as u64,
                i as u64 * 37,
                [0, i as u64 * 37, 0, 0, 0, 0, 0],
            )
        })
        .collect();
    report.by_organization = (0..5000)
        .map(|i| {
            group(
                &format!("Organisation number {i}"),
                "",
                500,
                7,
                [0, 7, 0, 0, 0, 0, 0],
            )
        })
        .collect();
    let html = render(&report);
    assert!(html.len() < 400 * 1024, "{} bytes", html.len());
    assert_eq!(html, render(&report));
    check_figures(&report);
}

#[test]
fn times_are_readable_and_keep_the_exact_value() {
    assert_eq!(
        time(ts("2025-08-01T12:30:00Z")),
        "<time datetime=\"2025-08-01T12:30:00Z\">2025-08-01 12:30 UTC</time>"
    );
    assert_eq!(
        time(ts("2025-08-01T12:30:05Z")),
        "<time datetime=\"2025-08-01T12:30:05Z\">2025-08-01 12:30:05 UTC</time>"
    );
    assert_eq!(
        days_between(ts("2025-07-01T00:00:00Z"), ts("2025-08-01T12:30:00Z")),
        31
    );
    assert_eq!(pct(1, 3), "33.3%");
    assert_eq!(pct(1, 1_000_000), "&lt;0.1%");
    assert_eq!(pct(0, 0), "—");
}
