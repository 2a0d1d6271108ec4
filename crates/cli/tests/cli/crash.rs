//! A gateway killed with SIGKILL under load keeps every decision it answered:
//! the log verifies afterwards, and every decision whose response began to
//! reach a client (a head with its decision id, whole or cut off, streamed
//! or not) is in it. The gateway forwards an allowed request while its
//! record syncs, so this is what shows that no output precedes the sync.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::server::{Gateway, request};
use super::{cordon, ok, root, s, temp_dir};

const CLIENTS: usize = 6;

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
        r#"{"verification": "document_verified", "citizenships": ["US"], "residence_country": "US", "screening": []}"#,
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

    let gateway = Gateway::start(
        &work,
        &root().join("directives"),
        &store,
        &data,
        "[audit]\ncheckpoint_interval_secs = 1\nbatch_window_ms = 20",
    );
    let port = gateway.port;
    let server_log = gateway.log.clone();
    let mut server = gateway;

    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (stop, answered, key) = (stop.clone(), answered.clone(), key.clone());
            std::thread::spawn(move || {
                // Allowed and refused decisions alike must be recorded,
                // streams too.
                let model = if n % 3 == 2 { "no-such-model" } else { "fable-5" };
                let stream = n % 3 == 1;
                let body = format!(
                    r#"{{"model": "{model}", "stream": {stream}, "messages": [{{"role": "user", "content": "hello {n}"}}]}}"#
                );
                while !stop.load(Ordering::SeqCst) {
                    let Some(r) = request(port, "POST", "/v1/chat/completions", &key, &body)
                    else {
                        continue;
                    };
                    // Any response that began to arrive counts, complete
                    // or cut off by the kill.
                    if let Some(id) = r.header("x-cordon-decision-id") {
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
    server.server.kill().unwrap();
    server.server.wait().unwrap();
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
