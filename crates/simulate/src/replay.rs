//! Replaying logged requests under the proposed set: what real traffic would
//! have met, with the locations and features the gateway saw.

use std::collections::HashMap;

use cordon_catalog::Resolution;
use cordon_jurisdiction::{CountryCode, RegionCode};
use cordon_policy::{Effect, Endpoint, Feature, FeatureSet, Request, Trace};
use cordon_subject::Subject;

use crate::Simulation;

/// One decision as the audit log recorded it; borrowed so replaying
/// millions of leaves does not copy them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedRequest<'a> {
    /// The account, when the request was authenticated.
    pub account: Option<&'a str>,
    /// The model name as the client sent it.
    pub model: &'a str,
    /// The endpoint (`chat`, `messages`, …).
    pub endpoint: &'a str,
    /// The request's feature names.
    pub features: &'a [String],
    /// Client country, when geolocated.
    pub client_country: Option<&'a str>,
    /// Client region (ISO 3166-2), when geolocated.
    pub client_region: Option<&'a str>,
    /// Whether the client address was a known anonymiser.
    pub anonymizer: Option<bool>,
    /// The logged effect (`allow`, `allow_with_obligations`,
    /// `verification_required`, `deny`).
    pub effect: &'a str,
}

/// Per-model replay counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ModelTraffic {
    pub(crate) requests: u64,
    pub(crate) newly_refused: u64,
    pub(crate) newly_allowed: u64,
}

impl ModelTraffic {
    fn merge(&mut self, o: &ModelTraffic) {
        self.requests += o.requests;
        self.newly_refused += o.newly_refused;
        self.newly_allowed += o.newly_allowed;
    }
}

pub(crate) const SEEN: u8 = 1;
pub(crate) const WOULD_REFUSE: u8 = 2;
pub(crate) const NEWLY_REFUSED: u8 = 4;
pub(crate) const NEWLY_ALLOWED: u8 = 8;

/// What one worker thread counted over the logged requests it replayed.
///
/// Start one per thread with [`TrafficTally::default`] and
/// [`TrafficTally::merge`] them; distinct-account counts stay exact because
/// each tally keeps the accounts it saw (one small entry per account).
#[derive(Debug, Clone, Default)]
pub struct TrafficTally {
    pub(crate) decisions: u64,
    pub(crate) replayed: u64,
    pub(crate) no_account: u64,
    pub(crate) unknown_account: u64,
    pub(crate) would_refuse: u64,
    pub(crate) newly_refused: u64,
    pub(crate) newly_allowed: u64,
    /// Per account, the `SEEN`/`WOULD_REFUSE`/… flags it earned.
    pub(crate) accounts: HashMap<Box<str>, u8>,
    /// Per proposed-catalog model index.
    pub(crate) models: Vec<ModelTraffic>,
    /// Per model name no catalog knows, as logged.
    pub(crate) unknown_models: HashMap<Box<str>, ModelTraffic>,
    trace: Trace,
}

impl TrafficTally {
    /// Adds another thread's counts to this one.
    pub fn merge(&mut self, other: TrafficTally) {
        self.decisions += other.decisions;
        self.replayed += other.replayed;
        self.no_account += other.no_account;
        self.unknown_account += other.unknown_account;
        self.would_refuse += other.would_refuse;
        self.newly_refused += other.newly_refused;
        self.newly_allowed += other.newly_allowed;
        for (k, f) in other.accounts {
            *self.accounts.entry(k).or_default() |= f;
        }
        if self.models.len() < other.models.len() {
            self.models
                .resize(other.models.len(), ModelTraffic::default());
        }
        for (a, b) in self.models.iter_mut().zip(&other.models) {
            a.merge(b);
        }
        for (k, m) in other.unknown_models {
            self.unknown_models.entry(k).or_default().merge(&m);
        }
    }

    /// Logged requests passed to [`Simulation::replay`] so far.
    pub fn decisions(&self) -> u64 {
        self.decisions
    }

    /// Of those, the ones replayed.
    pub fn replayed(&self) -> u64 {
        self.replayed
    }
}

/// How a logged effect turned out for the client, which is what a replay
/// compares the proposed set's decision against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoggedEffect {
    /// `allow` or `allow_with_obligations`.
    Allowed,
    /// `deny` or `verification_required`.
    Refused,
    /// A name this version does not know; counts in neither direction.
    Other,
}

impl LoggedEffect {
    /// Classifies an effect as the log spells it.
    pub fn of(effect: &str) -> LoggedEffect {
        match effect {
            "allow" | "allow_with_obligations" => LoggedEffect::Allowed,
            "deny" | "verification_required" => LoggedEffect::Refused,
            _ => LoggedEffect::Other,
        }
    }
}

/// How many logged decisions of one request shape, for one account, ended
/// each way: the multiplicity [`Simulation::replay_account`] counts a shape
/// with, so a shape repeated a thousand times is decided once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggedOutcomes {
    /// Logged as allowed.
    pub allowed: u64,
    /// Logged as refused.
    pub refused: u64,
    /// Logged with an effect this version does not know.
    pub other: u64,
}

impl LoggedOutcomes {
    /// Adds `n` decisions logged with `effect`.
    pub fn add(&mut self, effect: LoggedEffect, n: u64) {
        match effect {
            LoggedEffect::Allowed => self.allowed += n,
            LoggedEffect::Refused => self.refused += n,
            LoggedEffect::Other => self.other += n,
        }
    }

    /// All of them.
    pub fn total(&self) -> u64 {
        self.allowed + self.refused + self.other
    }
}

/// Where a replayed request's per-model counts go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ModelSlot {
    /// A proposed-catalog model, by index.
    Known(usize),
    /// A name no catalog knows, as logged.
    Unknown(Box<str>),
}

/// A logged request turned into what the proposed set decides on, once for
/// every account that sent the same shape; built by [`Simulation::prepare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRequest {
    request: Request,
    slot: ModelSlot,
}

/// Why logged decisions were not replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Logged without an account.
    NoAccount,
    /// Their account is not in the store (or its record cannot be read).
    UnknownAccount,
}

impl TrafficTally {
    /// Counts `n` logged decisions that were not replayed.
    pub fn skip(&mut self, why: Skip, n: u64) {
        self.decisions += n;
        match why {
            Skip::NoAccount => self.no_account += n,
            Skip::UnknownAccount => self.unknown_account += n,
        }
    }

    fn model_slot(&mut self, slot: &ModelSlot, catalog_len: usize) -> Option<&mut ModelTraffic> {
        match slot {
            ModelSlot::Known(index) => {
                if self.models.len() < catalog_len {
                    self.models.resize(catalog_len, ModelTraffic::default());
                }
                self.models.get_mut(*index)
            }
            ModelSlot::Unknown(name) => match self.unknown_models.contains_key(&**name) {
                true => self.unknown_models.get_mut(&**name),
                false => Some(self.unknown_models.entry(name.clone()).or_default()),
            },
        }
    }
}

impl Simulation {
    /// Decides one logged request under the proposed set at
    /// [`Simulation::at`] and counts it into `traffic`.
    ///
    /// `subject` is the account's current record, `None` when the store does
    /// not hold it; a request logged without an account, or whose account is
    /// unknown, is counted as skipped. The request keeps the logged endpoint,
    /// features, location and anonymiser flag; an endpoint name this version
    /// does not know is replayed as `chat`, and unknown feature names are
    /// dropped. The comparison is against the logged effect, so a request the
    /// baseline would now decide differently still counts by what happened.
    pub fn replay(
        &self,
        logged: &LoggedRequest<'_>,
        subject: Option<&Subject>,
        traffic: &mut TrafficTally,
    ) {
        let Some(account) = logged.account else {
            traffic.skip(Skip::NoAccount, 1);
            return;
        };
        let Some(subject) = subject else {
            traffic.skip(Skip::UnknownAccount, 1);
            return;
        };
        let mut outcomes = LoggedOutcomes::default();
        outcomes.add(LoggedEffect::of(logged.effect), 1);
        let prepared = self.prepare(logged);
        self.replay_account(account, subject, [(&prepared, outcomes)], traffic);
    }

    /// Turns the request part of a logged decision (model, endpoint,
    /// features, location, anonymiser flag; not the account or the effect)
    /// into the request [`Simulation::replay_account`] decides, as
    /// [`Simulation::replay`] would.
    pub fn prepare(&self, logged: &LoggedRequest<'_>) -> PreparedRequest {
        let model = match self.proposed().catalog().resolve(logged.model) {
            Resolution::Known { id, .. } => Some(id),
            Resolution::Unknown => None,
        };
        let mut request = Request::new(model, self.at());
        request.endpoint = Endpoint::parse(logged.endpoint).unwrap_or(Endpoint::Chat);
        request.features = logged
            .features
            .iter()
            .filter_map(|f| Feature::parse(f))
            .collect::<FeatureSet>();
        request.country = logged
            .client_country
            .and_then(|c| CountryCode::parse(c).ok());
        request.region = logged.client_region.and_then(|r| RegionCode::parse(r).ok());
        request.anonymizer = logged.anonymizer;
        let slot = match model {
            Some(id) => ModelSlot::Known(id.index()),
            None => ModelSlot::Unknown(Box::from(logged.model)),
        };
        PreparedRequest { request, slot }
    }

    /// Replays every logged decision of one account at once: each distinct
    /// request shape is decided once and counted with its multiplicity.
    ///
    /// The figures are exactly those of calling [`Simulation::replay`] once
    /// per logged decision, in any order, provided each account's decisions
    /// all come through one call (or through calls on tallies that are then
    /// merged, since an account's flags are kept per account).
    pub fn replay_account<'p>(
        &self,
        account: &str,
        subject: &Subject,
        shapes: impl IntoIterator<Item = (&'p PreparedRequest, LoggedOutcomes)>,
        traffic: &mut TrafficTally,
    ) {
        let catalog_len = self.proposed().catalog().len();
        let mut flags = 0u8;
        for (prepared, outcomes) in shapes {
            let n = outcomes.total();
            if n == 0 {
                continue;
            }
            let decision = self
                .proposed()
                .decide(subject, &prepared.request, &mut traffic.trace);
            let refuses = decision.effect > Effect::AllowWithObligations;
            let (newly_refused, newly_allowed) = match refuses {
                true => (outcomes.allowed, 0),
                false => (0, outcomes.refused),
            };
            traffic.decisions += n;
            traffic.replayed += n;
            traffic.would_refuse += if refuses { n } else { 0 };
            traffic.newly_refused += newly_refused;
            traffic.newly_allowed += newly_allowed;
            flags |= SEEN
                | if refuses { WOULD_REFUSE } else { 0 }
                | if newly_refused > 0 { NEWLY_REFUSED } else { 0 }
                | if newly_allowed > 0 { NEWLY_ALLOWED } else { 0 };
            if let Some(m) = traffic.model_slot(&prepared.slot, catalog_len) {
                m.requests += n;
                m.newly_refused += newly_refused;
                m.newly_allowed += newly_allowed;
            }
        }
        if flags == 0 {
            return;
        }
        match traffic.accounts.get_mut(account) {
            Some(f) => *f |= flags,
            None => {
                traffic.accounts.insert(Box::from(account), flags);
            }
        }
    }
}
