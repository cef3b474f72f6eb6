//! Alert-only parties: remote addresses that Suricata alerts or login
//! events name but that no open socket reaches (an SSH brute-forcer whose
//! connections are each closed in a second, a scanner the IDS saw). They
//! are endpoints of the map all the same: [`parties`] picks them once per
//! snapshot, most severe first, and [`NetGraph::add_parties`] puts them in
//! the map's slots with no edges (so relationship questions stay exact).

use std::collections::BTreeMap;

use super::alert::AlertDigest;
use super::graph::{NetGraph, NodeRef};
use super::graph_build::{Crowding, endpoint_infos};
use super::grouping::group_endpoints;
use super::index::FactIndex;
use super::keys::EndpointKey;
use super::login::{DAY_MS, LoginDigest};
use super::nodes::{EndpointGroupNode, GroupStrategy, GroupZone, RemoteEndpointNode};
use crate::terms::{Severity, Zone};

/// How far back an alert or a login event makes its sender a party.
pub const PARTY_WINDOW_MS: i64 = DAY_MS;

/// The label of the one node parties fold into when the map has no room
/// for each: `+N parties`.
pub fn group_label(n: usize) -> String {
    format!("+{n} parties")
}

/// Worth a slot of its own on a full map: a party with a finding of at
/// least this severity (a low one, a few failed logins, waits for room).
const NOTABLE: Severity = Severity::Medium;

/// An alert-only party, the worst severity of the findings about it, and
/// what named it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Party {
    pub endpoint: EndpointKey,
    pub severity: Option<Severity>,
    /// Suricata alerts name it.
    pub alerts: bool,
    /// Login events name it.
    pub logins: bool,
}

impl Party {
    /// What named it, for a label: `login`, `alert` or `login+alert`.
    pub fn source(&self) -> &'static str {
        match (self.logins, self.alerts) {
            (true, true) => "login+alert",
            (true, false) => "login",
            _ => "alert",
        }
    }
}

/// The alert-only parties at `now_ms`: addresses with an alert or a login
/// event in the last day that no socket of the snapshot reaches (no entry
/// in `endpoints`), most severe first (by the findings about them), then
/// by address. Sockets are keyed per namespace only for loopback, and
/// parties are remote, so an address is its endpoint.
pub fn parties(
    alerts: Option<&AlertDigest>,
    logins: Option<&LoginDigest>,
    endpoints: &BTreeMap<EndpointKey, RemoteEndpointNode>,
    index: &FactIndex,
    now_ms: i64,
) -> Vec<Party> {
    let since = now_ms - PARTY_WINDOW_MS;
    let mut named: BTreeMap<EndpointKey, (bool, bool)> = BTreeMap::new();
    for ip in alerts.into_iter().flat_map(|d| d.parties_since(since)) {
        named.entry(EndpointKey::host(ip)).or_default().0 = true;
    }
    for ip in logins.into_iter().flat_map(|d| d.parties.iter().filter(move |(_, p)| p.last_ms() >= since).map(|(ip, _)| *ip)) {
        named.entry(EndpointKey::host(ip)).or_default().1 = true;
    }
    let mut out: Vec<Party> = named
        .into_iter()
        .filter(|(k, _)| !k.ip.is_unspecified() && !endpoints.contains_key(k))
        .map(|(endpoint, (alerts, logins))| Party { endpoint, severity: index.endpoint(endpoint).map(|f| f.severity), alerts, logins })
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.endpoint.cmp(&b.endpoint)));
    out
}

impl NetGraph {
    /// Put alert-only `parties` (most severe first, as [`parties`] gives
    /// them) in the map's slots. A party with a finding of medium or worse
    /// is worth a slot of its own even on a full map: up to a third of the room (at least
    /// one slot) is made for them by grouping the socket endpoints into
    /// the rest, the spec's way (`endpoints` and `crowding` as for
    /// [`super::graph_build::build_graph`]). Parties beyond the room fold
    /// into one group. Parties get nodes but no edges: they hold no socket.
    pub fn add_parties(&mut self, parties: &[Party], endpoints: &BTreeMap<EndpointKey, RemoteEndpointNode>, crowding: Crowding<'_>) {
        if parties.is_empty() {
            return;
        }
        let max = crowding.max_neighbors.max(1);
        let notable = parties.iter().filter(|p| p.severity >= Some(NOTABLE)).count();
        let keep = notable.min((max / 3).max(1));
        let wanted = (keep + usize::from(parties.len() > keep)).min(max);
        if self.slots.len() + wanted > max && !self.slots.is_empty() {
            let counts: Vec<(EndpointKey, u64)> = self
                .graph
                .node_weights()
                .filter_map(|n| if let NodeRef::Endpoint(k) = n { Some(*k) } else { None })
                .map(|k| (k, self.edges_of(NodeRef::Endpoint(k)).iter().map(|(_, e)| e.connection.socket_count).sum()))
                .collect();
            let infos = endpoint_infos(counts.into_iter(), endpoints);
            self.set_grouping(group_endpoints(&infos, crowding.grouping, max.saturating_sub(wanted).max(1)));
        }
        let room = max.saturating_sub(self.slots.len());
        let singles = if parties.len() <= room { parties.len() } else { room.saturating_sub(1) };
        for p in &parties[..singles] {
            self.node(NodeRef::Endpoint(p.endpoint));
            self.slots.push(NodeRef::Endpoint(p.endpoint));
        }
        let rest: Vec<EndpointKey> = parties[singles..].iter().map(|p| p.endpoint).collect();
        if rest.is_empty() {
            return;
        }
        let mut zone = None;
        for z in rest.iter().map(|k| GroupZone::from(Zone::of(k.ip))) {
            zone = match zone {
                Some(prev) if prev != z => Some(GroupZone::Mixed),
                None => Some(z),
                same => same,
            };
        }
        let group = EndpointGroupNode {
            label: group_label(rest.len()),
            strategy: GroupStrategy::AlertOnly,
            zone: zone.unwrap_or(GroupZone::Mixed),
            members: rest.iter().map(ToString::to_string).collect(),
            member_count: rest.len() as u64,
            connection_count: 0,
        };
        for &p in &rest {
            self.node(NodeRef::Endpoint(p));
        }
        let id = self.add_group(group, rest);
        self.slots.push(id);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Alert, AlertDirection, LoginEvent, LoginKind, PartyAlerts, PartyLogins};

    fn key(s: &str) -> EndpointKey {
        EndpointKey::host(s.parse().expect("ip"))
    }

    fn login(ip: &str, at_ms: i64) -> LoginEvent {
        LoginEvent {
            at_ms,
            kind: LoginKind::Failed,
            remote: ip.parse().expect("ip"),
            port: Some(40_000),
            user: Some("root".into()),
            invalid_user: false,
            method: Some("password".into()),
            service: "sshd".into(),
            pid: Some(7),
        }
    }

    fn logins(events: &[LoginEvent]) -> LoginDigest {
        let mut d = LoginDigest::default();
        for e in events {
            let p = d.parties.entry(e.remote).or_insert_with(|| Arc::new(PartyLogins::default()));
            Arc::make_mut(p).events.push_back(e.clone());
        }
        d
    }

    const NOW: i64 = 10 * DAY_MS;

    #[test]
    fn a_party_is_heard_from_in_the_last_day_and_has_no_socket() {
        let d = logins(&[login("203.0.113.5", NOW - 1_000), login("203.0.113.6", NOW - PARTY_WINDOW_MS - 1), login("198.51.100.2", NOW - 5)]);
        let mut endpoints = BTreeMap::new();
        endpoints.insert(key("198.51.100.2"), crate::model::endpoint_table::new_endpoint(key("198.51.100.2"), Zone::Public, None));
        let got = parties(None, Some(&d), &endpoints, &FactIndex::default(), NOW);
        assert_eq!(got, vec![party("203.0.113.5", None)], "the old party and the one with a socket are not parties");
    }

    #[test]
    fn alert_and_login_parties_merge_once() {
        let remote = "203.0.113.5".parse().expect("ip");
        let alert = Alert {
            at_ms: NOW - 10,
            remote,
            local: None,
            src_ip: remote,
            src_port: Some(4000),
            dest_ip: "192.0.2.1".parse().expect("ip"),
            dest_port: Some(22),
            proto: "TCP".into(),
            direction: Some(AlertDirection::ToServer),
            flow_id: None,
            signature_id: 1,
            signature: "scan".into(),
            category: String::new(),
            severity: 2,
            action: None,
        };
        let mut a = AlertDigest::default();
        a.parties.insert(remote, Arc::new(PartyAlerts { alerts: Arc::new([alert].into_iter().collect()), flows: None }));
        let d = logins(&[login("203.0.113.5", NOW - 1_000), login("203.0.113.1", NOW - 1_000)]);
        let got = parties(Some(&a), Some(&d), &BTreeMap::new(), &FactIndex::default(), NOW);
        assert_eq!(got, vec![party("203.0.113.1", None), Party { alerts: true, ..party("203.0.113.5", None) }]);
        assert_eq!(got[1].source(), "login+alert");
    }

    fn party(ip: &str, severity: Option<Severity>) -> Party {
        Party { endpoint: key(ip), severity, alerts: false, logins: true }
    }

    fn crowding(max: usize) -> Crowding<'static> {
        Crowding { grouping: &[], max_neighbors: max }
    }

    #[test]
    fn parties_fill_the_free_slots_then_fold_into_one_group() {
        let ps: Vec<Party> = (1..=5).map(|i| party(&format!("203.0.113.{i}"), None)).collect();
        let mut g = NetGraph::new();
        g.slots.push(NodeRef::Endpoint(key("198.51.100.1")));
        g.add_parties(&ps, &BTreeMap::new(), crowding(4));
        assert_eq!(g.slots.len(), 4, "three free slots: two singles and the group");
        assert_eq!(&g.slots[1..3], &[NodeRef::Endpoint(ps[0].endpoint), NodeRef::Endpoint(ps[1].endpoint)]);
        assert_eq!(g.slots[3], NodeRef::Group(0));
        assert_eq!(g.groups[0].label, "+3 parties");
        assert_eq!(g.groups[0].strategy, GroupStrategy::AlertOnly);
        assert_eq!(g.members(0).len(), 3);
        assert_eq!(g.slot_of(ps[4].endpoint), NodeRef::Group(0));
        assert_eq!(g.edge_count(), 0, "parties hold no socket");

        let mut roomy = NetGraph::new();
        roomy.add_parties(&ps, &BTreeMap::new(), crowding(5));
        assert_eq!(roomy.slots.len(), 5);
        assert!(roomy.groups.is_empty());
    }
}
