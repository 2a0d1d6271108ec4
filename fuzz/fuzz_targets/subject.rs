//! Arbitrary UTF-8 text as a subject record (`cordon decide --subject`).
//!
//! Checks: `SubjectRecord::from_json` and `into_subject` never panic, whatever
//! the JSON's shape, and their errors render; every licence a record holds
//! reads back as itself from its own JSON form (`Licence::to_json`), and
//! the subject's JSON names `licences` only when it holds one.
#![no_main]

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::{Licence, SubjectRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let jurisdictions = Jurisdictions::embedded().expect("embedded jurisdictions load");
    match SubjectRecord::from_json(text).and_then(|r| r.into_subject(jurisdictions)) {
        Ok(subject) => {
            let _ = format!("{subject:?}");
            for l in &subject.licences {
                let again = Licence::from_value(&l.to_json(), jurisdictions, None)
                    .expect("a licence's own JSON form reads");
                assert_eq!(&again, l, "a licence's JSON form reads back as itself");
            }
            let json = serde_json::to_value(&subject).expect("a subject serialises");
            assert_eq!(
                json.get("licences").is_some(),
                !subject.licences.is_empty(),
                "`licences` is written exactly when there is one"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
