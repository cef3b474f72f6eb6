//! The snapshot's [`NetGraph`] as the page draws it: nodes (processes,
//! listeners, endpoints, endpoint groups, this host) with their worst
//! severity, and edges folded as drawn (an edge to a grouped endpoint goes
//! to its group). Node ids and severities are the dot export's.
//!
//! At most [`MAX_PER_KIND`] nodes of each kind are sent, the most severe
//! first; the rest are counted in `left_out`, so the page stays light at
//! any size (grouping already folds most endpoints at 10k sockets).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::export::{node_facts, node_id};
use crate::mcp::dto::safe;
use crate::model::{EdgeKind, NetGraph, NodeRef, Severity, Snapshot};

/// Most nodes of one kind in the map.
pub const MAX_PER_KIND: usize = 150;
const LABEL_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Host,
    Process,
    Listener,
    Endpoint,
    Group,
}

#[derive(Debug, Serialize)]
pub struct MapNode {
    pub id: String,
    pub kind: NodeKind,
    pub label: String,
    /// A second line: the command line, the zone, the group's size.
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rule_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The worst socket on this node's edges, to explain it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_id: Option<String>,
    pub sockets: u64,
}

#[derive(Debug, Serialize)]
pub struct MapEdge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    pub sockets: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

#[derive(Debug, Serialize)]
pub struct MapDoc {
    pub generation: u64,
    pub taken_at_ms: i64,
    pub nodes: Vec<MapNode>,
    pub edges: Vec<MapEdge>,
    /// Nodes not sent, by kind.
    pub left_out: BTreeMap<NodeKind, usize>,
    pub summary: serde_json::Value,
    pub health: serde_json::Value,
}

fn kind_of(n: NodeRef) -> NodeKind {
    match n {
        NodeRef::Host => NodeKind::Host,
        NodeRef::Process(_) => NodeKind::Process,
        NodeRef::Listener(_) => NodeKind::Listener,
        NodeRef::Endpoint(_) => NodeKind::Endpoint,
        NodeRef::Group(_) => NodeKind::Group,
    }
}

fn text(s: &str) -> String {
    safe(s, LABEL_MAX)
}

fn label(s: &Snapshot, n: NodeRef) -> (String, String) {
    match n {
        NodeRef::Host => ("this host".into(), "sockets with no visible owner".into()),
        NodeRef::Process(pid) => match s.processes.get(&pid) {
            Some(p) => (format!("{} ({})", text(&p.facts.name), pid.0), text(&p.facts.cmdline)),
            None => (format!("pid {}", pid.0), String::new()),
        },
        NodeRef::Listener(key) => (format!(":{} {}", key.port, key.protocol), key.to_string()),
        NodeRef::Endpoint(key) => {
            let ep = s.endpoints.get(&key);
            let name = ep.and_then(|e| e.hostname.as_deref()).filter(|h| !h.is_empty()).map(text);
            let zone = ep.map(|e| e.zone.to_string()).unwrap_or_default();
            match name {
                Some(name) => (name, format!("{} {zone}", key.ip)),
                None => (key.ip.to_string(), zone),
            }
        }
        NodeRef::Group(i) => match s.graph.groups.get(i as usize) {
            Some(g) => (text(&g.label), format!("{} endpoints, {} connections", g.member_count, g.connection_count)),
            None => (format!("group {i}"), String::new()),
        },
    }
}

#[derive(Default)]
struct Seen {
    sockets: u64,
    worst: Option<(Option<Severity>, u32)>,
}

impl Seen {
    fn add(&mut self, count: u64, socket: Option<(Option<Severity>, u32)>) {
        self.sockets += count;
        if let Some(candidate) = socket
            && self.worst.is_none_or(|w| candidate.0 > w.0)
        {
            self.worst = Some(candidate);
        }
    }
}

/// The map of `s`.
pub fn map(s: &Snapshot) -> MapDoc {
    let graph: &NetGraph = &s.graph;
    let mut edges: HashMap<(NodeRef, NodeRef, EdgeKind), (u64, Option<Severity>)> = HashMap::new();
    let mut seen: HashMap<NodeRef, Seen> = HashMap::new();
    for (from, to, e) in graph.edges() {
        let (from, to) = (graph.drawn_as(from), graph.drawn_as(to));
        let worst = e.sockets.iter().map(|&i| (s.index.socket(i as usize).map(|f| f.severity), i)).max_by_key(|x| x.0);
        let count = e.connection.socket_count;
        let slot = edges.entry((from, to, e.kind)).or_default();
        slot.0 += count;
        slot.1 = slot.1.max(worst.and_then(|w| w.0));
        seen.entry(from).or_default().add(count, worst);
        seen.entry(to).or_default().add(count, worst);
    }
    // Slots without edges: alert-only parties and their group (no socket).
    for &slot in &graph.slots {
        seen.entry(slot).or_default();
    }
    let mut by_kind: BTreeMap<NodeKind, Vec<MapNode>> = BTreeMap::new();
    for (node, seen) in &seen {
        let facts = node_facts(s, *node);
        let (label, detail) = label(s, *node);
        by_kind.entry(kind_of(*node)).or_default().push(MapNode {
            id: node_id(*node),
            kind: kind_of(*node),
            label,
            detail,
            severity: facts.as_ref().map(|f| f.0),
            rule_ids: facts.map(|f| f.1.into_iter().map(str::to_string).collect()).unwrap_or_default(),
            pid: if let NodeRef::Process(p) = node { Some(p.0) } else { None },
            socket_id: seen.worst.and_then(|(_, i)| s.sockets.get(i as usize)).map(|x| x.key().to_string()),
            sockets: seen.sockets,
        });
    }
    let mut left_out = BTreeMap::new();
    let mut nodes = Vec::new();
    for (kind, mut list) in by_kind {
        // Most severe, then busiest, then by id: the same order every time.
        list.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.sockets.cmp(&a.sockets)).then_with(|| a.id.cmp(&b.id)));
        if list.len() > MAX_PER_KIND {
            left_out.insert(kind, list.len() - MAX_PER_KIND);
            list.truncate(MAX_PER_KIND);
        }
        nodes.extend(list);
    }
    let kept: std::collections::HashSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let mut edges: Vec<MapEdge> = edges
        .into_iter()
        .map(|((from, to, kind), (sockets, severity))| MapEdge { from: node_id(from), to: node_id(to), kind, sockets, severity })
        .filter(|e| kept.contains(e.from.as_str()) && kept.contains(e.to.as_str()))
        .collect();
    edges.sort_by(|a, b| (&a.from, &a.to, a.kind).cmp(&(&b.from, &b.to, b.kind)));
    MapDoc {
        generation: s.generation,
        taken_at_ms: s.taken_at_ms,
        nodes,
        edges,
        left_out,
        summary: super::diff::summary(s, s.taken_at_ms),
        health: super::diff::health_of(s),
    }
}
