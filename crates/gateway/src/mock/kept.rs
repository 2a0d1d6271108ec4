//! What the mock keeps between calls, as a provider does: stored responses
//! (a background one is `queued` when made and `completed` when next read),
//! fine-tuning jobs and message batches, each readable, cancellable,
//! deletable and listed, in memory.
//!
//! Every caller shares the mock's one key, as every customer shares the
//! gateway's key at a real provider: the mock answers for any id it made,
//! to anyone, which is what the gateway's ownership records guard.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{MockState, REPLY, receive, sse, think, tokens};
use crate::api_error::{self, Api, Code};
use crate::proxy::fresh_id;

/// When the mock says everything was made.
const CREATED_AT: i64 = 1_764_201_600;

/// The mock's kept objects, by id, in the order made.
struct Kept {
    state: Arc<MockState>,
    responses: Mutex<BTreeMap<String, Stored>>,
    jobs: Mutex<Vec<Value>>,
    batches: Mutex<Vec<Batch>>,
}

/// A stored response and its input items.
struct Stored {
    response: Value,
    input: Vec<Value>,
}

/// A message batch and the custom ids and models of its requests.
struct Batch {
    batch: Value,
    requests: Vec<(String, String)>,
}

/// The routes of kept objects, with their own state beside `state`.
pub(super) fn routes(state: Arc<MockState>) -> Router<Arc<MockState>> {
    let kept = Arc::new(Kept {
        state,
        responses: Mutex::default(),
        jobs: Mutex::default(),
        batches: Mutex::default(),
    });
    Router::new()
        .route("/v1/responses", post(create_response))
        .route(
            "/v1/responses/{id}",
            get(retrieve_response).delete(delete_response),
        )
        .route("/v1/responses/{id}/cancel", post(cancel_response))
        .route("/v1/responses/{id}/input_items", get(input_items))
        .route("/v1/fine_tuning/jobs", post(create_job).get(list_jobs))
        .route("/v1/fine_tuning/jobs/{id}", get(retrieve_job))
        .route("/v1/fine_tuning/jobs/{id}/cancel", post(cancel_job))
        .route("/v1/fine_tuning/jobs/{id}/events", get(job_events))
        .route(
            "/v1/fine_tuning/jobs/{id}/checkpoints",
            get(job_checkpoints),
        )
        .route("/v1/messages/batches", post(create_batch).get(list_batches))
        .route(
            "/v1/messages/batches/{id}",
            get(retrieve_batch).delete(delete_batch),
        )
        .route("/v1/messages/batches/{id}/results", get(batch_results))
        .route("/v1/messages/batches/{id}/cancel", post(cancel_batch))
        .with_state(kept)
}

/// `v`'s field `key`, or null.
fn field<'v>(v: &'v Value, key: &str) -> &'v Value {
    v.get(key).unwrap_or(&Value::Null)
}

/// Sets `v`'s field `key`, when `v` is an object.
fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_owned(), value);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn missing(api: Api, what: &str, id: &str) -> Response {
    api_error::response(
        api,
        StatusCode::NOT_FOUND,
        Code::NotFound,
        &format!("No {what} found with id '{id}'."),
    )
}

fn list(data: Vec<Value>) -> Value {
    let first = data.first().and_then(|v| v.get("id")).cloned();
    let last = data.last().and_then(|v| v.get("id")).cloned();
    json!({"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": false})
}

// ----------------------------------------------------------------- responses

fn output() -> Value {
    json!([{"type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
        "content": [{"type": "output_text", "text": REPLY, "annotations": []}]}])
}

fn usage() -> Value {
    json!({"input_tokens": 5, "output_tokens": tokens().len(), "total_tokens": 5 + tokens().len()})
}

/// The request's input as the items a provider keeps.
fn input_items_of(body: &Value) -> Vec<Value> {
    let items = match body.get("input") {
        Some(Value::String(text)) => vec![json!({"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": text}]})],
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|mut item| {
            if let Some(o) = item.as_object_mut() {
                o.entry("id").or_insert_with(|| json!(fresh_id("msg")));
                o.entry("status").or_insert_with(|| json!("completed"));
            }
            item
        })
        .collect()
}

/// The Responses API: the reply as one `output_text`, or streamed from
/// `response.created` through `response.output_text.delta` events to
/// `response.completed`. Kept unless `store` is false; a `background`
/// response is `queued` until it is next read.
async fn create_response(State(kept): State<Arc<Kept>>, body: Bytes) -> Response {
    let (body, model) = match receive(&kept.state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let id = fresh_id("resp");
    let background = body.get("background").and_then(Value::as_bool) == Some(true);
    let streamed = body.get("stream").and_then(Value::as_bool) == Some(true);
    let response = |status: &str, output: Value| {
        json!({"id": id, "object": "response", "created_at": CREATED_AT, "model": model,
            "status": status, "background": background, "output": output,
            "usage": if status == "completed" { usage() } else { Value::Null }})
    };
    let done = response("completed", output());
    if body.get("store").and_then(Value::as_bool) != Some(false) {
        let kept_as = if background {
            response("queued", json!([]))
        } else {
            done.clone()
        };
        lock(&kept.responses).insert(
            id.clone(),
            Stored {
                response: kept_as,
                input: input_items_of(&body),
            },
        );
    }
    if streamed {
        let start = response(if background { "queued" } else { "in_progress" }, json!([]));
        return sse(Arc::clone(&kept.state), response_events(start, done));
    }
    think(&kept.state).await;
    if background {
        return axum::Json(response("queued", json!([]))).into_response();
    }
    axum::Json(done).into_response()
}

/// A Responses stream from `start` to `done`.
fn response_events(start: Value, done: Value) -> Vec<String> {
    let mut n = 0;
    let mut ev = |name: &str, mut data: Value| {
        set(&mut data, "type", json!(name));
        set(&mut data, "sequence_number", json!(n));
        n += 1;
        format!("event: {name}\ndata: {data}\n\n")
    };
    let mut events = vec![ev("response.created", json!({"response": start}))];
    for t in tokens() {
        events.push(ev(
            "response.output_text.delta",
            json!({"item_id": "msg_mock", "output_index": 0, "content_index": 0, "delta": t}),
        ));
    }
    events.push(ev("response.completed", json!({"response": done})));
    events
}

#[derive(serde::Deserialize)]
struct StreamQuery {
    stream: Option<bool>,
}

/// A stored response: a background one has completed by now. With
/// `?stream=true`, its events again, as a background stream is resumed.
async fn retrieve_response(
    State(kept): State<Arc<Kept>>,
    Path(id): Path<String>,
    Query(q): Query<StreamQuery>,
) -> Response {
    kept.state
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut responses = lock(&kept.responses);
    let Some(stored) = responses.get_mut(&id) else {
        return missing(Api::OpenAi, "response", &id);
    };
    let r = &mut stored.response;
    if field(r, "status") == "queued" || field(r, "status") == "in_progress" {
        set(r, "status", json!("completed"));
        set(r, "output", output());
        set(r, "usage", usage());
    }
    let done = r.clone();
    drop(responses);
    if q.stream == Some(true) {
        let mut start = done.clone();
        set(&mut start, "status", json!("in_progress"));
        return sse(Arc::clone(&kept.state), response_events(start, done));
    }
    axum::Json(done).into_response()
}

async fn delete_response(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    if lock(&kept.responses).remove(&id).is_none() {
        return missing(Api::OpenAi, "response", &id);
    }
    axum::Json(json!({"id": id, "object": "response", "deleted": true})).into_response()
}

/// Cancels a background response that has not completed.
async fn cancel_response(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    let mut responses = lock(&kept.responses);
    let Some(stored) = responses.get_mut(&id) else {
        return missing(Api::OpenAi, "response", &id);
    };
    let r = &mut stored.response;
    if field(r, "background") != true {
        return api_error::response(
            Api::OpenAi,
            StatusCode::BAD_REQUEST,
            Code::InvalidRequest,
            "Only background responses can be cancelled.",
        );
    }
    if field(r, "status") == "queued" || field(r, "status") == "in_progress" {
        set(r, "status", json!("cancelled"));
    }
    axum::Json(r.clone()).into_response()
}

async fn input_items(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    match lock(&kept.responses).get(&id) {
        Some(stored) => axum::Json(list(stored.input.clone())).into_response(),
        None => missing(Api::OpenAi, "response", &id),
    }
}

// -------------------------------------------------------- fine-tuning jobs

async fn create_job(State(kept): State<Arc<Kept>>, body: Bytes) -> Response {
    let (body, model) = match receive(&kept.state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let job = json!({
        "id": fresh_id("ftjob"), "object": "fine_tuning.job", "model": model,
        "created_at": CREATED_AT, "finished_at": null, "fine_tuned_model": null,
        "organization_id": "org-mock", "result_files": [], "status": "validating_files",
        "training_file": body.get("training_file"), "validation_file": body.get("validation_file"),
        "hyperparameters": {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"},
        "trained_tokens": null, "error": null, "seed": 0,
    });
    lock(&kept.jobs).push(job.clone());
    axum::Json(job).into_response()
}

/// Newest first, as the provider lists them.
async fn list_jobs(State(kept): State<Arc<Kept>>) -> Response {
    let jobs: Vec<Value> = lock(&kept.jobs).iter().rev().cloned().collect();
    axum::Json(list(jobs)).into_response()
}

fn with_job(kept: &Kept, id: &str, f: impl FnOnce(&mut Value) -> Value) -> Response {
    let mut jobs = lock(&kept.jobs);
    match jobs.iter_mut().find(|j| field(j, "id") == id) {
        Some(job) => axum::Json(f(job)).into_response(),
        None => missing(Api::OpenAi, "fine-tuning job", id),
    }
}

async fn retrieve_job(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    with_job(&kept, &id, |job| job.clone())
}

async fn cancel_job(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    with_job(&kept, &id, |job| {
        set(job, "status", json!("cancelled"));
        job.clone()
    })
}

async fn job_events(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    with_job(&kept, &id, |job| {
        list(vec![
            json!({"object": "fine_tuning.job.event", "id": format!("ftevent-{}", &id),
            "created_at": CREATED_AT, "level": "info", "message": format!("Job {} is {}", id, field(job, "status")),
            "type": "message"}),
        ])
    })
}

async fn job_checkpoints(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    with_job(&kept, &id, |job| {
        list(vec![
            json!({"object": "fine_tuning.job.checkpoint", "id": format!("ftckpt-{}", &id),
            "created_at": CREATED_AT, "fine_tuning_job_id": id, "step_number": 1,
            "fine_tuned_model_checkpoint": format!("ft:{}:mock:ckpt-step-1", field(job, "model").as_str().unwrap_or("")),
            "metrics": {"step": 1, "train_loss": 0.5}}),
        ])
    })
}

// ----------------------------------------------------------- message batches

/// An Anthropic message batch, accepted for processing; it has ended when
/// next read. Its `results_url` is at the provider, as Anthropic's is.
async fn create_batch(State(kept): State<Arc<Kept>>, body: Bytes) -> Response {
    let (body, _) = match receive(&kept.state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let requests: Vec<(String, String)> = body
        .get("requests")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                    (
                        text(field(r, "custom_id")),
                        text(field(field(r, "params"), "model")),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let batch = json!({
        "id": fresh_id("msgbatch"), "type": "message_batch", "processing_status": "in_progress",
        "request_counts": {"processing": requests.len(), "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
        "created_at": "2026-12-07T12:00:00Z", "expires_at": "2026-12-08T12:00:00Z",
        "ended_at": null, "cancel_initiated_at": null, "archived_at": null, "results_url": null
    });
    lock(&kept.batches).push(Batch {
        batch: batch.clone(),
        requests,
    });
    axum::Json(batch).into_response()
}

fn with_batch(kept: &Kept, id: &str, f: impl FnOnce(&mut Batch) -> Response) -> Response {
    let mut batches = lock(&kept.batches);
    match batches.iter_mut().find(|b| field(&b.batch, "id") == id) {
        Some(b) => f(b),
        None => missing(Api::Anthropic, "message batch", id),
    }
}

/// Ends a batch that is still in progress.
fn end(b: &mut Batch) {
    if field(&b.batch, "processing_status") == "in_progress" {
        let n = b.requests.len();
        let id = field(&b.batch, "id")
            .as_str()
            .unwrap_or_default()
            .to_owned();
        set(&mut b.batch, "processing_status", json!("ended"));
        set(&mut b.batch, "ended_at", json!("2026-12-07T12:05:00Z"));
        set(
            &mut b.batch,
            "request_counts",
            json!({"processing": 0, "succeeded": n, "errored": 0, "canceled": 0, "expired": 0}),
        );
        set(
            &mut b.batch,
            "results_url",
            json!(format!(
                "https://api.anthropic.com/v1/messages/batches/{id}/results"
            )),
        );
    }
}

async fn retrieve_batch(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    with_batch(&kept, &id, |b| {
        end(b);
        axum::Json(b.batch.clone()).into_response()
    })
}

async fn list_batches(State(kept): State<Arc<Kept>>) -> Response {
    let mut batches = lock(&kept.batches);
    let data: Vec<Value> = batches
        .iter_mut()
        .rev()
        .map(|b| {
            end(b);
            b.batch.clone()
        })
        .collect();
    let first = data.first().and_then(|v| v.get("id")).cloned();
    let last = data.last().and_then(|v| v.get("id")).cloned();
    axum::Json(json!({"data": data, "has_more": false, "first_id": first, "last_id": last}))
        .into_response()
}

/// The results, one JSON line per request.
async fn batch_results(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    with_batch(&kept, &id, |b| {
        end(b);
        let mut lines = String::new();
        for (custom_id, model) in &b.requests {
            let line = json!({"custom_id": custom_id, "result": {"type": "succeeded", "message": {
                "id": fresh_id("msg"), "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": REPLY}], "stop_reason": "end_turn",
                "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": tokens().len()}}}});
            lines.push_str(&line.to_string());
            lines.push('\n');
        }
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/binary"),
            )],
            lines,
        )
            .into_response()
    })
}

async fn cancel_batch(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    with_batch(&kept, &id, |b| {
        if field(&b.batch, "processing_status") == "in_progress" {
            set(&mut b.batch, "processing_status", json!("canceling"));
            set(
                &mut b.batch,
                "cancel_initiated_at",
                json!("2026-12-07T12:01:00Z"),
            );
        }
        axum::Json(b.batch.clone()).into_response()
    })
}

async fn delete_batch(State(kept): State<Arc<Kept>>, Path(id): Path<String>) -> Response {
    let mut batches = lock(&kept.batches);
    let before = batches.len();
    batches.retain(|b| field(&b.batch, "id") != id.as_str());
    if batches.len() == before {
        return missing(Api::Anthropic, "message batch", &id);
    }
    axum::Json(json!({"id": id, "type": "message_batch_deleted"})).into_response()
}
