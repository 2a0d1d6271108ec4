//! Arbitrary UTF-8 text as a directive file, checked against the shipped catalog
//! and the embedded jurisdictions and country groups.
//!
//! Checks: `check_file` never panics (TOML, shape, condition and cross-reference
//! checks all run), and every diagnostic points into the file: line and column
//! are 1-based and the line is at most the number of lines + 1.
#![no_main]

use std::sync::LazyLock;

use cordon_catalog::Catalog;
use cordon_jurisdiction::{GroupRegistry, Jurisdictions};
use cordon_policy::{CheckEnv, check_file};
use cordon_source::SourceFile;
use libfuzzer_sys::fuzz_target;

struct Env {
    jurisdictions: &'static Jurisdictions,
    groups: GroupRegistry,
    catalog: Catalog,
}

static ENV: LazyLock<Env> = LazyLock::new(|| {
    let jurisdictions = Jurisdictions::embedded().expect("embedded jurisdictions load");
    let groups = GroupRegistry::embedded(jurisdictions).expect("embedded country groups load");
    let catalog = Catalog::parse(&SourceFile::new(
        "catalog.toml",
        include_str!("../../catalog.toml"),
    ))
    .expect("shipped catalog loads");
    Env {
        jurisdictions,
        groups,
        catalog,
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = &*ENV;
    let check = CheckEnv {
        jurisdictions: env.jurisdictions,
        groups: &env.groups,
        catalog: &env.catalog,
    };
    let file = SourceFile::new("fuzz.toml", text);
    let (_directive, diagnostics) = check_file(&file, &check);
    let max_line = text.lines().count() + 1;
    for d in &diagnostics {
        let l = &d.location;
        assert!(
            l.line >= 1 && l.column >= 1,
            "diagnostic at {l} is not 1-based: {d}"
        );
        assert!(
            l.line <= max_line,
            "diagnostic at line {} but the file has {} line(s): {d}",
            l.line,
            max_line - 1
        );
        // Rendering must not panic either.
        let _ = d.to_string();
    }
});
