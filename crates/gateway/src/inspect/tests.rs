use super::*;
use serde_json::json;

#[test]
fn reads_features_from_both_shapes() {
    let b = json!({"model": "fable-5", "stream": true, "max_tokens": 9000,
        "tools": [{"type": "function", "function": {"name": "f"}}, {"type": "web_search_preview"}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "x"}}]}]});
    let i = inspect(Api::OpenAi, &b).unwrap();
    assert!(
        i.stream && i.features.contains(Feature::Tools) && i.features.contains(Feature::ImageInput)
    );
    assert!(
        i.tool_types.contains(ToolType::Function) && i.tool_types.contains(ToolType::WebSearch)
    );
    assert_eq!(i.max_tokens, Some(9000));
    let b = json!({"model": "m", "tools": [{"name": "t", "input_schema": {}}, {"type": "computer_20250124"}], "messages": [{"role": "user", "content": [{"type": "document"}]}]});
    let i = inspect(Api::Anthropic, &b).unwrap();
    assert!(
        i.tool_types.contains(ToolType::Function) && i.tool_types.contains(ToolType::ComputerUse)
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

/// The tree-walking reader the byte reader replaced, kept as the reference it
/// must agree with.
fn reference(api: Api, body: &Value) -> Result<Inspected, BodyError> {
    fn tool(api: Api, t: &Value) -> ToolType {
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("");
        tool_type(api, kind, t.get("input_schema").is_some())
    }
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
                tool_types.insert(tool(api, t));
            }
        }
        Some(_) => return Err(bad("`tools` must be a list", Some("tools"))),
    }
    for (key, t) in [
        ("functions", ToolType::Function),
        ("mcp_servers", ToolType::Mcp),
    ] {
        if obj
            .get(key)
            .is_some_and(|f| f.as_array().is_some_and(|a| !a.is_empty()))
        {
            features.insert(Feature::Tools);
            tool_types.insert(t);
        }
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
    if api == Api::OpenAi {
        match obj.get("input") {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(Value::Array(items)) => {
                for m in items {
                    if let Some(Value::Array(parts)) = m.get("content") {
                        for f in parts.iter().filter_map(content_feature) {
                            features.insert(f);
                        }
                    }
                }
            }
            Some(_) => return Err(bad("`input` must be a string or a list", Some("input"))),
        }
    }
    let output_cap = if api == Api::OpenAi {
        cap("max_output_tokens")?
    } else {
        None
    };
    let max_tokens = [
        cap("max_tokens")?,
        cap("max_completion_tokens")?,
        output_cap,
    ]
    .into_iter()
    .flatten()
    .min();
    let names_model = |v: &Value| v.as_object().is_some_and(|m| m.contains_key("model"));
    let router = [
        ("models", obj.contains_key("models")),
        ("fallbacks", obj.contains_key("fallbacks")),
        ("extra_body", obj.get("extra_body").is_some_and(names_model)),
    ];
    // The first present in the body's key order, as the byte reader sees them.
    if let Some((field, _)) = obj
        .keys()
        .filter_map(|k| router.iter().find(|(f, on)| *on && f == k))
        .next()
    {
        return Err(bad(
            format!(
                "`{field}` would let a router choose another model than the `model` decided on; send only `model`"
            ),
            Some(field),
        ));
    }
    let text = |key: &'static str, v: Option<&Value>| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_END_USER_LEN => Err(bad(
            format!("`{key}` is longer than {MAX_END_USER_LEN} bytes"),
            Some(key),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("`{key}` must be a string"), Some(key))),
    };
    let openai = api == Api::OpenAi;
    let safety = text(
        "safety_identifier",
        obj.get("safety_identifier").filter(|_| openai),
    )?;
    let user = text("user", obj.get("user").filter(|_| openai))?;
    let metadata = obj
        .get("metadata")
        .filter(|_| !openai)
        .and_then(Value::as_object)
        .and_then(|m| m.get("user_id"));
    let metadata = text("metadata.user_id", metadata)?;
    let end_user = match (safety, user) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad(
                "`safety_identifier` and `user` name different end users; send one",
                Some("safety_identifier"),
            ));
        }
        (a, b) => a.or(b).or(metadata),
    };
    Ok(Inspected {
        model,
        stream,
        features,
        tool_types,
        max_tokens,
        end_user,
    })
}

#[test]
fn the_end_user_is_read_where_each_api_puts_it() {
    let openai = |b: Value| inspect(Api::OpenAi, &b);
    let anthropic = |b: Value| inspect(Api::Anthropic, &b);
    let named = |r: Result<Inspected, BodyError>| r.unwrap().end_user;
    assert_eq!(
        named(openai(json!({"model": "m", "safety_identifier": "u-1"}))),
        Some("u-1".into())
    );
    assert_eq!(
        named(openai(json!({"model": "m", "user": "u-2"}))),
        Some("u-2".into())
    );
    assert_eq!(
        named(openai(
            json!({"model": "m", "user": "u-3", "safety_identifier": "u-3"})
        )),
        Some("u-3".into())
    );
    assert_eq!(
        named(anthropic(
            json!({"model": "m", "metadata": {"user_id": "u-4"}})
        )),
        Some("u-4".into())
    );
    // Each API's field only: the other's means nothing to its provider.
    assert_eq!(
        named(openai(json!({"model": "m", "metadata": {"user_id": "u"}}))),
        None
    );
    assert_eq!(named(anthropic(json!({"model": "m", "user": "u"}))), None);
    assert_eq!(named(openai(json!({"model": "m", "user": ""}))), None);
    assert_eq!(
        named(anthropic(json!({"model": "m", "metadata": "x"}))),
        None
    );
}

#[test]
fn an_ambiguous_or_malformed_end_user_is_refused_with_its_parameter() {
    let param = |api: Api, b: Value| inspect(api, &b).unwrap_err().param;
    assert_eq!(
        param(
            Api::OpenAi,
            json!({"model": "m", "user": "a", "safety_identifier": "b"})
        ),
        Some("safety_identifier")
    );
    assert_eq!(
        param(Api::OpenAi, json!({"model": "m", "user": 7})),
        Some("user")
    );
    assert_eq!(
        param(
            Api::OpenAi,
            json!({"model": "m", "safety_identifier": ["a"]})
        ),
        Some("safety_identifier")
    );
    assert_eq!(
        param(
            Api::Anthropic,
            json!({"model": "m", "metadata": {"user_id": 7}})
        ),
        Some("metadata.user_id")
    );
    let long = "x".repeat(MAX_END_USER_LEN + 1);
    assert_eq!(
        param(Api::OpenAi, json!({"model": "m", "user": long})),
        Some("user")
    );
    let at_bound = "x".repeat(MAX_END_USER_LEN);
    assert!(inspect(Api::OpenAi, &json!({"model": "m", "user": at_bound})).is_ok());
}

/// Parse into a tree, then the reference reader: what the gateway did before.
fn via_tree(api: Api, body: &[u8]) -> Result<Inspected, (String, Option<&'static str>)> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| (format!("the request body is not valid JSON: {e}"), None))?;
    reference(api, &v).map_err(|e| (e.message, e.param))
}

fn via_bytes(api: Api, body: &[u8]) -> Result<Inspected, (String, Option<&'static str>)> {
    inspect_json(api, body).map_err(|e| {
        let param = match &e {
            InspectError::Body(b) => b.param,
            InspectError::Json(_) | InspectError::DuplicateKey { .. } => None,
        };
        (e.to_string(), param)
    })
}

#[test]
fn the_byte_reader_agrees_with_the_tree_reader() {
    let deep = |n: usize| {
        format!(
            r#"{{"model": "m", "x": {}{}}}"#,
            "[".repeat(n),
            "]".repeat(n)
        )
    };
    let mut bodies: Vec<Vec<u8>> = [
        r#"{"model": "fable-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]}"#,
        r#"{"model": "fable-5", "model": 5}"#,
        r#"{"model": 5, "model": "m"}"#,
        r#"{"model": "fa\u0062le-5", "stream": true}"#,
        r#"{"stream": "yes", "model": 5}"#,
        r#"{"model": "m", "stream": null, "max_tokens": null, "tools": null}"#,
        r#"{"model": null}"#,
        r#"{"model": "m", "max_tokens": -0}"#,
        r#"{"model": "m", "max_tokens": 0}"#,
        r#"{"model": "m", "max_tokens": 1.0}"#,
        r#"{"model": "m", "max_tokens": -1}"#,
        r#"{"model": "m", "max_tokens": 4294967296, "max_completion_tokens": 7}"#,
        r#"{"model": "m", "max_completion_tokens": 18446744073709551615}"#,
        r#"{"model": "m", "max_completion_tokens": 18446744073709551616}"#,
        r#"{"model": "m", "max_tokens": "9"}"#,
        r#"{"model": "m", "messages": null}"#,
        r#"{"model": "m", "messages": "hi"}"#,
        r#"{"model": "m", "messages": [1, "a", null, {"content": "s"}, {"content": [{"type": "image"}, {"type": 5}, 3, {"type": "input_audio", "type": "text"}]}]}"#,
        r#"{"model": "m", "messages": [{"content": [{"type": "file"}], "content": "plain"}]}"#,
        r#"{"model": "m", "messages": [{"content": [{"type": "document"}]}, {"content": [{"type": "input_image"}]}]}"#,
        r#"{"model": "m", "tools": []}"#,
        r#"{"model": "m", "tools": {}}"#,
        r#"{"model": "m", "tools": [1, {"input_schema": null}, {"type": "custom"}, {"type": 7, "input_schema": {}}]}"#,
        r#"{"model": "m", "tools": [{"type": "code_execution_20250522"}, {"type": "computer_20250124"}, {"type": "mcp"}, {"type": "file_search"}, {"type": "code_interpreter"}, {"type": "other"}]}"#,
        r#"{"model": "m", "functions": [], "mcp_servers": {}}"#,
        r#"{"model": "m", "user": "a", "safety_identifier": "a"}"#,
        r#"{"model": "m", "models": ["a", "b"]}"#,
        r#"{"model": "m", "input": "hi", "max_output_tokens": 5, "max_tokens": 9}"#,
        r#"{"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}, {"type": "input_text"}]}]}"#,
        r#"{"model": "m", "input": 5}"#,
        r#"{"model": "m", "input": null, "max_output_tokens": -1}"#,
        r#"{"model": "m", "fallbacks": null, "models": 1}"#,
        r#"{"model": "m", "extra_body": {"model": "other"}}"#,
        r#"{"model": "m", "extra_body": {"temperature": 1}}"#,
        r#"{"model": "m", "extra_body": "model"}"#,
        r#"{"model": "m", "user": "a", "safety_identifier": "b"}"#,
        r#"{"model": "m", "user": "a", "user": 5}"#,
        r#"{"model": "m", "user": null, "safety_identifier": ""}"#,
        r#"{"model": "m", "user": "a"}"#,
        r#"{"model": "m", "metadata": {"user_id": "a", "user_id": "b"}}"#,
        r#"{"model": "m", "metadata": {"user_id": 1}}"#,
        r#"{"model": "m", "metadata": [1], "user": "x"}"#,
        r#"{"model": "m", "metadata": {"user_id": null}, "safety_identifier": 3}"#,
        r#"{"model": "m", "functions": [1], "mcp_servers": [{"url": "x"}]}"#,
        r#"{"model": "m"}   "#,
        r#"{"model": "m"} x"#,
        r#"{"model": "m", "x": "\q"}"#,
        r#"{"model": "m", "x": "\ud800"}"#,
        r#"{"model": "m", "x": 1e999}"#,
        r#"{"model": "m", "x": 01}"#,
        r#"{"model": "m",}"#,
        r#"[1]"#,
        r#""model""#,
        r#"null"#,
        r#""#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bodies.push(b"{\"model\": \"m\", \"x\": \"\xff\"}".to_vec());
    bodies.push(b"{\"model\": \"m\", \"x\": \"a\x01b\"}".to_vec());
    bodies.push(b"{\"model\": \"m\xc3\xa9\"}".to_vec());
    bodies.push(deep(100).into_bytes());
    bodies.push(deep(200).into_bytes());
    let mut twice = 0;
    for body in &bodies {
        for api in [Api::OpenAi, Api::Anthropic] {
            let bytes = via_bytes(api, body);
            // A key given twice is refused by the byte reader alone: a
            // `Value` keeps the last.
            if bytes.as_ref().is_err_and(|(m, _)| m.contains("twice")) {
                twice += 1;
                continue;
            }
            assert_eq!(
                bytes,
                via_tree(api, body),
                "{api:?} {}",
                String::from_utf8_lossy(body)
            );
        }
    }
    assert!(twice >= 8, "{twice} bodies with a key twice");
    // What skipping without parsing would have let through.
    for body in [
        b"{\"model\": \"m\", \"x\": \"\xff\"}".to_vec(),
        deep(200).into_bytes(),
    ] {
        assert!(via_bytes(Api::OpenAi, &body).is_err());
    }
}

#[test]
fn a_key_given_twice_is_refused_however_it_is_spelled() {
    let cases = [
        (r#"{"model": "fable-5", "model": "lyric-4"}"#, "model"),
        (r#"{"model": "lyric-4", "m\u006fdel": "fable-5"}"#, "model"),
        (
            r#"{"model": "m", "stream": false, "stream": true}"#,
            "stream",
        ),
        (r#"{"model": "m", "tools": [], "x": 1, "x": 2}"#, "x"),
        (
            r#"{"model": "m", "messages": [{"content": [{"type": "text", "type": "image_url"}]}]}"#,
            "type",
        ),
        (
            r#"{"model": "m", "messages": [{"content": "a", "c\u006fntent": [{"type": "file"}]}]}"#,
            "content",
        ),
        (
            r#"{"model": "m", "tools": [{"type": "function", "type": "web_search"}]}"#,
            "type",
        ),
    ];
    for (body, key) in cases {
        for api in [Api::OpenAi, Api::Anthropic] {
            match inspect_json(api, body.as_bytes()) {
                Err(InspectError::DuplicateKey { key: k }) => assert_eq!(k, key, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
    let e = inspect_json(
        Api::Anthropic,
        br#"{"model": "m", "metadata": {"user_id": "a", "user_id": "b"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.param(), Some("user_id"));
    assert!(e.to_string().contains("`user_id` twice"), "{e}");
    // Unread objects deeper in may repeat keys: they are the upstream's.
    inspect_json(
        Api::OpenAi,
        br#"{"model": "m", "response_format": {"a": 1, "a": 2}}"#,
    )
    .unwrap();
}

#[test]
fn fields_that_let_a_router_pick_another_model_are_refused() {
    for (body, field) in [
        (r#"{"model": "fable-5", "models": ["lyric-4"]}"#, "models"),
        (
            r#"{"model": "fable-5", "fallbacks": ["lyric-4"]}"#,
            "fallbacks",
        ),
        (
            r#"{"model": "fable-5", "extra_body": {"model": "lyric-4"}}"#,
            "extra_body",
        ),
    ] {
        let e = inspect_json(Api::OpenAi, body.as_bytes()).unwrap_err();
        assert_eq!(e.param(), Some(field), "{body}");
    }
    inspect_json(
        Api::OpenAi,
        br#"{"model": "fable-5", "extra_body": {"seed": 1}}"#,
    )
    .unwrap();
}

#[test]
fn a_responses_body_is_read_and_capped_with_its_own_fields() {
    let b = json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file"}]}],
                   "max_output_tokens": 900, "tools": [{"type": "web_search_preview"}]});
    let i = inspect(Api::OpenAi, &b).unwrap();
    assert!(i.features.contains(Feature::FileInput) && i.features.contains(Feature::Tools));
    assert_eq!(i.max_tokens, Some(900));
    let obligations = Obligations {
        max_tokens: Some(256),
        remove_features: FeatureSet::EMPTY,
    };
    let mut b = json!({"model": "m", "input": "hi"});
    apply(Api::OpenAi, &mut b, &obligations, "fable-5");
    assert_eq!(b["max_output_tokens"], 256, "{b}");
    assert!(b.get("max_completion_tokens").is_none());
    let mut b = json!({"model": "m", "input": "hi", "max_output_tokens": 900});
    apply(Api::OpenAi, &mut b, &obligations, "fable-5");
    assert_eq!(b["max_output_tokens"], 256);
}

#[test]
fn a_key_twice_is_found_among_many_keys_too() {
    let mut body = String::from(r#"{"model": "m""#);
    for k in 0..100 {
        body.push_str(&format!(r#", "k{k}": 1"#));
    }
    inspect_json(Api::OpenAi, format!("{body}}}").as_bytes()).unwrap();
    // Past the first 32 keys, and one of the first 32 again.
    for again in ["k90", "k3"] {
        let twice = format!(r#"{body}, "{again}": 2}}"#);
        match inspect_json(Api::OpenAi, twice.as_bytes()) {
            Err(InspectError::DuplicateKey { key }) => assert_eq!(key, again),
            other => panic!("{other:?}"),
        }
    }
}
