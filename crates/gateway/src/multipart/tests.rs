use proptest::prelude::*;

use super::*;

const CT: &str = "multipart/form-data; boundary=xyz";

fn body(parts: &[PartSpec<'_>]) -> Vec<u8> {
    encode("xyz", parts)
}

fn err(content_type: &str, body: &[u8]) -> MultipartError {
    parse(content_type, body).unwrap_err()
}

#[test]
fn a_form_of_a_field_and_a_file_is_read_in_place() {
    let b = body(&[
        ("model", None, None, b"lyric-4"),
        (
            "file",
            Some("a.wav"),
            Some("audio/wav"),
            b"RIFF\r\n--xy\r\n",
        ),
    ]);
    let form = parse(CT, &b).unwrap();
    assert_eq!(form.parts.len(), 2);
    assert_eq!(form.text(&b, "model").unwrap(), Some("lyric-4"));
    let file = form.part("file").unwrap();
    assert_eq!(file.filename.as_deref(), Some("a.wav"));
    assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(&b[file.value.clone()], b"RIFF\r\n--xy\r\n");
    assert_eq!(form.text(&b, "absent").unwrap(), None);
    assert_eq!(
        form.text(&b, "file").unwrap_err(),
        MultipartError::NotText {
            name: "file".into()
        }
    );
}

#[test]
fn the_boundary_may_be_quoted_and_the_media_type_any_case() {
    let b = body(&[("model", None, None, b"m")]);
    let form = parse("Multipart/Form-Data; charset=utf-8; boundary=\"xyz\"", &b).unwrap();
    assert_eq!(form.boundary, "xyz");
}

#[test]
fn a_content_type_without_a_good_boundary_is_refused() {
    assert_eq!(err("application/json", b""), MultipartError::NotMultipart);
    assert_eq!(
        err("multipart/form-data", b""),
        MultipartError::MissingBoundary
    );
    assert_eq!(
        err("multipart/form-data; boundary=", b""),
        MultipartError::BadBoundary
    );
    let long = format!("multipart/form-data; boundary={}", "a".repeat(71));
    assert_eq!(err(&long, b""), MultipartError::BadBoundary);
    assert_eq!(
        err("multipart/form-data; boundary=\"a\r\nb\"", b""),
        MultipartError::BadBoundary
    );
    assert!(matches!(
        err("multipart/form-data; boundary=\"open", b""),
        MultipartError::BadContentType(_)
    ));
}

#[test]
fn a_body_without_its_final_boundary_is_refused() {
    let mut b = body(&[("model", None, None, b"m")]);
    b.truncate(b.len() - "--xyz--\r\n".len());
    assert!(matches!(
        err(CT, &b),
        MultipartError::Unterminated { part: 1, .. }
    ));
    // Cut inside the headers.
    assert!(matches!(
        err(CT, b"--xyz\r\nContent-Disposition: form-data; name=\"m\""),
        MultipartError::Unterminated { part: 1, .. }
    ));
}

#[test]
fn a_preamble_or_an_epilogue_is_refused() {
    let b = body(&[("model", None, None, b"m")]);
    let mut pre = b"hello\r\n".to_vec();
    pre.extend_from_slice(&b);
    assert!(matches!(
        err(CT, &pre),
        MultipartError::NoFirstBoundary { .. }
    ));
    let mut post = b.clone();
    post.extend_from_slice(b"more");
    assert_eq!(err(CT, &post), MultipartError::TrailingData);
    // Without the final line break it is still whole.
    assert!(parse(CT, &b[..b.len() - 2]).is_ok());
}

#[test]
fn a_boundary_followed_by_other_text_is_refused() {
    let b = b"--xyz\r\nContent-Disposition: form-data; name=\"m\"\r\n\r\nv\r\n--xyzzy\r\n--xyz--";
    assert!(matches!(err(CT, b), MultipartError::BadDelimiter { .. }));
}

#[test]
fn bad_part_headers_are_refused() {
    let with = |headers: &str| {
        let b = format!("--xyz\r\n{headers}\r\n\r\nv\r\n--xyz--\r\n");
        err(CT, b.as_bytes())
    };
    assert!(matches!(
        with("Content-Type: text/plain"),
        MultipartError::NoDisposition { part: 1 }
    ));
    assert!(matches!(
        with("Content-Disposition form-data"),
        MultipartError::BadHeader { part: 1, .. }
    ));
    assert!(matches!(
        with("Content-Disposition: form-data;\r\n name=\"m\""),
        MultipartError::BadHeader { part: 1, .. }
    ));
    assert!(matches!(
        with("Content-Disposition: attachment; name=\"m\""),
        MultipartError::BadDisposition { part: 1, .. }
    ));
    assert!(matches!(
        with("Content-Disposition: form-data; filename=\"a\""),
        MultipartError::BadDisposition { part: 1, .. }
    ));
    assert!(matches!(
        with("Content-Disposition: form-data; name=\"a\"; name=\"b\""),
        MultipartError::BadDisposition { part: 1, .. }
    ));
    assert!(matches!(
        with(
            "Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\""
        ),
        MultipartError::BadHeader { part: 1, .. }
    ));
    let many = (0..20)
        .map(|i| format!("X-{i}: 1"))
        .chain(["Content-Disposition: form-data; name=\"m\"".to_owned()])
        .collect::<Vec<_>>()
        .join("\r\n");
    assert!(matches!(
        with(&many),
        MultipartError::HeadersTooLarge { part: 1 }
    ));
    let huge = format!("X-Big: {}", "a".repeat(MAX_HEADER_BYTES));
    assert!(matches!(
        with(&huge),
        MultipartError::HeadersTooLarge { part: 1 }
    ));
    // A part with no headers at all.
    assert!(matches!(
        err(CT, b"--xyz\r\n\r\nv\r\n--xyz--"),
        MultipartError::NoDisposition { part: 1 }
    ));
}

#[test]
fn a_text_field_given_twice_is_refused_but_files_and_lists_may_repeat() {
    let b = body(&[("model", None, None, b"a"), ("model", None, None, b"b")]);
    assert_eq!(
        err(CT, &b),
        MultipartError::DuplicateField {
            name: "model".into()
        }
    );
    // A file and a text field of one name: which is the model?
    let b = body(&[
        ("model", Some("m.txt"), None, b"a"),
        ("model", None, None, b"b"),
    ]);
    assert!(matches!(err(CT, &b), MultipartError::DuplicateField { .. }));
    let b = body(&[
        ("image", Some("a.png"), None, b"1"),
        ("image", Some("b.png"), None, b"2"),
        ("include[]", None, None, b"x"),
        ("include[]", None, None, b"y"),
    ]);
    assert_eq!(parse(CT, &b).unwrap().parts.len(), 4);
}

#[test]
fn too_many_parts_are_refused() {
    let names: Vec<String> = (0..=MAX_PARTS).map(|i| format!("f{i}")).collect();
    let parts: Vec<PartSpec<'_>> = names
        .iter()
        .map(|n| (n.as_str(), None, None, &b"v"[..]))
        .collect();
    assert_eq!(
        err(CT, &encode("xyz", &parts)),
        MultipartError::TooManyParts
    );
    assert!(parse(CT, &encode("xyz", &parts[..MAX_PARTS])).is_ok());
}

#[test]
fn quoted_names_are_unescaped() {
    let b = b"--xyz\r\nContent-Disposition: form-data; name=\"a\\\"b\"; filename=\"c:\\\\x.txt\"\r\n\r\nv\r\n--xyz--";
    let form = parse(CT, b).unwrap();
    assert_eq!(form.parts[0].name, "a\"b");
    assert_eq!(form.parts[0].filename.as_deref(), Some("c:\\x.txt"));
}

#[test]
fn an_empty_form_is_a_form() {
    assert!(parse(CT, b"--xyz--\r\n").unwrap().parts.is_empty());
}

fn boundary_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z0-9'()+_,./:=?-]{1,70}"
}

fn part_strategy() -> impl Strategy<Value = (String, Option<String>, Option<String>, Vec<u8>)> {
    (
        "[^\\x00-\\x1f\\x7f-\\x9f]{0,24}",
        proptest::option::of("[^\\x00-\\x1f\\x7f-\\x9f]{0,24}"),
        proptest::option::of("[a-z]{1,8}/[a-z0-9.+-]{1,12}"),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
}

proptest! {
    #[test]
    fn a_body_built_from_parts_parses_back_to_them(
        boundary in boundary_strategy(),
        parts in proptest::collection::vec(part_strategy(), 0..12),
    ) {
        // Unique names (a repeated text field is refused, rightly), and
        // values that do not hold the delimiter (no sender would send them).
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let parts: Vec<_> = parts
            .into_iter()
            .enumerate()
            .map(|(i, (n, f, t, v))| (format!("{i}:{n}"), f, t, v))
            .filter(|p| memchr::memmem::find(&p.3, &delimiter).is_none())
            .collect();
        let borrowed: Vec<PartSpec<'_>> = parts
            .iter()
            .map(|(n, f, t, v)| (n.as_str(), f.as_deref(), t.as_deref(), v.as_slice()))
            .collect();
        let b = encode(&boundary, &borrowed);
        let form = parse(&format!("multipart/form-data; boundary=\"{boundary}\""), &b).unwrap();
        prop_assert_eq!(form.parts.len(), parts.len());
        for (got, (n, f, t, v)) in form.parts.iter().zip(&parts) {
            prop_assert_eq!(&got.name, n);
            prop_assert_eq!(&got.filename, f);
            prop_assert_eq!(&got.content_type, t);
            prop_assert_eq!(&b[got.value.clone()], v.as_slice());
        }
    }

    #[test]
    fn any_bytes_are_read_or_refused_without_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(form) = parse(CT, &body) {
            for p in &form.parts {
                prop_assert!(p.value.end <= body.len());
            }
        }
    }
}
