//! The access matrix by request shape.

use cordon_jurisdiction::CountryCode;
use cordon_policy::{Effect, Endpoint, Feature};
use cordon_simulate::Shape;
use cordon_simulate::matrix::ShapedMatrix;

use super::shapes::{AFTER_ORDER_GRACE, order};
use super::support::*;

fn models() -> Vec<String> {
    vec!["fable-5".into(), "fable-4".into()]
}

fn shapes() -> Vec<Shape> {
    vec![
        Shape::plain(),
        Shape::feature(Feature::Tools),
        Shape::endpoint(Endpoint::FineTuning),
    ]
}

fn matrix(files: &[(&str, &str)]) -> ShapedMatrix {
    ShapedMatrix::build(
        &policy(files),
        jurisdictions(),
        t(AFTER_ORDER_GRACE),
        &models(),
        &shapes(),
    )
}

#[test]
fn each_shape_is_decided_and_limits_are_kept() {
    let order = order();
    let m = matrix(&[("order.toml", &order)]);
    let cn = m
        .rows
        .iter()
        .find(|r| r.country == CountryCode::parse("CN").unwrap())
        .unwrap();
    // fable-5 is frontier: capped chat, no tools, no fine-tuning.
    assert_eq!(cn.cells[0][0].effect, Effect::AllowWithObligations);
    assert_eq!(cn.cells[0][0].limits.max_tokens, Some(2000));
    assert_eq!(cn.cells[1][0].effect, Effect::Deny);
    assert_eq!(cn.cells[2][0].effect, Effect::Deny);
    // fable-4 is out of scope.
    assert!(cn.cells.iter().all(|s| s[1].effect == Effect::Allow));

    let text = m.to_text();
    assert!(
        text.contains("shapes: chat, chat+tools, fine_tuning"),
        "{text}"
    );
    assert!(text.contains("\nshape chat+tools\n"), "{text}");
    assert!(text.contains("≤2000-tools"), "{text}");
    let csv = m.to_csv();
    assert!(
        csv.starts_with("shape,country,name,fable-5,fable-4\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(
            "chat,CN,China,allow_with_obligations (max_tokens 2000; tools removed),allow\r\n"
        ),
        "{csv}"
    );
    assert!(csv.contains("chat+tools,CN,China,deny,allow\r\n"), "{csv}");
}

#[test]
fn the_diff_shows_tool_and_fine_tuning_losses_and_cap_changes() {
    let order = order();
    let before = matrix(&[("sanctions.toml", SANCTIONS)]);
    let after = matrix(&[("sanctions.toml", SANCTIONS), ("order.toml", &order)]);
    let diff = before.diff(&after);
    let cn = |shape: &str| {
        diff.changes
            .iter()
            .filter(|c| c.country.as_str() == "CN" && c.shape.label() == shape)
            .map(|c| (c.model.as_str(), c.before.effect, c.after.effect))
            .collect::<Vec<_>>()
    };
    assert_eq!(cn("chat+tools"), [("fable-5", Effect::Allow, Effect::Deny)]);
    assert_eq!(
        cn("fine_tuning"),
        [("fable-5", Effect::Allow, Effect::Deny)]
    );
    assert_eq!(
        cn("chat"),
        [("fable-5", Effect::Allow, Effect::AllowWithObligations)]
    );
    // North Korea is refused by the sanctions already: no change there, and
    // the diff says which directive the order is masked by.
    assert!(diff.changes.iter().all(|c| c.country.as_str() != "KP"));
    let masked = diff
        .already_refused
        .iter()
        .find(|a| a.directive == "export-d5-frontier")
        .unwrap_or_else(|| panic!("{:?}", diff.already_refused));
    assert_eq!(masked.refused_by, "residence-sanctions");
    assert!(masked.cells >= 3, "{masked:?}");
    assert!(
        diff.to_text().contains(&format!(
            "`export-d5-frontier`: {} cell(s) unchanged because `residence-sanctions` already refuses",
            masked.cells
        )),
        "{}",
        diff.to_text()
    );

    // Only the cap changes: still a change.
    let looser = order.replace("max_tokens = 2000", "max_tokens = 4000");
    let capped = matrix(&[("order.toml", &looser)]).diff(&matrix(&[("order.toml", &order)]));
    assert!(!capped.changes.is_empty());
    assert!(
        capped
            .changes
            .iter()
            .all(|c| c.before.effect == c.after.effect && c.shape == Shape::plain())
    );
    let text = capped.to_text();
    assert!(
        text.contains(
            "allow_with_obligations (max_tokens 4000; tools removed) → allow_with_obligations (max_tokens 2000; tools removed)"
        ),
        "{text}"
    );
    assert!(
        capped
            .to_csv()
            .starts_with("country,model,shape,before,after,before_limits,after_limits\r\n")
    );
}
