//! What the views need, computed once per change (new snapshot, filter,
//! view, sort, focus, size class) instead of once per frame: the filtered
//! and sorted row order, the map model, the tree index (in the tree
//! modes). Socket marks are read from the snapshot's fact index.
//!
//! Here: the derived parts, marks and per-process rates, and
//! [`Derived::compute_from`]; the rows in `rows`, the map model in `map`,
//! the tree in `tree`.

mod map;
mod rows;
mod tree;

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::state::{MapMode, MapNode, Sort, UiState};
use crate::model::{EndpointKey, GroupZone, Highlight, NetGraph, Pid, Severity, Snapshot, Socket, SocketState, Subject};
use crate::spec::{IconHint, SizeClass, Spec};

pub(crate) use map::map_model;
pub use map::{MCP_GROUP, map_graph};
pub(crate) use rows::rows;
pub use tree::tree_index;

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
    /// Processes known as MCP servers (marked `mcp_server` by the agents'
    /// evaluator): their own icon, and their own group when crowded.
    pub mcp_servers: rustc_hash::FxHashSet<Pid>,
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
        if s.send_rate().is_none() && s.recv_rate().is_none() {
            continue;
        }
        for &p in &s.raw.owners {
            let r = out.entry(p).or_default();
            r.up += s.send_rate().unwrap_or(0);
            r.down += s.recv_rate().unwrap_or(0);
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

/// Marks of process and endpoint nodes from the findings about them (an
/// alert-only party's only mark: it has no socket), for glows.
fn node_marks(snapshot: &Snapshot) -> FxHashMap<MapNode, Mark> {
    let mut nodes: FxHashMap<MapNode, Mark> = FxHashMap::default();
    for f in &snapshot.findings {
        match f.subject {
            Subject::Process { pid } => put(&mut nodes, MapNode::Process(pid), mark_of(f)),
            Subject::Endpoint { endpoint } => put(&mut nodes, MapNode::Endpoint(endpoint), mark_of(f)),
            Subject::Socket { .. } | Subject::Host => {}
        }
    }
    nodes
}

/// The container (or unit) label of a socket's owner.
pub fn container_of(snapshot: &Snapshot, s: &Socket) -> Option<String> {
    s.owner().and_then(|p| snapshot.process(p)).and_then(|p| p.facts.workload.label())
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
            let graph = map_graph(snapshot, spec, ui.focus, &rows, class, ui.filter_text.is_empty()).map(Arc::new);
            let map = map_model(snapshot, spec, graph.as_deref().unwrap_or(&snapshot.graph), class, ui.focus, &node_marks);
            (Arc::new(map), graph, Arc::new(node_marks))
        });
        let drawn = graph.as_deref().unwrap_or(&snapshot.graph);
        // The tree is drawn only in the tree modes; it lists every row,
        // focused or not, so its graph is the rows'.
        let tree = Arc::new(match (ui.map_mode, ui.focus) {
            (MapMode::Graph, _) => TreeIndex::default(),
            (_, Some(_)) => {
                let unfocused = map_graph(snapshot, spec, None, &rows, class, ui.filter_text.is_empty());
                tree_index(snapshot, unfocused.as_ref().unwrap_or(&snapshot.graph), &rows)
            }
            (_, None) => tree_index(snapshot, drawn, &rows),
        });
        Self { rows, map, tree, node_marks, graph, rates, made_for: Some((rows_for, map_for)) }
    }
}
