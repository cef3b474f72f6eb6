//! The network graph: processes, listeners, endpoints and endpoint groups as
//! nodes; connections and bindings as edges, folded per (kind, from, to,
//! protocol, state, port) with counts. Rebuilt whole each refresh from
//! grouped rows: cheaper than mutating a `StableGraph` edge by edge.

use std::collections::HashMap;

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::{EdgeRef, IntoEdgeReferences};
use serde::{Deserialize, Serialize};

use super::keys::{EndpointKey, ListenerKey, Pid};
use super::nodes::{ConnectionEdge, EndpointGroupNode};

/// A node: a key into the snapshot's tables (or its groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "key", rename_all = "snake_case")]
pub enum NodeRef {
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
}

#[derive(Debug, Clone, Default)]
pub struct NetGraph {
    pub graph: StableGraph<NodeRef, GraphEdge>,
    index: HashMap<NodeRef, NodeIndex>,
    pub groups: Vec<EndpointGroupNode>,
    /// Where each endpoint is drawn: itself, or the group holding it.
    endpoint_slot: HashMap<EndpointKey, NodeRef>,
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

    /// Put an endpoint into a group for drawing.
    pub fn set_slot(&mut self, endpoint: EndpointKey, slot: NodeRef) {
        self.endpoint_slot.insert(endpoint, slot);
    }

    /// Where an endpoint is drawn (itself unless grouped).
    pub fn slot_of(&self, endpoint: EndpointKey) -> NodeRef {
        self.endpoint_slot.get(&endpoint).copied().unwrap_or(NodeRef::Endpoint(endpoint))
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Edges leaving or entering `node`, with the node at the other end.
    pub fn edges_of(&self, node: NodeRef) -> Vec<(NodeRef, &GraphEdge)> {
        let Some(i) = self.index_of(node) else { return Vec::new() };
        let out = self.graph.edges_directed(i, petgraph::Direction::Outgoing).map(|e| (self.graph[e.target()], e.weight()));
        let inc = self.graph.edges_directed(i, petgraph::Direction::Incoming).map(|e| (self.graph[e.source()], e.weight()));
        out.chain(inc).collect()
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
