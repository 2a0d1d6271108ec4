//! Calls to the provider: blocking `ureq` over rustls, run on tokio's
//! blocking pool by the caller. Plain `http` is allowed only to a loopback
//! host, where no one else can read or change it; redirects are not
//! followed, so every URL called is one the checks here passed.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::Uri;

use super::LoginError;

/// The longest answer read from the provider: a discovery document, a JWK
/// Set or a token response is a few KiB.
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024;

/// How long one call to the provider may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// `Ok` when `url` is `https`, or `http` to a loopback host; else why not.
///
/// # Errors
/// The reason, for the caller to name the setting or endpoint.
pub fn acceptable_url(url: &str) -> Result<(), String> {
    let uri: Uri = url.parse().map_err(|e| format!("it is not a URL ({e})"))?;
    let host = uri.host().ok_or("it has no host")?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback(host) => Ok(()),
        Some("http") => Err("plain `http` is accepted only to a loopback host; use `https`".into()),
        _ => Err("it is not an `https` URL".into()),
    }
}

fn loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The agent every call uses: a timeout, no redirects, statuses returned
/// rather than raised.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(concat!("cordon-console/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// An answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, at most [`MAX_RESPONSE_BYTES`].
    pub body: Vec<u8>,
}

/// `GET url`, expecting 200.
///
/// # Errors
/// [`LoginError::Url`], [`LoginError::Unreachable`] or
/// [`LoginError::Status`].
pub fn get(agent: &ureq::Agent, what: &'static str, url: &str) -> Result<Vec<u8>, LoginError> {
    checked(what, url)?;
    let answer = read(
        what,
        url,
        agent.get(url).header("Accept", "application/json").call(),
    )?;
    if answer.status != 200 {
        return Err(LoginError::Status {
            what,
            url: url.to_owned(),
            status: answer.status,
        });
    }
    Ok(answer.body)
}

/// `POST url` with `form`, and `authorization` if given; any status.
///
/// # Errors
/// [`LoginError::Url`] or [`LoginError::Unreachable`].
pub fn post_form(
    agent: &ureq::Agent,
    what: &'static str,
    url: &str,
    form: &[(&str, &str)],
    authorization: Option<&str>,
) -> Result<Answer, LoginError> {
    checked(what, url)?;
    let mut request = agent.post(url).header("Accept", "application/json");
    if let Some(a) = authorization {
        request = request.header("Authorization", a);
    }
    read(what, url, request.send_form(form.iter().copied()))
}

fn checked(what: &'static str, url: &str) -> Result<(), LoginError> {
    acceptable_url(url).map_err(|reason| LoginError::Url {
        what,
        url: url.to_owned(),
        reason,
    })
}

fn read(
    what: &'static str,
    url: &str,
    sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, LoginError> {
    let unreachable = |e: ureq::Error| LoginError::Unreachable {
        what,
        url: url.to_owned(),
        reason: e.to_string(),
    };
    let mut response = sent.map_err(unreachable)?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_vec()
        .map_err(unreachable)?;
    Ok(Answer { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(acceptable_url("https://login.example.com/x").is_ok());
        assert!(acceptable_url("http://127.0.0.1:8080/x").is_ok());
        assert!(acceptable_url("http://[::1]:8080/x").is_ok());
        assert!(acceptable_url("http://localhost/x").is_ok());
        assert!(acceptable_url("http://login.example.com/x").is_err());
        assert!(acceptable_url("http://10.0.0.1/x").is_err());
        assert!(acceptable_url("ftp://login.example.com/x").is_err());
        assert!(acceptable_url("/relative").is_err());
    }
}
