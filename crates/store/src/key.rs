//! API keys: `ck_<prefix>_<secret>`.
//!
//! - `prefix`: 8 lowercase hex characters (4 random bytes). With `ck_` in front
//!   (`ck_1a2b3c4d`) it names the key in lists and logs; it is not secret.
//! - `secret`: 48 characters of lowercase RFC 4648 base32 (`a`-`z`, `2`-`7`),
//!   encoding 30 random bytes (240 bits) from the operating system.
//!
//! Only SHA-256 of the secret's text is stored; a presented key is checked by
//! hashing its secret and comparing the digests in constant time
//! ([`subtle::ConstantTimeEq`]).

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::account::parse_time;
use crate::{KeyInfo, StoreError};

/// What every key starts with.
pub const KEY_TAG: &str = "ck_";
/// Length of the prefix, in hex characters.
pub const PREFIX_LEN: usize = 8;
/// Random bytes in a secret.
const SECRET_BYTES: usize = 30;
/// Length of the secret, in base32 characters.
pub const SECRET_LEN: usize = SECRET_BYTES * 8 / 5;

/// How many prefixes creating a key tries before giving up.
const PREFIX_TRIES: u32 = 8;
/// Longest key label, in characters.
const MAX_LABEL_LEN: usize = 200;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const HEX: &[u8; 16] = b"0123456789abcdef";

/// A source of random bytes; the operating system's in production.
pub(crate) type RandomSource = dyn Fn(&mut [u8]) -> Result<(), StoreError> + Send + Sync;

/// Fills `buf` from the operating system's random number generator.
pub(crate) fn os_random(buf: &mut [u8]) -> Result<(), StoreError> {
    getrandom::fill(buf).map_err(|e| StoreError::Random(e.to_string()))
}

/// A newly made key before it is stored.
pub(crate) struct NewKey {
    /// The 8 hex characters (without `ck_`).
    pub prefix: String,
    /// The full key text.
    pub key: String,
    /// SHA-256 of the secret.
    pub hash: [u8; 32],
}

/// Makes a key from the random source.
pub(crate) fn generate(random: &RandomSource) -> Result<NewKey, StoreError> {
    let mut p = [0u8; PREFIX_LEN / 2];
    random(&mut p)?;
    let mut s = [0u8; SECRET_BYTES];
    random(&mut s)?;
    let prefix = hex(&p);
    let secret = base32(&s);
    let hash = hash_secret(&secret);
    let key = format!("{KEY_TAG}{prefix}_{secret}");
    Ok(NewKey { prefix, key, hash })
}

/// Makes keys until `try_store` stores one (it answers `false` for a taken
/// prefix), at most [`PREFIX_TRIES`] times; returns the stored key.
///
/// # Errors
/// What `generate` or `try_store` returns, or [`StoreError::PrefixExhausted`].
pub(crate) fn issue(
    random: &RandomSource,
    mut try_store: impl FnMut(&NewKey) -> Result<bool, StoreError>,
) -> Result<NewKey, StoreError> {
    for _ in 0..PREFIX_TRIES {
        let k = generate(random)?;
        if try_store(&k)? {
            return Ok(k);
        }
    }
    Err(StoreError::PrefixExhausted {
        tries: PREFIX_TRIES,
    })
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(c) = HEX.get(usize::from(nibble)) {
                out.push(char::from(*c));
            }
        }
    }
    out
}

/// RFC 4648 base32, lowercase, without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for b in bytes {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let i = ((acc >> bits) & 31) as usize;
            if let Some(c) = BASE32.get(i) {
                out.push(char::from(*c));
            }
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        let i = ((acc << (5 - bits)) & 31) as usize;
        if let Some(c) = BASE32.get(i) {
            out.push(char::from(*c));
        }
    }
    out
}

/// SHA-256 of a secret's text.
pub(crate) fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` hashes to `stored`, compared in constant time.
///
/// Returns a [`Choice`] so that the comparison cannot be short-circuited
/// before the caller turns it into a `bool`.
pub(crate) fn secret_matches(stored: &[u8], secret: &str) -> Choice {
    hash_secret(secret).as_slice().ct_eq(stored)
}

/// Whether a presented secret authenticates against a stored key row.
///
/// The secret is hashed and compared before the flags are looked at, so a
/// revoked key or a disabled account takes as long to refuse as a wrong
/// secret.
pub(crate) fn accepts(stored: &[u8], secret: &str, revoked: bool, disabled: bool) -> bool {
    let matches = bool::from(secret_matches(stored, secret));
    matches && !revoked && !disabled
}

/// The label a key of `account` is created with: trimmed, `None` if empty.
///
/// # Errors
/// [`StoreError::InvalidPatch`] for a label over 200 characters or with
/// control characters.
pub(crate) fn label<'a>(
    account: &str,
    label: Option<&'a str>,
) -> Result<Option<&'a str>, StoreError> {
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    if let Some(l) = label
        && (l.chars().count() > MAX_LABEL_LEN || l.chars().any(char::is_control))
    {
        return Err(StoreError::InvalidPatch {
            id: account.to_owned(),
            message: format!(
                "key label `{l}` must be at most {MAX_LABEL_LEN} characters without control characters"
            ),
        });
    }
    Ok(label)
}

/// A key row before its text columns are checked: prefix, account, label,
/// created_at, revoked_at (the same in every backend).
pub(crate) type RawKey = (String, String, Option<String>, String, Option<String>);

/// Checks and converts a stored key row.
pub(crate) fn key_from_raw(
    (prefix, account, label, created, revoked): RawKey,
) -> Result<KeyInfo, StoreError> {
    Ok(KeyInfo {
        prefix: visible(&prefix),
        account,
        label,
        created_at: parse_time("created_at", &created)?,
        revoked_at: revoked.map(|r| parse_time("revoked_at", &r)).transpose()?,
    })
}

/// The parts of a presented key, if it has the key format.
pub(crate) fn parse(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(KEY_TAG)?;
    let (prefix, secret) = rest.split_once('_')?;
    (is_prefix(prefix) && secret.len() == SECRET_LEN && secret.bytes().all(|b| BASE32.contains(&b)))
        .then_some((prefix, secret))
}

fn is_prefix(p: &str) -> bool {
    p.len() == PREFIX_LEN && p.bytes().all(|b| HEX.contains(&b))
}

/// The 8 hex characters from `ck_1a2b3c4d`, `1a2b3c4d` or a full key.
///
/// # Errors
/// [`StoreError::InvalidKeyPrefix`] for anything else.
pub(crate) fn normalize_prefix(text: &str) -> Result<String, StoreError> {
    let t = text.trim();
    let t = t.strip_prefix(KEY_TAG).unwrap_or(t);
    let p = t.split_once('_').map_or(t, |(p, _)| p);
    if is_prefix(p) {
        Ok(p.to_owned())
    } else {
        Err(StoreError::InvalidKeyPrefix {
            prefix: text.to_owned(),
        })
    }
}

/// The visible form of a prefix: `ck_1a2b3c4d`.
pub(crate) fn visible(prefix: &str) -> String {
    format!("{KEY_TAG}{prefix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        // RFC 4648 section 10, lowercased and without padding.
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"fo"), "mzxq");
        assert_eq!(base32(b"foo"), "mzxw6");
        assert_eq!(base32(b"foob"), "mzxw6yq");
        assert_eq!(base32(b"fooba"), "mzxw6ytb");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let k = generate(&os_random).unwrap();
        assert_eq!(k.key.len(), 3 + 8 + 1 + 48);
        assert!(k.key.starts_with(&format!("ck_{}_", k.prefix)));
        let (p, s) = parse(&k.key).unwrap();
        assert_eq!(p, k.prefix);
        assert_eq!(hash_secret(s), k.hash);
        assert_ne!(generate(&os_random).unwrap().key, k.key);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let good = format!("ck_1a2b3c4d_{}", "a".repeat(48));
        assert!(parse(&good).is_some());
        for bad in [
            String::new(),
            "ck_".to_owned(),
            format!("ck_1a2b3c4_{}", "a".repeat(48)),
            format!("ck_1A2B3C4D_{}", "a".repeat(48)),
            format!("ck_1a2b3c4d_{}", "a".repeat(47)),
            format!("ck_1a2b3c4d_{}", "a".repeat(49)),
            format!("ck_1a2b3c4d_{}1", "a".repeat(47)),
            format!("sk_1a2b3c4d_{}", "a".repeat(48)),
            format!("Bearer ck_1a2b3c4d_{}", "a".repeat(48)),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn comparison_is_constant_time() {
        // The result is a `subtle::Choice`, produced by `ConstantTimeEq`: the
        // type pins that the digest comparison never short-circuits.
        let stored = hash_secret("right");
        let yes: Choice = secret_matches(&stored, "right");
        let no: Choice = secret_matches(&stored, "wrong");
        assert!(bool::from(yes));
        assert!(!bool::from(no));
        // A stored hash of the wrong length never matches.
        assert!(!bool::from(secret_matches(&stored[..31], "right")));
    }

    #[test]
    fn prefixes_normalize_from_every_visible_form() {
        assert_eq!(normalize_prefix("ck_1a2b3c4d").unwrap(), "1a2b3c4d");
        assert_eq!(normalize_prefix("1a2b3c4d").unwrap(), "1a2b3c4d");
        assert_eq!(
            normalize_prefix(&format!("ck_1a2b3c4d_{}", "a".repeat(48))).unwrap(),
            "1a2b3c4d"
        );
        assert!(matches!(
            normalize_prefix("ck_xyz"),
            Err(StoreError::InvalidKeyPrefix { .. })
        ));
    }
}
