//! Node and edge payloads of the network graph: the Rust counterparts of the
//! spec's `node_types` and `edge_types`. Field names and kinds must match
//! `specs/network_map.yaml`; `tests/spec_drift.rs` fails when they do not.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::keys::{NetNs, Pid};
use super::shell_link::ShellLink;
use super::socket::{Protocol, SocketState};
use super::workload::Workload;
use crate::terms::Zone;

/// What a source knows about one socket-owning process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProcessFacts {
    pub pid: u32,
    pub ppid: u32,
    /// Names of up to three ancestors, nearest first.
    #[serde(default)]
    pub ancestors: Vec<String>,
    pub name: String,
    pub cmdline: String,
    /// The parent's command line (bounded like `cmdline`; empty when unknown).
    #[serde(default)]
    pub parent_cmdline: String,
    pub exe: Option<String>,
    pub exe_deleted: bool,
    pub exe_memfd: bool,
    pub cwd: Option<String>,
    pub uid: u32,
    pub user: Option<String>,
    pub start_time_ms: i64,
    /// Which of fd 0, 1, 2 are inet sockets.
    pub stdio_sockets: Vec<u8>,
    pub has_tty: bool,
    /// Open files that hold secrets (keys, cloud credentials, wallets,
    /// `.env`), at most 8 paths.
    #[serde(default)]
    pub sensitive_files: Vec<String>,
    /// Shells whose standard input or output leads to this process's
    /// sockets through pipes, FIFOs, ptys or socketpairs.
    #[serde(default)]
    pub shell_links: Vec<ShellLink>,
    /// The network namespace it runs in; none for the observer's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NetNs>,
    /// The container, pod or systemd unit the process runs in, from
    /// /proc/<pid>/cgroup. Left out of JSON when nothing is known, and
    /// absent from recordings made before it existed.
    #[serde(default, skip_serializing_if = "Workload::is_empty")]
    pub workload: Workload,
}

impl ProcessFacts {
    pub fn pid(&self) -> Pid {
        Pid(self.pid)
    }
}

/// Spec node type `process`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ProcessNode {
    #[serde(flatten)]
    pub facts: ProcessFacts,
    pub socket_count: u64,
    pub listener_count: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// Spec node type `remote_endpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteEndpointNode {
    pub ip: IpAddr,
    /// The namespace whose loopback this is; none for every other address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NetNs>,
    pub zone: Zone,
    pub ports: Vec<u16>,
    /// The name the address is best known by (the first of `names`).
    pub hostname: Option<String>,
    /// Every name seen for the address, most recent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Where the first name came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_source: Option<super::NameSource>,
    /// The process that asked DNS for the first name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_by: Option<u32>,
    pub country: Option<String>,
    pub tags: Vec<String>,
    pub connection_count: u64,
    pub process_count: u64,
    pub new_per_minute: f64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// Spec node type `service_listener`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceListenerNode {
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    pub wildcard: bool,
    pub pid: Option<u32>,
    pub process_name: Option<String>,
    pub inode: u32,
    pub inbound_count: u64,
    /// The network namespace it listens in; none for the observer's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<NetNs>,
}

/// How an endpoint group was formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupStrategy {
    Ip,
    Subnet,
    Asn,
    Country,
    /// What was left when every strategy was applied: "+N more".
    Overflow,
    /// Alert-only parties (no socket) when the map has no room for each.
    AlertOnly,
}

/// Zone of a group: the members' shared zone, or mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupZone {
    Loopback,
    Private,
    LinkLocal,
    Public,
    Mixed,
}

impl From<Zone> for GroupZone {
    fn from(z: Zone) -> Self {
        match z {
            Zone::Loopback => Self::Loopback,
            Zone::Private => Self::Private,
            Zone::LinkLocal => Self::LinkLocal,
            Zone::Public => Self::Public,
        }
    }
}

/// Spec node type `endpoint_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointGroupNode {
    pub label: String,
    pub strategy: GroupStrategy,
    pub zone: GroupZone,
    pub members: Vec<String>,
    pub member_count: u64,
    pub connection_count: u64,
}

/// Spec edge types `outbound_connection`, `inbound_connection` and
/// `listener_binding` share these fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionEdge {
    pub protocol: Protocol,
    pub state: SocketState,
    pub local_port: u16,
    pub remote_port: u16,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub duration_ms: i64,
    pub inode: u32,
    pub socket_count: u64,
}
