//! `cordon directives status`: the lifecycle of the shipped set.

use super::*;

#[test]
fn status_shows_each_standing_and_the_next_change() {
    let text = ok(&cordon(&[
        "directives",
        "status",
        "--at",
        "2026-11-19T12:00:00Z",
    ]));
    insta::assert_snapshot!("directives_status_before_the_order", text);

    let v = json(&cordon(&[
        "directives",
        "status",
        "--at",
        "2026-11-25T00:00:00Z",
        "--format",
        "json",
    ]));
    let frontier = v["directives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "foreign-national-frontier-2026")
        .unwrap();
    assert_eq!(frontier["standing"], "grace");
    assert_eq!(frontier["next"]["change"], "grace_ends");
    assert_eq!(frontier["next"]["at"], "2026-12-04T00:00:00Z");
}

#[test]
fn status_names_a_bad_time() {
    let o = cordon(&["directives", "status", "--at", "tomorrow"]);
    expect_code(&o, 1);
    assert!(stderr(&o).contains("--at `tomorrow`"), "{}", stderr(&o));
}
