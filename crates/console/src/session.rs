//! Sessions: who is logged in, behind an unguessable cookie, with the CSRF
//! token every form of theirs carries.
//!
//! A session id is replaced at login (an id planted before login is never
//! promoted), ends after [`IDLE`] without a request or [`ABSOLUTE`] after
//! login, and lives only in this process: a restart logs everyone out.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::ConsoleError;
use crate::users::Role;

/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// A session ends this long after login, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);

/// The session cookie's name: `__Host-` makes browsers refuse it unless it
/// is Secure, for path `/`, and set without a domain.
pub const SESSION_COOKIE: &str = "__Host-cordon-session";

/// The cookie that carries the login form's CSRF token before a session exists.
pub const LOGIN_COOKIE: &str = "__Host-cordon-login";

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user's name: a local user's login name, or `oidc:<iss>#<sub>`;
    /// the name changes are recorded under.
    pub user: String,
    /// The name shown on pages: a local user's name, or what the OpenID
    /// provider calls the person.
    pub display: String,
    /// Their role.
    pub role: Role,
    /// The token their forms carry.
    pub csrf: String,
    started: Instant,
    seen: Instant,
}

/// Every open session.
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Opens a session for `user`; returns its id.
    ///
    /// # Errors
    /// [`ConsoleError::Random`] when no id can be drawn.
    pub fn open(&self, user: &str, role: Role) -> Result<(String, Session), ConsoleError> {
        self.open_shown(user, user, role)
    }

    /// Opens a session for `user`, shown on pages as `display`; returns its id.
    ///
    /// # Errors
    /// [`ConsoleError::Random`] when no id can be drawn.
    pub fn open_shown(
        &self,
        user: &str,
        display: &str,
        role: Role,
    ) -> Result<(String, Session), ConsoleError> {
        let id = token()?;
        let now = Instant::now();
        let session = Session {
            user: user.to_owned(),
            display: display.to_owned(),
            role,
            csrf: token()?,
            started: now,
            seen: now,
        };
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.retain(|_, s| live(s, now));
        open.insert(id.clone(), session.clone());
        Ok((id, session))
    }

    /// The live session `id`, marked as used now.
    pub fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        match open.get_mut(id) {
            Some(s) if live(s, now) => {
                s.seen = now;
                Some(s.clone())
            }
            Some(_) => {
                open.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

fn live(s: &Session, now: Instant) -> bool {
    now.duration_since(s.seen) < IDLE && now.duration_since(s.started) < ABSOLUTE
}

/// 32 random bytes as hex: a session id or a CSRF token.
///
/// # Errors
/// [`ConsoleError::Random`] when the system has no randomness to give.
pub fn token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ConsoleError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether two tokens are equal, in time that does not depend on where
/// they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A `Set-Cookie` value for `name`, the console's only shape of cookie.
pub fn cookie(name: &str, value: &str, max_age: Option<Duration>) -> String {
    let age = max_age.map_or_else(String::new, |a| format!("; Max-Age={}", a.as_secs()));
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax{age}")
}

/// The value of cookie `name` in a `Cookie` header.
pub fn read_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_until_closed() {
        let s = Sessions::default();
        let (id, opened) = s.open("ann", Role::Officer).unwrap();
        assert_eq!(id.len(), 64);
        assert_ne!(id, opened.csrf);
        assert_eq!(s.get(&id).unwrap().user, "ann");
        assert!(s.get("not-an-id").is_none());
        s.close(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn cookies_are_host_only_secure_and_read_back() {
        let c = cookie(SESSION_COOKIE, "abc", None);
        assert_eq!(
            c,
            "__Host-cordon-session=abc; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
        let header = "a=1; __Host-cordon-session=abc; b=2";
        assert_eq!(read_cookie(header, SESSION_COOKIE), Some("abc"));
        assert_eq!(read_cookie(header, LOGIN_COOKIE), None);
        assert!(same_token("abcd", "abcd"));
        assert!(!same_token("abcd", "abce"));
        assert!(!same_token("abcd", "abc"));
    }
}
