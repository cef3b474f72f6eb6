//! The snapshot: one refresh, immutable, shared as `Arc<Snapshot>` with
//! every consumer (TUI, MCP, store, exporters).

use std::collections::BTreeMap;

use super::finding::Finding;
use super::graph::NetGraph;
use super::health::{Health, StageTimings};
use super::keys::{EndpointKey, ListenerKey, Pid, SocketKey};
use super::nodes::{ProcessNode, RemoteEndpointNode, ServiceListenerNode};
use super::socket::Socket;
use crate::collect::SourceInfo;

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Counts up from 1 with each published refresh.
    pub generation: u64,
    /// When the rows were read (Unix ms).
    pub taken_at_ms: i64,
    pub source: SourceInfo,
    /// Sorted by key.
    pub sockets: Vec<Socket>,
    pub processes: BTreeMap<Pid, ProcessNode>,
    pub endpoints: BTreeMap<EndpointKey, RemoteEndpointNode>,
    pub listeners: BTreeMap<ListenerKey, ServiceListenerNode>,
    pub graph: NetGraph,
    /// Filled by the rule engine before publishing; sorted by severity
    /// (highest first), then id.
    pub findings: Vec<Finding>,
    pub health: Health,
    pub timings: StageTimings,
}

impl Snapshot {
    /// An empty snapshot (before the first refresh).
    pub fn empty(source: SourceInfo) -> Self {
        Self {
            generation: 0,
            taken_at_ms: 0,
            source,
            sockets: Vec::new(),
            processes: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            listeners: BTreeMap::new(),
            graph: NetGraph::new(),
            findings: Vec::new(),
            health: Health::default(),
            timings: StageTimings::default(),
        }
    }

    pub fn socket(&self, key: SocketKey) -> Option<&Socket> {
        self.sockets.binary_search_by_key(&key, Socket::key).ok().map(|i| &self.sockets[i])
    }

    /// A socket-owning process.
    pub fn process(&self, pid: Pid) -> Option<&ProcessNode> {
        self.processes.get(&pid)
    }

    /// Count of sockets per state name, for summaries.
    pub fn state_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for s in &self.sockets {
            *m.entry(s.state().name()).or_insert(0) += 1;
        }
        m
    }
}
