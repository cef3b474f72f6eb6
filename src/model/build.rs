//! Observation → Snapshot: history, derived socket fields, the process,
//! endpoint and listener tables, the graph, health, and (through the
//! [`Evaluator`] seam) findings.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashMap;

use super::closed::ClosedSocket;
use super::finding::Finding;
use super::graph_build::{Crowding, build_graph};
use super::health::{Health, HealthMessage, UnownedCounts};
use super::history::{ConnectionStart, History, SeriesKey};
use super::index::FactIndex;
use super::keys::{EndpointKey, ListenerKey, NetNs, Pid};
use super::nodes::{ProcessNode, ServiceListenerNode};
use super::order::SocketOrder;
use super::snapshot::Snapshot;
use super::socket::{Direction, Protocol, RawSocket, Socket};
use super::{Observation, SourceInfo};
use crate::drop_beside::{DropBeside, Garbage};
use crate::spare::Spare;
use crate::spec::Spec;
use crate::terms::Zone;

/// From how many sockets the builder's side passes run on a second thread:
/// the listener table beside the search for the rows' runs (both a pass
/// over the dump's rows), and the sums (owners', listeners', the endpoint
/// table) over the dump's rows while the sockets are made in key order
/// (see `socket_rows`). Below it a thread's start costs more than the pass.
const SIDE_PASSES_FROM: usize = 20_000;

/// Computes findings for a snapshot before it is published. The rule engine
/// implements this; without one, snapshots have no findings.
pub trait Evaluator: Send {
    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding>;

    /// Memory for the next `evaluate`'s own tables: the dump's emptied
    /// row table, whose pages are mapped already (a table allocated anew
    /// is faulted in page by page: see [`crate::spare`]). Wrappers hand it
    /// to their inner evaluator; by default it is let go.
    fn lend_room(&mut self, room: Vec<RawSocket>) {
        drop(room);
    }

    /// What the last `evaluate` left to let go (its large tables, with
    /// nothing borrowed), for the builder to drop off the refresh's path
    /// (see [`crate::drop_beside`]): handing more than 10 MB of pages
    /// back costs about a millisecond at 100k sockets. Wrappers hand their inner
    /// evaluator's on; by default there is nothing.
    fn leftovers(&mut self) -> Option<Garbage> {
        None
    }

    /// Lines for the snapshot's health section (e.g. alert intake counts).
    fn health(&self) -> Vec<super::health::HealthMessage> {
        Vec::new()
    }

    /// The alert digest the last `evaluate` judged, published with the snapshot.
    fn alert_digest(&self) -> Option<Arc<super::AlertDigest>> {
        None
    }

    /// The login digest the last `evaluate` judged, published with the snapshot.
    fn login_digest(&self) -> Option<Arc<super::LoginDigest>> {
        None
    }
}

/// A boxed evaluator is one: wrappers (alerts, logins) can hold whatever
/// the pipeline assembled before them.
impl<T: Evaluator + ?Sized> Evaluator for Box<T> {
    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        (**self).evaluate(snapshot, history)
    }

    fn lend_room(&mut self, room: Vec<RawSocket>) {
        (**self).lend_room(room);
    }

    fn leftovers(&mut self) -> Option<Garbage> {
        (**self).leftovers()
    }

    fn health(&self) -> Vec<super::health::HealthMessage> {
        (**self).health()
    }

    fn alert_digest(&self) -> Option<Arc<super::AlertDigest>> {
        (**self).alert_digest()
    }

    fn login_digest(&self) -> Option<Arc<super::LoginDigest>> {
        (**self).login_digest()
    }
}

/// Owns History and turns each observation into the next snapshot.
#[derive(Debug)]
pub struct SnapshotBuilder {
    spec: Arc<Spec>,
    history: History,
    /// What processes asked DNS for, over the last minutes.
    dns: super::DnsHistory,
    generation: u64,
    countries: FxHashMap<IpAddr, Option<&'static str>>,
    /// Socket tables of snapshots that are gone, for the next snapshot.
    tables: Spare<Socket>,
    /// Where the evaluator's tables are let go.
    beside: DropBeside,
    /// From how many rows the side passes run on a second thread
    /// ([`SIDE_PASSES_FROM`]; a test moves it).
    side_from: usize,
}

impl SnapshotBuilder {
    pub fn new(spec: Arc<Spec>) -> Self {
        Self {
            spec,
            history: History::new(),
            dns: super::DnsHistory::default(),
            generation: 0,
            countries: FxHashMap::default(),
            tables: Spare::new(),
            beside: DropBeside::new(),
            side_from: SIDE_PASSES_FROM,
        }
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn spec(&self) -> &Arc<Spec> {
        &self.spec
    }

    /// Build the next snapshot. `evaluator` adds findings.
    pub fn build(&mut self, obs: Observation, source: SourceInfo, evaluator: Option<&mut dyn Evaluator>) -> Snapshot {
        let started = Instant::now();
        self.generation += 1;
        let now = obs.taken_at_ms;
        let mut timings = obs.timings;
        let facts: FxHashMap<u32, &crate::model::ProcessFacts> = obs.processes.iter().map(|p| (p.pid, p)).collect();

        // Sockets with history and classification, in key order (sorting
        // the raw rows moves less than sorting the finished sockets).
        self.history.begin(now);
        // Namespaces whose rows were kept from an earlier read.
        let kept: rustc_hash::FxHashSet<Option<super::keys::NetNs>> =
            obs.namespaces.iter().filter(|n| n.read_at_ms.is_some_and(|t| t < now)).map(super::namespace::NamespaceInfo::key).collect();
        // Listeners first: they decide which sockets are inbound. On a big
        // host their table is made beside the search for the rows' runs.
        let (mut raw_sockets, (mut listeners, listener_ports)) = if obs.sockets.len() >= self.side_from && crate::both::second_core() {
            super::key_order::KeyOrder::of_beside(obs.sockets, |rows| listener_table(rows, &facts))
        } else {
            let table = listener_table(&obs.sockets, &facts);
            (super::key_order::KeyOrder::of(obs.sockets), table)
        };
        // Into the table of a snapshot that is gone, when there is one.
        let mut sockets: Vec<Socket> = self.tables.take(raw_sockets.remaining());
        // On a big host the sums (owners', listeners', endpoints') are
        // taken over the dump's rows on a second thread while this one
        // makes the sockets; else in the same pass, while each row is in
        // cache.
        let beside = raw_sockets.remaining() >= self.side_from && crate::both::second_core();
        let mut sums = super::socket_rows::Sums::new(obs.privileged, obs.viewer_uid);
        let rows = super::socket_rows::Rows { listener_ports: &listener_ports, kept: &kept, facts: &facts, now };
        let (dump, mut cursor) = raw_sockets.split();
        let (history, countries) = (&mut self.history, &mut self.countries);
        if beside {
            let (taken, ()) = crate::both::both(
                || {
                    for raw in dump {
                        let (direction, zone, listener) = rows.classify(raw);
                        sums.add(raw, direction, zone, listener, countries);
                    }
                    sums
                },
                || rows.make_sockets(&mut cursor, history, &mut sockets, None),
            );
            sums = taken;
        } else {
            rows.make_sockets(&mut cursor, history, &mut sockets, Some((&mut sums, countries)));
        }
        // The rows' memory, for the rules' items.
        let room = raw_sockets.into_room();
        self.record_closed(&obs.closed, &facts);
        self.history.end(now);

        let tally = sums.tally.finish();
        let mut endpoints = sums.endpoints.finish(&self.history, now, &mut self.countries);
        let health = health_of(tally.unowned, &obs.owner_scan, obs.privileged, obs.health);
        let mut processes: BTreeMap<Pid, ProcessNode> =
            obs.processes.iter().map(|f| (f.pid(), ProcessNode { facts: f.clone(), ..ProcessNode::default() })).collect();
        tally.onto_processes(&mut processes);
        tally.onto_listeners(&mut listeners);
        super::endpoint_table::name_endpoints(&mut endpoints, &obs.names);
        self.dns.record(&obs.names.queries, now);
        let mut snapshot = Snapshot {
            generation: self.generation,
            taken_at_ms: now,
            source,
            sockets,
            processes,
            endpoints,
            listeners,
            graph: super::NetGraph::default(),
            findings: Vec::new(),
            index: FactIndex::default(),
            order: SocketOrder::default(),
            health,
            timings,
            namespaces: obs.namespaces,
            closed: obs.closed,
            names: obs.names,
            dns_activity: self.dns.activity(),
            alerts: None,
            logins: None,
            parties: Vec::new(),
            spare: Some(self.tables.clone()),
        };
        timings.graph_ms = started.elapsed().as_secs_f64() * 1000.0;
        self.judge(&mut snapshot, &mut timings, evaluator, room);
        timings.total_ms = timings.dump_ms + timings.owners_ms + timings.facts_ms + timings.graph_ms + timings.rules_ms;
        snapshot.timings = timings;
        snapshot
    }

    /// Run the evaluator (when there is one) and index what it found: the
    /// fact index and the socket orders are built either way. The map's
    /// graph is folded on a second thread meanwhile: the rules never read
    /// it, and on a host with more than one core its time is hidden behind
    /// theirs (`map_ms` overlaps `rules_ms`; `rules_ms` ends when both have).
    fn judge(&mut self, snapshot: &mut Snapshot, timings: &mut super::health::StageTimings, evaluator: Option<&mut dyn Evaluator>, room: Vec<RawSocket>) {
        let t = Instant::now();
        let crowding = Crowding::large(&self.spec);
        let shared: &Snapshot = snapshot;
        let ((graph, map_ms), judged) = crate::both::both(
            || {
                let started = Instant::now();
                let graph = build_graph(&shared.sockets, None, &shared.endpoints, crowding);
                (graph, started.elapsed().as_secs_f64() * 1000.0)
            },
            // Sorts the findings, then indexes them once for every reader.
            || {
                evaluator.map(|ev| {
                    ev.lend_room(room);
                    (ev.evaluate(shared, &self.history), ev.health(), ev.alert_digest(), ev.login_digest(), ev.leftovers())
                })
            },
        );
        snapshot.graph = graph;
        timings.map_ms = map_ms;
        let i = Instant::now();
        match judged {
            Some((findings, health, alerts, logins, leftovers)) => {
                if let Some(tables) = leftovers {
                    self.beside.drop_later(tables);
                }
                snapshot.set_findings(findings);
                snapshot.health.messages.extend(health);
                snapshot.alerts = alerts;
                snapshot.logins = logins;
                snapshot.place_parties(crowding);
            }
            // No findings: the index is empty, the orders still hold.
            None => snapshot.reindex(),
        }
        timings.index_ms = i.elapsed().as_secs_f64() * 1000.0;
        timings.rules_ms = t.elapsed().as_secs_f64() * 1000.0;
    }

    /// Sockets that closed since the last refresh and that no refresh saw
    /// open: each is a connection start (outbound ones in their beacon
    /// series), and a TCP attempt that never connected is a failed attempt
    /// of its process.
    fn record_closed(&mut self, closed: &[ClosedSocket], facts: &FxHashMap<u32, &crate::model::ProcessFacts>) {
        for c in closed {
            if c.seen_in_dump || self.history.knows_socket(c.key()) || c.socket.remote.ip().is_unspecified() {
                continue;
            }
            let at = c.start_ms();
            self.history.record_endpoint_start(EndpointKey::of(c.socket.remote.ip(), c.netns), at);
            if c.direction != Direction::Outbound {
                continue;
            }
            let owner = c.pid.and_then(|p| facts.get(&p.0)).copied();
            let series = SeriesKey::of(owner, c.comm.as_deref(), c.socket.uid, c.socket.remote, c.socket.protocol(), c.netns);
            let pid = c.pid.map_or(0, |p| p.0);
            self.history.record_start(series, ConnectionStart { at_ms: at, pid });
            if !c.established && c.socket.protocol() == Protocol::Tcp && pid != 0 {
                self.history.record_failed(pid, at);
            }
        }
    }
}

/// Listening sockets as listener nodes, and an index by (protocol, port).
#[allow(clippy::type_complexity)]
/// Listeners by (protocol, port, namespace), and the ports something
/// listens on, one bit each: most connected sockets (every outbound one)
/// have a local port nothing listens on, and are told so without a hash
/// lookup.
pub(super) struct ListenerPorts {
    by_port: FxHashMap<(Protocol, u16, Option<NetNs>), Vec<ListenerKey>>,
    listened: super::PortSet,
}

impl ListenerPorts {
    /// The listener a connected socket was accepted by, if any.
    pub(super) fn of(&self, raw: &RawSocket) -> Option<ListenerKey> {
        let port = raw.local.port();
        if !self.listened.contains(port) {
            return None;
        }
        self.by_port.get(&(raw.protocol(), port, raw.netns))?.iter().copied().find(|l| l.address.is_unspecified() || l.address == raw.local.ip())
    }
}

fn listener_table(sockets: &[RawSocket], facts: &FxHashMap<u32, &crate::model::ProcessFacts>) -> (BTreeMap<ListenerKey, ServiceListenerNode>, ListenerPorts) {
    let mut listeners: BTreeMap<ListenerKey, ServiceListenerNode> = BTreeMap::new();
    let mut listener_ports = ListenerPorts { by_port: FxHashMap::default(), listened: super::PortSet::default() };
    for raw in sockets.iter().filter(|s| s.state.is_listening()) {
        let key = raw.listener_key();
        let owner = raw.owners.first().map(|p| p.0);
        listeners.entry(key).or_insert_with(|| {
            listener_ports.by_port.entry((key.protocol, key.port, key.netns)).or_default().push(key);
            listener_ports.listened.insert(key.port);
            ServiceListenerNode {
                protocol: key.protocol,
                address: key.address,
                port: key.port,
                wildcard: key.address.is_unspecified(),
                pid: owner,
                process_name: owner.and_then(|p| facts.get(&p)).map(|f| f.name.clone()),
                inode: raw.inode,
                inbound_count: 0,
                netns: key.netns,
            }
        });
    }
    (listeners, listener_ports)
}

/// Where a listener can be reached from: a wildcard bind is reachable from
/// every network the host is on, so it counts as public (the worst case).
pub fn listener_zone(ip: IpAddr) -> Zone {
    if ip.is_unspecified() { Zone::Public } else { Zone::of(ip) }
}

/// The snapshot's health, with the sockets no process holds (counted by
/// the builder's [`Tally`](super::tally::Tally)).
fn health_of(unowned: UnownedCounts, scan: &super::OwnerScanStats, privileged: bool, mut messages: Vec<HealthMessage>) -> Health {
    if unowned.total > 0 {
        let mut parts = Vec::new();
        if unowned.kernel_held > 0 {
            parts.push(format!("{} held by the kernel (TIME_WAIT, half-open or orphaned: no process holds them)", unowned.kernel_held));
        }
        if unowned.not_permitted > 0 {
            parts.push(format!("{} of other users' processes (run as root to see them)", unowned.not_permitted));
        }
        if unowned.not_found > 0 {
            parts.push(format!("{} whose owner was not found (exited meanwhile, or in another PID namespace)", unowned.not_found));
        }
        messages.push(HealthMessage::info(format!("{} sockets have no visible owner: {}", unowned.total, parts.join("; "))));
    }
    Health { messages, unowned, processes_denied: scan.denied, privileged }
}

#[cfg(test)]
#[path = "build_tests.rs"]
mod tests;
