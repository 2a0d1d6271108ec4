//! Matching against the real list files.
