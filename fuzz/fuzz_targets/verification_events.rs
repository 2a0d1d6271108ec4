//! Arbitrary bytes as one of Cordon's own verification payloads: the first
//! byte picks Cordon's event format, a self-declaration or an
//! organisation attestation, and the rest is the body.
//!
//! Checks: no parser panics and every error renders; a declaration's facts
//! are all at `self_declared`; an attestation's facts are all at `attested`
//! and expire no later than the attestation; every fact's value is what a
//! subject record states (the record the store derives from it checks).
#![no_main]

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::{SubjectRecord, VerificationLevel};
use cordon_verification::{cordon_format, statement};
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let j = Jurisdictions::embedded().expect("embedded jurisdictions load");
    let now: Timestamp = "2026-12-07T12:00:00Z".parse().expect("a fixed time parses");
    let events = match selector % 3 {
        0 => match cordon_format::parse(body, j) {
            Ok(e) => vec![e],
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        },
        1 => match statement::declaration(body, "acct", Some("DE"), now, j) {
            Ok(e) => {
                assert!(e.facts.iter().all(|f| f.level == VerificationLevel::SelfDeclared));
                vec![e]
            }
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        },
        _ => match statement::attestation(body, now, j) {
            Ok(a) => {
                for e in &a.events {
                    assert!(e.facts.iter().all(|f| {
                        f.level == VerificationLevel::Attested
                            && f.expires_at.is_some_and(|x| x <= a.expires)
                    }));
                }
                a.events
            }
            Err(e) => {
                let _ = e.to_string();
                return;
            }
        },
    };
    for e in events {
        // Each fact, written back as a record, is a valid subject.
        let mut record = serde_json::Map::new();
        for f in &e.facts {
            let p = cordon_verification::record::Written {
                level: f.level,
                source: Some("fuzz".into()),
                verified_at: f.verified_at,
                expires: f.expires_at,
            };
            record.insert(
                f.attribute.field().into(),
                cordon_verification::record::write(f.attribute, &f.value, &p),
            );
        }
        SubjectRecord::from_value(serde_json::Value::Object(record))
            .into_subject(j)
            .expect("facts read from a checked subject write back as a valid subject");
    }
});
