//! What the views need, computed once per change (new snapshot, filter,
//! view, sort, focus, size class) instead of once per frame: the filtered
//! and sorted row order, the map model, the tree index (in the tree
//! modes). Socket marks are read from the snapshot's fact index.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::state::{Column, MapMode, MapNode, Sort, UiState};
use crate::model::graph_build::{Crowding, build_graph};
use crate::model::{
    EdgeKind, EndpointKey, GraphEdge, GroupZone, Highlight, ListenerKey, NetGraph, NodeRef, Pid, Severity, Snapshot, Socket, SocketState, Subject, Zone,
};
use crate::spec::{IconHint, SizeClass, Spec};

/// The strongest finding on a socket (or on its process or endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub severity: Severity,
    pub highlight: Option<Highlight>,
    pub icon: Option<IconHint>,
}

impl Mark {
    fn stronger(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(x), Some(y)) => Some(if y.severity > x.severity { y } else { x }),
            (x, None) => x,
            (None, y) => y,
        }
    }
}

/// A node on the map with what its sockets add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    pub node: MapNode,
    /// The ring it sits on: `None` for listeners (the inner ring).
    pub zone: Option<GroupZone>,
    pub label: String,
    /// Endpoints folded into a group node (0 for other nodes).
    pub members: usize,
    pub sockets: u64,
    /// The state drawn for its edge: the one with the highest severity hint,
    /// then the most sockets.
    pub state: SocketState,
    pub mark: Option<Mark>,
}

/// The map's nodes around the centre.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapModel {
    pub listeners: Vec<MapEntry>,
    pub endpoints: Vec<MapEntry>,
    pub notes: Vec<String>,
    /// Listeners beyond what the inner ring holds.
    pub more_listeners: usize,
}

/// Tree index over the visible rows.
#[derive(Debug, Clone, Default)]
pub struct TreeIndex {
    pub by_process: BTreeMap<Pid, Vec<u32>>,
    pub unowned: Vec<u32>,
    pub by_endpoint: BTreeMap<EndpointKey, BTreeMap<Pid, u64>>,
    /// Processes per container or unit label (`host` for processes in
    /// none), in label order.
    pub by_container: BTreeMap<String, Vec<Pid>>,
}

#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// Indices of the sockets shown, in list order.
    pub rows: Vec<u32>,
    pub map: MapModel,
    pub tree: TreeIndex,
    /// Marks per map node, for glows.
    pub node_marks: FxHashMap<MapNode, Mark>,
    /// The map's graph when it is not the snapshot's own (see [`map_graph`]).
    pub graph: Option<NetGraph>,
}

impl Derived {
    /// The graph the map draws.
    pub fn map_graph<'a>(&'a self, snapshot: &'a Snapshot) -> &'a NetGraph {
        self.graph.as_ref().unwrap_or(&snapshot.graph)
    }
}

/// The worst severity of the socket at position `i`.
fn severity_at(snapshot: &Snapshot, i: u32) -> Option<Severity> {
    snapshot.index.socket(i as usize).map(|f| f.severity)
}

/// Keep the stronger mark for `k`.
fn put<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, Mark>, k: K, m: Mark) {
    let e = map.entry(k).or_insert(m);
    if m.severity > e.severity {
        *e = m;
    }
}

/// A finding's mark.
fn mark_of(f: &crate::model::Finding) -> Mark {
    Mark { severity: f.severity, highlight: f.highlight, icon: f.icon }
}

/// The mark of the socket at position `i`: its worst finding's (about it,
/// an owner or its endpoint), read from the snapshot's fact index.
pub fn mark_at(snapshot: &Snapshot, i: u32) -> Option<Mark> {
    snapshot.index.socket(i as usize).and_then(|facts| snapshot.worst_finding(facts)).map(mark_of)
}

/// Marks of process nodes, for glows.
fn node_marks(snapshot: &Snapshot) -> FxHashMap<MapNode, Mark> {
    let mut nodes: FxHashMap<MapNode, Mark> = FxHashMap::default();
    for f in &snapshot.findings {
        if let Subject::Process { pid } = f.subject {
            put(&mut nodes, MapNode::Process(pid), mark_of(f));
        }
    }
    nodes
}

fn compare(snapshot: &Snapshot, a: u32, b: u32, column: Column) -> Ordering {
    let (x, y) = (&snapshot.sockets[a as usize], &snapshot.sockets[b as usize]);
    let name = |s: &Socket| s.owner().and_then(|p| snapshot.process(p)).map_or("", |p| p.facts.name.as_str());
    match column {
        Column::Process => name(x).cmp(name(y)).then(x.owner().cmp(&y.owner())),
        Column::Proto => x.key().protocol.cmp(&y.key().protocol),
        Column::Local => x.raw.local.cmp(&y.raw.local),
        Column::Remote => x.raw.remote.cmp(&y.raw.remote),
        Column::State => x.state().name().cmp(y.state().name()),
        Column::Age => x.age.map(|a| a.ms).cmp(&y.age.map(|a| a.ms)),
        Column::Up => x.send_rate.cmp(&y.send_rate),
        Column::Down => x.recv_rate.cmp(&y.recv_rate),
        Column::Severity => severity_at(snapshot, a).cmp(&severity_at(snapshot, b)),
    }
}

/// The rows to show, in order.
pub fn rows(snapshot: &Snapshot, spec: &Spec, ui: &UiState) -> Vec<u32> {
    let view = spec.views.get_index(ui.view).map(|(_, v)| &v.filter);
    // Every socket in the default order: the snapshot has it already.
    let everything = ui.filter.is_empty() && view.is_none_or(|v| *v == crate::spec::ViewFilter::default());
    if everything && ui.sort == Sort::WORST_FIRST && snapshot.order.by_severity.len() == snapshot.sockets.len() {
        return snapshot.order.by_severity.clone();
    }
    let mut rows: Vec<u32> = snapshot
        .sockets
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            if let Some(v) = view
                && !crate::model::view::passes(v, snapshot, s)
            {
                return false;
            }
            if ui.filter.is_empty() {
                return true;
            }
            let tags: Vec<&str> = crate::model::view::socket_tags(snapshot, s).collect();
            ui.filter.matches(snapshot, s, severity_at(snapshot, *i as u32), &tags)
        })
        .map(|(i, _)| i as u32)
        .collect();
    let Sort { column, descending } = ui.sort;
    // Unknown ages and rates go last whichever way the column is sorted.
    let unknown = |i: u32| {
        let s = &snapshot.sockets[i as usize];
        match column {
            Column::Age => s.age.is_none(),
            Column::Up => s.send_rate.is_none(),
            Column::Down => s.recv_rate.is_none(),
            _ => false,
        }
    };
    rows.sort_by(|&a, &b| {
        let o = compare(snapshot, a, b, column);
        let o = if descending { o.reverse() } else { o };
        unknown(a).cmp(&unknown(b)).then(o).then(a.cmp(&b))
    });
    rows
}

fn state_rank(spec: &Spec, state: SocketState) -> Severity {
    spec.states.get(&state).map_or(Severity::Info, |s| s.severity_hint)
}

/// Sockets, states and the strongest mark of some graph edges, as one map
/// entry draws them.
#[derive(Default)]
struct Agg {
    sockets: u64,
    states: BTreeMap<SocketState, u64>,
    mark: Option<Mark>,
    ports: std::collections::BTreeSet<u16>,
}

impl Agg {
    fn add(&mut self, e: &GraphEdge, snapshot: &Snapshot) {
        self.sockets += e.connection.socket_count;
        *self.states.entry(e.connection.state).or_insert(0) += e.connection.socket_count;
        self.mark = e.sockets.iter().fold(self.mark, |m, &i| Mark::stronger(m, mark_at(snapshot, i)));
        self.ports.insert(e.port());
    }

    fn state(&self, spec: &Spec) -> SocketState {
        self.states.iter().max_by(|a, b| state_rank(spec, *a.0).cmp(&state_rank(spec, *b.0)).then(a.1.cmp(b.1))).map_or(SocketState::Established, |(s, _)| *s)
    }

    /// Every connection edge of an endpoint (outbound to it, inbound from it).
    fn endpoint(graph: &NetGraph, key: EndpointKey, snapshot: &Snapshot, into: &mut Self) {
        let node = NodeRef::Endpoint(key);
        for (_, e) in graph.edges_into(node).chain(graph.edges_from(node)) {
            into.add(e, snapshot);
        }
    }
}

/// The graph the map draws: `None` when it is the snapshot's own (every
/// socket shown, no process focused, room for the large class), else one
/// built by the same builder over the rows shown, in the room there is.
pub fn map_graph(snapshot: &Snapshot, spec: &Spec, focus: Option<Pid>, rows: &[u32], class: SizeClass) -> Option<NetGraph> {
    let crowding = Crowding { grouping: &spec.layout.grouping, max_neighbors: spec.layout.max_neighbors.get(class) };
    let everything = rows.len() == snapshot.sockets.len() && focus.is_none();
    if everything && crowding.max_neighbors == Crowding::large(spec).max_neighbors {
        return None;
    }
    let focused: Vec<u32>;
    let rows = match focus {
        Some(p) => {
            focused = rows.iter().copied().filter(|&i| snapshot.sockets[i as usize].raw.owners.contains(&p)).collect();
            &focused
        }
        None => rows,
    };
    Some(build_graph(&snapshot.sockets, Some(rows), &snapshot.endpoints, crowding))
}

/// Nodes around the centre (host, or the focused process), read off the
/// map's graph: listeners with their bindings, then the graph's endpoint
/// slots (single endpoints and groups) with their connections.
pub fn map_model(snapshot: &Snapshot, spec: &Spec, graph: &NetGraph, class: SizeClass) -> MapModel {
    let mut listeners: Vec<ListenerKey> = graph.graph.node_weights().filter_map(|n| if let NodeRef::Listener(l) = n { Some(*l) } else { None }).collect();
    listeners.sort_unstable();
    let max = spec.layout.max_neighbors.get(class);
    let listener_room = (max / 2).max(1);
    let mut model = MapModel { more_listeners: listeners.len().saturating_sub(listener_room), ..MapModel::default() };
    for key in listeners.into_iter().take(listener_room) {
        // What it is: its listening sockets; a listener the rows reach only
        // through accepted connections (a view of active sockets) stands
        // for those connections.
        let mut agg = Agg::default();
        for (_, e) in graph.edges_into(NodeRef::Listener(key)).filter(|(_, e)| e.kind == EdgeKind::ListenerBinding) {
            agg.add(e, snapshot);
        }
        if agg.sockets == 0 {
            for (_, e) in graph.edges_into(NodeRef::Listener(key)) {
                agg.add(e, snapshot);
            }
        }
        // `:22` for a wildcard TCP listener, `udp 127.0.0.53:53` otherwise.
        let addr = if key.address.is_unspecified() { format!(":{}", key.port) } else { std::net::SocketAddr::new(key.address, key.port).to_string() };
        // The IPv6 wildcard is told from the IPv4 one (`:22` and `:22 v6`).
        let addr = if key.address.is_unspecified() && key.address.is_ipv6() { format!("{addr} v6") } else { addr };
        let label = if key.protocol == crate::model::Protocol::Udp { format!("udp {addr}") } else { addr };
        model.listeners.push(MapEntry {
            node: MapNode::Listener(key),
            zone: None,
            label,
            members: 0,
            sockets: agg.sockets,
            state: agg.state(spec),
            mark: agg.mark,
        });
    }

    model.notes.clone_from(&graph.notes);
    for &slot in &graph.slots {
        match slot {
            NodeRef::Endpoint(k) => {
                let mut agg = Agg::default();
                Agg::endpoint(graph, k, snapshot, &mut agg);
                // The name when the address has one (escaped and bounded;
                // the inspector keeps the address), else the address.
                let name = super::naming::endpoint_name(snapshot, &k);
                let port = agg.ports.iter().next().copied().unwrap_or(0);
                let label = match (agg.ports.len(), name) {
                    (1, Some(name)) => format!("{name}:{port}"),
                    (1, None) => std::net::SocketAddr::new(k.ip, port).to_string(),
                    (n, Some(name)) => format!("{name} ({n} ports)"),
                    (n, None) => format!("{} ({n} ports)", k.ip),
                };
                model.endpoints.push(MapEntry {
                    node: MapNode::Endpoint(k),
                    zone: Some(GroupZone::from(Zone::of(k.ip))),
                    label,
                    members: 0,
                    sockets: agg.sockets,
                    state: agg.state(spec),
                    mark: agg.mark,
                });
            }
            NodeRef::Group(g) => {
                let Some(group) = graph.groups.get(g as usize) else { continue };
                let mut agg = Agg::default();
                for &m in graph.members(g) {
                    Agg::endpoint(graph, m, snapshot, &mut agg);
                }
                model.endpoints.push(MapEntry {
                    node: MapNode::Group(group.label.clone()),
                    zone: Some(group.zone),
                    label: group.label.clone(),
                    members: graph.members(g).len(),
                    sockets: agg.sockets,
                    state: agg.state(spec),
                    mark: agg.mark,
                });
            }
            NodeRef::Host | NodeRef::Process(_) | NodeRef::Listener(_) => {}
        }
    }
    model
}

/// The tree index over the rows; who talks to each endpoint is read off
/// the map's graph (built over the same rows).
pub fn tree_index(snapshot: &Snapshot, graph: &NetGraph, rows: &[u32]) -> TreeIndex {
    let mut t = TreeIndex::default();
    for &i in rows {
        match snapshot.sockets[i as usize].owner() {
            Some(p) => t.by_process.entry(p).or_default().push(i),
            None => t.unowned.push(i),
        }
    }
    for node in graph.graph.node_weights() {
        let &NodeRef::Endpoint(key) = node else { continue };
        let per = t.by_endpoint.entry(key).or_default();
        for (pid, n) in graph.talkers(key, &snapshot.sockets) {
            if let Some(p) = pid {
                per.insert(p, n);
            }
        }
    }
    for &p in t.by_process.keys() {
        let label = snapshot.process(p).and_then(|n| n.facts.workload.label()).unwrap_or_else(|| HOST_LABEL.to_string());
        t.by_container.entry(label).or_default().push(p);
    }
    t
}

/// The container-tree group of processes that run in no container or unit.
pub const HOST_LABEL: &str = "host";

impl Derived {
    pub fn compute(snapshot: &Snapshot, spec: &Spec, ui: &UiState, class: SizeClass) -> Self {
        let node_marks = node_marks(snapshot);
        let rows = rows(snapshot, spec, ui);
        let graph = map_graph(snapshot, spec, ui.focus, &rows, class);
        let drawn = graph.as_ref().unwrap_or(&snapshot.graph);
        let map = map_model(snapshot, spec, drawn, class);
        // The tree is drawn only in the tree modes; it lists every row,
        // focused or not, so its graph is the rows'.
        let tree = match (ui.map_mode, ui.focus) {
            (MapMode::Graph, _) => TreeIndex::default(),
            (_, Some(_)) => {
                let unfocused = map_graph(snapshot, spec, None, &rows, class);
                tree_index(snapshot, unfocused.as_ref().unwrap_or(&snapshot.graph), &rows)
            }
            (_, None) => tree_index(snapshot, drawn, &rows),
        };
        Self { rows, map, tree, node_marks, graph }
    }
}
