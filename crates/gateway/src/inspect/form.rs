//! What a `multipart/form-data` model request asks for: audio to transcribe
//! or translate, images to edit or vary. The model is its `model` field; the
//! input the endpoint takes (audio, images) is the feature it uses.

use cordon_policy::{Endpoint, Feature, FeatureSet, ToolTypeSet};

use super::Inspected;
use super::scan::Slot;
use crate::multipart::{self, Form, MultipartError};

/// Why a form cannot be inspected; `param` names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FormError {
    /// What is wrong.
    pub message: String,
    /// The field at fault, if one.
    pub param: Option<String>,
}

impl From<MultipartError> for FormError {
    fn from(e: MultipartError) -> Self {
        FormError {
            param: e.param().map(str::to_owned),
            message: e.to_string(),
        }
    }
}

fn bad(message: impl Into<String>, param: &str) -> FormError {
    FormError {
        message: message.into(),
        param: Some(param.to_owned()),
    }
}

/// Reads what a multipart request to `endpoint` asks for from its
/// `Content-Type` and body.
///
/// The model is the text field `model`, required (a provider would pick a
/// model nobody decided on). A field naming another model inside an
/// object (`svg[model]`) is refused, as a router field is in a JSON body.
/// The endpoint's own input is its feature: audio input for audio, image
/// input for images; `stream=true` adds streaming; `safety_identifier` or
/// `user` name the end user as in a JSON body.
///
/// # Errors
/// A [`FormError`] for a body that is not a form, or a missing, repeated
/// or malformed field.
pub fn inspect_form(
    endpoint: Endpoint,
    content_type: &str,
    body: &[u8],
) -> Result<Inspected, FormError> {
    let form = multipart::parse(content_type, body)?;
    let model = form
        .text(body, "model")?
        .ok_or_else(|| bad("missing required parameter `model`", "model"))?
        .to_owned();
    if let Some(p) = form.parts.iter().find(|p| p.name.ends_with("[model]")) {
        return Err(bad(
            format!(
                "`{}` would let another model than the `model` decided on serve the request; send only `model`",
                p.name
            ),
            &p.name,
        ));
    }
    let mut features = FeatureSet::EMPTY;
    match endpoint {
        Endpoint::Audio => features.insert(Feature::AudioInput),
        Endpoint::Images => features.insert(Feature::ImageInput),
        _ => {}
    }
    let stream = match form.text(body, "stream")? {
        None => false,
        Some(s) if s.eq_ignore_ascii_case("true") => true,
        Some(s) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(bad("`stream` must be true or false", "stream")),
    };
    if stream {
        features.insert(Feature::Streaming);
    }
    let slot = |name: &str| -> Result<Slot<std::borrow::Cow<'_, str>>, FormError> {
        Ok(form
            .text(body, name)?
            .map_or(Slot::Absent, |s| Slot::Is(s.into())))
    };
    let end_user = super::end_user(slot("safety_identifier")?, slot("user")?, Slot::Absent)
        .map_err(|e| FormError {
            message: e.message,
            param: e.param.map(str::to_owned),
        })?;
    Ok(Inspected {
        model,
        stream,
        features,
        tool_types: ToolTypeSet::EMPTY,
        max_tokens: None,
        end_user,
    })
}

/// The form `body` with its `model` field's value replaced by `model`,
/// every other byte as sent: a model named by an alias goes upstream by its
/// canonical id.
///
/// # Errors
/// A [`FormError`] when the body is not a form with a `model` field, or
/// `model` holds a line break (it could end the part).
pub fn with_model(content_type: &str, body: &[u8], model: &str) -> Result<Vec<u8>, FormError> {
    let form: Form = multipart::parse(content_type, body)?;
    let part = form
        .part("model")
        .filter(|p| !p.is_file())
        .ok_or_else(|| bad("missing required parameter `model`", "model"))?;
    if model.contains(['\r', '\n']) {
        return Err(bad("the model id holds a line break", "model"));
    }
    let (before, after) = (
        body.get(..part.value.start).unwrap_or_default(),
        body.get(part.value.end..).unwrap_or_default(),
    );
    let mut out = Vec::with_capacity(body.len() + model.len());
    out.extend_from_slice(before);
    out.extend_from_slice(model.as_bytes());
    out.extend_from_slice(after);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multipart::{PartSpec, encode};

    const CT: &str = "multipart/form-data; boundary=b0";

    fn form(parts: &[PartSpec<'_>]) -> Vec<u8> {
        encode("b0", parts)
    }

    #[test]
    fn an_audio_form_asks_for_its_model_and_audio_input() {
        let b = form(&[
            ("file", Some("a.wav"), Some("audio/wav"), b"RIFF"),
            ("model", None, None, b"fable"),
            ("stream", None, None, b"true"),
        ]);
        let i = inspect_form(Endpoint::Audio, CT, &b).unwrap();
        assert_eq!(i.model, "fable");
        assert!(i.features.contains(Feature::AudioInput));
        assert!(i.features.contains(Feature::Streaming));
        assert!(!i.features.contains(Feature::ImageInput));
        assert_eq!(i.max_tokens, None);
        let i = inspect_form(Endpoint::Images, CT, &b).unwrap();
        assert!(i.features.contains(Feature::ImageInput));
    }

    #[test]
    fn a_missing_or_repeated_model_is_named() {
        let b = form(&[("file", Some("a.wav"), None, b"RIFF")]);
        let e = inspect_form(Endpoint::Audio, CT, &b).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("model"));
        assert!(e.message.contains("`model`"), "{e}");
        let b = form(&[("model", None, None, b"a"), ("model", None, None, b"b")]);
        let e = inspect_form(Endpoint::Audio, CT, &b).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("model"));
        let b = form(&[("model", Some("m.txt"), None, b"a")]);
        let e = inspect_form(Endpoint::Audio, CT, &b).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("model"));
    }

    #[test]
    fn a_model_inside_another_field_is_refused() {
        let b = form(&[
            ("model", None, None, b"a"),
            ("svg[model]", None, None, b"b"),
        ]);
        let e = inspect_form(Endpoint::Images, CT, &b).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("svg[model]"));
    }

    #[test]
    fn the_end_user_and_stream_are_read_like_a_json_body() {
        let b = form(&[
            ("model", None, None, b"a"),
            ("user", None, None, b"u1"),
            ("stream", None, None, b"false"),
        ]);
        let i = inspect_form(Endpoint::Images, CT, &b).unwrap();
        assert_eq!(i.end_user.as_deref(), Some("u1"));
        assert!(!i.stream);
        let b = form(&[
            ("model", None, None, b"a"),
            ("user", None, None, b"u1"),
            ("safety_identifier", None, None, b"u2"),
        ]);
        assert!(inspect_form(Endpoint::Images, CT, &b).is_err());
        let b = form(&[("model", None, None, b"a"), ("stream", None, None, b"yes")]);
        let e = inspect_form(Endpoint::Images, CT, &b).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("stream"));
    }

    #[test]
    fn only_the_model_value_is_rewritten() {
        let b = form(&[
            ("file", Some("a.wav"), None, b"model\r\nlyric"),
            ("model", None, None, b"lyric"),
            ("language", None, None, b"en"),
        ]);
        let out = with_model(CT, &b, "lyric-4").unwrap();
        let expected = form(&[
            ("file", Some("a.wav"), None, b"model\r\nlyric"),
            ("model", None, None, b"lyric-4"),
            ("language", None, None, b"en"),
        ]);
        assert_eq!(out, expected);
    }
}
