//! The data directory: where `cordon demo` and `cordon serve` keep the audit
//! log, its signing key and the pseudonym salt, and where the `audit` verbs
//! look for them by default.
//!
//! The directory is `--data-dir`, else `$CORDON_DATA_DIR`, else `cordon-data`
//! in the working directory. The private key and the salt are written with
//! owner-only permissions and never into the log directory itself, so the log
//! can be handed to an auditor as it is.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cordon_audit::{SigningKey, VerifierKey};

/// The environment variable naming the data directory.
pub const ENV: &str = "CORDON_DATA_DIR";
/// The data directory when neither the flag nor the variable is set.
pub const DEFAULT: &str = "cordon-data";
/// The checkpoint origin (and key name) a new log gets unless told otherwise.
pub const DEFAULT_ORIGIN: &str = "cordon.localhost/audit";

/// The files of one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory from the flag, the environment, or the default.
    pub fn resolve(flag: Option<&Path>) -> DataDir {
        let root = match flag {
            Some(p) => p.to_path_buf(),
            None => std::env::var_os(ENV)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(DEFAULT), PathBuf::from),
        };
        DataDir { root }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The audit log's directory.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit")
    }

    /// The private checkpoint-signing key (C2SP signed-note encoding).
    pub fn signing_key(&self) -> PathBuf {
        self.root.join("audit-key")
    }

    /// The public key auditors verify checkpoints with.
    pub fn verifier_key(&self) -> PathBuf {
        self.root.join("audit-key.pub")
    }

    /// The salt of the pseudonyms that stand for names and e-mail addresses.
    pub fn salt(&self) -> PathBuf {
        self.root.join("audit-salt")
    }

    /// Creates the directory if it does not exist.
    ///
    /// # Errors
    /// When it cannot be created.
    pub fn create(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create the data directory `{}`", self.root.display()))
    }

    /// Generates a signing key named `origin` and writes both key files.
    ///
    /// # Errors
    /// When a key already exists and `force` is not set, or the files cannot
    /// be written.
    pub fn generate_key(&self, origin: &str, force: bool) -> Result<SigningKey> {
        self.create()?;
        let private = self.signing_key();
        if private.exists() && !force {
            bail!(
                "`{}` already exists; a new key would make earlier checkpoints unverifiable with the new public key (pass --force to replace it anyway)",
                private.display()
            );
        }
        let key = SigningKey::generate(origin)
            .with_context(|| format!("cannot make a signing key named `{origin}`"))?;
        write_private(&private, key.to_text().as_bytes())?;
        let public = self.verifier_key();
        std::fs::write(&public, format!("{}\n", key.verifier().to_text()))
            .with_context(|| format!("cannot write `{}`", public.display()))?;
        Ok(key)
    }

    /// The signing key, generated with `origin` on first use.
    ///
    /// Returns the key and whether it was just created.
    ///
    /// # Errors
    /// When an existing key file does not parse, or a new one cannot be written.
    pub fn signing_key_or_create(&self, origin: &str) -> Result<(SigningKey, bool)> {
        let path = self.signing_key();
        if path.exists() {
            return Ok((load_signing_key(&path)?, false));
        }
        Ok((self.generate_key(origin, false)?, true))
    }

    /// The pseudonym salt, 32 random bytes made on first use.
    ///
    /// # Errors
    /// When the file cannot be read or written, or does not hold 64 hex digits.
    pub fn salt_or_create(&self) -> Result<[u8; 32]> {
        let path = self.salt();
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            return parse_salt(text.trim())
                .with_context(|| format!("`{}` must hold 64 hexadecimal digits", path.display()));
        }
        self.create()?;
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt)
            .map_err(|e| anyhow::anyhow!("cannot draw a random salt: {e}"))?;
        let hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, format!("{hex}\n").as_bytes())?;
        Ok(salt)
    }
}

/// Reads a private signing key file.
///
/// # Errors
/// When the file cannot be read or is not a signing key; the message never
/// contains the key.
pub fn load_signing_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the signing key `{}`", path.display()))?;
    SigningKey::parse(text.trim())
        .with_context(|| format!("`{}` is not a signing key", path.display()))
}

/// Reads a public key file (`name+keyid+base64`).
///
/// # Errors
/// When the file cannot be read or is not a verifier key.
pub fn load_verifier_key(path: &Path) -> Result<VerifierKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the public key `{}`", path.display()))?;
    VerifierKey::parse(text.trim())
        .with_context(|| format!("`{}` is not a public key", path.display()))
}

/// Parses a pseudonym salt: 64 hexadecimal digits.
///
/// # Errors
/// When the text is not exactly that, naming what was wrong.
pub fn parse_salt(text: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 || !text.is_ascii() {
        bail!(
            "expected 64 hexadecimal digits, found {} characters",
            text.len()
        );
    }
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = text.get(2 * i..2 * i + 2).unwrap_or_default();
        *byte = u8::from_str_radix(pair, 16)
            .with_context(|| format!("`{pair}` at offset {} is not hexadecimal", 2 * i))?;
    }
    Ok(out)
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> DataDir {
        let dir =
            std::env::temp_dir().join(format!("cordon-data-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        DataDir::resolve(Some(&dir))
    }

    #[test]
    fn a_key_is_made_once_and_read_back() {
        let d = temp("key");
        let (made, created) = d.signing_key_or_create("example.com/log").unwrap();
        assert!(created);
        let (again, created) = d.signing_key_or_create("other.example/log").unwrap();
        assert!(!created);
        assert_eq!(again.verifier().to_text(), made.verifier().to_text());
        assert_eq!(
            load_verifier_key(&d.verifier_key()).unwrap().to_text(),
            made.verifier().to_text()
        );
        assert!(d.generate_key("example.com/log", false).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.signing_key())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o077,
                0,
                "the private key must not be readable by others"
            );
        }
        std::fs::remove_dir_all(d.root()).unwrap();
    }

    #[test]
    fn the_salt_is_stable_and_a_damaged_one_is_an_error() {
        let d = temp("salt");
        let s1 = d.salt_or_create().unwrap();
        assert_eq!(d.salt_or_create().unwrap(), s1);
        std::fs::write(d.salt(), "zz").unwrap();
        let e = d.salt_or_create().unwrap_err();
        assert!(format!("{e:#}").contains("64 hexadecimal digits"), "{e:#}");
        std::fs::remove_dir_all(d.root()).unwrap();
    }
}
