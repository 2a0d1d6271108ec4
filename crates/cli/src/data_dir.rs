//! The data directory: where `cordon demo` and `cordon serve` keep the identity
//! store (unless the configuration names one), the audit log, its signing key
//! and the pseudonym salt, and where the `audit` verbs
//! look for them by default.
//!
//! The directory is `--data-dir`, else `$CORDON_DATA_DIR`, else `cordon-data`
//! in the working directory. The private key and the salt are written with
//! owner-only permissions and never into the log directory itself, so the log
//! can be handed to an auditor as it is.
//!
//! Key material is written whole or not at all ([`write_atomic`]), and a key
//! is never made for a log that already holds checkpoints: they verify only
//! with the key that signed them, so a lost key must be restored, not replaced.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use cordon_audit::{Checkpoint, SigningKey, VerifierKey};
use cordon_audit_log::LogReader;

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

    /// The identity store, when the configuration names none.
    pub fn identity_store(&self) -> PathBuf {
        self.root.join("identity.db")
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

    /// Creates the directory, and any missing parent, durably
    /// ([`create_dir_durable`]).
    ///
    /// # Errors
    /// When it cannot be created.
    pub fn create(&self) -> Result<()> {
        create_dir_durable(&self.root)
            .with_context(|| format!("cannot create the data directory `{}`", self.root.display()))
    }

    /// Generates a signing key named `origin` and writes both key files, for
    /// the audit log in `log`.
    ///
    /// # Errors
    /// When a key already exists and `force` is not set; when `log` holds
    /// signed checkpoints, which a new key would make fail verification
    /// (with or without `force`); or when the files cannot be written.
    pub fn generate_key(&self, origin: &str, force: bool, log: &Path) -> Result<SigningKey> {
        let private = self.signing_key();
        let exists = private.exists();
        if exists && !force {
            bail!(
                "`{}` already exists; a new key would make earlier checkpoints unverifiable with the new public key (pass --force to replace it anyway)",
                private.display()
            );
        }
        if holds_checkpoints(log)? {
            if exists {
                bail!(
                    "`{}` signs the checkpoints stored in the audit log `{}`; a new key would make every one of them fail verification. To sign with a new key, start a new data directory (and log)",
                    private.display(),
                    log.display()
                );
            }
            bail!(missing_key(&private, log));
        }
        self.create()?;
        let key = SigningKey::generate(origin)
            .with_context(|| format!("cannot make a signing key named `{origin}`"))?;
        write_atomic(&private, key.to_text().as_bytes(), PRIVATE)?;
        write_atomic(
            &self.verifier_key(),
            format!("{}\n", key.verifier().to_text()).as_bytes(),
            PUBLIC,
        )?;
        Ok(key)
    }

    /// The signing key, generated with `origin` on first use when the audit
    /// log in `log` holds no checkpoint yet.
    ///
    /// Returns the key and whether it was just created.
    ///
    /// # Errors
    /// When an existing key file does not parse; when the key is missing but
    /// `log` holds signed checkpoints (the key must be restored, not
    /// replaced); or when a new key cannot be written.
    pub fn signing_key_or_create(&self, origin: &str, log: &Path) -> Result<(SigningKey, bool)> {
        let path = self.signing_key();
        if path.exists() {
            return Ok((load_signing_key(&path)?, false));
        }
        Ok((self.generate_key(origin, false, log)?, true))
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
        write_atomic(&path, format!("{hex}\n").as_bytes(), PRIVATE)?;
        Ok(salt)
    }
}

/// The mode of the private key and the salt: readable by the owner only.
pub const PRIVATE: u32 = 0o600;
/// The mode of the public key.
pub const PUBLIC: u32 = 0o644;

/// The error for a signing key that is missing while `log` holds checkpoints.
fn missing_key(path: &Path, log: &Path) -> String {
    format!(
        "the signing key `{}` is missing but the audit log `{}` holds signed checkpoints; restore the key from a backup (a new key would make every stored checkpoint fail verification)",
        path.display(),
        log.display()
    )
}

/// Refuses a missing signing key when the audit log in `log` holds
/// checkpoints; for keys named in the configuration, which are never made.
///
/// # Errors
/// When `log` holds checkpoints, naming `path`; or when `log` cannot be read.
pub fn refuse_missing_key(path: &Path, log: &Path) -> Result<()> {
    if holds_checkpoints(log)? {
        bail!(missing_key(path, log));
    }
    Ok(())
}

/// The signed checkpoints stored in the audit log in `log`, oldest first:
/// none when `log` holds no log (no `segments` directory).
///
/// # Errors
/// When the log cannot be read.
pub fn stored_checkpoints(log: &Path) -> Result<Vec<String>> {
    if !log.join("segments").is_dir() {
        return Ok(Vec::new());
    }
    let reader = LogReader::open(log)
        .with_context(|| format!("cannot open the audit log `{}`", log.display()))?;
    Ok(reader.checkpoints())
}

/// Whether the audit log in `log` holds signed checkpoints: those a reader
/// sees, or a non-empty `checkpoints` file (a reader hides checkpoints
/// beyond damage or a lost segment, which still need the key that signed
/// them).
///
/// # Errors
/// When the log cannot be read.
pub fn holds_checkpoints(log: &Path) -> Result<bool> {
    if !stored_checkpoints(log)?.is_empty() {
        return Ok(true);
    }
    let file = log.join("checkpoints");
    match std::fs::metadata(&file) {
        Ok(m) => Ok(m.len() > 0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", file.display())),
    }
}

/// Checks that `key`, read from `key_file`, is the key of the audit log in
/// `log`: that the public key file `public_file`, if it exists, holds its
/// public half, and that every stored checkpoint opens with it.
///
/// # Errors
/// When the public key file holds another key, when the stored checkpoints
/// were signed by another key (the wrong key file, or the log of another
/// key), when some but not all of them open (the checkpoints were altered),
/// or when a file cannot be read.
pub fn check_key(
    key: &SigningKey,
    key_file: &Path,
    public_file: Option<&Path>,
    log: &Path,
) -> Result<()> {
    let verifier = key.verifier();
    // A crash between writing the private key and its public half leaves
    // the public file missing: it is made again from the private key.
    if let Some(public_file) = public_file.filter(|p| !p.exists()) {
        write_atomic(
            public_file,
            format!("{}\n", verifier.to_text()).as_bytes(),
            0o644,
        )
        .with_context(|| format!("cannot restore `{}`", public_file.display()))?;
    }
    if let Some(public_file) = public_file.filter(|p| p.exists()) {
        let public = load_verifier_key(public_file)?;
        if public.to_text() != verifier.to_text() {
            bail!(
                "the public key file `{}` holds `{}` but the signing key `{}` is the private half of `{}`; one of the two files was replaced: restore the matching pair from a backup",
                public_file.display(),
                public.to_text(),
                key_file.display(),
                verifier.to_text()
            );
        }
    }
    let stored = stored_checkpoints(log)?;
    // The first and the latest only: a wrong key fails both, while checking
    // every one would cost a signature check per checkpoint ever stored at
    // each start (`cordon audit verify` checks them all).
    let mut picked: Vec<(usize, &String)> = stored.iter().enumerate().take(1).collect();
    if stored.len() > 1 {
        picked.extend(stored.iter().enumerate().next_back());
    }
    let failed: Vec<(usize, cordon_audit::CheckpointError)> = picked
        .into_iter()
        .filter_map(|(n, text)| Checkpoint::open(text, &verifier).err().map(|e| (n, e)))
        .collect();
    let Some((first, error)) = failed.first() else {
        return Ok(());
    };
    if failed.len() == stored.len().min(2) {
        bail!(
            "the signing key `{}` (public key `{}`) does not match the audit log `{}`: its stored checkpoints ({}) do not verify with it ({error}); the key file is the wrong one, or the log was signed by another key",
            key_file.display(),
            verifier.to_text(),
            log.display(),
            stored.len()
        );
    }
    bail!(
        "checkpoint {first} (counting from 0) of the {} stored in the audit log `{}` does not verify with the signing key `{}` (public key `{}`), which signed others: {error}; run `cordon audit verify`",
        stored.len(),
        log.display(),
        key_file.display(),
        verifier.to_text()
    )
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

/// The directory a path is in, `.` for a bare file name.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Flushes a directory's entries (a created or renamed file) to disk.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Creates `dir` and its missing parents, syncing the parent of each
/// directory it creates, so that the new directories survive a crash.
///
/// # Errors
/// When a directory cannot be created or synced, or a component exists and
/// is not a directory.
pub fn create_dir_durable(dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.as_os_str().is_empty() && !at.is_dir() {
        missing.push(at);
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            // Made by someone else meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create `{}`", d.display()));
            }
        }
    }
    // The parent of the directory itself is synced even when nothing was
    // created now: an earlier attempt may have created it and failed to
    // sync.
    let parent = parent_of(dir);
    sync_dir(parent).with_context(|| format!("cannot sync `{}`", parent.display()))?;
    for d in dir
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
    {
        if d.parent().is_none_or(|p| p.as_os_str().is_empty()) {
            break;
        }
        let parent = parent_of(d);
        sync_dir(parent).with_context(|| format!("cannot sync `{}`", parent.display()))?;
    }
    Ok(())
}

/// Replaces `path` with `bytes` so that a crash or an error leaves either the
/// old file or the new one, never a mix or an empty file.
///
/// The bytes go to a new file in the same directory, created exclusively
/// with `mode` (owner-only for secrets, so they are never readable by others,
/// not even briefly), which is synced and renamed over `path`; then the
/// directory is synced so that the rename is durable. On failure the
/// temporary file is removed and `path` is left as it was.
///
/// # Errors
/// When the file cannot be written, synced or renamed, or the directory
/// cannot be synced.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = parent_of(path);
    let name = path
        .file_name()
        .with_context(|| format!("`{}` does not name a file", path.display()))?
        .to_string_lossy();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut attempts = 0;
    let (temp, mut file) = loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match options.open(&temp) {
            Ok(file) => break (temp, file),
            // A leftover of an earlier process with the same id.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 16 => {
                attempts += 1;
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create `{}`", temp.display()));
            }
        }
    };
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", temp.display()));
    drop(file);
    let renamed = written.and_then(|()| {
        std::fs::rename(&temp, path)
            .with_context(|| format!("cannot rename `{}` to `{}`", temp.display(), path.display()))
    });
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&temp);
        return Err(e.context(format!("cannot write `{}`", path.display())));
    }
    sync_dir(dir).with_context(|| {
        format!(
            "wrote `{}` but cannot sync its directory `{}`",
            path.display(),
            dir.display()
        )
    })
}

#[cfg(test)]
mod tests;

/// `--data-dir`, as every command that uses the data directory takes it.
#[derive(clap::Args)]
pub struct DataDirArg {
    /// The data directory (default: $CORDON_DATA_DIR, else `cordon-data`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDirArg {
    /// The data directory named, or the default one.
    pub fn resolve(&self) -> DataDir {
        DataDir::resolve(self.data_dir.as_deref())
    }
}
