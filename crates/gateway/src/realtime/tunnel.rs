//! The open session: the client's frames read whole and judged message by
//! message, the upstream's frames passed through as they arrive with only
//! their boundaries tracked, so that an error event of the gateway's own
//! goes to the client between two of the upstream's frames.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use super::frame::{self, Opcode, Sender};

/// What becomes of one client message.
pub(crate) enum Verdict {
    /// Send this text on to the upstream.
    Forward(Vec<u8>),
    /// Drop the message and send the client this `error` event instead.
    Refuse(Vec<u8>),
}

/// Judges each client text message; implemented by the session.
pub(crate) trait Judge: Send + Sync + 'static {
    /// What becomes of `text`.
    fn judge(&self, text: &[u8]) -> impl std::future::Future<Output = Verdict> + Send;

    /// Whether the session may go on; the `error` event that ends it when
    /// not. Called every [`RECHECK`].
    fn recheck(&self) -> impl std::future::Future<Output = Option<Vec<u8>>> + Send;
}

/// How often an open session asks [`Judge::recheck`].
pub(crate) const RECHECK: Duration = Duration::from_secs(5);

/// How long the other direction may go on once one has ended.
const LINGER: Duration = Duration::from_secs(5);

/// How a direction ended, for the log.
pub(crate) enum End {
    /// The sender closed its side.
    Closed,
    /// The connection failed.
    Io(std::io::Error),
    /// The sender broke the protocol, or sent a message over the limit.
    Protocol(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Closed => f.write_str("closed"),
            End::Io(e) => write!(f, "connection failed: {e}"),
            End::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

/// Runs the session until both sides have closed (or one has, and the
/// other did not follow within [`LINGER`]). `first` goes upstream before any
/// client message: the gateway's own settings for the session.
pub(crate) async fn run<J: Judge>(
    client: Upgraded,
    upstream: Upgraded,
    judge: J,
    first: Option<Vec<u8>>,
    max_message: usize,
) -> (End, End) {
    let (client_rx, client_tx) = tokio::io::split(TokioIo::new(client));
    let (up_rx, mut up_tx) = tokio::io::split(TokioIo::new(upstream));
    let (inject, injected) = mpsc::channel::<Vec<u8>>(16);
    if let Some(first) = first {
        let mask = fresh_mask();
        if let Err(e) = up_tx
            .write_all(&frame::encode(Opcode::Text, &first, Some(mask)))
            .await
        {
            return (End::Io(e), End::Closed);
        }
    }
    let judge = std::sync::Arc::new(judge);
    let watch = watch(std::sync::Arc::clone(&judge), inject.clone());
    let up = client_to_upstream(client_rx, up_tx, judge, inject, max_message);
    let down = upstream_to_client(up_rx, client_tx, injected);
    tokio::pin!(up, down, watch);
    tokio::select! {
        a = &mut up => {
            let b = tokio::time::timeout(LINGER, down).await.unwrap_or(End::Closed);
            (a, b)
        }
        b = &mut down => {
            let a = tokio::time::timeout(LINGER, up).await.unwrap_or(End::Closed);
            (a, b)
        }
        reason = &mut watch => {
            // The client has its error event and a close frame; the
            // upstream is dropped with the session.
            let b = tokio::time::timeout(LINGER, down).await.unwrap_or(End::Closed);
            (End::Protocol(reason), b)
        }
    }
}

/// Asks the judge every [`RECHECK`] whether the session may go on; when it
/// may not, sends the client the judge's error event and a close (1008,
/// policy violation) and returns why.
async fn watch<J: Judge>(judge: std::sync::Arc<J>, inject: mpsc::Sender<Vec<u8>>) -> String {
    let mut tick = tokio::time::interval(RECHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Some(event) = judge.recheck().await {
            let _ = inject.send(frame::encode(Opcode::Text, &event, None)).await;
            let _ = inject
                .send(frame::close(1008, "the session is no longer allowed", None))
                .await;
            return "the session is no longer allowed".into();
        }
    }
}

/// A masking key for a frame the gateway writes as the client.
fn fresh_mask() -> [u8; 4] {
    let mut m = [0u8; 4];
    if getrandom::fill(&mut m).is_err() {
        // A mask guards intermediaries against chosen plaintext from
        // browser scripts; the gateway writes no attacker-chosen bytes
        // under a mask of its own choosing, so a fixed one is safe.
        m = [0x5a, 0xc3, 0x96, 0x0f];
    }
    m
}

/// A message being reassembled from its fragments.
struct Partial {
    opcode: Opcode,
    text: Vec<u8>,
}

async fn client_to_upstream<R, W, J>(
    mut from: ReadHalf<R>,
    mut to: WriteHalf<W>,
    judge: std::sync::Arc<J>,
    inject: mpsc::Sender<Vec<u8>>,
    max_message: usize,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    J: Judge,
{
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut partial: Option<Partial> = None;
    let end = loop {
        // Every whole frame in the buffer, then read more.
        let header = match frame::read_header(&buf, Sender::Client) {
            Ok(h) => h,
            Err(e) => {
                break protocol_error(
                    &mut to,
                    &inject,
                    e.to_string(),
                    frame::FrameError::CLOSE_CODE,
                )
                .await;
            }
        };
        let whole = header.and_then(|h| {
            let len = usize::try_from(h.len).ok()?;
            (buf.len() >= h.header_len + len).then_some((h, len))
        });
        let Some((h, len)) = whole else {
            if let Some(h) = header
                && h.len > max_message as u64
            {
                break protocol_error(&mut to, &inject, "message too big".into(), 1009).await;
            }
            match from.read_buf(&mut buf).await {
                Ok(0) => break End::Closed,
                Ok(_) => continue,
                Err(e) => break End::Io(e),
            }
        };
        let raw = buf.split_to(h.header_len + len);
        if h.opcode.is_control() {
            // Pings, pongs and the close handshake pass as they are.
            if let Err(e) = to.write_all(&raw).await {
                break End::Io(e);
            }
            continue;
        }
        let mut payload = raw.get(h.header_len..).unwrap_or_default().to_vec();
        if let Some(mask) = h.mask {
            frame::apply_mask(mask, 0, &mut payload);
        }
        let message = match (partial.take(), h.opcode) {
            (None, Opcode::Text | Opcode::Binary) => Partial {
                opcode: h.opcode,
                text: payload,
            },
            (Some(mut p), Opcode::Continuation) => {
                p.text.extend_from_slice(&payload);
                p
            }
            _ => {
                break protocol_error(&mut to, &inject, "a fragment out of order".into(), 1002)
                    .await;
            }
        };
        if message.text.len() > max_message {
            break protocol_error(&mut to, &inject, "message too big".into(), 1009).await;
        }
        if !h.fin {
            partial = Some(message);
            continue;
        }
        if message.opcode == Opcode::Binary {
            // Realtime events are JSON text; a binary message would pass unread.
            break protocol_error(
                &mut to,
                &inject,
                "binary messages are not accepted".into(),
                1003,
            )
            .await;
        }
        match judge.judge(&message.text).await {
            Verdict::Forward(text) => {
                let mask = h.mask.unwrap_or_else(fresh_mask);
                if let Err(e) = to
                    .write_all(&frame::encode(Opcode::Text, &text, Some(mask)))
                    .await
                {
                    break End::Io(e);
                }
            }
            Verdict::Refuse(event) => {
                if inject
                    .send(frame::encode(Opcode::Text, &event, None))
                    .await
                    .is_err()
                {
                    break End::Closed;
                }
            }
        }
    };
    let _ = to.shutdown().await;
    end
}

/// Closes both sides after a client's protocol error: 1002 (or `code`) to
/// the client, a plain close upstream.
async fn protocol_error<W: AsyncWrite + Unpin>(
    upstream: &mut WriteHalf<W>,
    inject: &mpsc::Sender<Vec<u8>>,
    reason: String,
    code: u16,
) -> End {
    let _ = inject.send(frame::close(code, &reason, None)).await;
    let _ = upstream
        .write_all(&frame::close(1000, "", Some(fresh_mask())))
        .await;
    End::Protocol(reason)
}

async fn upstream_to_client<R, W>(
    mut from: ReadHalf<R>,
    mut to: WriteHalf<W>,
    mut injected: mpsc::Receiver<Vec<u8>>,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(16 * 1024);
    // Payload bytes of the current upstream frame still to pass on.
    let mut remaining: u64 = 0;
    let mut injecting = true;
    let end = loop {
        // Between frames, the gateway's own events go first.
        let at_boundary = remaining == 0 && buf.is_empty();
        tokio::select! {
            biased;
            event = injected.recv(), if at_boundary && injecting => {
                match event {
                    Some(bytes) => {
                        let closing = bytes.first().is_some_and(|b| b & 0x0F == 0x8);
                        if let Err(e) = to.write_all(&bytes).await {
                            break End::Io(e);
                        }
                        if closing {
                            break End::Closed;
                        }
                    }
                    None => injecting = false,
                }
            }
            read = from.read_buf(&mut buf) => {
                match read {
                    Ok(0) => break End::Closed,
                    Ok(_) => {}
                    Err(e) => break End::Io(e),
                }
                if let Err(end) = pass(&mut buf, &mut remaining, &mut to).await {
                    break end;
                }
            }
        }
    };
    let _ = to.shutdown().await;
    end
}

/// Writes on whatever of the buffer is payload of the current frame or a
/// whole header; keeps an incomplete header for the next read.
async fn pass<W: AsyncWrite + Unpin>(
    buf: &mut BytesMut,
    remaining: &mut u64,
    to: &mut WriteHalf<W>,
) -> Result<(), End> {
    loop {
        if *remaining > 0 {
            let n = usize::try_from(*remaining)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            if n == 0 {
                return Ok(());
            }
            to.write_all(buf.get(..n).unwrap_or_default())
                .await
                .map_err(End::Io)?;
            buf.advance(n);
            *remaining -= n as u64;
            continue;
        }
        match frame::read_header(buf, Sender::Server) {
            Ok(Some(h)) => {
                to.write_all(buf.get(..h.header_len).unwrap_or_default())
                    .await
                    .map_err(End::Io)?;
                buf.advance(h.header_len);
                *remaining = h.len;
                if h.len == 0 && buf.is_empty() {
                    return Ok(());
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => {
                let _ = to
                    .write_all(&frame::close(1002, "the upstream broke the protocol", None))
                    .await;
                return Err(End::Protocol(format!("upstream: {e}")));
            }
        }
    }
}
