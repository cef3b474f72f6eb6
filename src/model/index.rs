//! The fact index: for every socket, process and endpoint, what the
//! snapshot's findings say about it (worst severity, the worst finding,
//! rule ids, tags). Built once per snapshot, after the rules, in
//! O(sockets + findings + matches), so views, exporters and tools look
//! facts up instead of scanning every finding for every row.
//!
//! - a socket's findings: about the socket, any of its owners, or its
//!   remote endpoint ([`super::view::finding_about_socket`]);
//! - a process's: about the process, or a socket whose `pid` is it;
//! - an endpoint's: about the endpoint, or a socket whose remote address
//!   is it.
//!
//! Many sockets share one set of findings (every socket of a flagged
//! process), so sets are stored once and rows point at them.

use rustc_hash::FxHashMap;

use super::finding::{Finding, Subject};
use super::keys::{EndpointKey, Pid, SocketKey};
use super::socket::Socket;
use crate::slots::Slots;
use crate::terms::Severity;

/// What the findings say about one socket, process or endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The highest severity among them.
    pub severity: Severity,
    /// Index into `snapshot.findings` of the worst: the first of the
    /// highest severity in the snapshot's order (severity, then id).
    pub worst: usize,
    /// Indices into `snapshot.findings`, ascending.
    pub findings: Vec<u32>,
    /// Their rule ids, sorted, without duplicates.
    pub rule_ids: Vec<String>,
    /// Their tags, sorted, without duplicates.
    pub tags: Vec<String>,
}

impl Facts {
    fn new(all: &[Finding], findings: Vec<u32>) -> Option<Self> {
        let (worst, top) = findings.iter().map(|&i| (i as usize, &all[i as usize])).fold(None, |best: Option<(usize, &Finding)>, (i, f)| match best {
            Some((_, b)) if b.severity >= f.severity => best,
            _ => Some((i, f)),
        })?;
        let mut rule_ids: Vec<String> = findings.iter().map(|&i| all[i as usize].rule_id.clone()).collect();
        rule_ids.sort_unstable();
        rule_ids.dedup();
        let mut tags: Vec<String> = findings.iter().flat_map(|&i| all[i as usize].tags.iter().cloned()).collect();
        tags.sort_unstable();
        tags.dedup();
        Some(Self { severity: top.severity, worst, findings, rule_ids, tags })
    }
}

/// No set for this row.
const NONE: u32 = u32::MAX;

/// Per socket (in `snapshot.sockets` order), process and endpoint: the
/// [`Facts`] of its findings, when it has any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactIndex {
    sets: Vec<Facts>,
    sockets: Vec<u32>,
    processes: FxHashMap<Pid, u32>,
    endpoints: FxHashMap<EndpointKey, u32>,
}

/// An endpoint's list of findings, and its number among the endpoints
/// with findings.
type Numbered<'a> = (&'a Vec<u32>, u32);

/// Finding indices per key, in findings order.
type Lists<K> = FxHashMap<K, Vec<u32>>;

/// Deduplicates sets of finding indices while the index is built.
struct Interner<'a> {
    all: &'a [Finding],
    sets: Vec<Facts>,
    seen: FxHashMap<Vec<u32>, u32>,
}

impl Interner<'_> {
    /// The slot of this set (`NONE` when empty). `list` must be sorted.
    fn slot(&mut self, list: &[u32]) -> u32 {
        if list.is_empty() {
            return NONE;
        }
        if let Some(&slot) = self.seen.get(list) {
            return slot;
        }
        let Some(facts) = Facts::new(self.all, list.to_vec()) else { return NONE };
        let slot = self.sets.len() as u32;
        self.sets.push(facts);
        self.seen.insert(list.to_vec(), slot);
        slot
    }
}

/// The sorted union of some lists, without duplicates.
fn union<'a>(lists: impl Iterator<Item = &'a Vec<u32>>) -> Vec<u32> {
    let mut out: Vec<u32> = lists.flatten().copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl FactIndex {
    /// Index `findings` over `sockets` (sorted by key, as in a snapshot).
    pub fn build(sockets: &[Socket], findings: &[Finding]) -> Self {
        if findings.is_empty() {
            return Self { sockets: vec![NONE; sockets.len()], ..Self::default() };
        }
        let remote_of = |key: SocketKey| sockets.binary_search_by_key(&key, Socket::key).ok().map(|i| sockets[i].endpoint());
        let mut by_socket: Lists<SocketKey> = FxHashMap::default();
        let mut by_pid: Lists<Pid> = FxHashMap::default();
        let mut by_endpoint: Lists<EndpointKey> = FxHashMap::default();
        // A process's and an endpoint's own lists also hold their sockets' findings.
        let mut pid_lists: Lists<Pid> = FxHashMap::default();
        let mut endpoint_lists: Lists<EndpointKey> = FxHashMap::default();
        for (i, f) in findings.iter().enumerate() {
            let i = i as u32;
            match f.subject {
                Subject::Socket { socket, pid } => {
                    by_socket.entry(socket).or_default().push(i);
                    if let Some(p) = pid {
                        pid_lists.entry(p).or_default().push(i);
                    }
                    if let Some(endpoint) = remote_of(socket).filter(|e| !e.ip.is_unspecified()) {
                        endpoint_lists.entry(endpoint).or_default().push(i);
                    }
                }
                Subject::Process { pid } => {
                    by_pid.entry(pid).or_default().push(i);
                    pid_lists.entry(pid).or_default().push(i);
                }
                Subject::Endpoint { endpoint } => {
                    by_endpoint.entry(endpoint).or_default().push(i);
                    endpoint_lists.entry(endpoint).or_default().push(i);
                }
                // About no socket, process or endpoint.
                Subject::Host => {}
            }
        }
        let mut interner = Interner { all: findings, sets: Vec::new(), seen: FxHashMap::default() };
        // Most sockets have no finding of their own and one owner: their set
        // depends only on the owner and on the endpoint when it has
        // findings, so it is worked out once per such pair.
        // Pairs are numbered in `Slots` (neighbours in key order often share
        // one: a process's sockets to one place), and an empty map is not
        // asked at all.
        // A pair is one word: the owner's pid and its endpoint's number
        // among the endpoints with findings (numbered when the run of
        // sockets to one endpoint changes): hashing the two keys' fields
        // for each socket was most of the index.
        let mut pairs: Slots<u64> = Slots::new();
        let mut endpoint_numbers: Slots<EndpointKey> = Slots::new();
        let mut pair_sets: Vec<u32> = Vec::new();
        // Sockets with findings of their own, by position (few): met in
        // order, without a lookup per socket.
        let mut own_at: Vec<(usize, &Vec<u32>)> =
            by_socket.iter().filter_map(|(k, list)| sockets.binary_search_by_key(k, Socket::key).ok().map(|i| (i, list))).collect();
        own_at.sort_unstable_by_key(|(i, _)| *i);
        let mut own_next = own_at.into_iter().peekable();
        // A run of sockets to one endpoint asks about it once: its list,
        // and its number when it has one.
        let mut last_endpoint: Option<(EndpointKey, Option<Numbered<'_>>)> = None;
        let socket_slots = sockets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let own = own_next.next_if(|(at, _)| *at == i).map(|(_, list)| list);
                let endpoint_list = if by_endpoint.is_empty() {
                    None
                } else {
                    let endpoint = s.endpoint();
                    match last_endpoint {
                        Some((e, found)) if e == endpoint => found,
                        _ => {
                            let found = by_endpoint.get(&endpoint).map(|list| (list, endpoint_numbers.of(endpoint).0 as u32));
                            last_endpoint = Some((endpoint, found));
                            found
                        }
                    }
                };
                let (endpoint_list, endpoint_number) = (endpoint_list.map(|(list, _)| list), endpoint_list.map_or(u32::MAX, |(_, n)| n));
                let mut set_of = || {
                    let owners = s.raw.owners.iter().filter_map(|p| by_pid.get(p));
                    let lists: Vec<&Vec<u32>> = own.into_iter().chain(owners).chain(endpoint_list).collect();
                    match lists.as_slice() {
                        [] => NONE,
                        [one] => interner.slot(one),
                        _ => interner.slot(&union(lists.into_iter())),
                    }
                };
                if own.is_some() || s.raw.owners.len() > 1 {
                    return set_of();
                }
                // Most sockets: nothing about their endpoint or owner
                // either (no hash at all while no process has findings).
                if endpoint_list.is_none() && s.owner().is_none_or(|p| !by_pid.contains_key(&p)) {
                    return NONE;
                }
                let owner = s.owner().map_or(u64::from(u32::MAX), |p| u64::from(p.0));
                let (n, new) = pairs.of(owner << 32 | u64::from(endpoint_number));
                if new {
                    pair_sets.push(set_of());
                }
                pair_sets[n]
            })
            .collect();
        // Lists were filled in findings order, so they are sorted; a socket
        // finding and a process finding cannot repeat an index.
        let processes = pid_lists.into_iter().map(|(p, list)| (p, interner.slot(&list))).collect();
        let endpoints = endpoint_lists.into_iter().map(|(e, list)| (e, interner.slot(&list))).collect();
        Self { sets: interner.sets, sockets: socket_slots, processes, endpoints }
    }

    fn set(&self, slot: u32) -> Option<&Facts> {
        self.sets.get(slot as usize)
    }

    /// Facts of the socket at position `i` of `snapshot.sockets`.
    pub fn socket(&self, i: usize) -> Option<&Facts> {
        self.sockets.get(i).and_then(|&slot| self.set(slot))
    }

    /// Facts of a process.
    pub fn process(&self, pid: Pid) -> Option<&Facts> {
        self.processes.get(&pid).and_then(|&slot| self.set(slot))
    }

    /// Facts of a remote endpoint.
    pub fn endpoint(&self, key: EndpointKey) -> Option<&Facts> {
        self.endpoints.get(&key).and_then(|&slot| self.set(slot))
    }

    /// About how many heap bytes the index holds: the per-socket slots,
    /// the per-process and per-endpoint maps and the distinct sets.
    pub fn heap_bytes(&self) -> usize {
        let sets: usize = self
            .sets
            .iter()
            .map(|f| std::mem::size_of::<Facts>() + f.findings.capacity() * 4 + f.rule_ids.iter().chain(&f.tags).map(|s| 24 + s.capacity()).sum::<usize>())
            .sum();
        self.sockets.capacity() * 4
            + self.processes.capacity() * (std::mem::size_of::<(Pid, u32)>() + 1)
            + self.endpoints.capacity() * (std::mem::size_of::<(EndpointKey, u32)>() + 1)
            + sets
    }

    /// Distinct sets of findings (for tests and sizing).
    pub fn distinct_sets(&self) -> usize {
        self.sets.len()
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
