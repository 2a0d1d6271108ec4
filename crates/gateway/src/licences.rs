//! `POST /v1/organizations/{id}/licences`: an organisation submits an
//! export licence it holds, with its own key, as a record that waits for an
//! operator's approval (`docs/licences.md`).
//!
//! The body is one licence in the form of `docs/subjects.md` (`holder` may
//! be left out: it is the organisation; `issued` too: it is now). It is
//! checked whole before anything is stored: every field's form, its
//! directives against the directive set in force, its models against the
//! catalog (stored by their ids), and, in the store's transaction, a
//! number not yet recorded, an expiry in the future and named individuals
//! who are members of the organisation. A licence taken is `pending`: it
//! lifts nothing until an operator, having checked the document, approves
//! it (`cordon licences approve`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cordon_catalog::Resolution;
use cordon_store::{LicenceSource, StoreError};
use cordon_subject::{Licence, RecordError};
use serde_json::{Value, json};

use crate::api_error::{self, Api, Code};
use crate::state::Gateway;

/// The route label in `/metrics`.
const ROUTE: &str = "/v1/organizations/licences";

/// The largest body taken: a licence with a thousand named individuals
/// fits with room to spare.
pub const MAX_BODY: usize = 128 * 1024;

fn refuse(gw: &Gateway, status: StatusCode, field: Option<&str>, message: &str) -> Response {
    gw.metrics.response(ROUTE, status.as_u16());
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Code::RequestTooLarge,
        StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        _ => Code::InvalidRequest,
    };
    api_error::field_response(Api::OpenAi, status, code, message, field)
}

fn field_refusal(gw: &Gateway, field: &str, message: &str) -> Response {
    refuse(
        gw,
        StatusCode::BAD_REQUEST,
        Some(field),
        &format!("licence field `{field}`: {message}; nothing was recorded"),
    )
}

/// The licence a submission's body describes, for organisation `org`,
/// checked against the directive set and catalog in force; or the refusal.
fn checked(gw: &Gateway, org: &str, body: &[u8]) -> Result<Licence, Box<Response>> {
    let mut v: Value = serde_json::from_slice(body).map_err(|e| {
        Box::new(refuse(
            gw,
            StatusCode::BAD_REQUEST,
            None,
            &format!("the body is not JSON: {e}"),
        ))
    })?;
    if let Some(obj) = v.as_object_mut() {
        match obj.get("holder") {
            None => {
                obj.insert("holder".into(), Value::String(org.to_owned()));
            }
            Some(h) if h.as_str() == Some(org) => {}
            Some(h) => {
                return Err(Box::new(field_refusal(
                    gw,
                    "holder",
                    &format!(
                        "is {h}; an organisation submits only its own licences, so leave it out or give `{org}`"
                    ),
                )));
            }
        }
    }
    let mut licence =
        Licence::from_value(&v, gw.jurisdictions, Some(gw.now())).map_err(|e| match e {
            RecordError::Field { field, message } => Box::new(field_refusal(gw, &field, &message)),
            other => Box::new(refuse(
                gw,
                StatusCode::BAD_REQUEST,
                None,
                &other.to_string(),
            )),
        })?;
    let compiled = gw.compiled();
    for (i, d) in licence.directives.iter().enumerate() {
        if compiled.policy.directive(d).is_none() {
            return Err(Box::new(field_refusal(
                gw,
                &format!("directives[{i}]"),
                &format!("no directive in force here is `{d}`"),
            )));
        }
    }
    let catalog = compiled.policy.catalog();
    for (i, m) in licence.models.iter_mut().enumerate() {
        let id = match catalog.resolve(m) {
            Resolution::Known { id, .. } => catalog.model(id).map(|model| model.id.clone()),
            Resolution::Unknown => None,
        };
        match id {
            Some(id) => *m = id,
            None => {
                return Err(Box::new(field_refusal(
                    gw,
                    &format!("models[{i}]"),
                    &format!("the catalog has no model `{m}`"),
                )));
            }
        }
    }
    Ok(licence)
}

/// `POST /v1/organizations/{id}/licences` with the organisation's own key:
/// 202 with the licence `pending`; 400 naming the field for a licence that
/// does not check (nothing stored), 401 without a working key, 403 for any
/// other account's key, 409 for a number already recorded, 413 for a body
/// over [`MAX_BODY`].
pub(crate) async fn submission(
    State(gw): State<Arc<Gateway>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) =
        crate::verification::organisation(&gw, &headers, &org, ROUTE, "submit its licences").await
    {
        return *r;
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return refuse(
            &gw,
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            &format!("the body is larger than {MAX_BODY} bytes; nothing was recorded"),
        );
    };
    let licence = match checked(&gw, &org, &body) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let store = Arc::clone(&gw.store);
    let recorded = tokio::task::spawn_blocking(move || {
        store.record_licence(&licence, LicenceSource::OrgSubmission)
    })
    .await;
    match recorded {
        Ok(Ok(rec)) => {
            gw.metrics.response(ROUTE, 202);
            (
                StatusCode::ACCEPTED,
                axum::Json(json!({
                    "status": rec.status.as_str(),
                    "licence": rec.licence.number,
                    "holder": rec.licence.holder,
                    "message": "recorded as pending: it lifts nothing until an operator approves it",
                })),
            )
                .into_response()
        }
        Ok(Err(StoreError::InvalidLicence { field, message, .. })) => {
            field_refusal(&gw, &field, &message)
        }
        Ok(Err(StoreError::LicenceExists { number, .. })) => refuse(
            &gw,
            StatusCode::CONFLICT,
            Some("number"),
            &format!("licence `{number}` is already recorded; nothing was recorded"),
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, %org, "a licence submission could not be recorded");
            refuse(
                &gw,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the licence could not be recorded; send it again later",
            )
        }
        Err(e) => {
            tracing::error!(error = %e, %org, "a licence submission task failed");
            refuse(
                &gw,
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the licence could not be recorded; send it again later",
            )
        }
    }
}
