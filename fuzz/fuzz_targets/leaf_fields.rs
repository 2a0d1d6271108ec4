//! Arbitrary bytes as an audit-log leaf, as `cordon simulate --traffic`
//! reads the request fields of the decisions in a log it did not write.
//!
//! Checks: `leaf::read_decision_fields` and `leaf::parse_time` never panic;
//! whenever the strict `leaf::decode` accepts the bytes, the reader agrees
//! with it (a decision's fields equal the decoded record's, an admin leaf
//! is read as one); and `parse_time` gives the instant jiff gives, both on
//! the time the reader found and on the whole input as text.
#![no_main]

use cordon_audit::Record;
use cordon_audit::leaf::{self, FieldsRead};
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

fn same_time(text: &str) {
    assert_eq!(
        leaf::parse_time(text),
        text.parse::<Timestamp>().ok(),
        "the time {text:?} is not read as jiff reads it"
    );
}

fuzz_target!(|data: &[u8]| {
    let read = leaf::read_decision_fields(data);
    if let FieldsRead::Decision(f) = &read {
        same_time(&f.time);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        same_time(text);
    }
    match (leaf::decode(data), read) {
        (Ok(Record::Decision(d)), FieldsRead::Decision(f)) => {
            assert_eq!(f.time, d.time, "time");
            assert_eq!(f.account.as_deref(), d.account.as_deref(), "account");
            assert_eq!(f.model_requested, d.model_requested, "model_requested");
            assert_eq!(f.endpoint, d.endpoint, "endpoint");
            assert_eq!(f.effect, d.effect, "effect");
            assert_eq!(
                f.client_country.as_deref(),
                d.client_country.as_deref(),
                "client_country"
            );
            assert_eq!(
                f.client_region.as_deref(),
                d.client_region.as_deref(),
                "client_region"
            );
            assert_eq!(f.anonymizer, d.anonymizer, "anonymizer");
            assert!(
                f.features.iter().eq(d.features.iter().map(String::as_str)),
                "features"
            );
            assert_eq!(f.end_user.as_deref(), d.end_user.as_deref(), "end_user");
        }
        (Ok(Record::Admin(_)), FieldsRead::Admin) | (Err(_), _) => {}
        (Ok(record), read) => panic!("decode read {record:?}, the reader {read:?}"),
    }
});
