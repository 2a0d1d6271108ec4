use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// How the test upstream answers.
#[derive(Clone, Copy)]
enum Reply {
    Sized,
    Chunked,
    /// A sized answer, then the upstream closes the connection.
    Close,
}

/// A minimal HTTP/1.1 upstream that counts the connections it accepts and
/// echoes each request's `Host` and path in the body.
async fn upstream(reply: Reply) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        let mut chunk = [0u8; 4096];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    while buf.len() < end + 4 + len {
                        let mut chunk = [0u8; 4096];
                        let n = sock.read(&mut chunk).await.unwrap();
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let host = head.lines().find_map(|l| l.strip_prefix("host: ")).unwrap();
                    let path = head.split(' ').nth(1).unwrap();
                    let text = format!("{host} {path}");
                    let out = match reply {
                        Reply::Sized => format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{text}",
                            text.len()
                        ),
                        Reply::Chunked => format!(
                            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{text}\r\n0\r\n\r\n",
                            text.len()
                        ),
                        Reply::Close => format!(
                            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{text}",
                            text.len()
                        ),
                    };
                    sock.write_all(out.as_bytes()).await.unwrap();
                    buf.drain(..end + 4 + len);
                    if matches!(reply, Reply::Close) {
                        return;
                    }
                }
            });
        }
    });
    (url, accepted)
}

async fn call(url: &str) -> Response<PooledBody> {
    let req = Request::builder()
        .method("POST")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    send(url, "/v1/messages", req).await.unwrap()
}

async fn text(resp: Response<PooledBody>) -> String {
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn reuses_one_connection_for_sized_and_chunked_bodies() {
    for reply in [Reply::Sized, Reply::Chunked] {
        let (url, accepted) = upstream(reply).await;
        let authority = url.trim_start_matches("http://").to_owned();
        for _ in 0..3 {
            let body = text(call(&url).await).await;
            assert_eq!(body, format!("{authority} /v1/messages"));
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn a_path_in_the_upstream_url_prefixes_the_route() {
    let (url, _) = upstream(Reply::Sized).await;
    let body = text(call(&format!("{url}/api/")).await).await;
    assert!(body.ends_with(" /api/v1/messages"), "{body}");
}

#[tokio::test]
async fn a_body_dropped_before_its_end_does_not_return_its_connection() {
    let (url, accepted) = upstream(Reply::Chunked).await;
    drop(call(&url).await);
    assert!(!text(call(&url).await).await.is_empty());
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_replaced() {
    let (url, accepted) = upstream(Reply::Close).await;
    for _ in 0..3 {
        assert!(!text(call(&url).await).await.is_empty());
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_url_without_a_host_is_refused() {
    let req = Request::new(Full::new(Bytes::new()));
    assert!(matches!(
        send("http://", "/v1/messages", req).await,
        Err(ClientError::BadUrl(_))
    ));
}

#[tokio::test]
async fn an_idle_connection_is_closed_when_its_time_is_up_without_another_request() {
    let (url, _) = upstream(Reply::Sized).await;
    assert!(!text(call(&url).await).await.is_empty());
    assert_eq!(idle_count(), 1);
    assert_eq!(sweep_at(Instant::now()), 0, "not idle long enough");
    assert_eq!(idle_count(), 1);
    assert_eq!(
        sweep_at(Instant::now() + IDLE_TIMEOUT + Duration::from_secs(1)),
        1
    );
    assert_eq!(idle_count(), 0);
}
