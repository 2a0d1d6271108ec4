//! A writer killed with SIGKILL under load loses no acknowledged entry.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use cordon_audit_log::{LogReader, verify};

use crate::support::{TempDir, TestVerifier, open};

fn leaf(p: u64, seq: u64) -> Vec<u8> {
    format!(
        r#"{{"v":1,"kind":"decision","producer":{p},"seq":{seq},"pad":"{}"}}"#,
        "p".repeat((seq % 300) as usize)
    )
    .into_bytes()
}

fn run_and_kill(tmp: &TempDir, after: Duration) -> Vec<(u64, u64, u64)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_audit-log-crash-child"))
        .arg(tmp.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    std::thread::sleep(after);
    child.kill().unwrap();
    child.wait().unwrap();
    lines
        .join()
        .unwrap()
        .iter()
        // The last line may be cut by the kill.
        .filter_map(|l| {
            let v: Vec<u64> = l
                .split(' ')
                .map(|x| x.parse().ok())
                .collect::<Option<_>>()?;
            (v.len() == 3).then(|| (v[0], v[1], v[2]))
        })
        .collect()
}

#[test]
fn every_acknowledged_entry_survives_a_kill() {
    let tmp = TempDir::new("crash");
    let mut acked = Vec::new();
    for round in 0..3 {
        let got = run_and_kill(&tmp, Duration::from_millis(500));
        assert!(
            got.len() > 100,
            "round {round}: only {} acknowledged",
            got.len()
        );
        acked.extend(got);
        let reader = LogReader::open(tmp.path()).unwrap();
        for &(index, p, seq) in &acked {
            assert!(index < reader.size(), "round {round}: entry {index} lost");
            assert_eq!(reader.entry(index).unwrap(), leaf(p, seq), "entry {index}");
        }
        verify(&reader, &TestVerifier).unwrap();
        let (log, report) = open(tmp.path());
        assert!(report.size >= reader.size());
        drop(log);
        let reader = LogReader::open(tmp.path()).unwrap();
        let report = verify(&reader, &TestVerifier).unwrap();
        assert_eq!(report.ignored_tail_bytes, 0);
    }
}
