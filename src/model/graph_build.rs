//! Sockets → [`NetGraph`]: the one builder of the map. The snapshot's graph
//! is built over every socket with the spec's large size class; a view
//! that narrows the sockets (a filter, a focused process) or draws in less
//! room builds its own graph with the same function, so every front end
//! reads the same kind of map made the same way.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::age::AgeBound;
use super::graph::{EdgeKind, GraphEdge, NetGraph, NodeRef};
use super::grouping::{EndpointInfo, group_endpoints};
use super::keys::EndpointKey;
use super::nodes::{ConnectionEdge, RemoteEndpointNode};
use super::socket::{Direction, Protocol, RawSocket, Socket, SocketState};
use crate::slots::Slots;
use crate::spec::GroupingRule;
use crate::terms::Zone;

/// How crowded the drawn map may be: the spec's grouping strategies and
/// the most endpoint slots around the centre.
#[derive(Debug, Clone, Copy)]
pub struct Crowding<'a> {
    pub grouping: &'a [GroupingRule],
    pub max_neighbors: usize,
}

impl<'a> Crowding<'a> {
    /// The spec's grouping at its large size class: the snapshot's map.
    pub fn large(spec: &'a crate::spec::Spec) -> Self {
        Self { grouping: &spec.layout.grouping, max_neighbors: spec.layout.max_neighbors.get(crate::spec::SizeClass::Large) }
    }
}

/// Sockets fold into one edge per (kind, from, to, protocol, state, port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct EdgeKey {
    kind: EdgeKind,
    from: NodeRef,
    to: NodeRef,
    protocol: Protocol,
    state: SocketState,
    port: u16,
}

/// An edge key as seven words (see [`EdgeKey::words`]), compared word by
/// word without a branch: the array's own `==` called `memcmp` for 56
/// bytes, once or twice per socket (a twentieth of a refresh's map).
#[derive(Debug, Clone, Copy)]
struct EdgeWords([u64; 7]);

/// Hashed as the array: equal exactly when the arrays are.
impl std::hash::Hash for EdgeWords {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for EdgeWords {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.0.iter().zip(&other.0).fold(0, |differ, (a, b)| differ | (a ^ b)) == 0
    }
}

impl Eq for EdgeWords {}

impl EdgeKey {
    /// The key as words for the fold's numbering: nearly every socket's
    /// edge is looked up (neighbours in the dump's order rarely share one),
    /// and seven words hash and compare for less than the fields through
    /// two enums. Equal words exactly when the keys are equal.
    fn words(&self) -> EdgeWords {
        let (from, from_meta) = node_words(self.from);
        let (to, to_meta) = node_words(self.to);
        let small = u64::from(self.port) | (self.kind as u64) << 16 | (self.protocol as u64) << 24 | (self.state as u64) << 32;
        EdgeWords([small, (from >> 64) as u64, from as u64, from_meta, (to >> 64) as u64, to as u64, to_meta])
    }
}

/// A node as an address (or number) and a word of its kind (bits 0–2)
/// and its key's other fields (see [`EndpointKey::words`] and
/// [`ListenerKey::words`](super::keys::ListenerKey::words), which leave
/// those bits free): distinct nodes give distinct pairs.
fn node_words(node: NodeRef) -> (u128, u64) {
    match node {
        NodeRef::Host => (0, 0),
        NodeRef::Process(p) => (u128::from(p.0), 1),
        NodeRef::Listener(l) => {
            let (address, rest) = l.words();
            (address, 2 | rest)
        }
        NodeRef::Endpoint(e) => {
            let (address, rest) = e.words();
            (address, 3 | rest)
        }
        NodeRef::Group(g) => (u128::from(g), 4),
    }
}

fn new_edge(kind: EdgeKind, raw: &RawSocket) -> ConnectionEdge {
    ConnectionEdge {
        protocol: raw.protocol(),
        state: raw.state,
        local_port: raw.local.port(),
        remote_port: if kind == EdgeKind::ListenerBinding { 0 } else { raw.remote.port() },
        bytes_sent: 0,
        bytes_received: 0,
        duration_ms: 0,
        inode: raw.inode,
        socket_count: 0,
    }
}

/// Where a socket goes in the graph: (kind, from, to, port), or `None` for
/// a socket that is neither a listener nor connected to anything.
fn placement(s: &Socket) -> Option<(EdgeKind, NodeRef, NodeRef, u16)> {
    let raw = &s.raw;
    let owner = raw.owners.first().map_or(NodeRef::Host, |&p| NodeRef::Process(p));
    match s.direction {
        Direction::Listen => Some((EdgeKind::ListenerBinding, owner, NodeRef::Listener(raw.listener_key()), raw.local.port())),
        Direction::Inbound => {
            let l = s.listener()?;
            (!raw.remote.ip().is_unspecified()).then(|| (EdgeKind::InboundConnection, NodeRef::Endpoint(raw.endpoint()), NodeRef::Listener(l), l.port))
        }
        Direction::Outbound => {
            (!raw.remote.ip().is_unspecified()).then(|| (EdgeKind::OutboundConnection, owner, NodeRef::Endpoint(raw.endpoint()), raw.remote.port()))
        }
    }
}

/// What grouping weighs of each endpoint: its connections (among the
/// rows drawn), zone and country (from the snapshot's table when there).
pub(super) fn endpoint_infos<'a>(
    connections: impl Iterator<Item = (EndpointKey, u64)>,
    endpoints: &'a BTreeMap<EndpointKey, RemoteEndpointNode>,
) -> Vec<EndpointInfo<'a>> {
    let mut infos: Vec<EndpointInfo<'a>> = connections
        .map(|(k, connections)| {
            let node = endpoints.get(&k);
            EndpointInfo { key: k, zone: node.map_or_else(|| Zone::of(k.ip), |e| e.zone), country: node.and_then(|e| e.country.as_deref()), connections }
        })
        .collect();
    infos.sort_unstable_by_key(|e| e.key);
    infos
}

/// The graph of the sockets at `rows` (every socket when `None`), with
/// endpoints grouped for `crowding`. `endpoints` is the snapshot's table
/// (for zones and countries); it must hold every endpoint of those sockets.
pub fn build_graph(sockets: &[Socket], rows: Option<&[u32]>, endpoints: &BTreeMap<EndpointKey, RemoteEndpointNode>, crowding: Crowding<'_>) -> NetGraph {
    let mut graph = NetGraph::new();
    // Every position, or the rows given, without materialising the former.
    let positions: Box<dyn Iterator<Item = u32> + '_> = match rows {
        Some(r) => Box::new(r.iter().copied()),
        None => Box::new(0..sockets.len() as u32),
    };

    let mut edges: Slots<EdgeWords> = Slots::new();
    let mut folded: Vec<(EdgeKey, GraphEdge)> = Vec::new();
    // Connections per endpoint among these rows: what grouping weighs.
    // A run of sockets to one endpoint is counted, then added once.
    let mut per_endpoint: FxHashMap<EndpointKey, u64> = FxHashMap::default();
    let mut run: Option<(EndpointKey, u64)> = None;
    for i in positions {
        let Some(s) = sockets.get(i as usize) else { continue };
        let Some((kind, from, to, port)) = placement(s) else { continue };
        let raw = &s.raw;
        if kind != EdgeKind::ListenerBinding {
            let endpoint = raw.endpoint();
            match &mut run {
                Some((e, n)) if *e == endpoint => *n += 1,
                _ => {
                    if let Some((e, n)) = run.replace((endpoint, 1)) {
                        *per_endpoint.entry(e).or_insert(0) += n;
                    }
                }
            }
        }
        let key = EdgeKey { kind, from, to, protocol: raw.protocol(), state: raw.state, port };
        let (slot, new) = edges.of(key.words());
        if new {
            folded.push((key, GraphEdge { kind, connection: new_edge(kind, raw), sockets: Vec::new() }));
        }
        let edge = &mut folded[slot].1;
        let c = &mut edge.connection;
        if c.local_port != raw.local.port() {
            c.local_port = 0;
        }
        if c.remote_port != raw.remote.port() && kind != EdgeKind::ListenerBinding {
            c.remote_port = 0;
        }
        let counters = raw.tcp.unwrap_or_default();
        c.bytes_sent += counters.bytes_acked;
        c.bytes_received += counters.bytes_received;
        // The spec's duration is the oldest socket's time since first seen:
        // ages measured from a sighting count, an owner's upper bound does
        // not, and unknown ages are skipped (0 when none is known).
        if let Some(age) = s.age().filter(|a| a.bound != AgeBound::AtMost) {
            c.duration_ms = c.duration_ms.max(age.ms);
        }
        c.socket_count += 1;
        edge.sockets.push(i);
    }

    if let Some((e, n)) = run {
        *per_endpoint.entry(e).or_insert(0) += n;
    }

    // Endpoints, grouped for the room there is.
    let infos = endpoint_infos(per_endpoint.into_iter(), endpoints);
    graph.set_grouping(group_endpoints(&infos, crowding.grouping, crowding.max_neighbors));

    folded.sort_by_key(|e| e.0);
    for (EdgeKey { kind, from, to, .. }, mut edge) in folded {
        if edge.connection.socket_count > 1 {
            edge.connection.inode = 0;
        }
        debug_assert_eq!(kind, edge.kind);
        graph.add_edge(from, to, edge);
    }
    graph
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::model::{ListenerKey, NetNs, Pid};

    /// Nodes that differ in any one field (kind, family, namespace or
    /// none, a listener's protocol or port) give different words, so the
    /// fold never merges two edges; equal nodes give equal words.
    #[test]
    fn distinct_nodes_give_distinct_words() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let listener = |protocol, address: &str, port, netns| NodeRef::Listener(ListenerKey { protocol, address: ip(address), port, netns });
        let nodes = [
            NodeRef::Host,
            NodeRef::Process(Pid(0)),
            NodeRef::Process(Pid(4)),
            NodeRef::Group(4),
            NodeRef::Endpoint(EndpointKey { ip: ip("1.2.3.4"), netns: None }),
            NodeRef::Endpoint(EndpointKey { ip: ip("::102:304"), netns: None }),
            NodeRef::Endpoint(EndpointKey { ip: ip("1.2.3.4"), netns: Some(NetNs(0)) }),
            NodeRef::Endpoint(EndpointKey { ip: ip("1.2.3.4"), netns: Some(NetNs(7)) }),
            listener(Protocol::Tcp, "1.2.3.4", 80, None),
            listener(Protocol::Udp, "1.2.3.4", 80, None),
            listener(Protocol::Tcp, "1.2.3.4", 81, None),
            listener(Protocol::Tcp, "1.2.3.4", 80, Some(NetNs(7))),
            listener(Protocol::Tcp, "::102:304", 80, None),
        ];
        let words: std::collections::BTreeSet<(u128, u64)> = nodes.iter().map(|&n| node_words(n)).collect();
        assert_eq!(words.len(), nodes.len(), "two nodes share words");
        let key =
            |port| EdgeKey { kind: EdgeKind::OutboundConnection, from: nodes[2], to: nodes[4], protocol: Protocol::Tcp, state: SocketState::Established, port };
        assert_eq!(key(443).words(), key(443).words());
        assert_ne!(key(443).words(), key(444).words());
        let other_state = EdgeKey { state: SocketState::TimeWait, ..key(443) };
        assert_ne!(key(443).words(), other_state.words());
        // Any one word differing makes the keys differ.
        for i in 0..7 {
            let mut other = [7u64; 7];
            other[i] = 8;
            assert_ne!(EdgeWords(other), EdgeWords([7; 7]), "word {i}");
        }
        assert_eq!(EdgeWords([7; 7]), EdgeWords([7; 7]));
    }
}
