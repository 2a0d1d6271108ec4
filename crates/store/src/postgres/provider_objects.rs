//! Provider objects in PostgreSQL: which account owns each object a
//! provider keeps, with the checks and conversions of
//! [`crate::provider_objects`] shared with SQLite.
//!
//! As in SQLite, recording an object is not an administrative change: it
//! is neither journaled nor does it bump the change counter, since no
//! cached principal depends on it.

use super::PostgresStore;
use crate::provider_objects::{details_text, object_from_row, owned_unless_written};
use crate::{ObjectKind, ProviderObject, StoreError};

impl PostgresStore {
    /// Records that `object` belongs to its account, as
    /// [`SqliteStore::record_object`](crate::SqliteStore::record_object)
    /// does: the same account may record it again (its model and details
    /// are replaced), another account may not.
    ///
    /// # Errors
    /// [`StoreError::ObjectOwned`] when the id is recorded for another
    /// account; [`StoreError::Corrupt`] for an id out of bounds; storage
    /// failures.
    pub fn record_object(&self, object: &ProviderObject) -> Result<(), StoreError> {
        let details = details_text(object)?;
        let now = self.now();
        // One statement: the owner check and the write cannot be split by
        // another node recording the same id in between.
        let written = self.client()?.execute(
            "INSERT INTO provider_objects (kind, id, account, model, details, created_at)
             VALUES ($1, $2, $3, $4, $5::text::jsonb, $6)
             ON CONFLICT (kind, id) DO UPDATE SET model = excluded.model, details = excluded.details
             WHERE provider_objects.account = excluded.account",
            &[
                &object.kind.as_str(),
                &object.id,
                &object.account,
                &object.model,
                &details,
                &now,
            ],
        )?;
        owned_unless_written(object, written)
    }

    /// The recorded object of `kind` with `id`, whoever owns it.
    ///
    /// # Errors
    /// Storage failures, or a stored row that cannot be read back.
    pub fn object(&self, kind: ObjectKind, id: &str) -> Result<Option<ProviderObject>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT account, model, details::text FROM provider_objects WHERE kind = $1 AND id = $2",
            &[&kind.as_str(), &id],
        )?;
        let Some(r) = row else { return Ok(None) };
        let details: String = r.try_get(2)?;
        object_from_row(kind, id, r.try_get(0)?, r.try_get(1)?, &details).map(Some)
    }

    /// Forgets the object of `kind` with `id`; returns whether it was recorded.
    ///
    /// # Errors
    /// Storage failures.
    pub fn forget_object(&self, kind: ObjectKind, id: &str) -> Result<bool, StoreError> {
        let n = self.client()?.execute(
            "DELETE FROM provider_objects WHERE kind = $1 AND id = $2",
            &[&kind.as_str(), &id],
        )?;
        Ok(n > 0)
    }
}
