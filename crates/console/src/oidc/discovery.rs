//! The provider's discovery document
//! ([OpenID Connect Discovery 1.0 §3, §4](https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata)):
//! where to send the browser, where to exchange the code, and where the
//! keys are.

use serde_json::{Map, Value};

use super::LoginError;
use super::http::acceptable_url;

/// The path of the discovery document under the issuer (Discovery §4).
pub const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// What the console reads of the discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// `authorization_endpoint`: where the browser is sent.
    pub authorization_endpoint: String,
    /// `token_endpoint`: where the code is exchanged.
    pub token_endpoint: String,
    /// `jwks_uri`: the provider's JWK Set.
    pub jwks_uri: String,
}

/// The discovery document's URL for `issuer` (Discovery §4.1: the issuer,
/// less a trailing `/`, then the well-known path).
pub fn url(issuer: &str) -> String {
    format!("{}{WELL_KNOWN}", issuer.trim_end_matches('/'))
}

/// Reads a discovery document for `issuer`.
///
/// Its `issuer` must equal the configured one exactly (Discovery §4.3),
/// each endpoint must be `https` (or `http` to a loopback host), and a
/// provider that lists `code_challenge_methods_supported` must list `S256`.
///
/// # Errors
/// [`LoginError::Discovery`] naming the member that is missing or wrong.
pub fn parse(bytes: &[u8], issuer: &str) -> Result<Discovery, LoginError> {
    let Value::Object(doc) = cordon_verification::oidc::strict_json(bytes)
        .map_err(|e| LoginError::Discovery(format!("it is not JSON: {e}")))?
    else {
        return Err(LoginError::Discovery("it is not a JSON object".into()));
    };
    let found = text(&doc, "issuer")?;
    if found != issuer {
        return Err(LoginError::Discovery(format!(
            "its `issuer` is `{found}`, not the configured `{issuer}`"
        )));
    }
    if let Some(methods) = doc.get("code_challenge_methods_supported") {
        let lists_s256 = methods
            .as_array()
            .is_some_and(|m| m.iter().any(|v| v.as_str() == Some("S256")));
        if !lists_s256 {
            return Err(LoginError::Discovery(
                "its `code_challenge_methods_supported` does not list `S256`".into(),
            ));
        }
    }
    Ok(Discovery {
        authorization_endpoint: endpoint(&doc, "authorization_endpoint")?,
        token_endpoint: endpoint(&doc, "token_endpoint")?,
        jwks_uri: endpoint(&doc, "jwks_uri")?,
    })
}

fn text<'a>(doc: &'a Map<String, Value>, member: &str) -> Result<&'a str, LoginError> {
    match doc.get(member) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(LoginError::Discovery(format!(
            "its `{member}` is not a non-empty string"
        ))),
        None => Err(LoginError::Discovery(format!("it has no `{member}`"))),
    }
}

fn endpoint(doc: &Map<String, Value>, member: &str) -> Result<String, LoginError> {
    let url = text(doc, member)?;
    // A fragment would be dropped by the browser or mangle the query the
    // console appends (RFC 6749 §3.1).
    if url.contains('#') {
        return Err(LoginError::Discovery(format!(
            "its `{member}` `{url}` has a fragment"
        )));
    }
    acceptable_url(url)
        .map_err(|reason| LoginError::Discovery(format!("its `{member}` `{url}`: {reason}")))?;
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    const ISSUER: &str = "https://login.example.com/realms/cordon";

    fn doc(change: impl FnOnce(&mut Map<String, Value>)) -> Vec<u8> {
        let mut d = serde_json::json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://login.example.com/auth?realm=cordon",
            "token_endpoint": "https://login.example.com/token",
            "jwks_uri": "https://login.example.com/keys",
            "code_challenge_methods_supported": ["plain", "S256"],
        });
        change(d.as_object_mut().unwrap());
        serde_json::to_vec(&d).unwrap()
    }

    #[test]
    fn a_discovery_document_reads() {
        let d = parse(&doc(|_| {}), ISSUER).unwrap();
        assert_eq!(
            d.authorization_endpoint,
            "https://login.example.com/auth?realm=cordon"
        );
        assert_eq!(d.jwks_uri, "https://login.example.com/keys");
        assert_eq!(
            url(&format!("{ISSUER}/")),
            format!("{ISSUER}/.well-known/openid-configuration")
        );
    }

    #[test]
    fn wrong_documents_are_refused_naming_the_member() {
        let cases: [(Vec<u8>, &str); 6] = [
            (
                doc(|d| drop(d.remove("token_endpoint"))),
                "`token_endpoint`",
            ),
            (
                doc(|d| drop(d.insert("issuer".into(), "https://evil.example".into()))),
                "`issuer`",
            ),
            (
                doc(|d| drop(d.insert("jwks_uri".into(), "http://keys.example.com/".into()))),
                "`jwks_uri`",
            ),
            (
                doc(|d| {
                    drop(d.insert(
                        "code_challenge_methods_supported".into(),
                        serde_json::json!(["plain"]),
                    ))
                }),
                "`S256`",
            ),
            (
                br#"{"issuer": "a", "issuer": "b"}"#.to_vec(),
                "appears twice",
            ),
            (b"[]".to_vec(), "not a JSON object"),
        ];
        for (bytes, named) in cases {
            let e = parse(&bytes, ISSUER).unwrap_err().to_string();
            assert!(e.contains(named), "{e}");
        }
    }
}
