//! The TLS client configuration: rustls on `ring`, TLS 1.2 and 1.3, the
//! built-in roots, the operator's CA bundles and, for an upstream that asks
//! for one, a client certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{EgressConfig, EgressError};

/// The TLS client configuration `config` asks for: server certificates
/// must chain to a root of the Mozilla root programme (`webpki-roots`) or
/// to a certificate of `config.ca_bundle`, and name the host (SNI is sent).
/// No ALPN is set: the connector adds it.
///
/// # Errors
/// [`EgressError`] when the bundle cannot be read, holds no certificate, or
/// holds one that cannot be a trust anchor.
pub fn tls_config(config: &EgressConfig) -> Result<rustls::ClientConfig, EgressError> {
    client_tls(config, None, None)
}

/// A client certificate and its private key, both PEM files, presented to
/// servers that ask for one (mutual TLS).
#[derive(Debug, Clone, Copy)]
pub struct ClientIdentity<'a> {
    /// The certificate chain, leaf first.
    pub certificate: &'a Path,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: &'a Path,
}

/// [`tls_config`], also trusting the CA certificates of `extra_bundle` and
/// presenting `identity` when the server asks for a client certificate:
/// the configuration of one upstream.
///
/// # Errors
/// [`EgressError`] for a bundle as [`tls_config`], or a certificate or key
/// that cannot be read or do not go together.
pub fn client_tls(
    config: &EgressConfig,
    extra_bundle: Option<&Path>,
    identity: Option<ClientIdentity<'_>>,
) -> Result<rustls::ClientConfig, EgressError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for path in config
        .ca_bundle
        .iter()
        .map(PathBuf::as_path)
        .chain(extra_bundle)
    {
        add_bundle(&mut roots, path)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EgressError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let Some(identity) = identity else {
        return Ok(builder.with_no_client_auth());
    };
    let cert_error = |reason: String| EgressError::ClientCertificate {
        path: identity.certificate.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(identity.certificate)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error(
            "it holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(identity.key).map_err(|e| EgressError::ClientKey {
        path: identity.key.to_path_buf(),
        reason: e.to_string(),
    })?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| EgressError::ClientKey {
            path: identity.key.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Adds every certificate of the PEM bundle at `path` to `roots`.
fn add_bundle(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), EgressError> {
    let unreadable = |e: rustls::pki_types::pem::Error| EgressError::CaBundleUnreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if certs.is_empty() {
        return Err(EgressError::CaBundleEmpty {
            path: path.to_path_buf(),
        });
    }
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| EgressError::BadCa {
            path: path.to_path_buf(),
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    Ok(())
}
