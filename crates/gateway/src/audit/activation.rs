//! The administrative leaf of a directive set taking effect.

use std::collections::BTreeMap;

use cordon_audit::leaf::AdminRecord;
use cordon_policy::Policy;
use jiff::Timestamp;

/// The `directives.activated` leaf for `policy` coming into force at `time`.
///
/// The subject is the policy version (a hash over the directives, the
/// catalog and the country groups), so an auditor can tie every later
/// decision's `policy_version` to the moment it was activated. Details:
/// `policy_version`, `directives` (every directive id in the set, as a JSON
/// list), `trigger` (`start-up`, `reload`) and, after a reload,
/// `previous_version`.
pub fn activation_record(
    policy: &Policy,
    time: Timestamp,
    actor: &str,
    trigger: &str,
    previous: Option<&str>,
) -> AdminRecord {
    let ids: Vec<&str> = policy.directives().iter().map(|d| d.id.as_str()).collect();
    let mut details = BTreeMap::new();
    details.insert("policy_version".to_owned(), policy.version().to_owned());
    details.insert(
        "directives".to_owned(),
        serde_json::to_string(&ids).unwrap_or_default(),
    );
    details.insert("trigger".to_owned(), trigger.to_owned());
    if let Some(p) = previous {
        details.insert("previous_version".to_owned(), p.to_owned());
    }
    AdminRecord {
        id: super::fresh_id("adm"),
        time: time.to_string(),
        actor: actor.to_owned(),
        action: "directives.activated".to_owned(),
        subject: Some(policy.version().to_owned()),
        details,
    }
}
