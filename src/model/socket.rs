//! Sockets: protocol, state, direction, and the row every view and tool reads.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::age::SocketAge;
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
/// classification add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Socket {
    #[serde(flatten)]
    pub raw: RawSocket,
    pub direction: Direction,
    /// For inbound sockets: the listener that accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<ListenerKey>,
    /// Zone of the remote address (of the local address for listeners).
    pub zone: Zone,
    /// When necromap first saw this socket (Unix ms).
    pub first_seen_ms: i64,
    /// How long it has been open and how sure that is (see
    /// [`SocketAge`]); none when nothing is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<SocketAge>,
    /// Bytes per second since the previous refresh: none the first time a
    /// socket is seen and without `tcp_info` (UDP, `TIME_WAIT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_rate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_rate: Option<u64>,
}

impl Socket {
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
