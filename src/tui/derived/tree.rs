//! The tree index over the rows, for the tree modes.

use super::{HOST_LABEL, TreeIndex};
use crate::model::{NetGraph, NodeRef, Snapshot};

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
