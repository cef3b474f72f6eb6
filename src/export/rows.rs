//! Flat, stable records for output: one per socket, as `snapshot --format
//! json|csv` prints them and as the README documents them. Field names here
//! are a public contract: add fields, never rename them.

use serde::Serialize;

use crate::model::{Snapshot, Socket};

/// One socket, flattened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocketRow {
    pub id: String,
    pub protocol: &'static str,
    pub state: &'static str,
    pub direction: String,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    pub zone: &'static str,
    pub pid: Option<u32>,
    pub pids: Vec<u32>,
    pub process: Option<String>,
    pub uid: u32,
    pub inode: u32,
    pub first_seen_ms: i64,
    pub age_ms: i64,
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    pub rtt_us: Option<u32>,
    pub send_rate: u64,
    pub recv_rate: u64,
    pub recv_queue: u32,
    pub send_queue: u32,
}

impl SocketRow {
    pub fn new(snapshot: &Snapshot, s: &Socket) -> Self {
        let pid = s.owner();
        Self {
            id: s.key().to_string(),
            protocol: match s.key().protocol {
                crate::model::Protocol::Tcp => "tcp",
                crate::model::Protocol::Udp => "udp",
            },
            state: s.state().name(),
            direction: s.direction.to_string(),
            local_address: s.raw.local.ip().to_string(),
            local_port: s.raw.local.port(),
            remote_address: s.raw.remote.ip().to_string(),
            remote_port: s.raw.remote.port(),
            zone: s.zone.name(),
            pid: pid.map(|p| p.0),
            pids: s.raw.owners.iter().map(|p| p.0).collect(),
            process: pid.and_then(|p| snapshot.process(p)).map(|p| p.facts.name.clone()),
            uid: s.raw.uid,
            inode: s.raw.inode,
            first_seen_ms: s.first_seen_ms,
            age_ms: s.age_ms,
            bytes_sent: s.raw.tcp.map(|t| t.bytes_acked),
            bytes_received: s.raw.tcp.map(|t| t.bytes_received),
            rtt_us: s.raw.tcp.map(|t| t.rtt_us),
            send_rate: s.send_rate,
            recv_rate: s.recv_rate,
            recv_queue: s.raw.recv_queue,
            send_queue: s.raw.send_queue,
        }
    }

    /// Column names, in CSV order.
    pub const COLUMNS: [&'static str; 23] = [
        "id",
        "protocol",
        "state",
        "direction",
        "local_address",
        "local_port",
        "remote_address",
        "remote_port",
        "zone",
        "pid",
        "pids",
        "process",
        "uid",
        "inode",
        "first_seen_ms",
        "age_ms",
        "bytes_sent",
        "bytes_received",
        "rtt_us",
        "send_rate",
        "recv_rate",
        "recv_queue",
        "send_queue",
    ];

    /// Values in [`Self::COLUMNS`] order, as text (empty for absent).
    pub fn values(&self) -> [String; 23] {
        let opt = |v: Option<String>| v.unwrap_or_default();
        [
            self.id.clone(),
            self.protocol.into(),
            self.state.into(),
            self.direction.clone(),
            self.local_address.clone(),
            self.local_port.to_string(),
            self.remote_address.clone(),
            self.remote_port.to_string(),
            self.zone.into(),
            opt(self.pid.map(|p| p.to_string())),
            self.pids.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
            opt(self.process.clone()),
            self.uid.to_string(),
            self.inode.to_string(),
            self.first_seen_ms.to_string(),
            self.age_ms.to_string(),
            opt(self.bytes_sent.map(|v| v.to_string())),
            opt(self.bytes_received.map(|v| v.to_string())),
            opt(self.rtt_us.map(|v| v.to_string())),
            self.send_rate.to_string(),
            self.recv_rate.to_string(),
            self.recv_queue.to_string(),
            self.send_queue.to_string(),
        ]
    }
}
