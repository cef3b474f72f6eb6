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
    /// Made row by row as they are written (a 100k-socket snapshot's rows
    /// are never all held at once).
    pub sockets: SocketRows<'a>,
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
            sockets: SocketRows(s),
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
    let parallel = !pretty && s.sockets.len() >= PARALLEL_FROM && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if parallel {
        write_compact_split(&SnapshotDocument::new(s), out)?;
    } else {
        super::write_safe(&SnapshotDocument::new(s), out, pretty)?;
    }
    out.write_all(b"\n")
}

/// The socket rows of a snapshot, serialized as a sequence made as it is
/// written.
#[derive(Debug, Clone, Copy)]
pub struct SocketRows<'a>(pub &'a Snapshot);

impl Serialize for SocketRows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.sockets.iter().map(|x| SocketRow::new(self.0, x)))
    }
}

/// From this many sockets the compact document's socket rows are written
/// on two threads (a quarter of a one-shot's time at 10k sockets was the
/// JSON, most of it the rows).
const PARALLEL_FROM: usize = 4_096;

/// Socket rows `range` as compact JSON values separated by commas.
fn rows_json(s: &Snapshot, range: std::ops::Range<usize>) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(range.len() * 320);
    for (k, i) in range.enumerate() {
        if k > 0 {
            buf.push(b',');
        }
        super::socket_json::append_socket_row(&mut buf, s, i)?;
    }
    Ok(buf)
}

/// `{"key":value` for a document's first field, `,"key":value` for the others.
fn field<W: std::io::Write>(w: &mut W, key: &str, value: &impl Serialize, first: bool) -> std::io::Result<()> {
    w.write_all(if first { b"{" } else { b"," })?;
    super::safe_json::append_compact(key, w)?;
    w.write_all(b":")?;
    super::safe_json::append_compact(value, w)
}

/// The compact document, byte for byte what [`super::write_safe`] makes of
/// it, with the socket rows made and escaped in two halves on two threads:
/// the second half into memory, the first straight to `out` meanwhile
/// (the rest is small and written in field order as the derive would).
fn write_compact_split(doc: &SnapshotDocument<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use std::io::Write as _;
    let s = doc.sockets.0;
    let mid = s.sockets.len() / 2;
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, out);
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| rows_json(s, mid..s.sockets.len()));
        let first = write_head_and_rows(doc, &mut w, 0..mid);
        (first, second.join())
    });
    first?;
    let second = second.map_err(|_| std::io::Error::other("writing the socket rows stopped unexpectedly"))??;
    if mid > 0 && !second.is_empty() {
        w.write_all(b",")?;
    }
    w.write_all(&second)?;
    w.write_all(b"]")?;
    field(&mut w, "endpoints", &doc.endpoints, false)?;
    field(&mut w, "listeners", &doc.listeners, false)?;
    field(&mut w, "endpoint_groups", &doc.endpoint_groups, false)?;
    field(&mut w, "findings", &doc.findings, false)?;
    field(&mut w, "health", &doc.health, false)?;
    field(&mut w, "namespaces", &doc.namespaces, false)?;
    w.write_all(b"}")?;
    w.flush()
}

/// The document's fields before the socket rows (the derive's order: the
/// split test fails if they part), then rows `range`, one at a time.
fn write_head_and_rows<W: std::io::Write>(doc: &SnapshotDocument<'_>, w: &mut W, range: std::ops::Range<usize>) -> std::io::Result<()> {
    field(w, "format", &doc.format, true)?;
    field(w, "version", &doc.version, false)?;
    field(w, "generation", &doc.generation, false)?;
    field(w, "taken_at_ms", &doc.taken_at_ms, false)?;
    field(w, "source", &doc.source, false)?;
    field(w, "summary", &doc.summary, false)?;
    field(w, "processes", &doc.processes, false)?;
    w.write_all(b",\"sockets\":[")?;
    let mut row = Vec::with_capacity(1024);
    for (k, i) in range.enumerate() {
        row.clear();
        if k > 0 {
            row.push(b',');
        }
        super::socket_json::append_socket_row(&mut row, doc.sockets.0, i)?;
        w.write_all(&row)?;
    }
    Ok(())
}

#[cfg(test)]
mod split_tests {
    use super::*;

    /// The split writer writes what the one-thread writer writes, byte
    /// for byte (the demo host, every field, an odd and an even split).
    #[test]
    fn the_split_document_is_the_same_document() {
        let mut src = crate::collect::ReplaySource::from_text(crate::DEMO_SCENARIO, "demo").expect("demo");
        let mut s = src.build_through(std::sync::Arc::new(crate::spec::Spec::embedded()), None, None).0.expect("frames");
        for keep in [s.sockets.len(), s.sockets.len() - 1, 1, 0] {
            let mut flags = (0..s.sockets.len()).map(|i| i < keep);
            s.retain_sockets(&crate::spec::Spec::embedded(), |_| flags.next().unwrap_or(false));
            let mut one = Vec::new();
            crate::export::write_safe(&SnapshotDocument::new(&s), &mut one, false).expect("one thread");
            let mut two = Vec::new();
            write_compact_split(&SnapshotDocument::new(&s), &mut two).expect("two threads");
            assert_eq!(String::from_utf8(two).expect("utf-8"), String::from_utf8(one).expect("utf-8"), "{keep} sockets");
        }
    }
}
