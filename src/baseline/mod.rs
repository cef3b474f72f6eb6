//! Baselines: what a host ordinarily runs, saved once, compared later.
//!
//! A baseline holds three sets taken from one snapshot:
//! - processes with sockets, keyed by executable path (or name when the
//!   path is unreadable) and user id;
//! - remote endpoints (IP addresses this host talked to);
//! - listeners, keyed `min(port, 32768)/proto/min(uid, 500)/comm`. The caps
//!   fold ephemeral ports and per-user ids (desktop sessions, CI runners)
//!   into one key each, so a baseline does not go stale with every restart.
//!
//! Comparing a snapshot with a baseline lists what is new in each set. The
//! rule key `listener_not_in_baseline` asks the same question per listener.

pub mod files;
pub mod saved;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::{Direction, Snapshot, Socket, Zone};

/// Listener key: `min(port, 32768)/proto/min(uid, 500)/comm`.
pub fn listener_key(sock: &Socket, comm: Option<&str>) -> String {
    format!("{}/{}/{}/{}", sock.raw.local.port().min(32768), sock.key().protocol, sock.raw.uid.min(500), comm.unwrap_or("?"))
}

/// Process key: executable path (name when unreadable) and uid.
pub fn process_key(exe: Option<&str>, name: &str, uid: u32) -> String {
    format!("{} uid {uid}", exe.unwrap_or(name))
}

/// One saved baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub name: String,
    /// Host name the snapshot came from.
    pub host: String,
    /// When the snapshot was taken (Unix ms).
    pub taken_at_ms: i64,
    pub processes: BTreeSet<String>,
    pub remote_endpoints: BTreeSet<String>,
    pub listeners: BTreeSet<String>,
}

/// What a snapshot has that a baseline does not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineDiff {
    pub baseline: String,
    pub new_processes: Vec<String>,
    pub new_remote_endpoints: Vec<String>,
    pub new_listeners: Vec<String>,
}

impl BaselineDiff {
    pub fn is_empty(&self) -> bool {
        self.new_processes.is_empty() && self.new_remote_endpoints.is_empty() && self.new_listeners.is_empty()
    }
}

/// The three sets of one snapshot.
fn sets(snapshot: &Snapshot) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let processes = snapshot.processes.values().map(|p| process_key(p.facts.exe.as_deref(), &p.facts.name, p.facts.uid)).collect();
    let remote_endpoints = snapshot.endpoints.values().filter(|e| e.zone != Zone::Loopback).map(|e| e.ip.to_string()).collect();
    let listeners = snapshot
        .sockets
        .iter()
        .filter(|s| s.direction == Direction::Listen)
        .map(|s| listener_key(s, s.owner().and_then(|p| snapshot.process(p)).map(|p| p.facts.name.as_str())))
        .collect();
    (processes, remote_endpoints, listeners)
}

impl Baseline {
    pub fn from_snapshot(name: &str, snapshot: &Snapshot) -> Self {
        let (processes, remote_endpoints, listeners) = sets(snapshot);
        Self { name: name.to_string(), host: snapshot.source.host.clone(), taken_at_ms: snapshot.taken_at_ms, processes, remote_endpoints, listeners }
    }

    /// What `snapshot` has that this baseline lacks.
    pub fn compare(&self, snapshot: &Snapshot) -> BaselineDiff {
        let (processes, remote_endpoints, listeners) = sets(snapshot);
        self.compare_lists(&processes, &remote_endpoints, &listeners)
    }

    /// The same comparison over explicit lists (what an MCP client sends).
    pub fn compare_lists(&self, processes: &BTreeSet<String>, remote_endpoints: &BTreeSet<String>, listeners: &BTreeSet<String>) -> BaselineDiff {
        let new = |now: &BTreeSet<String>, before: &BTreeSet<String>| now.difference(before).cloned().collect();
        BaselineDiff {
            baseline: self.name.clone(),
            new_processes: new(processes, &self.processes),
            new_remote_endpoints: new(remote_endpoints, &self.remote_endpoints),
            new_listeners: new(listeners, &self.listeners),
        }
    }
}

/// The comparison for people: what is new, set by set.
pub fn render_text(baseline: &Baseline, diff: &BaselineDiff) -> String {
    use std::fmt::Write as _;
    let total = diff.new_processes.len() + diff.new_remote_endpoints.len() + diff.new_listeners.len();
    let mut out = format!(
        "baseline `{}` (host {}, taken {}): {}\n",
        crate::text::escape_control(&baseline.name),
        crate::text::escape_control(&baseline.host),
        crate::duration::utc(baseline.taken_at_ms),
        if total == 0 { "nothing new".to_string() } else { format!("{total} new") }
    );
    for (title, items) in [("listeners", &diff.new_listeners), ("processes", &diff.new_processes), ("remote endpoints", &diff.new_remote_endpoints)] {
        let _ = writeln!(out, "new {title}: {}", items.len());
        for item in items {
            let _ = writeln!(out, "  {}", crate::text::escape_control(item));
        }
    }
    out
}
