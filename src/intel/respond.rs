//! Block proposals: which remote parties the alert window makes block
//! candidates, minus the addresses that must never be blocked, as nftables
//! commands with a timeout. Proposing changes nothing; running them is
//! `necromap respond --execute` (root, confirmed, rate-limited, capped,
//! logged).

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::window::{Candidate, candidates};
use crate::model::AlertDigest;

/// The nftables table and sets blocks go into.
pub const NFT_TABLE: &str = "inet necromap";
pub const NFT_SET_V4: &str = "block4";
pub const NFT_SET_V6: &str = "block6";

/// Addresses never to block, and why.
#[derive(Debug, Clone, Default)]
pub struct Safeguards {
    pub own: HashSet<IpAddr>,
    pub gateways: Vec<IpAddr>,
    pub resolvers: Vec<IpAddr>,
    /// Allowlisted networks (address, prefix length).
    pub allow: Vec<(IpAddr, u8)>,
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Safeguards {
    /// Why `ip` must not be blocked, if it must not.
    pub fn why_not(&self, ip: IpAddr) -> Option<String> {
        let ip = crate::model::normalize_ip(ip);
        let special = match ip {
            IpAddr::V4(v) => v.is_loopback() || v.is_unspecified() || v.is_multicast() || v.is_broadcast(),
            IpAddr::V6(v) => v.is_loopback() || v.is_unspecified() || v.is_multicast(),
        };
        if special {
            return Some("loopback, unspecified or multicast".into());
        }
        if crate::model::Zone::of(ip) == crate::model::Zone::LinkLocal {
            return Some("link-local".into());
        }
        if self.own.contains(&ip) {
            return Some("one of this host's addresses".into());
        }
        if self.gateways.contains(&ip) {
            return Some("the default gateway".into());
        }
        if self.resolvers.contains(&ip) {
            return Some("a configured DNS resolver".into());
        }
        self.allow.iter().find(|(n, l)| in_net(ip, *n, *l)).map(|(n, l)| format!("allowlisted ({n}/{l})"))
    }

    /// This host's safeguards: its own addresses (from the snapshot), the
    /// default gateways (`/proc/net/route`, `/proc/net/ipv6_route`), the
    /// resolvers (`/etc/resolv.conf`), and the allowlist given.
    pub fn of_host(snapshot: &crate::model::Snapshot, allow: Vec<(IpAddr, u8)>) -> Self {
        let own = snapshot.sockets.iter().map(|s| crate::model::normalize_ip(s.raw.local.ip())).filter(|ip| !ip.is_unspecified()).collect();
        Self {
            own,
            gateways: gateways(&std::fs::read_to_string("/proc/net/route").unwrap_or_default()),
            resolvers: resolvers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()),
            allow,
        }
    }
}

/// Default gateways from `/proc/net/route` (destination 0, gateway in
/// little-endian hex).
pub fn gateways(route: &str) -> Vec<IpAddr> {
    route
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(1) == Some(&"00000000")).then(|| u32::from_str_radix(f.get(2)?, 16).ok()).flatten()
        })
        .filter(|g| *g != 0)
        .map(|g| IpAddr::from(std::net::Ipv4Addr::from(g.swap_bytes())))
        .collect()
}

/// `nameserver` lines of resolv.conf.
pub fn resolvers(conf: &str) -> Vec<IpAddr> {
    conf.lines().filter_map(|l| l.trim().strip_prefix("nameserver")).filter_map(|v| v.trim().parse().ok()).collect()
}

/// One proposed block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Proposal {
    pub remote: IpAddr,
    pub reason: String,
    pub command: Vec<String>,
}

impl Proposal {
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }
}

/// The nft invocation adding `ip` to the block set for `timeout`.
pub fn nft_add(ip: IpAddr, timeout: Duration) -> Vec<String> {
    let set = if ip.is_ipv4() { NFT_SET_V4 } else { NFT_SET_V6 };
    let secs = timeout.as_secs().max(60);
    let mut cmd: Vec<String> = vec!["nft".into(), "add".into(), "element".into()];
    cmd.extend(NFT_TABLE.split(' ').map(String::from));
    cmd.extend([set.into(), "{".into(), ip.to_string(), "timeout".into(), format!("{secs}s"), "}".into()]);
    cmd
}

/// One-time nftables setup the blocks need (printed with proposals).
pub fn nft_setup() -> Vec<String> {
    vec![
        format!("nft add table {NFT_TABLE}"),
        format!("nft add set {NFT_TABLE} {NFT_SET_V4} '{{ type ipv4_addr; flags timeout; }}'"),
        format!("nft add set {NFT_TABLE} {NFT_SET_V6} '{{ type ipv6_addr; flags timeout; }}'"),
        format!("nft add chain {NFT_TABLE} input '{{ type filter hook input priority -10; }}'"),
        format!("nft add rule {NFT_TABLE} input ip saddr @{NFT_SET_V4} drop"),
        format!("nft add rule {NFT_TABLE} input ip6 saddr @{NFT_SET_V6} drop"),
    ]
}

fn reason(c: &Candidate) -> String {
    format!("{} alerts, weighted score {}, {} distinct signatures in 300 s (worst severity {})", c.count, c.score, c.signatures, c.worst)
}

/// Candidates at `now_ms`, split into proposals and refusals (address, why).
pub fn propose(digest: &AlertDigest, now_ms: i64, guards: &Safeguards, timeout: Duration) -> (Vec<Proposal>, Vec<(IpAddr, String)>) {
    let mut proposals = Vec::new();
    let mut refused = Vec::new();
    for c in candidates(digest, now_ms) {
        match guards.why_not(c.remote) {
            Some(why) => refused.push((c.remote, why)),
            None => proposals.push(Proposal { remote: c.remote, reason: reason(&c), command: nft_add(c.remote, timeout) }),
        }
    }
    (proposals, refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::eve::Alert;

    fn alert(ip: &str, sid: u64) -> Alert {
        let remote: IpAddr = ip.parse().expect("ip");
        Alert {
            at_ms: 1_000,
            remote,
            local: None,
            src_ip: remote,
            src_port: None,
            dest_ip: "192.0.2.10".parse().expect("ip"),
            dest_port: None,
            proto: "TCP".into(),
            direction: None,
            flow_id: None,
            signature_id: sid,
            signature: "x".into(),
            category: "y".into(),
            severity: 1,
            action: None,
        }
    }

    #[test]
    fn never_loopback_link_local_own_gateway_resolver_or_allowlisted() {
        let mut book = crate::intel::alerts::AlertBook::default();
        for ip in ["203.0.113.45", "127.0.0.1", "169.254.169.254", "192.0.2.10", "192.0.2.1", "192.0.2.53", "198.51.100.9", "fe80::1"] {
            book.add(alert(ip, 1));
            book.add(alert(ip, 2));
        }
        let guards = Safeguards {
            own: ["192.0.2.10".parse().expect("ip")].into(),
            gateways: vec!["192.0.2.1".parse().expect("ip")],
            resolvers: vec!["192.0.2.53".parse().expect("ip")],
            allow: vec![("198.51.100.0".parse().expect("ip"), 24)],
        };
        let (proposals, refused) = propose(&book.digest(1), 2_000, &guards, Duration::from_secs(3600));
        assert_eq!(proposals.iter().map(|p| p.remote.to_string()).collect::<Vec<_>>(), ["203.0.113.45"]);
        assert_eq!(proposals[0].command_line(), "nft add element inet necromap block4 { 203.0.113.45 timeout 3600s }");
        assert_eq!(refused.len(), 7, "{refused:?}");
        assert!(refused.iter().any(|(ip, why)| ip.to_string() == "198.51.100.9" && why.contains("allowlisted")));
    }

    #[test]
    fn host_files() {
        let route = "Iface\tDestination\tGateway \tFlags\nens3\t00000000\t0102000A\t0003\nens3\t0000000A\t00000000\t0001\n";
        assert_eq!(gateways(route), vec!["10.0.2.1".parse::<IpAddr>().expect("ip")]);
        assert_eq!(resolvers("# x\nnameserver 192.0.2.53\nnameserver ::1\nsearch lan\n").len(), 2);
    }
}
