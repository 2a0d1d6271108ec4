//! The lines of an OpenAI batch input file (JSONL): each one request,
//! `{"custom_id", "method", "url", "body"}`, whose body names its own
//! model. Each line is read as the request it is, and only what a decision
//! needs is kept (custom id, url, model, features, tool types, token cap,
//! end user): never the prompt.

use std::collections::HashMap;

use cordon_policy::{Feature, FeatureSet, ToolType, ToolTypeSet};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::api_error::Api;
use crate::inspect::{self, Inspected};

/// The endpoints a batch line may call (those OpenAI batches take and the
/// gateway decides).
pub(crate) const BATCH_URLS: [&str; 7] = [
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
];

/// The most lines a batch input file may hold (OpenAI's own limit).
pub(crate) const MAX_LINES: usize = 50_000;

/// The longest `custom_id` kept, in bytes.
pub(crate) const MAX_CUSTOM_ID_LEN: usize = 512;

/// What one line of a batch input file asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The line's number in the file, from 1.
    pub number: usize,
    /// The caller's id for the request.
    pub custom_id: String,
    /// The endpoint it calls.
    pub url: String,
    /// What its body asks for.
    pub inspected: Inspected,
}

/// Why a batch input file is refused: the line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the batch input file: {message}")]
pub(crate) struct LineError {
    /// The line, from 1 (0 for the file as a whole).
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw<'a> {
    custom_id: String,
    method: String,
    url: String,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// serde's message without its position, which counts within the line.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_owned(),
        None => text,
    }
}

/// Reads every line of a batch input file; blank lines are skipped.
///
/// # Errors
/// The first bad line: not JSON, a key given twice or unknown, a method
/// other than `POST`, a url that is not a batch endpoint, a body without a
/// model (or that a model request may not be), a `custom_id` used before.
pub(crate) fn read(content: &[u8]) -> Result<Vec<Line>, LineError> {
    let mut lines = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for (i, raw) in content.split(|b| *b == b'\n').enumerate() {
        let number = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if lines.len() == MAX_LINES {
            return Err(LineError {
                line: number,
                message: format!("a batch input file holds at most {MAX_LINES} requests"),
            });
        }
        let line = one(raw, number)?;
        if let Some(first) = ids.insert(line.custom_id.clone(), number) {
            return Err(LineError {
                line: number,
                message: format!(
                    "`custom_id` `{}` is also on line {first}; each request needs its own",
                    line.custom_id
                ),
            });
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(LineError {
            line: 0,
            message: "the file holds no request".into(),
        });
    }
    Ok(lines)
}

fn one(raw: &[u8], number: usize) -> Result<Line, LineError> {
    let fail = |message: String| LineError {
        line: number,
        message,
    };
    let parsed: Raw<'_> = serde_json::from_slice(raw).map_err(|e| fail(without_position(&e)))?;
    if parsed.custom_id.is_empty() || parsed.custom_id.len() > MAX_CUSTOM_ID_LEN {
        return Err(fail(format!(
            "`custom_id` must be 1 to {MAX_CUSTOM_ID_LEN} bytes"
        )));
    }
    if parsed.method != "POST" {
        return Err(fail("`method` must be `POST`".into()));
    }
    if !BATCH_URLS.contains(&parsed.url.as_str()) {
        return Err(fail(format!(
            "`url` `{}` is not a batch endpoint the gateway decides ({})",
            parsed.url.chars().take(64).collect::<String>(),
            BATCH_URLS.join(", ")
        )));
    }
    let mut inspected =
        inspect::inspect_json(Api::OpenAi, parsed.body.get().as_bytes()).map_err(|e| {
            match e.param() {
                Some(p) => fail(format!("`body.{p}`: {e}")),
                None => fail(format!("`body`: {e}")),
            }
        })?;
    // In a batch an image edit's images are in its JSON body.
    if parsed.url == "/v1/images/edits" {
        inspected.features.insert(Feature::ImageInput);
    }
    Ok(Line {
        number,
        custom_id: parsed.custom_id,
        url: parsed.url,
        inspected,
    })
}

impl Line {
    /// The line as kept in the file's record: what a decision needs, never
    /// the prompt.
    pub(crate) fn summary(&self) -> Value {
        let i = &self.inspected;
        json!({
            "line": self.number,
            "custom_id": self.custom_id,
            "url": self.url,
            "model": i.model,
            "stream": i.stream,
            "features": i.features.iter().map(Feature::as_str).collect::<Vec<_>>(),
            "tool_types": i.tool_types.iter().map(ToolType::as_str).collect::<Vec<_>>(),
            "max_tokens": i.max_tokens,
            "end_user": i.end_user,
        })
    }

    /// A line read back from its summary; `None` when the summary is not
    /// one this gateway wrote (a feature it does not know is not dropped:
    /// the line cannot be decided).
    pub(crate) fn from_summary(v: &Value) -> Option<Line> {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut features = FeatureSet::EMPTY;
        for f in v.get("features")?.as_array()? {
            features.insert(Feature::parse(f.as_str()?)?);
        }
        let mut tool_types = ToolTypeSet::EMPTY;
        for t in v.get("tool_types")?.as_array()? {
            tool_types.insert(ToolType::parse(t.as_str()?)?);
        }
        let max_tokens = match v.get("max_tokens")? {
            Value::Null => None,
            n => Some(u32::try_from(n.as_u64()?).ok()?),
        };
        let end_user = match v.get("end_user")? {
            Value::Null => None,
            s => Some(s.as_str()?.to_owned()),
        };
        Some(Line {
            number: usize::try_from(v.get("line")?.as_u64()?).ok()?,
            custom_id: text("custom_id")?,
            url: text("url")?,
            inspected: Inspected {
                model: text("model")?,
                stream: v.get("stream")?.as_bool()?,
                features,
                tool_types,
                max_tokens,
                end_user,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(custom_id: &str, url: &str, body: &str) -> String {
        format!(
            r#"{{"custom_id": "{custom_id}", "method": "POST", "url": "{url}", "body": {body}}}"#
        )
    }

    fn chat(model: &str) -> String {
        format!(
            r#"{{"model": "{model}", "max_tokens": 50, "tools": [{{"type": "web_search"}}], "messages": [{{"role": "user", "content": "secret prompt"}}]}}"#
        )
    }

    #[test]
    fn each_line_is_read_as_the_request_it_is_and_kept_without_its_prompt() {
        let file = [
            line("a", "/v1/chat/completions", &chat("fable")),
            String::new(),
            line(
                "b",
                "/v1/embeddings",
                r#"{"model": "echo-embed", "input": "x"}"#,
            ),
        ]
        .join("\r\n");
        let lines = read(file.as_bytes()).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].inspected.model, "fable");
        assert_eq!(lines[0].inspected.max_tokens, Some(50));
        assert!(lines[0].inspected.features.contains(Feature::Tools));
        assert!(lines[0].inspected.tool_types.contains(ToolType::WebSearch));
        assert_eq!(lines[1].number, 3);
        assert_eq!(lines[1].url, "/v1/embeddings");
        for l in &lines {
            let s = l.summary();
            assert!(!s.to_string().contains("secret prompt"), "{s}");
            assert_eq!(Line::from_summary(&s).as_ref(), Some(l));
        }
    }

    #[test]
    fn a_bad_line_is_refused_naming_its_number_and_field() {
        let good = line("a", "/v1/chat/completions", &chat("fable"));
        let cases = [
            ("not json".to_owned(), "expected"),
            (
                r#"{"custom_id": "a", "custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}}"#.to_owned(),
                "duplicate field `custom_id`",
            ),
            (
                line("b", "/v1/chat/completions", r#"{"model": "m", "model": "n"}"#),
                "`body.model`",
            ),
            (line("b", "/v1/audio/speech", r#"{"model": "m"}"#), "`url`"),
            (
                line("b", "/v1/chat/completions", r#"{"messages": []}"#),
                "`body.model`",
            ),
            (line("a", "/v1/chat/completions", &chat("m")), "`custom_id` `a` is also on line 1"),
            (
                r#"{"custom_id": "b", "method": "GET", "url": "/v1/chat/completions", "body": {"model": "m"}}"#.to_owned(),
                "`method`",
            ),
            (
                r#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m"}, "model": "x"}"#.to_owned(),
                "unknown field `model`",
            ),
        ];
        for (bad, says) in cases {
            let file = format!("{good}\n{bad}\n");
            let e = read(file.as_bytes()).unwrap_err();
            assert_eq!(e.line, 2, "{e}");
            assert!(e.to_string().contains(says), "{e} should say {says}");
            assert!(
                e.to_string().starts_with("line 2 of the batch input file"),
                "{e}"
            );
        }
        assert_eq!(read(b"\n\n").unwrap_err().line, 0);
    }

    #[test]
    fn an_image_edit_line_uses_image_input() {
        let file = line("a", "/v1/images/edits", r#"{"model": "m", "prompt": "p"}"#);
        let lines = read(file.as_bytes()).unwrap();
        assert!(lines[0].inspected.features.contains(Feature::ImageInput));
    }

    #[test]
    fn a_summary_with_a_feature_this_gateway_does_not_know_is_not_read() {
        let l = read(line("a", "/v1/chat/completions", &chat("m")).as_bytes()).unwrap();
        let mut s = l[0].summary();
        s["features"] = json!(["telepathy"]);
        assert_eq!(Line::from_summary(&s), None);
    }
}
