//! Outbound connections a server never declared: an MCP server process
//! with established connections to public addresses that nothing it
//! declares points at. What a server declares is the text of its command
//! line, its env names, its URL and its tools' descriptions; an endpoint
//! is declared when its address is written there, or one of its names'
//! distinctive labels is a word there (`api.github.com` by the word
//! `github` of `server-github` or `GITHUB_TOKEN`). An endpoint without a
//! name is declared only by its address. A transparent, conservative
//! test: a label must be 3 characters or more and not a generic one
//! (`www`, `api`, `com`, `cloud`, …).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use crate::agents::catalog::{AgentFinding, AgentRule};

/// Labels and words that say nothing about a service.
const GENERIC: &[&str] = &[
    "www",
    "api",
    "apis",
    "com",
    "net",
    "org",
    "io",
    "dev",
    "app",
    "cloud",
    "cdn",
    "edge",
    "static",
    "server",
    "servers",
    "mcp",
    "http",
    "https",
    "host",
    "local",
    "localhost",
    "the",
    "and",
    "for",
    "token",
    "key",
    "secret",
    "url",
    "node",
    "npx",
    "uvx",
    "python",
    "python3",
    "bin",
    "usr",
    "home",
    "tmp",
    "amazonaws",
    "compute",
    "googleusercontent",
    "akamaitechnologies",
    "cloudfront",
    "fastly",
    "cloudflare",
    "azure",
    "azureedge",
    "gateway",
    "prod",
    "production",
];

/// The words a server declares (lowercase), and its whole text for addresses.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    words: BTreeSet<String>,
    text: String,
}

impl Declared {
    pub fn new<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut d = Self::default();
        for p in parts {
            d.add(p);
        }
        d
    }

    pub fn add(&mut self, part: &str) {
        let lower = part.to_lowercase();
        for w in lower.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() >= 3 && !GENERIC.contains(w)) {
            self.words.insert(w.to_owned());
        }
        self.text.push_str(&lower);
        self.text.push('\n');
    }

    /// Whether the endpoint at `ip`, known by `names`, is one of these.
    pub fn declares(&self, ip: IpAddr, names: &[String]) -> bool {
        let ip = crate::terms::normalize_ip(ip).to_string();
        if contains_address(&self.text, &ip) {
            return true;
        }
        names.iter().any(|n| {
            let n = n.trim_end_matches('.').to_lowercase();
            let labels: Vec<&str> = n.split('.').collect();
            // The last label is the top-level domain: never distinctive.
            labels.iter().take(labels.len().saturating_sub(1)).any(|l| l.len() >= 3 && !GENERIC.contains(l) && self.words.contains(*l))
        })
    }
}

/// `ip` written in `text` as a whole address (not inside a longer number).
fn contains_address(text: &str, ip: &str) -> bool {
    let addr_char = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':';
    text.match_indices(ip).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + ip.len()..].chars().next();
        !before.is_some_and(addr_char) && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
    })
}

/// A public endpoint the server is connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub addr: SocketAddr,
    pub names: Vec<String>,
}

/// Most endpoints named in the evidence.
const SHOWN: usize = 5;

/// One finding naming the undeclared endpoints, or none.
pub fn undeclared(remotes: &[Remote], declared: &Declared) -> Option<AgentFinding> {
    let mut seen = BTreeSet::new();
    let out: Vec<&Remote> = remotes.iter().filter(|r| !declared.declares(r.addr.ip(), &r.names) && seen.insert(r.addr)).collect();
    if out.is_empty() {
        return None;
    }
    let mut shown: Vec<String> = out
        .iter()
        .take(SHOWN)
        .map(|r| match r.names.first() {
            Some(n) => format!("{} ({})", r.addr, crate::text::bounded(n, 80)),
            None => r.addr.to_string(),
        })
        .collect();
    if out.len() > SHOWN {
        shown.push(format!("and {} more", out.len() - SHOWN));
    }
    Some(AgentFinding::new(AgentRule::UndeclaredOutbound, None, &format!("connected to {} never declared: {}", out.len(), shown.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(addr: &str, names: &[&str]) -> Remote {
        Remote { addr: addr.parse().expect("addr"), names: names.iter().map(|n| (*n).to_owned()).collect() }
    }

    #[test]
    fn declared_hosts_and_addresses_are_quiet_the_rest_is_flagged() {
        let d = Declared::new([
            "npx -y @modelcontextprotocol/server-github",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "Search repositories on GitHub.",
            "--db 203.0.113.70",
        ]);
        assert!(d.declares("140.82.112.3".parse().expect("ip"), &["lb-140-82-112-3-iad.github.com".into()]));
        assert!(d.declares("203.0.113.70".parse().expect("ip"), &[]));
        assert!(!d.declares("203.0.113.7".parse().expect("ip"), &[]), "a prefix of a declared address is not it");
        assert!(!d.declares("198.51.100.9".parse().expect("ip"), &["api.example.com".into()]));
        assert!(!d.declares("198.51.100.10".parse().expect("ip"), &["www.com".into()]), "generic labels and the TLD never match");
        let f = undeclared(
            &[
                remote("140.82.112.3:443", &["lb-140-82-112-3-iad.github.com"]),
                remote("198.51.100.9:443", &["exfil.example.net"]),
                remote("198.51.100.9:443", &[]),
            ],
            &d,
        )
        .expect("a finding");
        assert_eq!(f.rule, AgentRule::UndeclaredOutbound);
        assert_eq!(f.evidence, "connected to 1 never declared: 198.51.100.9:443 (exfil.example.net)");
        assert!(undeclared(&[remote("140.82.112.3:443", &["x.github.com"])], &d).is_none());
    }
}
