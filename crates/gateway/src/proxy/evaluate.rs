//! One request's decision, in the order it is made: who is asking, what
//! they ask for, on whose behalf, which model, from where; then the
//! decision, recorded before it takes effect.
//!
//! Each step returns the complete response to send instead when the request
//! stops there, so [`evaluate`] reads as the sequence of steps.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, Uri, header, request::Parts};
use cordon_audit::leaf::{Mode, Source};
use cordon_catalog::ModelId;
use cordon_policy::{Effect, Endpoint, Explanation};
use cordon_store::Principal;
use cordon_subject::Subject;

use super::{error, presented_key, refusal};
use crate::api_error::{Api, Code};
use crate::audit::{self, DecisionContext};
use crate::decide::{self, Origin};
use crate::end_user::{self, EndUser};
use crate::inspect::{self, Inspected};
use crate::state::{Compiled, Gateway};

/// A request that passed every check, ready to forward.
pub struct Allowed {
    /// The request body as received.
    pub bytes: bytes::Bytes,
    /// What the body asks for.
    pub inspected: inspect::Inspected,
    /// The decision (allow or allow with obligations).
    pub decision: cordon_policy::Decision,
    /// Its explanation, when one was built (warnings, obligations).
    pub explanation: Option<Explanation>,
    /// The resolved model.
    pub model: cordon_catalog::ModelId,
    /// The model's canonical id.
    pub canonical: String,
    /// The policy that decided.
    pub compiled: Arc<crate::state::Compiled>,
    /// Where the decision is in the audit log; `None` without a log, or
    /// when an uncontrolled request went through unrecorded.
    pub audit_index: Option<u64>,
}

/// The response that ends a request before it is forwarded.
type Stop = Response<Body>;

/// Who a decision is about: the key's account, or the registered end user
/// the key's organisation sent the request for.
struct Caller {
    principal: Arc<Principal>,
    end_user: Option<Arc<EndUser>>,
}

impl Caller {
    /// The subject the directives are evaluated on.
    fn subject(&self) -> &Subject {
        self.end_user
            .as_ref()
            .map_or(&self.principal.subject, |e| &e.subject)
    }

    /// The account a refusal's verification links are for: whoever's
    /// decision refused, when one person can act on it. None for the
    /// account that stands for every unregistered end user: one user's
    /// verification must not decide for all the others (the organisation
    /// attests for that account instead).
    fn verifying_account(&self, organisation_decided: bool) -> Option<&str> {
        match &self.end_user {
            Some(e) if !organisation_decided => (!e.everyone).then_some(e.account.as_str()),
            _ => Some(&self.principal.account),
        }
    }

    fn context<'a>(&'a self, id: &'a str, source: Source) -> DecisionContext<'a> {
        DecisionContext {
            id,
            account: Some(&self.principal.account),
            end_user: self.end_user.as_ref().map(|e| e.account.as_str()),
            mode: Mode::Enforced,
            source,
        }
    }
}

/// Authenticates, reads and inspects the body, locates the client and decides.
///
/// Returns the allowed request, or the complete response to send instead: a
/// 401, 400, 403, 404, 413 or a legal refusal. Shared by the proxy and by the
/// external-authorisation endpoints, so every integration decides the same way.
///
/// With an audit log, the decision (a refusal too, an unknown model too) is
/// durable in it before this returns; when it cannot be recorded the answer
/// is a 503 `audit_unavailable` instead (see [`crate::audit`]).
#[allow(
    clippy::too_many_arguments,
    reason = "one request's context, passed down once"
)]
pub async fn evaluate(
    gw: &Arc<Gateway>,
    api: Api,
    endpoint: Endpoint,
    route: &str,
    peer: SocketAddr,
    parts: &Parts,
    body: Body,
    id: &str,
    started: Instant,
    source: Source,
) -> Result<Allowed, Stop> {
    // Who: authenticate before reading anything else.
    let principal = who(gw, api, &parts.headers, id).await?;
    // What: the body.
    let (bytes, inspected) = what(gw, api, &parts.headers, body, id).await?;
    let asked = Asked {
        api,
        endpoint,
        route,
        peer,
        parts,
        id,
        started,
        source,
    };
    decide_inspected(gw, &asked, principal, bytes, inspected).await
}

/// Where a request came from and what it called: the context every step
/// after reading the body needs.
#[derive(Clone, Copy)]
pub(crate) struct Asked<'a> {
    /// The API whose shape answers speak.
    pub api: Api,
    /// The endpoint directives see.
    pub endpoint: Endpoint,
    /// The route, for logs.
    pub route: &'a str,
    /// The client's address.
    pub peer: SocketAddr,
    /// The request line and headers.
    pub parts: &'a Parts,
    /// The decision id.
    pub id: &'a str,
    /// When the request arrived.
    pub started: Instant,
    /// Which integration asked.
    pub source: Source,
}

/// The steps after the body is read, for a request whose key already
/// authenticated: on whose behalf, which model, from where, the decision
/// and its record. Callers whose request is not one JSON body (a realtime
/// session's upgrade, a batch file's line) describe it as [`Inspected`].
pub(crate) async fn decide_inspected(
    gw: &Arc<Gateway>,
    asked: &Asked<'_>,
    principal: Arc<Principal>,
    bytes: bytes::Bytes,
    inspected: Inspected,
) -> Result<Allowed, Stop> {
    let Asked {
        api,
        endpoint,
        route,
        peer,
        parts,
        id,
        started,
        source,
    } = *asked;
    // On whose behalf: a registered end user behind an organisation's key.
    let caller = behalf(gw, api, principal, &inspected, &parts.headers, id).await?;
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
        return Err(unknown_model(
            gw, api, endpoint, peer, parts, &caller, &inspected, id, source,
        )
        .await);
    };

    // Where, and the decision.
    let origin: Origin = decide::locate(gw, peer, &parts.headers);
    let request = decide::request(gw, Some(model_id), endpoint, Some(&inspected), &origin);
    // The audit log records every decision with the attributes it read,
    // which only the explanation has.
    let (decision, explanation, organisation_decided) = decide_for(
        &compiled,
        &caller,
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

    // Record, before the decision takes effect.
    let audit_index = match &explanation {
        Some(e) => audit::record_decision(
            trail.as_deref(),
            &decision,
            e,
            &request,
            &caller.context(id, source),
        )
        .await
        .map_err(|e| audit::unavailable(api, &e, id))?,
        None => None,
    };
    if decision.effect >= Effect::VerificationRequired {
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

    Ok(Allowed {
        bytes,
        inspected,
        decision,
        explanation,
        model: model_id,
        canonical,
        compiled,
        audit_index,
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
    );
    if caller.end_user.is_none() {
        return (decision, explanation, false);
    }
    let organisation = decide::decide_uncounted(
        compiled,
        &caller.principal.subject,
        request,
        requested_model,
        always_explain,
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

/// The key's principal, or a 401 (no or bad key) or 503 (store down), in
/// `api`'s shape with decision id `id`: every endpoint that takes a
/// customer's key authenticates through this.
pub(crate) async fn who(
    gw: &Arc<Gateway>,
    api: Api,
    headers: &HeaderMap,
    id: &str,
) -> Result<Arc<Principal>, Stop> {
    let Some(key) = presented_key(headers) else {
        return Err(error(
            api,
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "missing API key: send `Authorization: Bearer <key>` or `x-api-key`",
            id,
        ));
    };
    match gw.authenticate(key).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(error(
            api,
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "invalid or revoked API key",
            id,
        )),
        Err(e) => {
            tracing::error!(error = %e, "identity store unavailable");
            Err(unavailable(
                api,
                "the gateway cannot verify API keys right now",
                id,
            ))
        }
    }
}

fn unavailable(api: Api, message: &str, id: &str) -> Stop {
    error(
        api,
        StatusCode::SERVICE_UNAVAILABLE,
        Code::Unavailable,
        message,
        id,
    )
}

/// The body within the size limit, and what it asks for; or a 400 or 413.
async fn what(
    gw: &Gateway,
    api: Api,
    headers: &HeaderMap,
    body: Body,
    id: &str,
) -> Result<(bytes::Bytes, Inspected), Stop> {
    let bad = |message: &str| {
        error(
            api,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            message,
            id,
        )
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Err(bad(
            "the request must have `Content-Type: application/json`",
        ));
    }
    let limit = gw.loaded.config.limits.max_body_bytes;
    let too_large = || {
        error(
            api,
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTooLarge,
            &format!("the request body is larger than {limit} bytes or was cut off"),
            id,
        )
    };
    // A declared length over the limit is refused before a byte is read.
    if crate::decision_api::declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let patience = Duration::from_secs(gw.loaded.config.limits.body_read_timeout_secs);
    let bytes = match tokio::time::timeout(patience, axum::body::to_bytes(body, limit)).await {
        Ok(read) => read.map_err(|_| too_large())?,
        Err(_) => {
            return Err(error(
                api,
                StatusCode::REQUEST_TIMEOUT,
                Code::RequestTimeout,
                &format!(
                    "the request body did not arrive within {} s",
                    patience.as_secs()
                ),
                id,
            ));
        }
    };
    let inspected = inspect::inspect_json(api, &bytes).map_err(|e| {
        let mut r = crate::api_error::field_response(
            api,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            &e.to_string(),
            e.param(),
        );
        super::set_header(r.headers_mut(), super::DECISION_ID, id);
        r
    })?;
    Ok((bytes, inspected))
}

/// Who the request is decided for: the registered end user an
/// organisation's key names (in the body or the configured header), the
/// account registered for every end user, or the key's own account.
///
/// A 400 when the body and header disagree, a 403 when the end user's
/// member account is disabled, a 503 when the store cannot answer.
async fn behalf(
    gw: &Arc<Gateway>,
    api: Api,
    principal: Arc<Principal>,
    inspected: &Inspected,
    headers: &HeaderMap,
    id: &str,
) -> Result<Caller, Stop> {
    let header = gw.loaded.config.end_user_header.as_deref();
    let named = end_user::named(inspected.end_user.as_deref(), headers, header).map_err(|e| {
        error(
            api,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            &e.to_string(),
            id,
        )
    })?;
    let found = gw
        .end_user(&principal.account, &principal.subject, named.as_deref())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "identity store unavailable");
            unavailable(api, "the gateway cannot look up end users right now", id)
        })?;
    if let Some(e) = &found
        && e.disabled
    {
        return Err(error(
            api,
            StatusCode::FORBIDDEN,
            Code::EndUserDisabled,
            &format!(
                "the end user's member account `{}` of `{}` is disabled",
                e.account, principal.account
            ),
            id,
        ));
    }
    Ok(Caller {
        principal,
        end_user: found,
    })
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
#[allow(
    clippy::too_many_arguments,
    reason = "one request's context, passed down once"
)]
async fn unknown_model(
    gw: &Arc<Gateway>,
    api: Api,
    endpoint: Endpoint,
    peer: SocketAddr,
    parts: &Parts,
    caller: &Caller,
    inspected: &Inspected,
    id: &str,
    source: Source,
) -> Stop {
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
