//! Which address a request really comes from.
//!
//! `X-Forwarded-For` and `Forwarded` (RFC 7239) are written by whoever sends the
//! request, so they are believed only from configured trusted proxies: walking
//! the chain from the right, every hop that is a trusted proxy is skipped and the
//! first address that is not is the client. A malformed chain from a trusted
//! proxy makes the client unknown (fail closed), never the proxy itself.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::cidr::Cidr;

/// The client address for a request, or `None` when a trusted proxy sent a chain
/// that cannot be read.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[Cidr]) -> Option<IpAddr> {
    let peer_ip = cordon_geo::normalize(peer.ip());
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer_ip) {
        return Some(peer_ip);
    }
    let chain = match forwarded_chain(headers) {
        Ok(Some(chain)) => chain,
        Ok(None) => return Some(peer_ip),
        Err(()) => return None,
    };
    for ip in chain.into_iter().rev() {
        if !is_trusted(ip) {
            return Some(ip);
        }
    }
    // Every hop is a trusted proxy: the request originates inside the trusted network.
    Some(peer_ip)
}

/// The addresses named by `Forwarded` (preferred) or `X-Forwarded-For`, left to right.
fn forwarded_chain(headers: &HeaderMap) -> Result<Option<Vec<IpAddr>>, ()> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        let mut out = Vec::new();
        for element in forwarded.iter().flat_map(|v| v.split(',')) {
            let value = element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .map(|(_, v)| v.trim().trim_matches('"'))
                .ok_or(())?;
            out.push(parse_node(value)?);
        }
        return Ok(Some(out));
    }
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if xff.is_empty() {
        return Ok(None);
    }
    xff.iter()
        .flat_map(|v| v.split(','))
        .map(|s| parse_node(s.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:80`, `[::1]`, `[::1]:80`, `::1`.
fn parse_node(s: &str) -> Result<IpAddr, ()> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(cordon_geo::normalize(ip));
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(cordon_geo::normalize(sa.ip()));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner
            .parse::<IpAddr>()
            .map(cordon_geo::normalize)
            .map_err(|_| ());
    }
    Err(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn trusted() -> Vec<Cidr> {
        vec![Cidr::parse("10.0.0.0/8").unwrap()]
    }

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 5555)
    }

    #[test]
    fn untrusted_peers_cannot_spoof() {
        let h = headers(&[("x-forwarded-for", "8.8.8.8")]);
        assert_eq!(
            client_ip(peer("2.144.0.1"), &h, &trusted()),
            Some("2.144.0.1".parse().unwrap())
        );
    }

    #[test]
    fn trusted_proxies_are_skipped_from_the_right() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 2.144.0.1, 10.0.0.7")]);
        assert_eq!(
            client_ip(peer("10.0.0.2"), &h, &trusted()),
            Some("2.144.0.1".parse().unwrap())
        );
        let h = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8::1]:4711\";proto=https",
        )]);
        assert_eq!(
            client_ip(peer("10.0.0.2"), &h, &trusted()),
            Some("2001:db8::1".parse().unwrap())
        );
    }

    #[test]
    fn a_malformed_chain_from_a_trusted_proxy_is_unknown() {
        let h = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(client_ip(peer("10.0.0.2"), &h, &trusted()), None);
        let h = headers(&[("forwarded", "by=1.2.3.4")]);
        assert_eq!(client_ip(peer("10.0.0.2"), &h, &trusted()), None);
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        let h = HeaderMap::new();
        assert_eq!(
            client_ip(peer("::ffff:8.8.8.8"), &h, &[]),
            Some("8.8.8.8".parse().unwrap())
        );
    }
}
