//! A running `cordon serve` for tests: a free port, a child killed when the
//! test ends, plain HTTP/1.1 requests and a wait for health.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::{command_in, root, s};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process when the test ends, however it ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A parsed HTTP/1.1 response.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub complete: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
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

pub fn request(port: u16, method: &str, path: &str, key: &str, body: &str) -> Option<Response> {
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

pub fn wait_healthy(port: u16, server: &mut Child, log: &Path) {
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

/// A `cordon serve` on a free port in front of `cordon mock-upstream`, both
/// killed when dropped.
pub struct Gateway {
    /// The gateway's port.
    pub port: u16,
    /// The gateway process.
    pub server: Child,
    /// Its standard error.
    pub log: PathBuf,
    _upstream: Killed,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Writes a `cordon serve` configuration to `work/cordon.toml`: listening on
/// `port`, with `directives` and `store`, proxying to a mock upstream on
/// `upstream_port`, and `extra` appended.
pub fn write_config(
    work: &Path,
    directives: &Path,
    store: &Path,
    port: u16,
    upstream_port: u16,
    extra: &str,
) -> PathBuf {
    let repo = root();
    let config = work.join("cordon.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:{port}"
directives = "{directives}"
catalog = "{repo}/catalog.toml"
store = "{store}"
trusted_proxies = []

[operator]
name = "Cordon test"
url = "https://example.com/legal"

[geo]
databases = ["{repo}/data/geoip/geo-whois-asn-country.mmdb"]
internal_country = "US"
accept_missing_regions = ["UA"]

[[upstream]]
name = "mock"
url = "http://127.0.0.1:{upstream_port}"
families = ["fable", "mythos", "lyric", "echo"]
api = "both"

{extra}
"#,
            directives = directives.display(),
            repo = repo.display(),
            store = store.display(),
        ),
    )
    .unwrap();
    config
}

/// Runs `cordon serve` in `work` on the shipped directives with its data
/// directory in `data`, expecting it to refuse to start: returns its exit
/// code and standard error. Fails the test as soon as it answers `/healthz`.
pub fn serve_refused(work: &Path, data: &Path, extra: &str) -> (Option<i32>, String) {
    let port = free_port();
    let config = write_config(
        work,
        &root().join("directives"),
        &work.join("identity.db"),
        port,
        free_port(),
        extra,
    );
    let log = work.join("serve.log");
    let mut server = Killed(
        command_in(work)
            .args(["serve", "--config", s(&config), "--data-dir", s(data)])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            return (status.code(), std::fs::read_to_string(&log).unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "cordon serve neither started nor exited within 30 s:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        if request(port, "GET", "/healthz", "", "").is_some_and(|r| r.status == 200) {
            panic!(
                "cordon serve started where it must refuse to:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Gateway {
    /// Starts the gateway in `work` on `directives` and `store`, with its data
    /// directory in `data` and `extra` appended to the configuration, and
    /// waits until it is healthy.
    pub fn start(
        work: &Path,
        directives: &Path,
        store: &Path,
        data: &Path,
        extra: &str,
    ) -> Gateway {
        let upstream_port = free_port();
        let port = free_port();
        let config = write_config(work, directives, store, port, upstream_port, extra);
        let upstream = Killed(
            command_in(work)
                .args(["mock-upstream", "--listen"])
                .arg(format!("127.0.0.1:{upstream_port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let log = work.join("serve.log");
        let mut server = command_in(work)
            .args(["serve", "--config", s(&config), "--data-dir", s(data)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        wait_healthy(port, &mut server, &log);
        Gateway {
            port,
            server,
            log,
            _upstream: upstream,
        }
    }
}

/// Starts `cordon serve` in `work` with `config`, its data directory in
/// `data`, two workers (on one shared runtime when `shared`) and `extra`
/// arguments, and waits until it is healthy on `port`; returns it and its
/// log's path.
fn serve_workers(
    work: &Path,
    config: &Path,
    data: &Path,
    port: u16,
    shared: bool,
    extra: &[&str],
) -> (Killed, PathBuf) {
    let log = work.join("serve.log");
    let mut command = command_in(work);
    command
        .arg("serve")
        .args(extra)
        .args(["--config", s(config), "--data-dir"]);
    command.arg(data).args(["--workers", "2"]);
    if shared {
        command.arg("--shared-runtime");
    }
    let mut server = Killed(
        command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_healthy(port, &mut server.0, &log);
    (server, log)
}

#[test]
fn without_a_store_in_the_configuration_the_data_directory_holds_it_and_placeholders_are_warned_of()
{
    let work = crate::temp_dir("serve-data-dir");
    let data = work.join("elsewhere");
    let port = free_port();
    let config = write_config(
        &work,
        &root().join("directives"),
        &work.join("unused.db"),
        port,
        free_port(),
        "",
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let text: String = std::iter::once("decision_token = \"change-me\"")
        .chain(text.lines().filter(|l| !l.starts_with("store = ")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&config, text).unwrap();
    let log = work.join("serve.log");
    let mut server = Killed(
        command_in(&work)
            .args(["serve", "--config", s(&config), "--data-dir", s(&data)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_healthy(port, &mut server.0, &log);
    assert!(
        data.join("identity.db").is_file(),
        "the store moved with --data-dir"
    );
    assert!(data.join("audit").is_dir());
    assert!(!work.join("unused.db").exists());
    let warned = std::fs::read_to_string(&log).unwrap();
    assert!(
        warned.contains("`decision_token` is still the example's placeholder"),
        "{warned}"
    );
}

#[test]
fn an_envoy_grpc_port_in_use_stops_start_up() {
    let work = crate::temp_dir("serve-envoy-taken");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let (code, err) = serve_refused(
        &work,
        &work.join("data"),
        &format!("[envoy]\ngrpc_listen = \"127.0.0.1:{port}\"\n"),
    );
    assert_ne!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "cannot listen on 127.0.0.1:{port} (`envoy.grpc_listen`)"
        )),
        "{err}"
    );
}

#[test]
fn the_envoy_grpc_listener_serves_beside_http_and_stops_with_it() {
    for shared in [false, true] {
        let work = crate::temp_dir(if shared {
            "serve-envoy-shared"
        } else {
            "serve-envoy-per-core"
        });
        let (port, grpc) = (free_port(), free_port());
        let config = write_config(
            &work,
            &root().join("directives"),
            &work.join("identity.db"),
            port,
            free_port(),
            &format!("[envoy]\ngrpc_listen = \"127.0.0.1:{grpc}\"\n"),
        );
        let (mut server, log) =
            serve_workers(&work, &config, &work.join("data"), port, shared, &[]);
        let text = || std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            TcpStream::connect(("127.0.0.1", grpc)).is_ok(),
            "shared runtime {shared}: nothing listens on the gRPC port:\n{}",
            text()
        );
        assert!(
            text().contains("Envoy gRPC external authorisation listening"),
            "{}",
            text()
        );
        let term = std::process::Command::new("kill")
            .args(["-TERM", &server.0.id().to_string()])
            .status()
            .unwrap();
        assert!(term.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = server.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "shared runtime {shared}: cordon serve did not stop on SIGTERM:\n{}",
                text()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{status}:\n{}", text());
        assert!(
            TcpStream::connect(("127.0.0.1", grpc)).is_err(),
            "the gRPC listener outlived the gateway"
        );
    }
}

#[test]
fn the_console_is_served_on_a_path_of_the_gateway_beside_its_routes() {
    for shared in [false, true] {
        let work = crate::temp_dir(if shared {
            "serve-console-shared"
        } else {
            "serve-console-per-core"
        });
        let data = work.join("data");
        let mut add = command_in(&work)
            .args(["console", "admin", "add", "ann", "--role", "officer"])
            .arg("--data-dir")
            .arg(&data)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        add.stdin
            .take()
            .unwrap()
            .write_all(b"a long enough passphrase\n")
            .unwrap();
        assert!(add.wait().unwrap().success());
        let port = free_port();
        let config = write_config(
            &work,
            &root().join("directives"),
            &work.join("identity.db"),
            port,
            free_port(),
            "",
        );
        let _server = serve_workers(&work, &config, &data, port, shared, &["--console"]);
        let login = request(port, "GET", "/console/login", "", "").unwrap();
        assert_eq!(login.status, 200, "shared runtime {shared}");
        assert!(
            login
                .header("content-security-policy")
                .is_some_and(|p| p.starts_with("default-src 'none'")),
            "the console's own policy comes with its pages"
        );
        // The gateway's routes and its fallback are still its own.
        let models = request(port, "GET", "/v1/models", "", "").unwrap();
        assert_eq!(models.status, 401, "the gateway still asks for a key");
        assert!(models.header("content-security-policy").is_none());
        let missing = request(port, "GET", "/console-not-a-page", "", "").unwrap();
        assert_eq!(missing.status, 404);
        assert!(
            missing
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "an unknown path gets the gateway's JSON 404"
        );
    }
}

#[test]
fn serve_with_the_console_and_no_console_user_refuses_to_start() {
    let work = crate::temp_dir("serve-console-no-user");
    let data = work.join("data");
    let port = free_port();
    let config = write_config(
        &work,
        &root().join("directives"),
        &work.join("identity.db"),
        port,
        free_port(),
        "",
    );
    let out = command_in(&work)
        .args(["serve", "--console", "--config", s(&config), "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no console users in") && err.contains("cordon console admin add"),
        "{err}"
    );
}
