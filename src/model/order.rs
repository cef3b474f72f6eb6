//! Socket orders computed once per snapshot, beside the fact index: the
//! default list order (worst severity first) and each process's sockets.
//! A front end that shows every socket in the default order sorts nothing
//! and scans nothing on its own thread.

use std::collections::BTreeMap;

use super::index::FactIndex;
use super::keys::Pid;
use super::socket::Socket;
use crate::terms::Severity;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketOrder {
    /// Positions in `snapshot.sockets`, worst severity first and sockets
    /// without a finding last; ties in socket (key) order.
    pub by_severity: Vec<u32>,
    /// Each process's sockets (by the socket's owner: the first when
    /// several processes share it), in key order.
    pub by_owner: BTreeMap<Pid, Vec<u32>>,
    /// Sockets no visible process owns, in key order.
    pub unowned: Vec<u32>,
}

impl SocketOrder {
    /// O(sockets): a bucket per severity instead of a sort.
    pub fn build(sockets: &[Socket], index: &FactIndex) -> Self {
        let mut buckets: [Vec<u32>; Severity::ALL.len() + 1] = Default::default();
        let mut by_owner: BTreeMap<Pid, Vec<u32>> = BTreeMap::new();
        let mut unowned = Vec::new();
        for (i, s) in sockets.iter().enumerate() {
            let i = i as u32;
            // Bucket 0 holds the worst.
            let bucket = index.socket(i as usize).map_or(Severity::ALL.len(), |f| Severity::ALL.len() - 1 - f.severity as usize);
            buckets[bucket].push(i);
            match s.owner() {
                Some(p) => by_owner.entry(p).or_default().push(i),
                None => unowned.push(i),
            }
        }
        let by_severity = buckets.into_iter().flatten().collect();
        Self { by_severity, by_owner, unowned }
    }

    /// About how many heap bytes the orders hold.
    pub fn heap_bytes(&self) -> usize {
        (self.by_severity.capacity() + self.unowned.capacity() + self.by_owner.values().map(Vec::capacity).sum::<usize>()) * 4
            + self.by_owner.len() * (std::mem::size_of::<(Pid, Vec<u32>)>() + 16)
    }
}
