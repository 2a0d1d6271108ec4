use super::*;

fn rows(text: &str, format: ImportFormat) -> Vec<Row> {
    let mut r = Rows::new(text.as_bytes(), format).unwrap();
    let mut out = Vec::new();
    while let Some(row) = r.next_row().unwrap() {
        out.push(row);
    }
    out
}

#[test]
fn csv_cells_become_subject_fields() {
    let text = "id,citizenships,permanent_residencies,residence_country,us_person,organization,organization_country,verification\n\
                a1,DE;FR,-,DE,false,Northwind Labs,US,document_verified\n\
                a2,,,,,,,\n";
    let r = rows(text, ImportFormat::Csv);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].line, 2);
    assert_eq!(r[0].id.as_deref(), Some("a1"));
    assert_eq!(
        r[0].subject.as_ref().unwrap(),
        &serde_json::json!({
            "citizenships": ["DE", "FR"],
            "permanent_residencies": [],
            "residence_country": "DE",
            "us_person": false,
            "organization": {"name": "Northwind Labs", "country": "US"},
            "verification": "document_verified",
        })
    );
    // Empty cells are unknown: the record has no field for them.
    assert_eq!(r[1].subject.as_ref().unwrap(), &serde_json::json!({}));
}

#[test]
fn csv_row_problems_name_the_column() {
    let text = "id,us_person,citizenships,organization_country\n\
                ,true,,\n\
                a,yes,,\n\
                b,,DE;;FR,\n\
                c,,,US\n\
                d,true\n";
    let r = rows(text, ImportFormat::Csv);
    let errs: Vec<(u64, String)> = r
        .into_iter()
        .map(|r| (r.line, r.subject.unwrap_err()))
        .collect();
    assert_eq!(errs[0].0, 2);
    assert!(errs[0].1.contains("`id` is empty"), "{}", errs[0].1);
    assert!(errs[1].1.contains("`us_person`") && errs[1].1.contains("`yes`"));
    assert!(errs[2].1.contains("`citizenships`") && errs[2].1.contains("entry 2"));
    assert!(errs[3].1.contains("`organization`"));
    assert_eq!(errs[4].0, 6);
    assert!(errs[4].1.contains("2 fields") && errs[4].1.contains("4 columns"));
}

#[test]
fn csv_headers_are_checked_before_any_row() {
    for (text, needle) in [
        ("", "empty"),
        ("citizenships\nDE\n", "no `id` column"),
        ("id,citizenship\na,DE\n", "`citizenship` is not known"),
        ("id,id\na,b\n", "appears twice"),
    ] {
        match Rows::new(text.as_bytes(), ImportFormat::Csv) {
            Err(StoreError::CsvHeader(m)) => assert!(m.contains(needle), "{text}: {m}"),
            Err(e) => panic!("{text}: {e}"),
            Ok(_) => panic!("{text}: accepted"),
        }
    }
    // A byte-order mark and spaces around names are tolerated.
    let r = rows("\u{feff}id , citizenships\na,DE\n", ImportFormat::Csv);
    assert_eq!(r[0].id.as_deref(), Some("a"));
}

#[test]
fn quoted_csv_cells_spanning_lines_keep_line_numbers_right() {
    let text = "id,organization\na,\"Two\nLines\"\nb,X\n";
    let r = rows(text, ImportFormat::Csv);
    assert_eq!((r[0].line, r[1].line), (2, 4));
}

#[test]
fn jsonl_lines_are_numbered_and_blank_lines_skipped() {
    let text = "{\"id\": \"a\", \"citizenships\": [\"DE\"], \"key_label\": \"x\"}\n\n{\"id\": 5}\n{oops\n[1]\n{\"citizenships\": []}\r\n";
    let r = rows(text, ImportFormat::Jsonl);
    assert_eq!(r.len(), 5);
    assert_eq!(r[0].line, 1);
    assert_eq!(
        r[0].subject.as_ref().unwrap(),
        &serde_json::json!({"citizenships": ["DE"]})
    );
    let errs: Vec<(u64, String)> = r[1..]
        .iter()
        .map(|r| (r.line, r.subject.clone().unwrap_err()))
        .collect();
    assert_eq!(errs[0].0, 3);
    assert!(errs[0].1.contains("`id`: expected a string"));
    assert_eq!(errs[1].0, 4);
    assert!(errs[1].1.starts_with("not valid JSON"));
    assert!(errs[2].1.contains("found an array"));
    assert_eq!(errs[3], (6, "missing field `id`".to_owned()));
}

#[test]
fn csv_provenance_and_kind_columns_pass_through() {
    let text = "id,kind,verified_at,expires,source,protected_individual,citizenships\n\
                org-1,organization,2026-01-02T00:00:00Z,2027-01-02T00:00:00Z,registry,FALSE,-\n";
    let r = rows(text, ImportFormat::Csv);
    assert_eq!(
        r[0].subject.as_ref().unwrap(),
        &serde_json::json!({
            "kind": "organization",
            "verified_at": "2026-01-02T00:00:00Z",
            "expires": "2027-01-02T00:00:00Z",
            "source": "registry",
            "protected_individual": false,
            "citizenships": [],
        })
    );
}
