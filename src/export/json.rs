//! `snapshot --format json`: the whole refresh as one JSON document.

use std::collections::BTreeMap;

use serde::Serialize;

use super::node_rows::{EndpointRow, FindingDoc, ListenerRow};
use super::rows::{ProcessRow, SocketRow};
use crate::collect::SourceInfo;
use crate::model::{EndpointGroupNode, Health, NamespaceInfo, Severity, Snapshot, StageTimings};

/// Format marker and version of the JSON document.
pub const JSON_FORMAT: &str = "necromap-snapshot";
pub const JSON_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct SnapshotDocument<'a> {
    pub format: &'static str,
    pub version: u32,
    pub generation: u64,
    pub taken_at_ms: i64,
    pub source: &'a SourceInfo,
    pub summary: Summary,
    pub processes: Vec<ProcessRow<'a>>,
    pub sockets: Vec<SocketRow>,
    pub endpoints: Vec<EndpointRow<'a>>,
    pub listeners: Vec<ListenerRow<'a>>,
    pub endpoint_groups: &'a [EndpointGroupNode],
    pub findings: Vec<FindingDoc<'a>>,
    pub health: HealthSection<'a>,
    /// The network namespaces in use, each with its readable name and
    /// whether it was read.
    pub namespaces: &'a [NamespaceInfo],
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub sockets: usize,
    pub processes: usize,
    pub endpoints: usize,
    pub listeners: usize,
    pub by_state: BTreeMap<&'static str, u64>,
    pub findings_by_severity: BTreeMap<Severity, u64>,
    pub graph_nodes: usize,
    pub graph_edges: usize,
}

#[derive(Debug, Serialize)]
pub struct HealthSection<'a> {
    #[serde(flatten)]
    pub health: &'a Health,
    pub timings: &'a StageTimings,
    pub notes: &'a [String],
}

impl<'a> SnapshotDocument<'a> {
    pub fn new(s: &'a Snapshot) -> Self {
        let mut findings_by_severity = BTreeMap::new();
        for f in &s.findings {
            *findings_by_severity.entry(f.severity).or_insert(0) += 1;
        }
        Self {
            format: JSON_FORMAT,
            version: JSON_VERSION,
            generation: s.generation,
            taken_at_ms: s.taken_at_ms,
            source: &s.source,
            summary: Summary {
                sockets: s.sockets.len(),
                processes: s.processes.len(),
                endpoints: s.endpoints.len(),
                listeners: s.listeners.len(),
                by_state: s.state_counts(),
                findings_by_severity,
                graph_nodes: s.graph.node_count(),
                graph_edges: s.graph.edge_count(),
            },
            processes: s.processes.values().map(|p| ProcessRow::new(s, p)).collect(),
            sockets: s.sockets.iter().map(|x| SocketRow::new(s, x)).collect(),
            endpoints: s.endpoints.values().map(|e| EndpointRow::new(s, e)).collect(),
            listeners: s.listeners.values().map(|l| ListenerRow::new(s, l)).collect(),
            endpoint_groups: &s.graph.groups,
            findings: s.findings.iter().map(|f| FindingDoc::new(s, f)).collect(),
            health: HealthSection { health: &s.health, timings: &s.timings, notes: &s.graph.notes },
            namespaces: &s.namespaces,
        }
    }
}

/// Write the snapshot as JSON. Host strings cannot carry terminal escapes
/// or bidi tricks through: serde escapes C0, and DEL, C1 and the bidi
/// controls are written as `\uNNNN` as the JSON is streamed to `out`
/// ([`super::write_safe`]): no copy of the whole document is built.
pub fn write_json(s: &Snapshot, out: &mut dyn std::io::Write, pretty: bool) -> std::io::Result<()> {
    super::write_safe(&SnapshotDocument::new(s), out, pretty)?;
    out.write_all(b"\n")
}
