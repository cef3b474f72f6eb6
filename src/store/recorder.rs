//! From snapshots to store rows: the sockets that appeared and went since
//! the previous snapshot, and every finding seen once more. Pure: the writer
//! thread feeds it consecutive snapshots and commits what it returns.
//!
//! Only connections are recorded (a remote address, not `TIME_WAIT`):
//! listeners and unconnected UDP sockets have no party to remember, and a
//! `TIME_WAIT` row is the tail of a connection already recorded.

use std::sync::Arc;

use super::{Batch, EventKind, FindingRow, SocketEvent};
use crate::model::{Snapshot, Socket, SocketState, Subject};

/// Remembers the previous snapshot.
#[derive(Debug, Default)]
pub struct Recorder {
    previous: Option<Arc<Snapshot>>,
}

fn recorded(s: &Socket) -> bool {
    !s.raw.remote.ip().is_unspecified() && s.state() != SocketState::TimeWait && !s.state().is_listening()
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
        pid: pid.map(|p| p.0),
        comm: facts.map(|f| crate::text::bounded(&f.name, 64)),
        exe: facts.and_then(|f| f.exe.as_deref()).map(|e| crate::text::bounded(e, 512)),
        uid: s.raw.uid,
        bytes_sent: closed.then(|| s.raw.tcp.map(|t| t.bytes_acked)).flatten(),
        bytes_received: closed.then(|| s.raw.tcp.map(|t| t.bytes_received)).flatten(),
        duration_ms: closed.then(|| at_ms - s.first_seen_ms),
    }
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
        batch.findings = snapshot.findings.iter().map(|f| finding_row(snapshot, f)).collect();
        self.previous = Some(snapshot.clone());
        batch
    }
}
