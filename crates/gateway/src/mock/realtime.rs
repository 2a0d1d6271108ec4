//! The mock's realtime endpoint: a WebSocket that keeps a session's
//! settings and answers `session.update` with the whole session, so tests
//! see what reached the upstream, and `response.create` with a short text
//! response.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::MockState;
use crate::realtime::frame::{self, Opcode, Sender};

/// `GET /v1/realtime?model=…`.
pub(super) async fn open(State(state): State<Arc<MockState>>, mut req: Request<Body>) -> Response {
    state
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let model = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|p| p.strip_prefix("model="))
        .unwrap_or("")
        .to_owned();
    let Some(key) = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
    else {
        return (StatusCode::BAD_REQUEST, "not a WebSocket handshake").into_response();
    };
    let accept = crate::realtime::websocket_accept(key);
    let authorised = req.headers().get(header::AUTHORIZATION).cloned();
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(io) = on_upgrade.await {
            let _ = session(TokioIo::new(io), model, authorised.is_some()).await;
        }
    });
    let mut r = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

async fn send<W: AsyncWriteExt + Unpin>(to: &mut W, event: Value) -> std::io::Result<()> {
    to.write_all(&frame::encode(
        Opcode::Text,
        event.to_string().as_bytes(),
        None,
    ))
    .await
}

async fn session<S>(mut io: S, model: String, authorised: bool) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut settings = Map::new();
    settings.insert("type".into(), json!("realtime"));
    settings.insert("model".into(), json!(model));
    settings.insert("max_output_tokens".into(), json!("inf"));
    settings.insert("tools".into(), json!([]));
    settings.insert("upstream_key_seen".into(), json!(authorised));
    let mut n = 0u32;
    let mut next_id = || {
        n += 1;
        format!("evt_mock_{n}")
    };
    send(
        &mut io,
        json!({"type": "session.created", "event_id": next_id(), "session": settings}),
    )
    .await?;
    let mut buf = BytesMut::with_capacity(4096);
    let mut message = Vec::new();
    loop {
        let Ok(Some(h)) = frame::read_header(&buf, Sender::Client) else {
            if io.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
            continue;
        };
        let len = usize::try_from(h.len).unwrap_or(usize::MAX);
        if buf.len() < h.header_len.saturating_add(len) {
            if io.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
            continue;
        }
        let raw = buf.split_to(h.header_len + len);
        let mut payload = raw.get(h.header_len..).unwrap_or_default().to_vec();
        if let Some(m) = h.mask {
            frame::apply_mask(m, 0, &mut payload);
        }
        match h.opcode {
            Opcode::Close => {
                io.write_all(&frame::close(1000, "", None)).await?;
                return Ok(());
            }
            Opcode::Ping => {
                io.write_all(&frame::encode(Opcode::Pong, &payload, None))
                    .await?
            }
            Opcode::Pong => {}
            _ => {
                message.extend_from_slice(&payload);
                if !h.fin {
                    continue;
                }
                let event: Value =
                    serde_json::from_slice(&std::mem::take(&mut message)).unwrap_or_default();
                match event.get("type").and_then(Value::as_str) {
                    Some("session.update") => {
                        if let Some(s) = event.get("session").and_then(Value::as_object) {
                            for (k, v) in s {
                                settings.insert(k.clone(), v.clone());
                            }
                        }
                        send(
                            &mut io,
                            json!({"type": "session.updated", "event_id": next_id(), "session": settings}),
                        )
                        .await?;
                    }
                    Some("response.create") => {
                        let asked = event.get("response").cloned().unwrap_or_default();
                        let id = next_id();
                        send(&mut io, json!({"type": "response.created", "event_id": id, "response": {"id": "resp_mock", "status": "in_progress"}})).await?;
                        send(&mut io, json!({"type": "response.output_text.delta", "event_id": next_id(), "response_id": "resp_mock", "delta": super::REPLY})).await?;
                        send(
                            &mut io,
                            json!({"type": "response.done", "event_id": next_id(), "response": {
                                "id": "resp_mock", "status": "completed",
                                "max_output_tokens": asked.get("max_output_tokens").cloned().unwrap_or_else(|| settings.get("max_output_tokens").cloned().unwrap_or_default()),
                                "tools": asked.get("tools").cloned().unwrap_or_else(|| settings.get("tools").cloned().unwrap_or_default()),
                            }}),
                        )
                        .await?;
                    }
                    _ => {}
                }
            }
        }
    }
}
