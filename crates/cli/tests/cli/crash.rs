//! A gateway killed with SIGKILL under load keeps every decision it answered:
//! the log verifies afterwards, and every decision id a client fully
//! received is in it.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{command_in, cordon, ok, root, s, temp_dir};

const CLIENTS: usize = 6;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A parsed HTTP/1.1 response.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    complete: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses what was read; `complete` only when the whole body arrived.
fn parse(bytes: &[u8]) -> Option<Response> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let body = &bytes[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut r = Response {
        status,
        headers,
        complete: false,
    };
    r.complete = if let Some(len) = r.header("content-length") {
        len.parse::<usize>().ok() == Some(body.len())
    } else if r
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        body.ends_with(b"0\r\n\r\n")
    } else {
        false
    };
    Some(r)
}

fn request(port: u16, method: &str, path: &str, key: &str, body: &str) -> Option<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut bytes = Vec::new();
    // A connection cut by the kill still yields what arrived before it.
    let _ = s.read_to_end(&mut bytes);
    parse(&bytes)
}

fn wait_healthy(port: u16, server: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(status) = server.try_wait().unwrap() {
            panic!(
                "cordon serve exited with {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if request(port, "GET", "/healthz", "", "").is_some_and(|r| r.status == 200) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "cordon serve did not become healthy:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

#[test]
fn every_answered_decision_survives_sigkill() {
    let started = Instant::now();
    let work = temp_dir("crash");
    let store = work.join("identity.db");
    let data = work.join("data");

    ok(&cordon(&[
        "accounts",
        "--store",
        s(&store),
        "add",
        "acct-us",
        "--subject",
        r#"{"verification": "document_verified", "citizenships": ["US"], "residence_country": "US"}"#,
    ]));
    let key = ok(&cordon(&[
        "accounts",
        "--store",
        s(&store),
        "keys",
        "create",
        "acct-us",
    ]))
    .trim()
    .to_owned();
    assert!(
        !key.is_empty() && !key.contains(char::is_whitespace),
        "{key}"
    );

    let upstream_port = free_port();
    let port = free_port();
    let repo = root();
    let config = work.join("cordon.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:{port}"
directives = "{repo}/directives"
catalog = "{repo}/catalog.toml"
store = "{store}"
trusted_proxies = []

[operator]
name = "Cordon crash test"
url = "https://example.com/legal"

[geo]
databases = ["{repo}/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"

[audit]
checkpoint_interval_secs = 1

[[upstream]]
name = "mock"
url = "http://127.0.0.1:{upstream_port}"
families = ["fable", "mythos", "lyric", "echo"]
api = "both"
"#,
            repo = repo.display(),
            store = store.display(),
        ),
    )
    .unwrap();

    let _upstream = Killed(
        command_in(&work)
            .args(["mock-upstream", "--listen"])
            .arg(format!("127.0.0.1:{upstream_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let server_log = work.join("serve.log");
    let mut server = command_in(&work)
        .args(["serve", "--config", s(&config), "--data-dir", s(&data)])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&server_log).unwrap())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut server, &server_log);

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (stop, answered, key) = (stop.clone(), answered.clone(), key.clone());
            std::thread::spawn(move || {
                // Allowed and refused decisions alike must be recorded.
                let model = if n % 3 == 2 { "no-such-model" } else { "fable-5" };
                let body = format!(
                    r#"{{"model": "{model}", "messages": [{{"role": "user", "content": "hello {n}"}}]}}"#
                );
                while !stop.load(Ordering::SeqCst) {
                    let Some(r) = request(port, "POST", "/v1/chat/completions", &key, &body)
                    else {
                        continue;
                    };
                    if r.complete
                        && let Some(id) = r.header("x-cordon-decision-id")
                    {
                        answered.lock().unwrap().insert(id.to_owned());
                    }
                }
            })
        })
        .collect();

    // Kill mid-load, after a checkpoint or two (one a second).
    let deadline = Instant::now() + Duration::from_secs(6);
    while answered.lock().unwrap().len() < 3000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let killed_at = answered.lock().unwrap().len();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        killed_at >= 20,
        "only {killed_at} responses before the kill:\n{}",
        std::fs::read_to_string(&server_log).unwrap_or_default()
    );

    let o = cordon(&["audit", "verify", "--data-dir", s(&data)]);
    let summary = ok(&o);
    assert!(summary.contains("verified the audit log"), "{summary}");
    assert!(!summary.contains("checkpoints  0 "), "{summary}");

    let found = ok(&cordon(&[
        "audit",
        "search",
        "--data-dir",
        s(&data),
        "--kind",
        "decision",
    ]));
    let logged: BTreeSet<String> = found
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let missing: Vec<&String> = answered.difference(&logged).collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered decisions are not in the log of {} decisions, e.g. {:?}",
        missing.len(),
        answered.len(),
        logged.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    // Both allowed and refused decisions were answered and logged.
    assert!(
        found.contains("\"effect\":\"allow\"") && found.contains("\"effect\":\"deny\""),
        "{}",
        found.lines().take(3).collect::<Vec<_>>().join("\n")
    );
    eprintln!(
        "{} decisions answered, {} in the log, {:.1} s\n{summary}",
        answered.len(),
        logged.len(),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work);
}
