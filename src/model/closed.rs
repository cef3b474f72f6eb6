//! Sockets the kernel has freed, as its `sock_diag` destroy events report
//! them: every connection, however short, even ones no refresh ever saw.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::keys::{NetNs, Pid, SocketKey};
use super::socket::{Direction, Protocol, RawSocket, SocketState, TcpCounters};

/// One destroyed socket. The key is the kernel cookie, the same one a
/// dump reported while the socket was alive, so an event closes a socket
/// the snapshot already knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyedSocket {
    pub key: SocketKey,
    /// State when the socket was freed: TCP sockets are almost always
    /// `CLOSE` by then (see [`DestroyedSocket::established`] for how to tell
    /// a refused connect from a finished connection).
    pub state: SocketState,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// As the event says; the kernel leaves it 0 in destroy events.
    pub uid: u32,
    /// Final `tcp_info` counters (TCP only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCounters>,
    /// When the event was received (Unix ms).
    pub at_ms: i64,
}

impl DestroyedSocket {
    /// The event row as the parser gave it, stamped with its arrival time.
    pub fn from_raw(raw: &RawSocket, at_ms: i64) -> Self {
        Self { key: raw.key, state: raw.state, local: raw.local, remote: raw.remote, uid: raw.uid, tcp: raw.tcp, at_ms }
    }

    pub fn protocol(&self) -> Protocol {
        self.key.protocol
    }

    /// Whether this TCP connection ever completed its handshake; always
    /// false for UDP, which has none.
    ///
    /// The state cannot say (a destroyed TCP socket is `CLOSE` whatever
    /// happened), nor can the byte and segment counters alone: a failed
    /// connect and an abortive close (`SO_LINGER` 0) both go through the
    /// kernel's disconnect, which zeroes them (and the remote port). The
    /// minimum RTT survives that reset and only exists once a round trip
    /// was measured, which the handshake does: the SYN-ACK for a client,
    /// the final ACK for an accepted socket. Bytes moved in either
    /// direction also prove it, for kernels or paths without the sample.
    pub fn established(&self) -> bool {
        self.tcp.is_some_and(|t| t.min_rtt_us.is_some() || t.bytes_acked > 0 || t.bytes_received > 0)
    }
}

/// How the process behind a closed socket was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnerSource {
    /// A refresh saw the socket open, with its owner.
    Dump,
    /// The connect tracepoint named the process at `connect()` (root).
    ConnectTrace,
    /// Accepted by a listener whose owner is known.
    Listener,
    /// Too short for any refresh, and nothing else names it.
    Unknown,
}

impl OwnerSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Dump => "dump",
            Self::ConnectTrace => "connect_trace",
            Self::Listener => "listener",
            Self::Unknown => "owner unknown (too short)",
        }
    }
}

/// A socket that closed since the previous refresh, with what the
/// collector could tell about it: its namespace, who held it and how that
/// is known, and whether it ever connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedSocket {
    #[serde(flatten)]
    pub socket: DestroyedSocket,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NetNs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<Pid>,
    /// The task name the tracepoint gave (the process may be gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    pub owner_source: OwnerSource,
    pub direction: Direction,
    /// When it started, when known (the connect tracepoint's time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<i64>,
    /// A refresh saw it open (its start was counted then).
    pub seen_in_dump: bool,
    /// It connected: a TCP handshake completed, or a UDP socket had a peer.
    pub established: bool,
}

impl ClosedSocket {
    pub fn key(&self) -> SocketKey {
        self.socket.key
    }

    /// When it started: the tracepoint's time, else when it closed (a
    /// connection too short for a refresh started within milliseconds of
    /// its end).
    pub fn start_ms(&self) -> i64 {
        self.started_ms.unwrap_or(self.socket.at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed(tcp: Option<TcpCounters>) -> DestroyedSocket {
        DestroyedSocket {
            key: SocketKey { protocol: if tcp.is_some() { Protocol::Tcp } else { Protocol::Udp }, cookie: 0x2a },
            state: SocketState::Close,
            local: "127.0.0.1:40000".parse().expect("addr"),
            remote: "127.0.0.1:8080".parse().expect("addr"),
            uid: 0,
            tcp,
            at_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_handshake_shows_in_the_rtt_sample_or_in_bytes() {
        let refused = TcpCounters::default();
        assert!(!closed(Some(refused)).established());
        // An abortive close zeroes the counters but keeps the minimum RTT.
        assert!(closed(Some(TcpCounters { min_rtt_us: Some(7), ..refused })).established());
        assert!(closed(Some(TcpCounters { bytes_received: 6, ..refused })).established());
        assert!(closed(Some(TcpCounters { bytes_acked: 1, ..refused })).established());
        assert!(!closed(None).established(), "UDP has no handshake");
    }

    #[test]
    fn round_trips_through_json_and_old_counters_still_read() {
        let ev = closed(Some(TcpCounters { bytes_acked: 10, bytes_received: 6, rtt_us: 18, min_rtt_us: Some(6) }));
        let text = serde_json::to_string(&ev).expect("serialize");
        assert!(text.contains(r#""key":"tcp:000000000000002a""#), "{text}");
        assert_eq!(serde_json::from_str::<DestroyedSocket>(&text).expect("parse"), ev);
        // Counters written before `min_rtt_us` existed.
        let old = text.replace(r#","min_rtt_us":6"#, "");
        assert_ne!(old, text);
        assert_eq!(serde_json::from_str::<DestroyedSocket>(&old).expect("parse").tcp.and_then(|t| t.min_rtt_us), None);
    }
}
