//! Names of remote endpoints as the collector saw them: the name a process
//! asked DNS for (passive), a reverse (PTR) name, or an `/etc/hosts` entry;
//! and the DNS queries answered since the last refresh, for rules that look
//! at what a process resolves. Names are attacker-controlled strings: the
//! collector bounds and escapes them before they get here.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Where a name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameSource {
    /// An A/AAAA answer seen on the wire: the name someone asked for.
    DnsAnswer,
    /// A reverse (PTR) lookup necromap made.
    Ptr,
    /// `/etc/hosts`.
    Hosts,
}

impl NameSource {
    pub fn name(self) -> &'static str {
        match self {
            NameSource::DnsAnswer => "dns-answer",
            NameSource::Ptr => "ptr",
            NameSource::Hosts => "hosts",
        }
    }
}

/// The names of one address at one refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedName {
    pub ip: IpAddr,
    /// Most recent first.
    pub names: Vec<String>,
    /// Source of the first name.
    pub source: NameSource,
    /// The process that asked for the first name, when its socket was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_by: Option<u32>,
    /// When the first name was seen (Unix ms; 0 for `/etc/hosts`).
    #[serde(default)]
    pub seen_ms: i64,
}

/// One answered DNS query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQuery {
    pub at_ms: i64,
    /// The name asked for.
    pub name: String,
    pub addrs: Vec<IpAddr>,
    /// The asking process, when its socket was known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The asking socket's owner uid, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

/// What the collector knew about names at one refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameFacts {
    /// Since when DNS answers have been read (Unix ms): connections first
    /// seen after this with no DNS name went to an address nobody on this
    /// host resolved. None when passive DNS is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive_since_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<ObservedName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queries: Vec<DnsQuery>,
    /// Addresses and ports as numbers only (`-n`): no service names either.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub numeric: bool,
}

impl NameFacts {
    pub fn is_empty(&self) -> bool {
        self.passive_since_ms.is_none() && self.names.is_empty() && self.queries.is_empty() && !self.numeric
    }
}

/// The parent of a name: everything after its first label
/// (`a1b2.t.example.com` → `t.example.com`); None for a name of one or two
/// labels (a registrable domain has no parent worth counting under).
pub fn parent_domain(name: &str) -> Option<&str> {
    let name = name.trim_end_matches('.');
    let (_, rest) = name.split_once('.')?;
    rest.contains('.').then_some(rest)
}

/// Shannon entropy (bits per character) of a name's first label: random
/// labels from a generator score high (> 3.5 for 12+ characters), words low.
pub fn label_entropy(name: &str) -> f64 {
    let label = name.split('.').next().unwrap_or("");
    if label.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in label.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = label.len() as f64;
    counts.iter().filter(|&&c| c > 0).map(|&c| f64::from(c) / n).map(|p| -p * p.log2()).sum()
}

/// The longest label of a name, in bytes.
pub fn longest_label(name: &str) -> usize {
    name.split('.').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_entropy_and_labels() {
        assert_eq!(parent_domain("a1b2.t.example.com"), Some("t.example.com"));
        assert_eq!(parent_domain("www.example.com"), Some("example.com"));
        assert_eq!(parent_domain("example.com"), None);
        assert_eq!(parent_domain("localhost"), None);
        assert!(label_entropy("xj4k9qz2mw7vb1.example.com") > 3.5);
        assert!(label_entropy("www.example.com") < 2.0);
        assert!(label_entropy("").abs() < f64::EPSILON);
        assert_eq!(longest_label("aaaa.bb.c"), 4);
    }
}
