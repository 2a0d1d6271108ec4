//! The model catalog: which models exist, what they are called, and what they are.
//!
//! Directives name models, families (`fable`) and classification tags
//! (`frontier`). Clients name models however they like: `Fable-5`, an alias, a
//! dated snapshot. Every name is resolved through the catalog before any rule sees
//! it, so a rule about `fable-5` cannot be dodged by writing `FABLE-5-2026-09-01`,
//! and a name the catalog does not know is an explicit [`Resolution::Unknown`],
//! never a pass.
#![deny(missing_docs)]

mod catalog;
mod name;

pub use catalog::{Catalog, CatalogError, Model, ModelId, Resolution, Via};
pub use name::{MAX_NAME_LEN, normalize_into};
