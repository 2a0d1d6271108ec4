//! What the overview's charts count, tallied from the audit log's recent
//! entries: refusals by hour, directive and model, and the verification
//! funnel.
//!
//! Both come from the one log because it holds both halves: the gateway's
//! decisions and, journaled by the store and shipped into the log, every
//! verification event and hand verification (`verification.*`,
//! `account.verified_by_hand`, with the account as the entry's subject).

use std::collections::{BTreeMap, HashMap};

use cordon_audit::leaf::{Mode, Record};

use crate::chart::{PALETTE, Series};

/// Hours the refusal charts cover, ending with the current hour.
pub const HOURS: usize = 48;

/// A refusal as the charts count it: a decision the gateway enforced that
/// did not allow the request.
fn refused(effect: &str) -> bool {
    effect == "deny" || effect == "verification_required"
}

fn allowed(effect: &str) -> bool {
    effect == "allow" || effect == "allow_with_obligations"
}

/// A journaled change that shows a verification under way for its subject:
/// an event from a verification source, whatever its outcome (accepted,
/// pending, rejected), or an officer's verification by hand.
fn verifying(action: &str) -> bool {
    action.starts_with("verification.") || action == "account.verified_by_hand"
}

/// How far an account refused for want of verification got, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Refused,
    Started,
    Restored,
}

/// The tally of a run of entries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Activity {
    /// Refusals per hour by the directive that decided them ("none" when
    /// no directive did: an unknown key or model).
    pub by_directive: BTreeMap<String, [u64; HOURS]>,
    /// Refusals per hour by the catalog model (or the name asked for).
    pub by_model: BTreeMap<String, [u64; HOURS]>,
    /// Each account refused `verification_required`, and how far it got.
    stages: HashMap<String, Stage>,
    /// Entries read.
    pub read: u64,
}

impl Activity {
    /// Counts `record`, the entry after those already counted; `first_hour`
    /// is the start of the oldest hour charted, in seconds since the epoch.
    pub fn count(&mut self, record: &Record, first_hour: i64) {
        self.read += 1;
        match record {
            Record::Decision(d) => {
                if d.mode != Mode::Enforced {
                    return;
                }
                self.chart(
                    &d.time,
                    &d.effect,
                    d.decided_by.as_deref(),
                    d.model.as_deref().unwrap_or(&d.model_requested),
                    first_hour,
                );
                // A decision for an organisation's end user is about the member.
                let Some(account) = d.end_user.as_ref().or(d.account.as_ref()) else {
                    return;
                };
                if d.effect == "verification_required" {
                    self.stages.entry(account.clone()).or_insert(Stage::Refused);
                } else if allowed(&d.effect)
                    && let Some(s) = self.stages.get_mut(account)
                    && *s == Stage::Started
                {
                    *s = Stage::Restored;
                }
            }
            Record::Admin(a) => {
                if verifying(&a.action)
                    && let Some(account) = &a.subject
                    && let Some(s) = self.stages.get_mut(account)
                    && *s == Stage::Refused
                {
                    *s = Stage::Started;
                }
            }
        }
    }

    fn chart(
        &mut self,
        time: &str,
        effect: &str,
        directive: Option<&str>,
        model: &str,
        first_hour: i64,
    ) {
        if !refused(effect) {
            return;
        }
        let Ok(t) = time.parse::<jiff::Timestamp>() else {
            return;
        };
        let Ok(hour) = usize::try_from((t.as_second() - first_hour).div_euclid(3600)) else {
            return;
        };
        if hour >= HOURS {
            return;
        }
        for (map, key) in [
            (&mut self.by_directive, directive.unwrap_or("none")),
            (&mut self.by_model, model),
        ] {
            let counts = match map.get_mut(key) {
                Some(c) => c,
                None => map.entry(key.to_owned()).or_insert([0; HOURS]),
            };
            if let Some(c) = counts.get_mut(hour) {
                *c += 1;
            }
        }
    }

    /// How many accounts reached each stage of the funnel: refused for
    /// want of verification, then verification started, then restored.
    /// Each stage counts the accounts of the stage before that went on.
    pub fn funnel(&self) -> [u64; 3] {
        let at_least = |stage| self.stages.values().filter(|s| **s >= stage).count() as u64;
        [
            at_least(Stage::Refused),
            at_least(Stage::Started),
            at_least(Stage::Restored),
        ]
    }
}

/// The series of `counts` for a chart: the busiest first, and those past
/// what the palette colours folded into "other".
pub fn series(counts: &BTreeMap<String, [u64; HOURS]>) -> Vec<Series> {
    let mut all: Vec<(&String, &[u64; HOURS])> = counts.iter().collect();
    all.sort_by_key(|(name, c)| (std::cmp::Reverse(c.iter().sum::<u64>()), *name));
    let shown = if all.len() > PALETTE.len() {
        PALETTE.len() - 1
    } else {
        all.len()
    };
    let mut out: Vec<Series> = all
        .iter()
        .take(shown)
        .map(|(name, c)| Series {
            name: (*name).clone(),
            counts: c.to_vec(),
        })
        .collect();
    if all.len() > shown {
        let mut other = vec![0; HOURS];
        for (_, c) in all.iter().skip(shown) {
            for (o, v) in other.iter_mut().zip(c.iter()) {
                *o += v;
            }
        }
        out.push(Series {
            name: format!("{} others", all.len() - shown),
            counts: other,
        });
    }
    out
}

#[cfg(test)]
mod tests;
