//! From snapshots to store rows: the sockets that appeared and went since
//! the previous snapshot, and every finding seen once more. Pure: the writer
//! thread feeds it consecutive snapshots and commits what it returns.
//!
//! Only connections are recorded (a remote address, not `TIME_WAIT`):
//! listeners and unconnected UDP sockets have no party to remember, and a
//! `TIME_WAIT` row is the tail of a connection already recorded.
//!
//! Connections that opened and closed between two snapshots come from the
//! snapshot's closed sockets (kernel destroy events): each is stored as
//! opened and closed, with its final bytes. A socket a snapshot saw closes
//! with the final bytes its destroy event reported, when there is one.

use std::sync::Arc;

use super::{Batch, EventKind, FindingRow, SocketEvent};
use crate::model::{ClosedSocket, Snapshot, Socket, SocketState, Subject};

/// Remembers the previous snapshot.
#[derive(Debug, Default)]
pub struct Recorder {
    previous: Option<Arc<Snapshot>>,
}

fn recorded(s: &Socket) -> bool {
    !s.raw.remote.ip().is_unspecified() && s.state() != SocketState::TimeWait && !s.state().is_listening()
}

/// Longest remote name stored (a DNS name is at most 253 characters).
const NAME_MAX: usize = 255;

/// The best name of a remote endpoint in `snapshot`: its endpoint node's,
/// else what the names service observed for the address (a connection
/// that came and went between refreshes has no endpoint node).
fn remote_name(snapshot: &Snapshot, key: crate::model::EndpointKey) -> Option<String> {
    let name = snapshot
        .endpoints
        .get(&key)
        .and_then(|e| e.hostname.as_deref())
        .or_else(|| snapshot.names.names.iter().find(|n| n.ip == key.ip).and_then(|n| n.names.first()).map(String::as_str))?;
    (!name.is_empty()).then(|| crate::text::bounded(name, NAME_MAX))
}

/// A namespace's readable name, bounded for the store.
fn namespace_name(snapshot: &Snapshot, ns: Option<crate::model::NetNs>) -> String {
    crate::text::bounded(&snapshot.namespace_name(ns), NAME_MAX)
}

fn event(snapshot: &Snapshot, s: &Socket, kind: EventKind, at_ms: i64) -> SocketEvent {
    let pid = s.owner();
    let facts = pid.and_then(|p| snapshot.process(p)).map(|p| &p.facts);
    let closed = kind == EventKind::Closed;
    SocketEvent {
        at_ms,
        kind,
        socket_id: s.key().to_string(),
        protocol: match s.key().protocol {
            crate::model::Protocol::Tcp => "tcp",
            crate::model::Protocol::Udp => "udp",
        },
        state: s.state().name(),
        direction: s.direction.to_string(),
        local_ip: s.raw.local.ip().to_string(),
        local_port: s.raw.local.port(),
        remote_ip: crate::model::normalize_ip(s.raw.remote.ip()).to_string(),
        remote_port: s.raw.remote.port(),
        remote_name: remote_name(snapshot, s.endpoint()),
        pid: pid.map(|p| p.0),
        comm: facts.map(|f| crate::text::bounded(&f.name, 64)),
        exe: facts.and_then(|f| f.exe.as_deref()).map(|e| crate::text::bounded(e, 512)),
        uid: s.raw.uid,
        bytes_sent: closed.then(|| s.raw.tcp.map(|t| t.bytes_acked)).flatten(),
        bytes_received: closed.then(|| s.raw.tcp.map(|t| t.bytes_received)).flatten(),
        duration_ms: closed.then(|| at_ms - s.first_seen_ms),
        netns: snapshot.namespace_inode(s.raw.netns),
        namespace: Some(namespace_name(snapshot, s.raw.netns)),
    }
}

/// Opened and closed rows for a connection no snapshot saw open.
fn short_lived(snapshot: &Snapshot, c: &ClosedSocket) -> [SocketEvent; 2] {
    let facts = c.pid.and_then(|p| snapshot.process(p)).map(|p| &p.facts);
    let end = c.socket.at_ms;
    let start = c.started_ms.unwrap_or(end).min(end);
    let name = remote_name(snapshot, crate::model::EndpointKey::of(c.socket.remote.ip(), c.netns));
    let (netns, namespace) = (snapshot.namespace_inode(c.netns), namespace_name(snapshot, c.netns));
    let row = |kind: EventKind, at_ms: i64| SocketEvent {
        at_ms,
        kind,
        socket_id: c.key().to_string(),
        protocol: match c.socket.protocol() {
            crate::model::Protocol::Tcp => "tcp",
            crate::model::Protocol::Udp => "udp",
        },
        state: if c.established { "CLOSE" } else { "SYN_SENT" },
        direction: c.direction.to_string(),
        local_ip: c.socket.local.ip().to_string(),
        local_port: c.socket.local.port(),
        remote_ip: crate::model::normalize_ip(c.socket.remote.ip()).to_string(),
        remote_port: c.socket.remote.port(),
        remote_name: name.clone(),
        pid: c.pid.map(|p| p.0),
        comm: facts.map(|f| f.name.as_str()).or(c.comm.as_deref()).map(|n| crate::text::bounded(n, 64)),
        exe: facts.and_then(|f| f.exe.as_deref()).map(|e| crate::text::bounded(e, 512)),
        uid: facts.map_or(c.socket.uid, |f| f.uid),
        bytes_sent: (kind == EventKind::Closed).then(|| c.socket.tcp.map(|t| t.bytes_acked)).flatten(),
        bytes_received: (kind == EventKind::Closed).then(|| c.socket.tcp.map(|t| t.bytes_received)).flatten(),
        duration_ms: (kind == EventKind::Closed && c.started_ms.is_some()).then_some(end - start),
        netns,
        namespace: Some(namespace.clone()),
    };
    [row(EventKind::Opened, start), row(EventKind::Closed, end)]
}

/// A finding as a store row.
pub fn finding_row(snapshot: &Snapshot, f: &crate::model::Finding) -> FindingRow {
    let kind = f.subject.kind_name();
    let socket_id = match f.subject {
        Subject::Socket { socket, .. } => Some(socket.to_string()),
        _ => None,
    };
    let pid = f.subject.pid().map(|p| p.0);
    let endpoint = snapshot.subject_remote(f.subject).map(|ip| ip.to_string());
    let (netns, namespace) = snapshot.finding_namespace(f).map_or((None, None), |(inode, name)| (inode, Some(crate::text::bounded(&name, NAME_MAX))));
    let exe = pid.and_then(|p| snapshot.process(crate::model::Pid(p))).and_then(|p| p.facts.exe.as_deref()).map(|e| crate::text::bounded(e, 512));
    FindingRow {
        id: crate::text::bounded(&f.id, 512),
        rule_id: f.rule_id.clone(),
        rule_name: crate::text::bounded(&f.rule_name, 256),
        severity: f.severity,
        tags: f.tags.clone(),
        subject_kind: kind,
        socket_id,
        pid,
        exe,
        endpoint,
        first_seen_ms: f.first_seen_ms,
        seen_ms: snapshot.taken_at_ms,
        netns,
        namespace,
    }
}

impl Recorder {
    /// The rows one new snapshot adds.
    pub fn record(&mut self, snapshot: &Arc<Snapshot>) -> Batch {
        let now = snapshot.taken_at_ms;
        let mut batch = Batch::default();
        match self.previous.take() {
            None => batch.events.extend(snapshot.sockets.iter().filter(|s| recorded(s)).map(|s| event(snapshot, s, EventKind::Seen, now))),
            Some(prev) if prev.generation == snapshot.generation => {}
            Some(prev) => {
                // Both socket lists are sorted by key: one merge walk.
                let (old, new) = (&prev.sockets, &snapshot.sockets);
                let (mut i, mut j) = (0, 0);
                while i < old.len() || j < new.len() {
                    match (old.get(i), new.get(j)) {
                        (Some(o), Some(n)) if o.key() == n.key() => {
                            // A socket that moved into TIME_WAIT is closed for us.
                            if recorded(o) && !recorded(n) {
                                batch.events.push(event(&prev, o, EventKind::Closed, now));
                            }
                            i += 1;
                            j += 1;
                        }
                        (Some(o), n) if n.is_none_or(|n| o.key() < n.key()) => {
                            if recorded(o) {
                                batch.events.push(event(&prev, o, EventKind::Closed, now));
                            }
                            i += 1;
                        }
                        (_, Some(n)) => {
                            if recorded(n) {
                                batch.events.push(event(snapshot, n, EventKind::Opened, n.first_seen_ms.max(prev.taken_at_ms)));
                            }
                            j += 1;
                        }
                        (Some(_) | None, None) => break,
                    }
                }
            }
        }
        // Final counters from destroy events, for sockets closed above.
        let finals: rustc_hash::FxHashMap<crate::model::SocketKey, &ClosedSocket> =
            snapshot.closed.iter().filter(|c| c.seen_in_dump).map(|c| (c.key(), c)).collect();
        if !finals.is_empty() {
            for e in batch.events.iter_mut().filter(|e| e.kind == EventKind::Closed) {
                let Some(c) = e.socket_id.parse().ok().and_then(|k| finals.get(&k)) else { continue };
                if let Some(t) = c.socket.tcp {
                    e.bytes_sent = Some(t.bytes_acked);
                    e.bytes_received = Some(t.bytes_received);
                }
            }
        }
        for c in snapshot.closed.iter().filter(|c| !c.seen_in_dump && !c.socket.remote.ip().is_unspecified()) {
            batch.events.extend(short_lived(snapshot, c));
        }
        batch.findings = snapshot.findings.iter().map(|f| finding_row(snapshot, f)).collect();
        self.previous = Some(snapshot.clone());
        batch
    }
}
