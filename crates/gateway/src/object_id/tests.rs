use super::*;

/// Feeds `body` in pieces of `size` bytes and returns the first answer
/// that is not `NeedMore`, or the answer at the end.
fn watch(mut w: IdWatcher, body: &[u8], size: usize) -> Watch {
    for piece in body.chunks(size.max(1)) {
        let got = w.feed(piece);
        if got != Watch::NeedMore {
            return got;
        }
    }
    w.finish()
}

/// What `make`'s watcher finds in `body`, the same however it is cut.
fn id_in(make: fn() -> IdWatcher, body: &str) -> Watch {
    let whole = watch(make(), body.as_bytes(), body.len());
    for size in [1, 2, 3, 7] {
        assert_eq!(
            watch(make(), body.as_bytes(), size),
            whole,
            "pieces of {size}: {body}"
        );
    }
    whole
}

fn json_id(body: &str) -> Watch {
    id_in(IdWatcher::json, body)
}

fn sse_id(body: &str) -> Watch {
    id_in(IdWatcher::sse, body)
}

fn found(id: &str) -> Watch {
    Watch::Found(id.into())
}

#[test]
fn the_top_level_id_is_read_wherever_it_stands() {
    assert_eq!(
        json_id(r#"{"id": "resp_1", "object": "response"}"#),
        found("resp_1")
    );
    assert_eq!(
        json_id(
            r#" { "object" : "response", "output": [{"id": "msg_9", "x": "}\"{"}], "n": -1.5e3, "ok": true, "id":"resp_2"}"#
        ),
        found("resp_2")
    );
    // An escaped key is the same key.
    assert_eq!(json_id(r#"{"\u0069d": "ftjob-abc"}"#), found("ftjob-abc"));
}

#[test]
fn a_nested_id_is_not_the_objects() {
    assert!(matches!(
        json_id(r#"{"response": {"id": "resp_x"}, "n": 1}"#),
        Watch::GaveUp(_)
    ));
    assert!(matches!(
        json_id(r#"{"data": ["id", {"id": "a"}]}"#),
        Watch::GaveUp(_)
    ));
}

#[test]
fn bodies_without_a_usable_id_are_given_up() {
    for body in [
        r#"[{"id": "resp_1"}]"#,
        r#"{"id": 7}"#,
        r#"{"id": "../../v1/models"}"#,
        r#"{"id": ""}"#,
        r#"{"id": "resp_1"#,
        "",
        "not json",
    ] {
        assert!(matches!(json_id(body), Watch::GaveUp(_)), "{body}");
    }
}

#[test]
fn a_long_id_is_refused_at_its_bound() {
    let long = "r".repeat(MAX_ID_LEN + 1);
    assert!(matches!(
        json_id(&format!(r#"{{"id": "{long}"}}"#)),
        Watch::GaveUp(_)
    ));
    let just = "r".repeat(MAX_ID_LEN);
    assert_eq!(json_id(&format!(r#"{{"id": "{just}"}}"#)), found(&just));
}

#[test]
fn a_body_without_an_id_in_its_first_mib_is_not_watched_further() {
    let mut w = IdWatcher::json();
    let filler = format!(r#"{{"pad": "{}"#, "x".repeat(WATCH_LIMIT));
    assert!(matches!(w.feed(filler.as_bytes()), Watch::GaveUp(_)));
    assert!(matches!(w.feed(br#"", "id": "resp_1"}"#), Watch::GaveUp(_)));
}

#[test]
fn the_stream_id_is_that_of_response_created() {
    let created = r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_7","object":"response","status":"queued"}}"#;
    assert_eq!(
        sse_id(&format!("event: response.created\ndata: {created}\n\n")),
        found("resp_7")
    );
    // CRLF line ends, a comment first, data split over two lines.
    assert_eq!(
        sse_id(
            ": keep-alive\r\n\r\nevent: response.created\r\ndata: {\"type\":\"response.created\",\r\ndata: \"response\":{\"id\":\"resp_8\"}}\r\n\r\n"
        ),
        found("resp_8")
    );
    // CR alone ends lines too.
    assert_eq!(sse_id(&format!("data:{created}\r\r")), found("resp_7"));
}

#[test]
fn a_stream_without_response_created_is_given_up() {
    let delta = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n";
    assert!(matches!(
        sse_id(&delta.repeat(MAX_EVENTS)),
        Watch::GaveUp(_)
    ));
    assert!(matches!(sse_id(delta), Watch::GaveUp(_)), "ended first");
    let unfinished = "data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\"}}\n";
    assert!(
        matches!(sse_id(unfinished), Watch::GaveUp(_)),
        "an event is read only once a blank line ends it"
    );
}

#[test]
fn ids_fit_a_url_path_segment() {
    assert!(valid_id("resp_0123abc"));
    assert!(valid_id("ftjob-abc"));
    assert!(!valid_id("a/b"));
    assert!(!valid_id("a%2Fb"));
    assert!(!valid_id("a b"));
    assert!(!valid_id(""));
}
