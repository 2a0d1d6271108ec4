//! Snapshots of every text format the policy core emits.

use cordon_jurisdiction::CountryCode;
use cordon_policy::Matrix;

use super::support::*;

fn redact(mut v: serde_json::Value) -> serde_json::Value {
    v["policy_version"] = "[policy version]".into();
    v
}

#[test]
fn decision_json_for_a_denied_foreign_national() {
    let p = shipped();
    let e = ask(&p, "Fable-5")
        .from("DE")
        .explain(&subject(VERIFIED_GERMAN));
    insta::assert_json_snapshot!(redact(serde_json::to_value(&e).unwrap()));
}

#[test]
fn decision_json_for_verification_required() {
    let p = shipped();
    let e = ask(&p, "mythos").explain(&subject(SELF_DECLARED_GERMAN));
    insta::assert_json_snapshot!(redact(serde_json::to_value(&e).unwrap()));
}

#[test]
fn decision_text_for_a_request_from_crimea() {
    let p = shipped();
    let e = ask(&p, "lyric-4")
        .region("UA-43")
        .explain(&subject(US_CITIZEN));
    insta::assert_snapshot!(e.to_text().replace(p.version(), "[policy version]"));
}

#[test]
fn matrix_csv_and_text() {
    let p = shipped();
    let m = Matrix::build(&p, jurisdictions(), t(AFTER_GRACE));
    assert_eq!(m.rows.len(), 249);
    let us = m
        .rows
        .iter()
        .find(|r| r.country == CountryCode::US)
        .unwrap();
    assert!(
        us.effects
            .iter()
            .all(|e| *e == cordon_policy::Effect::Allow)
    );
    insta::assert_snapshot!("matrix_csv", m.to_csv());
    insta::assert_snapshot!(
        "matrix_text",
        m.to_text().replace(p.version(), "[policy version]")
    );
}

#[test]
fn matrix_diff_of_the_partial_order_against_the_full_one() {
    let full = shipped();
    let partial = shipped_with(|name, text| match name {
        "foreign-national-frontier-partial.toml" => {
            text.replace("mode = \"draft\"", "mode = \"enforced\"")
        }
        "foreign-national-frontier.toml" => {
            text.replace("mode = \"enforced\"", "mode = \"retired\"")
        }
        _ => text,
    });
    let at = t(AFTER_GRACE);
    let diff = Matrix::build(&full, jurisdictions(), at).diff(&Matrix::build(
        &partial,
        jurisdictions(),
        at,
    ));
    // Every country but the United States, its five inhabited territories
    // (U.S. nationals) and the three sanctioned moves from deny to
    // obligations on the two frontier models.
    assert_eq!(diff.changes.len(), (249 - 1 - 5 - 3) * 2);
    assert!(
        diff.changes
            .iter()
            .all(|c| c.before == cordon_policy::Effect::Deny
                && c.after == cordon_policy::Effect::AllowWithObligations)
    );
    insta::assert_snapshot!(diff.to_csv().lines().take(8).collect::<Vec<_>>().join("\n"));
}
