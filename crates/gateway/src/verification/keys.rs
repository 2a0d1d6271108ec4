//! The keys that check each configured issuer's assertions: a JWK Set read
//! from a file at start, or one fetched from the issuer's URL and kept
//! current (docs/verification-oidc.md, "Keys from the issuer").
//!
//! A fetched set is kept in a [`KeyCache`], which decides, by the
//! gateway's real clock ([`Gateway::wall_now`]), when to fetch again:
//! - at start, and whenever its freshness (`Cache-Control: max-age`,
//!   within the configured bounds) has run out: by a task that wakes when
//!   it is due, and by an assertion that finds it due;
//! - at once when a token names a key the set lacks, at most once per
//!   [`Rotation::min_interval`] whatever prompts it, so made-up `kid`s
//!   cannot make Cordon hammer the issuer. One fetch at a time per issuer:
//!   assertions that arrive during it wait for it and share its result.
//!
//! A failed fetch keeps the last good set in use until
//! [`Rotation::max_stale`] past its freshness, logs a warning and counts
//! `cordon_verification_jwks_fetches_total{result="failed"}`. An issuer
//! with no usable set answers its assertions 503: no token is accepted
//! unchecked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, header};
use cordon_verification::oidc::jwks::MAX_JWKS_LEN;
use cordon_verification::oidc::{
    Assertion, AssertionError, Change, Issuer, Jwks, KeyCache, Rotation, Trigger,
};
use jiff::SignedDuration;

use super::config::{ConfiguredIssuer, KeySource};
use crate::egress::{Egress, cache_control};
use crate::state::Gateway;

/// The longest the refresh task sleeps before it looks again, so a clock
/// that jumps is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(300);

/// One issuer's keys.
pub(crate) struct IssuerKeys {
    name: String,
    source: Source,
}

enum Source {
    File(Jwks),
    Url(Box<Fetched>),
}

struct Fetched {
    url: String,
    rotation: Rotation,
    cache: Mutex<KeyCache>,
    /// Held while a fetch runs: one at a time.
    fetching: tokio::sync::Mutex<()>,
}

/// Why an assertion was not checked, or did not check.
pub(crate) enum Refused {
    /// The issuer has no usable keys: the message says why.
    Unavailable(String),
    /// The token was checked and refused.
    Token(AssertionError),
}

impl IssuerKeys {
    pub(crate) fn new(issuer: &ConfiguredIssuer) -> IssuerKeys {
        let source = match &issuer.keys {
            KeySource::File(jwks) => Source::File(jwks.clone()),
            KeySource::Url { url, rotation } => Source::Url(Box::new(Fetched {
                url: url.clone(),
                rotation: *rotation,
                cache: Mutex::new(KeyCache::new()),
                fetching: tokio::sync::Mutex::new(()),
            })),
        };
        IssuerKeys {
            name: issuer.name.clone(),
            source,
        }
    }

    /// Whether the keys are fetched from a URL.
    pub(crate) fn is_fetched(&self) -> bool {
        matches!(self.source, Source::Url(_))
    }

    /// Checks `token` from `issuer`: fetching the set first when it is due,
    /// and again when the token names a key the set lacks.
    pub(crate) async fn verify(
        &self,
        gw: &Gateway,
        issuer: &Issuer,
        token: &str,
    ) -> Result<Assertion, Refused> {
        let f = match &self.source {
            Source::File(jwks) => {
                return cordon_verification::oidc::verify_assertion(
                    token,
                    issuer,
                    jwks,
                    gw.wall_now(),
                )
                .map_err(Refused::Token);
            }
            Source::Url(f) => f,
        };
        self.refresh(gw, Trigger::Routine).await;
        match self.check(f, gw, issuer, token)? {
            Err(e) if e.wants_new_keys() => {
                self.refresh(gw, Trigger::UnknownKey).await;
                self.check(f, gw, issuer, token)?.map_err(Refused::Token)
            }
            checked => checked.map_err(Refused::Token),
        }
    }

    /// The token checked with the keys in force now.
    fn check(
        &self,
        f: &Fetched,
        gw: &Gateway,
        issuer: &Issuer,
        token: &str,
    ) -> Result<Result<Assertion, AssertionError>, Refused> {
        let now = gw.wall_now();
        let keys = f
            .cache
            .lock()
            .map_err(|_| Refused::Unavailable("the key cache is poisoned".into()))?
            .keys(&f.rotation, now)
            .map_err(|e| Refused::Unavailable(e.to_string()))?;
        Ok(keys.verify(token, issuer, now))
    }

    /// Fetches the set if the cache says so for `trigger`; otherwise waits
    /// for a fetch already running, and never starts a second one.
    pub(crate) async fn refresh(&self, gw: &Gateway, trigger: Trigger) {
        let Source::Url(f) = &self.source else {
            return;
        };
        let due = |now| {
            f.cache
                .lock()
                .is_ok_and(|c| c.should_fetch(&f.rotation, now, trigger))
        };
        if !due(gw.wall_now()) {
            // A fetch under way (at start, for another assertion) decides
            // what this assertion is checked with: wait for its result.
            drop(f.fetching.lock().await);
            return;
        }
        let _one = f.fetching.lock().await;
        let now = gw.wall_now();
        match f.cache.lock() {
            Ok(mut c) if c.should_fetch(&f.rotation, now, trigger) => c.attempting(now),
            _ => return,
        }
        let outcome = fetch_set(&gw.egress, &f.url).await;
        let now = gw.wall_now();
        let Ok(mut cache) = f.cache.lock() else {
            return;
        };
        match outcome {
            Ok((jwks, stated)) => {
                gw.metrics.jwks_fetch(&self.name, "ok");
                let skipped: Vec<String> = jwks
                    .skipped()
                    .iter()
                    .map(|s| match &s.kid {
                        Some(kid) => format!("`{kid}`: {}", s.reason),
                        None => format!("keys[{}]: {}", s.index, s.reason),
                    })
                    .collect();
                let freshness = f.rotation.freshness(stated);
                let change = cache.fetched(jwks, freshness, &f.rotation, now);
                let fresh_until = cache.fresh_until();
                drop(cache);
                let fresh_secs = freshness.as_secs();
                match change {
                    Change::First => {
                        tracing::info!(issuer = %self.name, url = %f.url, fresh_secs, "fetched the issuer's JWK Set")
                    }
                    Change::Rotated { grace_until } => {
                        tracing::info!(issuer = %self.name, url = %f.url, %grace_until, ?trigger, "the issuer's JWK Set changed; keys of the previous set still verify until the end of the grace")
                    }
                    Change::Unchanged => {
                        tracing::debug!(issuer = %self.name, url = %f.url, ?fresh_until, "the issuer's JWK Set is unchanged")
                    }
                }
                if change != Change::Unchanged && !skipped.is_empty() {
                    tracing::warn!(issuer = %self.name, url = %f.url, skipped = %skipped.join("; "), "keys of the issuer's JWK Set were set aside");
                }
            }
            Err(reason) => {
                gw.metrics.jwks_fetch(&self.name, "failed");
                let kept_until = cache.failed(reason.clone(), &f.rotation, now);
                let failures = cache.failures();
                drop(cache);
                match kept_until {
                    Some(until) => {
                        tracing::warn!(issuer = %self.name, error = %reason, %until, failures, "the issuer's JWK Set could not be refreshed; the last good set stays in use")
                    }
                    None => {
                        tracing::warn!(issuer = %self.name, error = %reason, failures, "the issuer's JWK Set could not be fetched; its assertions are answered 503 until it can")
                    }
                }
            }
        }
    }

    /// How long until a routine fetch is due, for the refresh task.
    fn next_due(&self, gw: &Gateway) -> Option<Duration> {
        let Source::Url(f) = &self.source else {
            return None;
        };
        let wait = f.cache.lock().ok()?.next_due(&f.rotation, gw.wall_now());
        Some(Duration::try_from(wait.max(SignedDuration::ZERO)).unwrap_or(MAX_SLEEP))
    }
}

/// Fetches and parses the set at `url`: the set and the freshness its
/// answer states, or why not.
async fn fetch_set(egress: &Egress, url: &str) -> Result<(Jwks, Option<SignedDuration>), String> {
    let got = egress
        .fetch(
            Method::GET,
            url,
            &[(
                header::ACCEPT.as_str(),
                "application/jwk-set+json, application/json",
            )],
            MAX_JWKS_LEN,
        )
        .await
        .map_err(|e| e.to_string())?;
    if !got.status.is_success() {
        return Err(format!("`{url}` answered {}", got.status));
    }
    let jwks = Jwks::parse(&got.body).map_err(|e| format!("`{url}`: {e}"))?;
    let stated = cache_control::freshness(
        got.headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .map(|v| v.as_bytes()),
    )
    .stated();
    Ok((jwks, stated))
}

/// Starts one task per issuer whose keys are fetched: it fetches the set
/// now, then again each time it is due. The tasks end when the gateway is
/// dropped.
pub(crate) fn spawn_refreshers(gw: &Arc<Gateway>) {
    for (index, keys) in gw.issuer_keys.iter().enumerate() {
        if !keys.is_fetched() {
            continue;
        }
        let weak = Arc::downgrade(gw);
        tokio::spawn(async move {
            loop {
                let wait = {
                    let Some(gw) = weak.upgrade() else {
                        return;
                    };
                    let Some(keys) = gw.issuer_keys.get(index) else {
                        return;
                    };
                    keys.refresh(&gw, Trigger::Routine).await;
                    keys.next_due(&gw).unwrap_or(MAX_SLEEP)
                };
                tokio::time::sleep(wait.clamp(Duration::from_secs(1), MAX_SLEEP)).await;
            }
        });
    }
}
