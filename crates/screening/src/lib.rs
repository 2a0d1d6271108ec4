//! Restricted-party screening.
//!
//! Directives name *who* as well as *where*: parties on the OFAC SDN list, the
//! BIS Entity List and the other lists of the U.S. Consolidated Screening List.
//! This crate reads the published list formats into [`ListEntry`] values,
//! normalises names (scripts, diacritics, honorifics, company forms) and finds
//! the entries a queried name may be, with a score and a token-by-token
//! explanation for every hit. It does no I/O on the query path.
#![deny(missing_docs)]

mod entry;
pub mod lists;
pub mod normalize;
pub mod precision;
pub mod report;
pub mod screener;
pub mod snapshot;

pub use entry::{Address, EntryKind, EntryName, ListEntry, NameKind};
