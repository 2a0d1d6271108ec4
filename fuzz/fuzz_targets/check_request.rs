//! Arbitrary bytes as the `CheckRequest` Envoy sends over gRPC, decoded
//! with prost as tonic decodes it, then mapped to the original request the
//! gateway decides on.
//!
//! Checks: decoding and mapping never panic; a mapped request has a path
//! starting with `/`, no pseudo-header, a body taken whole from `raw_body`
//! or `body` (never one Envoy marked as cut short), and a `POST` always has
//! a body or Envoy's partial-body marker; every refusal renders, names the
//! right status, and becomes a 400 or 413 in an API's error shape.
#![no_main]

use cordon_envoy::{MapError, Original};
use cordon_gateway::authz;
use envoy_types::ext_authz::v3::pb::CheckRequest;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(check) = CheckRequest::decode(data) else {
        return;
    };
    let http = check
        .attributes
        .as_ref()
        .and_then(|a| a.request.as_ref())
        .and_then(|r| r.http.clone());
    match Original::from_check(check) {
        Ok(o) => {
            let http = http.expect("a mapped request had HTTP attributes");
            assert!(o.path_and_query.starts_with('/'));
            assert_eq!(o.path_and_query, http.path);
            assert!(o.headers.keys().all(|k| !k.as_str().starts_with(':')));
            let expected: &[u8] = if http.raw_body.is_empty() {
                http.body.as_bytes()
            } else {
                &http.raw_body
            };
            assert_eq!(&o.body[..], expected);
            assert!(std::str::from_utf8(&o.body).is_ok());
            let marker = o.headers.get(cordon_envoy::request::PARTIAL_BODY);
            assert!(marker.is_none_or(|v| !v.as_bytes().eq_ignore_ascii_case(b"true")));
            if o.method == axum::http::Method::POST {
                assert!(!o.body.is_empty() || marker.is_some());
            }
            let _ = authz::api_of_path(&o.path_and_query);
        }
        Err(e) => {
            if e == MapError::NoHttp {
                assert!(http.is_none());
            }
            let message = e.to_string();
            assert!(!message.is_empty());
            let path = http.map(|h| h.path).unwrap_or_default();
            let r = authz::malformed(&path, &message, e.cut_off());
            let status = if e.cut_off() { 413 } else { 400 };
            assert_eq!(r.status().as_u16(), status);
        }
    }
});
