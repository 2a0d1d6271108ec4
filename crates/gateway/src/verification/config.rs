//! The `[verification]` section of `cordon.toml`: where facts may come from.

use cordon_subject::VerificationLevel;
use cordon_verification::webhook::{
    OnfidoSignature, PersonaSignature, Secret, SharedSecret, StandardWebhooks, StripeSignature,
    SumsubAlgorithm, SumsubSignature, VeriffSignature,
};
use cordon_verification::{Format, Source, SourceKind};
use serde::Deserialize;

/// How verification events reach the gateway (`[verification]`,
/// docs/verification.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationConfig {
    /// Where a refused customer starts verifying, per way; shown in
    /// `verification_required` refusals and by `GET /v1/verification`.
    #[serde(default)]
    pub start_url: Option<String>,
    /// The secret start links are signed with, shared with the operator's
    /// start page; without it a random one is made at each start (links
    /// then stop verifying after a restart).
    #[serde(default)]
    pub link_secret: Option<String>,
    /// The configured sources (`[[verification.source]]`).
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// The configured issuers of identity assertions
    /// (`[[verification.issuer]]`).
    #[serde(default, rename = "issuer")]
    pub issuers: Vec<IssuerConfig>,
}

/// One issuer of OpenID Connect identity assertions (docs/verification-oidc.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Its name: the `source` of its evidence.
    pub name: String,
    /// The issuer identifier `iss` must equal.
    pub issuer: String,
    /// Cordon's client id at the issuer: `aud` must contain it.
    pub audience: String,
    /// The issuer's JSON Web Key Set, as a file (relative to the
    /// configuration file). Exactly one of `jwks_file` and `jwks_url`.
    #[serde(default)]
    pub jwks_file: Option<std::path::PathBuf>,
    /// The issuer's JSON Web Key Set, fetched from this URL (its
    /// `jwks_uri`) at start and kept current. `https://`, or `http://` to a
    /// loopback address only.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// With `jwks_url`: the shortest time a fetched set is used before it
    /// is fetched again, whatever its `Cache-Control` says; default 300.
    #[serde(default)]
    pub jwks_refresh_min_secs: Option<u32>,
    /// With `jwks_url`: the longest time a fetched set is used before it
    /// is fetched again; default 86400. Also the freshness of an answer
    /// without `Cache-Control: max-age`, if shorter than 3600.
    #[serde(default)]
    pub jwks_refresh_max_secs: Option<u32>,
    /// With `jwks_url`: how long keys of a set the issuer replaced still
    /// verify after the replacement was fetched; default 600, 0 for not at
    /// all.
    #[serde(default)]
    pub jwks_grace_secs: Option<u32>,
    /// With `jwks_url`: how long past its freshness the last good set is
    /// still used while fetches fail; default 86400. After that the
    /// issuer's assertions are answered 503.
    #[serde(default)]
    pub jwks_stale_secs: Option<u32>,
    /// The algorithms accepted; default every supported one.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf`, `iat`, in seconds; default 60.
    #[serde(default)]
    pub leeway_secs: Option<u32>,
    /// The claim naming the Cordon account; default `sub`.
    #[serde(default)]
    pub account_claim: Option<String>,
    /// A boolean claim in `verified_claims.claims` taken as `us_person`.
    #[serde(default)]
    pub us_person_claim: Option<String>,
    /// Trust framework → the level its verifications give.
    #[serde(default)]
    pub trust_frameworks: std::collections::BTreeMap<String, String>,
}

/// Where and how a source's verification objects are refetched.
#[derive(Debug, Clone)]
pub struct Refetching {
    /// The source's name.
    pub source: String,
    /// The vendor API's base URL.
    pub base: String,
    /// Its credentials.
    pub credentials: cordon_verification::vendor::ApiCredentials,
}

/// An issuer ready to check assertions: its configuration and where its
/// keys come from.
#[derive(Debug, Clone)]
pub struct ConfiguredIssuer {
    /// The name its evidence is recorded under.
    pub name: String,
    /// What tokens must satisfy.
    pub issuer: cordon_verification::oidc::Issuer,
    /// Its keys.
    pub keys: KeySource,
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWK Set read from a file at start (`jwks_file`).
    File(cordon_verification::oidc::Jwks),
    /// A JWK Set fetched from a URL and kept current (`jwks_url`).
    Url {
        /// The URL.
        url: String,
        /// How it is kept current.
        rotation: cordon_verification::oidc::Rotation,
    },
}

/// Why a JWK Set URL is not accepted, if it is not: an absolute
/// `https://` URL, or `http://` to a loopback address (tests, a local
/// relay).
fn jwks_url_problem(url: &str) -> Option<String> {
    let uri: axum::http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => return Some(format!("`{url}` is not a URL: {e}")),
    };
    let host = uri.host().unwrap_or("");
    if host.is_empty() {
        return Some(format!("`{url}` names no host"));
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => None,
        Some("http") if loopback => None,
        Some("http") => Some(format!(
            "`{url}`: a JWK Set is fetched over https:// (plain http:// only from a loopback address such as 127.0.0.1)"
        )),
        _ => Some(format!("`{url}` is not an https:// URL")),
    }
}

/// One source of verification events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Its name: the path segment of `POST /v1/verification/webhooks/{name}`
    /// and the `source` of its evidence.
    pub name: String,
    /// The payload and signature format: `cordon` (Cordon's own event
    /// format, Standard Webhooks signing), `stripe_identity`, `persona`,
    /// `veriff`, `onfido` or `sumsub` (docs/verification-vendors.md).
    pub format: String,
    /// The signing secrets (`whsec_…` or `whpk_…` for Standard Webhooks,
    /// the vendor's webhook secret or token as its dashboard shows it);
    /// more than one while rotating.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Veriff: the API key its deliveries carry in `X-AUTH-CLIENT`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Fetch the vendor's verification object from its API before granting
    /// anything (`api_base`, `api_key`, and for Veriff and Sumsub
    /// `api_secret`, are then required).
    #[serde(default)]
    pub refetch: bool,
    /// The vendor API's base URL, for refetching.
    #[serde(default)]
    pub api_base: Option<String>,
    /// The secret that signs API requests (Veriff, Sumsub).
    #[serde(default)]
    pub api_secret: Option<String>,
    /// Sumsub: the digest algorithms accepted (`HMAC_SHA256_HEX`,
    /// `HMAC_SHA512_HEX`, `HMAC_SHA1_HEX`); default the SHA-256 and SHA-512 ones.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// What kind of party it is; default `kyc_vendor`.
    #[serde(default)]
    pub kind: Option<String>,
    /// The highest level it may grant; default `document_verified`.
    #[serde(default)]
    pub max_level: Option<String>,
    /// How far a signed timestamp may be from now, in seconds; default 300.
    #[serde(default)]
    pub tolerance_secs: Option<u32>,
}

impl VerificationConfig {
    /// The sources that refetch, or the field that is wrong.
    ///
    /// # Errors
    /// `(field, message)` when a refetching source lacks its API settings
    /// or is in Cordon's own format.
    pub fn refetching(&self) -> Result<Vec<Refetching>, (String, String)> {
        let mut out = Vec::new();
        for (i, s) in self.sources.iter().enumerate().filter(|(_, s)| s.refetch) {
            let field = |f: &str| format!("verification.source[{i}].{f}");
            if s.format == "cordon" {
                return Err((
                    field("refetch"),
                    "Cordon's own format has no API to refetch from".into(),
                ));
            }
            let base = s.api_base.clone().ok_or_else(|| {
                (
                    field("api_base"),
                    "refetching needs the vendor API's base URL".into(),
                )
            })?;
            let api_key = s.api_key.clone().ok_or_else(|| {
                (
                    field("api_key"),
                    "refetching needs the vendor API's key".into(),
                )
            })?;
            out.push(Refetching {
                source: s.name.clone(),
                base,
                credentials: cordon_verification::vendor::ApiCredentials {
                    api_key,
                    api_secret: s.api_secret.clone(),
                },
            });
        }
        Ok(out)
    }

    /// The key start links are signed with.
    ///
    /// # Errors
    /// `(field, message)` when the secret is too short, or no random one
    /// can be made.
    pub fn link_key(&self) -> Result<ring::hmac::Key, (String, String)> {
        use ring::rand::SecureRandom as _;
        let bytes = match &self.link_secret {
            Some(s) if s.len() >= 16 => s.as_bytes().to_vec(),
            Some(_) => {
                return Err((
                    "verification.link_secret".into(),
                    "a link secret is at least 16 characters".into(),
                ));
            }
            None => {
                let mut raw = vec![0u8; 32];
                ring::rand::SystemRandom::new()
                    .fill(&mut raw)
                    .map_err(|_| {
                        (
                            "verification.link_secret".into(),
                            "no secret is set and the system's random source failed".into(),
                        )
                    })?;
                raw
            }
        };
        Ok(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &bytes))
    }

    /// Builds the issuers, reading each key set; or names the field that is
    /// wrong.
    ///
    /// # Errors
    /// `(field, message)` for the first bad value or unreadable key set.
    pub fn issuers(&self) -> Result<Vec<ConfiguredIssuer>, (String, String)> {
        use cordon_verification::oidc::{Algorithm, Issuer, TrustFramework};
        let mut out: Vec<ConfiguredIssuer> = Vec::with_capacity(self.issuers.len());
        for (i, c) in self.issuers.iter().enumerate() {
            let field = |f: &str| format!("verification.issuer[{i}].{f}");
            if out.iter().any(|o| o.name == c.name) || self.sources.iter().any(|s| s.name == c.name)
            {
                return Err((field("name"), format!("`{}` is named twice", c.name)));
            }
            let mut issuer = Issuer::new(c.issuer.clone(), c.audience.clone());
            if !c.algorithms.is_empty() {
                issuer.algorithms = c
                    .algorithms
                    .iter()
                    .map(|a| {
                        Algorithm::parse(a).ok_or_else(|| {
                            (
                                field("algorithms"),
                                format!("`{a}` is not a supported algorithm"),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            if let Some(l) = c.leeway_secs {
                issuer.leeway = jiff::SignedDuration::from_secs(i64::from(l));
            }
            if let Some(a) = &c.account_claim {
                issuer.account_claim.clone_from(a);
            }
            issuer.us_person_claim.clone_from(&c.us_person_claim);
            for (framework, level) in &c.trust_frameworks {
                let level = VerificationLevel::parse(level).ok_or_else(|| {
                    (
                        field(&format!("trust_frameworks.{framework}")),
                        format!("`{level}` is not one of none, self_declared, document_verified, attested"),
                    )
                })?;
                issuer
                    .trust_frameworks
                    .insert(framework.clone(), TrustFramework::at(level));
            }
            let keys = issuer_keys(c, &field)?;
            out.push(ConfiguredIssuer {
                name: c.name.clone(),
                issuer,
                keys,
            });
        }
        Ok(out)
    }

    /// Builds the sources, or names the field that is wrong.
    ///
    /// # Errors
    /// `(field, message)` for the first bad value.
    pub fn sources(&self) -> Result<Vec<Source>, (String, String)> {
        let mut out: Vec<Source> = Vec::with_capacity(self.sources.len());
        for (i, s) in self.sources.iter().enumerate() {
            let field = |f: &str| format!("verification.source[{i}].{f}");
            if s.name.is_empty()
                || !s
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err((
                    field("name"),
                    format!(
                        "`{}`: a source name is letters, digits, `-` and `_`",
                        s.name
                    ),
                ));
            }
            if out.iter().any(|o| o.name == s.name) {
                return Err((field("name"), format!("`{}` is named twice", s.name)));
            }
            let kind = match &s.kind {
                None => SourceKind::KycVendor,
                Some(k) => SourceKind::parse(k).ok_or_else(|| {
                    (
                        field("kind"),
                        format!("`{k}` is not one of kyc_vendor, oidc, org_attestation, self_declaration, staff, import"),
                    )
                })?,
            };
            let max_level = match &s.max_level {
                None => VerificationLevel::DocumentVerified,
                Some(l) => VerificationLevel::parse(l).ok_or_else(|| {
                    (
                        field("max_level"),
                        format!(
                            "`{l}` is not one of none, self_declared, document_verified, attested"
                        ),
                    )
                })?,
            };
            if s.secrets.is_empty() {
                return Err((
                    field("secrets"),
                    "a source needs at least one signing secret".into(),
                ));
            }
            let tolerance = i64::from(s.tolerance_secs.unwrap_or(300));
            let shared = || {
                s.secrets
                    .iter()
                    .enumerate()
                    .map(|(k, t)| {
                        SharedSecret::new(t)
                            .map_err(|e| (field(&format!("secrets[{k}]")), e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            let format = match s.format.as_str() {
                "cordon" => {
                    let secrets = s
                        .secrets
                        .iter()
                        .enumerate()
                        .map(|(k, t)| {
                            Secret::parse(t).map_err(|e| (field(&format!("secrets[{k}]")), e))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Format::Cordon(StandardWebhooks { secrets, tolerance })
                }
                "stripe_identity" => Format::StripeIdentity(StripeSignature {
                    secrets: shared()?,
                    tolerance,
                }),
                "persona" => Format::Persona(PersonaSignature {
                    secrets: shared()?,
                    tolerance,
                }),
                "veriff" => Format::Veriff(VeriffSignature {
                    api_key: s.api_key.clone().ok_or_else(|| {
                        (
                            field("api_key"),
                            "Veriff deliveries carry the API key in `X-AUTH-CLIENT`: set it"
                                .to_owned(),
                        )
                    })?,
                    secrets: shared()?,
                }),
                "onfido" => Format::Onfido(OnfidoSignature { tokens: shared()? }),
                "sumsub" => {
                    let algorithms = if s.algorithms.is_empty() {
                        vec![SumsubAlgorithm::Sha256, SumsubAlgorithm::Sha512]
                    } else {
                        s.algorithms
                            .iter()
                            .enumerate()
                            .map(|(k, a)| {
                                SumsubAlgorithm::parse(a).ok_or_else(|| {
                                    (
                                        field(&format!("algorithms[{k}]")),
                                        format!("`{a}` is not HMAC_SHA1_HEX, HMAC_SHA256_HEX or HMAC_SHA512_HEX"),
                                    )
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?
                    };
                    Format::Sumsub(SumsubSignature {
                        secrets: shared()?,
                        algorithms,
                    })
                }
                other => {
                    return Err((
                        field("format"),
                        format!(
                            "`{other}` is not a known format (cordon, stripe_identity, persona, veriff, onfido, sumsub)"
                        ),
                    ));
                }
            };
            out.push(Source {
                name: s.name.clone(),
                format,
                kind,
                max_level,
            });
        }
        Ok(out)
    }
}

/// Where issuer `c`'s keys come from: exactly one of `jwks_file` (read now)
/// and `jwks_url`, whose cache settings are checked.
fn issuer_keys(
    c: &IssuerConfig,
    field: &dyn Fn(&str) -> String,
) -> Result<KeySource, (String, String)> {
    use cordon_verification::oidc::{Jwks, Rotation};
    let cache_settings = [
        ("jwks_refresh_min_secs", c.jwks_refresh_min_secs),
        ("jwks_refresh_max_secs", c.jwks_refresh_max_secs),
        ("jwks_grace_secs", c.jwks_grace_secs),
        ("jwks_stale_secs", c.jwks_stale_secs),
    ];
    match (&c.jwks_file, &c.jwks_url) {
        (Some(_), Some(_)) => Err((
            field("jwks_url"),
            "set exactly one of `jwks_file` and `jwks_url`, not both".into(),
        )),
        (None, None) => Err((
            field("jwks_url"),
            "an issuer needs its keys: set `jwks_url` (or `jwks_file`)".into(),
        )),
        (Some(path), None) => {
            if let Some((name, _)) = cache_settings.iter().find(|(_, v)| v.is_some()) {
                return Err((
                    field(name),
                    "applies only to a key set fetched from `jwks_url`".into(),
                ));
            }
            let bytes = std::fs::read(path).map_err(|e| {
                (
                    field("jwks_file"),
                    format!("cannot read `{}`: {e}", path.display()),
                )
            })?;
            let jwks = Jwks::parse(&bytes)
                .map_err(|e| (field("jwks_file"), format!("`{}`: {e}", path.display())))?;
            Ok(KeySource::File(jwks))
        }
        (None, Some(url)) => {
            if let Some(problem) = jwks_url_problem(url) {
                return Err((field("jwks_url"), problem));
            }
            let secs = |s: u32| jiff::SignedDuration::from_secs(i64::from(s));
            let mut rotation = Rotation::default();
            if let Some(s) = c.jwks_refresh_min_secs {
                rotation.min_freshness = secs(s);
            }
            if let Some(s) = c.jwks_refresh_max_secs {
                if s == 0 {
                    return Err((field("jwks_refresh_max_secs"), "must be at least 1".into()));
                }
                rotation.max_freshness = secs(s);
            }
            if rotation.min_freshness > rotation.max_freshness {
                return Err((
                    field("jwks_refresh_min_secs"),
                    format!(
                        "{} is more than `jwks_refresh_max_secs` ({})",
                        rotation.min_freshness.as_secs(),
                        rotation.max_freshness.as_secs()
                    ),
                ));
            }
            if let Some(s) = c.jwks_grace_secs {
                rotation.grace = secs(s);
            }
            if let Some(s) = c.jwks_stale_secs {
                rotation.max_stale = secs(s);
            }
            Ok(KeySource::Url {
                url: url.clone(),
                rotation,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::jwks_url_problem;

    #[test]
    fn jwks_urls_are_https_or_loopback_http() {
        for ok in [
            "https://sso.example.com/.well-known/jwks.json",
            "https://127.0.0.1:8443/jwks",
            "http://127.0.0.1:9000/jwks",
            "http://127.8.9.10/jwks",
            "http://localhost:9000/jwks",
            "http://[::1]:9000/jwks",
        ] {
            assert_eq!(jwks_url_problem(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("http://sso.example.com/jwks", "https://"),
            ("http://10.0.0.1/jwks", "loopback"),
            ("ftp://sso.example.com/jwks", "not an https:// URL"),
            ("/jwks", "names no host"),
            ("https://", "not a URL"),
        ] {
            let problem = jwks_url_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem}");
            assert!(problem.contains(&format!("`{bad}`")), "{problem}");
        }
    }
}
