//! The TLS client configuration: rustls on `ring`, TLS 1.2 and 1.3, the
//! built-in roots and the operator's CA bundle.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

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
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_bundle {
        let unreadable = |e: rustls::pki_types::pem::Error| EgressError::CaBundleUnreadable {
            path: path.clone(),
            reason: e.to_string(),
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(unreadable)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(unreadable)?;
        if certs.is_empty() {
            return Err(EgressError::CaBundleEmpty { path: path.clone() });
        }
        for (i, cert) in certs.into_iter().enumerate() {
            roots.add(cert).map_err(|e| EgressError::BadCa {
                path: path.clone(),
                index: i + 1,
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EgressError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
