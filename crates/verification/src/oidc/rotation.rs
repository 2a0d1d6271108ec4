//! Keeping an issuer's JWK Set current: when to fetch it again, how long a
//! fetched set is fresh, how long the keys of a set the issuer replaced
//! still verify, and how long the last good set is used while the issuer
//! cannot be reached.
//!
//! Pure: the caller fetches the set (from the issuer's `jwks_uri`,
//! [OpenID Connect Discovery 1.0 §3](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata)),
//! passes the time in, and records each attempt in a [`KeyCache`], which
//! then says whether to fetch again ([`KeyCache::should_fetch`]) and which
//! keys verify a token now ([`KeyCache::keys`]). [`Rotation`] holds the
//! intervals.
//!
//! Fail closed: a cache that never held a set, or whose last good set is
//! past [`Rotation::max_stale`], yields no keys at all
//! ([`KeysUnavailable`]), so no token is accepted unchecked.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Assertion, AssertionError, Issuer, Jwks, verify_assertion};

/// What prompts a look at whether to fetch an issuer's JWK Set again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A periodic look, or a token to check: the set is fetched when the
    /// cache holds none or its freshness has run out.
    Routine,
    /// A token named a key the cached set does not hold
    /// ([`super::AssertionError::wants_new_keys`]): the issuer may have
    /// rotated its keys, so the set is fetched even while it is fresh.
    UnknownKey,
}

/// How an issuer's JWK Set is kept current: the intervals a [`KeyCache`]
/// applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// The shortest time between two fetches, whatever prompts them: a
    /// stream of tokens with made-up `kid`s costs the issuer at most one
    /// fetch per interval.
    pub min_interval: SignedDuration,
    /// The longest time between two attempts while fetches keep failing:
    /// from [`Rotation::min_interval`] the wait doubles with each
    /// consecutive failure, up to this.
    pub max_retry_interval: SignedDuration,
    /// How long a fetched set is fresh when the answer states nothing
    /// about it (no `Cache-Control: max-age`).
    pub default_freshness: SignedDuration,
    /// The shortest freshness: a smaller `max-age`, `no-cache` or
    /// `no-store` counts as this, so an issuer cannot make Cordon fetch
    /// on every token.
    pub min_freshness: SignedDuration,
    /// The longest freshness: a larger `max-age` counts as this, so keys
    /// the issuer withdrew stop verifying within it.
    pub max_freshness: SignedDuration,
    /// How long the keys of a set the issuer replaced still verify, from
    /// the fetch that brought the replacement: tokens signed just before a
    /// rotation stay good for this long. Zero: not at all.
    pub grace: SignedDuration,
    /// How long after its freshness ran out the last good set is still
    /// used while fetches fail. Past it the issuer's tokens are refused
    /// unchecked ([`KeysUnavailable::TooStale`]).
    pub max_stale: SignedDuration,
}

impl Default for Rotation {
    /// At most one fetch per 30 s, backing off to one per 5 min while the
    /// issuer fails; fresh for 1 h unless the issuer says otherwise, within
    /// 5 min to 24 h; replaced keys valid for 10 min; the last good set
    /// used up to 24 h past its freshness.
    fn default() -> Self {
        Rotation {
            min_interval: SignedDuration::from_secs(30),
            max_retry_interval: SignedDuration::from_mins(5),
            default_freshness: SignedDuration::from_hours(1),
            min_freshness: SignedDuration::from_mins(5),
            max_freshness: SignedDuration::from_hours(24),
            grace: SignedDuration::from_mins(10),
            max_stale: SignedDuration::from_hours(24),
        }
    }
}

impl Rotation {
    /// How long a set just fetched stays fresh, given what the answer
    /// stated: `None` when it stated nothing ([`Rotation::default_freshness`]),
    /// else its `max-age` (zero for `no-cache` or `no-store`); clamped to
    /// [`Rotation::min_freshness`] … [`Rotation::max_freshness`]
    /// ([RFC 9111 §5.2.2.1](https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.1)).
    pub fn freshness(&self, stated: Option<SignedDuration>) -> SignedDuration {
        stated
            .unwrap_or(self.default_freshness)
            .max(self.min_freshness)
            .min(self.max_freshness)
    }

    /// The wait before the next attempt after `failures` consecutive failed
    /// fetches (none: [`Rotation::min_interval`]).
    pub fn retry_interval(&self, failures: u32) -> SignedDuration {
        let cap = self.max_retry_interval.max(self.min_interval);
        let mut wait = self.min_interval;
        for _ in 1..failures {
            wait = wait.checked_add(wait).unwrap_or(cap);
            if wait >= cap {
                return cap;
            }
        }
        wait
    }
}

/// The most replaced sets kept for their grace window.
pub const MAX_RETIRED: usize = 4;

/// `t + d`, saturating; a negative `d` counts as zero.
fn plus(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d.max(SignedDuration::ZERO))
        .unwrap_or(Timestamp::MAX)
}

#[derive(Debug, Clone)]
struct Held {
    jwks: Arc<Jwks>,
    fetched_at: Timestamp,
    fresh_until: Timestamp,
}

#[derive(Debug, Clone)]
struct Retired {
    jwks: Arc<Jwks>,
    until: Timestamp,
}

/// An issuer's JWK Set as fetched over time: the current set, the sets it
/// replaced while their grace lasts, and the fetches tried.
#[derive(Debug, Clone, Default)]
pub struct KeyCache {
    current: Option<Held>,
    /// Newest first, at most [`MAX_RETIRED`].
    retired: Vec<Retired>,
    last_attempt: Option<Timestamp>,
    failures: u32,
    last_error: Option<String>,
}

/// What a successful fetch changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The first set the cache holds.
    First,
    /// The same keys as before.
    Unchanged,
    /// Other keys than before: the previous set's keys still verify until
    /// `grace_until`.
    Rotated {
        /// The end of the previous set's grace.
        grace_until: Timestamp,
    },
}

/// Why a cache has no keys to check tokens with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysUnavailable {
    /// No fetch has succeeded yet.
    #[error("the issuer's JWK Set has not been fetched yet{}", because(.last_error))]
    NeverFetched {
        /// Why the last attempt failed, if one was made.
        last_error: Option<String>,
    },
    /// The last good set is older than [`Rotation::max_stale`] allows.
    #[error(
        "the issuer's JWK Set was last fetched at {fetched_at} and could not be refreshed since{}; a set is not used more than {max_stale_secs} s after its freshness ran out at {fresh_until}",
        because(.last_error)
    )]
    TooStale {
        /// When the last good set was fetched.
        fetched_at: Timestamp,
        /// When its freshness ran out.
        fresh_until: Timestamp,
        /// [`Rotation::max_stale`], in seconds.
        max_stale_secs: i64,
        /// Why the last attempt failed.
        last_error: Option<String>,
    },
}

fn because(e: &Option<String>) -> String {
    e.as_ref()
        .map(|e| format!(" (last attempt: {e})"))
        .unwrap_or_default()
}

impl KeyCache {
    /// An empty cache: the first [`KeyCache::should_fetch`] says yes.
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// Whether to fetch the set now. Never sooner than the retry interval
    /// after the last attempt ([`Rotation::retry_interval`] of the failures
    /// so far; a clock that went back allows an attempt); then yes when the
    /// cache holds no set, when its freshness has run out, or on
    /// [`Trigger::UnknownKey`].
    pub fn should_fetch(&self, rotation: &Rotation, now: Timestamp, trigger: Trigger) -> bool {
        if let Some(last) = self.last_attempt
            && now >= last
            && now.duration_since(last) < rotation.retry_interval(self.failures)
        {
            return false;
        }
        match &self.current {
            None => true,
            Some(held) => trigger == Trigger::UnknownKey || now >= held.fresh_until,
        }
    }

    /// How long from `now` until a [`Trigger::Routine`] fetch is due (zero:
    /// now), for a caller that looks periodically.
    pub fn next_due(&self, rotation: &Rotation, now: Timestamp) -> SignedDuration {
        let allowed = self
            .last_attempt
            .filter(|last| now >= *last)
            .map(|last| plus(last, rotation.retry_interval(self.failures)));
        let due = match (&self.current, allowed) {
            (None, None) => now,
            (None, Some(a)) => a,
            (Some(held), None) => held.fresh_until,
            (Some(held), Some(a)) => held.fresh_until.max(a),
        };
        if due <= now {
            SignedDuration::ZERO
        } else {
            due.duration_since(now)
        }
    }

    /// Records that a fetch starts now (it counts for the spacing of
    /// fetches whatever its outcome).
    pub fn attempting(&mut self, now: Timestamp) {
        self.last_attempt = Some(now);
    }

    /// Records a successful fetch of `jwks`, fresh for `freshness` (see
    /// [`Rotation::freshness`]). When its keys differ from the current
    /// set's, the current set is kept for [`Rotation::grace`].
    pub fn fetched(
        &mut self,
        jwks: Jwks,
        freshness: SignedDuration,
        rotation: &Rotation,
        now: Timestamp,
    ) -> Change {
        self.failures = 0;
        self.last_error = None;
        // A set the issuer brings back is current again, not also retired.
        self.retired.retain(|r| now < r.until && *r.jwks != jwks);
        let fresh_until = plus(now, freshness);
        let (jwks, change) = match self.current.take() {
            None => (Arc::new(jwks), Change::First),
            Some(old) if *old.jwks == jwks => (old.jwks, Change::Unchanged),
            Some(old) => {
                let grace_until = plus(now, rotation.grace);
                if grace_until > now {
                    self.retired.insert(
                        0,
                        Retired {
                            jwks: old.jwks,
                            until: grace_until,
                        },
                    );
                    self.retired.truncate(MAX_RETIRED);
                }
                (Arc::new(jwks), Change::Rotated { grace_until })
            }
        };
        self.current = Some(Held {
            jwks,
            fetched_at: now,
            fresh_until,
        });
        change
    }

    /// Records a failed fetch and why. Returns until when the last good
    /// set is still used, or `None` when the cache has no usable set.
    pub fn failed(
        &mut self,
        reason: impl Into<String>,
        rotation: &Rotation,
        now: Timestamp,
    ) -> Option<Timestamp> {
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(reason.into());
        self.current
            .as_ref()
            .map(|held| plus(held.fresh_until, rotation.max_stale))
            .filter(|limit| now < *limit)
    }

    /// The keys that check tokens now: the current set, then the replaced
    /// sets whose grace has not ended, newest first.
    ///
    /// # Errors
    /// [`KeysUnavailable`] when no set was ever fetched, or the last good
    /// one is more than [`Rotation::max_stale`] past its freshness.
    pub fn keys(&self, rotation: &Rotation, now: Timestamp) -> Result<Keys, KeysUnavailable> {
        let Some(held) = &self.current else {
            return Err(KeysUnavailable::NeverFetched {
                last_error: self.last_error.clone(),
            });
        };
        if now >= plus(held.fresh_until, rotation.max_stale) {
            return Err(KeysUnavailable::TooStale {
                fetched_at: held.fetched_at,
                fresh_until: held.fresh_until,
                max_stale_secs: rotation.max_stale.as_secs(),
                last_error: self.last_error.clone(),
            });
        }
        Ok(Keys {
            current: Arc::clone(&held.jwks),
            previous: self
                .retired
                .iter()
                .filter(|r| now < r.until)
                .map(|r| Arc::clone(&r.jwks))
                .collect(),
        })
    }

    /// When the current set was fetched.
    pub fn fetched_at(&self) -> Option<Timestamp> {
        self.current.as_ref().map(|h| h.fetched_at)
    }

    /// When the current set's freshness runs out.
    pub fn fresh_until(&self) -> Option<Timestamp> {
        self.current.as_ref().map(|h| h.fresh_until)
    }

    /// Why the last attempt failed, if it did.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Consecutive failed attempts since the last successful fetch.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// The keys that check tokens at one moment ([`KeyCache::keys`]).
#[derive(Debug, Clone)]
pub struct Keys {
    current: Arc<Jwks>,
    previous: Vec<Arc<Jwks>>,
}

impl Keys {
    /// The current set.
    pub fn current(&self) -> &Jwks {
        &self.current
    }

    /// The replaced sets still in their grace, newest first.
    pub fn previous(&self) -> impl Iterator<Item = &Jwks> {
        self.previous.iter().map(|j| &**j)
    }

    /// [`verify_assertion`] with the current set; when that set lacks the
    /// token's key ([`AssertionError::wants_new_keys`]), with each replaced
    /// set still in its grace. A key the current set holds is always
    /// checked with the current set's version of it.
    ///
    /// # Errors
    /// The current set's [`AssertionError`], or the first error of a
    /// replaced set that holds the token's key.
    pub fn verify(
        &self,
        token: &str,
        issuer: &Issuer,
        now: Timestamp,
    ) -> Result<Assertion, AssertionError> {
        let first = verify_assertion(token, issuer, &self.current, now);
        match first {
            Err(e) if e.wants_new_keys() => {
                for old in &self.previous {
                    match verify_assertion(token, issuer, old, now) {
                        Err(again) if again.wants_new_keys() => {}
                        other => return other,
                    }
                }
                Err(e)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
