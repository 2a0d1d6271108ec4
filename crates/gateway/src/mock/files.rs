//! The mock's OpenAI files and batches, kept in memory: enough of the API
//! for the SDKs to upload a batch input file, create a batch, watch it
//! complete and download its output.
//!
//! A batch is `in_progress` when created and completes the first time it is
//! retrieved, writing an output file with one answer per input line; one
//! cancelled before that is `cancelled`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MockState, REPLY, forms};

/// When the mock's objects were made: a fixed time, plus one second per object.
const EPOCH: u64 = 1_764_201_600;

/// The files and batches the mock keeps.
#[derive(Default)]
pub struct Objects {
    inner: std::sync::Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Files in upload order: the object and its content.
    files: Vec<(Value, Bytes)>,
    /// Batches in creation order.
    batches: Vec<Value>,
    /// The last number given to an object.
    serial: u64,
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn add_file(&mut self, filename: &str, purpose: &str, content: Bytes) -> Value {
        let n = self.next();
        let file = json!({
            "id": format!("file-mock{n:06}"), "object": "file", "bytes": content.len(),
            "created_at": EPOCH + n, "filename": filename, "purpose": purpose,
            "status": "processed", "expires_at": null, "status_details": null,
        });
        self.files.push((file.clone(), content));
        file
    }

    fn file(&self, id: &str) -> Option<&(Value, Bytes)> {
        self.files.iter().find(|(f, _)| f["id"] == id)
    }
}

/// The routes of the mock's files and batches.
pub(super) fn routes() -> Router<Arc<MockState>> {
    Router::new()
        .route("/v1/files", post(create_file).get(list_files))
        .route("/v1/files/{id}", get(retrieve_file).delete(delete_file))
        .route("/v1/files/{id}/content", get(file_content))
        .route("/v1/batches", post(create_batch).get(list_batches))
        .route("/v1/batches/{id}", get(retrieve_batch))
        .route("/v1/batches/{id}/cancel", post(cancel_batch))
}

/// The objects, locked.
fn lock(state: &MockState) -> std::sync::MutexGuard<'_, Inner> {
    state
        .objects
        .inner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Counts a request and locks the objects for it.
fn counted(state: &MockState) -> std::sync::MutexGuard<'_, Inner> {
    state.requests.fetch_add(1, Ordering::SeqCst);
    lock(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})),
    )
        .into_response()
}

fn not_found(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!("No such {kind} object: {id}"),
    )
}

/// A cursor page's query.
#[derive(Deserialize)]
struct Page {
    after: Option<String>,
    limit: Option<usize>,
    purpose: Option<String>,
}

/// A page of `items` (newest first) after `page.after`.
fn page(items: Vec<Value>, page: &Page, default_limit: usize) -> Response {
    let mut items: Vec<Value> = items.into_iter().rev().collect();
    if let Some(after) = &page.after
        && let Some(i) = items.iter().position(|v| v["id"] == after.as_str())
    {
        items.drain(..=i);
    }
    let limit = page.limit.unwrap_or(default_limit).max(1);
    let has_more = items.len() > limit;
    items.truncate(limit);
    axum::Json(json!({
        "object": "list", "has_more": has_more,
        "first_id": items.first().map(|v| v["id"].clone()),
        "last_id": items.last().map(|v| v["id"].clone()),
        "data": items,
    }))
    .into_response()
}

async fn create_file(
    State(state): State<Arc<MockState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (fields, form) = match forms::receive_form(&state, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(purpose) = fields.get("purpose").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "missing required parameter `purpose`",
        );
    };
    let Some(file) = form.part("file").filter(|p| p.is_file()) else {
        return error(StatusCode::BAD_REQUEST, "missing required file `file`");
    };
    let content = body.slice(file.value.clone());
    let mut objects = lock(&state);
    let made = objects.add_file(file.filename.as_deref().unwrap_or("file"), purpose, content);
    axum::Json(made).into_response()
}

async fn list_files(State(state): State<Arc<MockState>>, Query(q): Query<Page>) -> Response {
    let objects = counted(&state);
    let files = objects
        .files
        .iter()
        .map(|(f, _)| f.clone())
        .filter(|f| q.purpose.as_deref().is_none_or(|p| f["purpose"] == p))
        .collect();
    page(files, &q, 10_000)
}

async fn retrieve_file(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    let objects = counted(&state);
    match objects.file(&id) {
        Some((f, _)) => axum::Json(f.clone()).into_response(),
        None => not_found("File", &id),
    }
}

async fn delete_file(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    let mut objects = counted(&state);
    let before = objects.files.len();
    objects.files.retain(|(f, _)| f["id"] != id.as_str());
    if objects.files.len() == before {
        return not_found("File", &id);
    }
    axum::Json(json!({"id": id, "object": "file", "deleted": true})).into_response()
}

async fn file_content(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    let objects = counted(&state);
    match objects.file(&id) {
        Some((_, content)) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )],
            content.clone(),
        )
            .into_response(),
        None => not_found("File", &id),
    }
}

async fn create_batch(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "bad json");
    };
    state.requests.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut last) = state.last_body.lock() {
        *last = Some(req.clone());
    }
    let field = |k: &str| req.get(k).cloned().unwrap_or(Value::Null);
    let input = field("input_file_id")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut objects = lock(&state);
    let Some((_, content)) = objects.file(&input) else {
        return not_found("File", &input);
    };
    let total = content
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let n = objects.next();
    let batch = json!({
        "id": format!("batch_mock{n:06}"), "object": "batch", "endpoint": field("endpoint"),
        "errors": null, "input_file_id": input, "completion_window": field("completion_window"),
        "status": "in_progress", "output_file_id": null, "error_file_id": null,
        "created_at": EPOCH + n, "in_progress_at": EPOCH + n, "expires_at": EPOCH + n + 86_400,
        "completed_at": null, "cancelled_at": null,
        "request_counts": {"total": total, "completed": 0, "failed": 0},
        "metadata": req.get("metadata").cloned().unwrap_or(Value::Null),
    });
    objects.batches.push(batch.clone());
    axum::Json(batch).into_response()
}

/// Completes an in-progress batch: one answer per line of its input file.
fn complete(objects: &mut Inner, i: usize) {
    let Some(batch) = objects.batches.get(i) else {
        return;
    };
    if batch["status"] != "in_progress" {
        return;
    }
    let id = batch["id"].as_str().unwrap_or_default().to_owned();
    let input = batch["input_file_id"].as_str().unwrap_or_default();
    let lines: Vec<Value> = objects
        .file(input)
        .map(|(_, c)| {
            c.split(|b| *b == b'\n')
                .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut out = String::new();
    for (k, line) in lines.iter().enumerate() {
        let answer = json!({
            "id": format!("batch_req_mock{k}"), "custom_id": line["custom_id"], "error": null,
            "response": {"status_code": 200, "request_id": format!("req_mock{k}"), "body": {
                "id": "chatcmpl-mock", "object": "chat.completion", "created": EPOCH,
                "model": line.pointer("/body/model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}]}},
        });
        out.push_str(&answer.to_string());
        out.push('\n');
    }
    let file = objects.add_file(
        &format!("{id}_output.jsonl"),
        "batch_output",
        Bytes::from(out),
    );
    let at = EPOCH + objects.serial;
    if let Some(batch) = objects.batches.get_mut(i) {
        batch["status"] = "completed".into();
        batch["output_file_id"] = file.get("id").cloned().unwrap_or(Value::Null);
        batch["completed_at"] = at.into();
        batch["request_counts"] =
            json!({"total": lines.len(), "completed": lines.len(), "failed": 0});
    }
}

async fn retrieve_batch(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    let mut objects = counted(&state);
    let Some(i) = objects.batches.iter().position(|b| b["id"] == id.as_str()) else {
        return not_found("Batch", &id);
    };
    complete(&mut objects, i);
    match objects.batches.get(i) {
        Some(b) => axum::Json(b.clone()).into_response(),
        None => not_found("Batch", &id),
    }
}

async fn list_batches(State(state): State<Arc<MockState>>, Query(q): Query<Page>) -> Response {
    let objects = counted(&state);
    page(objects.batches.clone(), &q, 20)
}

async fn cancel_batch(State(state): State<Arc<MockState>>, Path(id): Path<String>) -> Response {
    let mut objects = counted(&state);
    let at = EPOCH + objects.next();
    let Some(batch) = objects.batches.iter_mut().find(|b| b["id"] == id.as_str()) else {
        return not_found("Batch", &id);
    };
    if batch["status"] != "in_progress" {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("Cannot cancel a batch with status `{}`.", batch["status"]),
        );
    }
    batch["status"] = "cancelled".into();
    batch["cancelled_at"] = at.into();
    axum::Json(batch.clone()).into_response()
}
