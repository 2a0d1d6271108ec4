//! Prometheus metrics, in the text exposition format.
//!
//! Labels carry directive ids, model ids and effects only — never account ids,
//! keys, prompts or completions.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cordon_policy::{Effect, Mode, Policy, Trace};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.025, 0.1,
    0.5, 2.5, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b)
            && let Some(c) = self.counts.get(i)
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, c) in BUCKETS.iter().zip(self.counts.iter()) {
            cumulative += c.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// How often one shadow-mode directive would have refused, by effect, or
/// limited a request (a cap or a removed feature).
#[derive(Default)]
pub struct ShadowCounter {
    deny: AtomicU64,
    verification_required: AtomicU64,
    limit: AtomicU64,
}

/// The shadow counters of one compiled policy, indexed like
/// [`Policy::directives`]: `Some` for each shadow-mode directive.
///
/// Built once per policy load or reload from the [`Metrics`] registry, so
/// counting on the request path is an index and an atomic add, with neither
/// a lock nor an allocation. The counters belong to the registry, keyed by
/// directive id, so a reload that keeps a directive keeps its count.
#[derive(Default)]
pub struct ShadowCounters(Vec<Option<Arc<ShadowCounter>>>);

impl ShadowCounters {
    /// Counts every consulted shadow-mode directive of `trace` whose effect
    /// after exemptions is `deny`, `verification_required` or
    /// `allow_with_obligations` (a cap is an impact too).
    ///
    /// `trace` must come from the policy these counters were built for.
    pub fn count(&self, trace: &Trace) {
        for c in trace.consulted() {
            let Some(Some(counter)) = self.0.get(usize::from(c.directive)) else {
                continue;
            };
            let slot = match c.effective() {
                Effect::Deny => &counter.deny,
                Effect::VerificationRequired => &counter.verification_required,
                Effect::AllowWithObligations => &counter.limit,
                Effect::Allow => continue,
            };
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Decision counts for one model: directive → effect → count.
type ByDirective = HashMap<String, HashMap<&'static str, u64>>;

/// The gateway's metrics.
#[derive(Default)]
pub struct Metrics {
    /// Model → directive → effect → count. Nested so a request looks its
    /// counter up with borrowed strings and allocates only on a first sighting.
    decisions: Mutex<HashMap<String, ByDirective>>,
    responses: Mutex<HashMap<&'static str, HashMap<u16, u64>>>,
    /// Time to decide (authentication, location and policy).
    pub decision_latency: Histogram,
    /// Time until the upstream's response headers.
    pub upstream_latency: Histogram,
    upstream_errors: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    /// Directive id → its shadow counter, for every directive that has been
    /// in shadow mode since start-up.
    shadow: Mutex<BTreeMap<String, Arc<ShadowCounter>>>,
    /// Verification deliveries by source and outcome (`accepted`,
    /// `replay`, `orphan`, `pending`, or the reason one was refused).
    verification: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Fetches of issuers' JWK Sets by issuer and result (`ok`, `failed`).
    jwks_fetches: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Accounts whose subject a verification event changed.
    pub accounts_restored: AtomicU64,
    /// When each account was first refused `verification_required` since
    /// its facts last changed, for the time to restoration; bounded.
    refused_at: Mutex<HashMap<String, std::time::Instant>>,
    /// Restorations timed, and their total seconds in milliseconds.
    restores: AtomicU64,
    restore_millis: AtomicU64,
}

impl Metrics {
    /// Counts one decision.
    pub fn decision(&self, effect: &'static str, directive: Option<&str>, model: &str) {
        let directive = directive.unwrap_or("");
        if let Ok(mut m) = self.decisions.lock() {
            let by_directive = match m.get_mut(model) {
                Some(d) => d,
                None => m.entry(model.to_owned()).or_default(),
            };
            let by_effect = match by_directive.get_mut(directive) {
                Some(e) => e,
                None => by_directive.entry(directive.to_owned()).or_default(),
            };
            *by_effect.entry(effect).or_default() += 1;
        }
    }

    /// The shadow counters for `policy`, registering its shadow-mode
    /// directives; call once per load or reload, never per request.
    pub fn shadow_counters(&self, policy: &Policy) -> ShadowCounters {
        let Ok(mut registry) = self.shadow.lock() else {
            return ShadowCounters::default();
        };
        ShadowCounters(
            policy
                .directives()
                .iter()
                .map(|d| {
                    (d.mode == Mode::Shadow).then(|| {
                        let counter = match registry.get(&d.id) {
                            Some(c) => c,
                            None => registry.entry(d.id.clone()).or_default(),
                        };
                        Arc::clone(counter)
                    })
                })
                .collect(),
        )
    }

    /// Counts one response by route and status.
    pub fn response(&self, route: &'static str, status: u16) {
        if let Ok(mut m) = self.responses.lock() {
            *m.entry(route).or_default().entry(status).or_default() += 1;
        }
    }

    /// Counts one verification delivery.
    pub fn verification(&self, source: &str, outcome: &'static str) {
        if let Ok(mut m) = self.verification.lock() {
            *m.entry((source.to_owned(), outcome)).or_default() += 1;
        }
    }

    /// Counts one fetch of an issuer's JWK Set (`ok` or `failed`).
    pub fn jwks_fetch(&self, issuer: &str, result: &'static str) {
        if let Ok(mut m) = self.jwks_fetches.lock() {
            *m.entry((issuer.to_owned(), result)).or_default() += 1;
        }
    }

    /// Notes that `account` was refused `verification_required` now, unless
    /// an earlier refusal is already noted.
    pub fn refused_for_verification(&self, account: &str) {
        const MAX: usize = 100_000;
        if let Ok(mut m) = self.refused_at.lock()
            && !m.contains_key(account)
            && m.len() < MAX
        {
            m.insert(account.to_owned(), std::time::Instant::now());
        }
    }

    /// Times the restoration of `account`, whose facts a verification
    /// event just changed, from its first noted refusal.
    pub fn facts_changed(&self, account: &str) {
        let since = self
            .refused_at
            .lock()
            .ok()
            .and_then(|mut m| m.remove(account));
        if let Some(t) = since {
            let ms = u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.restores.fetch_add(1, Ordering::Relaxed);
            self.restore_millis.fetch_add(ms, Ordering::Relaxed);
        }
    }

    /// Counts an upstream failure.
    pub fn upstream_error(&self) {
        self.upstream_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reload attempt.
    pub fn reload(&self, ok: bool) {
        let c = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self, policy_version: &str) -> String {
        let mut out = String::new();
        out.push_str("# HELP cordon_decisions_total Decisions by effect, deciding directive and model.\n# TYPE cordon_decisions_total counter\n");
        if let Ok(m) = self.decisions.lock() {
            let mut rows: Vec<(&str, &str, &str, u64)> = m
                .iter()
                .flat_map(|(model, ds)| {
                    ds.iter().flat_map(move |(d, es)| {
                        es.iter()
                            .map(move |(e, n)| (*e, d.as_str(), model.as_str(), *n))
                    })
                })
                .collect();
            rows.sort_unstable();
            for (effect, directive, model, n) in rows {
                let _ = writeln!(
                    out,
                    "cordon_decisions_total{{effect=\"{effect}\",directive=\"{directive}\",model=\"{}\"}} {n}",
                    escape(model)
                );
            }
        }
        out.push_str("# HELP cordon_responses_total Responses by route and HTTP status.\n# TYPE cordon_responses_total counter\n");
        if let Ok(m) = self.responses.lock() {
            let mut rows: Vec<(&str, u16, u64)> = m
                .iter()
                .flat_map(|(r, ss)| ss.iter().map(move |(s, n)| (*r, *s, *n)))
                .collect();
            rows.sort_unstable();
            for (route, status, n) in rows {
                let _ = writeln!(
                    out,
                    "cordon_responses_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP cordon_shadow_would_refuse_total Decisions a shadow-mode directive would have refused, by directive and effect.\n# TYPE cordon_shadow_would_refuse_total counter\n");
        if let Ok(m) = self.shadow.lock() {
            for (directive, c) in m.iter() {
                for (effect, n) in [
                    ("deny", &c.deny),
                    ("verification_required", &c.verification_required),
                ] {
                    let _ = writeln!(
                        out,
                        "cordon_shadow_would_refuse_total{{directive=\"{}\",effect=\"{effect}\"}} {}",
                        escape(directive),
                        n.load(Ordering::Relaxed)
                    );
                }
            }
        }
        out.push_str("# HELP cordon_shadow_would_limit_total Decisions a shadow-mode directive would have allowed only with obligations (a token cap, features removed), by directive.\n# TYPE cordon_shadow_would_limit_total counter\n");
        if let Ok(m) = self.shadow.lock() {
            for (directive, c) in m.iter() {
                let _ = writeln!(
                    out,
                    "cordon_shadow_would_limit_total{{directive=\"{}\"}} {}",
                    escape(directive),
                    c.limit.load(Ordering::Relaxed)
                );
            }
        }
        out.push_str("# HELP cordon_verification_events_total Verification deliveries by source and outcome (or the reason they were refused).\n# TYPE cordon_verification_events_total counter\n");
        if let Ok(m) = self.verification.lock() {
            for ((source, outcome), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "cordon_verification_events_total{{source=\"{}\",outcome=\"{outcome}\"}} {n}",
                    escape(source)
                );
            }
        }
        out.push_str("# HELP cordon_verification_jwks_fetches_total Fetches of identity providers' JWK Sets by issuer and result (ok, failed).\n# TYPE cordon_verification_jwks_fetches_total counter\n");
        if let Ok(m) = self.jwks_fetches.lock() {
            for ((issuer, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "cordon_verification_jwks_fetches_total{{issuer=\"{}\",result=\"{result}\"}} {n}",
                    escape(issuer)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP cordon_verification_subjects_changed_total Accounts whose facts a verification event changed.\n# TYPE cordon_verification_subjects_changed_total counter\ncordon_verification_subjects_changed_total {}",
            self.accounts_restored.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP cordon_verification_restore_seconds Time from an account's first verification_required refusal to the verification event that changed its facts.\n# TYPE cordon_verification_restore_seconds summary\ncordon_verification_restore_seconds_sum {}\ncordon_verification_restore_seconds_count {}",
            self.restore_millis.load(Ordering::Relaxed) as f64 / 1000.0,
            self.restores.load(Ordering::Relaxed)
        );
        self.decision_latency.render(
            &mut out,
            "cordon_decision_seconds",
            "Time to authenticate, locate and decide a request.",
        );
        self.upstream_latency.render(
            &mut out,
            "cordon_upstream_seconds",
            "Time until the upstream's response headers.",
        );
        let _ = writeln!(
            out,
            "# HELP cordon_upstream_errors_total Upstream connection failures and timeouts.\n# TYPE cordon_upstream_errors_total counter\ncordon_upstream_errors_total {}",
            self.upstream_errors.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP cordon_reloads_total Directive and catalog reloads.\n# TYPE cordon_reloads_total counter\ncordon_reloads_total{{result=\"ok\"}} {}\ncordon_reloads_total{{result=\"rejected\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP cordon_policy_info The policy version in force.\n# TYPE cordon_policy_info gauge\ncordon_policy_info{{version=\"{policy_version}\"}} 1"
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
