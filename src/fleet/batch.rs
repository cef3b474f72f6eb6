//! What one refresh sends: the host's changes since the previous refresh,
//! diffed from two snapshots by [`Differ`]. A batch is JSON in the outbox
//! and rows in PostgreSQL.
//!
//! - sockets opened and closed, with their owner (pid, name, exe); a
//!   connection too short for a refresh (a kernel destroy event the dumps
//!   never saw) is both, at its start and its end;
//! - the facts of the owners of sockets opened;
//! - the host's addresses, when they change;
//! - findings when first seen, then their last-seen time once a minute
//!   and when they end;
//! - Suricata alerts newer than the last batch's.
//!
//! The first batch (and the one after a gap in the outbox) is a resync:
//! every open socket, and the receiver replaces the host's current state.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::model::{Direction, Finding, Protocol, Snapshot, Socket, SocketKey, SocketState, Subject};
use crate::terms::Severity;

/// Longest process name, path or command line sent.
const TEXT_MAX: usize = 512;
/// Refreshes a new socket with an inode but no owner yet waits for one
/// (the owner map can lag a refresh behind the dump).
const OWNER_WAIT: u8 = 3;
/// How often a continuing finding's last-seen time is sent.
const FINDING_REFRESH_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Opened,
    Closed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Closed => "closed",
        }
    }
}

/// One socket as the fleet knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketRow {
    pub id: String,
    pub protocol: Protocol,
    pub state: SocketState,
    pub direction: Direction,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    pub uid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketEvent {
    pub at_ms: i64,
    pub kind: EventKind,
    pub socket: SocketRow,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRow {
    pub pid: u32,
    pub ppid: u32,
    pub name: String,
    pub cmdline: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    pub uid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingRow {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    /// `socket tcp:…`, `process 123`, `endpoint 192.0.2.7`.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<IpAddr>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRow {
    pub at_ms: i64,
    pub remote: IpAddr,
    pub src_ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    pub dest_ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    pub proto: String,
    pub signature_id: u64,
    pub signature: String,
    pub category: String,
    pub severity: u8,
}

/// One refresh's changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub at_ms: i64,
    pub host_name: String,
    /// Every open socket: the receiver replaces the host's current state.
    #[serde(default)]
    pub resync: bool,
    /// The host's addresses, when they changed (none: unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<IpAddr>>,
    #[serde(default)]
    pub events: Vec<SocketEvent>,
    #[serde(default)]
    pub processes: Vec<ProcessRow>,
    #[serde(default)]
    pub findings: Vec<FindingRow>,
    #[serde(default)]
    pub alerts: Vec<AlertRow>,
}

impl Batch {
    /// Nothing changed (a heartbeat still tells the host is alive).
    pub fn is_empty(&self) -> bool {
        !self.resync && self.addresses.is_none() && self.events.is_empty() && self.findings.is_empty() && self.alerts.is_empty()
    }

    /// Rows it carries (for the outbox bound and health).
    pub fn rows(&self) -> usize {
        self.events.len() + self.processes.len() + self.findings.len() + self.alerts.len()
    }
}

/// Keeps what the previous refresh sent, to send only changes.
#[derive(Debug, Default)]
pub struct Differ {
    sockets: FxHashMap<SocketKey, SocketRow>,
    /// New sockets waiting for their owner: refreshes waited, the row.
    pending: FxHashMap<SocketKey, (u8, SocketRow)>,
    /// Finding id → (first seen, last seen, last seen as sent).
    findings: FxHashMap<String, (FindingRow, i64)>,
    addresses: BTreeSet<IpAddr>,
    alerts_after_ms: i64,
    started: bool,
}

fn bounded(s: &str) -> String {
    crate::text::bounded(s, TEXT_MAX)
}

fn row_of(snap: &Snapshot, s: &Socket) -> SocketRow {
    let pid = s.owner();
    let process = pid.and_then(|p| snap.processes.get(&p));
    SocketRow {
        id: s.key().to_string(),
        protocol: s.raw.protocol(),
        state: s.state(),
        direction: s.direction,
        local: s.raw.local,
        remote: s.raw.remote,
        pid: pid.map(|p| p.0),
        comm: process.map(|p| bounded(&p.facts.name)),
        exe: process.and_then(|p| p.facts.exe.as_deref()).map(bounded),
        uid: s.raw.uid,
        netns: s.raw.netns.map(|n| n.0),
    }
}

fn finding_row(f: &Finding) -> FindingRow {
    let (subject, endpoint) = match &f.subject {
        Subject::Socket { socket, .. } => (format!("socket {socket}"), None),
        Subject::Process { pid } => (format!("process {}", pid.0), None),
        Subject::Host => ("host".to_string(), None),
        Subject::Endpoint { endpoint } => (format!("endpoint {}", endpoint.ip), Some(endpoint.ip)),
    };
    FindingRow {
        id: bounded(&f.id),
        rule_id: bounded(&f.rule_id),
        rule_name: bounded(&f.rule_name),
        severity: f.severity,
        tags: f.tags.iter().map(|t| bounded(t)).collect(),
        subject,
        pid: f.subject.pid().map(|p| p.0),
        endpoint,
        first_seen_ms: f.first_seen_ms,
        last_seen_ms: f.last_seen_ms,
    }
}

fn is_host_address(ip: IpAddr) -> bool {
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast())
}

impl Differ {
    /// Forget what was sent: the next batch is a resync.
    pub fn reset(&mut self) {
        *self = Self { alerts_after_ms: self.alerts_after_ms, ..Self::default() };
    }

    /// The changes from the previous snapshot to `snap`.
    pub fn next(&mut self, snap: &Snapshot, host_name: &str) -> Batch {
        let at = snap.taken_at_ms;
        let resync = !self.started;
        self.started = true;
        let mut batch = Batch { at_ms: at, host_name: bounded(host_name), resync, ..Batch::default() };
        let mut now: FxHashMap<SocketKey, SocketRow> = FxHashMap::default();
        now.reserve(snap.sockets.len());
        let mut owners: BTreeSet<u32> = BTreeSet::new();
        // A socket in TIME_WAIT or CLOSE keeps its cookie but is over: it
        // counts as closed (its owner let go of it).
        for s in snap.sockets.iter().filter(|s| !matches!(s.state(), SocketState::TimeWait | SocketState::Close)) {
            let key = s.key();
            if let Some(old) = self.sockets.remove(&key) {
                now.insert(key, old);
                continue;
            }
            let row = row_of(snap, s);
            let waited = self.pending.remove(&key).map_or(0, |(n, _)| n);
            if row.pid.is_none() && s.raw.inode != 0 && waited < OWNER_WAIT {
                self.pending.insert(key, (waited + 1, row));
                continue;
            }
            owners.extend(row.pid);
            batch.events.push(SocketEvent { at_ms: at, kind: EventKind::Opened, socket: row.clone(), bytes_sent: None, bytes_received: None });
            now.insert(key, row);
        }
        let closed: BTreeMap<SocketKey, &crate::model::ClosedSocket> = snap.closed.iter().map(|c| (c.key(), c)).collect();
        // What was open and is gone.
        let mut gone: Vec<(SocketKey, SocketRow)> = self.sockets.drain().collect();
        gone.sort_by_key(|(k, _)| *k);
        // Sockets that ended while waiting for their owner: opened and closed.
        let mut ended: Vec<(SocketKey, SocketRow)> = Vec::new();
        let present: rustc_hash::FxHashSet<SocketKey> =
            snap.sockets.iter().filter(|s| !matches!(s.state(), SocketState::TimeWait | SocketState::Close)).map(Socket::key).collect();
        self.pending.retain(|k, (_, row)| {
            let keep = present.contains(k);
            if !keep {
                ended.push((*k, row.clone()));
            }
            keep
        });
        ended.sort_by_key(|(k, _)| *k);
        for (_, row) in &ended {
            batch.events.push(SocketEvent { at_ms: at, kind: EventKind::Opened, socket: row.clone(), bytes_sent: None, bytes_received: None });
        }
        gone.extend(ended);
        let sent_closed: BTreeSet<SocketKey> = gone.iter().map(|(k, _)| *k).collect();
        for (key, row) in gone {
            let end = closed.get(&key);
            let tcp = end.and_then(|c| c.socket.tcp);
            batch.events.push(SocketEvent {
                at_ms: end.map_or(at, |c| c.socket.at_ms),
                kind: EventKind::Closed,
                socket: row,
                bytes_sent: tcp.map(|t| t.bytes_acked),
                bytes_received: tcp.map(|t| t.bytes_received),
            });
        }
        // Connections too short for a refresh: opened and closed at once.
        for c in snap.closed.iter().filter(|c| !c.seen_in_dump && !now.contains_key(&c.key()) && !sent_closed.contains(&c.key())) {
            let process = c.pid.and_then(|p| snap.processes.get(&p));
            let row = SocketRow {
                id: c.key().to_string(),
                protocol: c.key().protocol,
                state: c.socket.state,
                direction: c.direction,
                local: c.socket.local,
                remote: c.socket.remote,
                pid: c.pid.map(|p| p.0),
                comm: process.map(|p| bounded(&p.facts.name)).or_else(|| c.comm.as_deref().map(bounded)),
                exe: process.and_then(|p| p.facts.exe.as_deref()).map(bounded),
                uid: c.socket.uid,
                netns: c.netns.map(|n| n.0),
            };
            owners.extend(row.pid);
            let tcp = c.socket.tcp;
            batch.events.push(SocketEvent { at_ms: c.start_ms(), kind: EventKind::Opened, socket: row.clone(), bytes_sent: None, bytes_received: None });
            batch.events.push(SocketEvent {
                at_ms: c.socket.at_ms,
                kind: EventKind::Closed,
                socket: row,
                bytes_sent: tcp.map(|t| t.bytes_acked),
                bytes_received: tcp.map(|t| t.bytes_received),
            });
        }
        self.sockets = now;
        self.facts_into(snap, owners, resync, &mut batch);
        self.findings_into(snap, &mut batch);
        self.alerts_into(snap, &mut batch);
        batch
    }

    /// The owners' facts and the host's addresses (when they changed).
    fn facts_into(&mut self, snap: &Snapshot, owners: BTreeSet<u32>, resync: bool, batch: &mut Batch) {
        batch.processes = owners
            .into_iter()
            .filter_map(|pid| snap.processes.get(&crate::model::Pid(pid)))
            .map(|p| ProcessRow {
                pid: p.facts.pid,
                ppid: p.facts.ppid,
                name: bounded(&p.facts.name),
                cmdline: bounded(&p.facts.cmdline),
                exe: p.facts.exe.as_deref().map(bounded),
                uid: p.facts.uid,
                user: p.facts.user.as_deref().map(bounded),
                workload: p.facts.workload.label().map(|l| bounded(&l)),
            })
            .collect();
        let addresses: BTreeSet<IpAddr> = snap.sockets.iter().map(|s| crate::terms::normalize_ip(s.raw.local.ip())).filter(|ip| is_host_address(*ip)).collect();
        if resync || addresses != self.addresses {
            batch.addresses = Some(addresses.iter().copied().collect());
            self.addresses = addresses;
        }
    }

    fn findings_into(&mut self, snap: &Snapshot, batch: &mut Batch) {
        let mut seen: FxHashMap<String, (FindingRow, i64)> = FxHashMap::default();
        for f in &snap.findings {
            let row = finding_row(f);
            let sent = match self.findings.remove(&row.id) {
                Some((old, sent)) if old.first_seen_ms == row.first_seen_ms && row.last_seen_ms - sent < FINDING_REFRESH_MS => sent,
                _ => {
                    batch.findings.push(row.clone());
                    row.last_seen_ms
                }
            };
            seen.insert(row.id.clone(), (row, sent));
        }
        // Findings that ended: their last-seen time, if not sent yet.
        let mut ended: Vec<(FindingRow, i64)> = self.findings.drain().map(|(_, v)| v).collect();
        ended.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        batch.findings.extend(ended.into_iter().filter(|(row, sent)| row.last_seen_ms > *sent).map(|(row, _)| row));
        self.findings = seen;
    }

    fn alerts_into(&mut self, snap: &Snapshot, batch: &mut Batch) {
        let Some(digest) = &snap.alerts else { return };
        let after = self.alerts_after_ms;
        for party in digest.parties.values() {
            for a in party.alerts.iter().filter(|a| a.at_ms > after) {
                self.alerts_after_ms = self.alerts_after_ms.max(a.at_ms);
                batch.alerts.push(AlertRow {
                    at_ms: a.at_ms,
                    remote: a.remote,
                    src_ip: a.src_ip,
                    src_port: a.src_port,
                    dest_ip: a.dest_ip,
                    dest_port: a.dest_port,
                    proto: bounded(&a.proto),
                    signature_id: a.signature_id,
                    signature: bounded(&a.signature),
                    category: bounded(&a.category),
                    severity: a.severity,
                });
            }
        }
        batch.alerts.sort_by_key(|a| a.at_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(sockets: &[(u64, SocketState, u16)]) -> Snapshot {
        let mut snap = Snapshot::empty(crate::model::SourceInfo { kind: crate::model::SourceKind::Replay, host: "h".into(), detail: String::new() });
        snap.generation = 1;
        snap.sockets = sockets
            .iter()
            .map(|&(cookie, state, port)| {
                let raw = crate::model::RawSocket {
                    key: SocketKey { protocol: Protocol::Tcp, cookie },
                    state,
                    local: "10.0.0.1:40000".parse().expect("addr"),
                    remote: std::net::SocketAddr::new("10.0.0.2".parse().expect("ip"), port),
                    inode: 0,
                    uid: 0,
                    owners: crate::model::Owners::default(),
                    tcp: None,
                    recv_queue: 0,
                    send_queue: 0,
                    netns: None,
                };
                Socket::new(raw, Direction::Outbound, crate::model::Zone::Private, 0)
            })
            .collect();
        snap
    }

    fn kinds(b: &Batch) -> Vec<(EventKind, u16)> {
        b.events.iter().map(|e| (e.kind, e.socket.remote.port())).collect()
    }

    #[test]
    fn opens_and_closes_are_sent_once_and_time_wait_is_a_close() {
        let mut d = Differ::default();
        let first = d.next(&snapshot(&[(1, SocketState::Established, 80)]), "h");
        assert!(first.resync);
        assert_eq!(kinds(&first), vec![(EventKind::Opened, 80)]);
        assert_eq!(first.addresses, Some(vec!["10.0.0.1".parse().expect("ip")]));
        let same = d.next(&snapshot(&[(1, SocketState::Established, 80)]), "h");
        assert!(same.is_empty(), "nothing changed: {same:?}");
        let more = d.next(&snapshot(&[(1, SocketState::Established, 80), (2, SocketState::Established, 443)]), "h");
        assert_eq!(kinds(&more), vec![(EventKind::Opened, 443)]);
        // The first goes to TIME_WAIT (same cookie): closed, once.
        let tw = d.next(&snapshot(&[(1, SocketState::TimeWait, 80), (2, SocketState::Established, 443)]), "h");
        assert_eq!(kinds(&tw), vec![(EventKind::Closed, 80)]);
        let still = d.next(&snapshot(&[(1, SocketState::TimeWait, 80), (2, SocketState::Established, 443)]), "h");
        assert!(still.events.is_empty(), "{still:?}");
        let gone = d.next(&snapshot(&[]), "h");
        assert_eq!(kinds(&gone), vec![(EventKind::Closed, 443)]);
        d.reset();
        assert!(d.next(&snapshot(&[(3, SocketState::Established, 22)]), "h").resync, "after a reset the next batch is a resync");
    }

    #[test]
    fn a_new_socket_waits_a_little_for_its_owner_and_is_never_lost() {
        let mut d = Differ::default();
        let with_inode = |cookie: u64| {
            let mut s = snapshot(&[(cookie, SocketState::Established, 80)]);
            s.sockets[0].raw.inode = 42;
            s
        };
        assert!(d.next(&with_inode(1), "h").events.is_empty(), "no owner yet: it waits");
        let mut owned = with_inode(1);
        owned.sockets[0].raw.owners = crate::model::Owners::from(vec![crate::model::Pid(7)]);
        let b = d.next(&owned, "h");
        assert_eq!(kinds(&b), vec![(EventKind::Opened, 80)]);
        assert_eq!(b.events[0].socket.pid, Some(7));
        // One that never gets an owner is sent after the wait…
        for _ in 0..OWNER_WAIT {
            assert!(d.next(&with_inode(2), "h").events.iter().all(|e| e.socket.id != "tcp:0000000000000002"));
        }
        let late = d.next(&with_inode(2), "h");
        assert!(late.events.iter().any(|e| e.kind == EventKind::Opened && e.socket.id == "tcp:0000000000000002"), "{late:?}");
        // …and one that ends while waiting is sent opened and closed.
        assert!(d.next(&with_inode(3), "h").events.iter().all(|e| e.socket.id != "tcp:0000000000000003"));
        let ended = d.next(&snapshot(&[]), "h");
        let three: Vec<EventKind> = ended.events.iter().filter(|e| e.socket.id == "tcp:0000000000000003").map(|e| e.kind).collect();
        assert_eq!(three, vec![EventKind::Opened, EventKind::Closed]);
    }
}
