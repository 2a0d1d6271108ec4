//! Readers for the published list formats.
