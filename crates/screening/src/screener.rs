//! The name index and query-time scoring.
