//! The active screening list snapshot's entries, by list and id, as the
//! review page shows them: read once per snapshot, not once per page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cordon_screening::ListEntry;
use cordon_store::StoreError;
use cordon_store::screening::SnapshotId;
use cordon_subject::RestrictedList;

use crate::Records;

/// Entries by list and the list's id for them.
pub type ByUid = HashMap<(RestrictedList, String), ListEntry>;

/// The entries of the last active snapshot read.
#[derive(Default)]
pub struct ListEntries {
    last: Mutex<Option<(SnapshotId, Arc<ByUid>)>>,
}

impl ListEntries {
    /// The active snapshot's entries: those read before while it is still
    /// the active one, else read now. Empty when no snapshot is active.
    ///
    /// # Errors
    /// The store's.
    pub fn active(&self, records: &dyn Records) -> Result<Arc<ByUid>, StoreError> {
        let Some(active) = records.active_snapshot()? else {
            return Ok(Arc::default());
        };
        if let Ok(last) = self.last.lock()
            && let Some((id, entries)) = last.as_ref()
            && *id == active.id
        {
            return Ok(Arc::clone(entries));
        }
        let entries: Arc<ByUid> = Arc::new(
            records
                .snapshot_entries(active.id)?
                .into_iter()
                .map(|e| ((e.list, e.uid.clone()), e))
                .collect(),
        );
        if let Ok(mut last) = self.last.lock() {
            *last = Some((active.id, Arc::clone(&entries)));
        }
        Ok(entries)
    }
}
