//! What a condition looks at: one socket of the snapshot, or a stand-in for
//! a process that holds no socket now (its history: a scored series of
//! starts, recent attempts, DNS queries; or just the process).

use std::net::SocketAddr;

use super::engine::Beacon;
use crate::model::{Direction, Pid, ProcessNode, Protocol, Socket, SocketState, Zone};

/// A process's place in the table and its node, when it has one.
type Found<'a> = Option<(u32, &'a ProcessNode)>;

/// A snapshot's processes by pid, with each one's place in the process
/// table: built once per refresh, so the items of 100k sockets find their
/// owner with a hash lookup instead of a tree search each, and a run of
/// sockets with one owner (neighbours in key order mostly share one) with
/// none.
#[derive(Debug)]
pub struct ProcessLookup<'a> {
    by_pid: rustc_hash::FxHashMap<Pid, (u32, &'a ProcessNode)>,
    /// The last pid asked about and what was found.
    last: std::cell::Cell<Option<(Pid, Found<'a>)>>,
}

impl<'a> ProcessLookup<'a> {
    pub fn of(snapshot: &'a crate::model::Snapshot) -> Self {
        let by_pid = snapshot.processes.iter().enumerate().map(|(i, (pid, node))| (*pid, (i as u32, node))).collect();
        Self { by_pid, last: std::cell::Cell::new(None) }
    }

    fn get(&self, pid: Pid) -> Found<'a> {
        if let Some((last, found)) = self.last.get()
            && last == pid
        {
            return found;
        }
        let found = self.by_pid.get(&pid).copied();
        self.last.set(Some((pid, found)));
        found
    }
}

/// What one check looks at.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub socket: Option<&'a Socket>,
    /// The socket's state, zone and local port, copied out of it: the
    /// cheap conditions that refuse most sockets read only the item, not
    /// the (much larger) socket, so a rule's pass over 100k sockets stays
    /// in cache.
    pub state: Option<SocketState>,
    pub zone: Option<Zone>,
    pub local_port: Option<u16>,
    /// The socket's age, copied out of it too: a duration check per socket
    /// read the socket's row (a cache miss each) for one field.
    pub age: Option<crate::model::SocketAge>,
    pub pid: Option<Pid>,
    pub process: Option<&'a ProcessNode>,
    /// The process's place in the snapshot's process table (what a rule's
    /// per-process outcomes are remembered by); none without a node.
    pub process_ix: Option<u32>,
    pub remote: Option<SocketAddr>,
    pub protocol: Protocol,
    pub direction: Direction,
    pub beacon: Option<&'a Beacon>,
    /// The namespace the connection lives in (none: the observer's).
    pub netns: Option<crate::model::NetNs>,
}

impl<'a> Item<'a> {
    /// A socket of the snapshot; `processes` finds an owner's node and its
    /// place in the process table (see [`ProcessLookup`]).
    pub fn of_socket(processes: &ProcessLookup<'a>, sock: &'a Socket) -> Self {
        let pid = sock.owner();
        let remote = (!sock.raw.remote.ip().is_unspecified()).then_some(sock.raw.remote);
        let found = pid.and_then(|p| processes.get(p));
        Self {
            socket: Some(sock),
            state: Some(sock.state()),
            zone: Some(sock.zone),
            local_port: Some(sock.raw.local.port()),
            age: sock.age(),
            pid,
            process: found.map(|(_, node)| node),
            process_ix: found.map(|(ix, _)| ix),
            remote,
            protocol: sock.key().protocol,
            direction: sock.direction,
            beacon: None,
            netns: sock.raw.netns,
        }
    }

    /// A process with no socket open right now: what the four stand-ins
    /// below share.
    fn without_socket(
        snapshot: &'a crate::model::Snapshot,
        pid: Pid,
        remote: Option<SocketAddr>,
        protocol: Protocol,
        netns: Option<crate::model::NetNs>,
        beacon: Option<&'a Beacon>,
    ) -> Self {
        Self {
            socket: None,
            state: None,
            zone: None,
            local_port: None,
            age: None,
            pid: Some(pid),
            process: snapshot.process(pid),
            // Stand-ins are few: their outcomes are not remembered.
            process_ix: None,
            remote,
            protocol,
            direction: Direction::Outbound,
            beacon,
            netns,
        }
    }

    /// A scored series of connection starts (no socket open right now).
    pub fn of_beacon(snapshot: &'a crate::model::Snapshot, b: &'a Beacon) -> Self {
        Self::without_socket(snapshot, b.pid, Some(b.remote), b.protocol, b.netns, Some(b))
    }

    /// A process with recent connection attempts but no socket open now:
    /// stands for its history in process rules (scans, churn, failures).
    pub fn of_history(snapshot: &'a crate::model::Snapshot, pid: Pid, series: &crate::model::SeriesKey) -> Self {
        Self::without_socket(snapshot, pid, Some(series.remote), series.protocol, series.netns, None)
    }

    /// A process whose DNS queries were attributed but that holds no
    /// socket now: stands for its resolution in process rules.
    pub fn of_dns(snapshot: &'a crate::model::Snapshot, pid: Pid) -> Self {
        Self::without_socket(snapshot, pid, None, Protocol::Udp, None, None)
    }

    /// A process of the snapshot that holds no socket now (one named like
    /// a kernel thread, say): stands for the process in rules that ask
    /// only about processes.
    pub fn of_process(snapshot: &'a crate::model::Snapshot, pid: Pid) -> Self {
        let netns = snapshot.process(pid).and_then(|p| p.facts.netns);
        Self::without_socket(snapshot, pid, None, Protocol::Tcp, netns, None)
    }

    /// The remote endpoint, as seen from the item's namespace.
    pub fn endpoint(&self) -> Option<crate::model::EndpointKey> {
        self.remote.map(|r| crate::model::EndpointKey::of(r.ip(), self.netns))
    }
}
