//! Logging in with OpenID Connect: the authorization code flow with PKCE
//! ([OpenID Connect Core 1.0 §3.1](https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth),
//! [RFC 7636](https://www.rfc-editor.org/rfc/rfc7636)), beside the local
//! accounts of [`crate::users`].
//!
//! A login starts with a pending login ([`pending`]: `state`, `nonce` and
//! the PKCE verifier) kept in this process under a random id that only the
//! browser's `__Host-` pre-login cookie carries; the browser goes to the
//! provider with `state`, `nonce` and the verifier's S256 challenge. The
//! callback takes the pending login of *that* cookie (once: a second
//! callback finds nothing), checks `state`, exchanges the code with the
//! verifier ([`token`]), verifies the ID token against the provider's JWK
//! Set with `cordon-verification` (asymmetric algorithms only), checks
//! `nonce` and `azp`, and maps a configured claim to a [`Role`](crate::Role)
//! ([`identity`]). The provider is discovered at every login
//! ([`discovery`]), so a rotated key or moved endpoint is picked up.
//!
//! The person is journaled as `oidc:<iss>#<sub>` (so `console:oidc:…` in
//! audit records): `iss` and `sub` are the one identity OpenID Connect
//! promises stable and unique, and a local name cannot contain `:`, so the
//! two kinds of user never collide. The page shows `preferred_username`
//! (or `email`, or `sub`).

pub mod discovery;
pub mod http;
pub mod identity;
pub mod pending;
pub mod settings;
pub mod token;

use cordon_verification::oidc::{AssertionError, Jwks};
use jiff::Timestamp;

pub use discovery::Discovery;
pub use identity::Identity;
pub use pending::{Pending, PendingLogins};
pub use settings::{ClientAuth, Provider, Secret, SettingsError};

/// The pre-login cookie: the id of this browser's pending login, and
/// nothing else.
pub const PENDING_COOKIE: &str = "__Host-cordon-oidc";

/// The path of the callback, under the public base URL.
pub const CALLBACK_PATH: &str = "/console/oidc/callback";

/// OpenID Connect login as the console runs it: the provider configured
/// and the logins under way.
#[derive(Debug)]
pub struct Oidc {
    /// The provider and how the console is registered with it.
    pub provider: Provider,
    /// Logins started and not yet called back.
    pub pending: PendingLogins,
}

impl Oidc {
    /// Login with `provider`, no login under way.
    pub fn new(provider: Provider) -> Oidc {
        Oidc {
            provider,
            pending: PendingLogins::default(),
        }
    }
}

/// Starts a login at `now`: reads the provider's discovery document and
/// returns the login to keep and the authorization request's URL
/// (OIDC Core §3.1.2.1; RFC 7636 §4.3). Blocking: run it on the blocking pool.
///
/// # Errors
/// [`LoginError`]: the provider unreachable, its discovery document not
/// acceptable, or no randomness.
pub fn begin(provider: &Provider, now: Timestamp) -> Result<(Pending, String), LoginError> {
    let agent = http::agent();
    let discovery = discover(&agent, provider)?;
    let pending = Pending::fresh(now)?;
    let scope = std::iter::once("openid")
        .chain(provider.scopes.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let challenge = pending.challenge();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", provider.redirect_uri.as_str()),
            ("scope", scope.as_str()),
            ("state", pending.state.as_str()),
            ("nonce", pending.nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let endpoint = &discovery.authorization_endpoint;
    // The endpoint may carry a query of its own, which is kept (RFC 6749 §3.1).
    let joiner = if endpoint.contains('?') { '&' } else { '?' };
    Ok((pending, format!("{endpoint}{joiner}{query}")))
}

/// Completes a login whose callback carried `code` for `pending`: the
/// code exchanged with the PKCE verifier, the ID token verified at the
/// time `now` gives, the role mapped. Blocking: run it on the blocking pool.
///
/// # Errors
/// [`LoginError`] naming the step that failed.
pub fn complete(
    provider: &Provider,
    pending: &Pending,
    code: &str,
    now: impl Fn() -> Timestamp,
) -> Result<Identity, LoginError> {
    let agent = http::agent();
    let discovery = discover(&agent, provider)?;
    let id_token = token::exchange(&agent, provider, &discovery, code, &pending.verifier)?;
    let keys = http::get(&agent, "JWK Set", &discovery.jwks_uri)?;
    let jwks = Jwks::parse(&keys).map_err(|e| LoginError::Jwks(e.to_string()))?;
    identity::verify(&id_token, provider, &jwks, &pending.nonce, now())
}

fn discover(agent: &ureq::Agent, provider: &Provider) -> Result<Discovery, LoginError> {
    let bytes = http::get(
        agent,
        "discovery document",
        &discovery::url(&provider.issuer),
    )?;
    discovery::parse(&bytes, &provider.issuer)
}

/// Why an OpenID Connect login did not give a session.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The browser brought no pre-login cookie.
    #[error(
        "this browser has no login under way (its login cookie is missing): start the login again from the login page"
    )]
    NoPendingCookie,
    /// The cookie names no login under way: unknown, expired or already
    /// called back.
    #[error(
        "the login this browser started is unknown, expired or already used: start the login again from the login page"
    )]
    NoPendingLogin,
    /// `state` is not the one this browser's login was sent with.
    #[error(
        "the provider's answer is for another login (`state` does not match this browser's): start the login again"
    )]
    StateMismatch,
    /// The callback's query does not read.
    #[error("the provider's answer does not read: {0}")]
    BadCallback(String),
    /// The callback carries neither a code nor an error.
    #[error("the provider's answer carries no authorization code")]
    NoCode,
    /// The callback names another issuer (RFC 9207 `iss`).
    #[error("the provider's answer names the issuer `{found}`, not `{expected}`")]
    WrongCallbackIssuer {
        /// The `iss` parameter.
        found: String,
        /// The configured issuer.
        expected: String,
    },
    /// The provider answered the authorization request with an error.
    #[error("the provider refused the login: `{error}`{}", describe(.description.as_deref()))]
    Refused {
        /// The `error` code (RFC 6749 §4.1.2.1).
        error: String,
        /// The `error_description`, if given.
        description: Option<String>,
    },
    /// A URL the console would call is not acceptable.
    #[error("the {what} `{url}` is not acceptable: {reason}")]
    Url {
        /// What the URL is for.
        what: &'static str,
        /// The URL.
        url: String,
        /// Why not.
        reason: String,
    },
    /// The provider could not be reached.
    #[error("the provider's {what} `{url}` could not be reached: {reason}")]
    Unreachable {
        /// What was asked for.
        what: &'static str,
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The provider answered with an HTTP status other than 200.
    #[error("the provider's {what} `{url}` answered HTTP {status}")]
    Status {
        /// What was asked for.
        what: &'static str,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The discovery document does not read.
    #[error("the provider's discovery document is not acceptable: {0}")]
    Discovery(String),
    /// The token endpoint refused the code.
    #[error("the token endpoint refused the code: `{error}`{}", describe(.description.as_deref()))]
    TokenRefused {
        /// The `error` code (RFC 6749 §5.2).
        error: String,
        /// The `error_description`, if given.
        description: Option<String>,
    },
    /// The token endpoint's answer does not read.
    #[error("the token endpoint's answer is not acceptable: {0}")]
    TokenResponse(String),
    /// The provider's JWK Set does not read.
    #[error("the provider's JWK Set is not acceptable: {0}")]
    Jwks(String),
    /// The ID token's form, signature or registered claims.
    #[error("the ID token is not acceptable: {0}")]
    IdToken(#[from] AssertionError),
    /// The ID token's `nonce` is not the one sent.
    #[error("the ID token's `nonce` is missing or is not the one this login sent")]
    Nonce,
    /// `azp` is missing where required, or names another client.
    #[error("the ID token's `azp` {0}")]
    AuthorizedParty(String),
    /// The role claim maps to no role.
    #[error("{0}")]
    NoRole(identity::NoRole),
    /// No randomness for `state`, `nonce` or the verifier.
    #[error("no randomness for the login: {0}")]
    Random(String),
    /// The blocking call to the provider did not finish.
    #[error("the call to the provider did not finish: {0}")]
    Task(String),
}

fn describe(description: Option<&str>) -> String {
    description.map_or_else(String::new, |d| format!(" ({d})"))
}
