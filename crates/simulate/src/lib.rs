//! Impact simulation: what a proposed directive set would change, account by
//! account and model by model, before it takes effect.
//!
//! ```text
//! baseline Policy ─┐                        ┌─▶ Tally (per thread) ─merge─▶ report() ─▶ Report (JSON, CSV)
//!                  ├─ Simulation::account ──┤
//! proposed Policy ─┘                        └─▶ AccountImpact ─▶ notify_rows() ─▶ notify CSV
//! logged requests ──── Simulation::replay ────▶ TrafficTally ─merge─▶ report()
//! ```
//!
//! Every account is decided for every catalog model and every request
//! [`Shape`] (by default a plain chat request) under both sets, at one
//! simulated time. For accounts asked to verify, the simulation counts which
//! of the given [`Way`]s of verifying could restore their access. The crate does no I/O and never reads the clock: callers
//! stream accounts and logged requests in and write the outputs, so one
//! `Simulation` can serve several worker threads, each with its own tally.
#![deny(missing_docs)]

mod error;
pub mod html;
mod limits;
pub mod matrix;
mod notify;
mod replay;
pub mod report;
mod shape;
mod simulation;
mod tally;
mod transition;
mod way;

pub use error::SimulateError;
pub use limits::limits_text;
pub use notify::{NotifyRow, notify_csv, notify_csv_header, notify_rows};
pub use replay::{
    LoggedEffect, LoggedOutcomes, LoggedRequest, PreparedRequest, Skip, TrafficTally,
};
pub use report::{Report, ReportInputs, TrafficSource, report};
pub use shape::Shape;
pub use simulation::{AccountImpact, CellImpact, Location, Simulation, Verify};
pub use tally::Tally;
pub use transition::Transition;
pub use way::Way;
