//! Arbitrary bytes as an audit-log leaf, as `cordon audit verify`, `search`
//! and `cordon simulate --traffic` read them from a log they did not write.
//!
//! Checks: `leaf::decode` never panics, and whatever it accepts is the
//! canonical encoding, so it re-encodes to exactly the input bytes.
#![no_main]

use cordon_audit::leaf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = leaf::decode(data) {
        let again = leaf::encode(&record).expect("a decoded leaf encodes");
        assert_eq!(again, data, "an accepted leaf is not canonical");
    }
});
