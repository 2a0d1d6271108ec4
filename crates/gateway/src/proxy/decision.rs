//! The decision about one model for one caller, recorded before it takes
//! effect: the step every decided endpoint shares, whether the model comes
//! from a request body or from an object recorded when it was made.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, Uri, request::Parts};
use cordon_audit::leaf::Source;
use cordon_catalog::ModelId;
use cordon_policy::{Detail, Effect, Endpoint, Explanation};
use cordon_store::Principal;

use super::caller::{Caller, behalf};
use super::evaluate::Stop;
use super::{error, refusal};
use crate::api_error::{Api, Code};
use crate::audit;
use crate::decide::{self, Origin};
use crate::inspect::Inspected;
use crate::state::{Compiled, Gateway};

/// What one decision is about, besides the caller.
pub(crate) struct Ask<'a> {
    /// The endpoint directives see.
    pub(crate) endpoint: Endpoint,
    /// The route, for the log line.
    pub(crate) route: &'a str,
    /// The connection's peer, for locating the client.
    pub(crate) peer: SocketAddr,
    /// The request's head: its headers locate the client, and a model its
    /// URL or headers name must agree with the one decided on.
    pub(crate) parts: &'a Parts,
    /// The model as named and the features used: read from a body, or
    /// built from a recorded object's model.
    pub(crate) inspected: &'a Inspected,
    /// The decision id.
    pub(crate) id: &'a str,
    /// When the request arrived, for the decision-latency histogram.
    pub(crate) started: Instant,
    /// Which integration asked.
    pub(crate) source: Source,
}

/// An allowing decision, recorded in the audit log when there is one.
pub struct Decided {
    /// The decision (allow or allow with obligations).
    pub decision: cordon_policy::Decision,
    /// Its explanation, when one was built (warnings, obligations).
    pub explanation: Option<Explanation>,
    /// The resolved model.
    pub model: ModelId,
    /// The model's canonical id.
    pub canonical: String,
    /// The policy that decided.
    pub compiled: Arc<Compiled>,
    /// Where the decision is in the audit log; `None` without a log, when
    /// an uncontrolled request went through unrecorded, or while the
    /// record is still [`Self::pending`].
    pub audit_index: Option<u64>,
    /// The record not yet known durable, for a caller that overlaps the
    /// sync with work the customer does not see ([`decide_overlapped`]).
    pub pending: audit::PendingRecord,
    /// Whose key asked: its account owns what the request creates.
    pub principal: Arc<Principal>,
}

impl Decided {
    /// Waits until the decision's record is durable and sets
    /// [`Self::audit_index`]; or the 503 to send instead.
    pub(crate) async fn settle(&mut self, api: Api, id: &str) -> Result<(), Stop> {
        self.audit_index = self
            .pending
            .take()
            .durable()
            .await
            .map_err(|e| audit::unavailable(api, &e, id))?;
        Ok(())
    }
}

/// Decides `ask` for the key's `principal`, on behalf of the end user the
/// body names (`ask.inspected.end_user`) or the configured header does.
///
/// The model may come from a body or from an object recorded with the
/// model it was made with (whose calls have no body to read). Returns the
/// allowing decision, or the complete response to send instead: a 400,
/// 403, 404 (a model the catalog does not have), a legal refusal, or a 503.
/// The decision is recorded like any other before this returns.
pub(crate) async fn decide_asked(
    gw: &Arc<Gateway>,
    api: Api,
    principal: Arc<Principal>,
    ask: &Ask<'_>,
) -> Result<Decided, Stop> {
    let mut decided = decide_overlapped(gw, api, principal, ask).await?;
    decided.settle(api, ask.id).await?;
    Ok(decided)
}

/// [`decide_asked`], except that an allowing decision returns as soon as
/// its record is queued, with the record in [`Decided::pending`]: the
/// caller may send the request upstream meanwhile, but must
/// [`Decided::settle`] before any byte of the answer reaches the customer.
/// A refusal is returned only once its record is durable, as always.
pub(crate) async fn decide_overlapped(
    gw: &Arc<Gateway>,
    api: Api,
    principal: Arc<Principal>,
    ask: &Ask<'_>,
) -> Result<Decided, Stop> {
    let named = ask.inspected.end_user.as_deref();
    let caller = behalf(gw, api, principal, named, &ask.parts.headers, ask.id).await?;
    decide_model(gw, api, &caller, ask).await
}

/// Resolves the model, locates the client, decides for `caller` and records
/// the decision; a refusal (an unknown model too) is the complete response.
async fn decide_model(
    gw: &Arc<Gateway>,
    api: Api,
    caller: &Caller,
    ask: &Ask<'_>,
) -> Result<Decided, Stop> {
    let Ask {
        endpoint,
        route,
        peer,
        parts,
        inspected,
        id,
        started,
        source,
    } = *ask;
    let compiled = gw.compiled();
    // One read of the trail per request: the decision and its record use it.
    let trail = gw.audit();
    // Which model; an unknown one is refused, and recorded like any refusal.
    let model = decide::resolve(&compiled, &inspected.model);
    if model_disagrees(&compiled, model, parts) {
        return Err(error(
            api,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "the model named in the URL or headers disagrees with the body's `model`",
            id,
        ));
    }
    let Some(model_id) = model else {
        return Err(unknown_model(gw, api, caller, ask).await);
    };

    // Where, and the decision.
    let origin: Origin = decide::locate(gw, peer, &parts.headers);
    let request = decide::request(gw, Some(model_id), endpoint, Some(inspected), &origin);
    // The audit log records every decision with the attributes it read,
    // which only the explanation has.
    let (decision, explanation, organisation_decided) = decide_for(
        &compiled,
        caller,
        &request,
        &inspected.model,
        trail.is_some(),
    );
    gw.metrics.decision_latency.observe(started.elapsed());
    let canonical = compiled
        .policy
        .catalog()
        .model(model_id)
        .map(|m| m.id.clone())
        .unwrap_or_default();
    let decided_by = explanation.as_ref().and_then(|e| e.decided_by.clone());
    gw.metrics
        .decision(decision.effect.as_str(), decided_by.as_deref(), &canonical);
    tracing::info!(
        decision_id = id,
        account = %caller.principal.account,
        end_user = caller.end_user.as_ref().map_or("", |e| e.account.as_str()),
        key = %caller.principal.key_prefix,
        model = %canonical,
        route,
        country = origin.location.country.as_ref().map_or("", |c| c.as_str()),
        region = origin.location.region.map(|c| c.to_string()).unwrap_or_default(),
        effect = decision.effect.as_str(),
        directive = decided_by.as_deref().unwrap_or(""),
        policy = %compiled.policy.version(),
        "decision"
    );

    // Record, before the decision takes effect: a refusal waits here, an
    // allowing decision carries its pending record to the caller.
    let pending = match &explanation {
        Some(e) => audit::begin_decision(
            trail.as_ref(),
            &decision,
            e,
            &request,
            &caller.context(id, source),
        ),
        None => audit::PendingRecord::none(),
    };
    if decision.effect >= Effect::VerificationRequired {
        let audit_index = pending
            .durable()
            .await
            .map_err(|e| audit::unavailable(api, &e, id))?;
        let mut r = match &explanation {
            Some(e) => {
                let verifying = caller.verifying_account(organisation_decided);
                if e.effect == Effect::VerificationRequired
                    && let Some(account) = verifying
                {
                    gw.metrics.refused_for_verification(account);
                }
                refusal(gw, api, e, id, verifying)
            }
            None => error(
                api,
                StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                Code::Denied,
                "refused",
                id,
            ),
        };
        audit::set_index(r.headers_mut(), audit_index);
        return Err(r);
    }

    Ok(Decided {
        decision,
        explanation,
        model: model_id,
        canonical,
        compiled,
        audit_index: None,
        pending,
        principal: Arc::clone(&caller.principal),
    })
}

/// The decision for `caller`. Behind an organisation's key both the person
/// and the organisation are parties to the request, so it is the more
/// restrictive of the two decisions (with both sets of obligations when
/// they allow alike): registering an end user can never lift what applies
/// to the organisation, such as its own restricted-party listing.
fn decide_for(
    compiled: &Compiled,
    caller: &Caller,
    request: &cordon_policy::Request,
    requested_model: &str,
    always_explain: bool,
) -> (cordon_policy::Decision, Option<Explanation>, bool) {
    let (decision, explanation) = decide::decide(
        compiled,
        caller.subject(),
        request,
        requested_model,
        always_explain,
        Detail::Decision,
    );
    if caller.end_user.is_none() {
        return (decision, explanation, false);
    }
    // The end user's decision answered every question about the natural
    // person; the organisation's own account cannot, so directives about
    // natural persons are left out of its decision.
    let organisation_request = cordon_policy::Request {
        person_decided_apart: true,
        ..*request
    };
    let organisation = decide::decide_uncounted(
        compiled,
        &caller.principal.subject,
        &organisation_request,
        requested_model,
        always_explain,
        Detail::Decision,
    );
    if organisation.0.effect > decision.effect {
        return (organisation.0, organisation.1, true);
    }
    let mut decision = decision;
    if organisation.0.effect == decision.effect {
        decision.obligations = decision.obligations.combine(organisation.0.obligations);
    }
    (decision, explanation, false)
}

/// Whether the URL or headers name a model other than the body's.
fn model_disagrees(compiled: &Compiled, model: Option<ModelId>, parts: &Parts) -> bool {
    model_outside_body(&parts.uri, &parts.headers)
        .is_some_and(|other| decide::resolve(compiled, &other) != model || model.is_none())
}

/// The model named outside the body (query `?model=`, `x-model` header), if any.
fn model_outside_body(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let from_query = uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "model")
            .map(|(_, v)| v.replace('+', " "))
    });
    from_query.or_else(|| {
        headers
            .get("x-model")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

/// The 404 for a model the catalog does not have; with an audit log, the
/// policy's refusal of it is recorded first like any other decision.
async fn unknown_model(gw: &Arc<Gateway>, api: Api, caller: &Caller, ask: &Ask<'_>) -> Stop {
    let Ask {
        endpoint,
        peer,
        parts,
        inspected,
        id,
        source,
        ..
    } = *ask;
    gw.metrics.decision("unknown_model", None, "");
    let mut r = error(
        api,
        StatusCode::NOT_FOUND,
        Code::ModelNotFound,
        &format!(
            "the model `{}` does not exist or you do not have access to it",
            crate::audit::bounded_model_name(&inspected.model)
        ),
        id,
    );
    let Some(trail) = gw.audit() else {
        return r;
    };
    let compiled = gw.compiled();
    let origin = decide::locate(gw, peer, &parts.headers);
    let request = decide::request(gw, None, endpoint, Some(inspected), &origin);
    let (decision, explanation) = decide::decide(
        &compiled,
        caller.subject(),
        &request,
        &inspected.model,
        true,
        Detail::Decision,
    );
    if let Some(e) = &explanation {
        match audit::record_decision(
            Some(&trail),
            &decision,
            e,
            &request,
            &caller.context(id, source),
        )
        .await
        {
            Ok(index) => audit::set_index(r.headers_mut(), index),
            Err(e) => return audit::unavailable(api, &e, id),
        }
    }
    r
}
