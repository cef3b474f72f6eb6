//! Sockets: protocol, state, direction, and the row every view and tool reads.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::age::{AgeBound, SocketAge};
use super::keys::{EndpointKey, ListenerKey, NetNs, Pid, SocketKey};
use super::owners::Owners;
use crate::terms::Zone;
pub use crate::terms::{Protocol, SocketState};

/// Who started a connection, as far as the host can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A listening socket (TCP LISTEN, UDP UNCONN).
    Listen,
    /// Accepted by a listener here: the local port is a listener's port.
    Inbound,
    /// Initiated here.
    Outbound,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Listen => "listen",
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counters the kernel gives in `tcp_info` (absent for UDP, and for TCP
/// sockets in states that carry no `tcp_info`, such as `TIME_WAIT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpCounters {
    /// `tcpi_bytes_acked`: bytes sent and acknowledged by the peer.
    pub bytes_acked: u64,
    /// `tcpi_bytes_received`.
    pub bytes_received: u64,
    /// Smoothed round-trip time in microseconds.
    pub rtt_us: u32,
    /// `tcpi_min_rtt`: the lowest round-trip sample in microseconds; none
    /// when the kernel never took one. The first sample comes from the
    /// handshake, and unlike the other counters it survives the reset a
    /// failed connect or an abortive close (`SO_LINGER` 0) does, so it is
    /// what tells a completed handshake apart on a destroyed socket. Also
    /// none for kernels before 4.6 and rows recorded before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rtt_us: Option<u32>,
}

/// One socket as a source observed it: no history, no derived fields. This
/// is what live collection produces and what a recording stores.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawSocket {
    pub key: SocketKey,
    pub state: SocketState,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Socket inode; 0 for `TIME_WAIT`, request and orphaned sockets.
    pub inode: u32,
    /// Uid the kernel reports for the socket.
    pub uid: u32,
    /// Processes holding a file descriptor on it (several after a fork).
    #[serde(default, skip_serializing_if = "Owners::is_empty")]
    pub owners: Owners,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCounters>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recv_queue: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub send_queue: u32,
    /// The network namespace the socket lives in; none for the observer's
    /// own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NetNs>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Every field but the owners is plain data: copied as a block, which
/// the builder does for every socket of every refresh (a field-by-field
/// clone went through the stack in pieces).
impl Clone for RawSocket {
    fn clone(&self) -> Self {
        Self { owners: self.owners.clone(), ..*self }
    }
}

impl RawSocket {
    pub fn protocol(&self) -> Protocol {
        self.key.protocol
    }

    /// The remote endpoint, as seen from this socket's namespace.
    pub fn endpoint(&self) -> EndpointKey {
        EndpointKey::of(self.remote.ip(), self.netns)
    }

    /// The listener this socket is (or was accepted by), by local address.
    pub fn listener_key(&self) -> ListenerKey {
        ListenerKey { protocol: self.protocol(), address: self.local.ip(), port: self.local.port(), netns: self.netns }
    }
}

/// A socket as the snapshot presents it: the raw row plus what history and
/// classification add. Every pass of a refresh (the builder, the map, the
/// rules, the index) reads the whole table, so the derived fields are kept
/// compact (200 bytes a socket, 248 with them as options of keys): the
/// listener is told by how its address relates to the socket's own (it
/// listens on the socket's port, protocol and namespace), and the age and
/// rates are read through methods.
#[derive(Debug, Clone, PartialEq)]
pub struct Socket {
    pub raw: RawSocket,
    pub direction: Direction,
    /// Zone of the remote address (of the local address for listeners).
    pub zone: Zone,
    /// For inbound sockets: how the listener that accepted it is bound.
    accepted: Accepted,
    /// How sure `age_ms` is; none when nothing is known of the age.
    age_bound: Option<AgeBound>,
    /// Whether `send_rate` and `recv_rate` were measured.
    has_rates: bool,
    /// When necromap first saw this socket (Unix ms).
    pub first_seen_ms: i64,
    age_ms: i64,
    send_rate: u64,
    recv_rate: u64,
}

/// The listener an inbound socket was accepted by, as the builder found
/// it: one on the socket's own protocol, port and namespace, bound to the
/// socket's local address or to every address of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepted {
    None,
    /// Bound to the socket's local address.
    Local,
    /// Bound to `0.0.0.0`.
    AnyV4,
    /// Bound to `::`.
    AnyV6,
}

impl Accepted {
    fn of(raw: &RawSocket, listener: Option<ListenerKey>) -> Self {
        match listener {
            None => Self::None,
            Some(l) => {
                debug_assert_eq!((l.protocol, l.port, l.netns), (raw.protocol(), raw.local.port(), raw.netns), "a listener on the socket's port");
                // The lookup found it bound to the socket's local address
                // or to every address.
                match l.address {
                    IpAddr::V4(a) if a.is_unspecified() => Self::AnyV4,
                    IpAddr::V6(a) if a.is_unspecified() => Self::AnyV6,
                    a => {
                        debug_assert_eq!(a, raw.local.ip(), "a listener on the socket's address");
                        Self::Local
                    }
                }
            }
        }
    }
}

/// An age as the socket keeps it: its bound (none when unknown) and
/// milliseconds.
fn age_parts(age: Option<SocketAge>) -> (Option<AgeBound>, i64) {
    age.map_or((None, 0), |a| (Some(a.bound), a.ms))
}

/// Rates as the socket keeps them: whether measured, bytes per second
/// sent and received.
fn rate_parts(rates: Option<(u64, u64)>) -> (bool, u64, u64) {
    rates.map_or((false, 0, 0), |(send, recv)| (true, send, recv))
}

impl Socket {
    /// A socket of `raw`, with no listener, age or rates yet (see the
    /// `with_` methods).
    pub fn new(raw: RawSocket, direction: Direction, zone: Zone, first_seen_ms: i64) -> Self {
        Self { raw, direction, zone, accepted: Accepted::None, age_bound: None, has_rates: false, first_seen_ms, age_ms: 0, send_rate: 0, recv_rate: 0 }
    }

    /// A socket of `raw` with all that history and classification add
    /// (the builder's one write of each socket).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(super) fn derived(
        raw: RawSocket,
        direction: Direction,
        zone: Zone,
        listener: Option<ListenerKey>,
        first_seen_ms: i64,
        age: Option<SocketAge>,
        rates: Option<(u64, u64)>,
    ) -> Self {
        let accepted = Accepted::of(&raw, listener);
        let ((age_bound, age_ms), (has_rates, send_rate, recv_rate)) = (age_parts(age), rate_parts(rates));
        Self { raw, direction, zone, accepted, age_bound, has_rates, first_seen_ms, age_ms, send_rate, recv_rate }
    }

    /// Accepted by `listener`, which listens on this socket's protocol,
    /// port and namespace (as the builder's listener lookup finds it).
    #[must_use]
    pub fn with_listener(mut self, listener: Option<ListenerKey>) -> Self {
        self.accepted = Accepted::of(&self.raw, listener);
        self
    }

    #[must_use]
    pub fn with_age(mut self, age: Option<SocketAge>) -> Self {
        (self.age_bound, self.age_ms) = age_parts(age);
        self
    }

    /// Bytes per second sent and received since the previous refresh.
    #[must_use]
    pub fn with_rates(mut self, rates: Option<(u64, u64)>) -> Self {
        (self.has_rates, self.send_rate, self.recv_rate) = rate_parts(rates);
        self
    }

    /// For inbound sockets: the listener that accepted it.
    pub fn listener(&self) -> Option<ListenerKey> {
        let address = match self.accepted {
            Accepted::None => return None,
            Accepted::Local => self.raw.local.ip(),
            Accepted::AnyV4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Accepted::AnyV6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        Some(ListenerKey { protocol: self.raw.protocol(), address, port: self.raw.local.port(), netns: self.raw.netns })
    }

    /// How long it has been open and how sure that is (see
    /// [`SocketAge`]); none when nothing is known.
    pub fn age(&self) -> Option<SocketAge> {
        self.age_bound.map(|bound| SocketAge { ms: self.age_ms, bound })
    }

    /// Bytes per second sent since the previous refresh: none the first
    /// time a socket is seen and without `tcp_info` (UDP, `TIME_WAIT`).
    pub fn send_rate(&self) -> Option<u64> {
        self.has_rates.then_some(self.send_rate)
    }

    /// Bytes per second received since the previous refresh (see
    /// [`Socket::send_rate`]).
    pub fn recv_rate(&self) -> Option<u64> {
        self.has_rates.then_some(self.recv_rate)
    }

    pub fn key(&self) -> SocketKey {
        self.raw.key
    }
    pub fn state(&self) -> SocketState {
        self.raw.state
    }
    /// The first owner, if any is visible.
    pub fn owner(&self) -> Option<Pid> {
        self.raw.owners.first().copied()
    }
    /// The remote endpoint, as seen from this socket's namespace.
    pub fn endpoint(&self) -> EndpointKey {
        self.raw.endpoint()
    }
    /// The smoothed round-trip time in microseconds; none without
    /// `tcp_info`, and none for a listener, which has no peer (its
    /// `tcp_info` says 0).
    pub fn rtt_us(&self) -> Option<u32> {
        self.raw.tcp.filter(|_| !self.state().is_listening()).map(|t| t.rtt_us)
    }
}

#[cfg(test)]
#[path = "socket_tests.rs"]
mod tests;
