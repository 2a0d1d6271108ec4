//! The roll-out of "foreign nationals may not access fable-5 and mythos-5",
//! end to end: a generated identity store, a simulation of the new directive
//! during its grace period and after it, and then the running gateway,
//! which must enforce exactly what the simulation predicted, request for
//! request, on a sample of accounts.
//!
//! The expectations are worked out here from the generated records, by the
//! rules of `directives/foreign-national-frontier.toml`, independently of
//! the engine: U.S. persons keep access, verified foreign nationals lose the
//! two models, accounts whose status is unknown must verify once the grace
//! period ends, and attested members of the licence holder are exempt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::server::{Gateway, request};
use super::{cordon, json, ok, root, s, temp_dir};

const DIRECTIVE: &str = "foreign-national-frontier-2026";
const RESTRICTED: [&str; 2] = ["fable-5", "mythos-5"];
const LICENSEE: &str = "Northwind Labs";

/// What the directive makes of an account, by its rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// A U.S. citizen, permanent resident or protected individual, verified.
    UsPerson,
    /// Verified not to be a U.S. person.
    ForeignNational,
    /// Status not determinable at the directive's level.
    Unknown,
}

const LEVELS: [&str; 4] = ["none", "self_declared", "document_verified", "attested"];

fn level_rank(level: &str) -> usize {
    LEVELS.iter().position(|l| *l == level).unwrap()
}

/// Whether a value (bare, or an object with its own provenance) is recorded
/// at `document_verified` or above and not expired at `now`.
fn verified(record: &Value, value: &Value, now: Timestamp) -> bool {
    let field = |name: &str| value.get(name).or_else(|| record.get(name));
    let level = field("verification")
        .and_then(Value::as_str)
        .unwrap_or("none");
    let expired = field("expires")
        .and_then(Value::as_str)
        .is_some_and(|e| e.parse::<Timestamp>().unwrap() <= now);
    level_rank(level) >= level_rank("document_verified") && !expired
}

fn country_of(v: &Value) -> &str {
    v.as_str()
        .or_else(|| v.get("country").and_then(Value::as_str))
        .unwrap()
}

fn bool_of(v: &Value) -> bool {
    v.as_bool()
        .or_else(|| v.get("value").and_then(Value::as_bool))
        .unwrap()
}

/// The directive's reading of one generated record at `now` (15 CFR 772.1
/// "foreign person" as the directive's `[foreign_person]` table spells it
/// out: U.S. citizens and nationals, permanent residents and protected
/// individuals are excepted; a recorded `us_person` plays no part).
///
/// Membership of the licence holder plays no part either: the generated
/// store holds no licence record, and a licence covers only the
/// individuals its record names, never every member of its holder.
fn classify(record: &Value, now: Timestamp) -> Class {
    // Only a natural person is or is not a foreign person: an
    // organisation's own account leaves the order unknown.
    if record["kind"] == "organization" {
        return Class::Unknown;
    }
    let list = |name: &str| record.get(name).and_then(Value::as_array);
    let citizenships = list("citizenships");
    let residencies = list("permanent_residencies");
    let protected = record.get("protected_individual");
    let verified_in = |items: Option<&Vec<Value>>, codes: &[&str]| {
        items.is_some_and(|xs| {
            xs.iter()
                .any(|x| codes.contains(&country_of(x)) && verified(record, x, now))
        })
    };
    if verified_in(citizenships, &["US", "PR", "GU", "VI", "AS", "MP"])
        || verified_in(residencies, &["US"])
        || protected.is_some_and(|p| bool_of(p) && verified(record, p, now))
    {
        return Class::UsPerson;
    }
    // A list is known when recorded: every entry at the level, or, empty,
    // the record's own level (an empty list takes the record's provenance).
    let all_verified = |items: Option<&Vec<Value>>, nonempty: bool| {
        items.is_some_and(|xs| match xs.as_slice() {
            [] => !nonempty && verified(record, &Value::Null, now),
            xs => xs.iter().all(|x| verified(record, x, now)),
        })
    };
    if all_verified(citizenships, true)
        && all_verified(residencies, false)
        && protected.is_some_and(|p| !bool_of(p) && verified(record, p, now))
    {
        Class::ForeignNational
    } else {
        Class::Unknown
    }
}

/// An RFC 3339 time to the second.
fn rfc3339(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second()).unwrap().to_string()
}

/// The shipped directive moved in time so that `now` falls in its grace
/// period, whatever day the test runs.
fn directive_in_grace(now: Timestamp, grace_ends: Timestamp) -> String {
    let shipped =
        std::fs::read_to_string(root().join("directives/foreign-national-frontier.toml")).unwrap();
    let effective = now - SignedDuration::from_hours(7 * 24);
    let issued = effective - SignedDuration::from_hours(48);
    let text = shipped
        .replace(
            "effective = 2026-11-20T00:00:00Z",
            &format!("effective = {}", rfc3339(effective)),
        )
        .replace(
            "grace_until = 2026-12-04T00:00:00Z",
            &format!("grace_until = {}", rfc3339(grace_ends)),
        )
        .replace(
            "issued = 2026-11-18",
            &format!("issued = {}", &rfc3339(issued)[..10]),
        )
        .replace(
            "expires = 2027-11-20T00:00:00Z",
            &format!(
                "expires = {}",
                rfc3339(now + SignedDuration::from_hours(365 * 24))
            ),
        );
    assert_ne!(text, shipped, "the shipped directive's dates moved");
    text
}

/// The notify file as account → (change, models, deadline) rows of the directive.
fn notify_rows(path: &Path) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut rows: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "account",
            "change",
            "models",
            "action",
            "deadline",
            "directive",
            "remedy",
            "ways",
            "start",
            "shape",
            "limits"
        ]
    );
    for r in reader.records() {
        let r = r.unwrap();
        assert_eq!(&r[5], DIRECTIVE, "{r:?}");
        rows.entry(r[0].to_owned()).or_default().push((
            r[1].to_owned(),
            r[2].to_owned(),
            r[4].to_owned(),
        ));
    }
    rows
}

fn simulate(work: &Path, at: Option<Timestamp>, name: &str) -> (Value, Value) {
    let out = work.join(name);
    let notify = work.join(format!("{name}-notify.csv"));
    let mut args = vec![
        "simulate".to_owned(),
        "--directives".to_owned(),
        s(&work.join("proposed")).to_owned(),
        "--baseline".to_owned(),
        s(&work.join("baseline")).to_owned(),
        "--store".to_owned(),
        s(&work.join("identity.db")).to_owned(),
        "--out".to_owned(),
        s(&out).to_owned(),
        "--notify-out".to_owned(),
        s(&notify).to_owned(),
        "--format".to_owned(),
        "json".to_owned(),
    ];
    if let Some(at) = at {
        args.extend(["--at".to_owned(), rfc3339(at)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let printed = json(&cordon(&args));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(printed, written, "stdout and report.json differ");
    let rows = notify_rows(&notify);
    (written, serde_json::to_value(rows).unwrap())
}

fn group<'a>(report: &'a Value, dimension: &str, key: &str) -> &'a Value {
    report[dimension]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no {dimension} group {key}"))
}

#[test]
fn the_gateway_enforces_what_the_simulation_predicted() {
    let work = temp_dir("acceptance");
    let now = Timestamp::now();
    let grace_ends = now + SignedDuration::from_hours(7 * 24);

    // A generated identity store, and the same records to reason about.
    let store = work.join("identity.db");
    let records_file = work.join("accounts.jsonl");
    let count = "3000";
    ok(&cordon(&[
        "accounts",
        "generate",
        "--count",
        count,
        "--seed",
        "20261127",
        "--out",
        s(&records_file),
    ]));
    ok(&cordon(&[
        "accounts",
        "generate",
        "--count",
        count,
        "--seed",
        "20261127",
        "--store",
        s(&store),
    ]));
    let records: BTreeMap<String, Value> = std::fs::read_to_string(&records_file)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    let classes: BTreeMap<&str, Class> = records
        .iter()
        .map(|(id, r)| (id.as_str(), classify(r, now)))
        .collect();
    let census: BTreeMap<Class, usize> = classes.values().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(*c).or_default() += 1;
        m
    });
    for class in [Class::UsPerson, Class::ForeignNational, Class::Unknown] {
        assert!(
            census.get(&class).copied().unwrap_or(0) >= 5,
            "the generated store has too few {class:?} accounts: {census:?}"
        );
    }

    // Baseline: the restricted-party directive alone. Proposed: it and the new order.
    let repo = root();
    for dir in ["baseline", "proposed"] {
        std::fs::create_dir_all(work.join(dir)).unwrap();
        std::fs::copy(
            repo.join("directives/restricted-parties.toml"),
            work.join(dir).join("restricted-parties.toml"),
        )
        .unwrap();
    }
    std::fs::write(
        work.join("proposed/foreign-national-frontier.toml"),
        directive_in_grace(now, grace_ends),
    )
    .unwrap();

    // During the grace period.
    let (report, rows) = simulate(&work, None, "in-grace");
    assert_eq!(report["accounts"], records.len());
    let rows: BTreeMap<String, Vec<(String, String, String)>> =
        serde_json::from_value(rows).unwrap();
    let deadline = rfc3339(grace_ends);
    let restricted = RESTRICTED.join(";");
    for (id, class) in &classes {
        let got = rows.get(*id).cloned().unwrap_or_default();
        let want: Vec<(String, String, String)> = match class {
            Class::UsPerson => vec![],
            Class::ForeignNational => {
                vec![("lose_access".into(), restricted.clone(), String::new())]
            }
            Class::Unknown => vec![(
                "verification_required_after_grace".into(),
                restricted.clone(),
                deadline.clone(),
            )],
        };
        assert_eq!(got, want, "{id} ({class:?}): {}", records[*id]);
    }
    let n = |c: Class| census.get(&c).copied().unwrap_or(0);
    assert_eq!(
        report["accounts_by_transition"]["lose_access"],
        n(Class::ForeignNational)
    );
    assert_eq!(
        report["accounts_by_transition"]["verification_required_after_grace"],
        n(Class::Unknown)
    );
    assert_eq!(
        report["affected_accounts"],
        n(Class::ForeignNational) + n(Class::Unknown)
    );
    // Only the two models change.
    for m in ["fable-4", "lyric-4", "lyric-4-mini", "echo-embed-2"] {
        assert_eq!(group(&report, "by_model", m)["affected_accounts"], 0, "{m}");
    }
    for m in RESTRICTED {
        assert_eq!(
            group(&report, "by_model", m)["affected_accounts"],
            n(Class::ForeignNational) + n(Class::Unknown),
            "{m}"
        );
    }
    assert_eq!(
        group(&report, "by_organization", LICENSEE)["affected_accounts"],
        records
            .iter()
            .filter(|(id, r)| r["organization"]["name"] == LICENSEE
                && classes[id.as_str()] != Class::UsPerson)
            .count()
    );
    let grace = &report["grace_deadlines"][0];
    assert_eq!(grace["directive"], DIRECTIVE);
    assert_eq!(grace["accounts"], n(Class::Unknown));

    // After the grace period the unknown accounts must verify first.
    let after = grace_ends + SignedDuration::from_hours(24);
    let (late, late_rows) = simulate(&work, Some(after), "after-grace");
    let late_rows: BTreeMap<String, Vec<(String, String, String)>> =
        serde_json::from_value(late_rows).unwrap();
    for (id, class) in &classes {
        let changes: BTreeSet<&str> = late_rows
            .get(*id)
            .map(|rs| rs.iter().map(|r| r.0.as_str()).collect())
            .unwrap_or_default();
        let want: BTreeSet<&str> = match class {
            Class::UsPerson => BTreeSet::new(),
            Class::ForeignNational => ["lose_access"].into(),
            Class::Unknown => ["verification_required"].into(),
        };
        assert_eq!(changes, want, "{id} ({class:?}) after the grace period");
    }
    assert_eq!(
        late["accounts_by_transition"]["verification_required"],
        n(Class::Unknown)
    );

    // The gateway, on the proposed set, now: a sample of every class.
    let mut sample: Vec<&str> = Vec::new();
    for class in [Class::UsPerson, Class::ForeignNational, Class::Unknown] {
        sample.extend(
            classes
                .iter()
                .filter(|(_, c)| **c == class)
                .map(|(id, _)| *id)
                .take(6),
        );
    }
    let keys: Vec<(String, String)> = sample
        .iter()
        .map(|id| {
            let key = ok(&cordon(&[
                "accounts",
                "--store",
                s(&store),
                "keys",
                "create",
                id,
            ]))
            .trim()
            .to_owned();
            ((*id).to_owned(), key)
        })
        .collect();

    let gateway = Gateway::start(
        &work,
        &work.join("proposed"),
        &store,
        &work.join("data"),
        "",
    );
    let port = gateway.port;

    let models: Vec<String> = report["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    let mut compared = 0;
    for (id, key) in &keys {
        for model in &models {
            let predicted = rows
                .get(id)
                .and_then(|rs| {
                    rs.iter()
                        .find(|r| r.1.split(';').any(|m| m == model))
                        .map(|r| r.0.as_str())
                })
                .map_or("allow", |change| match change {
                    "lose_access" => "deny",
                    "verification_required" => "verification_required",
                    // Still allowed during the grace period, with a warning.
                    "verification_required_after_grace" => "allow",
                    other => panic!("unexpected change {other} for {id}"),
                });
            // The simulation decides chat requests; so does this.
            let body = format!(
                r#"{{"model": "{model}", "messages": [{{"role": "user", "content": "hello"}}]}}"#
            );
            let r = request(port, "POST", "/v1/chat/completions", key, &body).unwrap();
            let effect = r.header("x-cordon-effect").unwrap_or("(none)");
            let effect = if effect == "allow_with_obligations" {
                "allow"
            } else {
                effect
            };
            assert_eq!(
                effect,
                predicted,
                "{id} ({:?}) {model}: the gateway answered {} with effect {effect}, the simulation predicted {predicted}",
                classes[id.as_str()],
                r.status
            );
            let refused = predicted != "allow";
            assert_eq!(
                r.status >= 400,
                refused,
                "{id} {model}: status {}",
                r.status
            );
            compared += 1;
        }
    }
    assert_eq!(compared, keys.len() * models.len());
    drop(gateway);
    let _ = std::fs::remove_dir_all(&work);
}
