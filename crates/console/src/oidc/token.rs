//! The token request and its answer
//! ([OpenID Connect Core 1.0 §3.1.3.1–§3.1.3.4](https://openid.net/specs/openid-connect-core-1_0.html#TokenEndpoint),
//! [RFC 6749 §4.1.3, §5](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3),
//! [RFC 7636 §4.5](https://www.rfc-editor.org/rfc/rfc7636#section-4.5)).
//! Only the ID token is kept; the access token is never read or logged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::LoginError;
use super::discovery::Discovery;
use super::http::{self, Answer};
use super::settings::{ClientAuth, Provider};

/// Exchanges `code` for an ID token at the token endpoint, sending the
/// PKCE `verifier` and authenticating as the configured client.
///
/// # Errors
/// [`LoginError`]: the endpoint unreachable, the code refused, or an
/// answer without an ID token.
pub fn exchange(
    agent: &ureq::Agent,
    provider: &Provider,
    discovery: &Discovery,
    code: &str,
    verifier: &str,
) -> Result<String, LoginError> {
    let secret = provider.client_secret.expose();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", provider.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ];
    let authorization = match provider.client_auth {
        ClientAuth::ClientSecretBasic => Some(basic(&provider.client_id, secret)),
        ClientAuth::ClientSecretPost => {
            form.push(("client_id", provider.client_id.as_str()));
            form.push(("client_secret", secret));
            None
        }
    };
    let answer = http::post_form(
        agent,
        "token endpoint",
        &discovery.token_endpoint,
        &form,
        authorization.as_deref(),
    )?;
    id_token(&answer)
}

/// `Basic` credentials: the client id and secret each form-URL-encoded
/// before they are joined and base64-encoded (RFC 6749 §2.3.1).
pub fn basic(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret)))
    )
}

/// The ID token of a token endpoint's answer: 200 with a JSON object whose
/// `token_type` is `Bearer` (any case, RFC 6749 §7.1) and whose `id_token`
/// is a string; or the OAuth error of a 4xx (RFC 6749 §5.2).
///
/// # Errors
/// [`LoginError::TokenRefused`] for an OAuth error,
/// [`LoginError::TokenResponse`] for anything else.
pub fn id_token(answer: &Answer) -> Result<String, LoginError> {
    let parsed = cordon_verification::oidc::strict_json(&answer.body);
    if answer.status != 200 {
        let error = parsed.as_ref().ok().and_then(|v| {
            let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
            Some((text("error")?, text("error_description")))
        });
        return Err(match error {
            Some((error, description)) => LoginError::TokenRefused { error, description },
            None => {
                LoginError::TokenResponse(format!("HTTP {} without an OAuth error", answer.status))
            }
        });
    }
    let Value::Object(body) =
        parsed.map_err(|e| LoginError::TokenResponse(format!("it is not JSON: {e}")))?
    else {
        return Err(LoginError::TokenResponse("it is not a JSON object".into()));
    };
    match body.get("token_type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        Some(t) => {
            return Err(LoginError::TokenResponse(format!(
                "its `token_type` is `{t}`, not `Bearer`"
            )));
        }
        None => {
            return Err(LoginError::TokenResponse(
                "it has no `token_type` string".into(),
            ));
        }
    }
    match body.get("id_token") {
        Some(Value::String(t)) => Ok(t.clone()),
        Some(_) => Err(LoginError::TokenResponse(
            "its `id_token` is not a string".into(),
        )),
        None => Err(LoginError::TokenResponse(
            "it has no `id_token` (was the `openid` scope granted?)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_id_token_is_read_and_errors_are_named() {
        let ok = r#"{"access_token":"at","token_type":"bearer","id_token":"a.b.c"}"#;
        assert_eq!(id_token(&answer(200, ok)).unwrap(), "a.b.c");
        let e = id_token(&answer(400, r#"{"error":"invalid_grant"}"#)).unwrap_err();
        assert!(
            matches!(&e, LoginError::TokenRefused { error, .. } if error == "invalid_grant"),
            "{e}"
        );
        for (status, body, named) in [
            (502, "<html>", "HTTP 502"),
            (200, r#"{"token_type":"Bearer"}"#, "no `id_token`"),
            (200, r#"{"token_type":"mac","id_token":"a.b.c"}"#, "`mac`"),
            (
                200,
                r#"{"token_type":"Bearer","id_token":7}"#,
                "not a string",
            ),
            (200, "[]", "not a JSON object"),
        ] {
            let e = id_token(&answer(status, body)).unwrap_err().to_string();
            assert!(e.contains(named), "{e}");
        }
    }

    #[test]
    fn basic_credentials_are_url_encoded_first() {
        // RFC 6749 §2.3.1: `:` in the id would otherwise split it.
        let b = basic("a:b", "p w");
        let decoded = STANDARD.decode(b.trim_start_matches("Basic ")).unwrap();
        assert_eq!(decoded, b"a%3Ab:p+w");
    }
}
