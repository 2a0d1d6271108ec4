//! Model endpoints that take a form: audio transcriptions and translations,
//! image edits and variations, decided on the form's `model` field.

use cordon_gateway::multipart::encode;

use super::*;

const BOUNDARY: &str = "cordon-test-boundary";

use cordon_gateway::multipart::PartSpec as FormPart;

impl Harness {
    /// Posts a form of `parts` to `path` with `who`'s key.
    pub(super) async fn form(&self, who: &str, path: &str, parts: &[FormPart<'_>]) -> Reply {
        let auth = format!("Bearer {}", self.key(who));
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        self.send(
            "POST",
            path,
            &[("authorization", &auth), ("content-type", &ct)],
            encode(BOUNDARY, parts),
        )
        .await
    }

    /// Posts a transcription of a small file with `model`.
    async fn transcribe(&self, who: &str, model: &str) -> Reply {
        self.form(who, "/v1/audio/transcriptions", &audio(model))
            .await
    }
}

/// A form for an audio endpoint naming `model`.
fn audio(model: &str) -> Vec<FormPart<'_>> {
    vec![
        (
            "file",
            Some("hello.wav"),
            Some("audio/wav"),
            b"RIFF\x00\x01fake",
        ),
        ("model", None, None, model.as_bytes()),
        ("response_format", None, None, b"json"),
    ]
}

fn last_seen(h: &Harness) -> Value {
    h.mock.state.last_body.lock().unwrap().clone().unwrap()
}

#[tokio::test]
async fn a_transcription_is_decided_on_its_model_field_and_forwarded_with_the_canonical_id() {
    let h = start(Setup::default()).await;
    let r = h.transcribe("us-citizen", "Fable").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["text"], mock::REPLY);
    assert!(r.header("x-cordon-decision-id").starts_with("dec_"));
    let seen = last_seen(&h);
    assert_eq!(seen["model"], "fable-5", "the alias was rewritten in place");
    assert_eq!(seen["response_format"], "json");
    assert_eq!(seen["files"][0]["filename"], "hello.wav");
    assert_eq!(
        seen["files"][0]["bytes"], 10,
        "the file went through untouched"
    );
    let r = h
        .form("us-citizen", "/v1/audio/translations", &audio("lyric-4"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn a_refused_model_in_a_form_is_a_451_and_never_reaches_the_upstream() {
    let h = start(Setup::default()).await;
    let r = h.transcribe("foreign-national", "fable-5").await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "cordon_denied");
    assert_eq!(
        r.header("x-cordon-directive"),
        "foreign-national-frontier-2026"
    );
    let r = h
        .form(
            "foreign-national",
            "/v1/images/edits",
            &[
                ("image", Some("a.png"), Some("image/png"), b"PNG"),
                ("prompt", None, None, b"a cat"),
                ("model", None, None, b"mythos-5"),
            ],
        )
        .await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(h.upstream_requests(), 0);
    let r = h
        .form(
            "foreign-national",
            "/v1/images/variations",
            &[
                ("image", Some("a.png"), Some("image/png"), b"PNG"),
                ("model", None, None, b"lyric-4"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["data"][0]["b64_json"].is_string());
}

#[tokio::test]
async fn a_missing_repeated_or_nested_model_is_a_400_naming_the_field() {
    let h = start(Setup::default()).await;
    let file: FormPart = ("file", Some("a.wav"), None, b"RIFF");
    let cases: Vec<(Vec<FormPart>, &str)> = vec![
        (vec![file], "model"),
        (
            vec![
                file,
                ("model", None, None, b"lyric-4"),
                ("model", None, None, b"fable-5"),
            ],
            "model",
        ),
        (
            vec![
                file,
                ("model", None, None, b"lyric-4"),
                ("svg[model]", None, None, b"fable-5"),
            ],
            "svg[model]",
        ),
        (
            vec![
                file,
                ("model", None, None, b"lyric-4"),
                ("stream", None, None, b"maybe"),
            ],
            "stream",
        ),
    ];
    for (parts, param) in cases {
        let r = h
            .form("us-citizen", "/v1/audio/transcriptions", &parts)
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert_eq!(r.json()["error"]["param"], param, "{}", r.text());
        assert!(r.header("x-cordon-decision-id").starts_with("dec_"));
    }
    // A JSON body where a form is expected, and a cut-off form.
    let r = h
        .post(
            "us-citizen",
            "/v1/audio/transcriptions",
            json!({"model": "lyric-4"}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("multipart/form-data"), "{}", r.text());
    let auth = format!("Bearer {}", h.key("us-citizen"));
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut cut = encode(BOUNDARY, &audio("lyric-4"));
    cut.truncate(cut.len() - 10);
    let r = h
        .send(
            "POST",
            "/v1/audio/transcriptions",
            &[("authorization", &auth), ("content-type", &ct)],
            cut,
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("not closed by the boundary"),
        "{}",
        r.text()
    );
    assert_eq!(h.upstream_requests(), 0);
}

#[tokio::test]
async fn obligations_a_form_cannot_meet_refuse_it_with_what_it_lacks() {
    let (h, dir) = start_partial("forms").await;
    // The partial order caps output tokens: a transcription has no cap to set.
    let r = h.transcribe("foreign-national", "fable-5").await;
    assert_eq!(r.status, 451, "{}", r.text());
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("at most 4096 output tokens"), "{message}");
    assert!(r.header("x-cordon-decision-id").starts_with("dec_"));
    assert_eq!(h.upstream_requests(), 0);
    // Unrestricted for a U.S. person.
    let r = h.transcribe("us-citizen", "fable-5").await;
    assert_eq!(r.status, 200, "{}", r.text());
    std::fs::remove_dir_all(&dir).unwrap();
}
