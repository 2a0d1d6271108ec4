//! Addresses that never leave the operator's own network.

use std::net::IpAddr;

/// Rewrites an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to plain IPv4.
///
/// Dual-stack listeners report IPv4 peers in this form, and MaxMind DB files
/// store IPv4 data under `::/96` only, so a mapped address would find no record
/// (see [the MaxMind DB spec on IPv4 addresses in an IPv6 tree][spec]).
///
/// [spec]: https://maxmind.github.io/MaxMind-DB/#ipv4-addresses-in-an-ipv6-tree
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Whether an address is loopback, private (RFC 1918, RFC 4193 `fc00::/7`) or link-local.
///
/// Such peers are the operator's own clients (health checks, sidecars, a
/// corporate network behind the gateway); GeoIP databases have no record for
/// them, so [`crate::GeoChain`] maps them to a configured country instead.
/// IPv4-mapped IPv6 addresses are judged by their IPv4 address.
pub fn is_internal(ip: IpAddr) -> bool {
    match normalize(ip) {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_ranges() {
        for s in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:10.1.2.3",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip(s)), "{s} should be internal");
        }
        for s in [
            "8.8.8.8",
            "172.32.0.1",
            "192.169.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "::",
            "2001:4860:4860::8888",
            "fec0::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_internal(ip(s)), "{s} should not be internal");
        }
    }

    #[test]
    fn normalizes_mapped_only() {
        assert_eq!(normalize(ip("::ffff:8.8.8.8")), ip("8.8.8.8"));
        assert_eq!(normalize(ip("8.8.8.8")), ip("8.8.8.8"));
        // IPv4-compatible (deprecated) addresses are not rewritten.
        assert_eq!(normalize(ip("::8.8.8.8")), ip("::8.8.8.8"));
        assert_eq!(normalize(ip("2001:db8::1")), ip("2001:db8::1"));
    }
}
