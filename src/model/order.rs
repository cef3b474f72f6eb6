//! The socket order computed once per snapshot, beside the fact index:
//! the default list order (worst severity first). A front end that shows
//! every socket in the default order sorts nothing and scans nothing on
//! its own thread. (Each process's sockets were kept here too, and no
//! front end read them: the explorer's tree groups the rows it shows,
//! which a filter narrows, and the rules index owners themselves.)

use super::index::FactIndex;
use crate::terms::Severity;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketOrder {
    /// Positions in `snapshot.sockets`, worst severity first and sockets
    /// without a finding last; ties in socket (key) order.
    pub by_severity: Vec<u32>,
}

impl SocketOrder {
    /// O(sockets), a counting sort: each severity's count first, then
    /// every position written once into a list of its final size.
    pub fn build(sockets: usize, index: &FactIndex) -> Self {
        const BUCKETS: usize = Severity::ALL.len() + 1;
        // Bucket 0 holds the worst; the last, sockets without a finding.
        let bucket = |i: usize| index.socket(i).map_or(BUCKETS - 1, |f| Severity::ALL.len() - 1 - f.severity as usize);
        let mut next = [0usize; BUCKETS];
        for i in 0..sockets {
            next[bucket(i)] += 1;
        }
        let mut start = 0;
        for n in &mut next {
            (*n, start) = (start, start + *n);
        }
        let mut by_severity = vec![0u32; sockets];
        for i in 0..sockets {
            let b = bucket(i);
            by_severity[next[b]] = i as u32;
            next[b] += 1;
        }
        Self { by_severity }
    }

    /// About how many heap bytes the order holds.
    pub fn heap_bytes(&self) -> usize {
        self.by_severity.capacity() * 4
    }
}
