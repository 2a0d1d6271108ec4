//! `cordon mock-upstream`: the mock model server of the demo and the
//! benchmarks (`bench/gateway`), on a fixed address, until Ctrl-C.
//!
//! With `--stats-listen`, a second listener answers `GET /mock/stats` with the
//! mock's counters as JSON (`{"requests": N, "open_streams": N}`), so a
//! benchmark can see when every upstream stream has closed.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use cordon_gateway::mock::MockState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Arguments of `cordon mock-upstream`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (OpenAI `/v1/chat/completions` and Anthropic `/v1/messages`).
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// Pause between streamed tokens, in milliseconds.
    #[arg(long, default_value_t = 0)]
    token_delay_ms: u64,
    /// Pause before the first token (streams) or the whole answer (non-streaming), in milliseconds.
    #[arg(long, default_value_t = 0)]
    first_token_ms: u64,
    /// Also answer `GET /mock/stats` (JSON counters) on this address.
    #[arg(long)]
    stats_listen: Option<SocketAddr>,
    /// Worker threads of the async runtime (default: one per CPU).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(a: Args) -> Result<ExitCode> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = a.threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = builder.build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mock = cordon_gateway::mock::start(
            a.listen,
            Duration::from_millis(a.token_delay_ms),
            Duration::from_millis(a.first_token_ms),
        )
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
        println!(
            "mock model server on http://{} (first token {} ms, then {} ms per token)",
            mock.addr, a.first_token_ms, a.token_delay_ms
        );
        if let Some(addr) = a.stats_listen {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            println!("mock stats on http://{}/mock/stats", listener.local_addr()?);
            tokio::spawn(stats_server(listener, Arc::clone(&mock.state)));
        }
        crate::commands::serve::shutdown_signal().await;
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A minimal HTTP/1.1 responder: every request gets the counters, then the connection closes.
async fn stats_server(listener: TcpListener, state: Arc<MockState>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let head = buf.get(..n).unwrap_or_default();
            let (status, body) = if head.starts_with(b"GET /mock/stats ") {
                (
                    "200 OK",
                    format!(
                        "{{\"requests\": {}, \"open_streams\": {}}}\n",
                        state.requests.load(Ordering::SeqCst),
                        state.open_streams.load(Ordering::SeqCst)
                    ),
                )
            } else {
                ("404 Not Found", "{\"error\": \"not found\"}\n".to_owned())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}
