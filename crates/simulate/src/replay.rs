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

/// Whether a logged effect allowed the request; `None` for a name this
/// version does not know, which then counts in neither direction.
fn logged_allowed(effect: &str) -> Option<bool> {
    match effect {
        "allow" | "allow_with_obligations" => Some(true),
        "deny" | "verification_required" => Some(false),
        _ => None,
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
        traffic.decisions += 1;
        let Some(account) = logged.account else {
            traffic.no_account += 1;
            return;
        };
        let Some(subject) = subject else {
            traffic.unknown_account += 1;
            return;
        };
        traffic.replayed += 1;
        let catalog = self.proposed().catalog();
        let model = match catalog.resolve(logged.model) {
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
        let decision = self
            .proposed()
            .decide(subject, &request, &mut traffic.trace);
        let refuses = decision.effect > Effect::AllowWithObligations;
        let was_allowed = logged_allowed(logged.effect);
        let newly_refused = refuses && was_allowed == Some(true);
        let newly_allowed = !refuses && was_allowed == Some(false);
        traffic.would_refuse += u64::from(refuses);
        traffic.newly_refused += u64::from(newly_refused);
        traffic.newly_allowed += u64::from(newly_allowed);
        let flags = SEEN
            | if refuses { WOULD_REFUSE } else { 0 }
            | if newly_refused { NEWLY_REFUSED } else { 0 }
            | if newly_allowed { NEWLY_ALLOWED } else { 0 };
        match traffic.accounts.get_mut(account) {
            Some(f) => *f |= flags,
            None => {
                traffic.accounts.insert(Box::from(account), flags);
            }
        }
        let slot = match model {
            Some(id) => {
                if traffic.models.len() < catalog.len() {
                    traffic
                        .models
                        .resize(catalog.len(), ModelTraffic::default());
                }
                traffic.models.get_mut(id.index())
            }
            None => match traffic.unknown_models.contains_key(logged.model) {
                true => traffic.unknown_models.get_mut(logged.model),
                false => Some(
                    traffic
                        .unknown_models
                        .entry(Box::from(logged.model))
                        .or_default(),
                ),
            },
        };
        if let Some(m) = slot {
            m.requests += 1;
            m.newly_refused += u64::from(newly_refused);
            m.newly_allowed += u64::from(newly_allowed);
        }
    }
}
