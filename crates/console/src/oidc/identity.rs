//! Who logged in: the ID token checked
//! ([OpenID Connect Core 1.0 §3.1.3.7](https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation))
//! and its role claim mapped to a console role.

use std::fmt;

use cordon_verification::oidc::{Issuer, Jwks, verify_id_token};
use jiff::Timestamp;
use serde_json::{Map, Value};

use super::LoginError;
use super::settings::Provider;
use crate::session::same_token;
use crate::users::Role;

/// The longest name shown for a person; the rest is cut.
pub const MAX_DISPLAY_CHARS: usize = 64;

/// A person the provider vouched for, with the role the console gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `oidc:<iss>#<sub>`: the session's user, named in every change they make.
    pub user: String,
    /// `preferred_username`, else `email`, else `sub`: the name shown.
    pub display: String,
    /// The role the configured claim maps to.
    pub role: Role,
}

/// A role claim that maps to no console role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoRole {
    /// The claim.
    pub claim: String,
    /// Its values, as far as they are strings (at most ten).
    pub values: Vec<String>,
}

impl fmt::Display for NoRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.values.is_empty() {
            write!(
                f,
                "the ID token has no `{}` claim of strings, so it gives no console role",
                self.claim
            )
        } else {
            let values: Vec<String> = self.values.iter().map(|v| format!("`{v}`")).collect();
            write!(
                f,
                "the ID token's `{}` claim ({}) maps to no console role",
                self.claim,
                values.join(", ")
            )
        }
    }
}

/// Verifies `id_token` from `provider`, whose keys are `jwks`, at `now`:
/// signature, `iss`, `aud`, `exp`, `nbf`, `iat` and `sub` in
/// `cordon-verification`; here `azp` (items 4 and 5) and `nonce` (item 11),
/// then the role.
///
/// # Errors
/// [`LoginError::IdToken`], [`LoginError::AuthorizedParty`],
/// [`LoginError::Nonce`] or [`LoginError::NoRole`].
pub fn verify(
    id_token: &str,
    provider: &Provider,
    jwks: &Jwks,
    nonce: &str,
    now: Timestamp,
) -> Result<Identity, LoginError> {
    let mut issuer = Issuer::new(provider.issuer.clone(), provider.client_id.clone());
    issuer.leeway = provider.leeway;
    let token = verify_id_token(id_token, &issuer, jwks, now)?;
    let claims = &token.claims;
    authorized_party(claims, &provider.client_id)?;
    match claims.get("nonce") {
        Some(Value::String(n)) if same_token(n, nonce) => {}
        _ => return Err(LoginError::Nonce),
    }
    let role = role(claims, provider).map_err(LoginError::NoRole)?;
    let shown = ["preferred_username", "email"]
        .iter()
        .find_map(|c| {
            claims
                .get(*c)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        })
        .unwrap_or(&token.sub);
    Ok(Identity {
        user: format!("oidc:{}#{}", token.iss, token.sub),
        display: shown.chars().take(MAX_DISPLAY_CHARS).collect(),
        role,
    })
}

/// OIDC Core §3.1.3.7 items 4 and 5: with several audiences `azp` must be
/// present, and when present it must be the console's client id.
fn authorized_party(claims: &Map<String, Value>, client_id: &str) -> Result<(), LoginError> {
    let several = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 1);
    match claims.get("azp") {
        None | Some(Value::Null) if several => Err(LoginError::AuthorizedParty(
            "is missing, and the token has several audiences".into(),
        )),
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        Some(Value::String(azp)) => Err(LoginError::AuthorizedParty(format!(
            "is `{azp}`, not the console's client id `{client_id}`"
        ))),
        Some(_) => Err(LoginError::AuthorizedParty("is not a string".into())),
    }
}

/// The role of greatest reach (in [`Role::ALL`]'s order) that a value of
/// the role claim maps to.
fn role(claims: &Map<String, Value>, provider: &Provider) -> Result<Role, NoRole> {
    let values: Vec<&str> = match claims.get(&provider.role_claim) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let reach = |r: &Role| Role::ALL.iter().position(|a| a == r);
    values
        .iter()
        .filter_map(|v| provider.roles.get(*v).copied())
        .max_by_key(reach)
        .ok_or_else(|| NoRole {
            claim: provider.role_claim.clone(),
            values: values.iter().take(10).map(|v| (*v).to_owned()).collect(),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn provider() -> Provider {
        Provider::parse(
            r#"
            issuer = "https://login.example.com"
            client_id = "console"
            client_secret_env = "S"
            public_base_url = "https://cordon.example.com"
            role_claim = "groups"
            [roles]
            staff = "viewer"
            compliance = "officer"
            auditors = "auditor"
            "#,
            "oidc.toml",
            |_| Some("s".into()),
        )
        .unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_role_of_greatest_reach_is_given() {
        let p = provider();
        let c = claims(serde_json::json!({"groups": ["staff", "compliance", "x"]}));
        assert_eq!(role(&c, &p), Ok(Role::Officer));
        let c = claims(serde_json::json!({"groups": "auditors"}));
        assert_eq!(role(&c, &p), Ok(Role::Auditor));
        let c = claims(serde_json::json!({"groups": ["x", 3]}));
        let e = role(&c, &p).unwrap_err();
        assert_eq!(e.values, ["x"]);
        assert!(e.to_string().contains("`x`"), "{e}");
        let c = claims(serde_json::json!({"roles": ["staff"]}));
        assert!(
            role(&c, &p)
                .unwrap_err()
                .to_string()
                .contains("no `groups`")
        );
    }

    #[test]
    fn azp_is_required_with_several_audiences_and_must_be_ours() {
        let c = |v| claims(v);
        assert!(authorized_party(&c(serde_json::json!({"aud": "console"})), "console").is_ok());
        assert!(
            authorized_party(
                &c(serde_json::json!({"aud": ["console", "api"]})),
                "console"
            )
            .is_err()
        );
        assert!(
            authorized_party(
                &c(serde_json::json!({"aud": ["console", "api"], "azp": "console"})),
                "console"
            )
            .is_ok()
        );
        assert!(
            authorized_party(
                &c(serde_json::json!({"aud": "console", "azp": "api"})),
                "console"
            )
            .is_err()
        );
    }
}
