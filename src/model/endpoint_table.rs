//! The endpoint table: every remote address the refresh's connected
//! sockets reach (one per namespace for loopback), with its connections,
//! the ports it was reached on, its processes, bytes, country and names.
//!
//! Summed socket by socket in any order (the sums, sets and first-met
//! values do not depend on it): on a big host beside the builder's pass,
//! over the rows as they lie in the dump's table, on a second thread (see
//! `socket_rows`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use super::history::History;
use super::keys::{EndpointKey, Pid};
use super::nodes::RemoteEndpointNode;
use super::socket::{Direction, RawSocket};
use crate::slots::Slots;
use crate::terms::Zone;

/// Countries by address, kept by the builder across refreshes.
pub type Countries = FxHashMap<IpAddr, Option<&'static str>>;

/// Above this many addresses the countries' cache is emptied.
const MAX_COUNTRIES: usize = 100_000;

/// The endpoints met so far.
#[derive(Debug, Default)]
pub struct EndpointSums {
    acc: Vec<Acc>,
    slots: Slots<EndpointKey>,
}

/// One endpoint while its sockets are summed.
#[derive(Debug)]
struct Acc {
    node: RemoteEndpointNode,
    ports: BTreeSet<u16>,
    procs: BTreeSet<Pid>,
    last_port: Option<u16>,
    last_pid: Option<Pid>,
}

impl EndpointSums {
    /// Count one socket that is `direction`, with a remote in `zone`;
    /// listeners and sockets without a remote address reach no endpoint.
    pub fn add(&mut self, raw: &RawSocket, direction: Direction, zone: Zone, countries: &mut Countries) {
        if direction == Direction::Listen || raw.remote.ip().is_unspecified() {
            return;
        }
        let key = raw.endpoint();
        let (slot, new) = self.slots.of(key);
        if new {
            let ip = key.ip;
            let country = *countries.entry(ip).or_insert_with(|| if Zone::of(ip) == Zone::Public { iptocc::country_code(ip) } else { None });
            self.acc.push(Acc { node: new_endpoint(key, zone, country), ports: BTreeSet::new(), procs: BTreeSet::new(), last_port: None, last_pid: None });
        }
        let a = &mut self.acc[slot];
        let node = &mut a.node;
        node.connection_count += 1;
        let c = raw.tcp.unwrap_or_default();
        node.bytes_sent += c.bytes_acked;
        node.bytes_received += c.bytes_received;
        // Inbound sockets talk from an ephemeral remote port: the
        // endpoint's "ports" are the ones it was reached on.
        let port = if direction == Direction::Inbound { raw.local.port() } else { raw.remote.port() };
        if a.last_port != Some(port) {
            a.ports.insert(port);
            a.last_port = Some(port);
        }
        for &pid in &raw.owners {
            if a.last_pid != Some(pid) {
                a.procs.insert(pid);
                a.last_pid = Some(pid);
            }
        }
    }

    /// The table, each endpoint with its rate of new connections from
    /// `history` (which holds this refresh's starts). `countries` is
    /// emptied when it has grown too large.
    pub fn finish(self, history: &History, now: i64, countries: &mut Countries) -> BTreeMap<EndpointKey, RemoteEndpointNode> {
        if countries.len() > MAX_COUNTRIES {
            countries.clear();
        }
        self.acc
            .into_iter()
            .map(|a| {
                let key = EndpointKey::of(a.node.ip, a.node.netns);
                let mut node = a.node;
                node.ports = a.ports.into_iter().collect();
                node.process_count = a.procs.len() as u64;
                node.new_per_minute = history.new_per_minute(key, now);
                (key, node)
            })
            .collect()
    }
}

/// Give endpoints the names the collector saw for their addresses.
pub fn name_endpoints(endpoints: &mut BTreeMap<EndpointKey, RemoteEndpointNode>, names: &super::NameFacts) {
    if names.names.is_empty() {
        return;
    }
    let by_ip: FxHashMap<IpAddr, &super::ObservedName> = names.names.iter().map(|n| (n.ip, n)).collect();
    for node in endpoints.values_mut() {
        if let Some(n) = by_ip.get(&node.ip) {
            node.hostname = n.names.first().cloned();
            node.names.clone_from(&n.names);
            node.name_source = Some(n.source);
            node.asked_by = n.asked_by;
        }
    }
}

/// An endpoint with nothing counted yet.
pub fn new_endpoint(key: EndpointKey, zone: Zone, country: Option<&str>) -> RemoteEndpointNode {
    RemoteEndpointNode {
        ip: key.ip,
        netns: key.netns,
        zone,
        ports: Vec::new(),
        hostname: None,
        names: Vec::new(),
        name_source: None,
        asked_by: None,
        country: country.map(str::to_string),
        tags: Vec::new(),
        connection_count: 0,
        process_count: 0,
        new_per_minute: 0.0,
        bytes_sent: 0,
        bytes_received: 0,
    }
}
