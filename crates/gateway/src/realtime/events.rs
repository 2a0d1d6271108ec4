//! The client events of a realtime session that directives care about.
//!
//! A realtime session is decided when it opens, on its model. Afterwards
//! the client's events can still declare tools (`session.update`,
//! `response.create`), raise the output cap, name a transcription model or
//! try another model; those events are read here so that each is decided
//! before it reaches the upstream. Every other event (audio, conversation
//! items) passes unread but for its `type`.
//!
//! An event is parsed whole and a key given twice anywhere in it is refused:
//! the upstream must read what the decision read.

use cordon_policy::ToolTypeSet;
use serde_json::{Map, Value};

use crate::api_error::Api;

/// A client event, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientEvent {
    /// Its `type`.
    pub kind: Kind,
    /// The client's `event_id`, echoed in an error about it.
    pub event_id: Option<String>,
    value: Value,
}

/// The kinds of event that can change what a session is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `session.update` (and the beta `transcription_session.update`).
    SessionUpdate,
    /// `response.create`.
    ResponseCreate,
    /// Anything else: passed on as sent.
    Other,
}

impl Kind {
    /// The object within the event that carries the settings.
    fn settings_key(self) -> Option<&'static str> {
        match self {
            Kind::SessionUpdate => Some("session"),
            Kind::ResponseCreate => Some("response"),
            Kind::Other => None,
        }
    }
}

/// What an event asks for that a decision must cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asks {
    /// A session model the event names (`session.model`).
    pub model: Option<String>,
    /// Transcription models the event names, with where.
    pub transcription_models: Vec<(&'static str, String)>,
    /// The tool types it declares; empty when it declares none.
    pub tools: ToolTypeSet,
    /// Whether it declares any tool at all.
    pub any_tool: bool,
}

/// Why a client event is refused before anything is decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Not a JSON object, or a key given twice.
    #[error("the event is not a JSON object with each key once: {0}")]
    Json(String),
    /// No string `type`.
    #[error("the event has no string `type`")]
    NoType,
    /// A field the gateway reads has the wrong shape.
    #[error("`{0}` has the wrong type")]
    Shape(&'static str),
}

/// Where a transcription model may be named, GA and beta.
const TRANSCRIPTION_PATHS: [(&str, &[&str]); 2] = [
    (
        "session.audio.input.transcription.model",
        &["audio", "input", "transcription", "model"],
    ),
    (
        "session.input_audio_transcription.model",
        &["input_audio_transcription", "model"],
    ),
];

/// The output caps an event may set, GA and beta names.
const CAP_KEYS: [&str; 2] = ["max_output_tokens", "max_response_output_tokens"];

/// Parses a client event's text.
///
/// # Errors
/// [`EventError`] for text that is not one JSON object with a string
/// `type` and each key once.
pub fn parse(text: &[u8]) -> Result<ClientEvent, EventError> {
    let value = cordon_verification::oidc::strict_json(text).map_err(EventError::Json)?;
    let Value::Object(obj) = &value else {
        return Err(EventError::Json("not an object".into()));
    };
    let kind = match obj.get("type").and_then(Value::as_str) {
        Some("session.update" | "transcription_session.update") => Kind::SessionUpdate,
        Some("response.create") => Kind::ResponseCreate,
        Some(_) => Kind::Other,
        None => return Err(EventError::NoType),
    };
    let event_id = obj
        .get("event_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let event = ClientEvent {
        kind,
        event_id,
        value,
    };
    // Reject shapes the gateway would misread now, not when deciding.
    event.asks()?;
    Ok(event)
}

impl ClientEvent {
    fn settings(&self) -> Option<&Map<String, Value>> {
        self.value.get(self.kind.settings_key()?)?.as_object()
    }

    fn settings_mut(&mut self) -> Option<&mut Map<String, Value>> {
        let key = self.kind.settings_key()?;
        self.value.get_mut(key)?.as_object_mut()
    }

    /// What the event asks for that a decision must cover.
    ///
    /// # Errors
    /// [`EventError::Shape`] for a field of the wrong type.
    pub fn asks(&self) -> Result<Asks, EventError> {
        let mut asks = Asks::default();
        if let Some(key) = self.kind.settings_key()
            && let Some(v) = self.value.get(key)
            && !v.is_object()
            && !v.is_null()
        {
            return Err(EventError::Shape(match self.kind {
                Kind::SessionUpdate => "session",
                _ => "response",
            }));
        }
        let Some(settings) = self.settings() else {
            return Ok(asks);
        };
        if self.kind == Kind::SessionUpdate {
            match settings.get("model") {
                None | Some(Value::Null) => {}
                Some(Value::String(m)) => asks.model = Some(m.clone()),
                Some(_) => return Err(EventError::Shape("session.model")),
            }
            for (param, path) in TRANSCRIPTION_PATHS {
                let mut at = Some(settings);
                let (last, parents) = path.split_last().unwrap_or((&"", &[]));
                for p in parents {
                    at = at.and_then(|o| o.get(*p)).and_then(Value::as_object);
                }
                match at.and_then(|o| o.get(*last)) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(m)) => asks.transcription_models.push((param, m.clone())),
                    Some(_) => return Err(EventError::Shape(param)),
                }
            }
        }
        match settings.get("tools") {
            None | Some(Value::Null) => {}
            Some(Value::Array(tools)) => {
                for t in tools {
                    let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
                    asks.tools
                        .insert(crate::inspect::tool_type(Api::OpenAi, kind, false));
                    asks.any_tool = true;
                }
            }
            Some(_) => {
                return Err(EventError::Shape(match self.kind {
                    Kind::SessionUpdate => "session.tools",
                    _ => "response.tools",
                }));
            }
        }
        Ok(asks)
    }

    /// Removes the tools the event declares (a decision removed the feature).
    pub fn strip_tools(&mut self) {
        if let Some(s) = self.settings_mut() {
            s.remove("tools");
            s.remove("tool_choice");
        }
    }

    /// Lowers any output cap the event sets above `cap` (or to `"inf"`) to `cap`.
    /// Returns whether the event changed.
    pub fn cap(&mut self, cap: u32) -> bool {
        let Some(s) = self.settings_mut() else {
            return false;
        };
        let mut changed = false;
        for key in CAP_KEYS {
            if let Some(v) = s.get_mut(key)
                && v.as_u64().is_none_or(|n| n > u64::from(cap))
            {
                *v = Value::from(cap);
                changed = true;
            }
        }
        changed
    }

    /// The event as text to send on.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.value).unwrap_or_default()
    }
}

/// The event the gateway sends upstream first when a session's decision
/// caps its output: the session's own cap, before any client event.
pub fn cap_session(cap: u32) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": "session.update",
        "event_id": "evt_cordon_cap",
        "session": { "type": "realtime", "max_output_tokens": cap },
    }))
    .unwrap_or_default()
}

/// An `error` server event, as the realtime API sends them, about the
/// client event `about`.
pub fn error_event(code: &str, message: &str, param: Option<&str>, about: Option<&str>) -> Vec<u8> {
    let id = crate::proxy::fresh_id("evt");
    serde_json::to_vec(&serde_json::json!({
        "type": "error",
        "event_id": id,
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": param,
            "event_id": about,
        },
    }))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use cordon_policy::ToolType;

    use super::*;

    #[test]
    fn a_session_update_names_its_model_tools_and_transcription_model() {
        let e = parse(
            br#"{"type":"session.update","event_id":"e1","session":{"type":"realtime","model":"fable-5",
                "tools":[{"type":"function","name":"f"},{"type":"mcp","server_url":"https://x"}],
                "audio":{"input":{"transcription":{"model":"whisper-1"}}}}}"#,
        )
        .unwrap();
        assert_eq!(e.kind, Kind::SessionUpdate);
        assert_eq!(e.event_id.as_deref(), Some("e1"));
        let a = e.asks().unwrap();
        assert_eq!(a.model.as_deref(), Some("fable-5"));
        assert!(a.any_tool);
        assert!(a.tools.contains(ToolType::Function) && a.tools.contains(ToolType::Mcp));
        assert_eq!(
            a.transcription_models,
            vec![(
                "session.audio.input.transcription.model",
                "whisper-1".to_owned()
            )]
        );
    }

    #[test]
    fn a_key_given_twice_anywhere_is_refused() {
        for text in [
            r#"{"type":"input_audio_buffer.append","type":"session.update","session":{"tools":[{"type":"function"}]}}"#,
            r#"{"type":"session.update","session":{"tools":[],"tools":[{"type":"function"}]}}"#,
            r#"{"type":"response.create","response":{"tools":[{"type":"mcp","type":"function"}]}}"#,
        ] {
            assert!(
                matches!(parse(text.as_bytes()), Err(EventError::Json(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn shapes_the_gateway_would_misread_are_refused() {
        assert_eq!(parse(br#"{"event_id":"x"}"#), Err(EventError::NoType));
        assert_eq!(
            parse(br#"{"type":"session.update","session":{"tools":{"type":"function"}}}"#),
            Err(EventError::Shape("session.tools"))
        );
        assert_eq!(
            parse(br#"{"type":"session.update","session":{"model":5}}"#),
            Err(EventError::Shape("session.model"))
        );
        assert_eq!(
            parse(br#"{"type":"response.create","response":"x"}"#),
            Err(EventError::Shape("response"))
        );
        assert!(parse(b"[1]").is_err());
        assert!(parse(b"{} {}").is_err());
    }

    #[test]
    fn other_events_pass_unread_and_unchanged() {
        let text = br#"{"type":"input_audio_buffer.append","audio":"AAAA"}"#;
        let e = parse(text).unwrap();
        assert_eq!(e.kind, Kind::Other);
        assert_eq!(e.asks().unwrap(), Asks::default());
        assert_eq!(
            serde_json::from_slice::<Value>(&e.to_bytes()).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
    }

    #[test]
    fn a_cap_lowers_larger_and_infinite_limits_only() {
        let mut e = parse(
            br#"{"type":"response.create","response":{"max_output_tokens":"inf","tools":[{"type":"function"}]}}"#,
        )
        .unwrap();
        assert!(e.cap(100));
        e.strip_tools();
        let v: Value = serde_json::from_slice(&e.to_bytes()).unwrap();
        assert_eq!(v["response"]["max_output_tokens"], 100);
        assert!(v["response"].get("tools").is_none());
        let mut small =
            parse(br#"{"type":"session.update","session":{"max_response_output_tokens":50}}"#)
                .unwrap();
        assert!(!small.cap(100));
    }
}
