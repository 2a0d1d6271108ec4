//! From an HTTP request to a decision: who, from where, asking for what.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use cordon_catalog::{ModelId, Resolution};
use cordon_geo::IpLocation;
use cordon_policy::{Decision, Detail, Endpoint, Explanation, Request, Trace};
use cordon_subject::Subject;

use crate::inspect::Inspected;
use crate::state::{Compiled, Gateway};

/// Where a request comes from, as far as the gateway can tell.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client address (after trusted-proxy processing), if determinable.
    pub ip: Option<IpAddr>,
    /// What geolocation found.
    pub location: IpLocation,
}

/// Locates a client: trusted-proxy headers, then the GeoIP chain, then the
/// anonymiser lists. A failed lookup leaves the location unknown.
pub fn locate(gw: &Gateway, peer: SocketAddr, headers: &HeaderMap) -> Origin {
    let ip = crate::client_ip::client_ip(peer, headers, &gw.loaded.trusted_proxies);
    let Some(ip) = ip else {
        return Origin::default();
    };
    let mut location = match gw.geo.lookup(ip) {
        Ok(found) => found.location,
        Err(e) => {
            tracing::warn!(error = %e, "geolocation failed; location unknown");
            IpLocation::default()
        }
    };
    if gw.anonymizers.iter().any(|c| c.contains(ip)) {
        location.anonymizer = Some(true);
    } else if location.anonymizer.is_none() && !gw.anonymizers.is_empty() {
        location.anonymizer = Some(false);
    }
    Origin {
        ip: Some(ip),
        location,
    }
}

/// The model a name resolves to.
pub fn resolve(compiled: &Compiled, name: &str) -> Option<ModelId> {
    match compiled.policy.catalog().resolve(name) {
        Resolution::Known { id, .. } => Some(id),
        Resolution::Unknown => None,
    }
}

/// Builds the engine's request.
pub fn request(
    gw: &Gateway,
    model: Option<ModelId>,
    endpoint: Endpoint,
    inspected: Option<&Inspected>,
    origin: &Origin,
) -> Request {
    let mut r = Request::new(model, gw.now());
    r.endpoint = endpoint;
    if let Some(i) = inspected {
        r.features = i.features;
        r.tool_types = i.tool_types;
        r.max_tokens = i.max_tokens;
    }
    r.country = origin.location.country;
    r.region = origin.location.region;
    r.anonymizer = origin.location.anonymizer;
    r
}

/// Decides one request, returning the decision and, for anything but a plain
/// allow, its explanation in `detail`.
///
/// Counts the shadow-mode directives that would have refused it in the
/// policy's pre-allocated counters, so `/metrics` shows what enforcing them
/// would change; use [`preview`] for what-ifs that are not requests.
pub fn decide(
    compiled: &Compiled,
    subject: &Subject,
    request: &Request,
    requested_model: &str,
    always_explain: bool,
    detail: Detail,
) -> (Decision, Option<Explanation>) {
    decide_counting(
        compiled,
        subject,
        request,
        requested_model,
        always_explain,
        detail,
        true,
    )
}

/// [`decide`] without counting shadow-mode refusals: for a second
/// evaluation of a request already counted (the organisation behind an end
/// user's request).
pub fn decide_uncounted(
    compiled: &Compiled,
    subject: &Subject,
    request: &Request,
    requested_model: &str,
    always_explain: bool,
    detail: Detail,
) -> (Decision, Option<Explanation>) {
    decide_counting(
        compiled,
        subject,
        request,
        requested_model,
        always_explain,
        detail,
        false,
    )
}

fn decide_counting(
    compiled: &Compiled,
    subject: &Subject,
    request: &Request,
    requested_model: &str,
    always_explain: bool,
    detail: Detail,
    count: bool,
) -> (Decision, Option<Explanation>) {
    let mut trace = Trace::with_capacity(compiled.policy.max_consulted());
    let decision = compiled.policy.decide(subject, request, &mut trace);
    if count {
        compiled.shadow.count(&trace);
    }
    let explain = always_explain
        || decision.effect != cordon_policy::Effect::Allow
        || trace.consulted().iter().any(|c| c.allowed_unknown);
    let explanation = explain.then(|| {
        compiled
            .policy
            .explain_with(subject, request, requested_model, &decision, &trace, detail)
    });
    (decision, explanation)
}

/// Decides without explaining or counting: what a request would get, for
/// listings such as `/v1/models`.
pub fn preview(compiled: &Compiled, subject: &Subject, request: &Request) -> Decision {
    let mut trace = Trace::with_capacity(compiled.policy.max_consulted());
    compiled.policy.decide(subject, request, &mut trace)
}
