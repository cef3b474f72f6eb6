//! The dump's rows made into the snapshot's sockets: each row classified
//! (direction, zone, the listener that accepted it), met with its history
//! and copied into the socket table in key order; and the sums over the
//! rows (owners', listeners', endpoints'), which do not depend on the
//! order and may be taken over the dump's rows on a second thread.

use rustc_hash::{FxHashMap, FxHashSet};

use super::age::SocketAge;
use super::endpoint_table::{Countries, EndpointSums};
use super::history::{ConnectionStart, History, SeriesKey};
use super::key_order::Cursor;
use super::keys::{ListenerKey, NetNs};
use super::socket::{Direction, RawSocket, Socket, SocketState};
use super::tally::Tally;
use crate::terms::Zone;

/// What the builder knows before it makes the sockets of a refresh.
pub(super) struct Rows<'b> {
    pub listener_ports: &'b super::build::ListenerPorts,
    /// Namespaces whose rows were kept from an earlier read.
    pub kept: &'b FxHashSet<Option<NetNs>>,
    pub facts: &'b FxHashMap<u32, &'b crate::model::ProcessFacts>,
    pub now: i64,
}

/// The sums over a refresh's rows.
pub(super) struct Sums {
    pub tally: Tally,
    pub endpoints: EndpointSums,
}

impl Sums {
    pub fn new(privileged: bool, viewer: Option<u32>) -> Self {
        Self { tally: Tally::new(privileged, viewer), endpoints: EndpointSums::default() }
    }

    /// Count one row, classified.
    pub fn add(&mut self, raw: &RawSocket, direction: Direction, zone: Zone, listener: Option<ListenerKey>, countries: &mut Countries) {
        self.tally.add(raw, direction, listener);
        self.endpoints.add(raw, direction, zone, countries);
    }
}

impl Rows<'_> {
    /// A row's direction, the zone it is judged in (its remote's; a
    /// listener's own address's) and, for an inbound socket, the listener
    /// that accepted it.
    pub fn classify(&self, raw: &RawSocket) -> (Direction, Zone, Option<ListenerKey>) {
        if raw.state.is_listening() {
            (Direction::Listen, super::build::listener_zone(raw.local.ip()), None)
        } else if let Some(l) = self.listener_ports.of(raw) {
            (Direction::Inbound, Zone::of(raw.remote.ip()), Some(l))
        } else {
            (Direction::Outbound, Zone::of(raw.remote.ip()), None)
        }
    }

    /// The socket of every row `cursor` hands out, pushed onto `sockets`
    /// in that order, each met with its history; counted into `sums` too
    /// when given (else they are taken elsewhere).
    pub fn make_sockets(&self, cursor: &mut Cursor<'_>, history: &mut History, sockets: &mut Vec<Socket>, mut sums: Option<(&mut Sums, &mut Countries)>) {
        let now = self.now;
        while let Some(raw) = cursor.next_row() {
            let (direction, zone, listener) = self.classify(raw);
            let h = if !self.kept.is_empty() && self.kept.contains(&raw.netns) {
                history.observe_kept(raw.key, now, raw.tcp)
            } else {
                history.observe_socket(raw.key, now, raw.tcp)
            };
            if h.is_new && direction != Direction::Listen && !raw.remote.ip().is_unspecified() {
                history.record_endpoint_start(raw.endpoint(), now);
                // A start is a new outbound socket in any connected state:
                // polling often first sees a short connection already
                // closing (CLOSE_WAIT, FIN_WAIT), and it was still started
                // since the last refresh. TIME_WAIT has no owner to count.
                if direction == Direction::Outbound && !matches!(raw.state, SocketState::TimeWait | SocketState::Close | SocketState::BoundInactive) {
                    let owner = raw.owners.first().and_then(|p| self.facts.get(&p.0)).copied();
                    let series = SeriesKey::of(owner, None, raw.uid, raw.remote, raw.protocol(), raw.netns);
                    history.record_start(series, ConnectionStart { at_ms: now, pid: owner.map_or(0, |f| f.pid) });
                }
            }
            // A listener is created by a process holding it: the earliest
            // start among its visible owners bounds its age from above.
            let owners_start = if direction == Direction::Listen {
                raw.owners.iter().filter_map(|p| self.facts.get(&p.0)).map(|f| f.start_time_ms).filter(|&t| t > 0).min()
            } else {
                None
            };
            if let Some((sums, countries)) = sums.as_mut() {
                sums.add(raw, direction, zone, listener, countries);
            }
            let age = SocketAge::of(now, h.first_seen_ms, h.seen_appearing, owners_start);
            // History gives both rates or neither (both need counters now
            // and at the last read), so the pair is one option.
            sockets.push(Socket::derived(raw.clone(), direction, zone, listener, h.first_seen_ms, age, h.send_rate.zip(h.recv_rate)));
        }
    }
}
