//! Where a directive stands at a given time, and what changes next.
//!
//! A directive's mode says whether it is consulted at all; its times say
//! when a consulted directive starts, leaves its grace period and lapses.
//! The engine applies both per request (a directive effective at 00:00 is
//! enforced from the first request at 00:00); this module states the same
//! facts for people planning a roll-out.

use jiff::Timestamp;
use serde::Serialize;

use crate::{Directive, Mode, Phase};

/// A directive's standing at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Being written: never consulted, whatever its times.
    Draft,
    /// Withdrawn: never consulted, whatever its times.
    Retired,
    /// Consulted from its effective time; not yet.
    Pending,
    /// Effective, within its grace period.
    Grace,
    /// Effective, past any grace period.
    InForce,
    /// Past its expiry: no longer consulted.
    Expired,
}

impl Standing {
    /// The standing as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Draft => "draft",
            Standing::Retired => "retired",
            Standing::Pending => "pending",
            Standing::Grace => "grace",
            Standing::InForce => "in_force",
            Standing::Expired => "expired",
        }
    }
}

/// A scheduled change in a directive's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// It starts being consulted.
    TakesEffect,
    /// Its grace period ends: unknowns get the stricter treatment.
    GraceEnds,
    /// It lapses.
    Expires,
}

impl Change {
    /// The change as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::TakesEffect => "takes_effect",
            Change::GraceEnds => "grace_ends",
            Change::Expires => "expires",
        }
    }
}

impl Directive {
    /// Where the directive stands at `at`.
    pub fn standing(&self, at: Timestamp) -> Standing {
        match self.mode {
            Mode::Draft => return Standing::Draft,
            Mode::Retired => return Standing::Retired,
            Mode::Shadow | Mode::Enforced => {}
        }
        match self.phase(at) {
            Some(Phase::Grace) => Standing::Grace,
            Some(Phase::InForce) => Standing::InForce,
            Some(Phase::Upcoming) => Standing::Pending,
            None if at < self.effective => Standing::Pending,
            None => Standing::Expired,
        }
    }

    /// The next change after `at`, if any: none for drafts and retired
    /// directives, which no time moves.
    pub fn next_change(&self, at: Timestamp) -> Option<(Timestamp, Change)> {
        if matches!(self.mode, Mode::Draft | Mode::Retired) {
            return None;
        }
        [
            Some((self.effective, Change::TakesEffect)),
            self.grace_until.map(|t| (t, Change::GraceEnds)),
            self.expires.map(|t| (t, Change::Expires)),
        ]
        .into_iter()
        .flatten()
        .filter(|(t, _)| *t > at)
        .min_by_key(|(t, _)| *t)
    }
}
