//! The provider's settings: a small TOML file, its client secret read from
//! a file or an environment variable so that it never shows in `ps`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use jiff::SignedDuration;
use serde::Deserialize;

use crate::users::Role;

/// How the console proves itself at the token endpoint
/// ([OpenID Connect Core 1.0 §9](https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the URL-encoded client id and secret (RFC 6749 §2.3.1).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

/// A client secret, kept out of `Debug` output and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret `text`.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The secret itself, for the token request only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The OpenID provider and how the console is registered with it.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The name on the login button ("Log in with NAME").
    pub name: String,
    /// The issuer identifier: discovery is read from
    /// `<issuer>/.well-known/openid-configuration`, and `iss` must equal it.
    pub issuer: String,
    /// The console's client id at the provider: `aud` must contain it.
    pub client_id: String,
    /// The console's client secret.
    pub client_secret: Secret,
    /// How the secret is sent.
    pub client_auth: ClientAuth,
    /// `<public base URL>/console/oidc/callback`, as registered.
    pub redirect_uri: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The claim whose value (a string or an array of strings) gives the role.
    pub role_claim: String,
    /// Role-claim values and the roles they give.
    pub roles: BTreeMap<String, Role>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: SignedDuration,
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file does not read.
    #[error("cannot read `{path}`: {reason}")]
    Read {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// The file is not the settings' TOML.
    #[error("`{path}` is not OpenID Connect settings: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        reason: String,
    },
    /// A setting is not acceptable.
    #[error("`{path}`: `{setting}` {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// The setting.
        setting: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Option<String>,
    issuer: String,
    client_id: String,
    client_secret_file: Option<String>,
    client_secret_env: Option<String>,
    #[serde(default)]
    client_auth: ClientAuth,
    public_base_url: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default = "default_role_claim")]
    role_claim: String,
    #[serde(default)]
    roles: BTreeMap<String, String>,
    leeway_seconds: Option<u32>,
}

fn default_role_claim() -> String {
    "roles".into()
}

impl Provider {
    /// Reads the settings file at `path`, and the client secret from the
    /// file or environment variable it names.
    ///
    /// # Errors
    /// [`SettingsError`] naming the file, and the setting that is missing
    /// or wrong.
    pub fn load(path: &Path) -> Result<Provider, SettingsError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        Provider::parse(&text, &shown, |name| std::env::var(name).ok())
    }

    /// Reads settings from `text` (named `path` in errors), looking
    /// environment variables up with `env`.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting that is missing or wrong.
    pub fn parse(
        text: &str,
        path: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Provider, SettingsError> {
        let file: File = toml::from_str(text).map_err(|e| SettingsError::Parse {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let invalid = |setting: &'static str, reason: String| SettingsError::Invalid {
            path: path.to_owned(),
            setting,
            reason,
        };
        super::http::acceptable_url(&file.issuer).map_err(|reason| invalid("issuer", reason))?;
        if file.client_id.is_empty() {
            return Err(invalid("client_id", "is empty".into()));
        }
        let secret = match (&file.client_secret_file, &file.client_secret_env) {
            (Some(f), None) => std::fs::read_to_string(f)
                .map_err(|e| invalid("client_secret_file", format!("`{f}` does not read: {e}")))?,
            (None, Some(v)) => env(v).ok_or_else(|| {
                invalid(
                    "client_secret_env",
                    format!("names `{v}`, which is not set"),
                )
            })?,
            _ => {
                return Err(invalid(
                    "client_secret_file",
                    "or `client_secret_env` must be given, not both".into(),
                ));
            }
        };
        // A file written by an editor ends in a newline that is no part of
        // the secret.
        let secret = secret.trim_end_matches(['\r', '\n']);
        if secret.is_empty() {
            return Err(invalid(
                "client_secret_file",
                "gives an empty secret".into(),
            ));
        }
        let base = file.public_base_url.trim_end_matches('/');
        // The authorization code comes back to it, and the session cookies
        // are `Secure`: plain http only where nothing leaves the machine.
        if let Err(why) = super::http::acceptable_url(base) {
            return Err(invalid("public_base_url", format!("`{base}`: {why}")));
        }
        if file.roles.is_empty() {
            return Err(invalid(
                "roles",
                "is empty: no one could log in; map at least one claim value to a role".into(),
            ));
        }
        let roles = file
            .roles
            .into_iter()
            .map(|(value, role)| match Role::parse(&role) {
                Some(r) => Ok((value, r)),
                None => Err(invalid(
                    "roles",
                    format!(
                        "maps `{value}` to `{role}`, which is not a role ({})",
                        Role::ALL.map(Role::as_str).join(", ")
                    ),
                )),
            })
            .collect::<Result<_, _>>()?;
        let scopes: Vec<String> = file.scopes.into_iter().filter(|s| s != "openid").collect();
        if let Some(bad) = scopes
            .iter()
            .find(|s| s.is_empty() || s.contains([' ', '"', '\\']))
        {
            return Err(invalid(
                "scopes",
                format!("has `{bad}`, which is not a scope"),
            ));
        }
        Ok(Provider {
            name: file.name.unwrap_or_else(|| "single sign-on".into()),
            issuer: file.issuer,
            client_id: file.client_id,
            client_secret: Secret::new(secret),
            client_auth: file.client_auth,
            redirect_uri: format!("{base}{}", super::CALLBACK_PATH),
            scopes,
            role_claim: file.role_claim,
            roles,
            leeway: SignedDuration::from_secs(i64::from(file.leeway_seconds.unwrap_or(60))),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    const GOOD: &str = r#"
        name = "Example SSO"
        issuer = "https://login.example.com/realms/cordon"
        client_id = "cordon-console"
        client_secret_env = "SECRET"
        public_base_url = "https://cordon.example.com/"
        scopes = ["profile", "openid", "groups"]
        role_claim = "groups"
        [roles]
        "cordon-admins" = "admin"
        compliance = "officer"
    "#;

    fn env(name: &str) -> Option<String> {
        (name == "SECRET").then(|| "s3cret\n".to_owned())
    }

    #[test]
    fn settings_read_with_the_secret_from_the_environment() {
        let p = Provider::parse(GOOD, "oidc.toml", env).unwrap();
        assert_eq!(p.client_secret.expose(), "s3cret");
        assert_eq!(
            p.redirect_uri,
            "https://cordon.example.com/console/oidc/callback"
        );
        assert_eq!(p.scopes, ["profile", "groups"]);
        assert_eq!(p.roles.get("compliance"), Some(&Role::Officer));
        assert_eq!(p.client_auth, ClientAuth::ClientSecretBasic);
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    #[test]
    fn wrong_settings_are_named() {
        for (change, setting) in [
            (GOOD.replace("https://login", "http://login"), "`issuer`"),
            (
                GOOD.replace("\"SECRET\"", "\"UNSET\""),
                "`client_secret_env`",
            ),
            (GOOD.replace("\"officer\"", "\"boss\""), "`roles`"),
            (GOOD.replace("\"groups\"]", "\"a b\"]"), "`scopes`"),
            (
                GOOD.replace("https://cordon", "cordon"),
                "`public_base_url`",
            ),
            // The code would come back in the clear, and `Secure` cookies
            // would never be set.
            (
                GOOD.replace("https://cordon", "http://cordon"),
                "`public_base_url`",
            ),
        ] {
            let e = Provider::parse(&change, "oidc.toml", env).unwrap_err();
            assert!(e.to_string().contains(setting), "{e}");
        }
        let e = Provider::parse("issuer = 1", "oidc.toml", env).unwrap_err();
        assert!(matches!(e, SettingsError::Parse { .. }), "{e}");
    }
}
