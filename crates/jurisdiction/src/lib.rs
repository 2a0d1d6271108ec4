//! Jurisdictions: ISO 3166-1 countries, ISO 3166-2 regions, and country groups.
//!
//! Sanctions and export controls name places at two levels: whole countries
//! (ISO 3166-1 alpha-2, e.g. `IR`) and sub-national regions (ISO 3166-2, e.g.
//! `UA-43` for Crimea). Export rules also name *groups* of countries (EAR
//! Supplement No. 1 to Part 740: `EAR:D:5`, …) that change over time, so groups
//! are loaded from versioned data files that carry their citation.
//!
//! Country sets are bitsets over the 676 possible alpha-2 codes, so membership
//! tests on the decision path are a shift and a mask.
#![deny(missing_docs)]

mod code;
mod country_set;
mod groups;
mod table;

pub use code::{CodeError, CountryCode, RegionCode};
pub use country_set::CountrySet;
pub use groups::{Confidence, CountryGroup, GroupError, GroupRegistry, GroupSet, GroupStatus};
pub use table::{Jurisdictions, TableError};
