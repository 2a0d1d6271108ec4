//! Start links: where a refused customer begins verifying, signed so that
//! a link made for one account cannot be used for another, and expiring.
//!
//! A link is the configured start URL with `account`, `way` (the source to
//! verify with), `expires` (unix seconds) and `sig`, the unpadded base64url
//! HMAC-SHA256 of `account \n way \n expires` under the link secret. The
//! operator's start page checks it with [`verify`] (or the same three
//! lines in any language) before it starts a verification for `account`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jiff::Timestamp;
use ring::hmac;

fn message(account: &str, way: &str, expires: i64) -> String {
    format!("{account}\n{way}\n{expires}")
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The start link for `account` to verify with `way`, valid until
/// `expires`.
pub fn sign(
    key: &hmac::Key,
    start_url: &str,
    account: &str,
    way: &str,
    expires: Timestamp,
) -> String {
    let secs = expires.as_second();
    let tag = hmac::sign(key, message(account, way, secs).as_bytes());
    let sep = if start_url.contains('?') { '&' } else { '?' };
    format!(
        "{start_url}{sep}account={}&way={}&expires={secs}&sig={}",
        encode(account),
        encode(way),
        B64URL.encode(tag.as_ref())
    )
}

/// Why a start link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match the account, way and expiry.
    #[error("the link's signature does not match its account, way and expiry")]
    BadSignature,
    /// The link has expired.
    #[error("the link expired at {0}")]
    Expired(Timestamp),
}

/// Checks a start link's fields (already URL-decoded) at `now`.
///
/// # Errors
/// [`LinkError`].
pub fn verify(
    key: &hmac::Key,
    account: &str,
    way: &str,
    expires: i64,
    sig: &str,
    now: Timestamp,
) -> Result<(), LinkError> {
    let tag = B64URL.decode(sig).map_err(|_| LinkError::BadSignature)?;
    hmac::verify(key, message(account, way, expires).as_bytes(), &tag)
        .map_err(|_| LinkError::BadSignature)?;
    let at = Timestamp::from_second(expires).map_err(|_| LinkError::BadSignature)?;
    if now >= at {
        return Err(LinkError::Expired(at));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> hmac::Key {
        hmac::Key::new(hmac::HMAC_SHA256, b"link secret of the operator")
    }

    fn field<'a>(url: &'a str, name: &str) -> &'a str {
        url.split(['?', '&'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
    }

    #[test]
    fn a_link_verifies_for_its_account_only_and_until_it_expires() {
        let exp: Timestamp = "2026-12-08T00:00:00Z".parse().unwrap();
        let url = sign(
            &key(),
            "https://verify.example/start",
            "acct_1",
            "demo-kyc",
            exp,
        );
        assert!(
            url.starts_with("https://verify.example/start?account=acct_1&way=demo-kyc&expires=")
        );
        let sig = field(&url, "sig");
        let secs = exp.as_second();
        let before: Timestamp = "2026-12-07T00:00:00Z".parse().unwrap();
        assert_eq!(
            verify(&key(), "acct_1", "demo-kyc", secs, sig, before),
            Ok(())
        );
        assert_eq!(
            verify(&key(), "acct_2", "demo-kyc", secs, sig, before),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(&key(), "acct_1", "demo-kyc", secs + 3600, sig, before),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(&key(), "acct_1", "demo-kyc", secs, sig, exp),
            Err(LinkError::Expired(exp))
        );
    }

    #[test]
    fn account_ids_are_escaped() {
        let exp: Timestamp = "2026-12-08T00:00:00Z".parse().unwrap();
        let url = sign(&key(), "https://v.example/s?x=1", "a&b c", "w", exp);
        assert!(url.contains("?x=1&account=a%26b%20c&way=w"), "{url}");
    }
}
