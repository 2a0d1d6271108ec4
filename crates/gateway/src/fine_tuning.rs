//! `POST /v1/fine_tuning/jobs`: a fine-tuning job, decided on the base
//! model it names as the `fine_tuning` endpoint using the `fine_tuning`
//! feature, on training files the caller owns; the job's id is recorded as
//! the caller's. Later calls about the job are in [`crate::owned::calls`].
//!
//! The decision comes before the file check: whether this customer may
//! fine-tune this model does not depend on the files, and a refused
//! customer learns what to do about the model (verify, say) without first
//! uploading files the job could never use. The decision is recorded
//! either way; a job refused for its files is a 400 after an allow.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Request, Response};
use cordon_audit::leaf::Source;
use cordon_policy::{Endpoint, Feature};
use cordon_store::ObjectKind;
use serde::Deserialize;
use serde_json::Value;

use crate::api_error::Api;
use crate::model_routes::BodyForm;
use crate::owned::{self, Creation};
use crate::proxy::{self, Allowed, Ask};
use crate::state::Gateway;

/// The route, and the upstream's.
const ROUTE: &str = "/v1/fine_tuning/jobs";

const API: Api = Api::OpenAi;

/// `POST /v1/fine_tuning/jobs`.
pub(crate) async fn create(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    let id = proxy::decision_id();
    let started = Instant::now();
    let response = match job(&gw, peer, req, &id, started).await {
        Ok(r) | Err(r) => r,
    };
    gw.metrics.response(ROUTE, response.status().as_u16());
    response
}

async fn job(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    req: Request<Body>,
    id: &str,
    started: Instant,
) -> Result<Response<Body>, Response<Body>> {
    let (parts, body) = req.into_parts();
    let principal = proxy::authenticate(gw, API, &parts.headers, id).await?;
    let (bytes, mut inspected) = proxy::read_body(
        gw,
        API,
        BodyForm::Json,
        Endpoint::FineTuning,
        &parts.headers,
        body,
        id,
    )
    .await?;
    inspected.features.insert(Feature::FineTuning);
    let ask = Ask {
        endpoint: Endpoint::FineTuning,
        route: ROUTE,
        peer,
        parts: &parts,
        inspected: &inspected,
        id,
        started,
        source: Source::Gateway,
    };
    let decided = proxy::decide_asked(gw, API, Arc::clone(&principal), &ask).await?;
    let obligations = &decided.decision.obligations;
    if obligations.remove_features.contains(Feature::FineTuning) {
        let message = format!(
            "The directives in force allow `{}` for you only without fine-tuning. (decision {id})",
            decided.canonical
        );
        return Err(crate::authz::obligation_refusal(
            gw,
            API,
            &message,
            id,
            decided.audit_index,
        ));
    }
    check_files(gw, &bytes, &principal.account, id).await?;
    let mut allowed = Allowed {
        bytes,
        inspected,
        decided,
    };
    // Training generates nothing for a token cap to limit, and a cap
    // written into the job's body would make the provider refuse it.
    allowed.decision.obligations.max_tokens = None;
    let creation = Creation::of(ObjectKind::FineTuningJob, &allowed, id);
    let index = allowed.audit_index;
    let mut response = proxy::forward(gw, API, ROUTE, &parts, allowed, id).await;
    crate::audit::set_index(response.headers_mut(), index);
    Ok(owned::record_created(gw, creation, response))
}

/// The file fields of a job.
#[derive(Deserialize)]
struct JobFiles {
    training_file: Option<Value>,
    validation_file: Option<Value>,
}

/// Checks that the job's training (and validation) file are the caller's:
/// files the gateway recorded as uploaded with the caller's key.
async fn check_files(
    gw: &Gateway,
    body: &[u8],
    account: &str,
    id: &str,
) -> Result<(), Response<Body>> {
    let bad = |message: &str, param: &str| proxy::invalid(API, message, Some(param), id);
    let files: JobFiles = serde_json::from_slice(body).map_err(|e| {
        bad(
            &format!("the request body is not a fine-tuning job: {e}"),
            "training_file",
        )
    })?;
    for (field, value, required) in [
        ("training_file", files.training_file, true),
        ("validation_file", files.validation_file, false),
    ] {
        let file = match value {
            None | Some(Value::Null) if required => {
                return Err(bad(&format!("missing required parameter `{field}`"), field));
            }
            None | Some(Value::Null) => continue,
            Some(Value::String(f)) => f,
            Some(_) => return Err(bad(&format!("`{field}` must be a file id"), field)),
        };
        match owned::lookup(gw, ObjectKind::File, &file).await {
            Ok(Some(o)) if o.account == account => {}
            Ok(_) => {
                let shown = if crate::object_id::valid_id(&file) {
                    format!(" `{file}`")
                } else {
                    String::new()
                };
                return Err(bad(
                    &format!(
                        "`{field}`: no file{shown} found among your files; upload it through this gateway first"
                    ),
                    field,
                ));
            }
            Err(e) => return Err(owned::store_down(API, &e, id)),
        }
    }
    Ok(())
}
