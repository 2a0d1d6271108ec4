use std::sync::Arc;

use cordon_catalog::Catalog;
use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::Policy;
use cordon_source::SourceFile;
use cordon_subject::SubjectRecord;

use super::changes::same_directive;
use super::*;

const CATALOG: &str =
    "[[model]]\nid = \"a\"\nfamily = \"f\"\n\n[[model]]\nid = \"b\"\nfamily = \"f\"\n";

fn directive(id: &str, extra: &str) -> String {
    format!(
        r#"
id = "{id}"
title = "T"
authority = "A"
citation = "C"
issued = 2026-01-01
effective = 2026-01-01T00:00:00Z
grace_until = 2026-02-01T00:00:00Z
mode = "enforced"
min_verification = "document_verified"
message = "M"

[scope]
models = ["a"]

[[rule]]
id = "r"
when = "not subject.us_person"
effect = "deny"
{extra}
"#
    )
}

fn policy(files: &[String]) -> Arc<Policy> {
    let j = Jurisdictions::embedded().unwrap();
    let files: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile::new(format!("{i}.toml"), t.clone()))
        .collect();
    let catalog = Catalog::parse(&SourceFile::new("c.toml", CATALOG)).unwrap();
    let groups = GroupRegistry::embedded(j).unwrap();
    Arc::new(Policy::from_files(&files, catalog, j, &groups).unwrap_or_else(|e| panic!("{e:?}")))
}

const UNKNOWN_ALLOW: &str = "[unknown]\neffect = \"allow\"\n";
const UNKNOWN_GRACE: &str =
    "[unknown]\neffect = \"verification_required\"\nduring_grace = \"allow\"\n";

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn unverified() -> Subject {
    SubjectRecord::from_json(r#"{"citizenships": ["DE"]}"#)
        .unwrap()
        .into_subject(Jurisdictions::embedded().unwrap())
        .unwrap()
}

#[test]
fn wording_is_not_a_change_but_a_rule_is() {
    let a = policy(&[directive("d", UNKNOWN_ALLOW)]);
    let b = policy(&[directive("d", UNKNOWN_ALLOW).replace("title = \"T\"", "title = \"U\"")]);
    let c = policy(&[directive("d", UNKNOWN_ALLOW)
        .replace("not subject.us_person", "subject.citizenships in [IR]")]);
    let (a, b, c) = (&a.directives()[0], &b.directives()[0], &c.directives()[0]);
    assert!(same_directive(a, b));
    assert!(!same_directive(a, c));
}

#[test]
fn an_unknown_still_allowed_after_grace_is_not_a_deadline() {
    // Unknown means allow in and after the grace period: nothing to verify.
    let sim = Simulation::new(
        policy(
            &[directive("other", UNKNOWN_ALLOW).replace("models = [\"a\"]", "models = [\"b\"]")],
        ),
        policy(&[directive("d", UNKNOWN_ALLOW)]),
        t("2026-01-15T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(sim.account("x", &unverified(), &mut Tally::default()), None);
    let sim = Simulation::new(
        policy(
            &[directive("other", UNKNOWN_ALLOW).replace("models = [\"a\"]", "models = [\"b\"]")],
        ),
        policy(&[directive("d", UNKNOWN_GRACE)]),
        t("2026-01-15T00:00:00Z"),
    )
    .unwrap();
    let impact = sim
        .account("x", &unverified(), &mut Tally::default())
        .unwrap();
    assert_eq!(impact.cells.len(), 1);
    assert_eq!(
        impact.cells[0].transition,
        Transition::VerificationRequiredAfterGrace
    );
    assert_eq!(impact.cells[0].deadline, Some(t("2026-02-01T00:00:00Z")));
}

#[test]
fn only_models_whose_directives_differ_are_decided() {
    let base = policy(&[directive("d", UNKNOWN_ALLOW)]);
    let prop = policy(&[
        directive("d", UNKNOWN_ALLOW),
        directive("e", UNKNOWN_ALLOW).replace("models = [\"a\"]", "models = [\"b\"]"),
    ]);
    let sim = Simulation::new(base, prop, t("2026-03-01T00:00:00Z")).unwrap();
    let identical: Vec<_> = sim.models.iter().map(|m| (&*m.id, m.identical)).collect();
    assert_eq!(identical, [("a", true), ("b", false)]);
    // During a running grace period even an unchanged model must be decided.
    let base = policy(&[directive("d", UNKNOWN_GRACE)]);
    let sim = Simulation::new(base.clone(), base, t("2026-01-15T00:00:00Z")).unwrap();
    assert!(!sim.models[0].identical);
    assert!(sim.models[1].identical);
}

#[test]
fn a_draft_directive_is_noted_as_never_consulted() {
    let base = policy(&[directive("d", UNKNOWN_ALLOW)]);
    let prop = policy(&[
        directive("d", UNKNOWN_ALLOW),
        directive("e", UNKNOWN_ALLOW).replace("mode = \"enforced\"", "mode = \"draft\""),
    ]);
    let sim = Simulation::new(base, prop, t("2026-03-01T00:00:00Z")).unwrap();
    assert_eq!(
        sim.notes(),
        ["directive `e` (added) is a draft and never consulted; no change is scheduled"]
    );
    assert_eq!(sim.changed_directives()[0].standing, Standing::Draft);
}
