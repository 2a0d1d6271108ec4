//! `POST /v1/batches` (OpenAI): a batch runs the requests of an input file
//! the caller uploaded ([`crate::files`]). Creating one decides every line
//! as the request it is (its endpoint from its url, its model, features,
//! tool types and token cap, as a batch: [`crate::batch_lines`]), each
//! decision recorded in the audit log like any request's; the batch is
//! created only when every line is allowed as written, and is otherwise
//! refused whole naming the refused lines. The uploaded file cannot be
//! changed any more, so a line allowed only with obligations it does not
//! already meet (a token cap it exceeds or does not state, a feature it
//! must not use) is refused with what the line must say.
//!
//! The batch is recorded as its creator's, with its models; later calls
//! about it are in [`crate::owned::calls`]. The output and error files a
//! batch names become its creator's when they read it, so they can
//! download the results ([`record_results`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Method, Request, Response, StatusCode};
use cordon_store::{ObjectKind, ProviderObject};
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::api_error::{Api, Code};
use crate::batch_lines::{Batch, Refused};
use crate::files::Line;
use crate::model_routes::{self, BodyForm};
use crate::owned::{self, Creation};
use crate::proxy::{self, Outbound, Payload};
use crate::state::Gateway;

/// The route, and the upstream's.
const ROUTE: &str = "/v1/batches";

const API: Api = Api::OpenAi;

/// The most refused lines named in a refusal's message (all are in its
/// `cordon.refused`).
const NAMED_IN_MESSAGE: usize = 20;

/// How many lines of a batch are decided at once.
const LINES_AT_ONCE: usize = 32;

/// `POST /v1/batches`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    input_file_id: String,
    endpoint: String,
    // The upstream reads the rest as sent; they are named so that no
    // other key passes unread.
    #[serde(rename = "completion_window")]
    _completion_window: String,
    #[serde(default, rename = "metadata")]
    _metadata: Option<IgnoredAny>,
    #[serde(default, rename = "output_expires_after")]
    _output_expires_after: Option<IgnoredAny>,
}

/// One line's decision, as the refusal and the batch's record name it.
struct LineDecision {
    number: usize,
    custom_id: String,
    decision_id: String,
    outcome: Result<AllowedLine, Refused>,
}

/// What an allowed line was decided.
struct AllowedLine {
    effect: &'static str,
    audit_index: Option<u64>,
    /// The canonical model.
    model: String,
}

impl LineDecision {
    fn json(&self) -> Value {
        let mut v = match &self.outcome {
            Ok(a) => json!({
                "custom_id": self.custom_id,
                "decision_id": self.decision_id,
                "status": StatusCode::OK.as_u16(),
                "effect": a.effect,
                "directive": null,
                "audit_index": a.audit_index,
                "message": null,
            }),
            Err(r) => r.json(&self.custom_id, &self.decision_id),
        };
        if let Some(obj) = v.as_object_mut() {
            obj.insert("line".into(), self.number.into());
        }
        v
    }
}

/// `POST /v1/batches`.
pub(crate) async fn create(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    let id = proxy::decision_id();
    let r = match create_batch(&gw, peer, req, &id).await {
        Ok(r) | Err(r) => r,
    };
    gw.metrics.response(ROUTE, r.status().as_u16());
    r
}

async fn create_batch(
    gw: &Arc<Gateway>,
    peer: SocketAddr,
    req: Request<Body>,
    id: &str,
) -> Result<Response<Body>, Response<Body>> {
    let (parts, body) = req.into_parts();
    let principal = proxy::authenticate(gw, API, &parts.headers, id).await?;
    let body = proxy::read_limited(gw, API, &parts.headers, body, id).await?;
    let asked: Create = serde_json::from_slice(&body).map_err(|e| {
        proxy::invalid(
            API,
            &format!("the request body cannot be read: {e}"),
            None,
            id,
        )
    })?;
    if !crate::files::BATCH_URLS.contains(&asked.endpoint.as_str()) {
        let message = format!(
            "`endpoint` must be one of {}",
            crate::files::BATCH_URLS.join(", ")
        );
        return Err(proxy::invalid(API, &message, Some("endpoint"), id));
    }
    let file = owned::owned(
        gw,
        API,
        ObjectKind::File,
        &asked.input_file_id,
        &principal.account,
        id,
    )
    .await?;
    let lines = lines_of(&file, &asked, id)?;
    let upstream = owned::api_upstream(gw, API, id)?;
    let batch = Batch {
        gw,
        api: API,
        principal: &principal,
        peer,
        parts: &parts,
    };
    // Several lines at once, so their audit records share the log's
    // durable writes; the answers keep the file's order.
    let (batch_ref, serving) = (&batch, upstream.name.as_str());
    let decided: Vec<LineDecision> = futures_util::stream::iter(lines)
        .map(move |line| async move { decide_line(batch_ref, &line, serving).await })
        .buffered(LINES_AT_ONCE)
        .collect()
        .await;
    if decided.iter().any(|d| d.outcome.is_err()) {
        return Err(refusal(&batch, &decided, id));
    }
    let mut models: Vec<&str> = decided
        .iter()
        .filter_map(|d| d.outcome.as_ref().ok().map(|a| a.model.as_str()))
        .collect();
    models.sort_unstable();
    models.dedup();
    let creation = Creation {
        kind: ObjectKind::Batch,
        account: principal.account.clone(),
        model: None,
        details: json!({
            "input_file_id": asked.input_file_id,
            "endpoint": asked.endpoint,
            "models": models,
            "upstream": upstream.name,
            "decisions": decided.iter().map(|d| d.decision_id.as_str()).collect::<Vec<_>>(),
        }),
        decision_id: id.to_owned(),
    };
    let outbound = Outbound {
        method: Method::POST,
        path: ROUTE,
        body: Some(Payload::json(body)),
    };
    let made = owned::create_read(gw, API, upstream, &parts.headers, outbound, &creation).await?;
    record_results(gw, &principal.account, &upstream.name, &made.json, id).await?;
    Ok(made.into_response())
}

/// The lines of the batch's input `file`, every one calling the batch's
/// `endpoint`; or the 400 (or 503) to send.
#[expect(clippy::result_large_err, reason = "the error is the response to send")]
fn lines_of(file: &ProviderObject, asked: &Create, id: &str) -> Result<Vec<Line>, Response<Body>> {
    let Some(summaries) = file.details.get("lines").and_then(Value::as_array) else {
        let message = format!(
            "the file `{}` was not uploaded with `purpose` `batch` through this gateway, so its requests were never read; upload it again with `purpose` `batch`",
            asked.input_file_id
        );
        return Err(proxy::invalid(API, &message, Some("input_file_id"), id));
    };
    let lines: Vec<Line> = summaries
        .iter()
        .map(Line::from_summary)
        .collect::<Option<_>>()
        .ok_or_else(|| {
            proxy::error(
                API,
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "the gateway's record of the file's requests cannot be read; upload the file again",
                id,
            )
        })?;
    if let Some(l) = lines.iter().find(|l| l.url != asked.endpoint) {
        let message = format!(
            "line {} (`{}`) of the input file calls `{}`, not the batch's `endpoint` `{}`",
            l.number, l.custom_id, l.url, asked.endpoint
        );
        return Err(proxy::invalid(API, &message, Some("endpoint"), id));
    }
    Ok(lines)
}

/// Decides one line as the request it is, sent as a batch; the decision is
/// in the audit log when this returns. `upstream` keeps files and batches:
/// a line's model must be served there.
async fn decide_line(batch: &Batch<'_>, line: &Line, upstream: &str) -> LineDecision {
    let decision_id = proxy::decision_id();
    let (route, endpoint) = match model_routes::model_route(&line.url) {
        Some(r) => (r.path, r.endpoint),
        None => (line.url.as_str(), cordon_policy::Endpoint::Batch),
    };
    let decided = batch
        .decide(endpoint, route, line.inspected.clone(), &decision_id)
        .await;
    let outcome = decided.and_then(|(inspected, allowed)| {
        let effect = allowed.decision.effect.as_str();
        let refused = |status, message| Refused {
            status,
            effect: Some(effect.to_owned()),
            directive: None,
            audit_index: allowed.audit_index,
            message: Some(message),
        };
        let unmet = crate::unmet::unmet(BodyForm::Json, &allowed.decision, &inspected);
        if let Some(limits) = unmet {
            let status = batch.gw.loaded.config.refusal_status.code();
            let message =
                format!("{limits} The input file cannot be changed: upload one whose line says so.");
            return Err(refused(status, message));
        }
        let serves = batch
            .gw
            .upstream(&allowed.compiled, allowed.model)
            .map(|u| u.name.as_str());
        if serves != Some(upstream) {
            let message = format!(
                "the model `{}` is not served by the upstream `{upstream}` that keeps files and batches",
                allowed.canonical
            );
            return Err(refused(StatusCode::BAD_REQUEST, message));
        }
        Ok(AllowedLine {
            effect,
            audit_index: allowed.audit_index,
            model: allowed.canonical,
        })
    });
    LineDecision {
        number: line.number,
        custom_id: line.custom_id.clone(),
        decision_id,
        outcome,
    }
}

/// The whole batch refused: 451 (or the configured legal status) when every
/// refused line was refused under a directive, otherwise 400; the refused
/// lines named, every line's decision listed.
fn refusal(batch: &Batch<'_>, decided: &[LineDecision], id: &str) -> Response<Body> {
    let refused: Vec<(&LineDecision, &Refused)> = decided
        .iter()
        .filter_map(|d| d.outcome.as_ref().err().map(|r| (d, r)))
        .collect();
    let legal = refused.iter().all(|(_, r)| batch.legal(r.status));
    let mut named: Vec<String> = refused
        .iter()
        .take(NAMED_IN_MESSAGE)
        .map(|(d, r)| {
            let mut s = format!("line {} `{}`", d.number, d.custom_id);
            if let Some(m) = &r.message {
                s.push_str(": ");
                s.push_str(m);
            }
            s
        })
        .collect();
    if refused.len() > NAMED_IN_MESSAGE {
        named.push(format!("and {} more", refused.len() - NAMED_IN_MESSAGE));
    }
    let message = format!(
        "{} of {} requests in the batch input file are refused; the batch was not created (decision {id}). {}",
        refused.len(),
        decided.len(),
        named.join(" | ")
    );
    let cordon = json!({
        "decision_id": id,
        "refused": refused.iter().map(|(d, _)| d.json()).collect::<Vec<_>>(),
        "lines": decided.iter().map(LineDecision::json).collect::<Vec<_>>(),
    });
    batch.refuse_whole(legal, &message, cordon, id)
}

/// Records the output and error files an OpenAI batch names as `account`'s
/// (the batch's owner), kept at `upstream`, so they can read its results.
///
/// # Errors
/// The 502 or 503 to send when a file cannot be recorded as theirs.
pub(crate) async fn record_results(
    gw: &Gateway,
    account: &str,
    upstream: &str,
    batch: &Value,
    id: &str,
) -> Result<(), Response<Body>> {
    let made_by = batch.get("id").and_then(Value::as_str).unwrap_or_default();
    for key in ["output_file_id", "error_file_id"] {
        // An id that is not a provider's is not recorded: nobody can
        // reach it through the gateway.
        if let Some(file) = batch
            .get(key)
            .and_then(Value::as_str)
            .filter(|f| crate::object_id::valid_id(f))
        {
            let object = ProviderObject {
                kind: ObjectKind::File,
                id: file.to_owned(),
                account: account.to_owned(),
                model: None,
                details: json!({"purpose": "batch_output", "batch": made_by, "upstream": upstream}),
            };
            owned::record_or_refuse(gw, API, object, id).await?;
        }
    }
    Ok(())
}
