//! Baselines: what a host ordinarily runs, saved once, compared later.
//!
//! A baseline holds four sets taken from one snapshot:
//! - processes with sockets, keyed by executable path (or name when the
//!   path is unreadable) and user id;
//! - remote endpoints (IP addresses this host talked to);
//! - remote names (every name those addresses were known by: passive DNS,
//!   PTR, `/etc/hosts`; lower case, without a trailing dot). Baselines saved
//!   before names were kept load with none;
//! - listeners, keyed `min(port, 32768)/proto/min(uid, 500)/comm`. The caps
//!   fold ephemeral ports and per-user ids (desktop sessions, CI runners)
//!   into one key each, so a baseline does not go stale with every restart.
//!
//! Keys are typed ([`ListenerEntry`], [`ProcessEntry`], `IpAddr`) and
//! compared as values; they are written as text only in a saved file and in
//! what a comparison reports new.
//!
//! Comparing a snapshot with a baseline lists what is new in each set. The
//! rule key `listener_not_in_baseline` asks the same question per listener.

pub mod files;
pub mod saved;

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use crate::model::{Baseline, KeySet, ListenerEntry, ProcessEntry};
use crate::model::{Direction, Snapshot, Socket, Zone};

/// The baseline entry of a listening socket owned by `comm`.
pub fn listener_entry(sock: &Socket, comm: Option<&str>) -> ListenerEntry {
    ListenerEntry::new(sock.raw.local.port(), sock.key().protocol, sock.raw.uid, comm)
}

/// Listener key as text: `min(port, 32768)/proto/min(uid, 500)/comm`
/// (for callers that show or look up the text form; compare with
/// [`listener_entry`]).
pub fn listener_key(sock: &Socket, comm: Option<&str>) -> String {
    listener_entry(sock, comm).to_string()
}

/// Process key as text: executable path (name when unreadable) and uid
/// (compare with [`ProcessEntry::new`]).
pub fn process_key(exe: Option<&str>, name: &str, uid: u32) -> String {
    ProcessEntry::new(exe, name, uid).to_string()
}

/// What a snapshot has that a baseline does not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineDiff {
    pub baseline: String,
    pub new_processes: Vec<String>,
    pub new_remote_endpoints: Vec<String>,
    pub new_listeners: Vec<String>,
    /// Remote names not seen when the baseline was taken.
    #[serde(default)]
    pub new_remote_names: Vec<String>,
}

impl BaselineDiff {
    pub fn is_empty(&self) -> bool {
        self.new_processes.is_empty() && self.new_remote_endpoints.is_empty() && self.new_listeners.is_empty() && self.new_remote_names.is_empty()
    }
}

/// A name as kept in a baseline: lower case, no trailing dot (DNS names
/// are case-insensitive, and `github.com.` is `github.com`).
fn name_key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The names of a snapshot's remote endpoints (not loopback ones).
fn remote_names(snapshot: &Snapshot) -> BTreeSet<String> {
    snapshot
        .endpoints
        .values()
        .filter(|e| e.zone != Zone::Loopback)
        .flat_map(|e| e.names.iter().chain(e.hostname.as_ref()))
        .map(|n| name_key(n))
        .filter(|n| !n.is_empty())
        .collect()
}

/// The process, address and listener sets of one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sets {
    pub processes: KeySet<ProcessEntry>,
    pub remote_endpoints: KeySet<IpAddr>,
    pub listeners: KeySet<ListenerEntry>,
}

impl Sets {
    pub fn of(snapshot: &Snapshot) -> Self {
        Self {
            processes: snapshot.processes.values().map(|p| ProcessEntry::new(p.facts.exe.as_deref(), &p.facts.name, p.facts.uid)).collect(),
            remote_endpoints: snapshot.endpoints.values().filter(|e| e.zone != Zone::Loopback).map(|e| e.ip).collect(),
            listeners: snapshot
                .sockets
                .iter()
                .filter(|s| s.direction == Direction::Listen)
                .map(|s| listener_entry(s, s.owner().and_then(|p| snapshot.process(p)).map(|p| p.facts.name.as_str())))
                .collect(),
        }
    }
}

impl Baseline {
    pub fn from_snapshot(name: &str, snapshot: &Snapshot) -> Self {
        let Sets { processes, remote_endpoints, listeners } = Sets::of(snapshot);
        Self {
            name: name.to_string(),
            host: snapshot.source.host.clone(),
            taken_at_ms: snapshot.taken_at_ms,
            processes,
            remote_endpoints,
            listeners,
            remote_names: remote_names(snapshot),
        }
    }

    /// What `snapshot` has that this baseline lacks.
    pub fn compare(&self, snapshot: &Snapshot) -> BaselineDiff {
        let mut diff = self.compare_sets(&Sets::of(snapshot));
        diff.new_remote_names = remote_names(snapshot).difference(&self.remote_names).cloned().collect();
        diff
    }

    /// The same comparison over given sets; only what is new is written
    /// out as text.
    pub fn compare_sets(&self, now: &Sets) -> BaselineDiff {
        fn new<T: Ord + ToString>(before: &KeySet<T>, now: &KeySet<T>) -> Vec<String> {
            before.missing_from(now).map(ToString::to_string).collect()
        }
        BaselineDiff {
            baseline: self.name.clone(),
            new_processes: new(&self.processes, &now.processes),
            new_remote_endpoints: new(&self.remote_endpoints, &now.remote_endpoints),
            new_listeners: new(&self.listeners, &now.listeners),
            new_remote_names: Vec::new(),
        }
    }
}

/// The comparison for people: what is new, set by set.
pub fn render_text(baseline: &Baseline, diff: &BaselineDiff) -> String {
    use std::fmt::Write as _;
    let total = diff.new_processes.len() + diff.new_remote_endpoints.len() + diff.new_listeners.len() + diff.new_remote_names.len();
    let mut out = format!(
        "baseline `{}` (host {}, taken {}): {}\n",
        crate::text::escape_control(&baseline.name),
        crate::text::escape_control(&baseline.host),
        crate::duration::utc(baseline.taken_at_ms),
        if total == 0 { "nothing new".to_string() } else { format!("{total} new") }
    );
    for (title, items) in [
        ("listeners", &diff.new_listeners),
        ("processes", &diff.new_processes),
        ("remote endpoints", &diff.new_remote_endpoints),
        ("remote names", &diff.new_remote_names),
    ] {
        let _ = writeln!(out, "new {title}: {}", items.len());
        for item in items {
            let _ = writeln!(out, "  {}", crate::text::bounded(&crate::text::escape_control(item), 256));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::EndpointKey;

    /// The demo host with its names taken away: each test names what it needs.
    fn demo() -> Snapshot {
        let mut src = crate::collect::ReplaySource::from_text(crate::DEMO_SCENARIO, "demo").expect("demo");
        let mut s = src.build_through(Arc::new(crate::spec::Spec::embedded()), None, None).0.expect("frames");
        for e in s.endpoints.values_mut() {
            e.names.clear();
            e.hostname = None;
            e.name_source = None;
        }
        s
    }

    fn name(s: &mut Snapshot, ip: &str, names: &[&str]) {
        let e = s.endpoints.get_mut(&EndpointKey::host(ip.parse().expect("ip"))).expect("endpoint in the demo");
        e.names = names.iter().map(ToString::to_string).collect();
        e.hostname = e.names.first().cloned();
    }

    #[test]
    fn a_baseline_keeps_remote_names_and_compare_reports_new_ones() {
        let mut before = demo();
        name(&mut before, "203.0.113.41", &["API.GitHub.com.", "github.com"]);
        let b = Baseline::from_snapshot("b", &before);
        assert_eq!(b.remote_names, BTreeSet::from(["api.github.com".to_string(), "github.com".to_string()]), "lower case, no trailing dot");
        assert!(b.compare(&before).is_empty(), "nothing new against itself");

        // The same address under a new name, and a known name: only the new one.
        let mut now = demo();
        name(&mut now, "203.0.113.41", &["github.com"]);
        name(&mut now, "203.0.113.200", &["c2\u{1b}]0;x\u{202e}.test"]);
        let diff = b.compare(&now);
        assert_eq!(diff.new_remote_names, vec!["c2\u{1b}]0;x\u{202e}.test".to_string()]);
        assert!(diff.new_remote_endpoints.is_empty(), "the addresses are known");
        assert!(!diff.is_empty());
        let text = render_text(&b, &diff);
        assert!(text.contains("new remote names: 1\n  c2\\x1b]0;x\\u{202e}.test\n"), "escaped: {text}");
        assert!(text.contains(": 1 new"), "{text}");
        let json = serde_json::to_string_pretty(&diff).expect("json");
        let json = crate::text::json_escape_unsafe(&json);
        assert!(!json.chars().any(|c| crate::text::is_unsafe(c) && c != '\n'), "{json}");
        let back: BaselineDiff = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(back, diff);
    }

    #[test]
    fn a_baseline_saved_before_names_still_loads() {
        let old = r#"{"name":"old","host":"h","taken_at_ms":1,"processes":[],"remote_endpoints":["192.0.2.1"],"listeners":[]}"#;
        let b: Baseline = serde_json::from_str(old).expect("an old baseline loads");
        assert!(b.remote_names.is_empty());
        let diff: BaselineDiff =
            serde_json::from_str(r#"{"baseline":"old","new_processes":[],"new_remote_endpoints":[],"new_listeners":[]}"#).expect("old diff");
        assert!(diff.new_remote_names.is_empty());
    }
}
