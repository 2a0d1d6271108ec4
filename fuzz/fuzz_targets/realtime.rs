//! Arbitrary bytes as a realtime session's traffic: frame headers from
//! either side, and client event text.
//!
//! Checks: reading a header never panics, and a header it reads lies within
//! the bytes and re-encodes to the same header; a client event it parses
//! re-serialises to text that parses to the same event with the same asks,
//! and capping or stripping tools never makes an event unparsable or its
//! asks wider.
#![no_main]

use cordon_gateway::realtime::events;
use cordon_gateway::realtime::frame::{self, Sender};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for from in [Sender::Client, Sender::Server] {
        if let Ok(Some(h)) = frame::read_header(data, from) {
            assert!(h.header_len <= data.len() && (2..=14).contains(&h.header_len));
            if h.fin && h.len < 1 << 20 {
                let again = frame::encode(h.opcode, &vec![0; h.len as usize], h.mask);
                let back = frame::read_header(&again, from).unwrap().unwrap();
                assert_eq!((back.opcode, back.mask, back.len), (h.opcode, h.mask, h.len));
            }
        }
    }
    if let Ok(mut event) = events::parse(data) {
        let asks = event.asks().unwrap();
        let again = events::parse(&event.to_bytes()).unwrap();
        assert_eq!(again.asks().unwrap(), asks);
        event.strip_tools();
        event.cap(100);
        let changed = events::parse(&event.to_bytes()).unwrap();
        let narrowed = changed.asks().unwrap();
        assert!(!narrowed.any_tool || asks.any_tool);
        assert_eq!(narrowed.model, asks.model);
    }
});
