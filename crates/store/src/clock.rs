//! The one place the store reads the system clock.
//!
//! [`SqliteStore::with_clock`](crate::SqliteStore::with_clock) replaces it, so
//! tests and callers with their own clock control every stored time.

use jiff::Timestamp;

/// A source of the current time.
pub type Clock = dyn Fn() -> Timestamp + Send + Sync;

/// The system clock.
pub(crate) fn system_now() -> Timestamp {
    Timestamp::now()
}
