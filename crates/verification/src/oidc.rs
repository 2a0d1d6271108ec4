//! Identity assertions: a signed JWT (an OpenID Connect ID token or a
//! signed UserInfo response) from a provider's own identity provider,
//! carrying `verified_claims`
//! ([OpenID Identity Assurance Schema Definition 1.0](https://openid.net/specs/openid-ida-verified-claims-1_0.html),
//! [OpenID Connect for Identity Assurance Claims Registration 1.0](https://openid.net/specs/openid-connect-4-ida-claims-1_0.html)).
//!
//! [`verify_assertion`] checks, in order and without I/O:
//!
//! 1. the token's form: at most [`MAX_TOKEN_LEN`] bytes, the compact
//!    serialization of a JWS (three base64url parts without padding), a
//!    JSON header without duplicate members ([`jws`]);
//! 2. the algorithm: an asymmetric one ([`Algorithm`]) the issuer allows —
//!    never `none`, never `HS*`;
//! 3. the key: the one the header's `kid` names in the issuer's
//!    [`Jwks`], of the type and curve the algorithm takes (or, without a
//!    `kid`, the set's only fitting key), and the signature under it;
//! 4. the registered claims ([`claims`]): `iss`, `aud`, `exp`, `nbf`,
//!    `iat`, `sub`, the account claim, `jti`;
//! 5. the `verified_claims` ([`verified`]), mapped to [`Fact`]s at the level
//!    the issuer's configuration gives their trust framework.
//!
//! Nothing in the payload is read before the signature verifies. The caller
//! fetches the issuer's JWK Set and keeps it in a [`KeyCache`], which says
//! when to fetch it again and which keys check a token during a rotation
//! ([`rotation`]); it deduplicates assertions on [`Assertion::jti`], or on
//! [`Assertion::token_sha256`] when the issuer sends no `jti`.
//!
//! [`Fact`]: crate::fact::Fact

pub mod claims;
mod json;
pub mod jwks;
pub mod jws;
pub mod rotation;
pub mod verified;

use std::collections::BTreeMap;

use cordon_jurisdiction::Jurisdictions;
use cordon_subject::VerificationLevel;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

pub use json::strict as strict_json;
pub use jwks::{Curve, Jwk, Jwks, JwksError, PublicKey, SkippedKey};
pub use jws::{Algorithm, MAX_TOKEN_LEN, Part};
pub use rotation::{Change, KeyCache, Keys, KeysUnavailable, Rotation, Trigger};

use crate::event::{Event, EventKind};
use crate::intake::sha256_hex;

/// How the `verified_claims` of one trust framework map to a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFramework {
    /// The level of facts verified under the framework, unless their
    /// `assurance_level` is listed in [`TrustFramework::assurance_levels`].
    pub level: VerificationLevel,
    /// Levels for particular `assurance_level` values (`eidas`: `low`,
    /// `substantial`, `high`).
    pub assurance_levels: BTreeMap<String, VerificationLevel>,
}

impl TrustFramework {
    /// A framework whose facts all count at `level`.
    pub fn at(level: VerificationLevel) -> Self {
        TrustFramework {
            level,
            assurance_levels: BTreeMap::new(),
        }
    }

    /// The level for facts stated with `assurance_level`.
    pub fn level_for(&self, assurance_level: Option<&str>) -> VerificationLevel {
        assurance_level
            .and_then(|a| self.assurance_levels.get(a))
            .copied()
            .unwrap_or(self.level)
    }
}

/// One configured issuer of identity assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The issuer identifier: `iss` must equal it exactly (OpenID Connect
    /// Core 1.0 §3.1.3.7 item 2).
    pub issuer: String,
    /// The audience Cordon is known by at the issuer (its client id): `aud`
    /// must contain it.
    pub audience: String,
    /// The algorithms accepted from this issuer; by default every
    /// [`Algorithm`].
    pub algorithms: Vec<Algorithm>,
    /// The clock skew allowed on `exp`, `nbf` and `iat` (negative counts
    /// as zero); by default [`Issuer::DEFAULT_LEEWAY`].
    pub leeway: SignedDuration,
    /// The trust frameworks accepted from this issuer, by their
    /// `trust_framework` value, and the level each gives; a framework not
    /// listed is refused. Empty by default: the operator says which
    /// frameworks it trusts this issuer to apply.
    pub trust_frameworks: BTreeMap<String, TrustFramework>,
    /// The claim naming the Cordon account; `sub` by default, or a claim
    /// such as `cordon_account` that the issuer adds.
    pub account_claim: String,
    /// A boolean claim inside `verified_claims.claims` that states
    /// `us_person`, for an organisation's directory that verifies its staff
    /// in bulk. No standard defines such a claim: naming one is the
    /// operator's decision to take the issuer's word for the U.S.-person
    /// determination. `None` by default.
    pub us_person_claim: Option<String>,
}

impl Issuer {
    /// The default leeway: 60 seconds.
    pub const DEFAULT_LEEWAY: SignedDuration = SignedDuration::from_secs(60);

    /// An issuer with the defaults: every algorithm, 60 s of leeway, no
    /// trust framework, the account in `sub`, no `us_person` claim.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Issuer {
        Issuer {
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: Algorithm::ALL.to_vec(),
            leeway: Self::DEFAULT_LEEWAY,
            trust_frameworks: BTreeMap::new(),
            account_claim: "sub".into(),
            us_person_claim: None,
        }
    }
}

/// An assertion that checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    /// The event: `Completed`, for the account the account claim names,
    /// with the facts of `verified_claims`, `object_id` `iss#sub` and
    /// `event_time` `iat`.
    pub event: Event,
    /// The token's `jti`, if it has one: the key to deduplicate on.
    pub jti: Option<String>,
    /// SHA-256 of the token as received, hex: the key to deduplicate on
    /// without a `jti`, and the evidence rows' `payload_sha256`.
    pub token_sha256: String,
}

/// Why a token's form, algorithm, key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is longer than [`MAX_TOKEN_LEN`].
    #[error("the token is {len} bytes; at most {MAX_TOKEN_LEN} are accepted")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The token is not three `.`-separated parts.
    #[error(
        "a signed JWT in compact form has 3 parts separated by `.`; this token has {found}{}",
        if *.found == 5 { " (an encrypted JWT, which is not accepted)" } else { "" }
    )]
    Segments {
        /// How many parts it has.
        found: usize,
    },
    /// A part is not base64url without padding.
    #[error("the token's {part} is not base64url without padding: {reason}")]
    Base64 {
        /// The part.
        part: Part,
        /// What the decoder reported.
        reason: String,
    },
    /// The header or payload is not a JSON object.
    #[error("the token's {part} is not a JSON object: {reason}")]
    Json {
        /// The part.
        part: Part,
        /// What is wrong.
        reason: String,
    },
    /// A header parameter is missing, malformed or refused.
    #[error("the token's header parameter `{parameter}` is not acceptable: {reason}")]
    Header {
        /// The parameter.
        parameter: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `alg: none`.
    #[error("the token is unsigned (`alg` is `none`); only signed tokens are accepted")]
    Unsigned,
    /// An HMAC algorithm.
    #[error(
        "the algorithm `{alg}` is refused: it is symmetric (HMAC), and an issuer's keys are public, so an HMAC keyed with them proves nothing"
    )]
    Symmetric {
        /// The `alg` value.
        alg: String,
    },
    /// An algorithm Cordon does not implement.
    #[error(
        "the algorithm `{alg}` is not supported (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 and EdDSA are)"
    )]
    UnsupportedAlgorithm {
        /// The `alg` value.
        alg: String,
    },
    /// An algorithm the issuer's configuration does not allow.
    #[error("the algorithm `{alg}` is not allowed for this issuer (allowed: {allowed})")]
    AlgorithmNotAllowed {
        /// The algorithm.
        alg: Algorithm,
        /// The algorithms allowed, comma-separated.
        allowed: String,
    },
    /// The header's `kid` is not in the issuer's JWK Set.
    #[error("the key `{kid}` is not in the issuer's JWK Set")]
    UnknownKid {
        /// The `kid`.
        kid: String,
    },
    /// The header's `kid` names a key the set holds but Cordon cannot use.
    #[error("the key `{kid}` in the issuer's JWK Set cannot be used: {reason}")]
    UnusableKey {
        /// The `kid`.
        kid: String,
        /// Why.
        reason: String,
    },
    /// The header's `kid` names a key that does not fit its `alg`.
    #[error("the key `{kid}` cannot verify `{alg}`: {reason}")]
    KeyMismatch {
        /// The `kid`.
        kid: String,
        /// The token's algorithm.
        alg: Algorithm,
        /// Why not.
        reason: String,
    },
    /// No `kid`, and no key fits the algorithm.
    #[error("the token names no `kid` and no key of the issuer's JWK Set fits `{alg}`")]
    NoKey {
        /// The token's algorithm.
        alg: Algorithm,
    },
    /// More than one key fits and the token does not say which.
    #[error(
        "{count} keys of the issuer's JWK Set fit `{alg}` and the token's `kid` does not pick one"
    )]
    AmbiguousKey {
        /// The token's algorithm.
        alg: Algorithm,
        /// How many keys fit.
        count: usize,
    },
    /// The signature does not verify.
    #[error("the signature does not verify with the key {key}")]
    BadSignature {
        /// The key tried: `` `kid` `` or `(without kid)`.
        key: String,
    },
}

/// Why the registered claims were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// A required claim is absent.
    #[error("the claim `{0}` is missing")]
    Missing(&'static str),
    /// The configured account claim is absent.
    #[error("the claim `{0}`, which names the Cordon account, is missing")]
    MissingAccount(String),
    /// A claim has the wrong JSON type.
    #[error("the claim `{claim}` must be {expected}")]
    WrongType {
        /// The claim.
        claim: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A claim's value is not acceptable.
    #[error("the claim `{claim}` is invalid: {reason}")]
    Invalid {
        /// The claim.
        claim: String,
        /// What is wrong.
        reason: String,
    },
    /// `iss` is not the configured issuer.
    #[error("`iss` `{found}` is not the configured issuer `{expected}`")]
    WrongIssuer {
        /// The `iss` found.
        found: String,
        /// The issuer configured.
        expected: String,
    },
    /// `aud` does not include Cordon's audience.
    #[error("`aud` {found:?} does not include `{expected}`")]
    WrongAudience {
        /// The audiences found.
        found: Vec<String>,
        /// The audience configured.
        expected: String,
    },
    /// `exp` has passed.
    #[error("the token expired at {exp} (`exp`; now {now}, leeway {leeway} s)")]
    Expired {
        /// `exp`.
        exp: Timestamp,
        /// The time of the check.
        now: Timestamp,
        /// The leeway, in seconds.
        leeway: i64,
    },
    /// `nbf` is in the future.
    #[error("the token is not valid before {nbf} (`nbf`; now {now}, leeway {leeway} s)")]
    NotYetValid {
        /// `nbf`.
        nbf: Timestamp,
        /// The time of the check.
        now: Timestamp,
        /// The leeway, in seconds.
        leeway: i64,
    },
    /// `iat` is in the future.
    #[error(
        "the token says it was issued at {iat} (`iat`), in the future (now {now}, leeway {leeway} s)"
    )]
    IssuedInFuture {
        /// `iat`.
        iat: Timestamp,
        /// The time of the check.
        now: Timestamp,
        /// The leeway, in seconds.
        leeway: i64,
    },
}

/// Why the `verified_claims` could not be mapped to facts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifiedClaimsError {
    /// The token carries no `verified_claims`.
    #[error(
        "the token has no `verified_claims`; claims outside `verified_claims` say nothing of how they were verified and are not evidence"
    )]
    Absent,
    /// The `verified_claims` are aggregated or distributed claims.
    #[error(
        "the token's `verified_claims` are aggregated or distributed claims (`_claim_names`); Cordon reads only `verified_claims` carried in the token itself"
    )]
    External,
    /// A required member is absent.
    #[error("`{path}` is missing")]
    Missing {
        /// Its path.
        path: String,
    },
    /// A member has the wrong JSON type.
    #[error("`{path}` must be {expected}")]
    WrongType {
        /// Its path.
        path: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A member's value is not acceptable.
    #[error("`{path}` is invalid: {reason}")]
    Invalid {
        /// Its path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A trust framework the issuer is not configured with.
    #[error(
        "`{path}` is `{framework}`, a trust framework not configured for this issuer (configured: {configured})"
    )]
    UnknownTrustFramework {
        /// The path of the `trust_framework` member.
        path: String,
        /// The framework named.
        framework: String,
        /// The frameworks configured, comma-separated, or `none`.
        configured: String,
    },
    /// Two `verified_claims` elements give different values for one
    /// single-valued attribute.
    #[error("the `verified_claims` elements disagree about `{attribute}`: {first} and {second}")]
    Conflict {
        /// The subject field.
        attribute: &'static str,
        /// One value.
        first: Value,
        /// The other.
        second: Value,
    },
    /// Nothing Cordon reads is in the `verified_claims`.
    #[error(
        "the `verified_claims` state nothing Cordon reads (`nationalities`, `address.country_code`, `birthdate`, `given_name`, `family_name`, `name`{})",
        match .us_person_claim { Some(c) => format!(", `{c}`"), None => String::new() }
    )]
    NoFacts {
        /// The configured `us_person` claim, if any.
        us_person_claim: Option<String>,
    },
    /// The facts do not make a valid subject (docs/subjects.md).
    #[error("the facts stated do not make a valid subject: {0}")]
    Subject(String),
    /// The embedded jurisdiction tables did not load.
    #[error("the jurisdiction tables did not load: {0}")]
    Tables(String),
}

/// Why an assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// The token's form, algorithm, key or signature.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The registered claims.
    #[error(transparent)]
    Claims(#[from] ClaimsError),
    /// The `verified_claims`.
    #[error(transparent)]
    VerifiedClaims(#[from] VerifiedClaimsError),
}

impl AssertionError {
    /// Whether the token names a key the cached JWK Set lacks, so that the
    /// issuer may have rotated its keys: the caller asks its [`KeyCache`]
    /// (with [`Trigger::UnknownKey`]) whether to fetch the set again, and
    /// verifies the token once more against what it then holds.
    pub fn wants_new_keys(&self) -> bool {
        matches!(
            self,
            AssertionError::Token(TokenError::UnknownKid { .. } | TokenError::NoKey { .. })
        )
    }
}

/// An ID token whose signature and registered claims checked, its other
/// claims not yet read: what a login needs, before any `verified_claims`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdToken {
    /// `iss`, equal to the configured issuer.
    pub iss: String,
    /// `sub`: with `iss`, the one stable identity of the person.
    pub sub: String,
    /// `iat`, if present.
    pub iat: Option<Timestamp>,
    /// `jti`, if present.
    pub jti: Option<String>,
    /// Every claim of the payload, for the caller's own checks (`nonce`,
    /// `azp`, a role claim).
    pub claims: serde_json::Map<String, Value>,
}

/// Verifies the form, algorithm, key, signature and registered claims
/// (`iss`, `aud`, `exp`, `nbf`, `iat`, `sub`, `jti`) of a JWT from
/// `issuer`, whose keys are `jwks`, at `now`: steps 1 to 4 of
/// [`verify_assertion`] without the account claim.
///
/// Follows [RFC 7515 §5.2](https://www.rfc-editor.org/rfc/rfc7515#section-5.2)
/// and [OpenID Connect Core 1.0 §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation)
/// items 2, 3, 6, 9 and 10; the caller checks the rest (`azp`, `nonce`).
///
/// # Errors
/// [`AssertionError::Token`] or [`AssertionError::Claims`], naming the
/// part, header parameter, key or claim that was wrong.
pub fn verify_id_token(
    token: &str,
    issuer: &Issuer,
    jwks: &Jwks,
    now: Timestamp,
) -> Result<IdToken, AssertionError> {
    let compact = jws::split(token)?;
    if !issuer.algorithms.contains(&compact.alg) {
        let allowed: Vec<&str> = issuer.algorithms.iter().map(|a| a.as_str()).collect();
        return Err(TokenError::AlgorithmNotAllowed {
            alg: compact.alg,
            allowed: if allowed.is_empty() {
                "none".into()
            } else {
                allowed.join(", ")
            },
        }
        .into());
    }
    let key = jwks.select(compact.kid.as_deref(), compact.alg)?;
    if !key.verify(compact.alg, compact.signing_input, &compact.signature) {
        return Err(TokenError::BadSignature {
            key: match &key.kid {
                Some(kid) => format!("`{kid}`"),
                None => "(without kid)".into(),
            },
        }
        .into());
    }
    let payload = json::b64url(compact.payload).map_err(|reason| TokenError::Base64 {
        part: Part::Payload,
        reason,
    })?;
    let Value::Object(claims) = json::strict(&payload).map_err(|reason| TokenError::Json {
        part: Part::Payload,
        reason,
    })?
    else {
        return Err(TokenError::Json {
            part: Part::Payload,
            reason: "it is not a JSON object".into(),
        }
        .into());
    };
    let checked = claims::check(&claims, issuer, now)?;
    Ok(IdToken {
        iss: checked.iss,
        sub: checked.sub,
        iat: checked.iat,
        jti: checked.jti,
        claims,
    })
}

/// Verifies an identity assertion from `issuer`, whose keys are `jwks`, at
/// `now`, and maps its `verified_claims` to an event (see the module docs
/// for the checks, and docs/verification-oidc.md).
///
/// Follows [RFC 7519 §7.2](https://www.rfc-editor.org/rfc/rfc7519#section-7.2)
/// and [RFC 7515 §5.2](https://www.rfc-editor.org/rfc/rfc7515#section-5.2),
/// with the ID token checks of
/// [OpenID Connect Core 1.0 §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation)
/// and the best practices of [RFC 8725](https://www.rfc-editor.org/rfc/rfc8725).
///
/// # Errors
/// [`AssertionError`]: what was wrong with the token, naming the part,
/// header parameter, key, claim or `verified_claims` member.
pub fn verify_assertion(
    token: &str,
    issuer: &Issuer,
    jwks: &Jwks,
    now: Timestamp,
) -> Result<Assertion, AssertionError> {
    let checked = verify_id_token(token, issuer, jwks, now)?;
    let account = claims::account(&checked.claims, issuer, &checked.sub)?.to_owned();
    let jurisdictions =
        Jurisdictions::embedded().map_err(|e| VerifiedClaimsError::Tables(e.to_string()))?;
    let facts = verified::facts(&checked.claims, issuer, jurisdictions)?;
    Ok(Assertion {
        event: Event {
            account,
            kind: EventKind::Completed,
            facts,
            object_id: Some(format!("{}#{}", checked.iss, checked.sub)),
            event_time: checked.iat,
        },
        jti: checked.jti,
        token_sha256: sha256_hex(token.as_bytes()),
    })
}

#[cfg(test)]
mod tests;
