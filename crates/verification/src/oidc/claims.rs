//! The registered claims of an assertion: who issued it, for whom, about
//! whom and when ([RFC 7519 §4.1](https://www.rfc-editor.org/rfc/rfc7519#section-4.1);
//! the ID token checks of
//! [OpenID Connect Core 1.0 §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation)
//! items 2, 3, 9 and 10).

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::{ClaimsError, Issuer};

/// The longest `sub` accepted (OpenID Connect Core 1.0 §2: "It MUST NOT
/// exceed 255 ASCII characters in length").
pub const MAX_SUB_LEN: usize = 255;

/// The longest account id accepted, as for Cordon's own event format.
pub const MAX_ACCOUNT_LEN: usize = 64;

/// The longest `jti` kept for deduplication.
pub const MAX_JTI_LEN: usize = 256;

/// What the registered claims established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `iat`, if present.
    pub iat: Option<Timestamp>,
    /// `jti`, if present.
    pub jti: Option<String>,
}

/// Checks `iss`, `aud`, `exp`, `nbf`, `iat`, `sub` and `jti` against
/// `issuer` at `now`.
///
/// # Errors
/// [`ClaimsError`] naming the claim that is missing, of the wrong type, or
/// wrong.
pub(crate) fn check(
    claims: &Map<String, Value>,
    issuer: &Issuer,
    now: Timestamp,
) -> Result<Checked, ClaimsError> {
    let leeway = issuer.leeway.as_secs().max(0);
    let now_s = now.as_second();

    // RFC 7519 §4.1.1; OIDC Core §3.1.3.7 item 2: an exact match.
    let iss = string(claims, "iss")?.ok_or(ClaimsError::Missing("iss"))?;
    if iss != issuer.issuer {
        return Err(ClaimsError::WrongIssuer {
            found: iss.to_owned(),
            expected: issuer.issuer.clone(),
        });
    }

    // RFC 7519 §4.1.3; OIDC Core §3.1.3.7 item 3.
    let audiences: Vec<&str> = match claims.get("aud") {
        None | Some(Value::Null) => return Err(ClaimsError::Missing("aud")),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .ok_or(wrong_type("aud", "a string or an array of strings"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(wrong_type("aud", "a string or an array of strings")),
    };
    if !audiences.contains(&issuer.audience.as_str()) {
        return Err(ClaimsError::WrongAudience {
            found: audiences.iter().map(|a| (*a).to_owned()).collect(),
            expected: issuer.audience.clone(),
        });
    }

    // RFC 7519 §4.1.4; OIDC Core §3.1.3.7 item 9. Required: an assertion
    // without an expiry could be replayed for ever.
    let exp = numeric_date(claims, "exp")?.ok_or(ClaimsError::Missing("exp"))?;
    if now_s >= exp.as_second().saturating_add(leeway) {
        return Err(ClaimsError::Expired { exp, now, leeway });
    }

    // RFC 7519 §4.1.5.
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && nbf.as_second() > now_s.saturating_add(leeway)
    {
        return Err(ClaimsError::NotYetValid { nbf, now, leeway });
    }

    // RFC 7519 §4.1.6; OIDC Core §3.1.3.7 item 10.
    let iat = numeric_date(claims, "iat")?;
    if let Some(iat) = iat
        && iat.as_second() > now_s.saturating_add(leeway)
    {
        return Err(ClaimsError::IssuedInFuture { iat, now, leeway });
    }

    // RFC 7519 §4.1.2; OIDC Core §2 (REQUIRED, at most 255 ASCII characters).
    let sub = string(claims, "sub")?.ok_or(ClaimsError::Missing("sub"))?;
    if sub.is_empty() || sub.len() > MAX_SUB_LEN {
        return Err(ClaimsError::Invalid {
            claim: "sub".into(),
            reason: format!("it must be 1 to {MAX_SUB_LEN} bytes"),
        });
    }

    // RFC 7519 §4.1.7.
    let jti = string(claims, "jti")?;
    if let Some(j) = jti
        && (j.is_empty() || j.len() > MAX_JTI_LEN)
    {
        return Err(ClaimsError::Invalid {
            claim: "jti".into(),
            reason: format!("it must be 1 to {MAX_JTI_LEN} bytes"),
        });
    }

    Ok(Checked {
        iss: iss.to_owned(),
        sub: sub.to_owned(),
        iat,
        jti: jti.map(str::to_owned),
    })
}

/// The Cordon account the configured claim of `issuer` names in `claims`
/// (`sub`, already checked, unless another claim is configured).
///
/// # Errors
/// [`ClaimsError`] when the claim is missing, not a string, or not an
/// account id's length.
pub(crate) fn account<'a>(
    claims: &'a Map<String, Value>,
    issuer: &Issuer,
    sub: &'a str,
) -> Result<&'a str, ClaimsError> {
    let account = match issuer.account_claim.as_str() {
        "sub" => sub,
        name => match claims.get(name) {
            None | Some(Value::Null) => {
                return Err(ClaimsError::MissingAccount(name.to_owned()));
            }
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                return Err(ClaimsError::WrongType {
                    claim: name.to_owned(),
                    expected: "a string (the Cordon account id)",
                });
            }
        },
    };
    if account.is_empty() || account.len() > MAX_ACCOUNT_LEN {
        return Err(ClaimsError::Invalid {
            claim: issuer.account_claim.clone(),
            reason: format!(
                "it names the Cordon account, and an account id is 1 to {MAX_ACCOUNT_LEN} bytes"
            ),
        });
    }
    Ok(account)
}

fn wrong_type(claim: &str, expected: &'static str) -> ClaimsError {
    ClaimsError::WrongType {
        claim: claim.to_owned(),
        expected,
    }
}

/// A string claim; absent and `null` are `None`.
fn string<'a>(
    claims: &'a Map<String, Value>,
    claim: &'static str,
) -> Result<Option<&'a str>, ClaimsError> {
    match claims.get(claim) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(wrong_type(claim, "a string")),
    }
}

/// A NumericDate claim ([RFC 7519 §2](https://www.rfc-editor.org/rfc/rfc7519#section-2):
/// seconds since the epoch, possibly fractional, here truncated to whole
/// seconds towards the past).
fn numeric_date(
    claims: &Map<String, Value>,
    claim: &'static str,
) -> Result<Option<Timestamp>, ClaimsError> {
    let expected = "a NumericDate (seconds since 1970-01-01T00:00:00Z)";
    let n = match claims.get(claim) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n,
        Some(_) => return Err(wrong_type(claim, expected)),
    };
    let seconds = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        // INVARIANT: the value is finite, whole after `floor` and within
        // ±1e15, so the cast is exact.
        (None, Some(f)) if f.is_finite() && (-1e15..1e15).contains(&f) => Some(f.floor() as i64),
        _ => None,
    };
    let ts = seconds.and_then(|s| Timestamp::from_second(s).ok());
    ts.map(Some).ok_or_else(|| ClaimsError::Invalid {
        claim: claim.to_owned(),
        reason: format!("{n} is not a time Cordon can represent"),
    })
}
