//! What can go wrong reaching another server, told so that an operator
//! knows what to fix.

use std::error::Error as StdError;
use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;

/// Why the egress client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The CA bundle could not be read.
    #[error("cannot read the CA bundle `{}`: {reason}", .path.display())]
    CaBundleUnreadable {
        /// Its path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The CA bundle holds no certificate.
    #[error(
        "the CA bundle `{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
        .path.display()
    )]
    CaBundleEmpty {
        /// Its path.
        path: PathBuf,
    },
    /// A certificate of the bundle cannot be a trust anchor.
    #[error(
        "certificate {index} of the CA bundle `{}` cannot be trusted as a certificate authority: {reason}",
        .path.display()
    )]
    BadCa {
        /// The bundle's path.
        path: PathBuf,
        /// The certificate's position in the bundle, from 1.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The client certificate (mTLS) could not be read or holds none.
    #[error("cannot use the client certificate `{}`: {reason}", .path.display())]
    ClientCertificate {
        /// Its path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The client certificate's private key could not be read, holds none,
    /// or does not go with the certificate.
    #[error("cannot use the client key `{}`: {reason}", .path.display())]
    ClientKey {
        /// Its path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("the TLS configuration cannot be built: {0}")]
    Tls(String),
}

/// A request to another server that failed: the URL, and what failed.
#[derive(Debug, thiserror::Error)]
#[error("`{url}`: {failure}")]
pub struct FetchError {
    /// The URL requested.
    pub url: String,
    /// What failed.
    pub failure: Failure,
}

impl FetchError {
    pub(crate) fn new(url: &str, failure: Failure) -> FetchError {
        FetchError {
            url: url.to_owned(),
            failure,
        }
    }
}

/// What failed in a request to another server.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The URL is not an absolute `http://` or `https://` URL with a host.
    #[error("not a URL the gateway can fetch: {0}")]
    BadUrl(String),
    /// The request could not be built (a header value, say).
    #[error("the request cannot be built: {0}")]
    BadRequest(String),
    /// The host name did not resolve.
    #[error("the host name does not resolve: {0}")]
    Resolve(String),
    /// Nothing listens at the address.
    #[error("connection refused")]
    Refused,
    /// No connection within the connect timeout.
    #[error("no connection within {} s (`egress.connect_timeout_secs`)", .0.as_secs())]
    ConnectTimeout(Duration),
    /// Another connection failure.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The server's certificate chains to no trusted authority.
    #[error(
        "the server's certificate is not issued by a trusted certificate authority (unknown CA); if the server uses a private CA, add that CA to `egress.ca_bundle`"
    )]
    UnknownCa,
    /// The server's certificate does not name the host.
    #[error(
        "the server's certificate is not valid for the name `{host}`{}",
        presented_names(.presented)
    )]
    WrongName {
        /// The host the URL names.
        host: String,
        /// The names the certificate presents.
        presented: Vec<String>,
    },
    /// The server's certificate is unacceptable for another reason
    /// (expired, not yet valid, not for a server).
    #[error("the server's certificate is not acceptable: {0}")]
    Certificate(String),
    /// The TLS handshake failed otherwise.
    #[error("the TLS handshake failed: {0}")]
    Tls(String),
    /// No complete answer within the overall timeout.
    #[error("no complete answer within {} s (`egress.timeout_secs`)", .0.as_secs())]
    Timeout(Duration),
    /// The body is larger than the caller accepts.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The most bytes accepted.
        limit: usize,
    },
    /// An answer with a status the caller does not accept.
    #[error("answered {0}")]
    Status(StatusCode),
    /// The connection broke or the answer was not HTTP.
    #[error("{0}")]
    Http(String),
}

fn presented_names(names: &[String]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = names
        .iter()
        .map(|n| format!("`{}`", bare_name(n)))
        .collect();
    format!(" (it names {})", quoted.join(", "))
}

/// A name as the certificate states it: webpki writes the names it found
/// as `DnsName("example.com")`, `IpAddress(10.0.0.1)` and
/// `UniformResourceIdentifier("…")`.
fn bare_name(name: &str) -> &str {
    ["DnsName(\"", "IpAddress(", "UniformResourceIdentifier(\""]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .map_or(name, |rest| {
            rest.trim_end_matches(')').trim_end_matches('"')
        })
}

/// Every message of an error's chain, joined by `: `, without repeats.
pub(crate) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    parts.join(": ")
}

/// What a client error means, read from its chain of causes: TLS failures
/// (rustls errors, which tokio-rustls wraps in I/O errors), refused
/// connections, timeouts, names that do not resolve.
pub(crate) fn classify(
    e: &hyper_util::client::legacy::Error,
    host: &str,
    connect_timeout: Duration,
) -> Failure {
    let mut resolve = false;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return tls_failure(tls, host);
        }
        resolve |= err.to_string().starts_with("dns error");
        cur = match err.downcast_ref::<std::io::Error>() {
            Some(io) => {
                match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => return Failure::Refused,
                    std::io::ErrorKind::TimedOut => {
                        return Failure::ConnectTimeout(connect_timeout);
                    }
                    _ => {}
                }
                // An I/O error's `source` skips the error it wraps (a
                // rustls error, another I/O error): descend into it.
                match io.get_ref() {
                    Some(inner) => Some(inner as &(dyn StdError + 'static)),
                    None => err.source(),
                }
            }
            None => err.source(),
        };
    }
    // The client's own message ("client error (Connect)") says nothing.
    let text = StdError::source(e).map_or_else(|| e.to_string(), chain);
    if resolve {
        Failure::Resolve(text)
    } else if e.is_connect() {
        Failure::Connect(text)
    } else {
        Failure::Http(text)
    }
}

fn tls_failure(e: &rustls::Error, host: &str) -> Failure {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => Failure::UnknownCa,
        rustls::Error::InvalidCertificate(C::NotValidForName) => Failure::WrongName {
            host: host.to_owned(),
            presented: Vec::new(),
        },
        rustls::Error::InvalidCertificate(C::NotValidForNameContext { presented, .. }) => {
            Failure::WrongName {
                host: host.to_owned(),
                presented: presented.clone(),
            }
        }
        rustls::Error::InvalidCertificate(other) => Failure::Certificate(other.to_string()),
        other => Failure::Tls(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_certificate_presents_are_shown_bare() {
        let f = Failure::WrongName {
            host: "127.0.0.1".into(),
            presented: vec![
                "DnsName(\"sso.example.com\")".into(),
                "IpAddress(10.1.2.3)".into(),
                "IpAddress(2001:db8::1)".into(),
                "Unsupported(0x01)".into(),
            ],
        };
        assert_eq!(
            f.to_string(),
            "the server's certificate is not valid for the name `127.0.0.1` (it names `sso.example.com`, `10.1.2.3`, `2001:db8::1`, `Unsupported(0x01)`)"
        );
        let none = Failure::WrongName {
            host: "a.test".into(),
            presented: Vec::new(),
        };
        assert_eq!(
            none.to_string(),
            "the server's certificate is not valid for the name `a.test`"
        );
    }
}
