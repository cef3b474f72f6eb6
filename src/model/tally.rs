//! What the builder sums over the sockets while it makes them: sockets and
//! bytes per owner, inbound connections per listener, and the sockets no
//! process holds. On a small host counted in the builder's one pass over
//! the rows, while each is in cache; from the builder's
//! `SIDE_PASSES_FROM` sockets (with a second core) over the dump's rows on
//! a second thread, with the endpoint table, while the builder makes the
//! sockets (see `socket_rows`): the sums do not depend on the order.
//!
//! Owners and listeners are numbered in [`Slots`] (a run of one, or two
//! taking turns, without a lookup) and summed in lists by number.

use std::collections::BTreeMap;

use super::health::UnownedCounts;
use super::keys::{ListenerKey, Pid};
use super::nodes::{ProcessNode, ServiceListenerNode};
use super::socket::{Direction, RawSocket};
use crate::slots::Slots;

/// (sockets, listeners, bytes sent, bytes received) of one owner.
type OwnerSums = [u64; 4];

/// Sums over one refresh's sockets.
#[derive(Debug, Default)]
pub struct Tally {
    owner_slots: Slots<Pid>,
    /// By the owner's number.
    owners: Vec<(Pid, OwnerSums)>,
    listener_slots: Slots<ListenerKey>,
    /// By the listener's number.
    inbound: Vec<(ListenerKey, u64)>,
    unowned: UnownedCounts,
    /// Whether owners of other users can be told apart (see `add`).
    privileged: bool,
    viewer: Option<u32>,
}

impl Tally {
    /// `privileged`, `viewer`: whether the observer may read every
    /// process, and its uid (a socket of another uid without an owner was
    /// not permitted to be read, not lost).
    pub fn new(privileged: bool, viewer: Option<u32>) -> Self {
        Self { privileged, viewer, ..Self::default() }
    }

    /// Count one socket.
    pub fn add(&mut self, raw: &RawSocket, direction: Direction, listener: Option<ListenerKey>) {
        if raw.owners.is_empty() {
            let u = &mut self.unowned;
            u.total += 1;
            if raw.inode == 0 {
                u.kernel_held += 1;
            } else if !self.privileged && self.viewer.is_some_and(|v| raw.uid != v) {
                u.not_permitted += 1;
            } else {
                u.not_found += 1;
            }
        }
        let c = raw.tcp.unwrap_or_default();
        let add = [1, u64::from(direction == Direction::Listen), c.bytes_acked, c.bytes_received];
        for &pid in &raw.owners {
            let (n, new) = self.owner_slots.of(pid);
            if new {
                self.owners.push((pid, [0; 4]));
            }
            self.owners[n].1.iter_mut().zip(add).for_each(|(sum, a)| *sum += a);
        }
        if let Some(l) = listener {
            let (n, new) = self.listener_slots.of(l);
            if new {
                self.inbound.push((l, 0));
            }
            self.inbound[n].1 += 1;
        }
    }

    /// The sums.
    pub fn finish(self) -> Tallied {
        Tallied { owners: self.owners, inbound: self.inbound, unowned: self.unowned }
    }
}

/// A finished [`Tally`].
#[derive(Debug)]
pub struct Tallied {
    owners: Vec<(Pid, OwnerSums)>,
    inbound: Vec<(ListenerKey, u64)>,
    pub unowned: UnownedCounts,
}

impl Tallied {
    /// Put each owner's sums on its node (owners without a node are skipped).
    pub fn onto_processes(&self, processes: &mut BTreeMap<Pid, ProcessNode>) {
        for (pid, [sockets, listeners, sent, received]) in &self.owners {
            if let Some(p) = processes.get_mut(pid) {
                p.socket_count += sockets;
                p.listener_count += listeners;
                p.bytes_sent += sent;
                p.bytes_received += received;
            }
        }
    }

    /// Put each listener's inbound count on its node.
    pub fn onto_listeners(&self, listeners: &mut BTreeMap<ListenerKey, ServiceListenerNode>) {
        for (key, n) in &self.inbound {
            if let Some(node) = listeners.get_mut(key) {
                node.inbound_count += n;
            }
        }
    }

    /// An owner's sums (for tests).
    #[cfg(test)]
    fn owner(&self, pid: Pid) -> Option<&OwnerSums> {
        self.owners.iter().find(|(p, _)| *p == pid).map(|(_, s)| s)
    }

    /// A listener's inbound count (for tests).
    #[cfg(test)]
    fn inbound_of(&self, key: ListenerKey) -> Option<&u64> {
        self.inbound.iter().find(|(k, _)| *k == key).map(|(_, n)| n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Owners, Protocol, SocketKey, SocketState, TcpCounters};

    fn row(cookie: u64, owners: &[u32], inode: u32, uid: u32) -> RawSocket {
        RawSocket {
            key: SocketKey { protocol: Protocol::Tcp, cookie },
            state: SocketState::Established,
            local: ([127, 0, 0, 1], 8080).into(),
            remote: ([127, 0, 0, 1], 40_000).into(),
            inode,
            uid,
            owners: owners.iter().copied().map(Pid).collect::<Owners>(),
            tcp: Some(TcpCounters { bytes_acked: 10, bytes_received: 1, rtt_us: 1, min_rtt_us: None }),
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        }
    }

    /// Runs, interleavings and returns to an earlier owner or listener all
    /// sum as one count per socket would; unowned sockets are told apart.
    #[test]
    fn sums_over_runs_equal_sums_socket_by_socket() {
        let l = |port| ListenerKey { protocol: Protocol::Tcp, address: [127, 0, 0, 1].into(), port, netns: None };
        let rows = [
            (row(1, &[10], 1, 0), Direction::Outbound, None),
            (row(2, &[10], 2, 0), Direction::Inbound, Some(l(80))),
            (row(3, &[20, 10], 3, 0), Direction::Inbound, Some(l(80))),
            (row(4, &[20], 4, 0), Direction::Listen, None),
            (row(5, &[10], 5, 0), Direction::Inbound, Some(l(81))),
            (row(6, &[], 0, 0), Direction::Outbound, None),
            (row(7, &[], 7, 1000), Direction::Inbound, Some(l(80))),
            (row(8, &[], 8, 0), Direction::Outbound, None),
        ];
        let mut t = Tally::new(false, Some(0));
        for (raw, d, listener) in &rows {
            t.add(raw, *d, *listener);
        }
        let done = t.finish();
        assert_eq!(done.owner(Pid(10)), Some(&[4, 0, 40, 4]));
        assert_eq!(done.owner(Pid(20)), Some(&[2, 1, 20, 2]));
        assert_eq!(done.inbound_of(l(80)), Some(&3));
        assert_eq!(done.inbound_of(l(81)), Some(&1));
        let u = &done.unowned;
        assert_eq!((u.total, u.kernel_held, u.not_permitted, u.not_found), (3, 1, 1, 1));
    }
}
