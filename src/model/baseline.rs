//! A saved baseline: the sets of keys one snapshot of a host held (how
//! they are made and compared is `crate::baseline`). The model defines the
//! record so the event store can keep it without knowing the comparison.
//!
//! Keys are typed ([`ListenerEntry`], [`ProcessEntry`], addresses) and
//! compared as such; on disk each is still the text it always was
//! (`22/tcp/0/sshd`, `/usr/sbin/sshd uid 0`, `192.0.2.1`), so baselines
//! saved before keys were typed load unchanged.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::terms::Protocol;

/// One saved baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub name: String,
    /// Host name the snapshot came from.
    pub host: String,
    /// When the snapshot was taken (Unix ms).
    pub taken_at_ms: i64,
    pub processes: KeySet<ProcessEntry>,
    pub remote_endpoints: KeySet<IpAddr>,
    pub listeners: KeySet<ListenerEntry>,
    /// Names of the remote endpoints. Baselines saved before names were
    /// kept load with none, so every name compares as new until resaved.
    #[serde(default)]
    pub remote_names: BTreeSet<String>,
}

/// A set of baseline keys, written as a JSON list of their text forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeySet<T: Ord>(BTreeSet<T>);

impl<T: Ord> Default for KeySet<T> {
    fn default() -> Self {
        Self(BTreeSet::new())
    }
}

impl<T: Ord> KeySet<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` is in the set.
    pub fn has(&self, key: &T) -> bool {
        self.0.contains(key)
    }

    pub fn insert(&mut self, key: T) -> bool {
        self.0.insert(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// In key order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }

    /// The keys of `now` this set lacks, in key order.
    pub fn missing_from<'a>(&'a self, now: &'a Self) -> impl Iterator<Item = &'a T> {
        now.0.difference(&self.0)
    }
}

impl<T: Ord + FromStr> KeySet<T> {
    /// Whether the key written as text is in the set (for callers that
    /// hold the text form; text that is no key is in no set).
    pub fn contains(&self, key: &str) -> bool {
        key.parse::<T>().is_ok_and(|k| self.0.contains(&k))
    }
}

impl<T: Ord> FromIterator<T> for KeySet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl<T: Ord, const N: usize> From<[T; N]> for KeySet<T> {
    fn from(keys: [T; N]) -> Self {
        Self(keys.into())
    }
}

/// Serialize a key as its text form.
fn as_text<T: fmt::Display, S: Serializer>(key: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(key)
}

/// Read a key from its text form.
fn from_text<'de, T: FromStr<Err = KeyError>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// A baseline key that does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("baseline key `{text}`: expected {expected}")]
pub struct KeyError {
    text: String,
    expected: &'static str,
}

/// A listener as a baseline keeps it: `min(port, 32768)/proto/min(uid,
/// 500)/comm`. The caps fold ephemeral ports and per-user ids into one key
/// each, so a baseline does not go stale with every restart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListenerEntry {
    pub port: u16,
    pub protocol: Protocol,
    pub uid: u32,
    /// The owner's command name; `?` when unknown.
    pub process: String,
}

impl ListenerEntry {
    pub const PORT_CAP: u16 = 32768;
    pub const UID_CAP: u32 = 500;

    /// The entry of a listener on `port` owned by `uid` (caps applied).
    pub fn new(port: u16, protocol: Protocol, uid: u32, process: Option<&str>) -> Self {
        Self { port: port.min(Self::PORT_CAP), protocol, uid: uid.min(Self::UID_CAP), process: process.unwrap_or("?").to_string() }
    }
}

impl fmt::Display for ListenerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}/{}", self.port, self.protocol, self.uid, self.process)
    }
}

impl FromStr for ListenerEntry {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || KeyError { text: s.to_string(), expected: "port/protocol/uid/process" };
        let mut parts = s.splitn(4, '/');
        let mut next = || parts.next().ok_or_else(err);
        let port = next()?.parse().map_err(|_| err())?;
        let protocol = next()?.parse().map_err(|_| err())?;
        let uid = next()?.parse().map_err(|_| err())?;
        let process = next()?.to_string();
        Ok(Self { port, protocol, uid, process })
    }
}

impl Serialize for ListenerEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        as_text(self, s)
    }
}

impl<'de> Deserialize<'de> for ListenerEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d)
    }
}

/// A process as a baseline keeps it: `{program} uid {uid}`, the program
/// being the executable path (the name when the path is unreadable).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessEntry {
    pub program: String,
    pub uid: u32,
}

impl ProcessEntry {
    pub fn new(exe: Option<&str>, name: &str, uid: u32) -> Self {
        Self { program: exe.unwrap_or(name).to_string(), uid }
    }
}

impl fmt::Display for ProcessEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} uid {}", self.program, self.uid)
    }
}

impl FromStr for ProcessEntry {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || KeyError { text: s.to_string(), expected: "`<program> uid <number>`" };
        let (program, uid) = s.rsplit_once(" uid ").ok_or_else(err)?;
        Ok(Self { program: program.to_string(), uid: uid.parse().map_err(|_| err())? })
    }
}

impl Serialize for ProcessEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        as_text(self, s)
    }
}

impl<'de> Deserialize<'de> for ProcessEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_text(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_and_write_the_text_they_always_had() {
        for text in ["22/tcp/0/sshd", "32768/udp/500/?", "8080/tcp/500/kworker/0:1"] {
            let entry: ListenerEntry = text.parse().expect("listener");
            assert_eq!(entry.to_string(), text);
        }
        let l: ListenerEntry = "8080/tcp/500/kworker/0:1".parse().expect("listener");
        assert_eq!((l.port, l.protocol, l.uid, l.process.as_str()), (8080, Protocol::Tcp, 500, "kworker/0:1"), "a `/` in a name stays in it");
        assert_eq!(ListenerEntry::new(50_000, Protocol::Udp, 1000, None).to_string(), "32768/udp/500/?", "caps");
        for bad in ["", "22", "22/tcp", "22/tcp/0", "x/tcp/0/a", "22/sctp/0/a", "22/tcp/-1/a"] {
            assert!(bad.parse::<ListenerEntry>().is_err(), "{bad}");
        }
        let p: ProcessEntry = "/opt/my uid tool uid 1000".parse().expect("process");
        assert_eq!((p.program.as_str(), p.uid), ("/opt/my uid tool", 1000));
        assert_eq!(p.to_string(), "/opt/my uid tool uid 1000");
        assert!("sshd".parse::<ProcessEntry>().is_err());
        assert!("sshd uid x".parse::<ProcessEntry>().is_err());
    }

    #[test]
    fn a_baseline_in_the_old_text_format_loads_and_saves_the_same() {
        let old = r#"{"name":"old","host":"h","taken_at_ms":1,"processes":["/usr/sbin/sshd uid 0","cupsd uid 0"],"remote_endpoints":["192.0.2.1","2001:db8::1"],"listeners":["22/tcp/0/sshd","631/tcp/0/cupsd"],"remote_names":["api.github.com"]}"#;
        let b: Baseline = serde_json::from_str(old).expect("an old baseline loads");
        assert!(b.listeners.has(&ListenerEntry::new(22, Protocol::Tcp, 0, Some("sshd"))));
        assert!(b.listeners.contains("631/tcp/0/cupsd"), "the text form still finds a key");
        assert!(!b.listeners.contains("not a key"));
        assert!(b.processes.has(&ProcessEntry::new(None, "cupsd", 0)));
        assert!(b.remote_endpoints.contains("2001:db8::1"));
        let back: serde_json::Value = serde_json::to_value(&b).expect("json");
        let was: serde_json::Value = serde_json::from_str(old).expect("json");
        assert_eq!(back, was, "saved again, the file reads the same");
        let bad = old.replace("22/tcp/0/sshd", "22-tcp");
        let e = serde_json::from_str::<Baseline>(&bad).expect_err("a key that does not read");
        assert!(e.to_string().contains("22-tcp"), "{e}");
    }
}
