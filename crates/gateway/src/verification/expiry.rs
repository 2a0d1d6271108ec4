//! Deriving subjects again as their evidence expires.
//!
//! An expired evidence row stops counting in every decision at once (its
//! value carries its expiry), but a lower-ranked row it outranked counts
//! again only when the subject is derived anew. This task asks the store
//! every few seconds for the accounts whose next expiry has passed.

use std::sync::Arc;
use std::time::Duration;

use crate::state::Gateway;

/// How often the store is asked.
const EVERY: Duration = Duration::from_secs(5);

/// Accounts derived again per store transaction.
const BATCH: usize = 1_000;

/// Starts the task on the current runtime.
pub fn spawn(gw: Arc<Gateway>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            run_once(&gw).await;
        }
    });
}

/// Derives again every account that is due, a batch at a time; returns how
/// many subjects changed.
pub async fn run_once(gw: &Arc<Gateway>) -> usize {
    let mut total = 0;
    loop {
        let store = Arc::clone(&gw.store);
        match tokio::task::spawn_blocking(move || store.rederive_due(BATCH)).await {
            Ok(Ok(done)) => {
                for (account, reason) in &done.failed {
                    tracing::error!(%account, %reason, "cannot derive an account's subject again after its evidence expired; set aside until it changes");
                }
                total += done.changed.len();
                if !done.changed.is_empty() {
                    gw.forget_principals();
                    tracing::info!(
                        accounts = done.changed.len(),
                        "evidence expired: subjects derived again"
                    );
                }
                if done.examined < BATCH {
                    return total;
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot derive subjects again after evidence expired; retrying");
                return total;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the re-derivation task failed");
                return total;
            }
        }
    }
}
