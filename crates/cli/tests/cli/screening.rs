//! `cordon lists` and `cordon screen` against the real list files in `data/sanctions`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

use super::{cordon_in, ok, temp_dir};

const LISTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sanctions");

fn store(dir: &Path) -> String {
    dir.join("data/identity.db").display().to_string()
}

#[test]
fn hits_are_reviewed_and_a_changed_entry_is_reviewed_again() {
    let dir = temp_dir("review");
    let db = store(&dir);
    ok(&cordon_in(
        &dir,
        &[
            "accounts",
            "--store",
            &db,
            "add",
            "rk",
            "--subject",
            r#"{"kind":"individual","name":"Radovan Karadžić"}"#,
        ],
    ));
    ok(&cordon_in(
        &dir,
        &[
            "accounts",
            "--store",
            &db,
            "add",
            "plain",
            "--subject",
            r#"{"name":"Maria Jones"}"#,
        ],
    ));
    ok(&cordon_in(
        &dir,
        &[
            "accounts",
            "--store",
            &db,
            "add",
            "yp",
            "--subject",
            r#"{"name":"Yevgeniy Prigozhin"}"#,
        ],
    ));

    let out = ok(&cordon_in(
        &dir,
        &["lists", "--store", &db, "import", LISTS],
    ));
    assert!(out.contains("SDN 13827"), "{out}");
    assert!(out.contains("re-screened 3 accounts"), "{out}");
    assert!(out.contains("new      rk") && out.contains("7705"), "{out}");
    assert!(
        !out.contains("plain"),
        "an ordinary name must not hit: {out}"
    );

    let hits = ok(&cordon_in(
        &dir,
        &["lists", "--store", &db, "hits", "rk", "--format", "json"],
    ));
    let hits: serde_json::Value = serde_json::from_str(&hits).unwrap();
    assert_eq!(hits[0]["uid"], "7705");
    assert_eq!(hits[0]["status"], "pending");

    // The subject record carries the hit, so directives see it.
    let show = ok(&cordon_in(
        &dir,
        &["accounts", "--store", &db, "show", "rk", "--format", "json"],
    ));
    assert!(
        show.contains("\"screening\"") && show.contains("pending"),
        "{show}"
    );

    ok(&cordon_in(
        &dir,
        &[
            "lists",
            "--store",
            &db,
            "review",
            "rk",
            "--list",
            "SDN",
            "--entry",
            "7705",
            "--decision",
            "cleared",
            "--reviewer",
            "analyst@example.com",
            "--note",
            "different person",
        ],
    ));
    ok(&cordon_in(
        &dir,
        &[
            "lists",
            "--store",
            &db,
            "review",
            "yp",
            "--list",
            "SDN",
            "--entry",
            "21171",
            "--decision",
            "cleared",
            "--reviewer",
            "analyst@example.com",
        ],
    ));
    // Re-importing the same content keeps the disposition.
    let out = ok(&cordon_in(
        &dir,
        &["lists", "--store", &db, "import", LISTS],
    ));
    assert!(out.contains("unchanged"), "{out}");
    let hits = ok(&cordon_in(
        &dir,
        &["lists", "--store", &db, "hits", "rk", "--format", "json"],
    ));
    assert!(hits.contains("\"cleared\""), "{hits}");

    // The 2024 vintage carries no alias or address files. Entry 7705 has no
    // aliases and an empty address, so it is unchanged and stays cleared; entry
    // 21171 lost its aliases, so its cleared hit goes back to review.
    let newer = format!("{LISTS}/ofac_sdn_2024-05-03/sdn.csv");
    let import_newer = |extra: &[&str]| {
        let mut args = vec![
            "lists",
            "--store",
            &db,
            "import",
            "--published",
            "2024-05-03",
        ];
        args.extend_from_slice(extra);
        args.push(&newer);
        cordon_in(&dir, &args)
    };
    // One list file alone would drop the active snapshot's other lists:
    // refused, naming them, and nothing changes.
    let refused = import_newer(&[]);
    assert!(!refused.status.success());
    let why = super::stderr(&refused);
    assert!(
        why.contains("would drop") && why.contains("EL (") && why.contains("--replace"),
        "{why}"
    );
    let show = ok(&cordon_in(&dir, &["lists", "--store", &db, "show"]));
    assert!(!show.contains("2024-05-03"), "{show}");
    // With --replace it goes ahead, and says what it drops.
    let replaced = import_newer(&["--replace"]);
    let out = ok(&replaced);
    assert!(super::stderr(&replaced).contains("dropping"), "{out}");
    assert!(out.contains("SDN 14965"), "{out}");
    assert!(
        out.contains("status   yp")
            && out.contains("Cleared -> Pending")
            && out.contains("review again"),
        "{out}"
    );
    assert!(!out.contains("status   rk"), "{out}");
    let hits = ok(&cordon_in(
        &dir,
        &["lists", "--store", &db, "hits", "rk", "--format", "json"],
    ));
    assert!(hits.contains("\"cleared\""), "{hits}");
    let show = ok(&cordon_in(
        &dir,
        &["lists", "--store", &db, "show", "--history"],
    ));
    assert!(
        show.contains("published 2024-05-03") && show.contains("(active)"),
        "{show}"
    );
}

#[test]
fn screen_explains_a_hit_and_keeps_digits() {
    let dir = temp_dir("screen");
    let out = ok(&cordon_in(
        &dir,
        &[
            "screen",
            "--lists",
            LISTS,
            "KARADZIC Radovan",
            "--type",
            "person",
            "--format",
            "json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let hit = &v["hits"][0];
    assert_eq!(hit["list"], "SDN");
    assert_eq!(hit["uid"], "7705");
    assert_eq!(hit["name"], "KARADZIC, Radovan");
    assert!(hit["score"].as_f64().unwrap() > 0.95);
    assert!(!hit["explanation"]["tokens"].as_array().unwrap().is_empty());

    let out = ok(&cordon_in(
        &dir,
        &[
            "screen",
            "--lists",
            LISTS,
            "BELLETECH CORP",
            "--format",
            "json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hits"], serde_json::json!([]), "{out}");
}

#[test]
fn batch_writes_one_line_per_row_in_order_and_names_bad_rows() {
    let dir = temp_dir("batch");
    let input = dir.join("names.jsonl");
    std::fs::write(
        &input,
        "{\"name\":\"Radovan Karadzic\",\"type\":\"person\"}\n{\"nom\":\"x\"}\n{\"name\":\"John Smith\"}\nnot json\n",
    )
    .unwrap();
    let o = cordon_in(
        &dir,
        &[
            "screen",
            "--lists",
            LISTS,
            "--batch",
            input.to_str().unwrap(),
        ],
    );
    let out = ok(&o);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["hits"][0]["uid"], "7705");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains(":2: field `name`")
    );
    assert_eq!(lines[2]["query"], "John Smith");
    assert!(lines[3]["error"].as_str().unwrap().contains(":4: not JSON"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("screened 4 rows (2 unreadable)"), "{err}");

    let csv = dir.join("names.csv");
    std::fs::write(
        &csv,
        "id,name,country\n1,Prigozhin Yevgeniy Viktorovich,RU\n2,,\n",
    )
    .unwrap();
    let out = ok(&cordon_in(
        &dir,
        &["screen", "--lists", LISTS, "--batch", csv.to_str().unwrap()],
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("PRIGOZHIN"), "{out}");
    assert!(lines[1].contains("names.csv:3: field `name`"), "{out}");
}

/// Serves the files of `dir` over HTTP/1.1 until the listener is dropped with the process.
fn serve_dir(dir: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
            let file = path.trim_start_matches("/lists/");
            let body = std::fs::read(format!("{dir}/{file}")).ok();
            let (status, body) = match body {
                Some(b) => ("200 OK", b),
                None => ("404 Not Found", b"not found".to_vec()),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
        }
    });
    format!("http://{addr}/lists")
}

#[test]
fn update_downloads_from_the_configured_addresses_and_imports() {
    let dir = temp_dir("update");
    let db = store(&dir);
    let base = serve_dir(LISTS);
    let out = cordon_in(
        &dir,
        &[
            "lists",
            "--store",
            &db,
            "update",
            "--base",
            &base,
            "--published",
            "2023-12-28",
        ],
    );
    let text = ok(&out);
    // The default sources are the OFAC files and the CSL (which carries the DPL).
    assert!(text.contains("SDN 13822"), "{text}");
    let downloads = dir.join("data/lists");
    let stamp = std::fs::read_dir(&downloads)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(stamp.join("sdn.csv").is_file() && stamp.join("consolidated.csv").is_file());
    assert_eq!(
        std::fs::read(stamp.join("sdn.csv")).unwrap(),
        std::fs::read(format!("{LISTS}/sdn.csv")).unwrap()
    );

    // A malformed override is refused before anything is fetched.
    let out = cordon_in(
        &dir,
        &["lists", "--store", &db, "update", "--source", "sdn.csv"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FILE=URL"));
    // A missing file on the server fails the update and names the address.
    let out = cordon_in(
        &dir,
        &[
            "lists",
            "--store",
            &db,
            "update",
            "--source",
            &format!("sdn.csv={base}/missing.csv"),
            "--base",
            &base,
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.csv") && err.contains("404"), "{err}");
}

#[test]
fn the_hit_json_format_is_stable() {
    let dir = temp_dir("snapshot");
    let out = ok(&cordon_in(
        &dir,
        &[
            "screen",
            "--lists",
            LISTS,
            "JSC ARGUMENT",
            "--type",
            "org",
            "--format",
            "json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    insta::assert_json_snapshot!("screen_json_jsc_argument", v);
}

#[test]
fn an_organisation_half_owned_by_a_listed_bank_is_treated_as_listed() {
    let dir = temp_dir("ownership");
    let db = store(&dir);
    let owned = r#"{"kind":"organization","organization":{"name":"Northwind Leasing GmbH","owners":[
        {"name":"Bank Rossiya","percent":30},
        {"name":"Northwind Holdings","percent":25,"account":"northwind-holdings"},
        {"name":"Jane Doe","percent":45,"kind":"individual"}]}}"#;
    let holding = r#"{"kind":"organization","organization":{"name":"Northwind Holdings","owners":[
        {"name":"JSC Argument","percent":60}]}}"#;
    let minority = r#"{"kind":"organization","organization":{"name":"Southwind Trading Ltd","owners":[
        {"name":"Bank Rossiya","percent":49}]}}"#;
    for (id, subject) in [
        ("northwind-leasing", owned),
        ("northwind-holdings", holding),
        ("southwind", minority),
    ] {
        ok(&cordon_in(
            &dir,
            &["accounts", "--store", &db, "add", id, "--subject", subject],
        ));
    }
    ok(&cordon_in(
        &dir,
        &["lists", "--store", &db, "import", LISTS],
    ));

    let hits = |id: &str| -> serde_json::Value {
        let out = ok(&cordon_in(
            &dir,
            &["lists", "--store", &db, "hits", id, "--format", "json"],
        ));
        serde_json::from_str(&out).unwrap()
    };
    let derived = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|h| h["uid"] == "ownership")
            .cloned()
            .collect()
    };
    // 60 % by JSC ARGUMENT (SDN 37447) makes the holding listed; 30 % directly by
    // BANK ROSSIYA (SDN 16681) plus 25 % through the holding reach 55 %.
    assert_eq!(derived(&hits("northwind-holdings")).len(), 1);
    let leasing = derived(&hits("northwind-leasing"));
    assert_eq!(leasing.len(), 1, "{leasing:?}");
    assert_eq!(leasing[0]["list"], "SDN");
    assert_eq!(leasing[0]["status"], "pending");
    let chain = leasing[0]["ownership"].to_string();
    assert!(
        chain.contains("16681") && chain.contains("northwind-holdings"),
        "{chain}"
    );
    // 49 % is not enough.
    assert!(derived(&hits("southwind")).is_empty());
    let show = ok(&cordon_in(
        &dir,
        &[
            "accounts",
            "--store",
            &db,
            "show",
            "northwind-leasing",
            "--format",
            "json",
        ],
    ));
    assert!(show.contains("ownership 55%"), "{show}");
}
