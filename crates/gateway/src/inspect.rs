//! Reading what a request asks for, and rewriting it to meet obligations.
//!
//! Only the fields that directives can test are read; prompts and completions
//! are never copied out of the body, logged or stored.

use cordon_policy::{Feature, FeatureSet, Obligations, ToolType, ToolTypeSet};
use serde_json::{Map, Value};

use crate::api_error::Api;

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
}

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

fn tool_type(api: Api, tool: &Value) -> ToolType {
    let t = tool.get("type").and_then(Value::as_str).unwrap_or("");
    match (api, t) {
        (_, "function") | (Api::Anthropic, "custom") => ToolType::Function,
        // Anthropic custom tools carry no type, only a name and an input schema.
        (Api::Anthropic, "") if tool.get("input_schema").is_some() => ToolType::Function,
        (_, t) if t.starts_with("web_search") => ToolType::WebSearch,
        (_, "code_interpreter") => ToolType::CodeExecution,
        (_, t) if t.starts_with("code_execution") => ToolType::CodeExecution,
        (_, "file_search") => ToolType::FileSearch,
        (_, t) if t.starts_with("computer") => ToolType::ComputerUse,
        (_, "mcp") => ToolType::Mcp,
        _ => ToolType::Other,
    }
}

fn content_feature(part: &Value) -> Option<Feature> {
    match part.get("type").and_then(Value::as_str)? {
        "image_url" | "input_image" | "image" => Some(Feature::ImageInput),
        "file" | "input_file" | "document" => Some(Feature::FileInput),
        "input_audio" | "audio" => Some(Feature::AudioInput),
        _ => None,
    }
}

/// Reads the request fields directives can test.
///
/// # Errors
/// A message for a body that is not an object, lacks `model`, or has fields of the wrong type.
pub fn inspect(api: Api, body: &Value) -> Result<Inspected, BodyError> {
    let obj = body
        .as_object()
        .ok_or_else(|| bad("the request body must be a JSON object", None))?;
    let model = match obj.get("model") {
        Some(Value::String(m)) => m.clone(),
        Some(_) => return Err(bad("`model` must be a string", Some("model"))),
        None => return Err(bad("missing required parameter `model`", Some("model"))),
    };
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("`stream` must be true or false", Some("stream"))),
    };
    let mut features = FeatureSet::EMPTY;
    let mut tool_types = ToolTypeSet::EMPTY;
    if stream {
        features.insert(Feature::Streaming);
    }
    match obj.get("tools") {
        None | Some(Value::Null) => {}
        Some(Value::Array(tools)) => {
            for t in tools {
                features.insert(Feature::Tools);
                tool_types.insert(tool_type(api, t));
            }
        }
        Some(_) => return Err(bad("`tools` must be a list", Some("tools"))),
    }
    if obj
        .get("functions")
        .is_some_and(|f| f.as_array().is_some_and(|a| !a.is_empty()))
    {
        features.insert(Feature::Tools);
        tool_types.insert(ToolType::Function);
    }
    if obj
        .get("mcp_servers")
        .is_some_and(|f| f.as_array().is_some_and(|a| !a.is_empty()))
    {
        features.insert(Feature::Tools);
        tool_types.insert(ToolType::Mcp);
    }
    let messages = match obj.get("messages") {
        Some(Value::Array(m)) => m.as_slice(),
        None => &[],
        Some(_) => return Err(bad("`messages` must be a list", Some("messages"))),
    };
    for m in messages {
        if let Some(Value::Array(parts)) = m.get("content") {
            for f in parts.iter().filter_map(content_feature) {
                features.insert(f);
            }
        }
    }
    let cap = |key: &'static str| -> Result<Option<u32>, BodyError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(u32::try_from(n).unwrap_or(u32::MAX)))
                .ok_or_else(|| bad(format!("`{key}` must be a non-negative integer"), Some(key))),
        }
    };
    let max_tokens = match (cap("max_tokens")?, cap("max_completion_tokens")?) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(Inspected {
        model,
        stream,
        features,
        tool_types,
        max_tokens,
    })
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
    for key in ["max_tokens", "max_completion_tokens"] {
        if let Some(v) = obj.get_mut(key) {
            let current = v.as_u64().unwrap_or(u64::MAX);
            *v = Value::from(current.min(u64::from(cap)));
            capped_any = true;
        }
    }
    if !capped_any {
        let key = match api {
            Api::Anthropic => "max_tokens",
            Api::OpenAi => "max_completion_tokens",
        };
        obj.insert(key.into(), Value::from(cap));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_features_from_both_shapes() {
        let b = json!({"model": "fable-5", "stream": true, "max_tokens": 9000,
            "tools": [{"type": "function", "function": {"name": "f"}}, {"type": "web_search_preview"}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "x"}}]}]});
        let i = inspect(Api::OpenAi, &b).unwrap();
        assert!(
            i.stream
                && i.features.contains(Feature::Tools)
                && i.features.contains(Feature::ImageInput)
        );
        assert!(
            i.tool_types.contains(ToolType::Function) && i.tool_types.contains(ToolType::WebSearch)
        );
        assert_eq!(i.max_tokens, Some(9000));
        let b = json!({"model": "m", "tools": [{"name": "t", "input_schema": {}}, {"type": "computer_20250124"}], "messages": [{"role": "user", "content": [{"type": "document"}]}]});
        let i = inspect(Api::Anthropic, &b).unwrap();
        assert!(
            i.tool_types.contains(ToolType::Function)
                && i.tool_types.contains(ToolType::ComputerUse)
        );
        assert!(i.features.contains(Feature::FileInput));
    }

    #[test]
    fn rejects_bad_shapes_with_the_parameter() {
        assert_eq!(
            inspect(Api::OpenAi, &json!({})).unwrap_err().param,
            Some("model")
        );
        assert_eq!(
            inspect(Api::OpenAi, &json!({"model": 5}))
                .unwrap_err()
                .param,
            Some("model")
        );
        assert_eq!(
            inspect(Api::OpenAi, &json!({"model": "m", "stream": "yes"}))
                .unwrap_err()
                .param,
            Some("stream")
        );
        assert_eq!(
            inspect(Api::OpenAi, &json!({"model": "m", "max_tokens": -1}))
                .unwrap_err()
                .param,
            Some("max_tokens")
        );
        assert!(inspect(Api::OpenAi, &json!([1])).is_err());
    }

    #[test]
    fn obligations_cap_tokens_and_strip_tools() {
        let obligations = Obligations {
            max_tokens: Some(4096),
            remove_features: [Feature::Tools].into_iter().collect(),
        };
        let mut b = json!({"model": "FABLE", "max_tokens": 9000, "tools": [{"type": "function"}], "tool_choice": "auto"});
        apply(Api::OpenAi, &mut b, &obligations, "fable-5");
        assert_eq!(b, json!({"model": "fable-5", "max_tokens": 4096}));
        let mut b = json!({"model": "fable-5"});
        apply(Api::OpenAi, &mut b, &obligations, "fable-5");
        assert_eq!(b["max_completion_tokens"], 4096);
        let mut b = json!({"model": "fable-5", "max_tokens": 100});
        apply(Api::Anthropic, &mut b, &obligations, "fable-5");
        assert_eq!(b["max_tokens"], 100);
    }
}
