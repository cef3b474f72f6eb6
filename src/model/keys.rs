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

/// A remote endpoint: one node per remote IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointKey(pub IpAddr);

impl fmt::Display for EndpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A listener: protocol, bound address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListenerKey {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
}

impl fmt::Display for ListenerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            IpAddr::V4(a) => write!(f, "{}/{}:{}", self.protocol, a, self.port),
            IpAddr::V6(a) => write!(f, "{}/[{}]:{}", self.protocol, a, self.port),
        }
    }
}
