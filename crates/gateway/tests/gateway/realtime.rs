//! `/v1/realtime`: a WebSocket session decided before the upgrade, whose
//! client events are decided again when they declare tools, name a model
//! or raise the output cap.

use bytes::BytesMut;
use cordon_gateway::realtime::frame::{self, Opcode, Sender};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Directives, Harness, Setup, start};

/// A raw WebSocket client: the handshake's status and headers, then events.
struct Ws {
    io: TcpStream,
    buf: BytesMut,
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

async fn connect(h: &Harness, who: &str, query: &str) -> (u16, String, Option<Ws>) {
    let mut io = TcpStream::connect(h.addr).await.unwrap();
    let req = format!(
        "GET /v1/realtime?{query} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Extensions: permessage-deflate\r\nAuthorization: Bearer {}\r\n\r\n",
        h.key(who)
    );
    io.write_all(req.as_bytes()).await.unwrap();
    let mut buf = BytesMut::new();
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        assert!(io.read_buf(&mut buf).await.unwrap() > 0, "closed mid-head");
    };
    let head = String::from_utf8(buf.split_to(end).to_vec()).unwrap();
    let status: u16 = head[9..12].parse().unwrap();
    if status != 101 {
        // The rest is the body of an HTTP answer.
        return (status, head, None);
    }
    (status, head, Some(Ws { io, buf }))
}

impl Ws {
    /// Reads until the server closes: the last `error` event before the
    /// close, and the close code.
    async fn ended(&mut self) -> (Value, u16) {
        let mut why = Value::Null;
        loop {
            let (op, payload) =
                tokio::time::timeout(std::time::Duration::from_secs(15), self.next())
                    .await
                    .expect("the session ends within 15 s");
            match op {
                Opcode::Text => {
                    let e: Value = serde_json::from_slice(&payload).unwrap();
                    if e["type"] == "error" {
                        why = e;
                    }
                }
                Opcode::Close => return (why, u16::from_be_bytes([payload[0], payload[1]])),
                _ => {}
            }
        }
    }

    async fn send(&mut self, event: Value) {
        let bytes = frame::encode(
            Opcode::Text,
            event.to_string().as_bytes(),
            Some([1, 2, 3, 4]),
        );
        self.io.write_all(&bytes).await.unwrap();
    }

    /// The next message from the server: its opcode and payload.
    async fn next(&mut self) -> (Opcode, Vec<u8>) {
        loop {
            if let Some(h) = frame::read_header(&self.buf, Sender::Server).unwrap() {
                let len = h.len as usize;
                if self.buf.len() >= h.header_len + len {
                    let raw = self.buf.split_to(h.header_len + len);
                    return (h.opcode, raw[h.header_len..].to_vec());
                }
            }
            let n = tokio::time::timeout(
                std::time::Duration::from_secs(20),
                self.io.read_buf(&mut self.buf),
            )
            .await
            .expect("an event within 20 s")
            .unwrap();
            assert!(n > 0, "the gateway closed the connection");
        }
    }

    async fn event(&mut self) -> Value {
        let (op, payload) = self.next().await;
        assert_eq!(op, Opcode::Text);
        serde_json::from_slice(&payload).unwrap()
    }
}

#[tokio::test]
async fn a_refused_session_is_an_http_refusal_before_any_upgrade() {
    let h = start(Setup::default()).await;
    let (status, head, ws) = connect(&h, "foreign-national", "model=fable-5").await;
    assert_eq!(status, 451, "{head}");
    assert!(ws.is_none());
    assert!(head.to_ascii_lowercase().contains("x-cordon-decision-id"));
    assert_eq!(h.upstream_requests(), 0, "nothing reached the upstream");
    // No model, no session: the query must name one.
    let (status, _, _) = connect(&h, "us-citizen", "call_id=rtc_1").await;
    assert_eq!(status, 400);
    h.finish();
}

#[tokio::test]
async fn an_allowed_session_tunnels_events_and_keeps_its_model() {
    let h = start(Setup::default()).await;
    let (status, head, ws) = connect(&h, "us-citizen", "model=fable-5").await;
    assert_eq!(status, 101, "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    assert!(
        !lower.contains("sec-websocket-extensions"),
        "no compression, so events can be read"
    );
    assert!(lower.contains("x-cordon-decision-id"));
    let mut ws = ws.unwrap();
    let created = ws.event().await;
    assert_eq!(created["type"], "session.created");
    assert_eq!(created["session"]["model"], "fable-5");
    assert_eq!(
        created["session"]["upstream_key_seen"], true,
        "the upstream's key, not the caller's, went upstream"
    );
    // Another model within the session is refused, not forwarded.
    ws.send(json!({"type": "session.update", "event_id": "e1", "session": {"model": "lyric-4"}}))
        .await;
    let e = ws.event().await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["param"], "session.model");
    assert_eq!(e["error"]["event_id"], "e1");
    // A duplicate key is refused: the upstream must read what was decided.
    ws.io
        .write_all(&frame::encode(
            Opcode::Text,
            br#"{"type":"input_audio_buffer.clear","type":"session.update"}"#,
            Some([9, 9, 9, 9]),
        ))
        .await
        .unwrap();
    assert_eq!(ws.event().await["type"], "error");
    // Tools for a U.S. citizen are allowed and reach the upstream as sent.
    ws.send(json!({"type": "session.update", "session": {"tools": [{"type": "function", "name": "f"}]}}))
        .await;
    let updated = ws.event().await;
    assert_eq!(updated["type"], "session.updated", "{updated}");
    assert_eq!(updated["session"]["tools"][0]["name"], "f");
    assert_eq!(updated["session"]["model"], "fable-5");
    // Fragmented messages are reassembled; pings pass.
    let text = json!({"type": "response.create", "response": {}}).to_string();
    let (a, b) = text.as_bytes().split_at(10);
    let mut first = frame::encode(Opcode::Text, a, Some([1, 1, 1, 1]));
    first[0] &= 0x7F; // not FIN
    let mut rest = frame::encode(Opcode::Continuation, b, Some([2, 2, 2, 2]));
    rest[0] = 0x80; // FIN, continuation
    ws.io.write_all(&first).await.unwrap();
    ws.io
        .write_all(&frame::encode(Opcode::Ping, b"p", Some([3, 3, 3, 3])))
        .await
        .unwrap();
    ws.io.write_all(&rest).await.unwrap();
    let mut seen = Vec::new();
    while seen.last().map(|v: &Value| v["type"].clone()) != Some(json!("response.done")) {
        let (op, payload) = ws.next().await;
        if op == Opcode::Pong {
            assert_eq!(payload, b"p");
            continue;
        }
        seen.push(serde_json::from_slice(&payload).unwrap());
    }
    assert_eq!(seen[0]["type"], "response.created");
    h.finish();
}

#[tokio::test]
async fn obligations_reach_the_session_cap_and_strip_tools() {
    let dir = super::partial_directives("realtime");
    let h = start(Setup {
        directives: Directives::Dir(dir.clone()),
        ..Setup::default()
    })
    .await;
    let (status, head, ws) = connect(&h, "foreign-national", "model=fable-5").await;
    assert_eq!(status, 101, "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-cordon-effect: allow_with_obligations")
    );
    let mut ws = ws.unwrap();
    assert_eq!(ws.event().await["type"], "session.created");
    // The gateway's own session.update set the cap before any client event.
    let capped = ws.event().await;
    assert_eq!(capped["type"], "session.updated");
    assert_eq!(capped["session"]["max_output_tokens"], 4096);
    // Tools are decided, and removed as the decision says; a higher cap is lowered.
    ws.send(json!({"type": "session.update", "session": {
        "tools": [{"type": "function", "name": "f"}], "tool_choice": "auto", "max_output_tokens": "inf"}}))
        .await;
    let updated = ws.event().await;
    assert_eq!(updated["type"], "session.updated");
    assert_eq!(updated["session"]["tools"], json!([]), "{updated}");
    assert!(updated["session"].get("tool_choice").is_none());
    assert_eq!(updated["session"]["max_output_tokens"], 4096);
    ws.send(json!({"type": "response.create", "response": {"max_output_tokens": 100000}}))
        .await;
    let done = loop {
        let e = ws.event().await;
        if e["type"] == "response.done" {
            break e;
        }
    };
    assert_eq!(done["response"]["max_output_tokens"], 4096);
    std::fs::remove_dir_all(&dir).unwrap();
    h.finish();
}

#[tokio::test]
async fn a_client_that_breaks_the_protocol_is_closed() {
    let h = start(Setup::default()).await;
    let (_, _, ws) = connect(&h, "us-citizen", "model=fable-5").await;
    let mut ws = ws.unwrap();
    assert_eq!(ws.event().await["type"], "session.created");
    // An unmasked client frame is a protocol error: close 1002.
    ws.io
        .write_all(&frame::encode(Opcode::Text, b"{}", None))
        .await
        .unwrap();
    let (op, payload) = ws.next().await;
    assert_eq!(op, Opcode::Close);
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1002);
    h.finish();
}

#[tokio::test]
async fn an_open_session_ends_when_its_caller_may_no_longer_use_it() {
    let h = start(Setup::default()).await;
    let (_, _, a) = connect(&h, "us-citizen", "model=fable-5").await;
    let (_, _, b) = connect(&h, "unverified", "model=lyric-4").await;
    let (mut a, mut b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.event().await["type"], "session.created");
    assert_eq!(b.event().await["type"], "session.created");
    // The first caller turns out to be a German national; the second's key is revoked.
    h.store
        .set_attributes(
            "us-citizen",
            json!({"citizenships": ["DE"], "residence_country": "DE"}),
        )
        .unwrap();
    let prefix = &h.key("unverified")[..11];
    h.store.revoke_key(prefix).unwrap();
    // Each is told why, then closed as a policy violation (1008).
    let (why, code) = a.ended().await;
    assert_eq!(code, 1008);
    // A refusal under the foreign-national order (its citizenship is now
    // German, patched in without evidence of the new level).
    assert!(
        why["error"]["message"]
            .as_str()
            .unwrap()
            .contains("foreign-national-frontier-2026"),
        "{why}"
    );
    let (why, code) = b.ended().await;
    assert_eq!(code, 1008);
    assert_eq!(why["error"]["code"], "invalid_api_key", "{why}");
    h.finish();
}
