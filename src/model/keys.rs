//! Stable keys: how every part of necromap names a process, socket,
//! endpoint or listener across refreshes. UI selection, findings and the
//! MCP server hold these, never row indexes.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::socket::Protocol;

/// A process id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pid(pub u32);

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A socket across refreshes. On Linux this is the kernel's socket cookie,
/// unique for the life of the boot; sources without cookies derive one from
/// the 5-tuple and inode (see [`SocketKey::derived`]). Written as
/// `tcp:00000000000012ab` in every output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketKey {
    pub protocol: Protocol,
    pub cookie: u64,
}

impl SocketKey {
    /// A key for sources that have no kernel cookie (the portable fallback).
    /// FNV-1a over the tuple: stable across runs, unlike `DefaultHasher`.
    pub fn derived(protocol: Protocol, local: std::net::SocketAddr, remote: std::net::SocketAddr, inode: u32) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(local.to_string().as_bytes());
        eat(b"|");
        eat(remote.to_string().as_bytes());
        eat(&inode.to_le_bytes());
        Self { protocol, cookie: h | (1 << 63) }
    }
}

impl fmt::Display for SocketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{:016x}", self.protocol, self.cookie)
    }
}

impl std::str::FromStr for SocketKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (proto, cookie) = s.split_once(':').ok_or_else(|| format!("socket id `{s}`: expected PROTO:HEX, e.g. tcp:00000000000012ab"))?;
        let protocol = proto.parse()?;
        let cookie = u64::from_str_radix(cookie, 16).map_err(|e| format!("socket id `{s}`: {e}"))?;
        Ok(Self { protocol, cookie })
    }
}

impl Serialize for SocketKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SocketKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A network namespace, by the inode of its `/proc/<pid>/ns/net` link
/// (`net:[4026532301]`). The observer's own namespace is written as no
/// namespace at all (`None` wherever a key holds an `Option<NetNs>`), so
/// single-namespace hosts, old recordings and scenarios read as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NetNs(pub u32);

impl fmt::Display for NetNs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "net:{}", self.0)
    }
}

impl std::str::FromStr for NetNs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("net:").unwrap_or(s).trim_start_matches('[').trim_end_matches(']');
        digits.parse().map(Self).map_err(|_| format!("namespace `{s}`: expected net:INODE, e.g. net:4026532301"))
    }
}

/// A remote endpoint: one node per remote IP address. A loopback address
/// belongs to one network namespace (a container's 127.0.0.1 is not the
/// host's), so its key carries the namespace; every other address is one
/// endpoint however many namespaces talk to it. Written `127.0.0.1` or
/// `127.0.0.1@net:4026532301`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EndpointKey {
    pub ip: IpAddr,
    pub netns: Option<NetNs>,
}

impl EndpointKey {
    /// The endpoint of `ip` as seen from namespace `netns`: the namespace
    /// is kept only for loopback addresses.
    pub fn of(ip: IpAddr, netns: Option<NetNs>) -> Self {
        let ip = crate::terms::normalize_ip(ip);
        Self { ip, netns: if ip.is_loopback() { netns } else { None } }
    }

    /// The endpoint of `ip` from the observer's own namespace.
    pub fn host(ip: IpAddr) -> Self {
        Self::of(ip, None)
    }
}

impl fmt::Display for EndpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.netns {
            Some(ns) => write!(f, "{}@{ns}", self.ip),
            None => self.ip.fmt(f),
        }
    }
}

impl std::str::FromStr for EndpointKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ip, ns) = match s.split_once('@') {
            Some((ip, ns)) => (ip, Some(ns.parse::<NetNs>()?)),
            None => (s, None),
        };
        let ip: IpAddr = ip.trim_start_matches('[').trim_end_matches(']').parse().map_err(|e| format!("endpoint `{s}`: {e}"))?;
        Ok(Self::of(ip, ns))
    }
}

impl Serialize for EndpointKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EndpointKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A listener: protocol, bound address and port, in its network
/// namespace (none: the observer's own). Two containers may both listen on
/// `0.0.0.0:80`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListenerKey {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NetNs>,
}

impl fmt::Display for ListenerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            IpAddr::V4(a) => write!(f, "{}/{}:{}", self.protocol, a, self.port)?,
            IpAddr::V6(a) => write!(f, "{}/[{}]:{}", self.protocol, a, self.port)?,
        }
        match self.netns {
            Some(ns) => write!(f, "@{ns}"),
            None => Ok(()),
        }
    }
}

/// An address as one number: a derived hash writes the variant, the
/// length and each byte apart, and endpoints and listeners are hashed for
/// nearly every socket of a refresh (the dump's rows come in hash order,
/// so neighbours rarely share them).
fn address_word(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

/// The bits of a key's second word that say its address's family (3) and
/// its namespace (5: whether there is one; 32–63: which). Bits 0–2 are
/// left free for whoever packs the key with others (the map's fold puts a
/// node's kind there).
fn family_and_netns(ip: IpAddr, netns: Option<NetNs>) -> u64 {
    u64::from(ip.is_ipv6()) << 3 | netns.map_or(0, |n| 1 << 5 | u64::from(n.0) << 32)
}

impl EndpointKey {
    /// The key as an address word and a word of family and namespace:
    /// equal words exactly when the keys are equal.
    pub fn words(&self) -> (u128, u64) {
        (address_word(self.ip), family_and_netns(self.ip, self.netns))
    }
}

impl ListenerKey {
    /// The key as an address word and a word of family, namespace,
    /// protocol (bits 6–7) and port (8–23): equal words exactly when the
    /// keys are equal.
    pub fn words(&self) -> (u128, u64) {
        (address_word(self.address), family_and_netns(self.address, self.netns) | (self.protocol as u64) << 6 | u64::from(self.port) << 8)
    }
}

/// Whole words, not field by field (see [`EndpointKey::words`]).
impl std::hash::Hash for EndpointKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let (address, rest) = self.words();
        h.write_u128(address);
        h.write_u64(rest);
    }
}

/// Whole words, as for [`EndpointKey`].
impl std::hash::Hash for ListenerKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let (address, rest) = self.words();
        h.write_u128(address);
        h.write_u64(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_keep_their_namespace_and_others_do_not() {
        let ns = Some(NetNs(4_026_532_301));
        let lo = EndpointKey::of("127.0.0.1".parse().expect("ip"), ns);
        assert_eq!(lo.to_string(), "127.0.0.1@net:4026532301");
        assert_eq!(lo.to_string().parse::<EndpointKey>(), Ok(lo));
        assert_ne!(lo, EndpointKey::host("127.0.0.1".parse().expect("ip")), "a container's loopback is not the host's");
        let public = EndpointKey::of("203.0.113.5".parse().expect("ip"), ns);
        assert_eq!(public, EndpointKey::host("203.0.113.5".parse().expect("ip")), "one endpoint whoever talks to it");
        assert_eq!(public.to_string(), "203.0.113.5");
        let mapped = EndpointKey::host("::ffff:203.0.113.5".parse().expect("ip"));
        assert_eq!(mapped, public, "IPv4-mapped addresses are the IPv4 endpoint");
        assert!("127.0.0.1@pid:3".parse::<EndpointKey>().is_err());
        let json = serde_json::to_string(&lo).expect("json");
        assert_eq!(serde_json::from_str::<EndpointKey>(&json).expect("back"), lo);
    }

    #[test]
    fn listener_keys_name_their_namespace_only_outside_the_host() {
        let mut l = ListenerKey { protocol: Protocol::Tcp, address: "0.0.0.0".parse().expect("ip"), port: 80, netns: None };
        assert_eq!(l.to_string(), "tcp/0.0.0.0:80");
        l.netns = Some(NetNs(7));
        assert_eq!(l.to_string(), "tcp/0.0.0.0:80@net:7");
    }
}
