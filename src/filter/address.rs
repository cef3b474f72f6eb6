//! Address terms of the filter language: an address, a network (CIDR), or
//! an endpoint (address and port), written after `ip:`/`addr:` or bare.
//!
//! ```text
//! ip:203.0.113.0/24  ip:2001:db8::/32  ip:10.0.0.5  addr:10.0.0.5
//! 10.0.0.5  198.51.100.0/24  2001:db8::1  [2001:db8::1]  [2001:db8::1]:443
//! 10.0.0.5:443  2001:db8
//! ```
//!
//! A term matches a socket whose local **or** remote address is inside the
//! network: "anything touching this address", so `ip:10.0.0.5` finds the
//! host's own listeners and connections on that address as well as
//! connections to it. A wildcard local bind (`0.0.0.0`, `::`) is only
//! found by the wildcard itself, and an unconnected socket's empty remote
//! never matches. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.5`) count as
//! their IPv4 address.
//!
//! A partial IPv6 address without `::` (`2001:db8`, `fd00:1:2`) is the
//! network of its leading groups (`2001:db8::/32`, `fd00:1:2::/48`), not a
//! text match: text would also find `2001:db80::1` and `fd00::2001:db8`,
//! which are other networks, while the groups say exactly which one is
//! meant. A partial IPv4 address (`203.0.113`) stays free text, as before.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// An address with a prefix length: `10.0.0.5` is `10.0.0.5/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    len: u8,
}

impl Network {
    /// The network, host bits cleared; `len` at most the family's width.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, String> {
        let addr = addr.to_canonical();
        let max = bits(addr);
        if len > max {
            return Err(format!("prefix length /{len} is over {max}, the most for {}", family(addr)));
        }
        Ok(Self { addr: masked(addr, len), len })
    }

    pub fn addr(self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(self) -> u8 {
        self.len
    }

    /// Whether `ip` (IPv4-mapped counts as IPv4) lies inside.
    pub fn contains(self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && masked(ip, self.len) == self.addr
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.len == bits(self.addr) { write!(f, "{}", self.addr) } else { write!(f, "{}/{}", self.addr, self.len) }
    }
}

/// An address term: a network, and a port when one was given
/// (`[2001:db8::1]:443`, `10.0.0.5:443`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressTerm {
    pub network: Network,
    pub port: Option<u16>,
}

impl AddressTerm {
    /// Whether the local or the remote side of a socket is inside (and on
    /// the port, when one was given).
    pub fn matches(self, local: SocketAddr, remote: SocketAddr) -> bool {
        let side = |a: SocketAddr| self.network.contains(a.ip()) && self.port.is_none_or(|p| a.port() == p);
        side(local) || (!remote.ip().is_unspecified() && side(remote))
    }
}

/// What `ip:` accepts, for errors.
pub const EXPECTED: &str = "expected an address, a network or an endpoint: 10.0.0.5, 203.0.113.0/24, 2001:db8::/32, 2001:db8, [2001:db8::1]:443";

/// Parse the value of `ip:`/`addr:`. `Err` says what is wrong.
pub fn parse(text: &str) -> Result<AddressTerm, String> {
    looks_like(text).unwrap_or_else(|| Err(EXPECTED.to_string()))
}

/// A bare word that is an address term: `None` when it does not look like
/// one (so it is a key:value term or free text), `Some(Err)` when it does
/// but is wrong (`[2001:db8::1`, `10.0.0.0/33`).
pub fn looks_like(word: &str) -> Option<Result<AddressTerm, String>> {
    let only = |network| Ok(AddressTerm { network, port: None });
    if let Some(rest) = word.strip_prefix('[') {
        return Some(bracketed(rest));
    }
    if let Ok(ip) = word.parse::<IpAddr>() {
        return Some(Network::new(ip, bits(ip)).and_then(only));
    }
    if let Ok(sa) = word.parse::<SocketAddr>() {
        return Some(Network::new(sa.ip(), bits(sa.ip())).map(|network| AddressTerm { network, port: Some(sa.port()) }));
    }
    if let Some((addr, len)) = word.split_once('/')
        && let Ok(ip) = addr.parse::<IpAddr>()
    {
        return Some(match len.parse::<u8>() {
            Ok(len) => Network::new(ip, len).and_then(only),
            Err(_) => Err(format!("prefix length `/{len}`: expected a number 0-{}", bits(ip))),
        });
    }
    partial_v6(word).map(|n| n.and_then(only))
}

/// `[v6]` or `[v6]:port`.
fn bracketed(rest: &str) -> Result<AddressTerm, String> {
    let wrong = || "expected [address] or [address]:port, such as [2001:db8::1]:443".to_string();
    let (inside, after) = rest.split_once(']').ok_or_else(wrong)?;
    let ip: IpAddr = inside.parse().map_err(|_| wrong())?;
    let port = match after {
        "" => None,
        _ => Some(after.strip_prefix(':').and_then(|p| p.parse::<u16>().ok()).ok_or_else(wrong)?),
    };
    Ok(AddressTerm { network: Network::new(ip, bits(ip))?, port })
}

/// `2001:db8` → `2001:db8::/32`: one to seven groups of one to four hex
/// digits, at least two groups (a lone `2001` is free text); a trailing
/// `:` is allowed (`2001:db8:`).
fn partial_v6(word: &str) -> Option<Result<Network, String>> {
    let word = word.strip_suffix(':').unwrap_or(word);
    let groups: Vec<&str> = word.split(':').collect();
    let is_group = |g: &&str| (1..=4).contains(&g.len()) && g.bytes().all(|b| b.is_ascii_hexdigit());
    if !(2..=7).contains(&groups.len()) || !groups.iter().all(is_group) {
        return None;
    }
    let mut segments = [0u16; 8];
    for (s, g) in segments.iter_mut().zip(&groups) {
        *s = u16::from_str_radix(g, 16).ok()?;
    }
    let len = u8::try_from(groups.len() * 16).ok()?;
    Some(Network::new(IpAddr::V6(Ipv6Addr::from(segments)), len))
}

fn bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

fn masked(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Network {
        looks_like(text).expect("an address").expect("valid").network
    }

    fn sa(text: &str) -> SocketAddr {
        text.parse().expect("socket address")
    }

    #[test]
    fn addresses_networks_and_endpoints() {
        assert_eq!(net("10.0.0.5").to_string(), "10.0.0.5");
        assert_eq!(net("203.0.113.7/24").to_string(), "203.0.113.0/24", "host bits cleared");
        assert_eq!(net("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(net("2001:db8::1").to_string(), "2001:db8::1");
        assert_eq!(net("::1").to_string(), "::1");
        assert_eq!(net("2001:db8").to_string(), "2001:db8::/32", "leading groups");
        assert_eq!(net("fd00:1:2").to_string(), "fd00:1:2::/48");
        assert_eq!(net("2001:db8:").to_string(), "2001:db8::/32", "a trailing colon");
        assert_eq!(net("0.0.0.0/0").prefix_len(), 0);
        let t = looks_like("[2001:db8::1]:443").expect("endpoint").expect("valid");
        assert_eq!((t.network.to_string(), t.port), ("2001:db8::1".to_string(), Some(443)));
        let t = looks_like("[2001:db8::1]").expect("address").expect("valid");
        assert_eq!(t.port, None);
        let t = looks_like("10.0.0.5:443").expect("endpoint").expect("valid");
        assert_eq!((t.network.to_string(), t.port), ("10.0.0.5".to_string(), Some(443)));
    }

    #[test]
    fn words_that_are_not_addresses_are_left_alone() {
        for w in ["nginx", "203.0.113", "2001", "state:listen", "proc:ssh", "10.0.0", "sev:crit", "host:github", "a:b:c:d:e:f:0:1:2"] {
            assert!(looks_like(w).is_none(), "{w}");
        }
    }

    #[test]
    fn wrong_addresses_say_what_was_expected() {
        let e = |w: &str| looks_like(w).expect("looks like one").expect_err("wrong");
        assert!(e("10.0.0.0/33").contains("/33 is over 32, the most for IPv4"), "{}", e("10.0.0.0/33"));
        assert!(e("2001:db8::/129").contains("over 128"));
        assert!(e("10.0.0.0/x").contains("expected a number 0-32"));
        assert!(e("[2001:db8::1").contains("[address]:port"));
        assert!(e("[2001:db8::1]:https").contains("[address]:port"));
        assert!(e("[nope]").contains("[address]"));
        assert!(parse("banana").expect_err("not an address").contains("203.0.113.0/24"));
    }

    #[test]
    fn either_side_matches_and_mapped_v4_counts_as_v4() {
        let t = parse("203.0.113.0/24").expect("valid");
        assert!(t.matches(sa("10.0.0.5:50000"), sa("203.0.113.9:443")), "remote");
        assert!(t.matches(sa("203.0.113.1:22"), sa("198.51.100.2:40000")), "local");
        assert!(!t.matches(sa("10.0.0.5:50000"), sa("198.51.100.2:443")));
        assert!(t.matches(sa("[::ffff:10.0.0.5]:50000"), sa("[::ffff:203.0.113.9]:443")), "mapped");
        let v6 = parse("2001:db8").expect("valid");
        assert!(v6.matches(sa("[2001:db8::5]:1"), sa("[::]:0")));
        assert!(!v6.matches(sa("[2001:db80::5]:1"), sa("[fd00::2001:db8]:2")), "another network");
        let wildcard = parse("0.0.0.0").expect("valid");
        assert!(wildcard.matches(sa("0.0.0.0:22"), sa("0.0.0.0:0")), "the wildcard bind");
        assert!(!wildcard.matches(sa("10.0.0.5:22"), sa("0.0.0.0:0")), "an empty remote never matches");
        let ep = parse("[2001:db8::1]:443").expect("valid");
        assert!(ep.matches(sa("[2001:db8::2]:5000"), sa("[2001:db8::1]:443")));
        assert!(!ep.matches(sa("[2001:db8::2]:5000"), sa("[2001:db8::1]:80")), "the port must agree");
    }
}
