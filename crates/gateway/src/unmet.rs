//! Obligations a request must already meet as sent, because the gateway
//! cannot make it meet them: an external authoriser cannot rewrite the
//! request, a batch's input file cannot be changed once uploaded, and a
//! form (audio, images) has no field a token cap or a removed input could
//! be written to. Such a request is refused with what it must say instead,
//! never forwarded beyond what was decided.

use cordon_policy::{Decision, Effect, Feature};

use crate::inspect::Inspected;
use crate::model_routes::BodyForm;

/// What a request sent as `form`, asking for `inspected` and allowed by
/// `decision`, must change to meet its obligations, as a sentence for the
/// refusal; `None` when it meets them.
///
/// A JSON body meets a token cap by asking for no more (saying nothing is
/// not meeting it), and a removed feature by not using it. A form has no
/// token cap to set, so a cap is never met by one; nor is removing the
/// input the endpoint exists for (audio for a transcription, an image for
/// an edit).
pub(crate) fn unmet(form: BodyForm, decision: &Decision, inspected: &Inspected) -> Option<String> {
    if decision.effect != Effect::AllowWithObligations {
        return None;
    }
    let o = &decision.obligations;
    let mut limits = Vec::new();
    if let Some(cap) = o.max_tokens {
        match form {
            BodyForm::Json if inspected.max_tokens.is_none_or(|m| m > cap) => {
                limits.push(format!("set `max_tokens` to {cap} or less"));
            }
            BodyForm::Json => {}
            BodyForm::Multipart => limits.push(format!(
                "at most {cap} output tokens, a cap this endpoint takes no field for"
            )),
        }
    }
    let mut used = Vec::new();
    for f in o
        .remove_features
        .iter()
        .filter(|f| inspected.features.contains(*f))
    {
        match (form, f) {
            (BodyForm::Multipart, Feature::AudioInput | Feature::ImageInput) => limits.push(
                format!("no {f}, without which this endpoint cannot be used"),
            ),
            _ => used.push(f.as_str()),
        }
    }
    if !used.is_empty() {
        limits.push(format!("do not use {}", used.join(", ")));
    }
    (!limits.is_empty()).then(|| {
        format!(
            "This model is available to you only within limits: {}.",
            limits.join("; ")
        )
    })
}
