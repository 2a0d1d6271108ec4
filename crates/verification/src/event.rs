//! A verification event: what a source reports about one account.

use jiff::Timestamp;
use serde::Serialize;

use crate::fact::Fact;

/// What an event means for the account's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The source verified the facts: record them.
    Completed,
    /// The source withdrew its verification (revoked, declined): its facts
    /// stop counting.
    Revoked,
    /// Not a decision ("requires input", "resubmission requested", in
    /// review): nothing changes.
    Pending,
}

impl EventKind {
    /// The name used in journals and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Completed => "completed",
            EventKind::Revoked => "revoked",
            EventKind::Pending => "pending",
        }
    }
}

/// What a source reports about one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The account it is about (the source's reference to it).
    pub account: String,
    /// What it means.
    pub kind: EventKind,
    /// The facts established (empty unless `Completed`).
    pub facts: Vec<Fact>,
    /// The source's own id of what it verified: a vendor session or
    /// inquiry id, `iss` + `sub`, an attestation id.
    pub object_id: Option<String>,
    /// When the source says the event happened: events are ordered by it,
    /// since deliveries can arrive out of order.
    pub event_time: Option<Timestamp>,
}
