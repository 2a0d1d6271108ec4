//! Arbitrary UTF-8 text as a model catalog (`catalog.toml`).
//!
//! Checks: `Catalog::parse` never panics, and every located error points into
//! the file (1-based, line at most the number of lines + 1).
#![no_main]

use cordon_catalog::{Catalog, CatalogError};
use cordon_source::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = SourceFile::new("catalog.toml", text);
    let Err(errors) = Catalog::parse(&file) else {
        return;
    };
    let max_line = text.lines().count() + 1;
    for e in &errors {
        let location = match e {
            CatalogError::Toml(t) => Some(&t.location),
            CatalogError::Invalid { location, .. } => Some(location),
            CatalogError::Read(_) => None,
        };
        if let Some(l) = location {
            assert!(
                l.line >= 1 && l.column >= 1,
                "error at {l} is not 1-based: {e}"
            );
            assert!(
                l.line <= max_line,
                "error at line {} but the file has {} line(s): {e}",
                l.line,
                max_line - 1
            );
        }
        let _ = e.to_string();
    }
});
