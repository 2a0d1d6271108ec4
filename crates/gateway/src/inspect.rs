//! Reading what a request asks for, and rewriting it to meet obligations.
//!
//! Only the fields that directives can test are read; prompts and completions
//! are never copied out of the body, logged or stored.

use cordon_policy::{Feature, FeatureSet, Obligations, ToolType, ToolTypeSet};
use std::borrow::Cow;

use scan::Slot;

use serde_json::{Map, Value};

use crate::api_error::Api;

mod form;
mod scan;

pub use form::{FormError, inspect_form, with_model};

/// What a model request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    /// The model name as sent.
    pub model: String,
    /// Whether a stream was requested.
    pub stream: bool,
    /// Features used.
    pub features: FeatureSet,
    /// Tool types declared.
    pub tool_types: ToolTypeSet,
    /// Output cap requested.
    pub max_tokens: Option<u32>,
    /// The end user the body names on the caller's behalf: OpenAI's
    /// `safety_identifier` (or the older `user`), Anthropic's
    /// `metadata.user_id`. `None` when it names none or an empty one.
    pub end_user: Option<String>,
}

/// The longest end-user identifier read, in bytes: OpenAI documents 64
/// characters for `safety_identifier`; anything longer is not an identifier
/// an organisation registered, and must not reach the store or a cache key.
pub const MAX_END_USER_LEN: usize = 256;

/// Why a body cannot be inspected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BodyError {
    /// What is wrong.
    pub message: String,
    /// The offending parameter, if one.
    pub param: Option<&'static str>,
}

fn bad(message: impl Into<String>, param: Option<&'static str>) -> BodyError {
    BodyError {
        message: message.into(),
        param,
    }
}

/// Why a body cannot be read: not JSON at all, or JSON of the wrong shape.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The body is not valid JSON.
    #[error("the request body is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The body is JSON, but not a request directives can be tested on.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// A key is given twice in the request object or in an object whose key
    /// is read: parsers differ on which one counts.
    #[error("the request body gives the key `{key}` twice; send each key once")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

impl InspectError {
    /// The parameter at fault, for the OpenAI error shape's `param`.
    pub fn param(&self) -> Option<&str> {
        match self {
            InspectError::Body(b) => b.param,
            InspectError::DuplicateKey { key } => Some(key),
            InspectError::Json(_) => None,
        }
    }
}

fn scan_error(e: serde_json::Error) -> InspectError {
    match scan::duplicate_key(&e) {
        Some(key) => InspectError::DuplicateKey { key },
        None => InspectError::Json(e),
    }
}

/// The tool type of a `tools` entry, from its `type` (empty when it has none)
/// and whether it has an `input_schema`.
pub(crate) fn tool_type(api: Api, t: &str, has_input_schema: bool) -> ToolType {
    match (api, t) {
        (_, "function") | (Api::Anthropic, "custom") => ToolType::Function,
        // Anthropic custom tools carry no type, only a name and an input schema.
        (Api::Anthropic, "") if has_input_schema => ToolType::Function,
        (_, t) if t.starts_with("web_search") => ToolType::WebSearch,
        (_, "code_interpreter") => ToolType::CodeExecution,
        (_, t) if t.starts_with("code_execution") => ToolType::CodeExecution,
        (_, "file_search") => ToolType::FileSearch,
        (_, t) if t.starts_with("computer") => ToolType::ComputerUse,
        (_, "mcp") => ToolType::Mcp,
        _ => ToolType::Other,
    }
}

/// The input feature a content part of this `type` uses.
fn part_feature(t: &str) -> Option<Feature> {
    match t {
        "image_url" | "input_image" | "image" => Some(Feature::ImageInput),
        "file" | "input_file" | "document" => Some(Feature::FileInput),
        "input_audio" | "audio" => Some(Feature::AudioInput),
        _ => None,
    }
}

fn content_feature(part: &Value) -> Option<Feature> {
    part_feature(part.get("type").and_then(Value::as_str)?)
}

/// Reads the request fields directives can test from a parsed body.
///
/// # Errors
/// A message for a body that is not an object, lacks `model`, or has fields of the wrong type.
pub fn inspect(api: Api, body: &Value) -> Result<Inspected, BodyError> {
    match scan::fields(api, body) {
        Ok(fields) => validate(fields),
        // Reading a `Value` cannot fail: every shape is accepted and classified.
        Err(e) => Err(bad(e.to_string(), None)),
    }
}

/// Reads the request fields directives can test straight from the body's
/// bytes, without building a `serde_json::Value`.
///
/// Accepts and rejects exactly the bodies that parsing into a `Value` and
/// calling [`inspect`] would, with the same messages, except that a key
/// given twice is refused ([`InspectError::DuplicateKey`]) where a `Value`
/// keeps the last.
///
/// # Errors
/// [`InspectError::Json`] for a body that is not JSON, [`InspectError::Body`]
/// for one [`inspect`] rejects.
pub fn inspect_json(api: Api, body: &[u8]) -> Result<Inspected, InspectError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let fields = scan::fields(api, &mut de).map_err(scan_error)?;
    de.end()?;
    Ok(validate(fields)?)
}

/// Checks the fields in a fixed order, so the first error reported does not
/// depend on the order of keys in the body.
fn validate(fields: Option<scan::Fields<'_>>) -> Result<Inspected, BodyError> {
    let f = fields.ok_or_else(|| bad("the request body must be a JSON object", None))?;
    let model = match f.model {
        Slot::Is(m) => m.into_owned(),
        Slot::Null | Slot::Wrong => return Err(bad("`model` must be a string", Some("model"))),
        Slot::Absent => return Err(bad("missing required parameter `model`", Some("model"))),
    };
    let stream = match f.stream {
        Slot::Absent | Slot::Null => false,
        Slot::Is(b) => b,
        Slot::Wrong => return Err(bad("`stream` must be true or false", Some("stream"))),
    };
    let mut features = FeatureSet::EMPTY;
    let mut tool_types = ToolTypeSet::EMPTY;
    if stream {
        features.insert(Feature::Streaming);
    }
    match f.tools {
        Slot::Absent | Slot::Null => {}
        Slot::Is(types) => {
            if f.any_tool {
                features.insert(Feature::Tools);
            }
            for t in types.iter() {
                tool_types.insert(t);
            }
        }
        Slot::Wrong => return Err(bad("`tools` must be a list", Some("tools"))),
    }
    if f.functions {
        features.insert(Feature::Tools);
        tool_types.insert(ToolType::Function);
    }
    if f.mcp_servers {
        features.insert(Feature::Tools);
        tool_types.insert(ToolType::Mcp);
    }
    match f.messages {
        Slot::Absent => {}
        Slot::Is(used) => {
            for x in used.iter() {
                features.insert(x);
            }
        }
        Slot::Null | Slot::Wrong => {
            return Err(bad("`messages` must be a list", Some("messages")));
        }
    }
    let cap = |key: &'static str, slot: Slot<u64>| -> Result<Option<u32>, BodyError> {
        match slot {
            Slot::Absent | Slot::Null => Ok(None),
            Slot::Is(n) => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
            Slot::Wrong => Err(bad(
                format!("`{key}` must be a non-negative integer"),
                Some(key),
            )),
        }
    };
    match f.input {
        Slot::Absent | Slot::Null => {}
        Slot::Is(used) => {
            for x in used.iter() {
                features.insert(x);
            }
        }
        Slot::Wrong => {
            return Err(bad("`input` must be a string or a list", Some("input")));
        }
    }
    let max_tokens = [
        cap("max_tokens", f.max_tokens)?,
        cap("max_completion_tokens", f.max_completion_tokens)?,
        cap("max_output_tokens", f.max_output_tokens)?,
    ]
    .into_iter()
    .flatten()
    .min();
    if let Some(field) = f.router {
        return Err(bad(
            format!(
                "`{field}` would let a router choose another model than the `model` decided on; send only `model`"
            ),
            Some(field),
        ));
    }
    let end_user = end_user(f.safety_identifier, f.user, f.metadata_user_id)?;
    Ok(Inspected {
        model,
        stream,
        features,
        tool_types,
        max_tokens,
        end_user,
    })
}

/// The end user a body names. `safety_identifier` and `user` may both be
/// sent (SDKs in transition do), but then they must agree: the decision must
/// be about the one person the provider will attribute the request to.
fn end_user(
    safety_identifier: Slot<Cow<'_, str>>,
    user: Slot<Cow<'_, str>>,
    metadata_user_id: Slot<Cow<'_, str>>,
) -> Result<Option<String>, BodyError> {
    let read = |key: &'static str, slot: Slot<Cow<'_, str>>| match slot {
        Slot::Absent | Slot::Null => Ok(None),
        Slot::Is(s) if s.is_empty() => Ok(None),
        Slot::Is(s) if s.len() > MAX_END_USER_LEN => Err(bad(
            format!("`{key}` is longer than {MAX_END_USER_LEN} bytes"),
            Some(key),
        )),
        Slot::Is(s) => Ok(Some(s.into_owned())),
        Slot::Wrong => Err(bad(format!("`{key}` must be a string"), Some(key))),
    };
    let safety = read("safety_identifier", safety_identifier)?;
    let user = read("user", user)?;
    let metadata = read("metadata.user_id", metadata_user_id)?;
    match (safety, user) {
        (Some(a), Some(b)) if a != b => Err(bad(
            "`safety_identifier` and `user` name different end users; send one",
            Some("safety_identifier"),
        )),
        (a, b) => Ok(a.or(b).or(metadata)),
    }
}

fn strip_parts(messages: Option<&mut Value>, feature: Feature) {
    let Some(Value::Array(messages)) = messages else {
        return;
    };
    for m in messages {
        if let Some(Value::Array(parts)) = m.get_mut("content") {
            parts.retain(|p| content_feature(p) != Some(feature));
        }
    }
}

/// Rewrites the body to satisfy obligations and to name the canonical model.
pub fn apply(api: Api, body: &mut Value, obligations: &Obligations, canonical_model: &str) {
    let Some(obj) = body.as_object_mut() else {
        return;
    };
    obj.insert("model".into(), Value::String(canonical_model.to_owned()));
    if let Some(cap) = obligations.max_tokens {
        cap_tokens(api, obj, cap);
    }
    for f in obligations.remove_features.iter() {
        match f {
            Feature::Tools => {
                for key in [
                    "tools",
                    "tool_choice",
                    "functions",
                    "function_call",
                    "parallel_tool_calls",
                    "mcp_servers",
                ] {
                    obj.remove(key);
                }
            }
            Feature::Streaming => {
                obj.insert("stream".into(), Value::Bool(false));
                obj.remove("stream_options");
            }
            Feature::ImageInput | Feature::FileInput | Feature::AudioInput => {
                strip_parts(obj.get_mut("messages"), f)
            }
            Feature::FineTuning | Feature::Batch => {}
        }
    }
}

fn cap_tokens(api: Api, obj: &mut Map<String, Value>, cap: u32) {
    let mut capped_any = false;
    for key in [
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "max_tokens_to_sample",
    ] {
        if let Some(v) = obj.get_mut(key) {
            let current = v.as_u64().unwrap_or(u64::MAX);
            *v = Value::from(current.min(u64::from(cap)));
            capped_any = true;
        }
    }
    if !capped_any {
        // A Responses body has `input` and no `messages`; its cap is
        // `max_output_tokens`.
        let responses = obj.contains_key("input") && !obj.contains_key("messages");
        let key = match api {
            Api::Anthropic => "max_tokens",
            Api::OpenAi if responses => "max_output_tokens",
            Api::OpenAi => "max_completion_tokens",
        };
        obj.insert(key.into(), Value::from(cap));
    }
}

#[cfg(test)]
mod tests;
