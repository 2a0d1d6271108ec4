//! The one place Cordon reads the system clock.
//!
//! Everything below the binary takes time as an argument, so directives'
//! effective times and grace periods can be tested and decisions replayed.

use jiff::Timestamp;

/// The current time.
pub fn now() -> Timestamp {
    Timestamp::now()
}
