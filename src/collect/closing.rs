//! Who held a socket that is already gone: joins the kernel's destroy
//! events with what the last dumps saw (by cookie), with the connect
//! tracepoint's records (by address, as root), and with the listeners that
//! accepted them. Pure: the live source feeds it each refresh's events,
//! records and dump.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use super::trace::{ConnectOutcome, ConnectRecord};
use crate::model::{ClosedSocket, DestroyedSocket, Direction, NetNs, OwnerSource, Pid, Protocol, RawSocket, SocketKey, SocketState};

/// How long a connect record waits for its socket's destroy event or a
/// dump that shows it.
const PENDING_MS: i64 = 15_000;
/// Most connect records kept waiting.
const MAX_PENDING: usize = 100_000;

/// What the last dumps said about a socket.
#[derive(Debug, Clone, Copy)]
struct Known {
    owner: Option<Pid>,
}

/// Counts since the source opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClosingStats {
    /// Destroy events joined with a socket a dump had shown.
    pub from_dump: u64,
    /// Joined with a connect record (the process at connect time).
    pub from_trace: u64,
    /// Accepted by a listener whose owner is known.
    pub from_listener: u64,
    /// No owner found: too short for a dump, and no record.
    pub unknown: u64,
    /// Failed connects reported by the tracepoint alone.
    pub failed_traced: u64,
}

/// Remembers the last two dumps and the connect records still waiting.
#[derive(Debug, Default)]
pub struct Closing {
    current: FxHashMap<u64, Known>,
    previous: FxHashMap<u64, Known>,
    pending: VecDeque<(i64, ConnectRecord)>,
    pub stats: ClosingStats,
}

fn ns_key(inode: u64, own: u32) -> Option<NetNs> {
    let inode = u32::try_from(inode).ok()?;
    (inode != own).then_some(NetNs(inode))
}

impl Closing {
    pub fn new() -> Self {
        Self::default()
    }

    /// Turn this refresh's destroy events and connect records into closed
    /// sockets, then remember `dump` for the next refresh. `tracing` says
    /// whether connect records are being collected (then they, not the
    /// destroy events, report failed attempts: a failed connect's destroy
    /// event has lost its remote port).
    pub fn attribute(
        &mut self,
        events: Vec<(u64, DestroyedSocket)>,
        connects: Vec<ConnectRecord>,
        tracing: bool,
        dump: &[RawSocket],
        own_ns: u32,
        now_ms: i64,
    ) -> Vec<ClosedSocket> {
        let mut out = Vec::with_capacity(events.len());
        // Listeners by (namespace, protocol, port), with their owner.
        let mut listeners: FxHashMap<(Option<NetNs>, Protocol, u16), Option<Pid>> = FxHashMap::default();
        for s in dump.iter().filter(|s| s.state.is_listening()) {
            let e = listeners.entry((s.netns, s.protocol(), s.local.port())).or_insert(None);
            if e.is_none() {
                *e = s.owners.first().copied();
            }
        }
        // Connects waiting: new records join the older ones.
        for r in connects {
            if r.outcome == ConnectOutcome::Failed {
                if tracing {
                    self.stats.failed_traced += 1;
                    out.push(failed_from_record(&r, own_ns));
                }
                continue;
            }
            if r.outcome == ConnectOutcome::Established {
                self.pending.push_back((now_ms, r));
            }
        }
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
        }
        let mut by_tuple: FxHashMap<(SocketAddr, IpAddr), usize> = FxHashMap::default();
        for (i, (_, r)) in self.pending.iter().enumerate() {
            by_tuple.insert((r.local, r.remote.ip()), i);
        }
        let mut used = vec![false; self.pending.len()];

        for (inode, d) in events {
            let netns = ns_key(inode, own_ns);
            let established = match d.protocol() {
                Protocol::Tcp => d.established(),
                Protocol::Udp => !d.remote.ip().is_unspecified(),
            };
            if d.protocol() == Protocol::Udp && d.remote.ip().is_unspecified() {
                // An unconnected UDP socket (a listener or a one-shot
                // sender): no party to remember.
                continue;
            }
            if tracing && !established && d.protocol() == Protocol::Tcp && !self.known(d.key.cookie) {
                // The tracepoint reported this failed connect, with its port.
                continue;
            }
            let listener = listeners.get(&(netns, d.protocol(), d.local.port())).copied();
            let mut c = ClosedSocket {
                socket: d,
                netns,
                pid: None,
                comm: None,
                owner_source: OwnerSource::Unknown,
                direction: if listener.is_some() { Direction::Inbound } else { Direction::Outbound },
                started_ms: None,
                seen_in_dump: false,
                established,
            };
            if let Some(k) = self.current.get(&c.socket.key.cookie).or_else(|| self.previous.get(&c.socket.key.cookie)).copied() {
                c.seen_in_dump = true;
                c.pid = k.owner;
                c.owner_source = if k.owner.is_some() { OwnerSource::Dump } else { OwnerSource::Unknown };
            }
            if c.pid.is_none()
                && let Some(&i) = by_tuple.get(&(c.socket.local, c.socket.remote.ip()))
                && !used[i]
            {
                used[i] = true;
                let r = &self.pending[i].1;
                c.pid = Some(Pid(r.pid));
                c.comm = Some(r.comm.clone());
                c.owner_source = OwnerSource::ConnectTrace;
                c.direction = Direction::Outbound;
                c.started_ms = Some(r.at_ms);
            }
            if c.pid.is_none()
                && c.direction == Direction::Inbound
                && let Some(Some(owner)) = listener
            {
                c.pid = Some(owner);
                c.owner_source = OwnerSource::Listener;
            }
            match c.owner_source {
                OwnerSource::Dump => self.stats.from_dump += 1,
                OwnerSource::ConnectTrace => self.stats.from_trace += 1,
                OwnerSource::Listener => self.stats.from_listener += 1,
                OwnerSource::Unknown => self.stats.unknown += 1,
            }
            out.push(c);
        }

        // Records whose socket a dump shows with its owner are counted by
        // the dump; the others wait for their destroy event, up to a limit.
        // A socket the dump caught without an owner (it closed before the
        // owner scan read the fds) still needs its record.
        let open: rustc_hash::FxHashSet<(SocketAddr, IpAddr)> = if self.pending.is_empty() {
            rustc_hash::FxHashSet::default()
        } else {
            dump.iter().filter(|s| !s.state.is_listening() && !s.owners.is_empty()).map(|s| (s.local, s.remote.ip())).collect()
        };
        let pending = std::mem::take(&mut self.pending);
        self.pending = pending
            .into_iter()
            .zip(used)
            .filter(|((at, r), used)| !used && now_ms - at < PENDING_MS && !open.contains(&(r.local, r.remote.ip())))
            .map(|(p, _)| p)
            .collect();

        std::mem::swap(&mut self.previous, &mut self.current);
        // Listeners and unconnected sockets are kept too: a closed
        // listener's event finds its owner here.
        self.current.clear();
        self.current.extend(dump.iter().filter(|s| s.key.cookie != 0).map(|s| (s.key.cookie, Known { owner: s.owners.first().copied() })));
        out
    }

    fn known(&self, cookie: u64) -> bool {
        self.current.contains_key(&cookie) || self.previous.contains_key(&cookie)
    }
}

/// A connect the tracepoint saw fail: refused, unreachable or timed out.
fn failed_from_record(r: &ConnectRecord, own_ns: u32) -> ClosedSocket {
    let netns = r.net_ns.and_then(|n| ns_key(n, own_ns));
    ClosedSocket {
        socket: DestroyedSocket {
            key: SocketKey::derived(Protocol::Tcp, r.local, r.remote, 0),
            state: SocketState::Close,
            local: r.local,
            remote: r.remote,
            uid: 0,
            tcp: None,
            at_ms: r.at_ms,
        },
        netns,
        pid: Some(Pid(r.pid)),
        comm: Some(r.comm.clone()),
        owner_source: OwnerSource::ConnectTrace,
        direction: Direction::Outbound,
        started_ms: Some(r.at_ms),
        seen_in_dump: false,
        established: false,
    }
}

#[cfg(test)]
#[path = "closing_tests.rs"]
mod tests;
