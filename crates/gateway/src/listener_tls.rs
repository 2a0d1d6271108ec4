//! TLS on the gateway's own listener: the certificate and key files of
//! `[tls]`, HTTP/2 and HTTP/1.1 by ALPN, and the files read again on SIGHUP
//! so a renewed certificate is served without a restart.
//!
//! Most deployments terminate TLS at a load balancer in front of Cordon
//! (docs/deployment.md); this is for those that do not.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::Deserialize;

/// How long a client has to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[tls]` section: the listener's certificate and key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTlsConfig {
    /// The certificate chain, PEM, leaf first (relative to the configuration file).
    pub certificate: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the listener's certificate cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ListenerTlsError {
    /// The certificate file cannot be read or holds no certificate.
    #[error("cannot use the certificate `{}`: {reason}", .path.display())]
    Certificate {
        /// Its path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The key file cannot be read, holds no key, or does not go with the
    /// certificate.
    #[error("cannot use the key `{}`: {reason}", .path.display())]
    Key {
        /// Its path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// The certificate served, which [`ListenerTls::reload`] replaces.
#[derive(Debug)]
struct Reloadable(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Reloadable {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|k| Arc::clone(&k))
    }
}

/// The listener's TLS: one acceptor shared by every worker, its certificate
/// replaceable while serving.
#[derive(Clone)]
pub struct ListenerTls {
    config: ListenerTlsConfig,
    current: Arc<Reloadable>,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTls")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks the certificate and key `config` names.
fn load(config: &ListenerTlsConfig) -> Result<Arc<CertifiedKey>, ListenerTlsError> {
    let cert_error = |reason: String| ListenerTlsError::Certificate {
        path: config.certificate.clone(),
        reason,
    };
    let key_error = |reason: String| ListenerTlsError::Key {
        path: config.key.clone(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(&config.certificate)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_error(
            "it holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key).map_err(|e| key_error(e.to_string()))?;
    let certified = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| key_error(format!("{e} (is it the certificate's key?)")))?;
    Ok(Arc::new(certified))
}

impl ListenerTls {
    /// Reads the certificate and key.
    ///
    /// # Errors
    /// [`ListenerTlsError`] naming the file and what is wrong with it.
    pub fn new(config: &ListenerTlsConfig) -> Result<ListenerTls, ListenerTlsError> {
        let current = Arc::new(Reloadable(RwLock::new(load(config)?)));
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| ListenerTlsError::Key {
                path: config.key.clone(),
                reason: e.to_string(),
            })?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(ListenerTls {
            config: config.clone(),
            current,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
        })
    }

    /// Reads the files again; new connections get the new certificate. On
    /// an error the one served stays.
    ///
    /// # Errors
    /// [`ListenerTlsError`] naming the file.
    pub fn reload(&self) -> Result<(), ListenerTlsError> {
        let fresh = load(&self.config)?;
        if let Ok(mut k) = self.current.0.write() {
            *k = fresh;
        }
        Ok(())
    }

    /// The certificate file, for logs.
    pub fn certificate(&self) -> &Path {
        &self.config.certificate
    }

    /// Completes the TLS handshake of an accepted connection, within 10 s.
    ///
    /// # Errors
    /// The handshake's failure, or its timeout.
    pub async fn accept(
        &self,
        tcp: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
        tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })?
    }
}
