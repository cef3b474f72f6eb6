//! Flat, stable records for output: one per socket, as `snapshot --format
//! json|csv` prints them and as the README documents them, and the JSON
//! process row. Field names here are a public contract: add fields, never
//! rename them. Values not known are `null` (JSON) or empty (CSV), never 0.

use serde::Serialize;

use crate::model::{AgeBound, ProcessNode, Severity, Snapshot, Socket};

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
    /// How long the socket has been open (see `age_bound`); null when unknown.
    pub age_ms: Option<i64>,
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    /// Smoothed round-trip time; null without `tcp_info` and for listeners.
    pub rtt_us: Option<u32>,
    /// Bytes per second since the previous refresh; null on the first
    /// sighting and without `tcp_info`.
    pub send_rate: Option<u64>,
    pub recv_rate: Option<u64>,
    pub recv_queue: u32,
    pub send_queue: u32,
    /// The worst severity of the findings about the socket, its owners or
    /// its remote endpoint; null when none.
    pub severity: Option<Severity>,
    /// Those findings' rule ids, sorted.
    pub rule_ids: Vec<String>,
    /// `exact`, `at_least` or `at_most`: how `age_ms` relates to the real
    /// age; null when the age is unknown.
    pub age_bound: Option<AgeBound>,
    /// The network namespace's inode; null when the source does not say
    /// (recordings made before namespaces were read).
    pub netns: Option<u32>,
    /// The namespace's readable name: `host` for the observer's own.
    pub namespace: String,
    /// The owner's container (`namespace/pod/container`, a name, or
    /// `runtime:shortid`) or systemd unit; null when unknown.
    pub container: Option<String>,
    /// The name the remote address is known by (DNS answer, PTR or
    /// /etc/hosts); null when none was seen.
    pub remote_name: Option<String>,
    /// The service name of the socket's service port (the remote port of an
    /// outbound socket, the local port of others); null when unknown.
    pub service: Option<&'static str>,
}

impl SocketRow {
    pub fn new(snapshot: &Snapshot, s: &Socket) -> Self {
        let pid = s.owner();
        let facts = snapshot.socket_facts(s);
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
            age_ms: s.age().map(|a| a.ms),
            bytes_sent: s.raw.tcp.map(|t| t.bytes_acked),
            bytes_received: s.raw.tcp.map(|t| t.bytes_received),
            rtt_us: s.rtt_us(),
            send_rate: s.send_rate(),
            recv_rate: s.recv_rate(),
            recv_queue: s.raw.recv_queue,
            send_queue: s.raw.send_queue,
            severity: facts.map(|f| f.severity),
            rule_ids: facts.map(|f| f.rule_ids.clone()).unwrap_or_default(),
            age_bound: s.age().map(|a| a.bound),
            netns: snapshot.namespace_inode(s.raw.netns),
            namespace: snapshot.namespace_name(s.raw.netns),
            container: snapshot.workload_label(s),
            remote_name: snapshot.remote_name(s).map(str::to_string),
            service: crate::names::service_of(snapshot, s),
        }
    }

    /// Column names, in CSV order.
    pub const COLUMNS: [&'static str; 31] = [
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
        "severity",
        "rule_ids",
        "age_bound",
        "netns",
        "namespace",
        "container",
        "remote_name",
        "service",
    ];

    /// Values in [`Self::COLUMNS`] order, as text (empty for absent).
    pub fn values(&self) -> [String; 31] {
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
            opt(self.age_ms.map(|v| v.to_string())),
            opt(self.bytes_sent.map(|v| v.to_string())),
            opt(self.bytes_received.map(|v| v.to_string())),
            opt(self.rtt_us.map(|v| v.to_string())),
            opt(self.send_rate.map(|v| v.to_string())),
            opt(self.recv_rate.map(|v| v.to_string())),
            self.recv_queue.to_string(),
            self.send_queue.to_string(),
            opt(self.severity.map(|v| v.name().to_string())),
            self.rule_ids.join(" "),
            opt(self.age_bound.map(|v| v.name().to_string())),
            opt(self.netns.map(|v| v.to_string())),
            self.namespace.clone(),
            opt(self.container.clone()),
            opt(self.remote_name.clone()),
            opt(self.service.map(str::to_string)),
        ]
    }
}

/// One process in `snapshot --format json`: the spec's `process` node with
/// what the findings say about it (its own and its sockets').
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessRow<'a> {
    #[serde(flatten)]
    pub node: &'a ProcessNode,
    /// The worst severity; null when none.
    pub severity: Option<Severity>,
    /// Rule ids, sorted.
    pub rule_ids: &'a [String],
    /// The readable name of its network namespace (`netns`, absent for the
    /// observer's own): `host` for the observer's own.
    pub namespace: String,
}

impl<'a> ProcessRow<'a> {
    pub fn new(snapshot: &'a Snapshot, node: &'a ProcessNode) -> Self {
        let facts = snapshot.index.process(node.facts.pid());
        Self {
            node,
            severity: facts.map(|f| f.severity),
            rule_ids: facts.map_or(&[], |f| f.rule_ids.as_slice()),
            namespace: snapshot.namespace_name(node.facts.netns),
        }
    }
}
