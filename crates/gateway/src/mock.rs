//! A mock model server speaking the OpenAI and Anthropic APIs, streaming tokens.
//!
//! It stands in for the upstream model servers, which cannot run here: the demo
//! and the tests put the real gateway in front of it. It answers every model
//! with a fixed sentence, one token per chunk, and counts its open streams so
//! tests can see that a client's disconnect reached it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::stream::{self, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;

mod files;
mod forms;
mod kept;
mod realtime;

pub use files::Objects;

/// The sentence the mock answers with, one token per word.
pub const REPLY: &str =
    "Hello from the mock model server. This reply is streamed one token at a time.";

/// What the mock has seen and is doing, for tests.
#[derive(Default)]
pub struct MockState {
    /// Requests received.
    pub requests: AtomicUsize,
    /// Streams currently open.
    pub open_streams: AtomicUsize,
    /// The last request body (tests check obligations were applied).
    pub last_body: std::sync::Mutex<Option<Value>>,
    /// Pause between streamed tokens.
    pub token_delay: Duration,
    /// Pause before answering at all (to simulate model latency).
    pub first_token_delay: Duration,
    /// The files and batches uploaded and created.
    pub objects: Objects,
}

/// A running mock upstream.
pub struct Mock {
    /// Its address.
    pub addr: SocketAddr,
    /// Its state.
    pub state: Arc<MockState>,
}

/// Decrements the open-stream count when the stream is dropped (finished or cancelled).
struct OpenStream(Arc<MockState>);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.open_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts the mock on `addr` (use port 0 for any free port).
///
/// # Errors
/// When the address cannot be bound.
pub async fn start(
    addr: SocketAddr,
    token_delay: Duration,
    first_token_delay: Duration,
) -> std::io::Result<Mock> {
    let state = Arc::new(MockState {
        token_delay,
        first_token_delay,
        ..MockState::default()
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(openai))
        .route("/v1/messages", post(anthropic))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/completions", post(text_completion))
        .route("/v1/embeddings", post(embedding))
        .route("/v1/moderations", post(moderation))
        .route("/v1/complete", post(anthropic_complete))
        .route("/v1/images/generations", post(image))
        .route("/v1/audio/speech", post(speech))
        .route("/v1/audio/transcriptions", post(forms::audio))
        .route("/v1/audio/translations", post(forms::audio))
        .route("/v1/images/edits", post(forms::image))
        .route("/v1/images/variations", post(forms::image))
        .merge(files::routes())
        .route("/v1/realtime", axum::routing::get(realtime::open))
        .merge(kept::routes(Arc::clone(&state)))
        .with_state(Arc::clone(&state));
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Mock { addr, state })
}

fn tokens() -> Vec<String> {
    let words: Vec<&str> = REPLY.split(' ').collect();
    let last = words.len().saturating_sub(1);
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == last {
                (*w).to_owned()
            } else {
                format!("{w} ")
            }
        })
        .collect()
}

fn sse(state: Arc<MockState>, events: Vec<String>) -> Response {
    state.open_streams.fetch_add(1, Ordering::SeqCst);
    let guard = OpenStream(Arc::clone(&state));
    let delay = state.token_delay;
    let first = state.first_token_delay;
    let body = stream::iter(events.into_iter().enumerate()).then(move |(i, e)| {
        let _keep = &guard;
        async move {
            let pause = if i == 0 { first } else { delay };
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            Ok::<Bytes, Infallible>(Bytes::from(e))
        }
    });
    let mut r = Response::new(Body::from_stream(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// Parses and records a request; returns the body and its model name, or the 400 to send.
#[allow(clippy::result_large_err, reason = "the error is the response itself")]
fn receive(state: &MockState, body: &[u8]) -> Result<(Value, String), Response> {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return Err((StatusCode::BAD_REQUEST, "bad json").into_response());
    };
    state.requests.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut last) = state.last_body.lock() {
        *last = Some(body.clone());
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    Ok((body, model))
}

/// Waits as a model would before its (non-streamed) answer.
async fn think(state: &MockState) {
    if !state.first_token_delay.is_zero() {
        tokio::time::sleep(state.first_token_delay).await;
    }
}

async fn openai(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let (body, model) = match receive(&state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let id = "chatcmpl-mock";
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let mut events: Vec<String> = tokens()
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let delta = if i == 0 { json!({"role": "assistant", "content": t}) } else { json!({"content": t}) };
                let chunk = json!({"id": id, "object": "chat.completion.chunk", "created": 1_764_201_600, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": null}]});
                format!("data: {chunk}\n\n")
            })
            .collect();
        let end = json!({"id": id, "object": "chat.completion.chunk", "created": 1_764_201_600, "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
        events.push(format!("data: {end}\n\n"));
        events.push("data: [DONE]\n\n".to_owned());
        return sse(state, events);
    }
    think(&state).await;
    axum::Json(json!({
        "id": id, "object": "chat.completion", "created": 1_764_201_600, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": tokens().len(), "total_tokens": 5 + tokens().len()}
    }))
    .into_response()
}

/// A legacy text completion: the reply as one choice.
async fn text_completion(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let (_, model) = match receive(&state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    axum::Json(json!({"id": "cmpl-mock", "object": "text_completion", "created": 1_764_201_600,
        "model": model, "choices": [{"index": 0, "text": REPLY, "finish_reason": "stop", "logprobs": null}]}))
    .into_response()
}

/// An embedding: a fixed three-dimensional vector.
async fn embedding(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let (_, model) = match receive(&state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    axum::Json(json!({"object": "list", "model": model,
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "usage": {"prompt_tokens": 1, "total_tokens": 1}}))
    .into_response()
}

/// A moderation: nothing flagged.
async fn moderation(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let (_, model) = match receive(&state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    axum::Json(json!({"id": "modr-mock", "model": model,
        "results": [{"flagged": false, "categories": {}, "category_scores": {}}]}))
    .into_response()
}

/// A one-pixel PNG, base64: every image the mock makes.
const ONE_PIXEL_PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

/// A generated image.
async fn image(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    if let Err(r) = receive(&state, &body) {
        return r;
    }
    axum::Json(json!({"created": 1_764_201_600, "data": [{"b64_json": ONE_PIXEL_PNG}]}))
        .into_response()
}

/// Speech: a few bytes of audio.
async fn speech(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    if let Err(r) = receive(&state, &body) {
        return r;
    }
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"))],
        Bytes::from_static(b"ID3mock"),
    )
        .into_response()
}

/// Anthropic's legacy text completion.
async fn anthropic_complete(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let (_, model) = match receive(&state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    axum::Json(
        json!({"type": "completion", "id": "compl_mock", "completion": REPLY,
        "stop_reason": "stop_sequence", "model": model}),
    )
    .into_response()
}

/// Anthropic's token count: a fixed count for any message.
async fn count_tokens(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    if let Err(r) = receive(&state, &body) {
        return r;
    }
    axum::Json(json!({"input_tokens": 5})).into_response()
}

async fn anthropic(State(state): State<Arc<MockState>>, body: Bytes) -> Response {
    let (body, model) = match receive(&state, &body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let id = "msg_mock";
    let n = tokens().len();
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        let mut events = vec![
            ev(
                "message_start",
                json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
        ];
        for t in tokens() {
            events.push(ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}})));
        }
        events.push(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        events.push(ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": n}})));
        events.push(ev("message_stop", json!({"type": "message_stop"})));
        return sse(state, events);
    }
    think(&state).await;
    axum::Json(json!({
        "id": id, "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": REPLY}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": n}
    }))
    .into_response()
}
