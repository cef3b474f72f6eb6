//! Address zones and address normalisation.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Where an address lives, from the host's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Zone {
    Loopback,
    Private,
    LinkLocal,
    Public,
}

impl Zone {
    pub const ALL: [Self; 4] = [Self::Loopback, Self::Private, Self::LinkLocal, Self::Public];

    /// Classify an address (normalise IPv4-mapped IPv6 first).
    pub fn of(ip: IpAddr) -> Self {
        match normalize_ip(ip) {
            IpAddr::V4(a) => Self::of_v4(a),
            IpAddr::V6(a) => Self::of_v6(a),
        }
    }

    fn of_v4(a: Ipv4Addr) -> Self {
        let o = a.octets();
        if a.is_loopback() {
            Self::Loopback
        } else if a.is_link_local() {
            Self::LinkLocal
        } else if a.is_private()
            || a.is_unspecified()
            // 100.64.0.0/10 carrier-grade NAT is not reachable from the internet.
            || (o[0] == 100 && (o[1] & 0xc0) == 64)
        {
            Self::Private
        } else {
            Self::Public
        }
    }

    fn of_v6(a: Ipv6Addr) -> Self {
        let seg0 = a.segments()[0];
        if a.is_loopback() {
            Self::Loopback
        } else if (seg0 & 0xffc0) == 0xfe80 {
            Self::LinkLocal
        } else if (seg0 & 0xfe00) == 0xfc00 || a.is_unspecified() {
            // fc00::/7 unique local addresses.
            Self::Private
        } else {
            Self::Public
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::LinkLocal => "link_local",
            Self::Public => "public",
        }
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Zone {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|z| z.name() == s.to_ascii_lowercase().replace('-', "_"))
            .ok_or_else(|| format!("zone `{s}`: expected loopback, private, link_local or public"))
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes plain IPv4; everything else is
/// unchanged. Dual-stack sockets report v4 peers this way.
pub fn normalize_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// [`normalize_ip`] for a socket address.
pub fn normalize_addr(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(normalize_ip(addr.ip()), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(s: &str) -> Zone {
        Zone::of(s.parse().expect("test address"))
    }

    #[test]
    fn classifies_each_zone() {
        assert_eq!(z("127.0.0.1"), Zone::Loopback);
        assert_eq!(z("127.255.0.9"), Zone::Loopback);
        assert_eq!(z("::1"), Zone::Loopback);
        assert_eq!(z("10.1.2.3"), Zone::Private);
        assert_eq!(z("172.16.0.1"), Zone::Private);
        assert_eq!(z("172.31.255.1"), Zone::Private);
        assert_eq!(z("172.32.0.1"), Zone::Public);
        assert_eq!(z("192.168.1.1"), Zone::Private);
        assert_eq!(z("100.64.0.1"), Zone::Private);
        assert_eq!(z("100.128.0.1"), Zone::Public);
        assert_eq!(z("fd12::1"), Zone::Private);
        assert_eq!(z("169.254.169.254"), Zone::LinkLocal);
        assert_eq!(z("fe80::1"), Zone::LinkLocal);
        assert_eq!(z("203.0.113.9"), Zone::Public);
        assert_eq!(z("2001:db8::1"), Zone::Public);
        assert_eq!(z("0.0.0.0"), Zone::Private);
    }

    #[test]
    fn ipv4_mapped_ipv6_is_normalised_and_classified_as_v4() {
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().expect("addr");
        assert_eq!(normalize_ip(mapped), "127.0.0.1".parse::<IpAddr>().expect("addr"));
        assert_eq!(Zone::of(mapped), Zone::Loopback);
        let mapped_public: SocketAddr = "[::ffff:203.0.113.7]:443".parse().expect("addr");
        assert_eq!(normalize_addr(mapped_public).to_string(), "203.0.113.7:443");
        // Not mapped: unchanged.
        let v6: IpAddr = "2001:db8::7".parse().expect("addr");
        assert_eq!(normalize_ip(v6), v6);
        // IPv4-compatible (deprecated ::a.b.c.d) is not mapped and stays v6.
        let compat: IpAddr = "::7f00:1".parse().expect("addr");
        assert!(normalize_ip(compat).is_ipv6());
    }
}
