//! The console's local users: a first administrator before single sign-on
//! is set up, and anyone the operator chooses to keep local.
//!
//! One JSON object per line (`name`, `role`, `hash`), the hash an argon2id
//! PHC string: the file holds no password, and a line that does not read is
//! an error naming the file and line, never skipped.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything but the audit log's search.
    Viewer,
    /// A viewer who also decides screening hits.
    Reviewer,
    /// A reviewer who also proposes and approves directive changes (not their own).
    Officer,
    /// Reads the audit log, and nothing about accounts beyond what decisions name.
    Auditor,
    /// Everything, and the users.
    Admin,
}

impl Role {
    /// Every role, in order of reach.
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Reviewer,
        Role::Officer,
        Role::Auditor,
        Role::Admin,
    ];

    /// The role's name as written in the users file and on pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
            Role::Officer => "officer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role named `text`.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Whether the role may record a screening disposition.
    pub fn may_review(self) -> bool {
        matches!(self, Role::Reviewer | Role::Officer | Role::Admin)
    }

    /// Whether the role may see accounts and their attributes.
    pub fn may_see_accounts(self) -> bool {
        !matches!(self, Role::Auditor)
    }
}

/// A local user, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The login name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// The argon2id hash of the password (PHC string).
    pub hash: String,
}

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// The users file.
#[derive(Debug, Clone)]
pub struct Users {
    path: PathBuf,
}

impl Users {
    /// The users kept in `path` (which need not exist yet).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Users { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every user; none when the file does not exist.
    ///
    /// # Errors
    /// [`ConsoleError::Users`] naming the file and line that does not read.
    pub fn load(&self) -> Result<Vec<User>, ConsoleError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.error(0, &e.to_string())),
        };
        let mut users = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let user: User =
                serde_json::from_str(line).map_err(|e| self.error(i + 1, &e.to_string()))?;
            PasswordHash::new(&user.hash)
                .map_err(|e| self.error(i + 1, &format!("`hash` is not a PHC string: {e}")))?;
            users.push(user);
        }
        Ok(users)
    }

    fn error(&self, line: usize, message: &str) -> ConsoleError {
        ConsoleError::Users {
            path: self.path.display().to_string(),
            line,
            message: message.to_owned(),
        }
    }

    /// Adds a user with `password`, hashed with argon2id.
    ///
    /// # Errors
    /// [`ConsoleError::InvalidUser`] for a bad name, a short password or a
    /// name already taken; [`ConsoleError::Users`] when the file cannot be
    /// read or written.
    pub fn add(&self, name: &str, role: Role, password: &str) -> Result<User, ConsoleError> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b))
        {
            return Err(ConsoleError::InvalidUser(format!(
                "`{name}` is not a user name: 1 to 64 of a-z, 0-9, `.`, `_`, `-`, `@`"
            )));
        }
        if password.chars().count() < MIN_PASSWORD {
            return Err(ConsoleError::InvalidUser(format!(
                "the password is shorter than {MIN_PASSWORD} characters"
            )));
        }
        if self.load()?.iter().any(|u| u.name == name) {
            return Err(ConsoleError::InvalidUser(format!(
                "a user `{name}` exists already"
            )));
        }
        let user = User {
            name: name.to_owned(),
            role,
            hash: hash(password)?,
        };
        let line = serde_json::to_string(&user).map_err(|e| self.error(0, &e.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&self.path)
            .map_err(|e| self.error(0, &e.to_string()))?;
        writeln!(file, "{line}")
            .and_then(|()| file.sync_all())
            .map_err(|e| self.error(0, &e.to_string()))?;
        Ok(user)
    }

    /// The user `name` if `password` is theirs. Takes as long for an
    /// unknown name as for a wrong password, so the answer's timing does
    /// not tell which names exist.
    ///
    /// # Errors
    /// As [`Users::load`].
    pub fn check(&self, name: &str, password: &str) -> Result<Option<User>, ConsoleError> {
        let users = self.load()?;
        let found = users.into_iter().find(|u| u.name == name);
        let stored = found.as_ref().map_or(DUMMY_HASH, |u| u.hash.as_str());
        let ok = PasswordHash::new(stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        Ok(found.filter(|_| ok))
    }
}

/// A hash of no one's password, verified against when the name is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ";

/// The argon2id hash of `password` with a fresh salt.
///
/// # Errors
/// [`ConsoleError::Random`] when no salt can be drawn.
pub fn hash(password: &str) -> Result<String, ConsoleError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ConsoleError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ConsoleError::Random(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ConsoleError::Random(e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

    use super::*;

    fn file(name: &str) -> Users {
        let p = std::env::temp_dir().join(format!("cordon-users-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        Users::at(p)
    }

    #[test]
    fn a_user_logs_in_with_their_password_only() {
        let u = file("check");
        assert!(u.load().unwrap().is_empty(), "no file is no users");
        let added = u.add("ann", Role::Officer, "a long enough pw").unwrap();
        assert!(added.hash.starts_with("$argon2id$"), "{}", added.hash);
        assert!(
            !std::fs::read_to_string(u.path())
                .unwrap()
                .contains("a long enough pw")
        );
        assert_eq!(
            u.check("ann", "a long enough pw").unwrap().unwrap().role,
            Role::Officer
        );
        assert!(u.check("ann", "a long enough pX").unwrap().is_none());
        assert!(u.check("bob", "a long enough pw").unwrap().is_none());
        let _ = std::fs::remove_file(u.path());
    }

    #[test]
    fn bad_names_short_passwords_and_repeats_are_refused() {
        let u = file("refused");
        for (name, pw) in [
            ("Ann", "long enough password"),
            ("", "long enough password"),
            ("ann", "short"),
        ] {
            assert!(
                matches!(
                    u.add(name, Role::Viewer, pw),
                    Err(ConsoleError::InvalidUser(_))
                ),
                "{name}"
            );
        }
        u.add("ann", Role::Viewer, "long enough password").unwrap();
        match u.add("ann", Role::Admin, "long enough password") {
            Err(ConsoleError::InvalidUser(m)) => assert!(m.contains("exists")),
            r => panic!("{r:?}"),
        }
        let _ = std::fs::remove_file(u.path());
    }

    #[test]
    fn a_line_that_does_not_read_is_named_by_file_and_line() {
        let u = file("bad-line");
        u.add("ann", Role::Viewer, "long enough password").unwrap();
        let mut text = std::fs::read_to_string(u.path()).unwrap();
        text.push_str("{\"name\": \"bob\", \"role\": \"boss\", \"hash\": \"x\"}\n");
        std::fs::write(u.path(), text).unwrap();
        let e = u.load().unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:2: ", u.path().display())), "{e}");
        assert!(e.contains("boss"), "{e}");
        let _ = std::fs::remove_file(u.path());
    }
}
