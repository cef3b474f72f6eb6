//! `snapshot --format dot`: the snapshot's map (its [`NetGraph`]) as a
//! Graphviz digraph. Nodes are processes, listeners, remote endpoints and
//! endpoint groups; edges are the graph's folded connections and bindings.
//! Edge colour and line come from the spec's state styles; a node's
//! outline shows the worst finding about it (from the snapshot's fact
//! index) and its tooltip the rule ids.
//!
//! Every string from the host or the network is escaped for the terminal
//! rules ([`crate::text::escape_control`]), bounded, then escaped for a
//! DOT quoted string, so no name can end a string, add attributes or
//! reach a viewer as a control character.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use crate::model::{EdgeKind, EndpointKey, Facts, GraphEdge, ListenerKey, NetGraph, NodeRef, Protocol, Severity, Snapshot, SocketState};
use crate::spec::{Color, LineStyle, Spec};

/// Longest untrusted text (a name, a host name, a label) kept in a label.
const MAX_TEXT: usize = 64;

/// Untrusted text as the inside of a DOT quoted string: control and bidi
/// characters escaped, at most [`MAX_TEXT`] characters, then `\` and `"`
/// escaped (so Graphviz shows a backslash as itself, not as `\n`, `\N`…).
pub fn dot_text(s: &str) -> String {
    dot_quote(&crate::text::bounded(&crate::text::escape_control(s), MAX_TEXT))
}

/// `\` and `"` escaped for a DOT quoted string. Only for text that holds
/// no control character (ours, or already through [`dot_text`]).
fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Graphviz colour name for a spec colour (white is drawn black: the
/// default page is white).
fn color_name(c: Color) -> &'static str {
    match c {
        Color::Green => "green4",
        Color::Yellow => "gold3",
        Color::Red => "red",
        Color::Blue => "blue",
        Color::Cyan => "cyan4",
        Color::Magenta => "magenta3",
        Color::White => "black",
        Color::Gray => "gray50",
        Color::Orange => "darkorange",
    }
}

/// Graphviz `style` for a spec line. `none` (the explorer draws no line)
/// is dotted here: an invisible edge would hide its label too.
fn line_style(l: LineStyle) -> &'static str {
    match l {
        LineStyle::Solid => "solid",
        LineStyle::Dashed => "dashed",
        LineStyle::Dotted | LineStyle::None => "dotted",
    }
}

/// Outline colour and width of a node by its worst finding; none for info.
fn severity_outline(s: Severity) -> Option<(&'static str, f32)> {
    match s {
        Severity::Critical => Some(("red", 3.0)),
        Severity::High => Some(("darkorange", 2.5)),
        Severity::Medium => Some(("gold", 2.0)),
        Severity::Low => Some(("blue", 1.5)),
        Severity::Info => None,
    }
}

/// An address as id characters: `0.0.0.0` → `0_0_0_0`, `::1` → `__1`.
fn ip_id(ip: IpAddr) -> String {
    ip.to_string().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// A node id from its key: `p_1234`, `l_tcp_0_0_0_0_22`, `e_203_0_113_200`,
/// `g_0`; a namespace adds `_n<inode>`. Only `[a-z0-9_]`.
pub(crate) fn node_id(node: NodeRef) -> String {
    let ns = |n: Option<crate::model::NetNs>| n.map(|n| format!("_n{}", n.0)).unwrap_or_default();
    match node {
        NodeRef::Host => "host".to_string(),
        NodeRef::Process(pid) => format!("p_{}", pid.0),
        NodeRef::Listener(ListenerKey { protocol, address, port, netns }) => {
            let v6 = if address.is_ipv6() { "6" } else { "" };
            format!("l_{protocol}{v6}_{}_{port}{}", ip_id(address), ns(netns))
        }
        NodeRef::Endpoint(EndpointKey { ip, netns }) => format!("e_{}{}", ip_id(ip), ns(netns)),
        NodeRef::Group(i) => format!("g_{i}"),
    }
}

/// Worst of two optional fact sets, by severity.
fn worse<'a>(a: Option<(Severity, Vec<&'a str>)>, b: Option<&'a Facts>) -> Option<(Severity, Vec<&'a str>)> {
    match (a, b) {
        (a, None) => a,
        (None, Some(f)) => Some((f.severity, f.rule_ids.iter().map(String::as_str).collect())),
        (Some((s, mut ids)), Some(f)) => {
            ids.extend(f.rule_ids.iter().map(String::as_str));
            Some((s.max(f.severity), ids))
        }
    }
}

/// The worst severity and rule ids of what a node stands for: a process,
/// an endpoint, or every endpoint a group holds. Listeners have no facts
/// of their own in the index.
pub(crate) fn node_facts(snapshot: &Snapshot, node: NodeRef) -> Option<(Severity, Vec<&str>)> {
    let found = match node {
        NodeRef::Process(pid) => worse(None, snapshot.index.process(pid)),
        NodeRef::Endpoint(key) => worse(None, snapshot.index.endpoint(key)),
        NodeRef::Group(g) => snapshot.graph.members(g).iter().fold(None, |acc, k| worse(acc, snapshot.index.endpoint(*k))),
        NodeRef::Listener(_) | NodeRef::Host => None,
    };
    found.map(|(s, mut ids)| {
        ids.sort_unstable();
        ids.dedup();
        (s, ids)
    })
}

/// A node's label (already escaped for DOT) and shape.
fn node_label(snapshot: &Snapshot, node: NodeRef) -> (String, &'static str) {
    match node {
        NodeRef::Host => ("this host\\n(no visible owner)".to_string(), "box"),
        NodeRef::Process(pid) => {
            let name = snapshot.processes.get(&pid).map_or("?", |p| p.facts.name.as_str());
            (format!("{} ({})", dot_text(name), pid.0), "box")
        }
        NodeRef::Listener(key) => {
            // `:22 tcp` for every IPv4 address; IPv6 keeps its brackets.
            let addr = match key.address {
                IpAddr::V4(a) if a.is_unspecified() => String::new(),
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => format!("[{a}]"),
            };
            let ns = key.netns.map(|n| format!(" {n}")).unwrap_or_default();
            (format!("{addr}:{} {}{ns}", key.port, key.protocol), "cds")
        }
        NodeRef::Endpoint(key) => {
            let ep = snapshot.endpoints.get(&key);
            let label = if let Some(name) = ep.and_then(|e| e.hostname.as_deref()).filter(|h| !h.is_empty()) {
                dot_text(name)
            } else {
                let zone = ep.map(|e| format!(" ({})", e.zone)).unwrap_or_default();
                let ns = key.netns.map(|n| format!(" {n}")).unwrap_or_default();
                format!("{}{ns}{zone}", key.ip)
            };
            (label, "ellipse")
        }
        NodeRef::Group(i) => match snapshot.graph.groups.get(i as usize) {
            Some(g) => {
                let noun = if g.member_count == 1 { "member" } else { "members" };
                (format!("{}\\n{} {noun}", dot_text(&g.label), g.member_count), "folder")
            }
            None => (format!("group {i}"), "folder"),
        },
    }
}

/// A node's tooltip (escaped): what it is, then its findings.
fn node_tooltip(snapshot: &Snapshot, node: NodeRef, facts: Option<&(Severity, Vec<&str>)>) -> String {
    let what = match node {
        NodeRef::Host => "sockets no visible process owns".to_string(),
        NodeRef::Process(pid) => snapshot.processes.get(&pid).map(|p| dot_text(&p.facts.cmdline)).unwrap_or_default(),
        NodeRef::Listener(key) => key.to_string(),
        NodeRef::Endpoint(key) => key.to_string(),
        NodeRef::Group(i) => snapshot.graph.groups.get(i as usize).map(|g| format!("{:?} group", g.strategy).to_lowercase()).unwrap_or_default(),
    };
    match facts {
        Some((s, ids)) => {
            let ids: Vec<String> = ids.iter().map(|id| dot_text(id)).collect();
            format!("{what}\\n{s}: {}", ids.join(", "))
        }
        None => what,
    }
}

/// An edge's label: `proto state ×count :port`.
fn edge_label(e: &GraphEdge) -> String {
    let c = &e.connection;
    let port = match e.kind {
        EdgeKind::OutboundConnection => c.remote_port,
        EdgeKind::InboundConnection | EdgeKind::ListenerBinding => c.local_port,
    };
    let port = if port == 0 { String::new() } else { format!(" :{port}") };
    format!("{} {} ×{}{port}", c.protocol, c.state, c.socket_count)
}

fn edge_kind_name(k: EdgeKind) -> &'static str {
    match k {
        EdgeKind::OutboundConnection => "outbound_connection",
        EdgeKind::InboundConnection => "inbound_connection",
        EdgeKind::ListenerBinding => "listener_binding",
    }
}

/// Every drawn node of the graph (grouped endpoints are drawn as their
/// group) with a unique id, in key order.
fn node_ids(graph: &NetGraph) -> BTreeMap<NodeRef, String> {
    let mut nodes: Vec<NodeRef> = graph.graph.node_weights().copied().filter(|&n| graph.is_drawn(n)).collect();
    nodes.sort_unstable();
    let mut seen = HashSet::new();
    nodes
        .into_iter()
        .map(|n| {
            let base = node_id(n);
            let mut id = base.clone();
            let mut k = 2;
            while !seen.insert(id.clone()) {
                id = format!("{base}_{k}");
                k += 1;
            }
            (n, id)
        })
        .collect()
}

/// The edges as drawn: an edge to a grouped endpoint goes to its group,
/// and edges that then share (from, to, kind, protocol, state, port) are
/// summed.
fn drawn_edges(graph: &NetGraph) -> Vec<(NodeRef, NodeRef, GraphEdge)> {
    let mut out: Vec<(NodeRef, NodeRef, GraphEdge)> = Vec::new();
    let mut at: HashMap<(NodeRef, NodeRef, EdgeKind, Protocol, SocketState, u16), usize> = HashMap::new();
    for (from, to, e) in graph.edges() {
        let (from, to) = (graph.drawn_as(from), graph.drawn_as(to));
        let key = (from, to, e.kind, e.connection.protocol, e.connection.state, e.port());
        if let Some(&i) = at.get(&key) {
            let c = &mut out[i].2.connection;
            c.socket_count += e.connection.socket_count;
            c.bytes_sent += e.connection.bytes_sent;
            c.bytes_received += e.connection.bytes_received;
            c.duration_ms = c.duration_ms.max(e.connection.duration_ms);
        } else {
            at.insert(key, out.len());
            out.push((from, to, GraphEdge { kind: e.kind, connection: e.connection.clone(), sockets: Vec::new() }));
        }
    }
    out
}

/// Write the snapshot's map as a Graphviz digraph.
pub fn write_dot(snapshot: &Snapshot, spec: &Spec, out: &mut impl Write) -> io::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "// necromap snapshot, generation {}: render with `dot -Tsvg`", snapshot.generation);
    s.push_str("digraph necromap {\n");
    s.push_str("  graph [rankdir=LR, overlap=false, fontname=\"Helvetica\"];\n");
    s.push_str("  node [fontname=\"Helvetica\", fontsize=10, style=\"rounded\"];\n");
    s.push_str("  edge [fontname=\"Helvetica\", fontsize=8];\n");
    let ids = node_ids(&snapshot.graph);
    for (&node, id) in &ids {
        let facts = node_facts(snapshot, node);
        let (label, shape) = node_label(snapshot, node);
        let tooltip = node_tooltip(snapshot, node, facts.as_ref());
        let _ = write!(s, "  \"{id}\" [label=\"{label}\", shape={shape}, tooltip=\"{tooltip}\"");
        if let Some((sev, _)) = &facts {
            let _ = write!(s, ", severity=\"{sev}\"");
            if let Some((color, width)) = severity_outline(*sev) {
                let _ = write!(s, ", color=\"{color}\", penwidth={width}");
            }
        }
        s.push_str("];\n");
    }
    for (from, to, edge) in drawn_edges(&snapshot.graph) {
        let (Some(from_id), Some(to_id)) = (ids.get(&from), ids.get(&to)) else { continue };
        let (color, style) = match spec.states.get(&edge.connection.state) {
            Some(st) => (color_name(st.style.color), line_style(st.style.line)),
            None => ("black", "solid"),
        };
        let c = &edge.connection;
        let tooltip = format!("{}: {} sockets, {} B sent, {} B received", edge_kind_name(edge.kind), c.socket_count, c.bytes_sent, c.bytes_received);
        let _ = writeln!(
            s,
            "  \"{from_id}\" -> \"{to_id}\" [label=\"{}\", color=\"{color}\", fontcolor=\"{color}\", style={style}, tooltip=\"{}\"];",
            dot_quote(&edge_label(&edge)),
            dot_quote(&tooltip)
        );
    }
    s.push_str("}\n");
    out.write_all(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_one_quoted_string() {
        let t = dot_text("a\"b\\c\nd\u{202e}e\u{009b}f");
        assert_eq!(t, "a\\\"b\\\\c\\\\x0ad\\\\u{202e}e\\\\x9bf");
        assert!(!t.chars().any(crate::text::is_unsafe));
        // No unescaped quote: every `"` follows an odd run of backslashes.
        let b = t.as_bytes();
        for (i, _) in t.match_indices('"') {
            let run = b[..i].iter().rev().take_while(|&&c| c == b'\\').count();
            assert!(run % 2 == 1, "{t}");
        }
    }

    #[test]
    fn long_text_is_bounded() {
        assert_eq!(dot_text(&"x".repeat(500)).chars().count(), MAX_TEXT);
    }

    #[test]
    fn ids_are_safe_and_keyed() {
        let l = ListenerKey { protocol: crate::model::Protocol::Tcp, address: "0.0.0.0".parse().expect("ip"), port: 22, netns: None };
        assert_eq!(node_id(NodeRef::Listener(l)), "l_tcp_0_0_0_0_22");
        assert_eq!(node_id(NodeRef::Process(crate::model::Pid(1234))), "p_1234");
        let e = EndpointKey { ip: "::1".parse().expect("ip"), netns: Some(crate::model::NetNs(7)) };
        assert_eq!(node_id(NodeRef::Endpoint(e)), "e___1_n7");
    }
}
