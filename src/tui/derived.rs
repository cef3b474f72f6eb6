//! What the views need, computed once per change (new snapshot, filter,
//! view, sort, focus, size class) instead of once per frame: the filtered
//! and sorted row order, the map model, the tree index (in the tree
//! modes). Socket marks are read from the snapshot's fact index.

use std::collections::BTreeMap;
use std::sync::Arc;

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

/// A line between two drawn nodes: every graph edge between what they
/// stand for, folded (a process to an endpoint, a process to its listener,
/// an endpoint to the listener that accepted it; `Host` is the centre).
#[derive(Debug, Clone, PartialEq)]
pub struct MapLink {
    pub from: MapNode,
    pub to: MapNode,
    pub sockets: u64,
    pub state: SocketState,
    pub mark: Option<Mark>,
}

/// The map's nodes around the centre.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapModel {
    /// Processes on the inner ring: one node each, or grouped when crowded.
    pub processes: Vec<MapEntry>,
    /// The members of each process group node, by its label.
    pub process_groups: Vec<(String, Vec<Pid>)>,
    pub listeners: Vec<MapEntry>,
    pub endpoints: Vec<MapEntry>,
    /// Lines between nodes.
    pub links: Vec<MapLink>,
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

/// Cheap to clone (each part is shared): the explorer hands a copy to the
/// thread that derives the next one (see `deriving`) while it keeps
/// drawing this one.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// Indices of the sockets shown, in list order.
    pub rows: Arc<Vec<u32>>,
    pub map: Arc<MapModel>,
    pub tree: Arc<TreeIndex>,
    /// Marks per map node, for glows.
    pub node_marks: Arc<FxHashMap<MapNode, Mark>>,
    /// The map's graph when it is not the snapshot's own (see [`map_graph`]).
    pub graph: Option<Arc<NetGraph>>,
    /// Rates per process, summed once per snapshot.
    pub rates: ProcessRates,
    /// What the rows and the map were computed for, so a change that
    /// leaves them as they were (a sort leaves the map, a focus or the
    /// tree leaves the rows) reuses them.
    made_for: Option<(RowsFor, MapFor)>,
}

/// What the rows depend on besides the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowsFor {
    view: usize,
    filter: String,
    sort: Sort,
}

/// What the map depends on besides the snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MapFor {
    view: usize,
    filter: String,
    focus: Option<Pid>,
    class: SizeClass,
}

/// A process's traffic: bytes per second sent and received over its
/// sockets whose rates are known (TCP sockets seen twice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    pub up: u64,
    pub down: u64,
}

/// Rates per process.
pub type ProcessRates = Arc<FxHashMap<Pid, Rates>>;

/// Sum the sockets' rates per owner, in one pass over the sockets (a
/// socket several processes share counts for each). A process with no
/// socket of known rate is absent.
pub fn process_rates(snapshot: &Snapshot) -> ProcessRates {
    let mut out: FxHashMap<Pid, Rates> = FxHashMap::default();
    for s in &snapshot.sockets {
        if s.send_rate.is_none() && s.recv_rate.is_none() {
            continue;
        }
        for &p in &s.raw.owners {
            let r = out.entry(p).or_default();
            r.up += s.send_rate.unwrap_or(0);
            r.down += s.recv_rate.unwrap_or(0);
        }
    }
    Arc::new(out)
}

impl Derived {
    /// The members of the process group labelled `label`.
    pub fn process_group(&self, label: &str) -> Option<&[Pid]> {
        self.map.process_groups.iter().find(|(l, _)| l == label).map(|(_, m)| m.as_slice())
    }

    /// The rates of process `p` (`None`: no socket of known rate).
    pub fn rates_of(&self, p: Pid) -> Option<Rates> {
        self.rates.get(&p).copied()
    }

    /// The graph the map draws.
    pub fn map_graph<'a>(&'a self, snapshot: &'a Snapshot) -> &'a NetGraph {
        self.graph.as_deref().unwrap_or(&snapshot.graph)
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

/// The container (or unit) label of a socket's owner.
pub fn container_of(snapshot: &Snapshot, s: &Socket) -> Option<String> {
    s.owner().and_then(|p| snapshot.process(p)).and_then(|p| p.facts.workload.label())
}

/// A row's sort key: plain integers, so sorting 100k rows is a sort of
/// tuples (a name becomes its rank among the names of the rows).
type SortKey = (u8, u128, u64);

/// Ranks of strings in their order.
fn ranks<K: std::hash::Hash + Eq + Copy>(named: impl IntoIterator<Item = (K, String)>) -> FxHashMap<K, u128> {
    let mut all: Vec<(String, K)> = named.into_iter().map(|(k, n)| (n, k)).collect();
    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = FxHashMap::default();
    let mut rank = 0u128;
    for (i, (name, k)) in all.iter().enumerate() {
        if i > 0 && all[i - 1].0 != *name {
            rank += 1;
        }
        out.insert(*k, rank);
    }
    out
}

/// `(unknown, key)` of each row for `column`: unknown ages, rates and
/// containers sort last whichever way.
fn sort_keys(snapshot: &Snapshot, rates: &FxHashMap<Pid, Rates>, rows: &[u32], column: Column) -> Vec<(bool, SortKey)> {
    let socket = |i: u32| &snapshot.sockets[i as usize];
    let owners = || {
        let mut pids: Vec<Option<Pid>> = rows.iter().map(|&i| socket(i).owner()).collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let pid_key = |p: Option<Pid>| p.map_or(0, |p| u64::from(p.0) + 1);
    let addr = |a: std::net::SocketAddr| match a {
        std::net::SocketAddr::V4(v) => (0, u128::from(u32::from(*v.ip())), u64::from(v.port())),
        std::net::SocketAddr::V6(v) => (1, u128::from(*v.ip()), u64::from(v.port())),
    };
    match column {
        Column::Process => {
            let rank = ranks(owners().into_iter().map(|p| (p, p.and_then(|p| snapshot.process(p)).map_or(String::new(), |n| n.facts.name.clone()))));
            rows.iter().map(|&i| (false, (0, rank.get(&socket(i).owner()).copied().unwrap_or(0), pid_key(socket(i).owner())))).collect()
        }
        Column::Container => {
            let labels: FxHashMap<Option<Pid>, Option<String>> =
                owners().into_iter().map(|p| (p, p.and_then(|p| snapshot.process(p)).and_then(|n| n.facts.workload.label()))).collect();
            let rank = ranks(labels.iter().filter_map(|(p, l)| l.clone().map(|l| (*p, l))));
            rows.iter()
                .map(|&i| {
                    let o = socket(i).owner();
                    (labels.get(&o).is_none_or(Option::is_none), (0, rank.get(&o).copied().unwrap_or(0), 0))
                })
                .collect()
        }
        Column::State => {
            let mut states: Vec<SocketState> = rows.iter().map(|&i| socket(i).state()).collect();
            states.sort_unstable();
            states.dedup();
            let rank = ranks(states.into_iter().map(|st| (st, st.name().to_string())));
            rows.iter().map(|&i| (false, (0, rank.get(&socket(i).state()).copied().unwrap_or(0), 0))).collect()
        }
        _ => rows
            .iter()
            .map(|&i| {
                let x = socket(i);
                let owner = x.owner().and_then(|p| rates.get(&p));
                let opt = |v: Option<u64>| (v.is_none(), (0, u128::from(v.unwrap_or(0)), 0));
                match column {
                    Column::Proto => (false, (0, u128::from(x.key().protocol == crate::model::Protocol::Udp), 0)),
                    Column::Local => (false, addr(x.raw.local)),
                    Column::Remote => (false, addr(x.raw.remote)),
                    Column::Age => opt(x.age.map(|a| a.ms.max(0) as u64)),
                    Column::Up => opt(x.send_rate),
                    Column::Down => opt(x.recv_rate),
                    // Then by owner, so a process's sockets stay together.
                    Column::ProcUp => (owner.is_none(), (0, u128::from(owner.map_or(0, |r| r.up)), pid_key(x.owner()))),
                    Column::ProcDown => (owner.is_none(), (0, u128::from(owner.map_or(0, |r| r.down)), pid_key(x.owner()))),
                    _ => (false, (0, severity_at(snapshot, i).map_or(0, |s| s as u128 + 1), 0)),
                }
            })
            .collect(),
    }
}

/// The rows to show, in order.
pub(crate) fn rows(snapshot: &Snapshot, spec: &Spec, ui: &UiState, rates: &FxHashMap<Pid, Rates>) -> Vec<u32> {
    let view = spec.views.get_index(ui.view).map(|(_, v)| &v.filter);
    // Every socket in the default order: the snapshot has it already.
    let everything = ui.filter.is_empty() && view.is_none_or(|v| *v == crate::spec::ViewFilter::default());
    if everything && ui.sort == Sort::WORST_FIRST && snapshot.order.by_severity.len() == snapshot.sockets.len() {
        return snapshot.order.by_severity.clone();
    }
    let rows: Vec<u32> = snapshot
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
    let keys = sort_keys(snapshot, rates, &rows, column);
    let mut keyed: Vec<(bool, SortKey, u32)> = keys.into_iter().zip(rows).map(|((unknown, k), i)| (unknown, k, i)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(if descending { b.1.cmp(&a.1) } else { a.1.cmp(&b.1) }).then(a.2.cmp(&b.2)));
    keyed.into_iter().map(|k| k.2).collect()
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
/// map's graph: processes (grouped when crowded, see [`process_entries`]),
/// listeners with their bindings, then the graph's endpoint slots (single
/// endpoints and groups) with their connections, and the lines between
/// them (see [`links`]).
pub(crate) fn map_model(
    snapshot: &Snapshot,
    spec: &Spec,
    graph: &NetGraph,
    class: SizeClass,
    focus: Option<Pid>,
    marks: &FxHashMap<MapNode, Mark>,
) -> MapModel {
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
    let (processes, groups, slot) = process_entries(snapshot, spec, graph, (max / 2).max(2), focus, marks);
    model.processes = processes;
    model.process_groups = groups;
    model.links = links(snapshot, spec, graph, &model, &slot, focus);
    model
}

/// The process ring: its entries, each group's members, and the node
/// each pid is drawn in.
type ProcessSlots = (Vec<MapEntry>, Vec<(String, Vec<Pid>)>, FxHashMap<Pid, MapNode>);

/// A process's node label: `name (pid)`.
fn process_name(snapshot: &Snapshot, p: Pid) -> String {
    format!("{} ({p})", crate::text::escape_control(snapshot.process(p).map_or("?", |n| n.facts.name.as_str())))
}

/// Where each process of the graph is drawn: on its own while the inner
/// ring has `room`; when crowded, the spec's way for endpoints applied to
/// processes: first processes of one name fold into one node (`nginx`,
/// with its member count), then the least interesting (no finding, fewest
/// sockets) fold into one `+N processes` node. The focused process is the
/// centre. Returns the entries, the groups' members and each pid's node.
fn process_entries(snapshot: &Snapshot, spec: &Spec, graph: &NetGraph, room: usize, focus: Option<Pid>, marks: &FxHashMap<MapNode, Mark>) -> ProcessSlots {
    let mut pids: Vec<Pid> = graph.graph.node_weights().filter_map(|n| if let NodeRef::Process(p) = n { Some(*p) } else { None }).collect();
    pids.retain(|p| Some(*p) != focus);
    pids.sort_unstable();
    let mut aggs: FxHashMap<Pid, Agg> = FxHashMap::default();
    for &p in &pids {
        let mut agg = Agg::default();
        for (_, e) in graph.edges_from(NodeRef::Process(p)) {
            agg.add(e, snapshot);
        }
        agg.mark = Mark::stronger(agg.mark, marks.get(&MapNode::Process(p)).copied());
        aggs.insert(p, agg);
    }
    // Slots: (label, members), in pid order of their first member.
    let mut slots: Vec<(Option<String>, Vec<Pid>)> = pids.iter().map(|&p| (None, vec![p])).collect();
    if slots.len() > room {
        let mut by_name: BTreeMap<String, Vec<Pid>> = BTreeMap::new();
        for &p in &pids {
            let name = snapshot.process(p).map_or_else(|| "?".to_string(), |n| crate::text::escape_control(&n.facts.name));
            by_name.entry(name).or_default().push(p);
        }
        slots = by_name.into_iter().map(|(name, members)| if members.len() > 1 { (Some(name), members) } else { (None, members) }).collect();
        slots.sort_by_key(|s| s.1[0]);
    }
    if slots.len() > room {
        // Keep the most interesting room - 1 on their own.
        let weight = |members: &[Pid]| {
            let sev = members.iter().filter_map(|p| aggs.get(p).and_then(|a| a.mark)).map(|m| m.severity).max();
            let sockets: u64 = members.iter().filter_map(|p| aggs.get(p)).map(|a| a.sockets).sum();
            (sev, sockets)
        };
        let mut order: Vec<usize> = (0..slots.len()).collect();
        order.sort_by(|&a, &b| weight(&slots[b].1).cmp(&weight(&slots[a].1)).then(slots[a].1[0].cmp(&slots[b].1[0])));
        let keep: rustc_hash::FxHashSet<usize> = order.into_iter().take(room.saturating_sub(1)).collect();
        let mut rest: Vec<Pid> = Vec::new();
        let mut kept = Vec::new();
        for (i, s) in slots.into_iter().enumerate() {
            if keep.contains(&i) {
                kept.push(s);
            } else {
                rest.extend(s.1);
            }
        }
        rest.sort_unstable();
        kept.push((Some(format!("+{} processes", rest.len())), rest));
        slots = kept;
    }
    let mut entries = Vec::with_capacity(slots.len());
    let mut groups = Vec::new();
    let mut slot_of: FxHashMap<Pid, MapNode> = FxHashMap::default();
    for (label, members) in slots {
        let mut agg = Agg::default();
        for p in &members {
            if let Some(a) = aggs.get(p) {
                agg.sockets += a.sockets;
                for (s, n) in &a.states {
                    *agg.states.entry(*s).or_insert(0) += n;
                }
                agg.mark = Mark::stronger(agg.mark, a.mark);
            }
        }
        let (node, label, count) = match label {
            Some(l) => (MapNode::Processes(l.clone()), l, members.len()),
            None => (MapNode::Process(members[0]), process_name(snapshot, members[0]), 0),
        };
        for &p in &members {
            slot_of.insert(p, node.clone());
        }
        if count > 0 {
            groups.push((label.clone(), members));
        }
        entries.push(MapEntry { node, zone: None, label, members: count, sockets: agg.sockets, state: agg.state(spec), mark: agg.mark });
    }
    (entries, groups, slot_of)
}

/// The lines between drawn nodes: each graph edge goes from where its
/// source is drawn to where its target is (a grouped endpoint or process
/// in its group's node, the focused process and the host at the centre),
/// folded per pair. Edges to a listener left off the map are not drawn.
fn links(snapshot: &Snapshot, spec: &Spec, graph: &NetGraph, model: &MapModel, procs: &FxHashMap<Pid, MapNode>, focus: Option<Pid>) -> Vec<MapLink> {
    let listeners: rustc_hash::FxHashSet<ListenerKey> =
        model.listeners.iter().filter_map(|e| if let MapNode::Listener(l) = e.node { Some(l) } else { None }).collect();
    let drawn = |n: NodeRef| -> Option<MapNode> {
        match n {
            NodeRef::Host => Some(MapNode::Host),
            NodeRef::Process(p) if Some(p) == focus => Some(MapNode::Host),
            NodeRef::Process(p) => procs.get(&p).cloned(),
            NodeRef::Listener(l) => listeners.contains(&l).then_some(MapNode::Listener(l)),
            NodeRef::Endpoint(e) => match graph.slot_of(e) {
                NodeRef::Group(g) => graph.groups.get(g as usize).map(|x| MapNode::Group(x.label.clone())),
                _ => Some(MapNode::Endpoint(e)),
            },
            NodeRef::Group(g) => graph.groups.get(g as usize).map(|x| MapNode::Group(x.label.clone())),
        }
    };
    // Drawn nodes are interned, so folding is by a pair of integers.
    let mut table: Vec<MapNode> = Vec::new();
    let mut ids: FxHashMap<MapNode, u32> = FxHashMap::default();
    let mut cache: FxHashMap<NodeRef, Option<u32>> = FxHashMap::default();
    let mut by_pair: FxHashMap<(u32, u32), Agg> = FxHashMap::default();
    let mut id_of = |n: NodeRef| -> Option<u32> {
        *cache.entry(n).or_insert_with(|| {
            let d = drawn(n)?;
            Some(*ids.entry(d.clone()).or_insert_with(|| {
                table.push(d);
                table.len() as u32 - 1
            }))
        })
    };
    for e in graph.graph.edge_indices() {
        let Some((a, b)) = graph.graph.edge_endpoints(e) else { continue };
        let (Some(a), Some(b)) = (id_of(graph.graph[a]), id_of(graph.graph[b])) else { continue };
        if a != b {
            by_pair.entry((a, b)).or_default().add(&graph.graph[e], snapshot);
        }
    }
    let mut out: Vec<MapLink> = by_pair
        .into_iter()
        .map(|((a, b), agg)| MapLink {
            from: table[a as usize].clone(),
            to: table[b as usize].clone(),
            sockets: agg.sockets,
            state: agg.state(spec),
            mark: agg.mark,
        })
        .collect();
    out.sort_by(|x, y| (&x.from, &x.to).cmp(&(&y.from, &y.to)));
    out
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
    /// `rates`: the snapshot's [`process_rates`] (summed once per snapshot).
    pub fn compute(snapshot: &Snapshot, spec: &Spec, ui: &UiState, class: SizeClass, rates: ProcessRates) -> Self {
        Self::compute_from(snapshot, spec, ui, class, rates, None)
    }

    /// The same, reusing what `previous` (computed over the same snapshot)
    /// has that this change leaves as it was: the rows when only the focus
    /// or the map mode changed, the map when only the sort did.
    pub fn compute_from(snapshot: &Snapshot, spec: &Spec, ui: &UiState, class: SizeClass, rates: ProcessRates, previous: Option<Self>) -> Self {
        let rows_for = RowsFor { view: ui.view, filter: ui.filter_text.clone(), sort: ui.sort };
        let map_for = MapFor { view: ui.view, filter: ui.filter_text.clone(), focus: ui.focus, class };
        let (old_rows, old_map) = match previous {
            Some(p) => match p.made_for {
                Some((r, m)) => ((r == rows_for).then_some(p.rows), (m == map_for).then_some((p.map, p.graph, p.node_marks))),
                None => (None, None),
            },
            None => (None, None),
        };
        let rows = old_rows.unwrap_or_else(|| Arc::new(rows(snapshot, spec, ui, &rates)));
        let (map, graph, node_marks) = old_map.unwrap_or_else(|| {
            let node_marks = node_marks(snapshot);
            let graph = map_graph(snapshot, spec, ui.focus, &rows, class).map(Arc::new);
            let map = map_model(snapshot, spec, graph.as_deref().unwrap_or(&snapshot.graph), class, ui.focus, &node_marks);
            (Arc::new(map), graph, Arc::new(node_marks))
        });
        let drawn = graph.as_deref().unwrap_or(&snapshot.graph);
        // The tree is drawn only in the tree modes; it lists every row,
        // focused or not, so its graph is the rows'.
        let tree = Arc::new(match (ui.map_mode, ui.focus) {
            (MapMode::Graph, _) => TreeIndex::default(),
            (_, Some(_)) => {
                let unfocused = map_graph(snapshot, spec, None, &rows, class);
                tree_index(snapshot, unfocused.as_ref().unwrap_or(&snapshot.graph), &rows)
            }
            (_, None) => tree_index(snapshot, drawn, &rows),
        });
        Self { rows, map, tree, node_marks, graph, rates, made_for: Some((rows_for, map_for)) }
    }
}
