//! From a policy decision and its explanation to the decision leaf.
//!
//! Independent of HTTP: the gateway, the decision API and `cordon decide`
//! build their records here, so one decision has one shape whoever made it.

use cordon_audit::leaf::{
    AttributeUsed, DecisionRecord, Mode, Obligations, Provenance, ShadowRefusal, Source,
};
use cordon_policy::{Decision, Effect, Explanation, Request};
use serde_json::Value;

/// Who asked, and how the decision is used; everything else comes from the
/// decision, its explanation and the request.
#[derive(Debug, Clone, Copy)]
pub struct DecisionContext<'a> {
    /// The decision id returned to the client (`dec_…`).
    pub id: &'a str,
    /// The account decided for; `None` when the caller gave a subject record
    /// instead of an account.
    pub account: Option<&'a str>,
    /// The member account decided for when `account` is an organisation
    /// whose key was used on behalf of a registered end user.
    pub end_user: Option<&'a str>,
    /// Enforced, or shadow when the decision is only recorded.
    pub mode: Mode,
    /// The component that decided.
    pub source: Source,
}

/// The longest model name kept as sent, in bytes; catalog names are far
/// shorter.
pub const MAX_MODEL_NAME: usize = 256;

/// A requested model name as it may be recorded or echoed: as sent when at
/// most [`MAX_MODEL_NAME`] bytes, otherwise its first 64 characters and the
/// SHA-256 of the whole. A request cannot then fill the audit log (or a
/// leaf past its 64 KiB bound) with one field of its body, and the same
/// name still always gives the same record.
pub fn bounded_model_name(name: &str) -> std::borrow::Cow<'_, str> {
    use sha2::{Digest, Sha256};
    if name.len() <= MAX_MODEL_NAME {
        return std::borrow::Cow::Borrowed(name);
    }
    let prefix: String = name.chars().take(64).collect();
    let digest: String = Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::borrow::Cow::Owned(format!("{prefix}…sha256:{digest}"))
}

/// Whether any directive consulted the request: such a request may never
/// take effect unrecorded.
pub fn controlled(explanation: &Explanation) -> bool {
    !explanation.reasons.is_empty() || !explanation.shadow.is_empty()
}

/// The decision leaf for `decision`, explained by `explanation` (built by
/// `Policy::explain` for the same `request`).
///
/// The time is the instant the policy decided as of (`request.at`); the
/// client's location is the request's; the model, requested and resolved,
/// is the explanation's. Attribute values come from every consulted
/// directive, enforced and shadow: each recorded value with its provenance,
/// and each value a condition saw that has none, without duplicates.
/// `shadow` lists every consulted shadow-mode directive whose effect after
/// exemptions is a refusal (what enforcing it would change); `features` are
/// the request's feature names. Nothing of the request body, the completion
/// or the API key is read.
pub fn decision_record(
    decision: &Decision,
    explanation: &Explanation,
    request: &Request,
    ctx: &DecisionContext<'_>,
) -> DecisionRecord {
    let mut consulted: Vec<String> = explanation
        .reasons
        .iter()
        .chain(&explanation.shadow)
        .map(|r| r.id.clone())
        .collect();
    consulted.sort_unstable();
    consulted.dedup();
    let mut attributes = Vec::new();
    for value in explanation
        .reasons
        .iter()
        .chain(&explanation.shadow)
        .flat_map(|r| &r.values)
    {
        let recorded: Vec<(&str, &cordon_subject::Provenance)> = value
            .provenance
            .iter()
            .map(|p| (p.value.as_str(), &p.provenance))
            .collect();
        attributes_of(value.attribute, &value.value, &recorded, &mut attributes);
    }
    DecisionRecord {
        id: ctx.id.to_owned(),
        time: request.at.to_string(),
        account: ctx.account.map(str::to_owned),
        model_requested: bounded_model_name(&explanation.model.requested).into_owned(),
        model: explanation.model.id.clone(),
        endpoint: request.endpoint.as_str().to_owned(),
        effect: decision.effect.as_str().to_owned(),
        mode: ctx.mode,
        decided_by: explanation.decided_by.clone(),
        consulted,
        obligations: Obligations {
            max_tokens: decision.obligations.max_tokens.map(u64::from),
            remove_features: decision
                .obligations
                .remove_features
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
        },
        attributes,
        policy_version: explanation.policy_version.clone(),
        client_country: request.country.map(|c| c.to_string()),
        client_region: request.region.map(|r| r.to_string()),
        anonymizer: request.anonymizer,
        source: ctx.source,
        shadow: shadow_refusals(explanation),
        features: request
            .features
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect(),
        end_user: ctx.end_user.map(str::to_owned),
    }
}

/// The shadow-mode directives that would have refused, in the explanation's
/// (id) order.
fn shadow_refusals(explanation: &Explanation) -> Vec<ShadowRefusal> {
    explanation
        .shadow
        .iter()
        .filter(|r| {
            r.mode == cordon_policy::Mode::Shadow
                && matches!(r.effect, Effect::Deny | Effect::VerificationRequired)
        })
        .map(|r| ShadowRefusal {
            directive: r.id.clone(),
            effect: r.effect.as_str().to_owned(),
        })
        .collect()
}

/// Appends the entries of one value a condition used, skipping duplicates.
///
/// A list gives one entry per element. An element that is a recorded value
/// (or the same value marked as not qualifying, `"DE (below … or expired)"`)
/// carries its provenance; recorded values behind it that the condition did
/// not show as such (the sources of `us_person`) get entries of their own.
fn attributes_of(
    name: &str,
    value: &Value,
    recorded: &[(&str, &cordon_subject::Provenance)],
    out: &mut Vec<AttributeUsed>,
) {
    let seen: Vec<String> = match value {
        Value::Array(items) if !items.is_empty() => items.iter().map(text).collect(),
        other => vec![text(other)],
    };
    let mut matched = vec![false; recorded.len()];
    for value in seen {
        let found = recorded.iter().position(|(v, _)| {
            value
                .strip_prefix(v)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" ("))
        });
        let provenance = found.and_then(|i| {
            if let Some(m) = matched.get_mut(i) {
                *m = true;
            }
            recorded.get(i).map(|(_, p)| provenance(p))
        });
        push(out, name, value, provenance);
    }
    for ((v, p), was_matched) in recorded.iter().zip(matched) {
        if !was_matched {
            push(out, name, (*v).to_owned(), Some(provenance(p)));
        }
    }
}

fn push(out: &mut Vec<AttributeUsed>, name: &str, value: String, provenance: Option<Provenance>) {
    let entry = AttributeUsed {
        name: name.to_owned(),
        value,
        provenance,
    };
    if !out.contains(&entry) {
        out.push(entry);
    }
}

/// A string as it is; anything else as compact JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn provenance(p: &cordon_subject::Provenance) -> Provenance {
    Provenance {
        source: p.source.clone(),
        verification: p.level.as_str().to_owned(),
        verified_at: p.verified_at.map(|t| t.to_string()),
    }
}

#[cfg(test)]
mod tests;
