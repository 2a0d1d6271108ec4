//! Cordon's policy core: the directive language, its checker, and the engine that
//! turns a directive set into explained decisions.
//!
//! ```text
//! directive files ──check──▶ Policy ──decide(subject, request)──▶ Decision + Trace ──explain──▶ Explanation
//! ```
//!
//! The engine does no I/O and never reads the clock: the request carries its
//! time, so effective dates and grace periods are testable and decisions are
//! reproducible. Conditions are evaluated in three-valued logic; a missing
//! attribute is *unknown*, and each directive states what unknown means.
#![deny(missing_docs)]

pub mod condition;
mod diagnostic;
mod directive;
mod engine;
mod explain;
mod levels;
mod matrix;
mod mentions;
mod policy;
mod program;
mod regions;
mod request;
mod schedule;
mod vocabulary;

pub use diagnostic::{Diagnostic, LoadError, Severity};
pub use directive::{
    CheckEnv, DeclaredProperty, Directive, Exemption, ForeignPersonDefinition, Mode, Obligations,
    Rule, RuleEffect, Scope, UnknownEffect, check_file,
};
pub use engine::{Consulted, Decision, Effect, Exempted, Phase, RuleOutcome, Trace, licence_lifts};
pub use explain::{Detail, Explanation, ModelReport};
pub use levels::Levels;
pub use matrix::{Matrix, MatrixCell, MatrixDiff, matrix_subject};
pub use mentions::Mention;
pub use policy::{MAX_DIRECTIVES, Policy, directive_files};
pub use regions::RegionNeed;
pub use request::{Endpoint, EndpointSet, Feature, FeatureSet, Request, ToolType, ToolTypeSet};
pub use schedule::{Change, Standing};
pub use vocabulary::{Attr, AttrType};
