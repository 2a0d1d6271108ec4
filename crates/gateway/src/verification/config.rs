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
    /// The configured sources (`[[verification.source]]`).
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
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
