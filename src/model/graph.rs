//! The network graph — *the* map every front end reads: processes,
//! listeners, endpoints and endpoint groups as nodes; connections and
//! bindings as edges, folded per (kind, from, to, protocol, state, port)
//! with counts and the positions of their sockets (so an edge's worst
//! severity is a lookup in the snapshot's fact index). Edges always reach
//! the endpoint itself; a crowded map draws an endpoint in its group's
//! slot ([`NetGraph::slot_of`], [`NetGraph::slots`]), so relationship
//! questions (who talks to this address, what does this process reach)
//! have exact answers whatever the grouping. Rebuilt whole each refresh
//! from grouped rows (see [`super::graph_build`]): cheaper than mutating a
//! `StableGraph` edge by edge.

use std::collections::HashMap;

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use serde::{Deserialize, Serialize};

use super::index::FactIndex;
use super::keys::{EndpointKey, ListenerKey, Pid};
use super::nodes::{ConnectionEdge, EndpointGroupNode};
use super::socket::Socket;
use crate::terms::Severity;

/// A node: a key into the snapshot's tables (or its groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "key", rename_all = "snake_case")]
pub enum NodeRef {
    /// This host, for sockets no visible process owns (`TIME_WAIT` leftovers,
    /// other users' sockets when unprivileged).
    Host,
    Process(Pid),
    #[serde(rename = "service_listener")]
    Listener(ListenerKey),
    #[serde(rename = "remote_endpoint")]
    Endpoint(EndpointKey),
    /// Index into [`NetGraph::groups`].
    #[serde(rename = "endpoint_group")]
    Group(u32),
}

/// The spec's edge types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    OutboundConnection,
    InboundConnection,
    ListenerBinding,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub kind: EdgeKind,
    #[serde(flatten)]
    pub connection: ConnectionEdge,
    /// Positions in `snapshot.sockets` of the sockets folded here.
    #[serde(skip)]
    pub sockets: Vec<u32>,
}

impl GraphEdge {
    /// The worst severity of the findings about this edge's sockets.
    pub fn worst(&self, index: &FactIndex) -> Option<Severity> {
        self.sockets.iter().filter_map(|&i| index.socket(i as usize)).map(|f| f.severity).max()
    }

    /// The port that names this edge: the remote's for an outbound
    /// connection, the listener's otherwise.
    pub fn port(&self) -> u16 {
        match self.kind {
            EdgeKind::OutboundConnection => self.connection.remote_port,
            EdgeKind::InboundConnection | EdgeKind::ListenerBinding => self.connection.local_port,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NetGraph {
    pub graph: StableGraph<NodeRef, GraphEdge>,
    index: HashMap<NodeRef, NodeIndex>,
    pub groups: Vec<EndpointGroupNode>,
    /// Members of each group, by the same index as `groups`.
    members: Vec<Vec<EndpointKey>>,
    /// Where each grouped endpoint is drawn (absent: itself).
    endpoint_slot: HashMap<EndpointKey, NodeRef>,
    /// What the map draws around the centre, in the grouping's order:
    /// single endpoints and groups.
    pub slots: Vec<NodeRef>,
    /// Notes from grouping (a strategy skipped).
    pub notes: Vec<String>,
}

impl NetGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// The node for `node`, added on first use.
    pub fn node(&mut self, node: NodeRef) -> NodeIndex {
        if let Some(&i) = self.index.get(&node) {
            return i;
        }
        let i = self.graph.add_node(node);
        self.index.insert(node, i);
        i
    }

    pub fn add_edge(&mut self, from: NodeRef, to: NodeRef, edge: GraphEdge) -> EdgeIndex {
        let a = self.node(from);
        let b = self.node(to);
        self.graph.add_edge(a, b, edge)
    }

    pub fn index_of(&self, node: NodeRef) -> Option<NodeIndex> {
        self.index.get(&node).copied()
    }

    /// Add a group of endpoints drawn as one node; its members keep their
    /// own nodes and edges.
    pub fn add_group(&mut self, group: EndpointGroupNode, members: Vec<EndpointKey>) -> NodeRef {
        let id = NodeRef::Group(self.groups.len() as u32);
        self.groups.push(group);
        for &m in &members {
            self.endpoint_slot.insert(m, id);
        }
        self.members.push(members);
        self.node(id);
        id
    }

    /// Draw the endpoints as `grouping` says: its slots (single endpoints
    /// and groups) and notes replace any the graph had. Endpoints keep
    /// their nodes and edges; only where they are drawn changes.
    pub fn set_grouping(&mut self, grouping: super::grouping::Grouping) {
        for g in 0..self.groups.len() as u32 {
            if let Some(i) = self.index.remove(&NodeRef::Group(g)) {
                self.graph.remove_node(i);
            }
        }
        self.groups.clear();
        self.members.clear();
        self.endpoint_slot.clear();
        self.slots.clear();
        self.notes = grouping.notes;
        for slot in grouping.slots {
            let node = match slot {
                super::grouping::Slot::Single(k) => {
                    self.node(NodeRef::Endpoint(k));
                    NodeRef::Endpoint(k)
                }
                super::grouping::Slot::Group { group, members } => self.add_group(group, members),
            };
            self.slots.push(node);
        }
    }

    /// The endpoints a group holds.
    pub fn members(&self, group: u32) -> &[EndpointKey] {
        self.members.get(group as usize).map_or(&[], Vec::as_slice)
    }

    /// The group node labelled `label`.
    pub fn group_by_label(&self, label: &str) -> Option<(u32, &EndpointGroupNode)> {
        self.groups.iter().enumerate().find(|(_, g)| g.label == label).map(|(i, g)| (i as u32, g))
    }

    /// Where an endpoint is drawn (itself unless grouped).
    pub fn slot_of(&self, endpoint: EndpointKey) -> NodeRef {
        self.endpoint_slot.get(&endpoint).copied().unwrap_or(NodeRef::Endpoint(endpoint))
    }

    /// Where a node is drawn: a grouped endpoint in its group's slot,
    /// everything else where it is.
    pub fn drawn_as(&self, node: NodeRef) -> NodeRef {
        match node {
            NodeRef::Endpoint(e) => self.slot_of(e),
            other => other,
        }
    }

    /// Whether a node is drawn on its own (not folded into a group).
    pub fn is_drawn(&self, node: NodeRef) -> bool {
        self.drawn_as(node) == node
    }

    /// About how many heap bytes the graph holds: nodes, edges with their
    /// sockets' positions, the node index and the groups.
    pub fn heap_bytes(&self) -> usize {
        let edges: usize = self.graph.edge_weights().map(|e| std::mem::size_of::<GraphEdge>() + 16 + e.sockets.capacity() * 4).sum();
        let nodes = self.graph.node_count() * (std::mem::size_of::<NodeRef>() + 16) + self.index.capacity() * (std::mem::size_of::<(NodeRef, NodeIndex)>() + 1);
        let groups: usize = self.members.iter().map(|m| m.capacity() * std::mem::size_of::<EndpointKey>()).sum::<usize>()
            + self.endpoint_slot.capacity() * (std::mem::size_of::<(EndpointKey, NodeRef)>() + 1);
        edges + nodes + groups
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Edges leaving or entering `node`, with the node at the other end.
    pub fn edges_of(&self, node: NodeRef) -> Vec<(NodeRef, &GraphEdge)> {
        self.edges_from(node).chain(self.edges_into(node)).collect()
    }

    /// Edges entering `node`, with their source.
    pub fn edges_into(&self, node: NodeRef) -> impl Iterator<Item = (NodeRef, &GraphEdge)> {
        let i = self.index_of(node);
        i.into_iter().flat_map(move |i| self.graph.edges_directed(i, petgraph::Direction::Incoming).map(|e| (self.graph[e.source()], e.weight())))
    }

    /// Edges leaving `node`, with their target.
    pub fn edges_from(&self, node: NodeRef) -> impl Iterator<Item = (NodeRef, &GraphEdge)> {
        let i = self.index_of(node);
        i.into_iter().flat_map(move |i| self.graph.edges_directed(i, petgraph::Direction::Outgoing).map(|e| (self.graph[e.target()], e.weight())))
    }

    /// Who talks with an endpoint: every process owning a socket of an
    /// edge into or out of it (a socket several processes share counts for
    /// each), and `None` for sockets no visible process owns, with socket
    /// counts, by pid. `sockets` is the snapshot's (edges hold positions).
    pub fn talkers(&self, endpoint: EndpointKey, sockets: &[Socket]) -> Vec<(Option<Pid>, u64)> {
        let node = NodeRef::Endpoint(endpoint);
        let mut out: std::collections::BTreeMap<Option<Pid>, u64> = std::collections::BTreeMap::new();
        for (_, e) in self.edges_into(node).chain(self.edges_from(node)) {
            for s in e.sockets.iter().filter_map(|&i| sockets.get(i as usize)) {
                if s.raw.owners.is_empty() {
                    *out.entry(None).or_insert(0) += 1;
                }
                for &p in &s.raw.owners {
                    *out.entry(Some(p)).or_insert(0) += 1;
                }
            }
        }
        out.into_iter().collect()
    }

    /// What a process reaches: the endpoints of its outbound connections
    /// and the listeners it holds, each with its socket count.
    pub fn reached_by(&self, pid: Pid) -> Vec<(NodeRef, u64)> {
        let mut out: std::collections::BTreeMap<NodeRef, u64> = std::collections::BTreeMap::new();
        for (to, e) in self.edges_from(NodeRef::Process(pid)) {
            *out.entry(to).or_insert(0) += e.connection.socket_count;
        }
        out.into_iter().collect()
    }

    /// Every edge as (from, to, edge), in a stable order.
    pub fn edges(&self) -> Vec<(NodeRef, NodeRef, &GraphEdge)> {
        let mut v: Vec<_> = (&self.graph).edge_references().map(|e| (self.graph[e.source()], self.graph[e.target()], e.weight())).collect();
        v.sort_by(|a, b| {
            (a.0, a.1, a.2.kind, a.2.connection.state, a.2.connection.remote_port, a.2.connection.local_port).cmp(&(
                b.0,
                b.1,
                b.2.kind,
                b.2.connection.state,
                b.2.connection.remote_port,
                b.2.connection.local_port,
            ))
        });
        v
    }
}
