//! Objects a provider keeps for a customer: stored responses, files,
//! batches, message batches and fine-tuning jobs.
//!
//! The gateway calls the provider with its own key, so the provider cannot
//! tell one customer's objects from another's. The gateway records who
//! created each object, and answers a later call about it (read, delete,
//! cancel, list) only for that account; a stored response also keeps the
//! model it was made with, so reading it is decided again on that model.
//! Nothing of a prompt or a completion is kept: only ids, models and the
//! per-line summary of a batch input file (each line's model and features).

use rusqlite::{OptionalExtension, params};
use serde_json::Value;

use crate::{SqliteStore, StoreError};

/// What kind of object a provider keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// An OpenAI stored response (`resp_…`).
    Response,
    /// An OpenAI file (`file-…`), uploaded or made by a batch.
    File,
    /// An OpenAI batch (`batch_…`).
    Batch,
    /// An Anthropic message batch (`msgbatch_…`).
    MessageBatch,
    /// An OpenAI fine-tuning job (`ftjob-…`).
    FineTuningJob,
}

impl ObjectKind {
    /// The kind as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Response => "response",
            ObjectKind::File => "file",
            ObjectKind::Batch => "batch",
            ObjectKind::MessageBatch => "message_batch",
            ObjectKind::FineTuningJob => "fine_tuning_job",
        }
    }
}

/// One object a provider keeps, and whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderObject {
    /// What it is.
    pub kind: ObjectKind,
    /// The provider's id for it.
    pub id: String,
    /// The account whose key created it; only that account may use it.
    pub account: String,
    /// The canonical model it was made with, where it has one.
    pub model: Option<String>,
    /// What else a later decision about it needs (a batch file's lines, a
    /// batch's input file); a JSON object, never a prompt.
    pub details: Value,
}

/// The longest object id kept, in bytes; the schema holds the same bound.
pub const MAX_OBJECT_ID_LEN: usize = 256;

/// Checks `object`'s id and gives the details text every backend stores:
/// the details object, or `{}` for anything that is not an object (a later
/// decision reads fields of it, never another shape).
pub(crate) fn details_text(object: &ProviderObject) -> Result<String, StoreError> {
    if object.id.is_empty() || object.id.len() > MAX_OBJECT_ID_LEN {
        return Err(StoreError::Corrupt(format!(
            "a {} id must be 1 to {MAX_OBJECT_ID_LEN} bytes",
            object.kind.as_str()
        )));
    }
    Ok(if object.details.is_object() {
        object.details.to_string()
    } else {
        "{}".to_owned()
    })
}

/// The outcome of recording `object` from the rows the upsert wrote: none
/// means the id is recorded for another account, which keeps it.
pub(crate) fn owned_unless_written(
    object: &ProviderObject,
    written: u64,
) -> Result<(), StoreError> {
    if written == 0 {
        return Err(StoreError::ObjectOwned {
            kind: object.kind.as_str(),
            id: object.id.clone(),
        });
    }
    Ok(())
}

/// A stored provider object read back: `details` is the stored JSON text.
pub(crate) fn object_from_row(
    kind: ObjectKind,
    id: &str,
    account: String,
    model: Option<String>,
    details: &str,
) -> Result<ProviderObject, StoreError> {
    let details = serde_json::from_str(details)
        .map_err(|e| StoreError::Corrupt(format!("{} `{id}`: details: {e}", kind.as_str())))?;
    Ok(ProviderObject {
        kind,
        id: id.to_owned(),
        account,
        model,
        details,
    })
}

impl SqliteStore {
    /// Records that `object` belongs to its account.
    ///
    /// Recording the same object for the same account again replaces its
    /// model and details (a batch's output file learnt later).
    ///
    /// # Errors
    /// [`StoreError::ObjectOwned`] when the id is recorded for another
    /// account (the first owner is kept); [`StoreError::Corrupt`] for an id
    /// that is empty or longer than [`MAX_OBJECT_ID_LEN`]; storage failures.
    pub fn record_object(&self, object: &ProviderObject) -> Result<(), StoreError> {
        let details = details_text(object)?;
        let now = self.now();
        let conn = self.lock();
        let changed = conn.execute(
            "INSERT INTO provider_objects (kind, id, account, model, details, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (kind, id) DO UPDATE SET model = excluded.model, details = excluded.details
             WHERE provider_objects.account = excluded.account",
            params![
                object.kind.as_str(),
                object.id,
                object.account,
                object.model,
                details,
                now
            ],
        )?;
        owned_unless_written(object, u64::try_from(changed).unwrap_or(u64::MAX))
    }

    /// The recorded object of `kind` with `id`, whoever owns it.
    ///
    /// # Errors
    /// Storage failures, or a stored row that cannot be read back.
    pub fn object(&self, kind: ObjectKind, id: &str) -> Result<Option<ProviderObject>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT account, model, details FROM provider_objects WHERE kind = ?1 AND id = ?2",
                params![kind.as_str(), id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(account, model, details)| object_from_row(kind, id, account, model, &details))
            .transpose()
    }

    /// Forgets the object of `kind` with `id` (the provider deleted it).
    /// Returns whether it was recorded.
    ///
    /// # Errors
    /// Storage failures.
    pub fn forget_object(&self, kind: ObjectKind, id: &str) -> Result<bool, StoreError> {
        let conn = self.lock();
        let n = conn.execute(
            "DELETE FROM provider_objects WHERE kind = ?1 AND id = ?2",
            params![kind.as_str(), id],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(kind: ObjectKind, id: &str, account: &str) -> ProviderObject {
        ProviderObject {
            kind,
            id: id.into(),
            account: account.into(),
            model: Some("fable-5".into()),
            details: json!({"lines": 2}),
        }
    }

    #[test]
    fn an_object_is_read_back_with_its_owner_model_and_details() {
        let s = SqliteStore::open_in_memory().unwrap();
        s.record_object(&object(ObjectKind::Response, "resp_1", "acme"))
            .unwrap();
        let got = s.object(ObjectKind::Response, "resp_1").unwrap().unwrap();
        assert_eq!(got, object(ObjectKind::Response, "resp_1", "acme"));
        // The same id of another kind is another object.
        assert!(s.object(ObjectKind::File, "resp_1").unwrap().is_none());
    }

    #[test]
    fn another_account_cannot_take_an_object_over() {
        let s = SqliteStore::open_in_memory().unwrap();
        s.record_object(&object(ObjectKind::File, "file-1", "acme"))
            .unwrap();
        let err = s
            .record_object(&object(ObjectKind::File, "file-1", "mallory"))
            .unwrap_err();
        assert!(matches!(err, StoreError::ObjectOwned { .. }), "{err}");
        assert_eq!(
            s.object(ObjectKind::File, "file-1")
                .unwrap()
                .unwrap()
                .account,
            "acme"
        );
    }

    #[test]
    fn the_owner_may_record_again_and_forget() {
        let s = SqliteStore::open_in_memory().unwrap();
        s.record_object(&object(ObjectKind::Batch, "batch_1", "acme"))
            .unwrap();
        let mut later = object(ObjectKind::Batch, "batch_1", "acme");
        later.details = json!({"output_file_id": "file-9"});
        s.record_object(&later).unwrap();
        assert_eq!(
            s.object(ObjectKind::Batch, "batch_1")
                .unwrap()
                .unwrap()
                .details,
            json!({"output_file_id": "file-9"})
        );
        assert!(s.forget_object(ObjectKind::Batch, "batch_1").unwrap());
        assert!(!s.forget_object(ObjectKind::Batch, "batch_1").unwrap());
        assert!(s.object(ObjectKind::Batch, "batch_1").unwrap().is_none());
    }

    #[test]
    fn ids_out_of_bounds_are_refused() {
        let s = SqliteStore::open_in_memory().unwrap();
        assert!(
            s.record_object(&object(ObjectKind::Response, "", "acme"))
                .is_err()
        );
        let long = "r".repeat(MAX_OBJECT_ID_LEN + 1);
        assert!(
            s.record_object(&object(ObjectKind::Response, &long, "acme"))
                .is_err()
        );
    }
}
