//! `cordon licences`: recording, listing, approving and revoking licences
//! from the command line, the flags a bad licence is refused for, and what
//! `accounts show` and `decide --account` make of a licence.

use std::path::{Path, PathBuf};

use cordon_store::{LicenceSource, SqliteStore};
use cordon_subject::Licence;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::{cordon, expect_code, json, ok, s, stderr, stdout, temp_dir};

const ORDER: &str = "foreign-national-frontier-2026";

/// Acme Labs, incorporated in Germany, and three verified German
/// nationals: two of its people and one of another company, each screened
/// by the KYC vendor with no hit.
fn accounts() -> [(&'static str, Value); 4] {
    let person = |org: &str| {
        json!({"verification": "document_verified", "citizenships": ["DE"], "screening": [],
               "permanent_residencies": [], "protected_individual": false,
               "residence_country": "DE",
               "organization": {"name": org, "verification": "attested"}})
    };
    [
        (
            "acme",
            json!({"kind": "organization", "name": "Acme Labs", "verification": "attested",
                   "organization": {"name": "Acme Labs", "country": "DE"}}),
        ),
        ("acme-ana", person("Acme Labs")),
        ("acme-bo", person("Acme Labs")),
        ("other-cy", person("Other Corp")),
    ]
}

/// A store with the accounts, made through the command line.
fn store(dir: &Path) -> PathBuf {
    let path = dir.join("identity.db");
    for (id, subject) in accounts() {
        ok(&cordon(&[
            "accounts",
            "--store",
            s(&path),
            "add",
            id,
            "--subject",
            &subject.to_string(),
        ]));
    }
    path
}

/// `cordon licences --store STORE ARGS`.
fn licences(store: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["licences", "--store", s(store)];
    all.extend_from_slice(args);
    cordon(&all)
}

/// Flags that take one value; the others may be given again.
const SINGLE: [&str; 7] = [
    "--number",
    "--authority",
    "--holder",
    "--issued",
    "--expires",
    "--conditions",
    "--directives",
];

/// The flags of a good licence `number` for `acme-ana`, checked against
/// the shipped set, with `changes`: a one-value flag given there replaces
/// its value, any other is given once more.
fn add_args<'a>(number: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<&'a str> {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("--number", number),
        ("--authority", "BIS"),
        ("--directive", ORDER),
        ("--holder", "acme"),
        ("--individual", "acme-ana"),
        ("--exclude-nationality", "cn"),
        ("--model", "Fable-5"),
        ("--issued", "2026-11-01T00:00:00Z"),
        ("--expires", "2030-01-01T00:00:00Z"),
        ("--directives", "directives"),
        ("--actor", "officer-1"),
    ];
    for (flag, value) in changes {
        match pairs
            .iter_mut()
            .find(|(f, _)| f == flag && SINGLE.contains(flag))
        {
            Some(p) => p.1 = value,
            None => pairs.push((flag, value)),
        }
    }
    let mut v = vec!["add"];
    for (f, value) in pairs {
        v.push(f);
        v.push(value);
    }
    v
}

#[test]
fn add_list_show_and_revoke() {
    let dir = temp_dir("licences");
    let db = store(&dir);
    let added = ok(&licences(&db, &add_args("D1234567", &[])));
    assert!(
        added.contains("recorded licence `D1234567` of `acme`: active"),
        "{added}"
    );
    let listed = json(&licences(&db, &["list", "--format", "json"]));
    let all = listed.as_array().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["status"], "active");
    assert_eq!(all[0]["source_kind"], "staff");
    assert_eq!(all[0]["actor"], "officer-1");
    assert_eq!(all[0]["models"], json!(["fable-5"]), "stored by id");
    assert_eq!(all[0]["excluded_nationalities"], json!(["CN"]));
    let text = ok(&licences(&db, &["list"]));
    assert!(
        text.contains("D1234567") && text.contains("1 licence(s)"),
        "{text}"
    );

    // What decisions see: the named individual holds it, a colleague not.
    let shown = ok(&cordon(&[
        "accounts",
        "--store",
        s(&db),
        "show",
        "acme-ana",
    ]));
    assert!(shown.contains("named individual of `acme`"), "{shown}");
    let shown = json(&cordon(&[
        "accounts",
        "--store",
        s(&db),
        "show",
        "acme-bo",
        "--format",
        "json",
    ]));
    assert!(shown.get("licences").is_none(), "{shown}");
    let decide = |account: &str| {
        json(&cordon(&[
            "decide",
            "--store",
            s(&db),
            "--account",
            account,
            "--model",
            "fable-5",
            "--country",
            "DE",
            "--at",
            "2026-12-10T00:00:00Z",
            "--format",
            "json",
        ]))
    };
    let ana = decide("acme-ana");
    assert_eq!(ana["effect"], "allow");
    let reason = ana["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == ORDER)
        .unwrap();
    assert_eq!(reason["exemption"]["licence"], "D1234567");
    assert_eq!(reason["exemption"]["basis"], "named_individual");
    assert_eq!(decide("acme-bo")["effect"], "deny");

    // Approving an active licence is not a change it allows.
    let o = licences(&db, &["approve", "D1234567"]);
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains("is active, so it cannot be approved"),
        "{}",
        stderr(&o)
    );

    let revoked = ok(&licences(
        &db,
        &["revoke", "D1234567", "--actor", "officer-2"],
    ));
    assert!(revoked.contains("revoked licence `D1234567`"), "{revoked}");
    let shown = ok(&licences(&db, &["show", "D1234567"]));
    assert!(shown.contains("status       revoked (staff)"), "{shown}");
    assert!(shown.contains("by officer-2"), "{shown}");
    assert_eq!(decide("acme-ana")["effect"], "deny");
    let o = licences(&db, &["revoke", "D1234567"]);
    expect_code(&o, 2);
    let o = licences(&db, &["show", "D0"]);
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains("no licence has the number `D0`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_flags_are_named_with_their_value_exit_2_and_write_nothing() {
    let dir = temp_dir("licences-bad");
    let db = store(&dir);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            add_args("D1", &[("--individual", "ghost")]),
            "--individual `ghost`: no account `ghost`",
        ),
        (
            add_args("D1", &[("--individual", "other-cy")]),
            "--individual `other-cy`: account `other-cy` is not a member of `acme`",
        ),
        (
            add_args("D1", &[("--model", "fable-9")]),
            "--model `fable-9`: the catalog has no such model",
        ),
        (
            add_args("D1", &[("--directive", "no-such-order")]),
            "--directive `no-such-order`: the directive set `directives` has no such directive",
        ),
        (
            add_args("D1", &[("--directive", "Bad Id")]),
            "--directive `Bad Id`: `Bad Id` is not a directive id",
        ),
        (
            add_args("D1", &[("--exclude-nationality", "XZ")]),
            "--exclude-nationality `XZ`",
        ),
        (
            add_args("D1", &[("--exclude-nationality", "CN")]),
            "--exclude-nationality `CN`: `CN` is listed twice",
        ),
        (add_args("D 1", &[]), "--number `D 1`"),
        (
            add_args("D1", &[("--expires", "2027-13-01")]),
            "--expires `2027-13-01`",
        ),
        (
            add_args("D1", &[("--expires", "2026-10-01T00:00:00Z")]),
            "--expires `2026-10-01T00:00:00Z`: `2026-10-01T00:00:00Z` is not after",
        ),
        (
            add_args(
                "D1",
                &[
                    ("--issued", "2020-01-01T00:00:00Z"),
                    ("--expires", "2021-01-01T00:00:00Z"),
                ],
            ),
            "--expires `2021-01-01T00:00:00Z`: `2021-01-01T00:00:00Z` is in the past",
        ),
        (
            add_args("D1", &[("--holder", "acme-bo")]),
            "--holder `acme-bo`: account `acme-bo` is not an organisation",
        ),
        (
            add_args("D1", &[("--holder", "nobody")]),
            "--holder `nobody`: no account `nobody`",
        ),
        (
            add_args("D1", &[("--individual", "acme")]),
            "--individual `acme`: `acme` is the holder",
        ),
    ];
    for (args, needle) in cases {
        let o = licences(&db, &args);
        expect_code(&o, 2);
        assert!(stderr(&o).contains(needle), "{args:?}\n{}", stderr(&o));
    }
    let listed = json(&licences(&db, &["list", "--format", "json"]));
    assert_eq!(listed, json!([]), "nothing half-written");
    ok(&licences(&db, &add_args("D1", &[])));
    let o = licences(&db, &add_args("D1", &[]));
    expect_code(&o, 2);
    assert!(
        stderr(&o).contains("--number `D1`: licence `D1` is already recorded"),
        "{}",
        stderr(&o)
    );
    let o = cordon(&["licences", "--store", s(&dir.join("none.db")), "list"]);
    expect_code(&o, 2);
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    assert!(
        !dir.join("none.db").exists(),
        "no store is created by a refusal"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const T0: &str = "2026-12-01T10:00:00Z";

/// A store whose clock stands at `T0`, with one licence in each status.
fn fixed(dir: &Path) -> PathBuf {
    let path = dir.join("identity.db");
    let t0: Timestamp = T0.parse().unwrap();
    let store = SqliteStore::open(&path)
        .unwrap()
        .with_clock(move || t0)
        .with_actor("officer-1");
    for (id, subject) in accounts() {
        store.add_account(id, subject).unwrap();
    }
    let j = cordon_jurisdiction::Jurisdictions::embedded().unwrap();
    let licence = |edit: &dyn Fn(&mut Value)| {
        let mut v = json!({
            "number": "D1234567", "authority": "BIS", "directives": [ORDER],
            "holder": "acme", "individuals": ["acme-ana", "acme-bo"],
            "excluded_nationalities": ["CN", "RU"], "models": ["fable-5"],
            "conditions": "No re-export.\nReport use quarterly.",
            "issued": "2026-11-01T00:00:00Z", "expires": "2027-11-01T00:00:00Z"
        });
        edit(&mut v);
        Licence::from_value(&v, j, None).unwrap()
    };
    store
        .record_licence(&licence(&|_| {}), LicenceSource::Staff)
        .unwrap();
    store
        .record_licence(
            &licence(&|v| {
                v["number"] = json!("P-2026-7");
                v["individuals"] = json!([]);
                v["models"] = json!([]);
                v["excluded_nationalities"] = json!([]);
                v.as_object_mut().unwrap().remove("conditions");
            }),
            LicenceSource::OrgSubmission,
        )
        .unwrap();
    store
        .record_licence(
            &licence(&|v| {
                v["number"] = json!("R-1");
                v["authority"] = json!("=Example authority");
            }),
            LicenceSource::Staff,
        )
        .unwrap();
    store.revoke_licence("R-1").unwrap();
    path
}

#[test]
fn licence_list_and_show_outputs() {
    let dir = temp_dir("licences-snap");
    let db = fixed(&dir);
    insta::assert_snapshot!("licences_list_text", ok(&licences(&db, &["list"])));
    insta::assert_snapshot!(
        "licences_list_csv",
        ok(&licences(&db, &["list", "--format", "csv"]))
    );
    insta::assert_json_snapshot!(
        "licences_list_json",
        json(&licences(&db, &["list", "--format", "json"]))
    );
    insta::assert_snapshot!(
        "licences_show_text",
        ok(&licences(&db, &["show", "D1234567"]))
    );
    insta::assert_snapshot!(
        "licences_show_revoked_text",
        ok(&licences(&db, &["show", "R-1"]))
    );
    let shown = ok(&cordon(&["accounts", "--store", s(&db), "show", "acme-bo"]));
    let section: String = shown
        .lines()
        .skip_while(|l| !l.starts_with("licences"))
        .take_while(|l| !l.starts_with("evidence"))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!("accounts_show_licences_section", section);
    let o = licences(&db, &["show", "D1234567", "--format", "csv"]);
    expect_code(&o, 2);
    assert!(stdout(&o).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn directives_status_lists_the_licences_that_lift_each_directive_with_their_expiry() {
    let dir = temp_dir("licences-status");
    let db = store(&dir);
    ok(&licences(&db, &add_args("D1234567", &[])));
    let status = |at: &str, format: &str| {
        cordon(&[
            "directives",
            "status",
            "--store",
            s(&db),
            "--at",
            at,
            "--format",
            format,
        ])
    };
    let v = json(&status("2026-12-10T00:00:00Z", "json"));
    let order = v["directives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == ORDER)
        .unwrap();
    assert_eq!(
        order["licences"],
        json!([{"licence": "D1234567", "holder": "acme", "source": "store",
                "standing": "active", "expires": "2030-01-01T00:00:00Z"}])
    );
    let text = ok(&status("2030-01-02T00:00:00Z", "text"));
    let line = text
        .lines()
        .find(|l| l.contains("D1234567"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with(ORDER)
            && line.contains("expired")
            && line.ends_with("2030-01-01T00:00:00Z"),
        "{line}"
    );
    // Without --store only the files' own exemptions are listed.
    let v = json(&cordon(&["directives", "status", "--format", "json"]));
    assert!(
        v["directives"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["licences"] == json!([])),
        "{v}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
