//! The overview: the directives in force and scheduled, what awaits a
//! reviewer, refusals and the verification funnel charted from the audit
//! log's recent entries, and the log's latest checkpoint, checked.

mod activity;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cordon_audit::VerifierKey;
use cordon_audit::leaf;
use cordon_audit_log::LogReader;
use cordon_policy::Mode;
use maud::{Markup, html};

use super::checkpoints::Standing;
use crate::Console;
use crate::chart::{self, Funnel, StackedBars};
use activity::{Activity, HOURS};

/// What the overview read from the audit log.
struct LogState {
    size: u64,
    checkpoint: Option<(String, Standing)>,
    activity: Arc<Activity>,
}

/// Reads the log's size, checks its latest checkpoint against `key`, and
/// tallies its last [`SEARCH_SPAN`](super::audit::SEARCH_SPAN) entries,
/// charting the [`HOURS`] that end with the hour of `now`.
fn read_log(
    dir: &Path,
    key: Option<&VerifierKey>,
    now: jiff::Timestamp,
) -> Result<LogState, String> {
    let reader = LogReader::open(dir).map_err(|e| e.to_string())?;
    let size = reader.size();
    let checkpoint = reader.latest_checkpoint().map(|text| {
        let standing = super::checkpoints::standing(&reader, &text, key);
        (text, standing)
    });
    let activity = tally(&reader, dir, size, first_hour(now))?;
    Ok(LogState {
        size,
        checkpoint,
        activity,
    })
}

/// What a tally was made of: the log is only appended to, so the same
/// size is the same entries, and a larger size those entries and more.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TallyOf {
    dir: PathBuf,
    size: u64,
    first_hour: i64,
}

/// The last tally made, reused while what it was made of stays the same
/// and carried forward over the entries appended since while the charts'
/// hours do not move: a fresh tally reads up to 200,000 entries, and the
/// overview is the page every user opens first.
static LAST_TALLY: Mutex<Option<(TallyOf, Arc<Activity>)>> = Mutex::new(None);

/// The tally of the log's last entries up to `size`, charting the hours
/// from `first_hour`: the last tally carried forward over the entries
/// appended since it, or, when the hours have moved on (or there is none),
/// a fresh one of the last [`SEARCH_SPAN`](super::audit::SEARCH_SPAN).
fn tally(
    reader: &LogReader,
    dir: &Path,
    size: u64,
    first_hour: i64,
) -> Result<Arc<Activity>, String> {
    let of = TallyOf {
        dir: dir.to_path_buf(),
        size,
        first_hour,
    };
    let last = LAST_TALLY.lock().ok().and_then(|l| l.clone());
    let (mut activity, from) = match last {
        Some((made_of, activity)) if made_of == of => return Ok(activity),
        Some((made_of, activity))
            if made_of.dir == of.dir && made_of.first_hour == first_hour && made_of.size < size =>
        {
            (Activity::clone(&activity), made_of.size)
        }
        _ => (
            Activity::default(),
            size.saturating_sub(super::audit::SEARCH_SPAN),
        ),
    };
    reader
        .scan(from..size, |_, bytes| {
            if let Ok(record) = leaf::decode(bytes) {
                activity.count(&record, first_hour);
            }
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    let activity = Arc::new(activity);
    if let Ok(mut last) = LAST_TALLY.lock() {
        *last = Some((of, Arc::clone(&activity)));
    }
    Ok(activity)
}

/// The start of the oldest hour charted, in seconds since the epoch: the
/// charts end with the hour `now` falls in.
fn first_hour(now: jiff::Timestamp) -> i64 {
    let hours = i64::try_from(HOURS).unwrap_or(i64::MAX);
    (now.as_second().div_euclid(3600) - hours + 1) * 3600
}

/// Each charted hour's label: its start, UTC, as `dd HH:00`.
fn hour_labels(first_hour: i64) -> Vec<String> {
    (0..HOURS)
        .map(|h| {
            let start = first_hour + i64::try_from(h).unwrap_or(0) * 3600;
            jiff::Timestamp::from_second(start)
                .map(|t| t.strftime("%d %H:00").to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// The charts and the checkpoint, or why the log could not be read.
fn log_section(log: &Result<LogState, String>, now: jiff::Timestamp) -> Markup {
    let log = match log {
        Ok(log) => log,
        Err(e) => {
            return html! { h2 { "Audit log" } p class="error" { "The audit log does not read: " (e) } };
        }
    };
    let labels = hour_labels(first_hour(now));
    let [refused, started, restored] = log.activity.funnel();
    let stages = [
        ("Refused for want of verification".to_owned(), refused),
        ("Verification started".to_owned(), started),
        ("Restored".to_owned(), restored),
    ];
    let by_directive = activity::series(&log.activity.by_directive);
    let by_model = activity::series(&log.activity.by_model);
    html! {
        h2 { "Refusals, last " (HOURS) " hours" }
        p { "Enforced decisions that did not allow the request (" code { "deny" } " or "
            code { "verification_required" } "), per hour (UTC, labelled day and hour), from the last "
            (log.activity.read) " audit log entries (the last " (super::audit::SEARCH_SPAN) " when the hours move on, and each entry appended since)." }
        @if by_directive.is_empty() { p { "No refusals in these hours." } }
        @else {
            (chart::stacked_bars(&StackedBars { id: "refusals-by-directive", title: "Refusals per hour by the directive that decided them", bucket: "Hour (UTC)", labels: &labels, tick: 6, series: &by_directive }))
            (chart::stacked_bars(&StackedBars { id: "refusals-by-model", title: "Refusals per hour by model", bucket: "Hour (UTC)", labels: &labels, tick: 6, series: &by_model }))
        }
        h2 { "Verification funnel" }
        (chart::funnel(&Funnel { id: "verification-funnel", title: "Accounts refused for want of verification, and how far they got", stages: &stages }))
        p { "Over the same entries: " strong { "refused" } " counts the accounts refused "
            code { "verification_required" } " (an end user's decision counts for the member); "
            strong { "started" } " those of them for which a verification event was later journaled (" code { "verification.*" }
            ", whatever its outcome) or an officer verified by hand (" code { "account.verified_by_hand" } "); "
            strong { "restored" } " those of them allowed again after that. An account whose refusal is older than the entries read is not counted." }
        h2 { "Audit log" }
        @match &log.checkpoint {
            None => p { "No checkpoint is signed yet." },
            Some((text, standing)) => {
                @match standing {
                    Standing::Verified { size } => p class="allow" { "The latest checkpoint verifies: signed with the log's public key, and its root is this log's own over its first " (size) " entries." },
                    Standing::Unchecked => p { "The latest checkpoint is not checked: this console has no public key for the log." },
                    Standing::Failed(why) => p class="error" { "The latest checkpoint does not hold: " (why) "." },
                }
                pre { (text) }
            }
        }
    }
}

/// `GET /console/overview`.
pub async fn page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let s = match super::logged_in(&c, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let now = (c.clock)();
    let records = Arc::clone(&c.records);
    let counts = tokio::task::spawn_blocking(move || {
        Ok::<_, cordon_store::StoreError>((records.count()?, records.pending_hits()?.len()))
    })
    .await;
    let (accounts, pending) = match counts {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return super::failed("the identity store", &e),
        Err(e) => return super::failed("the identity store", &e),
    };
    let (dir, key) = (c.audit_log.clone(), c.audit_key.clone());
    let log = tokio::task::spawn_blocking(move || dir.map(|d| read_log(&d, key.as_ref(), now)))
        .await
        .unwrap_or_else(|e| Some(Err(e.to_string())));
    let body = html! {
        ul class="figures" {
            li { strong { (c.policy().directives().iter().filter(|d| d.mode == Mode::Enforced).count()) } " directives enforced" }
            li { strong { (c.policy().directives().iter().filter(|d| d.mode == Mode::Shadow).count()) } " in shadow" }
            li { strong { (accounts) } " accounts" }
            li { strong { (pending) } " screening hits awaiting review" }
            @if let Some(Ok(log)) = &log {
                li { strong { (log.size) } " audit log entries" }
            }
        }
        p { "Policy version " code { (c.policy().version()) } }
        h2 { "Directives" }
        div class="scroll" role="region" tabindex="0" aria-label="Directives" { table {
            thead { tr { th { "Directive" } th { "Mode" } th { "Standing" } th { "Effective" } th { "Grace until" } } }
            tbody {
                @for d in c.policy().directives() {
                    tr {
                        td { strong { (d.id) } br; (d.title) }
                        td { (d.mode.as_str()) }
                        td {
                            @if d.mode == Mode::Draft { "draft: decides nothing" }
                            @else if d.mode == Mode::Retired { "retired" }
                            @else if d.expires.is_some_and(|x| now >= x) { "expired" }
                            @else if now < d.effective { "scheduled: in " (countdown(now, d.effective)) }
                            @else if d.grace_until.is_some_and(|g| now < g) { "in grace for " (countdown(now, d.grace_until.unwrap_or(now))) }
                            @else if d.mode == Mode::Shadow { "in shadow: logs, refuses nothing" }
                            @else { "in force" }
                        }
                        td { (super::when(d.effective)) }
                        td { @if let Some(g) = d.grace_until { (super::when(g)) } @else { "—" } }
                    }
                }
            }
        } }
        @if let Some(log) = &log { (log_section(log, now)) }
    };
    super::layout(&s, "Overview", body).into_response()
}

/// How long from `now` until `then`, in days, hours and minutes.
fn countdown(now: jiff::Timestamp, then: jiff::Timestamp) -> String {
    let secs = (then.as_second() - now.as_second()).max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else {
        format!("{h} h {m} min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of one change and a checkpoint over it, signed with the key
    /// seeded with 3s, in a directory named for the test.
    fn signed_log(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cordon-overview-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let key = cordon_audit::SigningKey::from_seed("overview.test/log", [3; 32]).unwrap();
        let (log, _) = cordon_audit_log::AuditLog::open(
            cordon_audit_log::LogConfig::new(&dir, "overview.test/log"),
            key,
        )
        .unwrap();
        let change = leaf::encode(&cordon_audit::Record::Admin(cordon_audit::AdminRecord {
            id: "chg".into(),
            time: "2026-12-07T12:00:00Z".into(),
            actor: "system".into(),
            action: "account.updated".into(),
            subject: Some("a".into()),
            details: Default::default(),
        }))
        .unwrap();
        log.append_blocking(change).unwrap();
        log.checkpoint_now().unwrap();
        log.shutdown();
        dir
    }

    #[test]
    fn a_checkpoint_verifies_with_its_own_key_only() {
        let dir = signed_log("keys");
        let now = "2026-12-07T12:30:00Z".parse().unwrap();
        let own = cordon_audit::SigningKey::from_seed("overview.test/log", [3; 32])
            .unwrap()
            .verifier();
        let other = cordon_audit::SigningKey::from_seed("overview.test/log", [4; 32])
            .unwrap()
            .verifier();
        let standing =
            |key: Option<&VerifierKey>| read_log(&dir, key, now).unwrap().checkpoint.unwrap().1;
        assert!(matches!(
            standing(Some(&own)),
            Standing::Verified { size: 1 }
        ));
        match standing(Some(&other)) {
            Standing::Failed(why) => assert!(why.contains("signature does not verify"), "{why}"),
            _ => panic!("a checkpoint verified with another key"),
        }
        assert!(matches!(standing(None), Standing::Unchecked));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_charts_end_with_the_hour_now_falls_in() {
        let now: jiff::Timestamp = "2026-12-07T12:30:00Z".parse().unwrap();
        let first = first_hour(now);
        assert_eq!(
            jiff::Timestamp::from_second(first).unwrap().to_string(),
            "2026-12-05T13:00:00Z"
        );
        let labels = hour_labels(first);
        assert_eq!(labels.len(), HOURS);
        assert_eq!(labels.first().unwrap(), "05 13:00");
        assert_eq!(labels.last().unwrap(), "07 12:00");
    }
}
