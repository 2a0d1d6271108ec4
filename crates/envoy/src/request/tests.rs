#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test fixtures fail the test loudly"
)]

use envoy_types::pb::envoy::config::core::v3::{HeaderMap as RawHeaders, HeaderValue as Raw};
use envoy_types::pb::envoy::service::auth::v3::AttributeContext;
use envoy_types::pb::envoy::service::auth::v3::attribute_context::Request;

use super::*;

fn check(http: HttpRequest) -> CheckRequest {
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                time: None,
                http: Some(http),
            }),
            ..AttributeContext::default()
        }),
    }
}

fn chat() -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: "/v1/chat/completions?x=1".into(),
        headers: [
            (":path", "/v1/chat/completions?x=1"),
            (":method", "POST"),
            (":authority", "models.example"),
            ("authorization", "Bearer ck_test"),
            ("content-type", "application/json"),
            (PARTIAL_BODY, "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        body: r#"{"model": "fable-5"}"#.into(),
        size: 20,
        ..HttpRequest::default()
    }
}

#[test]
fn a_check_request_becomes_the_original_request_without_pseudo_headers() {
    let o = Original::from_check(check(chat())).unwrap();
    assert_eq!(o.method, Method::POST);
    assert_eq!(o.path_and_query, "/v1/chat/completions?x=1");
    assert_eq!(o.body, Bytes::from_static(br#"{"model": "fable-5"}"#));
    assert_eq!(o.headers["authorization"], "Bearer ck_test");
    assert_eq!(o.headers["content-type"], "application/json");
    assert_eq!(o.headers.len(), 3, "{:?}", o.headers);
}

#[test]
fn raw_body_and_raw_headers_are_used_when_envoy_sends_them() {
    let mut http = chat();
    http.body = String::new();
    http.raw_body = br#"{"model": "lyric-4"}"#.to_vec();
    http.headers.clear();
    http.header_map = Some(RawHeaders {
        headers: vec![
            Raw {
                key: "content-type".into(),
                value: String::new(),
                raw_value: b"application/json".to_vec(),
            },
            Raw {
                key: "x-api-key".into(),
                value: "ck_raw".into(),
                raw_value: Vec::new(),
            },
            Raw {
                key: "accept".into(),
                value: String::new(),
                raw_value: b"a".to_vec(),
            },
            Raw {
                key: "accept".into(),
                value: String::new(),
                raw_value: b"b".to_vec(),
            },
        ],
    });
    let o = Original::from_check(check(http)).unwrap();
    assert_eq!(o.body, Bytes::from_static(br#"{"model": "lyric-4"}"#));
    assert_eq!(o.headers["x-api-key"], "ck_raw");
    let accept: Vec<_> = o.headers.get_all("accept").iter().collect();
    assert_eq!(accept, ["a", "b"], "repeated raw headers stay separate");
}

#[test]
fn a_check_request_without_http_attributes_is_refused() {
    assert_eq!(
        Original::from_check(CheckRequest::default()),
        Err(MapError::NoHttp)
    );
    let no_http = CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request::default()),
            ..AttributeContext::default()
        }),
    };
    assert_eq!(Original::from_check(no_http), Err(MapError::NoHttp));
}

#[test]
fn a_post_without_a_body_is_refused_rather_than_judged_empty() {
    let mut http = chat();
    http.body = String::new();
    http.size = -1;
    http.headers.remove(PARTIAL_BODY);
    let e = Original::from_check(check(http)).unwrap_err();
    assert_eq!(e, MapError::NoBody);
    assert!(e.to_string().contains("`with_request_body`"), "{e}");
    assert!(!e.cut_off());
}

#[test]
fn a_body_cut_short_is_refused() {
    let mut http = chat();
    http.headers.insert(PARTIAL_BODY.into(), "true".into());
    let e = Original::from_check(check(http)).unwrap_err();
    assert_eq!(e, MapError::PartialBody);
    assert!(e.cut_off());
    let mut http = chat();
    http.size = 4096;
    assert_eq!(
        Original::from_check(check(http)),
        Err(MapError::PartialBody),
        "fewer bytes than the request's Content-Length"
    );
}

#[test]
fn a_raw_body_that_is_not_utf8_is_refused() {
    let mut http = chat();
    http.body = String::new();
    http.raw_body = vec![b'{', 0xff, b'}'];
    http.size = 3;
    assert_eq!(Original::from_check(check(http)), Err(MapError::NotUtf8));
}

#[test]
fn bad_methods_paths_and_headers_are_refused_naming_them() {
    let mut http = chat();
    http.method = "PO ST".into();
    assert_eq!(
        Original::from_check(check(http)),
        Err(MapError::Method("PO ST".into()))
    );
    let mut http = chat();
    http.method = String::new();
    assert!(matches!(
        Original::from_check(check(http)),
        Err(MapError::Method(_))
    ));
    let mut http = chat();
    http.path = "v1/chat/completions".into();
    assert_eq!(
        Original::from_check(check(http)),
        Err(MapError::Path("v1/chat/completions".into()))
    );
    let mut http = chat();
    http.headers.insert("bad header".into(), "x".into());
    assert_eq!(
        Original::from_check(check(http)),
        Err(MapError::HeaderName("bad header".into()))
    );
    let mut http = chat();
    http.headers
        .insert("authorization".into(), "Bearer ck_secret\r\nx: y".into());
    let e = Original::from_check(check(http)).unwrap_err();
    assert_eq!(e, MapError::HeaderValue("authorization".into()));
    assert!(
        !e.to_string().contains("ck_secret"),
        "a header value may be a credential and is never repeated: {e}"
    );
}

#[test]
fn a_get_without_a_body_is_passed_on_for_the_gateway_to_refuse_its_route() {
    let mut http = chat();
    http.method = "GET".into();
    http.path = "/v1/models".into();
    http.body = String::new();
    http.size = -1;
    http.headers.remove(PARTIAL_BODY);
    let o = Original::from_check(check(http)).unwrap();
    assert_eq!(o.method, Method::GET);
    assert!(o.body.is_empty());
}
