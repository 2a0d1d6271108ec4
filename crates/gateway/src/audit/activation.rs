//! The administrative leaf of a directive set taking effect.

use std::collections::BTreeMap;

use cordon_audit::leaf::AdminRecord;
use cordon_policy::{Mode, Policy};
use jiff::Timestamp;
use serde_json::json;

/// The `directives.activated` leaf for `policy` coming into force at `time`.
///
/// The subject is the policy version (a hash over the directives, the
/// catalog and the country groups), so an auditor can tie every later
/// decision's `policy_version` to the moment it was activated. Details:
/// `policy_version`, `directives` (every directive id in the set, as a JSON
/// list), `modes` (a JSON object, directive id → `draft`, `shadow`,
/// `enforced` or `retired`), `trigger` (`start-up`, `reload`) and, after a
/// reload (`previous` is the set it replaces), `previous_version`,
/// `mode_changes` (a JSON list of `{"directive","from","to"}` for directives
/// in both sets whose mode differs), `added` and `removed` (JSON lists of
/// ids). Every list is in id order.
pub fn activation_record(
    policy: &Policy,
    time: Timestamp,
    actor: &str,
    trigger: &str,
    previous: Option<&Policy>,
) -> AdminRecord {
    let ids: Vec<&str> = policy.directives().iter().map(|d| d.id.as_str()).collect();
    let modes = modes(policy);
    let mut details = BTreeMap::new();
    details.insert("policy_version".to_owned(), policy.version().to_owned());
    details.insert("directives".to_owned(), json!(ids).to_string());
    details.insert("modes".to_owned(), json!(modes).to_string());
    details.insert("trigger".to_owned(), trigger.to_owned());
    if let Some(previous) = previous {
        let before = self::modes(previous);
        details.insert("previous_version".to_owned(), previous.version().to_owned());
        let changes: Vec<serde_json::Value> = modes
            .iter()
            .filter_map(|(id, to)| {
                let from = before.get(id)?;
                (from != to).then(|| json!({"directive": id, "from": from, "to": to}))
            })
            .collect();
        let added: Vec<&str> = modes
            .keys()
            .filter(|id| !before.contains_key(*id))
            .copied()
            .collect();
        let removed: Vec<&str> = before
            .keys()
            .filter(|id| !modes.contains_key(*id))
            .copied()
            .collect();
        details.insert("mode_changes".to_owned(), json!(changes).to_string());
        details.insert("added".to_owned(), json!(added).to_string());
        details.insert("removed".to_owned(), json!(removed).to_string());
    }
    AdminRecord {
        id: crate::proxy::fresh_id("adm"),
        time: time.to_string(),
        actor: actor.to_owned(),
        action: "directives.activated".to_owned(),
        subject: Some(policy.version().to_owned()),
        details,
    }
}

/// Every directive's mode, by id.
fn modes(policy: &Policy) -> BTreeMap<&str, &'static str> {
    policy
        .directives()
        .iter()
        .map(|d| (d.id.as_str(), Mode::as_str(d.mode)))
        .collect()
}
