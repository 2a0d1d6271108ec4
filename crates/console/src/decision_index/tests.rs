use cordon_audit::leaf::{DecisionRecord, Mode, Obligations, Source};

use super::*;

const ACCOUNTS: [&str; 4] = ["ana", "ben", "cy", "dee"];
const MODELS: [&str; 3] = ["fable-5", "mythos-5", "lyric-4"];
const EFFECTS: [&str; 3] = ["allow", "deny", "verification_required"];
const DIRECTIVES: [&str; 3] = ["order-a", "order-b", "order-c"];

/// 2026-12-07T00:00:00Z.
const T0: i64 = 1_796_601_600;

fn decision(n: u64) -> DecisionRecord {
    let pick = |k: u64, len: usize| usize::try_from((n.wrapping_mul(k) >> 7) % len as u64).unwrap();
    let step = i64::try_from(n).unwrap() * 60;
    DecisionRecord {
        id: format!("dec_{n}"),
        time: if n.is_multiple_of(17) {
            "not a time".into()
        } else {
            jiff::Timestamp::from_second(T0 + step).unwrap().to_string()
        },
        account: (!n.is_multiple_of(11)).then(|| ACCOUNTS[pick(2_654_435_761, 4)].into()),
        model_requested: format!("{}-alias", MODELS[pick(40_503, 3)]),
        model: (!n.is_multiple_of(13)).then(|| MODELS[pick(40_503, 3)].into()),
        endpoint: "chat".into(),
        effect: EFFECTS[pick(2_246_822_519, 3)].into(),
        mode: Mode::Enforced,
        decided_by: (!n.is_multiple_of(3)).then(|| DIRECTIVES[pick(3_266_489_917, 3)].into()),
        consulted: DIRECTIVES[..pick(668_265_263, 4)]
            .iter()
            .map(|d| (*d).to_owned())
            .collect(),
        obligations: Obligations::default(),
        attributes: Vec::new(),
        policy_version: "v1".into(),
        client_country: None,
        client_region: None,
        anonymizer: None,
        source: Source::Cli,
        shadow: Vec::new(),
        features: Vec::new(),
        end_user: None,
    }
}

/// The search as the console made it before the index: every record
/// decoded and filtered, newest first.
fn brute_force(records: &[(u64, DecisionRecord)], q: &Query, limit: usize) -> Vec<u64> {
    records
        .iter()
        .rev()
        .filter(|(_, d)| {
            q.account
                .as_deref()
                .is_none_or(|a| d.account.as_deref() == Some(a))
                && q.model
                    .as_deref()
                    .is_none_or(|m| d.model.as_deref() == Some(m) || d.model_requested == m)
                && q.directive.as_deref().is_none_or(|x| {
                    d.decided_by.as_deref() == Some(x) || d.consulted.iter().any(|c| c == x)
                })
                && q.effect.as_deref().is_none_or(|e| d.effect == e)
                && (q.since.is_none() && q.until.is_none()
                    || d.time.parse::<jiff::Timestamp>().is_ok_and(|t| {
                        q.since.is_none_or(|s| t >= s) && q.until.is_none_or(|u| t < u)
                    }))
        })
        .take(limit)
        .map(|(i, _)| *i)
        .collect()
}

fn queries() -> Vec<Query> {
    let at = |minutes: i64| Some(jiff::Timestamp::from_second(T0 + minutes * 60).unwrap());
    // Half a second past a minute: between two decisions' whole seconds.
    let half_past =
        |minutes: i64| Some(jiff::Timestamp::new(T0 + minutes * 60, 500_000_000).unwrap());
    let mut out = vec![Query::default()];
    for a in [None, Some("ana"), Some("nobody")] {
        for m in [None, Some("fable-5"), Some("lyric-4-alias")] {
            for x in [None, Some("order-b")] {
                for e in [None, Some("deny")] {
                    for (since, until) in [
                        (None, None),
                        (at(40), at(300)),
                        (at(250), None),
                        (half_past(60), half_past(240)),
                    ] {
                        out.push(Query {
                            account: a.map(str::to_owned),
                            model: m.map(str::to_owned),
                            directive: x.map(str::to_owned),
                            effect: e.map(str::to_owned),
                            since,
                            until,
                        });
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_index_finds_what_decoding_every_record_finds() {
    let records: Vec<(u64, DecisionRecord)> = (0..600).map(|n| (n * 2 + 1, decision(n))).collect();
    let mut index = Indexed::new(Path::new("log"));
    for (i, d) in &records {
        index.add(*i, d);
    }
    let mut non_empty = 0;
    for q in queries() {
        for limit in [1, 7, 1000] {
            let expected = brute_force(&records, &q, limit);
            non_empty += usize::from(!expected.is_empty());
            assert_eq!(index.matching(&q, limit), expected, "{q:?} limit {limit}");
        }
    }
    assert!(non_empty > 100, "the queries match something: {non_empty}");
}

#[test]
fn forgetting_old_rows_keeps_each_row_s_consulted_directives() {
    let records: Vec<(u64, DecisionRecord)> = (0..300).map(|n| (n, decision(n))).collect();
    let mut index = Indexed::new(Path::new("log"));
    for (i, d) in &records {
        index.add(*i, d);
    }
    index.forget_before(120);
    assert_eq!(index.rows.first().map(|r| r.entry), Some(120));
    let kept = &records[120..];
    for q in queries() {
        assert_eq!(
            index.matching(&q, 1000),
            brute_force(kept, &q, 1000),
            "{q:?}"
        );
    }
    // A few old rows are kept until they are worth moving the rest for.
    index.forget_before(125);
    assert_eq!(index.rows.first().map(|r| r.entry), Some(120));
}

#[test]
fn rows_before_the_window_are_not_searched_while_they_wait_to_be_trimmed() {
    let records: Vec<(u64, DecisionRecord)> = (0..300).map(|n| (n, decision(n))).collect();
    let mut index = Indexed::new(Path::new("log"));
    for (i, d) in &records {
        index.add(*i, d);
    }
    // The log has grown so that the window starts at entry 150.
    index.next = SPAN + 150;
    let inside = &records[150..];
    for q in queries() {
        assert_eq!(
            index.matching(&q, 1000),
            brute_force(inside, &q, 1000),
            "{q:?}"
        );
    }
}
