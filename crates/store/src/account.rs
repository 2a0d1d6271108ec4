//! Accounts and their subject records.

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::{Subject, SubjectRecord};
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::StoreError;
use crate::evidence::EvidenceRows;

/// Longest account id, in characters.
pub const MAX_ACCOUNT_ID_LEN: usize = cordon_subject::MAX_ACCOUNT_ID_LEN;

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountRecord {
    /// The account id: 1–64 characters of `[a-z0-9._-]`.
    pub id: String,
    /// The subject record (schema: `docs/subjects.md`), without `id`, keys sorted.
    pub subject: Value,
    /// A disabled account's keys do not authenticate.
    pub disabled: bool,
    /// When the account was added.
    pub created_at: Timestamp,
    /// When the account's subject or status last changed.
    pub updated_at: Timestamp,
}

impl AccountRecord {
    /// Builds the [`Subject`] from the stored record, with `id` set to the
    /// account id, and no licences: decisions take the subject from
    /// [`SqliteStore::subject`](crate::SqliteStore::subject) or
    /// [`IdentityStore::subject`](crate::IdentityStore::subject), which
    /// attach the licences the account holds.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] if the stored record no longer validates (it is
    /// validated on every write, so only a hand-edited file gets here).
    pub fn to_subject(&self, j: &Jurisdictions) -> Result<Subject, StoreError> {
        stored_subject(&self.id, &self.subject, j)
    }
}

/// An account row before its text columns are checked: id, subject,
/// disabled, created_at, updated_at (the same in every backend).
pub(crate) type RawAccount = (String, String, bool, String, String);

/// Checks and converts a stored account row.
pub(crate) fn account_from_raw(
    (id, subject, disabled, created, updated): RawAccount,
) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        subject: parse_json(&id, &subject)?,
        disabled,
        created_at: parse_time("created_at", &created)?,
        updated_at: parse_time("updated_at", &updated)?,
        id,
    })
}

/// The stored subject text of account `id` as JSON.
pub(crate) fn parse_json(id: &str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("stored subject of account `{id}`: {e}")))
}

/// A stored RFC 3339 time; `what` names the column in the error.
pub(crate) fn parse_time(what: &str, text: &str) -> Result<Timestamp, StoreError> {
    text.parse()
        .map_err(|e| StoreError::Corrupt(format!("{what} `{text}` is not a time: {e}")))
}

/// Checks an account id.
///
/// # Errors
/// [`StoreError::InvalidAccountId`] unless it is 1–64 characters of `[a-z0-9._-]`.
pub fn validate_account_id(id: &str) -> Result<(), StoreError> {
    if cordon_subject::is_account_id(id) {
        Ok(())
    } else {
        Err(StoreError::InvalidAccountId { id: id.to_owned() })
    }
}

/// Names a JSON value's type for messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Turns a subject given for account `id` into its canonical stored form.
///
/// The record must be an object; an `id` field in it must equal the account id
/// and is dropped (the account id is the row's key). The result is validated.
pub(crate) fn canonical_subject(
    id: &str,
    subject: Value,
    j: &Jurisdictions,
) -> Result<Map<String, Value>, StoreError> {
    let Value::Object(mut map) = subject else {
        return Err(StoreError::InvalidPatch {
            id: id.to_owned(),
            message: format!(
                "the subject must be a JSON object, found {}",
                kind_of(&subject)
            ),
        });
    };
    match map.remove("id") {
        None => {}
        Some(Value::String(s)) if s == id => {}
        Some(other) => {
            return Err(StoreError::InvalidPatch {
                id: id.to_owned(),
                message: format!(
                    "subject field `id` is {other}, which is not the account id `{id}`; leave it out"
                ),
            });
        }
    }
    validate(id, &map, j)?;
    Ok(map)
}

/// Applies a shallow merge patch: each top-level field replaces the stored one; `null` removes it.
pub(crate) fn merge(
    id: &str,
    mut current: Map<String, Value>,
    patch: Value,
    j: &Jurisdictions,
) -> Result<Map<String, Value>, StoreError> {
    let Value::Object(patch) = patch else {
        return Err(StoreError::InvalidPatch {
            id: id.to_owned(),
            message: format!("the patch must be a JSON object, found {}", kind_of(&patch)),
        });
    };
    for (k, v) in patch {
        if k == "id" {
            return Err(StoreError::InvalidPatch {
                id: id.to_owned(),
                message: "the patch sets `id`; an account id cannot be changed".to_owned(),
            });
        }
        if v.is_null() {
            current.remove(&k);
        } else {
            current.insert(k, v);
        }
    }
    validate(id, &current, j)?;
    Ok(current)
}

fn validate(id: &str, map: &Map<String, Value>, j: &Jurisdictions) -> Result<Subject, StoreError> {
    if map.contains_key("licences") {
        return Err(StoreError::LicencesInRecord { id: id.to_owned() });
    }
    SubjectRecord::from_value(Value::Object(map.clone()))
        .into_subject(j)
        .map_err(|source| StoreError::InvalidSubject {
            id: id.to_owned(),
            source,
        })
}

/// Builds the subject of a stored record.
pub(crate) fn stored_subject(
    id: &str,
    subject: &Value,
    j: &Jurisdictions,
) -> Result<Subject, StoreError> {
    let mut s = SubjectRecord::from_value(subject.clone())
        .into_subject(j)
        .map_err(|e| StoreError::Corrupt(format!("stored subject of account `{id}`: {e}")))?;
    s.id = Some(id.to_owned());
    Ok(s)
}

/// What account changes need from a backend, inside one of its
/// transactions, beyond the evidence rows a record change derives the
/// subject from. The rules (validation, what is journaled, when the
/// counter moves) are the functions below, once; each backend reads and
/// writes rows, and screens the accounts a change names.
pub(crate) trait AccountRows: EvidenceRows {
    /// The account with this id, if any.
    fn account_row(&mut self, id: &str) -> Result<Option<AccountRecord>, StoreError>;
    /// Inserts an enabled account with a validated, canonical subject;
    /// `false` if the id is taken.
    fn insert_new_account(
        &mut self,
        id: &str,
        subject: &Map<String, Value>,
        now: &str,
    ) -> Result<bool, StoreError>;
    /// Whether account `id` keeps its record apart from its subject (it
    /// has received evidence); `None` for an unknown account.
    fn keeps_record(&mut self, id: &str) -> Result<Option<bool>, StoreError>;
    /// Replaces the subject of an account that keeps no record apart.
    fn set_subject(&mut self, id: &str, subject: &str, now: &str) -> Result<(), StoreError>;
    /// Sets the disabled flag; `false` for an unknown account.
    fn set_disabled(&mut self, id: &str, disabled: bool, now: &str) -> Result<bool, StoreError>;
    /// Increases the change counter (announcing it, where the backend can).
    fn bump_counter(&mut self) -> Result<(), StoreError>;
}

/// Adds account `id` with a subject already made canonical, journals it,
/// lets the backend `screen` it and bumps the counter.
pub(crate) fn add<R: AccountRows>(
    rows: &mut R,
    actor: &str,
    id: &str,
    subject: &Map<String, Value>,
    now: &str,
    screen: impl FnOnce(&mut R, &[&str]) -> Result<(), StoreError>,
) -> Result<AccountRecord, StoreError> {
    if !rows.insert_new_account(id, subject, now)? {
        return Err(StoreError::AccountExists { id: id.to_owned() });
    }
    rows.journal(
        now,
        actor,
        "account.created",
        id,
        serde_json::json!({ "subject": subject }),
    )?;
    screen(rows, &[id])?;
    rows.bump_counter()?;
    read_back(rows, id)
}

/// Applies `patch` to the record of `id` ([`merge`]), stores the record and
/// the subject derived from it, journals the patch, lets the backend
/// `screen` the account and bumps the counter.
pub(crate) fn set_attributes<R: AccountRows>(
    rows: &mut R,
    j: &Jurisdictions,
    actor: &str,
    id: &str,
    patch: Value,
    now: Timestamp,
    screen: impl FnOnce(&mut R, &[&str]) -> Result<(), StoreError>,
) -> Result<AccountRecord, StoreError> {
    // The record: what staff and imports wrote, apart from evidence.
    let current = crate::evidence::record_of(rows, id)?
        .ok_or_else(|| StoreError::AccountNotFound { id: id.to_owned() })?;
    let journal = serde_json::json!({ "patch": patch.clone() });
    let merged = merge(id, current, patch, j)?;
    store_record(rows, j, id, &merged, now)?;
    rows.journal(&now.to_string(), actor, "account.updated", id, journal)?;
    screen(rows, &[id])?;
    rows.bump_counter()?;
    read_back(rows, id)
}

/// Disables or enables account `id`, journals it and bumps the counter.
pub(crate) fn set_disabled(
    rows: &mut impl AccountRows,
    actor: &str,
    id: &str,
    disabled: bool,
    now: &str,
) -> Result<AccountRecord, StoreError> {
    if !rows.set_disabled(id, disabled, now)? {
        return Err(StoreError::AccountNotFound { id: id.to_owned() });
    }
    let action = if disabled {
        "account.disabled"
    } else {
        "account.enabled"
    };
    rows.journal(now, actor, action, id, serde_json::json!({}))?;
    rows.bump_counter()?;
    read_back(rows, id)
}

/// Stores `record` as the record of `id` and the subject derived from it
/// and the account's evidence (the record itself while it has none).
pub(crate) fn store_record(
    rows: &mut impl AccountRows,
    j: &Jurisdictions,
    id: &str,
    record: &Map<String, Value>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let keeps = rows
        .keeps_record(id)?
        .ok_or_else(|| StoreError::AccountNotFound { id: id.to_owned() })?;
    if keeps {
        crate::evidence::write_derived(rows, j, id, record, now)?;
    } else {
        let text = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        rows.set_subject(id, &text, &now.to_string())?;
    }
    Ok(())
}

/// The account just changed, read back inside the change's transaction.
fn read_back(rows: &mut impl AccountRows, id: &str) -> Result<AccountRecord, StoreError> {
    rows.account_row(id)?
        .ok_or_else(|| StoreError::AccountNotFound { id: id.to_owned() })
}

/// A `LIKE` pattern (escape character `\`) matching text that contains
/// `text` in ASCII lower case: the wildcards `%` and `_` in `text` match
/// only themselves.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.trim().to_ascii_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// An FTS5 query for the trigram index (migration 14) matching text that
/// contains `text` in ASCII lower case, as [`contains_pattern`] does; `None`
/// for text of fewer than three characters, which has no trigram to look
/// up. The text is one quoted phrase, so no character in it is an operator.
pub(crate) fn trigram_phrase(text: &str) -> Option<String> {
    let text = text.trim().to_ascii_lowercase();
    (text.chars().count() >= 3).then(|| format!("\"{}\"", text.replace('"', "\"\"")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn j() -> &'static Jurisdictions {
        Jurisdictions::embedded().unwrap()
    }

    #[test]
    fn account_ids_are_checked() {
        for good in ["a", "acct_8412", "north.wind-labs", &"x".repeat(64)] {
            validate_account_id(good).unwrap();
        }
        for bad in ["", "A", "acct 1", "ü", "a/b", &"x".repeat(65)] {
            let e = validate_account_id(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("`{bad}`")), "{e}");
        }
    }

    #[test]
    fn the_subject_id_must_match_and_is_dropped() {
        let m = canonical_subject("a1", json!({"id": "a1", "citizenships": ["DE"]}), j()).unwrap();
        assert!(!m.contains_key("id"));
        let e = canonical_subject("a1", json!({"id": "b2"}), j()).unwrap_err();
        assert!(e.to_string().contains("`a1`"), "{e}");
        let e = canonical_subject("a1", json!(["DE"]), j()).unwrap_err();
        assert!(e.to_string().contains("JSON object"), "{e}");
    }

    #[test]
    fn merge_replaces_removes_and_revalidates() {
        let cur = canonical_subject(
            "a1",
            json!({"citizenships": ["DE"], "residence_country": "DE"}),
            j(),
        )
        .unwrap();
        let m = merge(
            "a1",
            cur.clone(),
            json!({"citizenships": ["FR"], "residence_country": null}),
            j(),
        )
        .unwrap();
        assert_eq!(m.get("citizenships"), Some(&json!(["FR"])));
        assert!(!m.contains_key("residence_country"));
        let e = merge("a1", cur, json!({"citizenships": ["DE", "XZ"]}), j()).unwrap_err();
        assert!(
            e.to_string().contains("subject field `citizenships[1]`"),
            "{e}"
        );
    }

    #[test]
    fn a_contains_pattern_escapes_wildcards_and_lowers_case() {
        assert_eq!(super::contains_pattern(" Ab_c%d\\ "), "%ab\\_c\\%d\\\\%");
        assert_eq!(super::contains_pattern(""), "%%");
    }

    #[test]
    fn a_trigram_phrase_quotes_the_text_and_needs_three_characters() {
        assert_eq!(
            super::trigram_phrase(r#" Say "HI" "#).as_deref(),
            Some(r#""say ""hi""""#)
        );
        assert_eq!(super::trigram_phrase("ab "), None);
        assert_eq!(super::trigram_phrase("äöü").as_deref(), Some(r#""äöü""#));
    }
}
