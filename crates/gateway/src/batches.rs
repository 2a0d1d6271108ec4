//! `/v1/batches` (OpenAI): a batch runs the requests of an input file the
//! caller uploaded ([`crate::files`]). Creating one decides every line as
//! the request it is (its endpoint from its url, its model, features, tool
//! types and token cap, as a batch), each decision recorded in the audit
//! log like any request's; the batch is created only when every line is
//! allowed as written, and is otherwise refused whole naming the refused
//! lines. The uploaded file cannot be changed any more, so a line allowed
//! only with obligations it does not already meet (a token cap it exceeds
//! or does not state, a feature it must not use) is refused with what the
//! line must say.
//!
//! Batches are read, listed and cancelled only by their creator
//! ([`crate::owned`]); the output and error files a batch names become the
//! creator's when they read it, so they can download the results.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use cordon_audit::leaf::Source;
use cordon_policy::Feature;
use cordon_store::ObjectKind;
use futures_util::StreamExt;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::api_error::{self, Api, Code};
use crate::audit::AUDIT_INDEX;
use crate::files::Line;
use crate::model_routes::{self, BodyForm};
use crate::owned::{self, Call};
use crate::proxy::{self, DECISION_ID, Outgoing, set_header};
use crate::state::Gateway;

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
struct Decided {
    number: usize,
    custom_id: String,
    decision_id: String,
    status: StatusCode,
    effect: String,
    directive: Option<String>,
    audit_index: Option<u64>,
    /// Why it was refused, or what it must say.
    message: Option<String>,
    refused: bool,
    /// Refused under a directive (or allowed), not for a malformed request.
    legal: bool,
    /// The canonical model, for an allowed line.
    model: Option<String>,
}

impl Decided {
    fn json(&self) -> Value {
        json!({
            "line": self.number,
            "custom_id": self.custom_id,
            "decision_id": self.decision_id,
            "status": self.status.as_u16(),
            "effect": self.effect,
            "directive": self.directive,
            "audit_index": self.audit_index,
            "message": self.message,
        })
    }
}

/// `POST /v1/batches`.
pub(crate) async fn create(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response<Body> {
    let r = create_batch(Arc::clone(&gw), peer, req)
        .await
        .unwrap_or_else(|e| e);
    gw.metrics.response("/v1/batches", r.status().as_u16());
    r
}

async fn create_batch(
    gw: Arc<Gateway>,
    peer: SocketAddr,
    req: Request<Body>,
) -> Result<Response<Body>, Response<Body>> {
    let (parts, body) = req.into_parts();
    let call = Call::start(Arc::clone(&gw), &parts.headers).await?;
    let body = call.read_body(&parts.headers, body).await?;
    let asked: Create = serde_json::from_slice(&body)
        .map_err(|e| call.bad(&format!("the request body cannot be read: {e}"), None))?;
    if !crate::files::BATCH_URLS.contains(&asked.endpoint.as_str()) {
        return Err(call.bad(
            &format!(
                "`endpoint` must be one of {}",
                crate::files::BATCH_URLS.join(", ")
            ),
            Some("endpoint"),
        ));
    }
    let file = call.owned(ObjectKind::File, &asked.input_file_id).await?;
    let Some(summaries) = file.details.get("lines").and_then(Value::as_array) else {
        return Err(call.bad(
            &format!(
                "the file `{}` was not uploaded with `purpose` `batch` through this gateway, so its requests were never read; upload it again with `purpose` `batch`",
                asked.input_file_id
            ),
            Some("input_file_id"),
        ));
    };
    let lines: Vec<Line> = summaries
        .iter()
        .map(Line::from_summary)
        .collect::<Option<_>>()
        .ok_or_else(|| {
            call.error(
                StatusCode::SERVICE_UNAVAILABLE,
                Code::Unavailable,
                "the gateway's record of the file's requests cannot be read; upload the file again",
            )
        })?;
    if let Some(l) = lines.iter().find(|l| l.url != asked.endpoint) {
        return Err(call.bad(
            &format!(
                "line {} (`{}`) of the input file calls `{}`, not the batch's `endpoint` `{}`",
                l.number, l.custom_id, l.url, asked.endpoint
            ),
            Some("endpoint"),
        ));
    }
    let upstream = call.upstream()?.name.clone();
    // Several lines at once, so their audit records share the log's
    // durable writes; the answers keep the file's order.
    let (call_ref, parts_ref, upstream_ref) = (&call, &parts, upstream.as_str());
    let decided: Vec<Decided> = futures_util::stream::iter(lines)
        .map(move |line| async move {
            decide_line(call_ref, peer, parts_ref, &line, upstream_ref).await
        })
        .buffered(LINES_AT_ONCE)
        .collect()
        .await;
    if decided.iter().any(|d| d.refused) {
        return Err(refusal(&call, &decided));
    }
    let mut models: Vec<&str> = decided.iter().filter_map(|d| d.model.as_deref()).collect();
    models.dedup();
    let model = (models.len() == 1).then(|| models.concat());
    let details = json!({
        "input_file_id": asked.input_file_id,
        "endpoint": asked.endpoint,
        "upstream": upstream,
        "decisions": decided.iter().map(|d| d.decision_id.as_str()).collect::<Vec<_>>(),
    });
    let out = Outgoing {
        method: Method::POST,
        path: "/v1/batches",
        content_type: Some(HeaderValue::from_static("application/json")),
        body,
    };
    let answer = call
        .create(ObjectKind::Batch, out, &parts.headers, model, details)
        .await?;
    if let Some(made) = &answer.json {
        record_results(&call, made).await?;
    }
    Ok(answer.into_response(&call.id))
}

/// Decides one line as the request it is, sent as a batch; the decision is
/// in the audit log when this returns.
async fn decide_line(
    call: &Call,
    peer: SocketAddr,
    parts: &axum::http::request::Parts,
    line: &Line,
    upstream: &str,
) -> Decided {
    let gw = &call.gw;
    let line_id = proxy::decision_id();
    let mut inspected = line.inspected.clone();
    inspected.features.insert(Feature::Batch);
    let (route, endpoint) = match model_routes::model_route(&line.url) {
        Some(r) => (r.path, r.endpoint),
        None => (line.url.as_str(), cordon_policy::Endpoint::Batch),
    };
    let mut out = Decided {
        number: line.number,
        custom_id: line.custom_id.clone(),
        decision_id: line_id.clone(),
        status: StatusCode::OK,
        effect: String::new(),
        directive: None,
        audit_index: None,
        message: None,
        refused: true,
        legal: true,
        model: None,
    };
    let decided = proxy::evaluate_inspected(
        gw,
        Api::OpenAi,
        endpoint,
        route,
        peer,
        parts,
        Arc::clone(&call.principal),
        Bytes::new(),
        inspected,
        &line_id,
        Instant::now(),
        Source::Gateway,
    )
    .await;
    let allowed = match decided {
        Ok(a) => a,
        Err(r) => {
            let (head, body) = r.into_parts();
            let header = |name: &str| {
                head.headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            out.status = head.status;
            out.legal = out.status == gw.loaded.config.refusal_status.code();
            out.effect = header("x-cordon-effect").unwrap_or_else(|| "refused".into());
            out.directive = header("x-cordon-directive");
            out.audit_index = header(AUDIT_INDEX).and_then(|i| i.parse().ok());
            out.message = axum::body::to_bytes(body, 1 << 20)
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v.pointer("/error/message")?.as_str().map(str::to_owned));
            return out;
        }
    };
    out.audit_index = allowed.audit_index;
    out.effect = allowed.decision.effect.as_str().to_owned();
    if let Some(limits) = crate::unmet::unmet(BodyForm::Json, &allowed) {
        out.status = gw.loaded.config.refusal_status.code();
        out.message = Some(format!(
            "{limits} The input file cannot be changed: upload one whose line says so."
        ));
        return out;
    }
    let serves = gw
        .upstream(&allowed.compiled, allowed.model)
        .map(|u| u.name.as_str());
    if serves != Some(upstream) {
        out.status = StatusCode::BAD_REQUEST;
        out.legal = false;
        out.message = Some(format!(
            "the model `{}` is not served by the upstream `{upstream}` that keeps files and batches",
            allowed.canonical
        ));
        return out;
    }
    out.refused = false;
    out.model = Some(allowed.canonical);
    out
}

/// The whole batch refused: 451 (or the configured legal status) when every
/// refused line was refused under a directive, otherwise 400; the refused
/// lines named, every line's decision listed.
fn refusal(call: &Call, decided: &[Decided]) -> Response<Body> {
    let refused: Vec<&Decided> = decided.iter().filter(|d| d.refused).collect();
    let legal = decided.iter().all(|d| d.legal);
    let status = if legal {
        call.gw.loaded.config.refusal_status.code()
    } else {
        StatusCode::BAD_REQUEST
    };
    let mut named: Vec<String> = refused
        .iter()
        .take(NAMED_IN_MESSAGE)
        .map(|d| {
            let mut s = format!("line {} `{}`", d.number, d.custom_id);
            if let Some(m) = &d.message {
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
        "{} of {} requests in the batch input file are refused; the batch was not created (decision {}). {}",
        refused.len(),
        decided.len(),
        call.id,
        named.join(" | ")
    );
    let code = if legal {
        Code::Denied
    } else {
        Code::InvalidRequest
    };
    let body = api_error::body(
        Api::OpenAi,
        code,
        &message,
        None,
        Some(json!({
            "decision_id": call.id,
            "refused": refused.iter().map(|d| d.json()).collect::<Vec<_>>(),
            "lines": decided.iter().map(Decided::json).collect::<Vec<_>>(),
        })),
    );
    let mut r = (status, axum::Json(body)).into_response();
    let h = r.headers_mut();
    set_header(h, DECISION_ID, &call.id);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-should-retry", HeaderValue::from_static("false"));
    r
}

/// Records the output and error files a batch names as its creator's.
async fn record_results(call: &Call, batch: &Value) -> Result<(), Response<Body>> {
    let id = batch.get("id").and_then(Value::as_str).unwrap_or_default();
    for key in ["output_file_id", "error_file_id"] {
        if let Some(file) = batch.get(key).and_then(Value::as_str) {
            let details = json!({"purpose": "batch_output", "batch": id});
            call.record(ObjectKind::File, file, None, details).await?;
        }
    }
    Ok(())
}

/// `GET /v1/batches`: the caller's batches only.
pub(crate) async fn list(
    State(gw): State<Arc<Gateway>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response<Body> {
    let r = async {
        let call = Call::start(Arc::clone(&gw), &headers).await?;
        let page = call
            .list(ObjectKind::Batch, "/v1/batches", uri.query(), &headers)
            .await?;
        for batch in page
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            record_results(&call, batch).await?;
        }
        Ok(owned::json_response(&page, &call.id))
    }
    .await
    .unwrap_or_else(|e: Response<Body>| e);
    gw.metrics.response("/v1/batches", r.status().as_u16());
    r
}

/// `GET /v1/batches/{id}`.
pub(crate) async fn retrieve(
    State(gw): State<Arc<Gateway>>,
    Path(batch): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let r = one(&gw, Method::GET, &batch, "", &headers).await;
    gw.metrics.response("/v1/batches/{id}", r.status().as_u16());
    r
}

/// `POST /v1/batches/{id}/cancel`.
pub(crate) async fn cancel(
    State(gw): State<Arc<Gateway>>,
    Path(batch): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    let r = one(&gw, Method::POST, &batch, "/cancel", &headers).await;
    gw.metrics
        .response("/v1/batches/{id}/cancel", r.status().as_u16());
    r
}

/// A call about one of the caller's batches; the files it names are
/// recorded as theirs.
async fn one(
    gw: &Arc<Gateway>,
    method: Method,
    batch: &str,
    suffix: &str,
    headers: &HeaderMap,
) -> Response<Body> {
    async {
        let call = Call::start(Arc::clone(gw), headers).await?;
        call.owned(ObjectKind::Batch, batch).await?;
        let path = format!("/v1/batches/{batch}{suffix}");
        let out = Outgoing {
            method,
            ..owned::get(&path)
        };
        let answer = call.fetch(out, headers).await?;
        if let Some(b) = &answer.json {
            record_results(&call, b).await?;
        }
        Ok(answer.into_response(&call.id))
    }
    .await
    .unwrap_or_else(|e: Response<Body>| e)
}
