//! Arbitrary bytes, as UTF-8 text, into the condition parser.
//!
//! Checks: `condition::parse` never panics, and a syntax error's span is a
//! well-formed byte range inside the input that falls on character boundaries
//! (so `&text[span]` is always safe for callers that quote the offending text).
#![no_main]

use cordon_policy::condition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = condition::parse(text) {
        let span = &e.span;
        assert!(
            span.start <= span.end,
            "inverted span {span:?} for {text:?}: {}",
            e.message
        );
        assert!(
            span.end <= text.len(),
            "span {span:?} past the end ({} bytes) of {text:?}: {}",
            text.len(),
            e.message
        );
        assert!(
            text.get(span.clone()).is_some(),
            "span {span:?} not on character boundaries of {text:?}: {}",
            e.message
        );
        assert!(!e.message.is_empty(), "empty message for {text:?}");
    }
});
