//! Bad directive files: each gets a located, actionable error; nothing panics.

use cordon_policy::{Diagnostic, Policy, Severity};
use cordon_source::SourceFile;

use super::support::*;

const GOOD: &str = r#"id = "good"
title = "t"
authority = "a"
citation = "c"
issued = 2026-01-01
effective = 2026-01-10T00:00:00Z
mode = "enforced"
message = "m"

[scope]
models = ["fable-5"]

[unknown]
effect = "deny"

[[rule]]
id = "r"
when = 'subject.citizenships in [IR]'
effect = "deny"
"#;

fn check(text: &str) -> Vec<Diagnostic> {
    match Policy::from_files(
        &[SourceFile::new("x.toml", text)],
        catalog(),
        jurisdictions(),
        &groups(),
    ) {
        Ok(p) => p.warnings().to_vec(),
        Err(e) => e.diagnostics,
    }
}

/// Asserts one error mentions `needle` (and, when given, is at `line:column` on `field`).
fn assert_error(text: &str, needle: &str, at: Option<(usize, usize)>, field: &str) {
    let diags = check(text);
    let found = diags
        .iter()
        .find(|d| d.severity == Severity::Error && d.message.contains(needle));
    let Some(d) = found else {
        panic!("no error containing {needle:?} in {diags:#?}")
    };
    if let Some((line, column)) = at {
        assert_eq!((d.location.line, d.location.column), (line, column), "{d}");
    }
    assert_eq!(d.field, field, "{d}");
    assert_eq!(d.location.file, "x.toml");
}

#[test]
fn the_template_is_valid() {
    assert!(
        check(GOOD).iter().all(|d| d.severity != Severity::Error),
        "{:#?}",
        check(GOOD)
    );
}

#[test]
fn an_unknown_country_code_is_located_inside_the_condition() {
    let text = GOOD.replace("[IR]", "[IR, XZ]");
    // Line 18 is the `when` line; `XZ` is at column 38.
    assert_error(
        &text,
        "`XZ` is not an assigned",
        Some((18, 38)),
        "rule[0].when",
    );
}

#[test]
fn lower_case_country_codes_are_refused_with_the_fix() {
    assert_error(
        &GOOD.replace("[IR]", "[ir]"),
        "upper case: `IR`",
        None,
        "rule[0].when",
    );
}

#[test]
fn unknown_regions_groups_and_attributes() {
    assert_error(
        &GOOD.replace("subject.citizenships in [IR]", "request.region in [UA-99]"),
        "`UA-99` is not a known ISO 3166-2",
        None,
        "rule[0].when",
    );
    assert_error(
        &GOOD.replace("[IR]", "group(\"EAR:D:9\")"),
        "unknown country group `EAR:D:9`",
        None,
        "rule[0].when",
    );
    assert_error(
        &GOOD.replace("subject.citizenships", "subject.citizenship"),
        "did you mean `subject.citizenships`",
        Some((18, 9)),
        "rule[0].when",
    );
    assert_error(
        &GOOD.replace("subject.citizenships in [IR]", "request.country in [UA-43]"),
        "holds countries, not regions",
        None,
        "rule[0].when",
    );
    assert_error(
        &GOOD.replace("subject.citizenships in [IR]", "subject.us_person in [US]"),
        "cannot be used with `in`",
        None,
        "rule[0].when",
    );
    assert_error(
        &GOOD.replace(
            "subject.citizenships in [IR]",
            "subject.verification >= passport",
        ),
        "verification level",
        None,
        "rule[0].when",
    );
    assert_error(
        &GOOD.replace(
            "subject.citizenships in [IR]",
            "subject.screening.confirmed in [OFAC]",
        ),
        "restricted-list code",
        None,
        "rule[0].when",
    );
}

#[test]
fn condition_syntax_errors_are_located() {
    let text = GOOD.replace(
        "subject.citizenships in [IR]",
        "subject.citizenships in [IR",
    );
    assert_error(
        &text,
        "condition ends early",
        Some((18, 36)),
        "rule[0].when",
    );
}

#[test]
fn unknown_models_families_and_tags() {
    assert_error(
        &GOOD.replace("models = [\"fable-5\"]", "models = [\"fable-9\"]"),
        "no model `fable-9`",
        Some((11, 11)),
        "scope.models",
    );
    assert_error(
        &GOOD.replace("models = [\"fable-5\"]", "families = [\"saga\"]"),
        "no family `saga`",
        None,
        "scope.families",
    );
    assert_error(
        &GOOD.replace("models = [\"fable-5\"]", "tags = [\"secret\"]"),
        "tag `secret`",
        None,
        "scope.tags",
    );
    assert_error(
        &GOOD.replace(
            "models = [\"fable-5\"]",
            "endpoints = [\"chat\", \"video\"]",
        ),
        "unknown endpoint `video`",
        None,
        "scope.endpoints",
    );
}

#[test]
fn impossible_dates() {
    assert_error(
        &GOOD.replace("mode = ", "expires = 2026-01-05T00:00:00Z\nmode = "),
        "expires",
        None,
        "expires",
    );
    assert_error(
        &GOOD.replace("mode = ", "grace_until = 2026-01-01T00:00:00Z\nmode = "),
        "grace period ends",
        None,
        "grace_until",
    );
    assert_error(
        &GOOD.replace(
            "effective = 2026-01-10T00:00:00Z",
            "effective = 2026-01-10T00:00:00",
        ),
        "UTC offset",
        Some((6, 13)),
        "effective",
    );
    assert_error(
        &GOOD.replace("effective = 2026-01-10T00:00:00Z", "effective = \"soon\""),
        "`soon` is not a time",
        None,
        "effective",
    );
}

#[test]
fn exemptions_that_can_never_apply() {
    let lapsed = format!(
        "{GOOD}\n[[exemption]]\nlicence = \"L-1\"\nholder = \"Acme\"\nexpires = 2026-01-09T00:00:00Z\n"
    );
    assert_error(&lapsed, "can never apply", None, "exemption[0].expires");
    let outside = format!(
        "{GOOD}\n[[exemption]]\nlicence = \"L-1\"\nholder = \"Acme\"\nmodels = [\"lyric-4\"]\n"
    );
    assert_error(
        &outside,
        "outside the directive's scope",
        None,
        "exemption[0].models",
    );
    let nobody = format!("{GOOD}\n[[exemption]]\nlicence = \"L-1\"\nholder = \"  \"\n");
    assert_error(&nobody, "can never apply", None, "exemption[0].holder");
}

#[test]
fn a_directive_about_natural_persons_refuses_a_file_exemption() {
    // A file exemption matches the holder's name, so it would cover every
    // verified member of the holder; a licence covers only the individuals
    // it names, so it must be recorded as a licence record.
    let persons = GOOD.replace(
        "when = 'subject.citizenships in [IR]'",
        "when = 'subject.foreign_person'",
    );
    let persons = format!(
        "{persons}\n[foreign_person]\nexcept = [\"us_citizens\"]\ncitation = \"15 CFR 772.1\"\n\n[[exemption]]\nlicence = \"L-2026-0042\"\nholder = \"Northwind Labs\"\n"
    );
    let line = persons
        .lines()
        .position(|l| l.starts_with("licence = "))
        .unwrap()
        + 1;
    assert_error(
        &persons,
        "cannot carry an `[[exemption]]`: it would cover every verified member of `Northwind Labs`",
        Some((line, 11)),
        "exemption[0]",
    );
    let d = check(&persons)
        .into_iter()
        .find(|d| d.field == "exemption[0]")
        .unwrap();
    assert!(
        d.message
            .contains("record the licence with `cordon licences add --number L-2026-0042"),
        "{d}"
    );
    assert!(d.message.contains("naming its individuals"), "{d}");
    // A directive about places, not persons, keeps its file exemptions.
    let places = format!("{GOOD}\n[[exemption]]\nlicence = \"L-1\"\nholder = \"Acme\"\n");
    assert!(
        check(&places).iter().all(|d| d.severity != Severity::Error),
        "{:#?}",
        check(&places)
    );
}

#[test]
fn obligations_must_fit_the_effect() {
    let rule = |effect: &str| GOOD.replace("'\neffect = \"deny\"\n", &format!("'\n{effect}\n"));
    assert_error(
        &rule("effect = \"allow_with_obligations\""),
        "needs an `obligations` table",
        None,
        "rule[0].effect",
    );
    assert_error(
        &rule("effect = \"deny\"\nobligations = { max_tokens = 10 }"),
        "only to `effect = \"allow_with_obligations\"`",
        None,
        "rule[0].obligations",
    );
    assert_error(
        &rule("effect = \"allow_with_obligations\"\nobligations = { max_tokens = -1 }"),
        "not a usable cap",
        None,
        "rule[0].obligations.max_tokens",
    );
}

#[test]
fn toml_shape_errors_name_the_line() {
    // Unknown field.
    let d = check(&GOOD.replace("mode = ", "modee = \"x\"\nmode = "));
    assert!(d[0].message.contains("modee"), "{d:?}");
    assert_eq!(d[0].location.line, 7);
    // Wrong type.
    let d = check(&GOOD.replace("title = \"t\"", "title = 5"));
    assert_eq!(d[0].location.line, 2);
    // Bad enum value lists the choices.
    let d = check(&GOOD.replace("mode = \"enforced\"", "mode = \"enforce\""));
    assert!(
        d[0].message.contains("enforced") && d[0].location.line == 7,
        "{d:?}"
    );
    // Missing unknown section: every directive must say what unknown means.
    let d = check(&GOOD.replace("[unknown]\neffect = \"deny\"\n", ""));
    assert!(d[0].message.contains("unknown"), "{d:?}");
    // Malformed TOML.
    let d = check("id = \"x\"\ntitle = \n");
    assert_eq!(d[0].location.line, 2, "{d:?}");
}

#[test]
fn duplicate_ids_are_refused() {
    let files = [
        SourceFile::new("a.toml", GOOD),
        SourceFile::new("b.toml", GOOD),
    ];
    let e = Policy::from_files(&files, catalog(), jurisdictions(), &groups()).unwrap_err();
    let d = e.errors().next().unwrap();
    assert!(
        d.message.contains("duplicate directive id `good`") && d.message.contains("a.toml"),
        "{d}"
    );
    assert_eq!(d.location.file, "b.toml");
    let dup_rule = format!("{GOOD}\n[[rule]]\nid = \"r\"\nwhen = \"true\"\neffect = \"deny\"\n");
    assert_error(&dup_rule, "duplicate rule id `r`", None, "rule[1].id");
}

#[test]
fn every_error_in_a_file_is_reported_at_once() {
    let text = GOOD
        .replace("[IR]", "[XZ]")
        .replace("models = [\"fable-5\"]", "models = [\"nope\"]");
    let errors = check(&text)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert_eq!(errors, 2);
}

#[test]
fn bad_directories_and_files() {
    let dir = std::env::temp_dir().join(format!("cordon-checker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let load = || Policy::load_dir(&dir, catalog(), jurisdictions(), &groups()).unwrap_err();
    assert!(load().diagnostics[0].message.contains("no directive files"));
    std::fs::write(dir.join("bad.toml"), b"id = \"\xff\"\n").unwrap();
    assert!(
        load().diagnostics[0].message.contains("not UTF-8"),
        "{:?}",
        load()
    );
    std::fs::write(dir.join("bad.toml"), vec![b'#'; 5 * 1024 * 1024]).unwrap();
    assert!(
        load().diagnostics[0].message.contains("limit"),
        "{:?}",
        load()
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let missing = Policy::load_dir(&dir, catalog(), jurisdictions(), &groups()).unwrap_err();
    assert!(
        missing.diagnostics[0]
            .message
            .contains("cannot read the directive directory")
    );
}

#[test]
fn the_documented_feature_and_anonymiser_examples_check() {
    let feature = GOOD
        .replace("models = [\"fable-5\"]", "features = [\"tools\"]")
        .replace("'subject.citizenships in [IR]'", "'request.tool_types in [web_search, computer_use] and not subject.citizenships in group(\"EAR:A:1\")'");
    assert!(
        check(&feature)
            .iter()
            .all(|d| d.severity != Severity::Error),
        "{:#?}",
        check(&feature)
    );
    let cap = GOOD
        .replace("'subject.citizenships in [IR]'\neffect = \"deny\"", "\"request.anonymizer and request.max_tokens > 1024\"\neffect = \"allow_with_obligations\"\nobligations = { max_tokens = 1024 }");
    assert!(
        check(&cap).iter().all(|d| d.severity != Severity::Error),
        "{:#?}",
        check(&cap)
    );
}

#[test]
fn a_duplicate_id_is_located_at_the_id_value_not_a_comment() {
    let second = format!("# a comment that says id\n{GOOD}");
    let files = [
        SourceFile::new("a.toml", GOOD),
        SourceFile::new("b.toml", second),
    ];
    let e = Policy::from_files(&files, catalog(), jurisdictions(), &groups()).unwrap_err();
    let d = e.errors().next().unwrap();
    assert_eq!((d.location.line, d.location.column), (2, 6), "{d}");
}

mod foreign_person {
    use super::*;

    const TABLE: &str = r#"
[foreign_person]
except = ["us_citizens", "permanent_residents"]
citation = "15 CFR 772.1"
"#;

    fn with_rule(when: &str) -> String {
        GOOD.replace("'subject.citizenships in [IR]'", &format!("'{when}'"))
    }

    #[test]
    fn the_attribute_without_a_definition_is_an_error_at_its_place() {
        // Line 19 is the `when`; the attribute starts after `not `.
        assert_error(
            &with_rule("not subject.foreign_person"),
            "add a `[foreign_person]` table",
            Some((18, 13)),
            "rule[0].when",
        );
        assert_error(
            &with_rule("known(subject.foreign_person)"),
            "has no definition",
            None,
            "rule[0].when",
        );
    }

    #[test]
    fn the_attribute_with_a_definition_checks() {
        let text = with_rule("subject.foreign_person") + TABLE;
        assert!(
            check(&text).iter().all(|d| d.severity != Severity::Error),
            "{:#?}",
            check(&text)
        );
    }

    #[test]
    fn an_unknown_class_is_an_error_naming_the_classes() {
        let text = with_rule("subject.foreign_person")
            + &TABLE.replace("\"permanent_residents\"", "\"green_card_holders\"");
        assert_error(
            &text,
            "unknown class `green_card_holders` (expected one of: us_citizens, us_nationals, permanent_residents, protected_individuals)",
            Some((22, 26)),
            "foreign_person.except",
        );
    }

    #[test]
    fn a_class_listed_twice_and_an_empty_citation_are_errors() {
        let text = with_rule("subject.foreign_person")
            + &TABLE
                .replace("\"permanent_residents\"", "\"us_citizens\"")
                .replace("\"15 CFR 772.1\"", "\" \"");
        assert_error(&text, "is listed twice", None, "foreign_person.except");
        assert_error(
            &text,
            "cite the definition",
            None,
            "foreign_person.citation",
        );
    }

    #[test]
    fn a_definition_no_rule_uses_is_a_warning() {
        let diags = check(&(GOOD.to_owned() + TABLE));
        assert!(
            diags.iter().any(|d| d.severity == Severity::Warning
                && d.field == "foreign_person"
                && d.message.contains("no rule tests")),
            "{diags:#?}"
        );
    }
}

#[test]
fn the_officer_s_spelling_mistakes_point_at_the_fix() {
    // A British spelling names the attribute it means, not a lookalike.
    assert_error(
        &GOOD.replace(
            "subject.citizenships in [IR]",
            "subject.organisation.country in [IR]",
        ),
        "did you mean `subject.organization.country`",
        None,
        "rule[0].when",
    );
    // A quoted value: drop the quotes.
    assert_error(
        &GOOD.replace(
            "subject.citizenships in [IR]",
            "subject.kind == \"organization\"",
        ),
        "values are written without quotes (`organization`)",
        None,
        "rule[0].when",
    );
    // A group id written as a country: name it with group("...").
    assert_error(
        &GOOD.replace("[IR]", "EAR:D:5"),
        "`EAR:D:5` is a country group: a group is named as `group(\"EAR:D:5\")`",
        None,
        "rule[0].when",
    );
    assert_error(
        &GOOD.replace("[IR]", "[EAR:D:5]"),
        "a group is named as `group(\"EAR:D:5\")`",
        None,
        "rule[0].when",
    );
}

#[test]
fn an_unknown_grace_meaning_names_its_field() {
    let text = GOOD.replace(
        "effect = \"deny\"\n\n[[rule]]",
        "effect = \"deny\"\nduring_grace = \"maybe\"\n\n[[rule]]",
    );
    let diags = check(&text);
    let d = diags
        .iter()
        .find(|d| d.severity == Severity::Error)
        .unwrap_or_else(|| panic!("{diags:#?}"));
    assert!(d.to_string().contains("during_grace"), "{d}");
    assert!(d.message.contains("maybe"), "{d}");
}

#[test]
fn a_rule_using_an_unverified_group_is_warned_about() {
    let diags = check(&GOOD.replace("[IR]", "group(\"EAR:D:5\")"));
    let w = diags
        .iter()
        .find(|d| d.message.contains("marked unverified"))
        .unwrap_or_else(|| panic!("{diags:#?}"));
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(w.field, "rule[0].when");
    // A verified group is not.
    let diags = check(&GOOD.replace("[IR]", "group(\"OFAC:crimea\")"));
    assert!(
        diags
            .iter()
            .all(|d| !d.message.contains("marked unverified")),
        "{diags:#?}"
    );
}
