//! `POST` and `DELETE /v1/organizations/{id}/end-users`: an organisation
//! registers the end users its application sends requests for, each as a
//! member account, with the organisation's own key.
//!
//! Body: `{"end_users": [{"id": "u-1", "account": "northwind.u-1"}, …]}` to
//! register (the account is created when it does not exist), `{"end_users":
//! ["u-1", …]}` to remove. All or nothing; any other key is refused.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cordon_store::StoreError;
use cordon_store::end_users::{MAX_PER_CALL, Registration};
use serde_json::{Value, json};

use crate::api_error::Code;
use crate::decision_api::bad;
use crate::state::Gateway;
use crate::verification::customer;

const ROUTE: &str = "/v1/organizations/end-users";

/// The largest body either call takes: a full list of long identifiers.
const MAX_BODY: usize = 1024 * 1024;

/// `POST /v1/organizations/{id}/end-users`.
pub(crate) async fn register(
    State(gw): State<Arc<Gateway>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let list = match organisation_call(&gw, &org, &headers, body).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut regs = Vec::with_capacity(list.len());
    for (k, e) in list.iter().enumerate() {
        let field = |name: &str| e.get(name).and_then(Value::as_str).map(str::to_owned);
        let (Some(end_user), Some(account)) = (field("id"), field("account")) else {
            return refused(
                &gw,
                400,
                Code::InvalidRequest,
                &format!(
                    "`end_users[{k}]` must be an object with string fields `id` and `account`"
                ),
            );
        };
        regs.push(Registration { end_user, account });
    }
    let store = Arc::clone(&gw.store);
    let org_id = org.clone();
    let done = tokio::task::spawn_blocking(move || store.register_end_users(&org_id, &regs)).await;
    match done {
        Ok(Ok(out)) => {
            gw.forget_principals();
            gw.metrics.response(ROUTE, 200);
            axum::Json(json!({
                "status": "registered",
                "registered": out.registered,
                "created": out.created,
            }))
            .into_response()
        }
        Ok(Err(e)) => store_refusal(&gw, &e),
        Err(_) => unavailable(&gw),
    }
}

/// `DELETE /v1/organizations/{id}/end-users`.
pub(crate) async fn remove(
    State(gw): State<Arc<Gateway>>,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let list = match organisation_call(&gw, &org, &headers, body).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut ids = Vec::with_capacity(list.len());
    for (k, e) in list.iter().enumerate() {
        let Some(id) = e.as_str() else {
            return refused(
                &gw,
                400,
                Code::InvalidRequest,
                &format!("`end_users[{k}]` must be a string"),
            );
        };
        ids.push(id.to_owned());
    }
    let store = Arc::clone(&gw.store);
    let org_id = org.clone();
    match tokio::task::spawn_blocking(move || store.remove_end_users(&org_id, &ids)).await {
        Ok(Ok(removed)) => {
            gw.forget_principals();
            gw.metrics.response(ROUTE, 200);
            axum::Json(json!({"status": "removed", "removed": removed})).into_response()
        }
        Ok(Err(e)) => store_refusal(&gw, &e),
        Err(_) => unavailable(&gw),
    }
}

/// Checks the key is organisation `org`'s own and reads `end_users` from
/// the body: 401, 403, 413 or 400 otherwise.
async fn organisation_call(
    gw: &Arc<Gateway>,
    org: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<Value>, Box<Response>> {
    let principal = match customer(gw, headers).await {
        Ok(p) => p,
        Err(r) => {
            gw.metrics.response(ROUTE, r.status().as_u16());
            return Err(r);
        }
    };
    let is_org = principal.subject.kind == cordon_subject::SubjectKind::Organization;
    if principal.account != org || !is_org {
        return Err(Box::new(refused(
            gw,
            403,
            Code::Denied,
            &format!("only the key of organisation account `{org}` may register its end users"),
        )));
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(Box::new(refused(
            gw,
            413,
            Code::RequestTooLarge,
            &format!("the body is larger than {MAX_BODY} bytes"),
        )));
    };
    let parsed: Value = serde_json::from_slice(&bytes).map_err(|e| {
        Box::new(refused(
            gw,
            400,
            Code::InvalidRequest,
            &format!("the body is not JSON: {e}"),
        ))
    })?;
    match parsed.get("end_users") {
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_PER_CALL => {
            Ok(list.clone())
        }
        Some(Value::Array(_)) => Err(Box::new(refused(
            gw,
            400,
            Code::InvalidRequest,
            &format!("`end_users` must list 1 to {MAX_PER_CALL} end users"),
        ))),
        _ => Err(Box::new(refused(
            gw,
            400,
            Code::InvalidRequest,
            "the body must be an object with an `end_users` list",
        ))),
    }
}

fn refused(gw: &Gateway, status: u16, code: Code, message: &str) -> Response {
    gw.metrics.response(ROUTE, status);
    bad(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        code,
        message,
    )
}

fn store_refusal(gw: &Gateway, e: &StoreError) -> Response {
    match e {
        StoreError::InvalidPatch { message, .. } => refused(
            gw,
            400,
            Code::InvalidRequest,
            &format!("{message}; nothing was recorded"),
        ),
        StoreError::AccountNotFound { .. } => refused(gw, 404, Code::NotFound, &e.to_string()),
        other => {
            tracing::error!(error = %other, "cannot record end users");
            unavailable(gw)
        }
    }
}

fn unavailable(gw: &Gateway) -> Response {
    refused(
        gw,
        503,
        Code::Unavailable,
        "the end users could not be recorded; send them again later",
    )
}
