//! Copies the store's change journal into the log.
//!
//! Every administrative change is journalled in the same transaction as the
//! change itself; this copies pending rows into the log as leaves and then
//! acknowledges them. A copy interrupted between the two is repeated, and the
//! repeat is recognisable: an administrative leaf's id is `journal-<id>`, a
//! decision leaf keeps its decision id.

use std::collections::BTreeMap;

use cordon_audit::leaf::{self, AdminRecord, DecisionRecord, LeafError, Pseudonym, Record};
use cordon_audit_log::{AppendError, AuditLog};
use cordon_store::{AdminChange, ChangeJournal, StoreError};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Journal rows read and appended at a time.
const BATCH: usize = 1024;

/// What one copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Administrative leaves appended.
    pub admin: usize,
    /// Decision leaves appended (decisions the command line journalled).
    pub decisions: usize,
    /// The last journal id acknowledged, if any row was copied.
    pub through: Option<u64>,
    /// Log index of the first leaf appended.
    pub first_index: Option<u64>,
    /// Log index of the last leaf appended.
    pub last_index: Option<u64>,
}

impl CopyReport {
    /// Leaves appended.
    pub fn copied(&self) -> usize {
        self.admin + self.decisions
    }
}

/// Why a copy stopped. Rows appended before the failure are acknowledged;
/// the rest stay pending for the next copy.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The journal could not be read or acknowledged.
    #[error("the change journal could not be read or acknowledged: {0}")]
    Store(#[from] StoreError),
    /// A leaf could not be appended.
    #[error("journal row {id} could not be appended to the audit log: {source}")]
    Append {
        /// The journal id of the first row not appended.
        id: u64,
        /// What the log reported.
        source: AppendError,
        /// What was copied before it.
        copied: CopyReport,
    },
}

/// Copies every pending journal row into `log` and acknowledges it.
///
/// Rows whose action is `decision` hold a serialised [`DecisionRecord`] and
/// become decision leaves; every other row becomes an administrative leaf
/// built by [`admin_record`], with names and e-mail addresses pseudonymised
/// under `salt`.
///
/// # Errors
/// [`CopyError::Store`] when the journal cannot be read or acknowledged,
/// [`CopyError::Append`] when the log refuses a batch.
pub fn copy_journal(
    store: &dyn ChangeJournal,
    log: &AuditLog,
    salt: &[u8],
) -> Result<CopyReport, CopyError> {
    let mut report = CopyReport::default();
    loop {
        let rows = store.pending_changes(BATCH)?;
        if rows.is_empty() {
            return Ok(report);
        }
        let kinds: Vec<bool> = rows.iter().map(|c| c.action == "decision").collect();
        let leaves: Vec<Vec<u8>> = rows.iter().map(|c| leaf_of(c, salt)).collect();
        let results = log.append_many(leaves);
        let mut acknowledged = None;
        let mut failure = None;
        for ((row, is_decision), result) in rows.iter().zip(kinds).zip(results) {
            match result {
                Ok(index) => {
                    report.first_index.get_or_insert(index);
                    report.last_index = Some(index);
                    if is_decision {
                        report.decisions += 1;
                    } else {
                        report.admin += 1;
                    }
                    acknowledged = Some(row.id);
                }
                Err(e) => {
                    failure = Some((row.id, e));
                    break;
                }
            }
        }
        if let Some(through) = acknowledged {
            store.acknowledge_changes(through)?;
            report.through = Some(through);
        }
        if let Some((id, source)) = failure {
            return Err(CopyError::Append {
                id,
                source,
                copied: report,
            });
        }
    }
}

/// The leaf bytes of one journal row. A row that cannot be encoded as it is
/// (a decision that does not parse, details beyond the leaf size) still
/// becomes a leaf, holding what can be recorded and a hash of the rest, so
/// the journal never stalls on it.
fn leaf_of(change: &AdminChange, salt: &[u8]) -> Vec<u8> {
    if change.action == "decision" {
        let parsed =
            serde_json::from_value::<DecisionRecord>(Value::Object(change.details.clone()));
        if let Ok(record) = parsed
            && let Ok(bytes) = leaf::encode(&Record::Decision(record))
        {
            return bytes;
        }
    }
    let admin = admin_record(change, salt);
    match leaf::encode(&Record::Admin(admin.clone())) {
        Ok(bytes) => bytes,
        Err(e) => {
            let full = serde_json::to_vec(&admin.details).unwrap_or_default();
            let digest: [u8; 32] = Sha256::digest(&full).into();
            let mut details = BTreeMap::new();
            details.insert("details_omitted".to_owned(), reason(&e));
            details.insert("details_sha256".to_owned(), hex(&digest));
            let short = AdminRecord { details, ..admin };
            leaf::encode(&Record::Admin(short)).unwrap_or_default()
        }
    }
}

fn reason(e: &LeafError) -> String {
    match e {
        LeafError::TooLarge { len } => format!("the details made a {len}-byte leaf"),
        other => other.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The administrative leaf of one journal row.
///
/// The id is `journal-<journal id>`. The actor stays in clear when it is
/// the system (`cordon…`, `screening`, `system`) and is pseudonymised
/// otherwise, since operators are people. Details are flattened to a string
/// map: nested objects become dotted keys, strings stay as they are, and
/// every other value (lists, numbers, booleans, null) is its compact JSON.
/// Names and e-mail addresses anywhere in the details (`name`, `email`,
/// `*_name`, `*_email`, owners' names inside lists) are replaced by their
/// [`Pseudonym`] before flattening.
pub fn admin_record(change: &AdminChange, salt: &[u8]) -> AdminRecord {
    let mut details = Value::Object(change.details.clone());
    hide_personal(&mut details, salt);
    let mut flat = BTreeMap::new();
    if let Value::Object(map) = details {
        flatten("", map, &mut flat);
    }
    AdminRecord {
        id: format!("journal-{}", change.id),
        time: change.at.to_string(),
        actor: actor(&change.actor, salt),
        action: change.action.clone(),
        subject: (!change.subject.is_empty()).then(|| change.subject.clone()),
        details: flat,
    }
}

fn actor(actor: &str, salt: &[u8]) -> String {
    let system = actor == "cordon"
        || actor.starts_with("cordon ")
        || actor == "screening"
        || actor == "system";
    if system {
        actor.to_owned()
    } else {
        Pseudonym::new(salt, actor).into_string()
    }
}

fn is_personal(key: &str) -> bool {
    key == "name" || key == "email" || key.ends_with("_name") || key.ends_with("_email")
}

/// Pseudonymises the personal values under `value`.
fn hide_personal(value: &mut Value, salt: &[u8]) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_personal(k) {
                    hide_all(v, salt);
                } else {
                    hide_personal(v, salt);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| hide_personal(v, salt)),
        _ => {}
    }
}

/// Pseudonymises a personal value: its strings, or an attested value's
/// `value` (its `source`, `verification` and dates stay readable).
fn hide_all(value: &mut Value, salt: &[u8]) {
    match value {
        Value::String(s) => *s = Pseudonym::new(salt, s).into_string(),
        Value::Array(items) => items.iter_mut().for_each(|v| hide_all(v, salt)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "value" || is_personal(k) {
                    hide_all(v, salt);
                } else {
                    hide_personal(v, salt);
                }
            }
        }
        _ => {}
    }
}

fn flatten(prefix: &str, map: Map<String, Value>, out: &mut BTreeMap<String, String>) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Object(inner) if !inner.is_empty() => flatten(&key, inner, out),
            Value::String(s) => {
                out.insert(key, s);
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests;
