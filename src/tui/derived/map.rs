//! The map model: nodes around the centre (processes, listeners,
//! endpoints and their groups) and the lines between them, read off the
//! map's graph.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::{MapEntry, MapLink, MapModel, Mark, mark_at};
use crate::model::graph_build::{Crowding, build_graph};
use crate::model::{EdgeKind, EndpointKey, GraphEdge, GroupZone, ListenerKey, NetGraph, NodeRef, Pid, Severity, Snapshot, SocketState, Zone};
use crate::spec::{SizeClass, Spec};
use crate::tui::state::MapNode;

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
/// Alert-only parties join it like the snapshot's when no process is
/// focused and no filter typed (`unfiltered`): they hold no socket a
/// filter could match.
pub fn map_graph(snapshot: &Snapshot, spec: &Spec, focus: Option<Pid>, rows: &[u32], class: SizeClass, unfiltered: bool) -> Option<NetGraph> {
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
    let mut graph = build_graph(&snapshot.sockets, Some(rows), &snapshot.endpoints, crowding);
    if focus.is_none() && unfiltered {
        graph.add_parties(&snapshot.parties, &snapshot.endpoints, crowding);
    }
    Some(graph)
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
                let name = crate::tui::naming::endpoint_name(snapshot, &k);
                let port = agg.ports.iter().next().copied().unwrap_or(0);
                let label = match (agg.ports.len(), name) {
                    // An alert-only party: no socket, so no port; what named it instead.
                    (0, name) => {
                        let source = snapshot.parties.iter().find(|p| p.endpoint == k).map_or("alert", crate::model::Party::source);
                        format!("{} ({source})", name.unwrap_or_else(|| k.ip.to_string()))
                    }
                    (1, Some(name)) => format!("{name}:{port}"),
                    (1, None) => std::net::SocketAddr::new(k.ip, port).to_string(),
                    (n, Some(name)) => format!("{name} ({n} ports)"),
                    (n, None) => format!("{} ({n} ports)", k.ip),
                };
                agg.mark = Mark::stronger(agg.mark, marks.get(&MapNode::Endpoint(k)).copied());
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
                    agg.mark = Mark::stronger(agg.mark, marks.get(&MapNode::Endpoint(m)).copied());
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
    model.mcp_servers = mcp_servers(snapshot);
    let (processes, groups, slot) = process_entries(snapshot, spec, graph, (max / 2).max(2), focus, marks, &model.mcp_servers);
    model.processes = processes;
    model.process_groups = groups;
    model.links = links(snapshot, spec, graph, &model, &slot, focus);
    model
}

/// The label of the group MCP servers fold into when the map is crowded.
pub const MCP_GROUP: &str = "MCP servers";

/// Processes marked as MCP servers (the `mcp_server` tag of the agents' evaluator).
fn mcp_servers(snapshot: &Snapshot) -> rustc_hash::FxHashSet<Pid> {
    snapshot
        .findings
        .iter()
        .filter(|f| f.tags.iter().any(|t| t == "mcp_server"))
        .filter_map(|f| if let crate::model::Subject::Process { pid } = f.subject { Some(pid) } else { None })
        .collect()
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
/// with its member count; MCP servers into one [`MCP_GROUP`] node), then the least interesting (no finding, fewest
/// sockets) fold into one `+N processes` node. The focused process is the
/// centre. Returns the entries, the groups' members and each pid's node.
fn process_entries(
    snapshot: &Snapshot,
    spec: &Spec,
    graph: &NetGraph,
    room: usize,
    focus: Option<Pid>,
    marks: &FxHashMap<MapNode, Mark>,
    mcp: &rustc_hash::FxHashSet<Pid>,
) -> ProcessSlots {
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
            let name = if mcp.contains(&p) {
                MCP_GROUP.to_string()
            } else {
                snapshot.process(p).map_or_else(|| "?".to_string(), |n| crate::text::escape_control(&n.facts.name))
            };
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
