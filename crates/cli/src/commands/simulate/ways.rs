//! `--ways CONFIG`: the ways of verifying a gateway configuration offers,
//! read from its `[verification]` section alone.
//!
//! The rest of the file is not read (nor checked), so the configuration of
//! a gateway that runs elsewhere, with its secrets removed, will do. Ways
//! come in the gateway's order: webhook sources, issuers of identity
//! assertions, then organisation attestation and self-declaration, which
//! every gateway accepts.

use std::path::Path;

use anyhow::{Context, Result, bail};
use cordon_gateway::verification::config::VerificationConfig;
use cordon_simulate::Way;
use cordon_source::SourceFile;
use cordon_subject::VerificationLevel;
use cordon_verification::SourceKind;
use serde::Deserialize;

/// The part of a gateway configuration file read here; other keys are
/// ignored.
#[derive(Deserialize)]
struct GatewayFile {
    #[serde(default)]
    verification: VerificationConfig,
}

/// The ways of verifying and where customers start.
#[derive(Debug, Default)]
pub(super) struct Ways {
    pub(super) ways: Vec<Way>,
    pub(super) start_url: Option<String>,
    /// Configured ways that are not counted, and why.
    pub(super) notes: Vec<String>,
}

/// Reads `--ways CONFIG`.
pub(super) fn load(path: &Path) -> Result<Ways> {
    let file = SourceFile::read(path)
        .with_context(|| format!("--ways: cannot read `{}`", path.display()))?;
    parse(&file)
}

fn level(text: &str, field: &str) -> Result<VerificationLevel> {
    VerificationLevel::parse(text).with_context(|| {
        format!(
            "`{field}`: `{text}` is not one of none, self_declared, document_verified, attested"
        )
    })
}

/// Builds the ways from a gateway configuration's text.
pub(super) fn parse(file: &SourceFile) -> Result<Ways> {
    let config: GatewayFile = file
        .parse_toml()
        .with_context(|| format!("--ways `{}` is not a gateway configuration", file.name()))?;
    let v = config.verification;
    let mut out = Ways {
        start_url: v.start_url,
        ..Ways::default()
    };
    let invalid = |e: anyhow::Error| e.context(format!("--ways `{}`", file.name()));
    for (i, s) in v.sources.iter().enumerate() {
        let kind = match &s.kind {
            None => SourceKind::KycVendor,
            Some(k) => SourceKind::parse(k)
                .with_context(|| {
                    format!(
                        "`verification.source[{i}].kind`: `{k}` is not one of kyc_vendor, oidc, org_attestation, self_declaration, staff, import"
                    )
                })
                .map_err(invalid)?,
        };
        let max_level = match &s.max_level {
            None => VerificationLevel::DocumentVerified,
            Some(l) => level(l, &format!("verification.source[{i}].max_level")).map_err(invalid)?,
        };
        out.ways.push(Way::source(&s.name, kind, max_level));
    }
    for (i, c) in v.issuers.iter().enumerate() {
        let levels = c
            .trust_frameworks
            .iter()
            .map(|(framework, l)| {
                level(
                    l,
                    &format!("verification.issuer[{i}].trust_frameworks.{framework}"),
                )
            })
            .collect::<Result<Vec<_>>>()
            .map_err(invalid)?;
        match Way::issuer(&c.name, levels) {
            Some(way) => out.ways.push(way),
            None => out.notes.push(format!(
                "issuer `{}` of --ways names no trust framework, so it accepts no assertion and is not counted as a way of verifying",
                c.name
            )),
        }
    }
    out.ways.push(Way::organisation_attestation());
    out.ways.push(Way::self_declaration());
    for (k, w) in out.ways.iter().enumerate() {
        if out
            .ways
            .get(..k)
            .unwrap_or_default()
            .iter()
            .any(|x| x.name == w.name)
        {
            bail!(
                "--ways `{}`: the way `{}` is named twice (sources, issuers, `{}` and `{}` need distinct names)",
                file.name(),
                w.name,
                Way::ORGANISATION_ATTESTATION,
                Way::SELF_DECLARATION
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ways(text: &str) -> Result<Ways> {
        parse(&SourceFile::new("cordon.toml", text))
    }

    fn names(w: &Ways) -> Vec<(&str, &str, &str)> {
        w.ways
            .iter()
            .map(|w| (w.name.as_str(), w.kind.as_str(), w.max_level.as_str()))
            .collect()
    }

    #[test]
    fn sources_and_issuers_come_first_with_their_levels() {
        let w = ways(
            r#"
listen = "127.0.0.1:8080"
[store]
path = "identity.db"

[verification]
start_url = "https://verify.example/start"

[[verification.source]]
name = "demo-kyc"
format = "cordon"
secrets = ["whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"]

[[verification.source]]
name = "signup"
format = "persona"
kind = "self_declaration"
max_level = "self_declared"

[[verification.issuer]]
name = "corp-sso"
issuer = "https://sso.example"
audience = "cordon"
jwks_file = "jwks.json"
trust_frameworks = { eidas = "document_verified", corp = "attested" }
"#,
        )
        .unwrap();
        assert_eq!(
            names(&w),
            [
                ("demo-kyc", "kyc_vendor", "document_verified"),
                ("signup", "self_declaration", "self_declared"),
                ("corp-sso", "oidc", "attested"),
                ("organisation-attestation", "org_attestation", "attested"),
                ("self-declaration", "self_declaration", "self_declared"),
            ]
        );
        assert_eq!(w.start_url.as_deref(), Some("https://verify.example/start"));
        assert!(w.notes.is_empty());
    }

    #[test]
    fn a_file_without_verification_gives_the_ways_every_gateway_accepts() {
        let w = ways("listen = \"127.0.0.1:8080\"\n").unwrap();
        assert_eq!(
            names(&w),
            [
                ("organisation-attestation", "org_attestation", "attested"),
                ("self-declaration", "self_declaration", "self_declared"),
            ]
        );
        assert_eq!(w.start_url, None);
    }

    #[test]
    fn an_issuer_without_trust_frameworks_is_left_out_with_a_note() {
        let w = ways(
            "[[verification.issuer]]\nname = \"sso\"\nissuer = \"i\"\naudience = \"a\"\njwks_file = \"j\"\n",
        )
        .unwrap();
        assert_eq!(w.ways.len(), 2);
        assert!(w.notes[0].contains("`sso`"), "{:?}", w.notes);
    }

    #[test]
    fn bad_levels_kinds_and_names_are_refused_naming_the_field() {
        let e = ways(
            "[[verification.source]]\nname = \"a\"\nformat = \"cordon\"\nmax_level = \"high\"\n",
        )
        .unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.contains("verification.source[0].max_level") && text.contains("`high`"),
            "{text}"
        );
        let e =
            ways("[[verification.source]]\nname = \"a\"\nformat = \"cordon\"\nkind = \"vendor\"\n")
                .unwrap_err();
        assert!(
            format!("{e:#}").contains("verification.source[0].kind"),
            "{e:#}"
        );
        let e = ways("[[verification.source]]\nname = \"self-declaration\"\nformat = \"cordon\"\n")
            .unwrap_err();
        assert!(format!("{e:#}").contains("named twice"), "{e:#}");
        let e = ways("[verification]\nstart = 1\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("not a gateway configuration"),
            "{e:#}"
        );
    }
}
