//! An issuer's public keys: a JWK Set
//! ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)) of RSA
//! ([RFC 7518 §6.3.1](https://www.rfc-editor.org/rfc/rfc7518#section-6.3.1)),
//! EC ([RFC 7518 §6.2.1](https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1))
//! and OKP Ed25519 ([RFC 8037 §2](https://www.rfc-editor.org/rfc/rfc8037#section-2))
//! keys, and the choice of the key that verifies a token. When to fetch the
//! set again is [`super::rotation`]'s.
//!
//! A key Cordon cannot use (an unknown `kty` or curve, a symmetric or
//! encryption key, a short RSA modulus, private key material, a malformed
//! member) is set aside with the reason, as RFC 7517 §5 asks ("ignore JWKs
//! … that use `kty` values that are not understood"), rather than failing
//! the whole set: one bad key must not lock every user of an issuer out. A
//! token naming a set-aside key is refused with that reason.

use std::fmt;

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::TokenError;
use super::json;
use super::jws::Algorithm;

/// The largest JWK Set accepted, in bytes.
pub const MAX_JWKS_LEN: usize = 256 * 1024;

/// The most keys a set may hold.
pub const MAX_KEYS: usize = 100;

/// The smallest RSA modulus accepted, in bits
/// ([RFC 7518 §3.3](https://www.rfc-editor.org/rfc/rfc7518#section-3.3)).
pub const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus accepted, in bits (`ring`'s limit).
pub const MAX_RSA_BITS: usize = 8192;

/// An elliptic curve of an EC key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256 (`crv: P-256`), for ES256.
    P256,
    /// NIST P-384 (`crv: P-384`), for ES384.
    P384,
}

impl Curve {
    /// The `crv` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    /// The length of one coordinate, in bytes.
    fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// The public key material of a JWK.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// An RSA key (`kty: RSA`).
    Rsa {
        /// The modulus, big-endian, without leading zero bytes.
        n: Vec<u8>,
        /// The public exponent, big-endian, without leading zero bytes.
        e: Vec<u8>,
    },
    /// An EC key (`kty: EC`).
    Ec {
        /// The curve.
        curve: Curve,
        /// The point, uncompressed: `0x04 ‖ x ‖ y`.
        point: Vec<u8>,
    },
    /// An Ed25519 key (`kty: OKP`, `crv: Ed25519`).
    Ed25519([u8; 32]),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKey::Rsa { n, .. } => write!(f, "Rsa({} bits)", rsa_bits(n)),
            PublicKey::Ec { curve, .. } => write!(f, "Ec({})", curve.as_str()),
            PublicKey::Ed25519(_) => f.write_str("Ed25519"),
        }
    }
}

impl PublicKey {
    /// A description for messages: `an RSA key`, `a P-256 EC key`.
    fn describe(&self) -> String {
        match self {
            PublicKey::Rsa { .. } => "an RSA key".into(),
            PublicKey::Ec { curve, .. } => format!("a {} EC key", curve.as_str()),
            PublicKey::Ed25519(_) => "an Ed25519 key".into(),
        }
    }
}

/// One usable key of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// Its `kid`, if it has one.
    pub kid: Option<String>,
    /// The `alg` it is restricted to, if the set states one.
    pub alg: Option<String>,
    /// The key.
    pub key: PublicKey,
}

/// A key of a set that Cordon cannot use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Its position in `keys`, from 0.
    pub index: usize,
    /// Its `kid`, if it has a string one.
    pub kid: Option<String>,
    /// Why it cannot be used.
    pub reason: String,
}

/// An issuer's keys as a JWK Set states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<Jwk>,
    skipped: Vec<SkippedKey>,
}

/// Why a JWK Set could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    /// The document is larger than [`MAX_JWKS_LEN`].
    #[error("the JWK Set is {len} bytes; at most {MAX_JWKS_LEN} are accepted")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The document is not JSON (or repeats a member name).
    #[error("the JWK Set is not JSON: {reason}")]
    Json {
        /// What the parser reported.
        reason: String,
    },
    /// The document is not an object with a `keys` array.
    #[error("the JWK Set must be a JSON object with a `keys` array (RFC 7517 §5)")]
    Shape,
    /// The set holds more than [`MAX_KEYS`] keys.
    #[error("the JWK Set holds {count} keys; at most {MAX_KEYS} are accepted")]
    TooManyKeys {
        /// How many it holds.
        count: usize,
    },
    /// No key of the set can verify a signature.
    #[error("the JWK Set has no usable signature key{}", describe_skipped(.skipped))]
    NoUsableKey {
        /// The keys set aside, with their reasons.
        skipped: Vec<SkippedKey>,
    },
}

fn describe_skipped(skipped: &[SkippedKey]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let each: Vec<String> = skipped
        .iter()
        .map(|s| match &s.kid {
            Some(kid) => format!("`{kid}`: {}", s.reason),
            None => format!("keys[{}]: {}", s.index, s.reason),
        })
        .collect();
    format!(" ({})", each.join("; "))
}

impl Jwks {
    /// Parses a JWK Set document
    /// ([RFC 7517 §5](https://www.rfc-editor.org/rfc/rfc7517#section-5)).
    /// Keys Cordon cannot use are set aside with their reasons
    /// ([`Jwks::skipped`]); members it does not know are ignored.
    ///
    /// # Errors
    /// [`JwksError`]: the document is too large, not JSON, not a set, holds
    /// too many keys, or holds no usable key.
    pub fn parse(bytes: &[u8]) -> Result<Jwks, JwksError> {
        if bytes.len() > MAX_JWKS_LEN {
            return Err(JwksError::TooLarge { len: bytes.len() });
        }
        let doc = json::strict(bytes).map_err(|reason| JwksError::Json { reason })?;
        let Some(Value::Array(items)) = doc.as_object().and_then(|o| o.get("keys")) else {
            return Err(JwksError::Shape);
        };
        if items.len() > MAX_KEYS {
            return Err(JwksError::TooManyKeys { count: items.len() });
        }
        let mut set = Jwks {
            keys: Vec::new(),
            skipped: Vec::new(),
        };
        for (index, item) in items.iter().enumerate() {
            let kid = item.get("kid").and_then(Value::as_str).map(str::to_owned);
            match jwk(item) {
                Ok(key) => set.keys.push(key),
                Err(reason) => set.skipped.push(SkippedKey { index, kid, reason }),
            }
        }
        if set.keys.is_empty() {
            return Err(JwksError::NoUsableKey {
                skipped: set.skipped,
            });
        }
        Ok(set)
    }

    /// The usable keys, in the set's order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The keys set aside, with their reasons.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// The key that verifies a token with `alg` and `kid`
    /// ([RFC 7515 §4.1.4](https://www.rfc-editor.org/rfc/rfc7515#section-4.1.4),
    /// [RFC 7517 §4.5](https://www.rfc-editor.org/rfc/rfc7517#section-4.5)):
    /// with a `kid`, the one key of that id that fits `alg`; without one,
    /// the set's only key that fits `alg`.
    ///
    /// # Errors
    /// [`TokenError::UnknownKid`], [`TokenError::UnusableKey`],
    /// [`TokenError::KeyMismatch`], [`TokenError::NoKey`] or
    /// [`TokenError::AmbiguousKey`].
    pub fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Jwk, TokenError> {
        let Some(kid) = kid else {
            let fitting: Vec<&Jwk> = self.keys.iter().filter(|k| k.fits(alg).is_ok()).collect();
            return match fitting.as_slice() {
                [one] => Ok(one),
                [] => Err(TokenError::NoKey { alg }),
                many => Err(TokenError::AmbiguousKey {
                    alg,
                    count: many.len(),
                }),
            };
        };
        let named: Vec<&Jwk> = self
            .keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .collect();
        if named.is_empty() {
            if let Some(s) = self.skipped.iter().find(|s| s.kid.as_deref() == Some(kid)) {
                return Err(TokenError::UnusableKey {
                    kid: kid.to_owned(),
                    reason: s.reason.clone(),
                });
            }
            return Err(TokenError::UnknownKid {
                kid: kid.to_owned(),
            });
        }
        let mut reasons = Vec::new();
        let mut fitting = Vec::new();
        for k in named {
            match k.fits(alg) {
                Ok(()) => fitting.push(k),
                Err(reason) => reasons.push(reason),
            }
        }
        match fitting.as_slice() {
            [one] => Ok(one),
            [] => Err(TokenError::KeyMismatch {
                kid: kid.to_owned(),
                alg,
                reason: reasons.join("; "),
            }),
            many => Err(TokenError::AmbiguousKey {
                alg,
                count: many.len(),
            }),
        }
    }
}

impl Jwk {
    /// Whether this key may verify `alg`: its type and curve must be the
    /// ones `alg` takes, and an `alg` the set states for it must be `alg`
    /// ([RFC 8725 §3.1](https://www.rfc-editor.org/rfc/rfc8725#section-3.1)).
    ///
    /// # Errors
    /// Why not, as a phrase (`it is an RSA key`).
    pub fn fits(&self, alg: Algorithm) -> Result<(), String> {
        let kind_fits = match (&self.key, alg) {
            (PublicKey::Rsa { .. }, a) => a.is_rsa(),
            (PublicKey::Ec { curve, .. }, Algorithm::Es256) => *curve == Curve::P256,
            (PublicKey::Ec { curve, .. }, Algorithm::Es384) => *curve == Curve::P384,
            (PublicKey::Ed25519(_), Algorithm::EdDsa) => true,
            _ => false,
        };
        if !kind_fits {
            return Err(format!("it is {}", self.key.describe()));
        }
        match &self.alg {
            Some(stated) if stated != alg.as_str() => {
                Err(format!("the set restricts it to `{stated}`"))
            }
            _ => Ok(()),
        }
    }

    /// Whether `signature` is this key's signature with `alg` over
    /// `message`. The caller has checked [`Jwk::fits`].
    pub fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        match &self.key {
            PublicKey::Rsa { n, e } => {
                let params = match alg {
                    Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Algorithm::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                    Algorithm::Es256 | Algorithm::Es384 | Algorithm::EdDsa => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            PublicKey::Ec { curve, point } => {
                let params = match (alg, curve) {
                    (Algorithm::Es256, Curve::P256) => &signature::ECDSA_P256_SHA256_FIXED,
                    (Algorithm::Es384, Curve::P384) => &signature::ECDSA_P384_SHA384_FIXED,
                    _ => return false,
                };
                UnparsedPublicKey::new(params, point)
                    .verify(message, sig)
                    .is_ok()
            }
            PublicKey::Ed25519(x) => {
                alg == Algorithm::EdDsa
                    && UnparsedPublicKey::new(&signature::ED25519, x)
                        .verify(message, sig)
                        .is_ok()
            }
        }
    }
}

/// Reads one JWK, or says why it cannot be used.
fn jwk(item: &Value) -> Result<Jwk, String> {
    let Value::Object(o) = item else {
        return Err("it is not a JSON object".into());
    };
    let text = |name: &str| -> Result<Option<&str>, String> {
        match o.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("`{name}` is not a string")),
        }
    };
    let kid = text("kid")?.map(str::to_owned);
    let alg = text("alg")?.map(str::to_owned);
    let kty = text("kty")?.ok_or("it has no `kty`")?;
    // RFC 7517 §4.2–4.3: a key marked for encryption, or whose operations
    // do not include verifying, is not a signature key.
    if let Some(usage) = text("use")?
        && usage != "sig"
    {
        return Err(format!("it is not a signature key (`use`: `{usage}`)"));
    }
    if let Some(ops) = o.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|op| op.as_str() == Some("verify")));
        if !verify {
            return Err("its `key_ops` do not include `verify`".into());
        }
    }
    // A public set that carries a private key is a mistake; whoever made it
    // may have published it elsewhere too.
    if o.contains_key("d") {
        return Err("it holds private key material (`d`)".into());
    }
    let key = match kty {
        "RSA" => rsa(o)?,
        "EC" => ec(o, text("crv")?)?,
        "OKP" => okp(o, text("crv")?)?,
        "oct" => return Err("symmetric (`oct`) keys are never used to verify tokens".into()),
        other => return Err(format!("the key type `{other}` is not supported")),
    };
    Ok(Jwk { kid, alg, key })
}

fn member(o: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text = o
        .get(name)
        .ok_or_else(|| format!("it has no `{name}`"))?
        .as_str()
        .ok_or_else(|| format!("`{name}` is not a string"))?;
    json::b64url(text).map_err(|e| format!("`{name}` is not base64url without padding: {e}"))
}

fn rsa(o: &Map<String, Value>) -> Result<PublicKey, String> {
    // RFC 7518 §6.3.1.1 asks for the minimal encoding; a leading zero byte
    // (emitted by some libraries) carries no meaning and is dropped.
    let n = strip_zeros(member(o, "n")?);
    let e = strip_zeros(member(o, "e")?);
    let bits = rsa_bits(&n);
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "its RSA modulus has {bits} bits; at least {MIN_RSA_BITS} are required"
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "its RSA modulus has {bits} bits; at most {MAX_RSA_BITS} are supported"
        ));
    }
    if e.is_empty() || e.len() > 4 || e.last().is_none_or(|b| b % 2 == 0) {
        return Err("its RSA exponent `e` is not an odd number of at most 32 bits".into());
    }
    Ok(PublicKey::Rsa { n, e })
}

fn ec(o: &Map<String, Value>, crv: Option<&str>) -> Result<PublicKey, String> {
    let curve = match crv {
        Some("P-256") => Curve::P256,
        Some("P-384") => Curve::P384,
        Some(other) => return Err(format!("the EC curve `{other}` is not supported")),
        None => return Err("it has no `crv`".into()),
    };
    let x = member(o, "x")?;
    let y = member(o, "y")?;
    let len = curve.coordinate_len();
    // RFC 7518 §6.2.1.2–3: each coordinate is the full size of the curve's
    // field element.
    if x.len() != len || y.len() != len {
        return Err(format!(
            "a {} coordinate is {len} bytes, `x` is {} and `y` {}",
            curve.as_str(),
            x.len(),
            y.len()
        ));
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(PublicKey::Ec { curve, point })
}

fn okp(o: &Map<String, Value>, crv: Option<&str>) -> Result<PublicKey, String> {
    match crv {
        Some("Ed25519") => {}
        Some(other) => return Err(format!("the OKP curve `{other}` is not supported")),
        None => return Err("it has no `crv`".into()),
    }
    let x = member(o, "x")?;
    let x: [u8; 32] = x
        .try_into()
        .map_err(|x: Vec<u8>| format!("an Ed25519 `x` is 32 bytes, this one {}", x.len()))?;
    Ok(PublicKey::Ed25519(x))
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// The bit length of a big-endian number without leading zero bytes.
fn rsa_bits(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(first) => (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}
