//! Logins under way: what the callback must match, kept in this process
//! under the id the browser's pre-login cookie carries, never in a URL
//! beyond `state`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest as _, Sha256};

use super::LoginError;
use crate::session::token;

/// How long a started login may take to come back.
pub const LIFETIME: SignedDuration = SignedDuration::from_mins(10);

/// The most logins kept under way at once: starting one needs no account,
/// so the map is bounded; past it the oldest is dropped.
pub const MAX_PENDING: usize = 10_000;

/// A login started and not yet called back.
#[derive(Clone, PartialEq, Eq)]
pub struct Pending {
    /// `state`: the callback must carry it back.
    pub state: String,
    /// `nonce`: the ID token must carry it.
    pub nonce: String,
    /// The PKCE code verifier (RFC 7636 §4.1): 64 hex digits, 256 bits.
    pub verifier: String,
    /// When the login may no longer be completed.
    pub expires: Timestamp,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl Pending {
    /// A fresh login at `now`: random `state`, `nonce` and verifier.
    ///
    /// # Errors
    /// [`LoginError::Random`] when the system has no randomness.
    pub fn fresh(now: Timestamp) -> Result<Pending, LoginError> {
        let draw = || token().map_err(|e| LoginError::Random(e.to_string()));
        Ok(Pending {
            state: draw()?,
            nonce: draw()?,
            verifier: draw()?,
            expires: now.saturating_add(LIFETIME).unwrap_or(now),
        })
    }

    /// The S256 code challenge of the verifier:
    /// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    pub fn challenge(&self) -> String {
        challenge(&self.verifier)
    }
}

/// The S256 code challenge of `verifier` (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Every login under way, by pre-login cookie id.
#[derive(Debug, Default)]
pub struct PendingLogins {
    open: Mutex<HashMap<String, Pending>>,
}

impl PendingLogins {
    /// Keeps `pending` under a new random id, returned for the cookie.
    ///
    /// # Errors
    /// [`LoginError::Random`] when no id can be drawn.
    pub fn start(&self, pending: Pending, now: Timestamp) -> Result<String, LoginError> {
        let id = token().map_err(|e| LoginError::Random(e.to_string()))?;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|_, p| p.expires > now);
        if open.len() >= MAX_PENDING
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, p)| p.expires)
                .map(|(k, _)| k.clone())
        {
            open.remove(&oldest);
        }
        open.insert(id.clone(), pending);
        Ok(id)
    }

    /// Takes the login under `id` away, live or not, so that it is used
    /// once whatever the callback carries; returns it if it is live at `now`.
    pub fn take(&self, id: &str, now: Timestamp) -> Option<Pending> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .filter(|p| p.expires > now)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn the_s256_challenge_is_rfc_7636s() {
        // RFC 7636 Appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_login_is_taken_once_and_not_after_it_expires() {
        let now: Timestamp = "2026-12-07T12:00:00Z".parse().unwrap();
        let logins = PendingLogins::default();
        let p = Pending::fresh(now).unwrap();
        assert_ne!(p.state, p.nonce);
        let id = logins.start(p.clone(), now).unwrap();
        assert_eq!(logins.take(&id, now), Some(p.clone()));
        assert_eq!(logins.take(&id, now), None);
        let id = logins.start(p, now).unwrap();
        let later = now.saturating_add(LIFETIME).unwrap();
        assert_eq!(logins.take(&id, later), None);
    }
}
