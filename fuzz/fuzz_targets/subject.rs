//! Arbitrary UTF-8 text as a subject record (`cordon decide --subject`).
//!
//! Checks: `SubjectRecord::from_json` and `into_subject` never panic, whatever
//! the JSON's shape, and their errors render.
#![no_main]

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::SubjectRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let jurisdictions = Jurisdictions::embedded().expect("embedded jurisdictions load");
    match SubjectRecord::from_json(text).and_then(|r| r.into_subject(jurisdictions)) {
        Ok(subject) => {
            let _ = format!("{subject:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
