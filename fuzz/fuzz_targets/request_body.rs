//! Arbitrary bytes as a model request body, for each API.
//!
//! Checks: the one-pass byte reader never panics; it accepts exactly the
//! bodies that parsing into a `serde_json::Value` and reading that accepts,
//! reads the same fields from them (model, features, tool types, token cap,
//! end user) and refuses the others with the same message and parameter,
//! except that it alone refuses a key given twice;
//! an end user it reads is non-empty and within its bound.
#![no_main]

use cordon_gateway::api_error::Api;
use cordon_gateway::inspect::{self, InspectError, MAX_END_USER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for api in [Api::OpenAi, Api::Anthropic] {
        let by_bytes = inspect::inspect_json(api, data);
        let by_tree = serde_json::from_slice::<serde_json::Value>(data)
            .map(|v| inspect::inspect(api, &v));
        match (by_bytes, by_tree) {
            (Ok(a), Ok(Ok(b))) => {
                assert_eq!(a, b);
                if let Some(e) = &a.end_user {
                    assert!(!e.is_empty() && e.len() <= MAX_END_USER_LEN);
                }
            }
            (Err(InspectError::Body(a)), Ok(Err(b))) => {
                assert_eq!(a.message, b.message);
                assert_eq!(a.param, b.param);
            }
            (Err(InspectError::Json(_)), Err(_)) => {}
            // A key given twice: refused by the byte reader alone (a
            // `Value` keeps the last), and as soon as it is seen, before a
            // syntax error further on.
            (Err(InspectError::DuplicateKey { key }), _) => {
                assert!(key.len() <= data.len());
            }
            (a, b) => panic!("the readers disagree: {a:?} / {b:?}"),
        }
    }
});
