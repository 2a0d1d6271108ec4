//! A directive's lifecycle in the running gateway: shadow mode observed but
//! never enforced, mode changes picked up by the file watcher and recorded,
//! and effective times honoured at the request's own time.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cordon_audit::leaf::{self, AdminRecord, DecisionRecord, Record, ShadowRefusal};
use cordon_audit_log::LogReader;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::audit::Trail;
use super::{Directives, Harness, Reply, Setup, hello, movable_clock, root, start};

const FRONTIER: &str = "foreign-national-frontier-2026";
const FRONTIER_FILE: &str = "foreign-national-frontier.toml";

/// A copy of the shipped directives in a directory of its own, with the
/// frontier directive's mode set to `mode`.
fn directives_with_frontier(name: &str, mode: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cordon-gw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(root().join("directives")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    set_frontier_mode(&dir, mode);
    dir
}

fn set_frontier_mode(dir: &std::path::Path, mode: &str) {
    let path = dir.join(FRONTIER_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("mode = "))
        .unwrap()
        .to_owned();
    std::fs::write(&path, text.replace(&line, &format!("mode = \"{mode}\""))).unwrap();
}

fn audited(dir: PathBuf) -> Setup {
    Setup {
        token_delay: Duration::from_millis(1),
        accounts: Some(&["us-citizen", "foreign-national"]),
        directives: Directives::Dir(dir),
        audit: Some(Trail::default()),
        ..Setup::default()
    }
}

impl Harness {
    pub(super) fn leaves(&self) -> Vec<Record> {
        let reader = LogReader::open(self.dir.join("audit")).unwrap();
        (0..reader.size())
            .map(|i| leaf::decode(&reader.entry(i).unwrap()).unwrap())
            .collect()
    }

    pub(super) fn decision_at(&self, reply: &Reply) -> DecisionRecord {
        let index: usize = reply.header("x-cordon-audit-index").parse().unwrap();
        match self.leaves().swap_remove(index) {
            Record::Decision(d) => d,
            Record::Admin(a) => panic!("entry {index} is an admin leaf: {a:?}"),
        }
    }

    fn activations(&self) -> Vec<AdminRecord> {
        self.leaves()
            .into_iter()
            .filter_map(|r| match r {
                Record::Admin(a) if a.action == "directives.activated" => Some(a),
                _ => None,
            })
            .collect()
    }

    async fn shadow_count(&self, effect: &str) -> Option<u64> {
        let metrics = self.get("/metrics", None).await.text();
        let series = format!(
            "cordon_shadow_would_refuse_total{{directive=\"{FRONTIER}\",effect=\"{effect}\"}} "
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .map(|n| n.parse().unwrap())
    }

    /// Waits for the file watcher to install a policy other than `version`.
    async fn await_reload(&self, version: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.gw.compiled().policy.version() == version {
            assert!(Instant::now() < deadline, "the change was not picked up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_shadow_refusal_is_forwarded_logged_and_counted() {
    let dir = directives_with_frontier("shadow-refusal", "shadow");
    let h = start(audited(dir.clone())).await;
    assert_eq!(h.shadow_count("deny").await, Some(0));

    let body = json!({"model": "fable-5", "tools": [{"type": "function", "function": {"name": "f"}}], "messages": [{"role": "user", "content": "Hi"}]});
    let r = h.chat("foreign-national", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "allow");
    assert_eq!(h.upstream_requests(), 1, "the request reached the upstream");
    let d = h.decision_at(&r);
    assert_eq!(
        (d.effect.as_str(), d.decided_by.as_deref()),
        ("allow", None)
    );
    assert_eq!(
        d.shadow,
        vec![ShadowRefusal {
            directive: FRONTIER.into(),
            effect: "deny".into(),
        }]
    );
    assert_eq!(d.features, vec!["tools".to_owned()]);
    assert_eq!(h.shadow_count("deny").await, Some(1));
    assert_eq!(h.shadow_count("verification_required").await, Some(0));

    // A request the directive would allow is neither marked nor counted.
    let r = h.chat("us-citizen", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let d = h.decision_at(&r);
    assert!(d.consulted.contains(&FRONTIER.to_owned()));
    assert!(d.shadow.is_empty(), "{:?}", d.shadow);
    assert!(d.features.is_empty());
    assert_eq!(h.shadow_count("deny").await, Some(1));

    // The decision API counts as a decision too.
    let r = h
        .decide(json!({"api_key": h.key("foreign-national"), "model": "fable-5", "country": "DE"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["effect"], "allow");
    assert_eq!(h.shadow_count("deny").await, Some(2));
    h.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_shadow_directive_is_tried_before_it_takes_effect_and_its_limits_are_counted() {
    // Both frontier directives in shadow, a day before they take effect.
    let dir = directives_with_frontier("shadow-upcoming", "shadow");
    let partial = dir.join("foreign-national-frontier-partial.toml");
    let text = std::fs::read_to_string(&partial).unwrap();
    std::fs::write(
        &partial,
        text.replace("mode = \"draft\"", "mode = \"shadow\""),
    )
    .unwrap();
    let before: Timestamp = "2026-11-19T00:00:00Z".parse().unwrap();
    let (clock, _) = movable_clock(before);
    let h = start(Setup {
        clock: Some(clock),
        ..audited(dir.clone())
    })
    .await;
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-cordon-effect"), "allow");
    let d = h.decision_at(&r);
    assert_eq!(
        d.shadow,
        vec![ShadowRefusal {
            directive: FRONTIER.into(),
            effect: "deny".into(),
        }]
    );
    assert_eq!(h.shadow_count("deny").await, Some(1));
    let metrics = h.get("/metrics", None).await.text();
    assert!(
        metrics.contains(
            "cordon_shadow_would_limit_total{directive=\"foreign-national-frontier-2026-partial\"} 1"
        ),
        "{metrics}"
    );
    h.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_reload_that_enforces_a_shadow_directive_records_the_mode_change() {
    let dir = directives_with_frontier("mode-change", "shadow");
    let h = start(audited(dir.clone())).await;
    assert_eq!(
        h.chat("foreign-national", hello("fable-5")).await.status,
        200
    );
    let before = h.gw.compiled().policy.version().to_owned();

    set_frontier_mode(&dir, "enforced");
    h.await_reload(&before).await;

    let activated = h.activations();
    assert_eq!(activated.len(), 1, "{activated:?}");
    let a = &activated[0];
    assert_eq!(a.details["trigger"], "reload");
    assert_eq!(a.details["previous_version"], before);
    let changes: Value = serde_json::from_str(&a.details["mode_changes"]).unwrap();
    assert_eq!(
        changes,
        json!([{"directive": FRONTIER, "from": "shadow", "to": "enforced"}])
    );
    assert_eq!(a.details["added"], "[]");
    assert_eq!(a.details["removed"], "[]");
    let modes: Value = serde_json::from_str(&a.details["modes"]).unwrap();
    assert_eq!(modes[FRONTIER], "enforced");
    assert_eq!(modes["foreign-national-frontier-2026-partial"], "draft");
    assert_eq!(
        modes.as_object().unwrap().len(),
        std::fs::read_dir(&dir).unwrap().count()
    );

    // Enforced from now on; the shadow counter keeps its count.
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 451, "{}", r.text());
    assert_eq!(h.decision_at(&r).decided_by.as_deref(), Some(FRONTIER));
    assert_eq!(h.shadow_count("deny").await, Some(1));

    // Removing a directive and adding one are named too.
    let version = h.gw.compiled().policy.version().to_owned();
    std::fs::rename(
        dir.join("restricted-parties.toml"),
        dir.join("restricted-parties.toml.off"),
    )
    .unwrap();
    let partial = dir.join("foreign-national-frontier-partial.toml");
    let text = std::fs::read_to_string(&partial).unwrap();
    std::fs::write(
        dir.join("extra.toml"),
        text.replace(
            "id = \"foreign-national-frontier-2026-partial\"",
            "id = \"extra-draft\"",
        ),
    )
    .unwrap();
    h.await_reload(&version).await;
    // The watcher may have seen the two changes one at a time, and a
    // reload's activation reaches the log just after its policy is
    // installed: wait until the log holds both.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let activated = h.activations();
        let added: Vec<String> = activated[1..]
            .iter()
            .flat_map(|a| serde_json::from_str::<Vec<String>>(&a.details["added"]).unwrap())
            .collect();
        let removed: Vec<String> = activated[1..]
            .iter()
            .flat_map(|a| serde_json::from_str::<Vec<String>>(&a.details["removed"]).unwrap())
            .collect();
        if added.contains(&"extra-draft".to_owned()) && !removed.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "both changes were not activated: {activated:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let activated = h.activations();
    let all = |key: &str| -> Vec<String> {
        activated[1..]
            .iter()
            .flat_map(|a| serde_json::from_str::<Vec<String>>(&a.details[key]).unwrap())
            .collect()
    };
    assert_eq!(all("added"), vec!["extra-draft".to_owned()]);
    assert_eq!(all("removed"), vec!["restricted-parties".to_owned()]);
    h.finish();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_directive_is_enforced_from_its_effective_time_without_a_reload() {
    // The frontier directive takes effect at 2026-11-20T00:00:00Z.
    let effective: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
    let (clock, now) = movable_clock(Timestamp::from_second(effective.as_second() - 1).unwrap());
    let h = start(Setup {
        accounts: Some(&["foreign-national"]),
        directives: Directives::Only(&[FRONTIER_FILE]),
        clock: Some(clock),
        ..Setup::default()
    })
    .await;
    let version = h.gw.compiled().policy.version().to_owned();
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 200, "one second before: {}", r.text());

    now.store(effective.as_second(), Ordering::SeqCst);
    let r = h.chat("foreign-national", hello("fable-5")).await;
    assert_eq!(r.status, 451, "at the effective time: {}", r.text());
    assert_eq!(r.header("x-cordon-directive"), FRONTIER);
    assert_eq!(h.gw.compiled().policy.version(), version);
    let metrics = h.get("/metrics", None).await.text();
    assert!(
        metrics.contains("cordon_reloads_total{result=\"ok\"} 0"),
        "{metrics}"
    );
    assert_eq!(h.upstream_requests(), 1);
    h.finish();
}
