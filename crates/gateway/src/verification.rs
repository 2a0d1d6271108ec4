//! Verification over HTTP: where facts arrive (a source's webhook) and what
//! a customer is asked to verify (`GET /v1/verification`).
//!
//! A delivery is checked in [`cordon_verification::Source::receive`]
//! (signature on the raw bytes first, then the payload, then the levels it
//! claims) and recorded by the store in one transaction; when it changes
//! an account's facts the gateway drops its cached principals at once, so
//! the account's very next request is decided on the new facts.

mod assertion;
pub mod config;
pub mod expiry;
pub(crate) mod keys;
pub mod queue;
mod refetch;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cordon_policy::{Effect, Endpoint, Trace};
use cordon_store::{Delivered, Intake};
use cordon_verification::webhook::Headers;
use cordon_verification::{IntakeError, intake};
use serde_json::{Value, json};

use crate::api_error::Code;
use crate::decide;
use crate::decision_api::bad;
use crate::proxy;
use crate::state::Gateway;

/// The route label of webhook deliveries in `/metrics`.
const ROUTE: &str = "/v1/verification/webhooks";

fn headers_of(h: &HeaderMap) -> Headers {
    Headers::new(h.iter().filter_map(|(n, v)| {
        v.to_str()
            .ok()
            .map(|v| (n.as_str().to_owned(), v.to_owned()))
    }))
}

/// `POST /v1/verification/webhooks/{source}`: one delivery from a
/// configured source.
///
/// 200 when its facts were recorded (or it repeats a delivery already
/// taken: the replay changes nothing), 202 for an event that is not a
/// decision or names an unknown account (kept as an orphan), 401 when the
/// signature does not check (nothing stored, only counted), 400 for a
/// payload that does not read or claims more than the source may grant
/// (journaled), 413 for an oversized body.
pub(crate) async fn webhook(
    State(gw): State<Arc<Gateway>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(source) = gw.loaded.verification.iter().find(|s| s.name == name) else {
        return bad(
            StatusCode::NOT_FOUND,
            Code::NotFound,
            &format!("no verification source is named `{name}`"),
        );
    };
    let respond = |status: StatusCode, outcome: &'static str, r: Response| {
        gw.metrics.verification(&source.name, outcome);
        gw.metrics.response(ROUTE, status.as_u16());
        r
    };
    let Ok(body) = axum::body::to_bytes(body, intake::MAX_BODY).await else {
        let s = StatusCode::PAYLOAD_TOO_LARGE;
        return respond(
            s,
            "too_large",
            bad(
                s,
                Code::RequestTooLarge,
                &format!("the body is larger than {} bytes", intake::MAX_BODY),
            ),
        );
    };
    let received = source.receive(
        &headers_of(&headers),
        &body,
        gw.wall_now(),
        gw.jurisdictions,
    );
    let received = match received {
        Ok(r) => r,
        Err(IntakeError::Signature(e)) => {
            let s = StatusCode::UNAUTHORIZED;
            return respond(
                s,
                "bad_signature",
                bad(s, Code::InvalidSignature, &e.to_string()),
            );
        }
        Err(e @ IntakeError::TooLarge { .. }) => {
            let s = StatusCode::PAYLOAD_TOO_LARGE;
            return respond(
                s,
                "too_large",
                bad(s, Code::RequestTooLarge, &e.to_string()),
            );
        }
        Err(e) => {
            // Authenticated but unusable: on the record.
            let reason = e.to_string();
            let sha = intake::sha256_hex(&body);
            let delivery = headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let store = Arc::clone(&gw.store);
            let source_name = source.name.clone();
            let why = reason.clone();
            let journaled = tokio::task::spawn_blocking(move || {
                store.record_rejection(&source_name, delivery.as_deref(), &sha, &why)
            })
            .await;
            if !matches!(journaled, Ok(Ok(()))) {
                tracing::error!(source = %source.name, "a refused verification delivery could not be journaled");
            }
            let s = StatusCode::BAD_REQUEST;
            let outcome = match e {
                IntakeError::LevelTooHigh { .. } => "level_too_high",
                _ => "bad_payload",
            };
            return respond(s, outcome, bad(s, Code::InvalidRequest, &reason));
        }
    };
    let mut received = received;
    if let Some(r) = gw
        .loaded
        .refetching
        .iter()
        .find(|r| r.source == source.name)
    {
        match refetched(&gw, source, r, &received.event).await {
            Ok((event, sha)) => {
                received.event = event;
                received.payload_sha256 = sha;
            }
            Err(reason) => {
                tracing::warn!(source = %source.name, %reason, "a verification object could not be refetched; the vendor will redeliver");
                let s = StatusCode::SERVICE_UNAVAILABLE;
                return respond(
                    s,
                    "refetch_failed",
                    bad(
                        s,
                        Code::Unavailable,
                        &format!(
                            "the verification could not be fetched from the vendor ({reason}); deliver it again later"
                        ),
                    ),
                );
            }
        }
    }
    let account = received.event.account.clone();
    let recorded = gw
        .intake
        .record(queue::Pending {
            source: source.name.clone(),
            kind: source.kind,
            delivery_id: received.delivery.id,
            payload_sha256: received.payload_sha256,
            event: received.event,
        })
        .await
        .map(|i| (i, account));
    finish(&gw, &source.name, ROUTE, recorded)
}

/// How long a start link in a refusal stays valid.
const LINK_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// A signed start link per configured way of verifying, for `account`;
/// none without a `start_url`.
pub(crate) fn start_links(gw: &Gateway, account: &str) -> Vec<Value> {
    let Some(start) = &gw.loaded.config.verification.start_url else {
        return Vec::new();
    };
    let expires = gw.wall_now() + LINK_LIFETIME;
    let ways = gw
        .loaded
        .verification
        .iter()
        .map(|s| (s.name.as_str(), s.kind.as_str()))
        .chain(gw.loaded.issuers.iter().map(|i| (i.name.as_str(), "oidc")))
        .chain(std::iter::once((DECLARATIONS, "self_declaration")));
    ways.map(|(way, kind)| {
        json!({
            "way": way, "kind": kind,
            "url": cordon_verification::link::sign(&gw.loaded.link_key, start, account, way, expires),
            "expires": expires,
        })
    })
    .collect()
}

/// The structured remedy of a `verification_required` refusal: what to
/// verify, at which level, by when (the deciding directive's grace end,
/// while it is ahead), and where to start.
pub(crate) fn remedy(gw: &Gateway, e: &cordon_policy::Explanation, start: Vec<Value>) -> Value {
    let compiled = gw.compiled();
    let now = gw.now();
    let verify: Vec<Value> = e
        .verify
        .iter()
        .map(|v| {
            let by = compiled
                .policy
                .directives()
                .iter()
                .find(|d| d.id == v.directive)
                .and_then(|d| d.grace_until)
                .filter(|g| *g > now);
            json!({"attribute": v.attribute, "level": v.min_verification, "directive": v.directive, "by": by})
        })
        .collect();
    json!({"verify": verify, "start": start})
}

/// The event as the vendor's API states it now: the webhook's event names
/// the object, the fetched object decides (its status and its facts).
async fn refetched(
    gw: &Gateway,
    source: &cordon_verification::Source,
    r: &config::Refetching,
    notice: &cordon_verification::Event,
) -> Result<(cordon_verification::Event, String), String> {
    use cordon_verification::vendor::Refetch as _;
    let vendor = source
        .format
        .vendor()
        .ok_or_else(|| "the source has no vendor API".to_owned())?;
    let req = vendor
        .refetch(notice, &r.base, &r.credentials, gw.wall_now())
        .map_err(|e| e.to_string())?;
    let body = refetch::fetch(&gw.egress, &req, intake::MAX_BODY).await?;
    // Where the object names no account of ours, a second request finds it.
    let account = match vendor
        .account_lookup(&body, &r.base, &r.credentials)
        .map_err(|e| format!("the fetched object does not say whose it is: {e}"))?
    {
        Some(lookup) => {
            let found = refetch::fetch(&gw.egress, &lookup, intake::MAX_BODY).await?;
            vendor
                .account_from_lookup(&found)
                .map_err(|e| format!("the vendor's object names no account: {e}"))?
        }
        None => notice.account.clone(),
    };
    source
        .read_fetched(&account, &body, gw.jurisdictions)
        .map_err(|e| format!("the fetched object does not read: {e}"))
}

pub(crate) use assertion::assertion;

/// Answers a recorded event: drops cached principals when facts changed,
/// counts the outcome.
fn finish(
    gw: &Gateway,
    source: &str,
    route: &'static str,
    recorded: Result<(Intake, String), String>,
) -> Response {
    let (intake, account) = match recorded {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(error = %e, %source, "a verification event could not be recorded");
            gw.metrics.verification(source, "store_unavailable");
            gw.metrics.response(route, 503);
            return bad(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "the event could not be recorded; deliver it again later",
            );
        }
    };
    let (status, outcome, body) = match &intake {
        Intake::Accepted {
            rows,
            changed,
            contradictions,
        } => {
            if *changed {
                gw.forget_principals();
                gw.metrics
                    .accounts_restored
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                gw.metrics.facts_changed(&account);
            }
            (
                StatusCode::OK,
                "accepted",
                json!({
                    "status": "accepted", "account": account, "evidence_rows": rows,
                    "changed": changed,
                    "contradictions": contradictions.iter().map(|c| c.attribute.field()).collect::<Vec<_>>(),
                }),
            )
        }
        Intake::Replay { first } => (
            StatusCode::OK,
            "replay",
            json!({"status": "replay", "first_outcome": first}),
        ),
        Intake::Pending => (
            StatusCode::ACCEPTED,
            "pending",
            json!({"status": "pending", "account": account}),
        ),
        Intake::Orphan => (
            StatusCode::ACCEPTED,
            "orphan",
            json!({"status": "orphan", "account": account}),
        ),
    };
    gw.metrics.verification(source, outcome);
    gw.metrics.response(route, status.as_u16());
    (status, axum::Json(body)).into_response()
}

/// The principal whose API key the request presents, or the response that
/// refuses it.
pub(crate) async fn customer(
    gw: &Arc<Gateway>,
    headers: &HeaderMap,
) -> Result<Arc<cordon_store::Principal>, Box<Response>> {
    let Some(key) = proxy::presented_key(headers) else {
        return Err(Box::new(bad(
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "missing API key: send `Authorization: Bearer <key>` or `x-api-key`",
        )));
    };
    match gw.authenticate(key).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(Box::new(bad(
            StatusCode::UNAUTHORIZED,
            Code::InvalidApiKey,
            "invalid or revoked API key",
        ))),
        Err(_) => Err(Box::new(bad(
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            "the gateway cannot verify API keys right now",
        ))),
    }
}

/// The source name self-declarations are recorded under.
pub const DECLARATIONS: &str = "self-declaration";

/// `POST /v1/verification/declarations` with the customer's own key: a
/// self-declaration under the current statement, recorded at
/// `self_declared` with the time and the country the request came from.
/// An `Idempotency-Key` header makes a repeat a replay.
pub(crate) async fn declaration(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = "/v1/verification/declarations";
    let principal = match customer(&gw, &headers).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Ok(body) = axum::body::to_bytes(body, intake::MAX_BODY).await else {
        gw.metrics.response(route, 413);
        return bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTooLarge,
            "the body is too large",
        );
    };
    let origin = decide::locate(&gw, peer, &headers);
    let country = origin.location.country.map(|c| c.to_string());
    let event = match cordon_verification::statement::declaration(
        &body,
        &principal.account,
        country.as_deref(),
        gw.wall_now(),
        gw.jurisdictions,
    ) {
        Ok(e) => e,
        Err(e) => {
            gw.metrics.verification(DECLARATIONS, "bad_payload");
            gw.metrics.response(route, 400);
            return bad(
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &e.to_string(),
            );
        }
    };
    let delivery = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(|k| format!("{}:{k}", principal.account));
    let account = event.account.clone();
    let recorded = gw
        .intake
        .record(queue::Pending {
            source: DECLARATIONS.to_owned(),
            kind: cordon_verification::SourceKind::SelfDeclaration,
            delivery_id: delivery,
            payload_sha256: cordon_verification::intake::sha256_hex(&body),
            event,
        })
        .await
        .map(|i| (i, account));
    finish(&gw, DECLARATIONS, route, recorded)
}

/// `POST /v1/organizations/{id}/attestations` with the organisation's own
/// key: an attestation about named member accounts (accounts whose
/// `organization.name` is the organisation's name), recorded at `attested`
/// until it expires. Any other key is refused (403), and so is the whole
/// attestation when one member does not belong to the organisation.
pub(crate) async fn attestation(
    State(gw): State<Arc<Gateway>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = "/v1/organizations/attestations";
    let org_name = match organisation(&gw, &headers, &org, route, "attest for its members").await {
        Ok((_, name)) => name,
        Err(r) => return *r,
    };
    let Ok(body) = axum::body::to_bytes(body, intake::MAX_BODY).await else {
        gw.metrics.response(route, 413);
        return bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTooLarge,
            "the body is too large",
        );
    };
    let attested =
        match cordon_verification::statement::attestation(&body, gw.wall_now(), gw.jurisdictions) {
            Ok(a) => a,
            Err(e) => {
                gw.metrics.verification(&org, "bad_payload");
                gw.metrics.response(route, 400);
                return bad(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidRequest,
                    &e.to_string(),
                );
            }
        };
    let sha = intake::sha256_hex(&body);
    let store = Arc::clone(&gw.store);
    let org_id = org.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        // Every member first: an attestation is taken whole or not at all.
        for e in &attested.events {
            let belongs = store.account(&e.account)?.is_some_and(|rec| {
                rec.subject
                    .pointer("/organization/name")
                    .and_then(Value::as_str)
                    == Some(org_name.as_str())
            });
            if !belongs {
                return Ok(Err(e.account.clone()));
            }
        }
        let mut accepted = 0;
        for e in &attested.events {
            let delivery = format!("{}:{}", attested.id, e.account);
            let out = store.record_event(Delivered {
                source: &org_id,
                kind: cordon_verification::SourceKind::OrgAttestation,
                delivery_id: Some(&delivery),
                payload_sha256: &sha,
                event: e,
            })?;
            if matches!(out, Intake::Accepted { changed: true, .. }) {
                accepted += 1;
            }
        }
        Ok::<_, cordon_store::StoreError>(Ok((accepted, attested.events.len(), attested.id)))
    })
    .await;
    match recorded {
        Ok(Ok(Ok((changed, members, id)))) => {
            if changed > 0 {
                gw.forget_principals();
            }
            gw.metrics.verification(&org, "accepted");
            gw.metrics.response(route, 200);
            axum::Json(json!({"status": "accepted", "attestation": id, "members": members, "changed": changed}))
                .into_response()
        }
        Ok(Ok(Err(outsider))) => {
            gw.metrics.verification(&org, "not_a_member");
            gw.metrics.response(route, 400);
            bad(
                StatusCode::BAD_REQUEST,
                Code::InvalidRequest,
                &format!(
                    "account `{outsider}` is not a member of `{org}` (its `organization.name` is not the organisation's name); nothing was recorded"
                ),
            )
        }
        _ => {
            gw.metrics.response(route, 503);
            bad(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "the attestation could not be recorded; send it again later",
            )
        }
    }
}

/// The organisation account `org`, when the request presents that
/// account's own API key, with the name its members carry as their
/// `organization.name`; otherwise the refusal: 401 without a working key,
/// 403 for any other account's key (so a member cannot act for its
/// organisation), 400 for an organisation without a name. `what` says what
/// only the organisation may do, for the message.
pub(crate) async fn organisation(
    gw: &Arc<Gateway>,
    headers: &HeaderMap,
    org: &str,
    route: &'static str,
    what: &str,
) -> Result<(Arc<cordon_store::Principal>, String), Box<Response>> {
    let principal = customer(gw, headers).await?;
    let is_org = principal.subject.kind == cordon_subject::SubjectKind::Organization;
    if principal.account != org || !is_org {
        gw.metrics.response(route, 403);
        return Err(Box::new(bad(
            StatusCode::FORBIDDEN,
            Code::Denied,
            &format!("only the key of organisation account `{org}` may {what}"),
        )));
    }
    let Some(name) = principal.subject.legal_name().map(str::to_owned) else {
        gw.metrics.response(route, 400);
        return Err(Box::new(bad(
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            &format!("organisation account `{org}` has no name to match its members by"),
        )));
    };
    Ok((principal, name))
}

/// `GET /v1/verification` with the customer's own key: what each directive
/// in force or scheduled asks of this account, for each model it would not
/// allow as things stand, and the evidence on record.
pub(crate) async fn status(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let principal = match customer(&gw, &headers).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let compiled = gw.compiled();
    let origin = decide::locate(&gw, peer, &headers);
    let mut models = Vec::new();
    for (mid, m) in compiled.policy.catalog().models() {
        let request = decide::request(&gw, Some(mid), Endpoint::Chat, None, &origin);
        let mut trace = Trace::with_capacity(compiled.policy.max_consulted());
        let d = compiled
            .policy
            .decide(&principal.subject, &request, &mut trace);
        let e = compiled
            .policy
            .explain(&principal.subject, &request, &m.id, &d, &trace);
        let asks = !e.verify.is_empty();
        if d.effect <= Effect::AllowWithObligations && !asks {
            continue;
        }
        models.push(json!({
            "model": m.id,
            "effect": e.effect,
            "directive": e.decided_by,
            "message": e.message,
            "verify": e.verify,
            "remedy": e.remedy,
        }));
    }
    let store = Arc::clone(&gw.store);
    let account = principal.account.clone();
    let evidence = tokio::task::spawn_blocking(move || store.evidence(&account)).await;
    let evidence: Vec<Value> = match evidence {
        Ok(Ok(rows)) => rows
            .iter()
            .map(|r| {
                json!({
                    "attribute": r.attribute.field(), "level": r.level.as_str(),
                    "source": r.source, "source_kind": r.source_kind.as_str(),
                    "verified_at": r.verified_at, "expires_at": r.expires_at,
                    "received_at": r.received_at, "in_force": r.in_force(gw.now()),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let ways: Vec<Value> = gw
        .loaded
        .verification
        .iter()
        .map(|s| json!({"source": s.name, "kind": s.kind.as_str(), "max_level": s.max_level.as_str()}))
        .collect();
    let start = gw.loaded.config.verification.start_url.clone();
    axum::Json(json!({
        "account": principal.account,
        "at": gw.now(),
        "policy_version": compiled.policy.version(),
        "models": models,
        "evidence": evidence,
        "ways": ways,
        "start_url": start,
    }))
    .into_response()
}
