//! Request shapes, limits, grace periods that apply rules to unknowns, and
//! refusals another directive already makes: an order about tools and
//! fine-tuning of frontier models for EAR D:5 countries, with a chat cap.

use cordon_policy::{Effect, Endpoint, Feature};
use cordon_simulate::{
    AccountImpact, Shape, Simulation, Tally, Transition, notify_csv, notify_rows, report,
};

use super::support::*;

/// From 2027-01-15 no fine-tuning or tool use of frontier models for D:5
/// residents, organisations incorporated there, or connections from there;
/// chat capped at 2,000 output tokens; an unverified residence is treated as
/// D:5 until 2027-02-15 and must be verified after. Named to sort before
/// `residence-sanctions`, so it is the proposed set's decider where both refuse.
const ORDER: &str = r#"
id = "export-d5-frontier"
title = "D:5 frontier limits"
authority = "Test authority"
citation = "Test order"
issued = 2026-12-01
effective = 2027-01-15T00:00:00Z
grace_until = 2027-02-15T00:00:00Z
mode = "enforced"
min_verification = "document_verified"
message = "Not available."
remedy = "https://cordon.example/d5"

[scope]
tags = ["frontier"]

[unknown]
effect = "verification_required"
during_grace = "apply"

[[rule]]
id = "no-tools-or-fine-tuning"
when = 'D5 and (request.features in [tools, fine_tuning] or request.endpoint == fine_tuning)'
effect = "deny"

[[rule]]
id = "chat-cap"
when = 'D5'
effect = "allow_with_obligations"
obligations = { max_tokens = 2000, remove_features = ["tools"] }
"#;

const D5: &str = r#"(subject.residence_country in group("EAR:D:5") or (subject.kind == organization and subject.organization.country in group("EAR:D:5")) or request.country in group("EAR:D:5"))"#;

const IN_ORDER_GRACE: &str = "2027-01-20T00:00:00Z";
pub const AFTER_ORDER_GRACE: &str = "2027-02-20T00:00:00Z";

/// A verified resident and citizen of China.
const CN: &str = r#"{"verification": "document_verified", "citizenships": ["CN"],
    "permanent_residencies": [], "protected_individual": false, "residence_country": "CN"}"#;
/// A verified resident of North Korea, refused by the sanctions of both sets.
const KP: &str = r#"{"verification": "document_verified", "citizenships": ["KP"],
    "permanent_residencies": [], "protected_individual": false, "residence_country": "KP"}"#;

pub fn order() -> String {
    ORDER.replace("D5", D5)
}

fn order_sim(at: &str, shapes: Vec<Shape>) -> Simulation {
    let order = order();
    let proposed = policy(&[("sanctions.toml", SANCTIONS), ("order.toml", &order)]);
    Simulation::new(baseline(), proposed, t(at))
        .unwrap()
        .with_shapes(shapes)
}

fn tools_and_fine_tuning() -> Vec<Shape> {
    vec![
        Shape::plain(),
        Shape::feature(Feature::Tools),
        Shape::endpoint(Endpoint::FineTuning),
    ]
}

fn decide(sim: &Simulation, json: &str) -> (Option<AccountImpact>, Tally) {
    let mut tally = Tally::default();
    let impact = sim.account("acct", &subject(json), &mut tally);
    (impact, tally)
}

fn cells<'a>(impact: &'a AccountImpact, shape: &str) -> Vec<(&'a str, Transition)> {
    impact
        .cells
        .iter()
        .filter(|c| &*c.shape == shape)
        .map(|c| (&*c.model, c.transition))
        .collect()
}

#[test]
fn a_plain_chat_request_hides_an_order_about_tools_that_a_tools_shape_shows() {
    let plain = order_sim(AFTER_ORDER_GRACE, vec![]);
    let (impact, tally) = decide(&plain, CN);
    let impact = impact.unwrap();
    assert!(
        impact
            .cells
            .iter()
            .all(|c| c.transition == Transition::ObligationsChanged),
        "{impact:?}"
    );
    let r = report(&plain, tally, None, Default::default());
    assert_eq!(r.shapes, ["chat"]);
    assert_eq!(r.totals.lose_access, 0);

    let shaped = order_sim(AFTER_ORDER_GRACE, tools_and_fine_tuning());
    let (impact, tally) = decide(&shaped, CN);
    let impact = impact.unwrap();
    let lost = vec![
        ("fable-5", Transition::LoseAccess),
        ("mythos-5", Transition::LoseAccess),
    ];
    assert_eq!(cells(&impact, "chat+tools"), lost);
    assert_eq!(cells(&impact, "fine_tuning"), lost);
    assert_eq!(
        cells(&impact, "chat"),
        [
            ("fable-5", Transition::ObligationsChanged),
            ("mythos-5", Transition::ObligationsChanged)
        ]
    );

    let r = report(&shaped, tally, None, Default::default());
    assert_eq!(r.shapes, ["chat", "chat+tools", "fine_tuning"]);
    assert_eq!(r.cells, 4 * 3, "one account, four models, three shapes");
    assert_eq!(r.totals.lose_access, 4);
    assert_eq!(r.accounts_by_transition.lose_access, 1);
    let tools = r.by_shape.iter().find(|g| g.key == "chat+tools").unwrap();
    assert_eq!((tools.accounts, tools.affected_accounts), (1, 1));
    assert_eq!(tools.cells.lose_access, 2);
    assert_eq!(tools.cells.unchanged, 2, "the two models out of scope");
    let fable = r.by_model.iter().find(|g| g.key == "fable-5").unwrap();
    assert_eq!(
        fable.accounts, 1,
        "a model counts an account once over its shapes"
    );
    assert_eq!(fable.cells.lose_access, 2);
}

#[test]
fn limits_are_spelt_out_in_the_report_and_the_notify_rows() {
    let sim = order_sim(AFTER_ORDER_GRACE, tools_and_fine_tuning());
    let (impact, tally) = decide(&sim, CN);
    let impact = impact.unwrap();
    let r = report(&sim, tally, None, Default::default());
    assert_eq!(r.limit_changes.len(), 1, "{:?}", r.limit_changes);
    let l = &r.limit_changes[0];
    assert_eq!(l.shape, "chat");
    assert_eq!(l.proposed_limits, "max_tokens 2000; tools removed");
    assert_eq!(l.proposed.max_tokens, Some(2000));
    assert_eq!(l.baseline_limits, "");
    assert_eq!(l.cells, 2);
    let json = r.to_json().unwrap();
    assert!(json.contains("\"max_tokens\": 2000"), "{json}");

    let rows = notify_rows(&sim, &impact);
    let chat = rows
        .iter()
        .find(|r| r.change == Transition::ObligationsChanged)
        .unwrap();
    assert_eq!(&*chat.shape, "chat");
    assert_eq!(chat.limits, "max_tokens 2000; tools removed");
    assert_eq!(
        chat.action,
        "new limits apply: max_tokens 2000; tools removed"
    );
    let tools = rows
        .iter()
        .find(|r| r.change == Transition::LoseAccess && &*r.shape == "chat+tools")
        .unwrap();
    assert_eq!(tools.limits, "");
    let csv = notify_csv(&rows);
    assert!(csv.starts_with(
        "account,change,models,action,deadline,directive,remedy,ways,start,shape,limits\r\n"
    ));
    assert!(
        csv.contains(
            "acct,obligations_changed,fable-5;mythos-5,new limits apply: max_tokens 2000; tools removed,,export-d5-frontier,https://cordon.example/d5,,,chat,max_tokens 2000; tools removed\r\n"
        ),
        "{csv}"
    );
}

#[test]
fn a_cap_that_changes_is_a_change() {
    let capped = |n: u32| {
        order()
            .replace("max_tokens = 2000", &format!("max_tokens = {n}"))
            .replace("grace_until = 2027-02-15T00:00:00Z\n", "")
            .replace("during_grace = \"apply\"\n", "")
    };
    let (before, after) = (capped(4000), capped(2000));
    let sim = Simulation::new(
        policy(&[("order.toml", &before)]),
        policy(&[("order.toml", &after)]),
        t(AFTER_ORDER_GRACE),
    )
    .unwrap();
    let (impact, tally) = decide(&sim, CN);
    let impact = impact.unwrap();
    assert!(
        impact
            .cells
            .iter()
            .all(|c| c.transition == Transition::ObligationsChanged
                && c.baseline_limits.max_tokens == Some(4000)
                && c.proposed_limits.max_tokens == Some(2000))
    );
    let r = report(&sim, tally, None, Default::default());
    assert_eq!(r.totals.obligations_changed, 2);
    assert_eq!(
        r.limit_changes[0].baseline_limits,
        "max_tokens 4000; tools removed"
    );
    assert_eq!(
        r.limit_changes[0].proposed_limits,
        "max_tokens 2000; tools removed"
    );
    assert_eq!(
        r.limit_changes[0].key,
        "chat: max_tokens 4000; tools removed -> max_tokens 2000; tools removed"
    );
}

#[test]
fn a_grace_period_that_applies_rules_to_unknowns_is_a_deadline() {
    // Residence self-declared: unknown at document_verified, so during grace
    // the rules apply as if the customer lived in a D:5 country.
    let sim = order_sim(IN_ORDER_GRACE, tools_and_fine_tuning());
    let (impact, tally) = decide(&sim, UNVERIFIED);
    let impact = impact.unwrap();
    let deadline = t("2027-02-15T00:00:00Z");

    // Chat: capped now, asked to verify once the period ends.
    assert_eq!(
        cells(&impact, "chat"),
        [
            ("fable-5", Transition::VerificationRequiredAfterGrace),
            ("mythos-5", Transition::VerificationRequiredAfterGrace)
        ]
    );
    let chat = impact.cells.iter().find(|c| &*c.shape == "chat").unwrap();
    assert_eq!(chat.deadline, Some(deadline));
    assert_eq!(chat.proposed_limits.max_tokens, Some(2000));
    assert_eq!(chat.after_grace, Some(Effect::VerificationRequired));

    // Tools: refused now, refused differently (verify) once it ends.
    let tools = impact
        .cells
        .iter()
        .find(|c| &*c.shape == "chat+tools")
        .unwrap();
    assert_eq!(tools.transition, Transition::LoseAccess);
    assert_eq!(tools.grace_ends, Some(deadline));
    assert_eq!(tools.after_grace, Some(Effect::VerificationRequired));

    let r = report(&sim, tally, None, Default::default());
    assert_eq!(r.grace_deadlines.len(), 1, "{:?}", r.grace_deadlines);
    let g = &r.grace_deadlines[0];
    assert_eq!(
        (
            g.directive.as_str(),
            g.deadline,
            g.accounts,
            g.refusal_changes
        ),
        ("export-d5-frontier", deadline, 1, 1)
    );

    let rows = notify_rows(&sim, &impact);
    let verify = rows
        .iter()
        .find(|r| r.change == Transition::VerificationRequiredAfterGrace)
        .unwrap();
    assert_eq!(verify.deadline, Some(deadline));
    assert_eq!(verify.limits, "max_tokens 2000; tools removed");
    assert!(
        verify
            .action
            .ends_with("before 2027-02-15T00:00:00Z; until then max_tokens 2000; tools removed"),
        "{}",
        verify.action
    );
    let lost = rows
        .iter()
        .find(|r| r.change == Transition::LoseAccess)
        .unwrap();
    assert_eq!(
        lost.deadline,
        Some(deadline),
        "the grace period's end dates the row"
    );
    assert!(
        lost.action.ends_with(
            "from 2027-02-15T00:00:00Z, when its grace period ends: verification_required"
        ),
        "{}",
        lost.action
    );
}

#[test]
fn an_unchanged_refusal_names_the_directive_that_already_refuses() {
    let sim = order_sim(AFTER_ORDER_GRACE, tools_and_fine_tuning());
    let (impact, tally) = decide(&sim, KP);
    assert!(impact.is_none(), "sanctions refuse every cell in both sets");
    let r = report(&sim, tally, None, Default::default());
    assert_eq!(r.already_refused.len(), 1, "{:?}", r.already_refused);
    let a = &r.already_refused[0];
    assert_eq!(a.directive, "export-d5-frontier");
    assert_eq!(a.refused_by, "residence-sanctions");
    assert_eq!(a.accounts, 1);
    // Tools and fine-tuning on the two frontier models; the capped chat
    // request would be allowed, so it is no refusal the order adds.
    assert_eq!(a.cells, 4);

    // A directive already in the baseline is no new refusal.
    let same = Simulation::new(baseline(), baseline(), t(AFTER_ORDER_GRACE)).unwrap();
    let (_, tally) = decide(&same, KP);
    assert!(
        report(&same, tally, None, Default::default())
            .already_refused
            .is_empty()
    );
}

#[test]
fn shapes_given_twice_are_decided_once_and_none_means_plain_chat() {
    let sim = order_sim(
        AFTER_ORDER_GRACE,
        vec![
            Shape::feature(Feature::Tools),
            Shape::feature(Feature::Tools),
        ],
    );
    assert_eq!(sim.shapes(), [Shape::feature(Feature::Tools)]);
    assert_eq!(
        order_sim(AFTER_ORDER_GRACE, vec![]).shapes(),
        [Shape::plain()]
    );
}

#[test]
fn limits_that_begin_when_a_grace_period_ends_are_a_dated_change() {
    // Unknowns allowed during grace, treated as holding after it.
    let order = order().replace(
        "effect = \"verification_required\"\nduring_grace = \"apply\"",
        "effect = \"apply\"\nduring_grace = \"allow\"",
    );
    assert_ne!(order, self::order());
    let proposed = policy(&[("sanctions.toml", SANCTIONS), ("order.toml", &order)]);
    let sim = Simulation::new(baseline(), proposed, t(IN_ORDER_GRACE))
        .unwrap()
        .with_shapes(tools_and_fine_tuning());
    let (impact, tally) = decide(&sim, UNVERIFIED);
    let impact = impact.unwrap();
    let deadline = t("2027-02-15T00:00:00Z");

    // Chat: the same today under both sets, capped once the period ends.
    let chat: Vec<_> = impact
        .cells
        .iter()
        .filter(|c| &*c.shape == "chat")
        .collect();
    assert_eq!(chat.len(), 2, "{impact:?}");
    for c in &chat {
        assert_eq!(c.transition, Transition::ObligationsChanged);
        assert!(c.proposed_limits.is_empty());
        assert_eq!(c.after_grace_limits.max_tokens, Some(2000));
        assert_eq!(c.deadline, Some(deadline));
        assert_eq!(c.directive.as_deref(), Some("export-d5-frontier"));
    }
    // Tools: allowed today, refused once it ends.
    assert_eq!(
        cells(&impact, "chat+tools"),
        [
            ("fable-5", Transition::VerificationRequiredAfterGrace),
            ("mythos-5", Transition::VerificationRequiredAfterGrace)
        ]
    );

    let r = report(&sim, tally, None, Default::default());
    let g = &r.grace_deadlines[0];
    assert_eq!(
        (g.deadline, g.accounts, g.refusal_changes, g.new_limits),
        (deadline, 1, 0, 1)
    );

    let rows = notify_rows(&sim, &impact);
    let capped = rows
        .iter()
        .find(|r| r.change == Transition::ObligationsChanged)
        .unwrap();
    assert_eq!(capped.deadline, Some(deadline));
    assert_eq!(capped.limits, "max_tokens 2000; tools removed");
    assert_eq!(
        capped.action,
        "new limits apply at 2027-02-15T00:00:00Z: max_tokens 2000; tools removed"
    );
}

#[test]
fn an_organisation_is_assumed_to_connect_from_where_it_is_incorporated() {
    let from_cn = ORDER
        .replace("export-d5-frontier", "requests-from-cn")
        .replace(
            "D5 and (request.features in [tools, fine_tuning] or request.endpoint == fine_tuning)",
            "request.country in [CN]",
        )
        .replace("when = 'D5'", "when = 'request.country in [RU]'");
    let proposed = policy(&[("sanctions.toml", SANCTIONS), ("from-cn.toml", &from_cn)]);
    let sim = Simulation::new(baseline(), proposed, t(AFTER_ORDER_GRACE)).unwrap();
    let org = r#"{"kind": "organization", "name": "Acme Shenzhen", "verification": "document_verified",
        "organization": {"name": "Acme Shenzhen", "country": "CN"}}"#;
    let (impact, _) = decide(&sim, org);
    let impact = impact.unwrap_or_else(|| panic!("the organisation is not affected"));
    assert_eq!(
        cells(&impact, "chat"),
        [
            ("fable-5", Transition::LoseAccess),
            ("mythos-5", Transition::LoseAccess)
        ]
    );
}
