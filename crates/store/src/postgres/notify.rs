//! Hearing of changes: the `NOTIFY` channel every change is announced on,
//! and a listener for it.
//!
//! A node keeps one [`ChangeListener`] open and drops its cache of
//! principals whenever a notification arrives. Notifications are lost
//! while a listener is disconnected, so a node also polls
//! [`IdentityStore::version`](crate::IdentityStore::version) as a backstop.

use std::time::Duration;

use ::postgres::Client;
use ::postgres::fallible_iterator::FallibleIterator;

use super::{open_client, parse_url};
use crate::StoreError;

/// The channel every change is announced on; the payload is the new
/// version of the change counter, in decimal.
pub const CHANNEL: &str = "cordon_identity";

/// A connection that `LISTEN`s on [`CHANNEL`].
pub struct ChangeListener {
    client: Client,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeListener").finish_non_exhaustive()
    }
}

impl ChangeListener {
    /// Connects to the store at `url` and starts listening; changes
    /// committed from then on are heard.
    ///
    /// # Errors
    /// [`StoreError::InvalidStoreUrl`], [`StoreError::PostgresConnect`], or
    /// [`StoreError::Postgres`] if `LISTEN` fails.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let (config, target) = parse_url(url)?;
        let mut client = open_client(&config, &target, super::STATEMENT_TIMEOUT)?;
        client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
        Ok(ChangeListener { client })
    }

    /// Waits up to `timeout` for the next change; returns the version it
    /// announced, or `None` if none came in time.
    ///
    /// # Errors
    /// [`StoreError::Postgres`] if the connection is lost (notifications
    /// may have been missed: drop the cache and connect again), or
    /// [`StoreError::Corrupt`] for a payload that is not a version.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<u64>, StoreError> {
        let mut notifications = self.client.notifications();
        let mut waiting = notifications.timeout_iter(timeout);
        while let Some(n) = waiting.next()? {
            if n.channel() == CHANNEL {
                return n.payload().parse().map(Some).map_err(|_| {
                    StoreError::Corrupt(format!(
                        "a `{CHANNEL}` notification carries `{}`, not a version",
                        n.payload()
                    ))
                });
            }
        }
        Ok(None)
    }
}
