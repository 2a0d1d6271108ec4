//! The connections one store handle holds, opened as they are needed.
//!
//! A gateway node answers many requests at once, and each lookup the cache
//! cannot answer is one query; one connection would make them queue behind
//! each other. The pool is a fixed row of connections, each behind its own
//! mutex: a caller takes a free one, or, when all are busy, waits for one.
//! A connection is opened the first time its slot is used and again when
//! the server closed it, so a pool of eight costs one connection until the
//! load needs more.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use ::postgres::{Client, Config};

use crate::StoreError;

/// How a store handle connects: how many connections it may hold and how
/// long one statement may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// The most connections the handle holds at once (1 to 64).
    pub pool_size: usize,
    /// How long one statement may run before the server cancels it, unless
    /// the URL's `options` set `statement_timeout` itself.
    pub statement_timeout: Duration,
}

impl Default for PostgresOptions {
    /// Four connections and five-second statements: a statement that waits
    /// on a lock or a stuck server fails, and the gateway refuses the
    /// request (fails closed) instead of hanging.
    fn default() -> Self {
        PostgresOptions {
            pool_size: 4,
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// The largest pool a handle may have.
pub const MAX_POOL_SIZE: usize = 64;

pub(crate) struct Pool {
    slots: Vec<Mutex<Option<Client>>>,
    next: AtomicUsize,
    config: Config,
    target: String,
    statement_timeout: Duration,
}

/// A connection taken from the pool; back in the pool when dropped.
pub(crate) struct Pooled<'a> {
    guard: MutexGuard<'a, Option<Client>>,
}

impl Deref for Pooled<'_> {
    type Target = Client;

    #[allow(
        clippy::expect_used,
        reason = "Pool::ready opens the slot's connection before it hands the slot out"
    )]
    fn deref(&self) -> &Client {
        self.guard
            .as_ref()
            .expect("a pooled connection is opened before it is handed out")
    }
}

impl DerefMut for Pooled<'_> {
    #[allow(
        clippy::expect_used,
        reason = "Pool::ready opens the slot's connection before it hands the slot out"
    )]
    fn deref_mut(&mut self) -> &mut Client {
        self.guard
            .as_mut()
            .expect("a pooled connection is opened before it is handed out")
    }
}

impl Pool {
    /// A pool whose first connection is `first`.
    pub(crate) fn new(
        first: Client,
        config: Config,
        target: String,
        options: &PostgresOptions,
    ) -> Self {
        let size = options.pool_size.clamp(1, MAX_POOL_SIZE);
        let mut slots: Vec<Mutex<Option<Client>>> = (0..size).map(|_| Mutex::new(None)).collect();
        if let Some(slot) = slots.first_mut() {
            *slot = Mutex::new(Some(first));
        }
        Pool {
            slots,
            next: AtomicUsize::new(0),
            config,
            target,
            statement_timeout: options.statement_timeout,
        }
    }

    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// A free connection, or the next one to come free when all are busy;
    /// opened (again) if it is not open.
    pub(crate) fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n.max(1);
        // A panic while a connection was taken leaves no half-done
        // transaction behind: a `Transaction` rolls back when dropped.
        for i in 0..n {
            let Some(slot) = self.slots.get((start + i) % n) else {
                continue;
            };
            match slot.try_lock() {
                Ok(guard) => return self.ready(guard),
                Err(TryLockError::Poisoned(p)) => return self.ready(p.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let Some(slot) = self.slots.get(start) else {
            return Err(StoreError::Corrupt("the connection pool is empty".into()));
        };
        self.ready(slot.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn ready<'a>(
        &'a self,
        mut guard: MutexGuard<'a, Option<Client>>,
    ) -> Result<Pooled<'a>, StoreError> {
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(super::open_client(
                &self.config,
                &self.target,
                self.statement_timeout,
            )?);
        }
        Ok(Pooled { guard })
    }
}

#[cfg(test)]
mod tests {
    use super::PostgresOptions;

    #[test]
    fn the_defaults_bound_statements_and_connections() {
        let o = PostgresOptions::default();
        assert_eq!(o.pool_size, 4);
        assert_eq!(o.statement_timeout.as_secs(), 5);
    }
}
