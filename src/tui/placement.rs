//! Where map nodes sit, remembered across refreshes (issue 15).
//!
//! Each node (by its stable key: process, listener, endpoint, group label)
//! gets a ring and an angle the first time it appears and keeps both while
//! it exists. New nodes take the middle of the widest free arc of their
//! ring; the arc of a node that went away stays held for a few refreshes
//! (so a connection that comes back lands where it was), then is free.
//! Labels remember the cell they were put at too, so a label that once had
//! to step aside for a neighbour does not jump back when the neighbour
//! leaves.
//!
//! The memory is the explorer's (it lives in [`App`](super::App)), updated
//! when a snapshot arrives or the map model changes; drawing reads it and
//! never changes it.

use std::collections::BTreeSet;
use std::f64::consts::TAU;

use ratatui::layout::Rect;
use rustc_hash::FxHashMap;

use super::derived::MapEntry;
use super::state::MapNode;
use crate::model::{GroupZone, Zone};

/// Refreshes a gone node's place is held before it is forgotten.
pub const KEEP_REFRESHES: u64 = 10;
/// The most places remembered; the longest gone are dropped first.
pub const MAX_SLOTS: usize = 1024;

/// One node's place.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// Ring key (see [`entry_ring`]): 0 for processes, 1 for listeners,
    /// then the spec's zones.
    pub ring: usize,
    /// Radians.
    pub angle: f64,
    /// Order of first appearance: older nodes place their labels first.
    pub seq: u64,
    /// The refresh the node was last on the map.
    pub last_seen: u64,
    /// The label's cell (x, row) once drawn in [`MapMemory::label_area`],
    /// with the node's cell it was drawn for: it holds while the node does
    /// not move (a change of view can change the ring radii).
    pub label: Option<Label>,
}

/// Where a node's label was drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub node: (u16, u16),
    pub at: (u16, u16),
}

/// Places of map nodes, by key.
#[derive(Debug, Clone, Default)]
pub struct MapMemory {
    slots: FxHashMap<MapNode, Slot>,
    /// Refresh counter (one per snapshot).
    refresh: u64,
    next_seq: u64,
    /// The rings whose radii are drawn (see [`MapMemory::rings`]).
    ring_set: BTreeSet<usize>,
    /// The map area the remembered label cells belong to.
    pub label_area: Rect,
}

/// The ring of a node in zone `zone` (`None`: a listener): 0 for listeners,
/// 1.. for the spec's zones in order, after them for the rest.
pub fn ring_of(zone: Option<GroupZone>, rings: &[Zone]) -> usize {
    let z = match zone {
        None => return 0,
        Some(GroupZone::Loopback) => Zone::Loopback,
        Some(GroupZone::Private) => Zone::Private,
        Some(GroupZone::LinkLocal) => Zone::LinkLocal,
        Some(GroupZone::Public) => Zone::Public,
        Some(GroupZone::Mixed) => return rings.len() + 1,
    };
    rings.iter().position(|r| *r == z).map_or(rings.len() + 1, |i| i + 1)
}

/// The ring of a map entry: 0 for processes (and process groups), then
/// [`ring_of`] one further out.
pub fn entry_ring(e: &MapEntry, rings: &[Zone]) -> usize {
    match e.node {
        MapNode::Process(_) | MapNode::Processes(_) => 0,
        _ => 1 + ring_of(e.zone, rings),
    }
}

impl MapMemory {
    pub fn get(&self, node: &MapNode) -> Option<&Slot> {
        self.slots.get(node)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The rings drawn, inside out. Across refreshes a ring, once shown,
    /// stays (so radii change only when a zone appears for the first
    /// time); a change of view, filter or focus starts from the rings it
    /// shows.
    pub fn rings(&self) -> Vec<usize> {
        self.ring_set.iter().copied().collect()
    }

    /// Take in the map's nodes: known ones keep their place, new ones take
    /// free arcs, long-gone ones are forgotten. `new_refresh`: a new
    /// snapshot (gone nodes age only then).
    pub fn update(&mut self, entries: &[&MapEntry], rings: &[Zone], start: f64, new_refresh: bool) {
        if new_refresh {
            self.refresh += 1;
        }
        let now = self.refresh;
        let live: rustc_hash::FxHashSet<&MapNode> = entries.iter().map(|e| &e.node).collect();
        let mut fresh: Vec<(usize, MapNode)> = Vec::new();
        for e in entries {
            let ring = entry_ring(e, rings);
            match self.slots.get_mut(&e.node) {
                Some(s) if s.ring == ring => s.last_seen = now,
                _ => fresh.push((ring, e.node.clone())),
            }
        }
        // Forget the long gone, then cap the table.
        self.slots.retain(|_, s| now.saturating_sub(s.last_seen) <= KEEP_REFRESHES);
        if self.slots.len() + fresh.len() > MAX_SLOTS {
            let mut gone: Vec<(u64, u64, MapNode)> =
                self.slots.iter().filter(|(k, _)| !live.contains(k)).map(|(k, s)| (s.last_seen, s.seq, k.clone())).collect();
            gone.sort();
            let excess = (self.slots.len() + fresh.len()).saturating_sub(MAX_SLOTS);
            for (_, _, k) in gone.into_iter().take(excess) {
                self.slots.remove(&k);
            }
        }
        let by_ring: BTreeSet<usize> = fresh.iter().map(|(r, _)| *r).collect();
        for ring in by_ring {
            let new: Vec<MapNode> = fresh.iter().filter(|(r, _)| *r == ring).map(|(_, n)| n.clone()).collect();
            for n in &new {
                self.slots.remove(n);
            }
            let angles = self.free_angles(ring, new.len(), start, now);
            for (node, angle) in new.into_iter().zip(angles) {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.slots.insert(node, Slot { ring, angle, seq, last_seen: now, label: None });
            }
        }
        let shown = entries.iter().map(|e| entry_ring(e, rings));
        if new_refresh {
            // Rings are never dropped across refreshes (there are at most
            // the spec's zones plus two), so radii change only the first
            // time a zone shows up.
            self.ring_set.extend(shown);
        } else {
            self.ring_set = shown.collect();
        }
    }

    /// Angles for `m` new nodes on `ring`: evenly around an empty ring, else
    /// spread over the widest free arcs between the nodes already there.
    fn free_angles(&self, ring: usize, m: usize, start: f64, now: u64) -> Vec<f64> {
        let base = start + 0.37 * ring as f64;
        let mut held: Vec<&Slot> = self.slots.values().filter(|s| s.ring == ring).collect();
        // A gone node holds its arc only while the ring has room: at most as
        // many gone as live ones are counted, the most recently seen first.
        let live = held.iter().filter(|s| s.last_seen == now).count() + m;
        held.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.seq.cmp(&b.seq)));
        let mut gone_kept = 0;
        held.retain(|s| {
            if s.last_seen == now {
                return true;
            }
            gone_kept += 1;
            gone_kept <= live
        });
        let mut taken: Vec<f64> = held.iter().map(|s| (s.angle - base).rem_euclid(TAU)).collect();
        if taken.is_empty() {
            return (0..m).map(|i| base + TAU * i as f64 / m as f64).collect();
        }
        taken.sort_by(f64::total_cmp);
        // Arcs between neighbours (the last one wraps around).
        let arcs: Vec<(f64, f64)> =
            taken.iter().enumerate().map(|(i, &a)| (a, if i + 1 < taken.len() { taken[i + 1] - a } else { taken[0] + TAU - a })).collect();
        // Give each new node to the arc whose pieces are widest.
        let mut count = vec![0usize; arcs.len()];
        for _ in 0..m {
            let best = (0..arcs.len())
                .max_by(|&i, &j| (arcs[i].1 / (count[i] + 1) as f64).total_cmp(&(arcs[j].1 / (count[j] + 1) as f64)).then(j.cmp(&i)))
                .unwrap_or(0);
            count[best] += 1;
        }
        let mut out = Vec::with_capacity(m);
        for (i, &(from, len)) in arcs.iter().enumerate() {
            for k in 0..count[i] {
                out.push(base + from + len * (k + 1) as f64 / (count[i] + 1) as f64);
            }
        }
        out
    }

    /// Remember where labels were drawn in `area` (forgetting cells from
    /// another area first).
    pub fn remember_labels(&mut self, area: Rect, labels: impl IntoIterator<Item = (MapNode, Label)>) {
        if area != self.label_area {
            self.forget_labels();
            self.label_area = area;
        }
        for (node, label) in labels {
            if let Some(s) = self.slots.get_mut(&node) {
                s.label = Some(label);
            }
        }
    }

    /// Drop every remembered label cell (the map area changed).
    pub fn forget_labels(&mut self) {
        for s in self.slots.values_mut() {
            s.label = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EndpointKey, SocketState};

    fn entry(ip: &str) -> MapEntry {
        MapEntry {
            node: MapNode::Endpoint(EndpointKey::host(ip.parse().expect("ip"))),
            zone: Some(GroupZone::Public),
            label: ip.into(),
            members: 0,
            sockets: 1,
            state: SocketState::Established,
            mark: None,
        }
    }

    #[test]
    fn known_nodes_keep_their_angle_and_new_ones_take_free_arcs() {
        let rings = [Zone::Loopback, Zone::Private, Zone::LinkLocal, Zone::Public];
        let mut m = MapMemory::default();
        let a: Vec<MapEntry> = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"].iter().map(|i| entry(i)).collect();
        m.update(&a.iter().collect::<Vec<_>>(), &rings, 0.0, true);
        let before: Vec<f64> = a.iter().map(|e| m.get(&e.node).expect("slot").angle).collect();
        // 192.0.2.2 leaves, 192.0.2.9 arrives.
        let b: Vec<MapEntry> = ["192.0.2.1", "192.0.2.9", "192.0.2.3", "192.0.2.4"].iter().map(|i| entry(i)).collect();
        m.update(&b.iter().collect::<Vec<_>>(), &rings, 0.0, true);
        for i in [0, 2, 3] {
            assert_eq!(m.get(&a[i].node).expect("slot").angle.to_bits(), before[i].to_bits());
        }
        let new = m.get(&b[1].node).expect("slot").angle;
        assert!(before.iter().all(|a| (a - new).abs() > 0.3), "the newcomer does not sit on anyone: {new} vs {before:?}");
        // Gone nodes are forgotten after KEEP_REFRESHES.
        for _ in 0..=KEEP_REFRESHES {
            m.update(&b.iter().collect::<Vec<_>>(), &rings, 0.0, true);
        }
        assert!(m.get(&a[1].node).is_none());
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn the_table_is_capped() {
        let rings = [Zone::Public];
        let mut m = MapMemory::default();
        for round in 0..30u32 {
            let batch: Vec<MapEntry> = (0..100u32).map(|i| entry(&std::net::Ipv4Addr::from(0x0a00_0000 + round * 1000 + i).to_string())).collect();
            m.update(&batch.iter().collect::<Vec<_>>(), &rings, 0.0, true);
            assert!(m.len() <= MAX_SLOTS, "{}", m.len());
        }
    }
}
