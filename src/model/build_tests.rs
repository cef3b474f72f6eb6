use std::sync::Arc;

use super::*;
use crate::model::SocketState;
use crate::model::{AgeBound, EdgeKind, NodeRef, ProcessFacts, SocketAge, SocketKey, TcpCounters};
use crate::model::{Observation, SourceKind};

fn info() -> SourceInfo {
    SourceInfo { kind: SourceKind::Replay, host: "test".into(), detail: String::new() }
}

fn sock(cookie: u64, state: SocketState, local: &str, remote: &str, inode: u32, owners: &[u32]) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: state.protocol(), cookie },
        state,
        local: local.parse().expect("local"),
        remote: remote.parse().expect("remote"),
        inode,
        uid: 1000,
        owners: owners.iter().map(|&p| Pid(p)).collect(),
        tcp: (state.protocol() == Protocol::Tcp).then_some(TcpCounters { bytes_acked: 100, bytes_received: 50, rtt_us: 10, min_rtt_us: None }),
        recv_queue: 0,
        send_queue: 0,
        netns: None,
    }
}

fn proc_facts(pid: u32, name: &str) -> ProcessFacts {
    ProcessFacts { pid, name: name.into(), exe: Some(format!("/usr/bin/{name}")), uid: 1000, ..ProcessFacts::default() }
}

fn web_host(t: i64) -> Observation {
    Observation {
        taken_at_ms: t,
        sockets: vec![
            sock(1, SocketState::Listen, "0.0.0.0:443", "0.0.0.0:0", 11, &[10]),
            sock(2, SocketState::Established, "10.0.0.5:443", "203.0.113.7:50000", 12, &[10]),
            sock(3, SocketState::Established, "10.0.0.5:443", "203.0.113.8:50001", 13, &[10]),
            sock(4, SocketState::Established, "10.0.0.5:40000", "198.51.100.9:5432", 14, &[20]),
            sock(5, SocketState::Established, "10.0.0.5:40001", "198.51.100.9:5432", 15, &[20, 21]),
            sock(6, SocketState::TimeWait, "10.0.0.5:40002", "198.51.100.9:5432", 0, &[]),
            sock(7, SocketState::Unconn, "0.0.0.0:53", "0.0.0.0:0", 16, &[30]),
            sock(8, SocketState::Established, "10.0.0.5:40003", "198.51.100.10:80", 17, &[]),
        ],
        processes: vec![proc_facts(10, "nginx"), proc_facts(20, "app"), proc_facts(21, "app-child"), proc_facts(30, "dnsd")],
        privileged: true,
        ..Observation::default()
    }
}

#[test]
fn classifies_directions_and_builds_tables() {
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let s = b.build(web_host(1_000), info(), None);
    assert_eq!(s.generation, 1);
    let dir = |c: u64| s.socket(SocketKey { protocol: Protocol::Tcp, cookie: c }).map(|x| x.direction);
    assert_eq!(dir(1), Some(Direction::Listen));
    assert_eq!(dir(2), Some(Direction::Inbound), "local port 443 is a wildcard listener's");
    assert_eq!(dir(4), Some(Direction::Outbound));
    assert_eq!(s.listeners.len(), 2);
    let l443 = s.listeners.values().find(|l| l.port == 443).expect("listener");
    assert_eq!((l443.inbound_count, l443.pid, l443.process_name.as_deref(), l443.wildcard), (2, Some(10), Some("nginx"), true));
    let nginx = s.process(Pid(10)).expect("nginx");
    assert_eq!((nginx.socket_count, nginx.listener_count, nginx.bytes_sent), (3, 1, 300));
    let db = s.endpoints.get(&EndpointKey::host("198.51.100.9".parse().expect("ip"))).expect("endpoint");
    assert_eq!(db.connection_count, 3);
    assert_eq!(db.process_count, 2, "pids 20 and 21 share a socket");
    assert_eq!(db.ports, vec![5432]);
    assert_eq!(db.zone, Zone::Public);
    let client = s.endpoints.get(&EndpointKey::host("203.0.113.7".parse().expect("ip"))).expect("endpoint");
    assert_eq!(client.ports, vec![443], "an inbound endpoint lists the port it reached");
    // The unowned sockets are explained.
    assert_eq!(s.health.unowned, UnownedCounts { total: 2, kernel_held: 1, not_permitted: 0, not_found: 1 });
    assert!(s.health.messages.iter().any(|m| m.text.contains("2 sockets have no visible owner")));
}

/// From `SIDE_PASSES_FROM` sockets the sums are taken over the dump's rows
/// on a second thread while the sockets are made: they come out as in the
/// builder's own pass, whatever the rows' order.
#[test]
fn a_big_host_s_sums_are_the_same_taken_beside_the_builder_s_pass() {
    let copies: u64 = 3_000;
    let mut obs = web_host(1_000);
    let one = std::mem::take(&mut obs.sockets);
    obs.sockets = (0..copies)
        .flat_map(|k| one.iter().map(move |r| RawSocket { key: SocketKey { protocol: r.key.protocol, cookie: k * 100 + r.key.cookie }, ..r.clone() }))
        .collect();
    assert!(obs.sockets.len() >= SIDE_PASSES_FROM);
    // In key order (merged as runs), and out of it (sorted).
    let mut shuffled = obs.clone();
    shuffled.sockets.reverse();
    shuffled.sockets.swap(0, 7_777);
    for obs in [&obs, &shuffled] {
        let build = |side_from: usize| {
            let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
            b.side_from = side_from;
            b.build(obs.clone(), info(), None)
        };
        let (beside, alone) = (build(SIDE_PASSES_FROM), build(usize::MAX));
        assert_eq!(beside.endpoints, alone.endpoints, "the endpoint table");
        assert_eq!(beside.processes, alone.processes, "the owners' sums");
        assert_eq!(beside.listeners, alone.listeners, "the listeners' sums");
        assert_eq!(beside.health.unowned, alone.health.unowned);
        assert_eq!(beside.sockets, alone.sockets, "the same sockets, in key order");
        assert!(beside.sockets.windows(2).all(|w| w[0].key() < w[1].key()));
    }
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let s = b.build(obs, info(), None);
    let nginx = s.process(Pid(10)).expect("nginx");
    assert_eq!((nginx.socket_count, nginx.listener_count, nginx.bytes_sent), (3 * copies, copies, 300 * copies));
    let app_child = s.process(Pid(21)).expect("app-child");
    assert_eq!((app_child.socket_count, app_child.bytes_received), (copies, 50 * copies));
    let l443 = s.listeners.values().find(|l| l.port == 443).expect("listener");
    assert_eq!(l443.inbound_count, 2 * copies);
    assert_eq!(s.health.unowned, UnownedCounts { total: 2 * copies, kernel_held: copies, not_permitted: 0, not_found: copies });
    let db = s.endpoints.get(&EndpointKey::host("198.51.100.9".parse().expect("ip"))).expect("endpoint");
    assert_eq!((db.connection_count, db.process_count), (3 * copies, 2));
}

#[test]
fn graph_folds_sockets_into_typed_edges() {
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let s = b.build(web_host(1_000), info(), None);
    let edges = s.graph.edges();
    let kinds = |k: EdgeKind| edges.iter().filter(|e| e.2.kind == k).count();
    assert_eq!(kinds(EdgeKind::ListenerBinding), 2);
    assert_eq!(kinds(EdgeKind::InboundConnection), 2, "two client endpoints into the 443 listener");
    // Outbound: pid 20's two ESTABLISHED sockets fold into one edge; the
    // unowned TIME_WAIT and established sockets leave from the host node.
    let out: Vec<_> = edges.iter().filter(|e| e.2.kind == EdgeKind::OutboundConnection && e.0 != NodeRef::Host).collect();
    assert_eq!(out.len(), 1);
    let from_host: Vec<_> = edges.iter().filter(|e| e.0 == NodeRef::Host).map(|e| (e.2.connection.state, e.2.connection.remote_port)).collect();
    assert_eq!(from_host, vec![(SocketState::TimeWait, 5432), (SocketState::Established, 80)]);
    let e = &out[0].2.connection;
    assert_eq!((e.socket_count, e.remote_port, e.local_port, e.inode, e.bytes_sent), (2, 5432, 0, 0, 200));
    assert_eq!(out[0].0, NodeRef::Process(Pid(20)));
    assert_eq!(out[0].1, NodeRef::Endpoint(EndpointKey::host("198.51.100.9".parse().expect("ip"))));
    // Node count: processes 10, 20, 30 with edges, 2 listeners, endpoints (all drawn).
    assert!(s.graph.index_of(NodeRef::Process(Pid(10))).is_some());
    assert_eq!(s.graph.edges_of(NodeRef::Process(Pid(10))).len(), 1);
    // Relationships read off the graph: who talks with the database, and
    // which of its sockets a process owns (pid 21 shares socket 5).
    let db: std::net::IpAddr = "198.51.100.9".parse().expect("ip");
    let cookies = |v: Vec<usize>| v.into_iter().map(|i| s.sockets[i].key().cookie).collect::<Vec<_>>();
    assert_eq!(cookies(s.sockets_with(db, None)), vec![4, 5, 6]);
    assert_eq!(cookies(s.sockets_with(db, Some(Pid(21)))), vec![5]);
    assert_eq!(s.graph.talkers(EndpointKey::host(db), &s.sockets), vec![(None, 1), (Some(Pid(20)), 2), (Some(Pid(21)), 1)]);
    let reached: Vec<NodeRef> = s.graph.reached_by(Pid(20)).into_iter().map(|(n, _)| n).collect();
    assert_eq!(reached, vec![NodeRef::Endpoint(EndpointKey::host(db))]);
    // The nginx clients reach it through its listener.
    let client: std::net::IpAddr = "203.0.113.7".parse().expect("ip");
    assert_eq!(cookies(s.sockets_with(client, Some(Pid(10)))), vec![2]);
}

#[test]
fn history_gives_age_rates_and_new_connection_counts() {
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    b.build(web_host(1_000), info(), None);
    let mut next = web_host(3_000);
    next.sockets[1].tcp = Some(TcpCounters { bytes_acked: 4_100, bytes_received: 2_050, rtt_us: 10, min_rtt_us: None });
    next.sockets.push(sock(9, SocketState::Established, "10.0.0.5:40009", "198.51.100.9:5432", 19, &[20]));
    let s = b.build(next, info(), None);
    assert_eq!(s.generation, 2);
    let inbound = s.socket(SocketKey { protocol: Protocol::Tcp, cookie: 2 }).expect("socket");
    assert_eq!((inbound.first_seen_ms, inbound.age()), (1_000, Some(SocketAge { ms: 2_000, bound: AgeBound::AtLeast })));
    assert_eq!((inbound.send_rate(), inbound.recv_rate()), (Some(2_000), Some(1_000)));
    let db = s.endpoints.get(&EndpointKey::host("198.51.100.9".parse().expect("ip"))).expect("endpoint");
    assert!((db.new_per_minute - 1.0).abs() < f64::EPSILON, "one new connection in the last minute");
    let series: Vec<_> = b.history().series().collect();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].0.process, "/usr/bin/app");
    assert_eq!(series[0].1.front().map(|c| c.pid), Some(20));
}

#[test]
fn ages_are_exact_lower_or_upper_bounds_or_unknown_over_three_refreshes() {
    let tcp = |c: u64| SocketKey { protocol: Protocol::Tcp, cookie: c };
    let udp = |c: u64| SocketKey { protocol: Protocol::Udp, cookie: c };
    let host = |t: i64| {
        let mut obs = web_host(t);
        // nginx started at 400 ms; dnsd's start is unknown (0).
        obs.processes[0].start_time_ms = 400;
        obs.sockets[5].tcp = None; // TIME_WAIT has no tcp_info
        obs
    };
    let at = |ms: i64, bound: AgeBound| Some(SocketAge { ms, bound });
    let listener_edge = |s: &Snapshot| {
        s.graph.edges().iter().find(|e| e.2.kind == EdgeKind::ListenerBinding && e.2.connection.local_port == 443).map(|e| e.2.connection.duration_ms)
    };
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));

    // First refresh: nothing was seen appearing.
    let s = b.build(host(1_000), info(), None);
    let age = |c: SocketKey| s.socket(c).and_then(super::super::socket::Socket::age);
    assert_eq!(age(tcp(1)), at(600, AgeBound::AtMost), "a listener is at most as old as its owner");
    assert_eq!(age(tcp(2)), None, "a connection already there: unknown, not 0");
    assert_eq!(age(udp(7)), None, "a listener whose owner's start is unknown");
    let rates = |c: SocketKey| s.socket(c).map(|x| (x.send_rate(), x.recv_rate()));
    assert_eq!(rates(tcp(2)), Some((None, None)), "no previous counters: no rate");
    assert_eq!(listener_edge(&s), Some(0), "an owner's upper bound is not a time since first seen");

    // Second refresh: a lower bound for what was there, exact for what appeared.
    let mut next = host(3_000);
    next.sockets.push(sock(9, SocketState::Established, "10.0.0.5:40009", "198.51.100.9:5432", 19, &[20]));
    let s = b.build(next, info(), None);
    let age = |c: SocketKey| s.socket(c).and_then(super::super::socket::Socket::age);
    assert_eq!(age(tcp(1)), at(2_000, AgeBound::AtLeast), "both bounds known: the lower one is shown");
    assert_eq!(age(tcp(2)), at(2_000, AgeBound::AtLeast));
    assert_eq!(age(tcp(9)), at(0, AgeBound::Exact));
    assert_eq!(s.socket(tcp(9)).map(super::super::socket::Socket::send_rate), Some(None), "first sighting: no rate");
    assert_eq!(s.socket(tcp(2)).map(super::super::socket::Socket::send_rate), Some(Some(0)), "known and idle");

    // Third refresh: the new connection's age grows exactly; a listener
    // that appears now is exact too.
    let mut next = host(5_000);
    next.sockets.push(sock(9, SocketState::Established, "10.0.0.5:40009", "198.51.100.9:5432", 19, &[20]));
    next.sockets.push(sock(10, SocketState::Listen, "0.0.0.0:8080", "0.0.0.0:0", 20, &[10]));
    let s = b.build(next, info(), None);
    let age = |c: SocketKey| s.socket(c).and_then(super::super::socket::Socket::age);
    assert_eq!(age(tcp(9)), at(2_000, AgeBound::Exact));
    assert_eq!(age(tcp(10)), at(0, AgeBound::Exact));
    assert_eq!(age(tcp(2)), at(4_000, AgeBound::AtLeast));
    assert_eq!(age(tcp(6)), at(4_000, AgeBound::AtLeast));
    assert_eq!(s.socket(tcp(6)).map(super::super::socket::Socket::send_rate), Some(None), "TIME_WAIT: no counters, no rate");
    assert_eq!(s.socket(udp(7)).map(super::super::socket::Socket::recv_rate), Some(None), "UDP: no counters, no rate");
    assert_eq!(listener_edge(&s), Some(4_000));
}

#[test]
fn crowded_maps_are_grouped_as_the_spec_says() {
    let mut spec = Spec::embedded();
    spec.layout.max_neighbors.large = 4;
    let mut b = SnapshotBuilder::new(Arc::new(spec));
    let mut obs = Observation { taken_at_ms: 1, processes: vec![proc_facts(10, "crawler")], privileged: true, ..Observation::default() };
    for i in 0..20u32 {
        obs.sockets.push(sock(
            u64::from(i) + 1,
            SocketState::Established,
            &format!("10.0.0.5:{}", 40_000 + i),
            &format!("203.0.113.{}:443", i + 1),
            100 + i,
            &[10],
        ));
    }
    obs.sockets.push(sock(99, SocketState::Established, "10.0.0.5:39999", "198.51.100.1:443", 99, &[10]));
    let s = b.build(obs, info(), None);
    assert_eq!(s.endpoints.len(), 21, "the table keeps every endpoint");
    assert_eq!(s.graph.groups.len(), 1);
    assert_eq!(s.graph.groups[0].label, "203.0.113.0/24");
    assert_eq!(s.graph.groups[0].member_count, 20);
    let group = NodeRef::Group(0);
    assert_eq!(s.graph.slot_of(EndpointKey::host("203.0.113.5".parse().expect("ip"))), group);
    // Edges reach the members themselves; the group is how they are drawn.
    assert_eq!(s.graph.members(0).len(), 20);
    let to_group: u64 = s.graph.members(0).iter().flat_map(|m| s.graph.edges_of(NodeRef::Endpoint(*m))).map(|(_, e)| e.connection.socket_count).sum();
    assert_eq!(to_group, 20);
    assert_eq!(s.graph.slots.len(), 2, "the group and 198.51.100.1");
    let talkers = s.graph.talkers(EndpointKey::host("203.0.113.5".parse().expect("ip")), &s.sockets);
    assert_eq!(talkers, vec![(Some(Pid(10)), 1)], "who talks to a grouped address stays exact");
}

#[test]
fn evaluator_findings_are_sorted_into_the_snapshot() {
    use crate::model::{Finding, Severity, Subject};
    struct Two;
    impl Evaluator for Two {
        fn evaluate(&mut self, s: &Snapshot, _: &History) -> Vec<Finding> {
            let mk = |id: &str, severity| Finding {
                id: id.into(),
                first_seen_ms: s.taken_at_ms,
                last_seen_ms: s.taken_at_ms,
                ..Finding::bare(id, severity, Subject::Process { pid: Pid(10) })
            };
            vec![mk("a", Severity::Low), mk("b", Severity::Critical)]
        }
    }
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let s = b.build(web_host(1), info(), Some(&mut Two));
    assert_eq!(s.findings.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), vec!["b", "a"]);
}

#[test]
fn an_endpoint_reached_from_two_namespaces_is_one_endpoint_with_both_talkers() {
    use crate::model::two_namespaces::{CONTAINER_NS, snapshot};
    let s = snapshot(None);
    let ip: std::net::IpAddr = "203.0.113.9".parse().expect("ip");
    assert_eq!(s.endpoints_at(ip).collect::<Vec<_>>(), [EndpointKey::host(ip)], "one endpoint, not one per namespace");
    let node = s.endpoints.get(&EndpointKey::host(ip)).expect("the endpoint");
    assert_eq!((node.connection_count, node.process_count, node.netns), (2, 2, None));
    let talkers = s.graph.talkers(EndpointKey::host(ip), &s.sockets);
    assert_eq!(talkers, [(Some(Pid(10)), 1), (Some(Pid(20)), 1)], "the host's curl and the container's agent");
    // The container's loopback stays its own.
    let lo: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    assert_eq!(s.endpoints_at(lo).collect::<Vec<_>>(), [EndpointKey::of(lo, Some(CONTAINER_NS))]);
}

#[test]
fn a_full_map_makes_room_for_parties_with_findings() {
    use crate::model::graph_build::{Crowding, build_graph};
    use crate::model::parties::Party;
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let s = b.build(web_host(1_000), info(), None);
    let crowding = Crowding { grouping: &[], max_neighbors: 4 };
    let mut g = build_graph(&s.sockets, None, &s.endpoints, crowding);
    assert_eq!(g.slots.len(), 4, "four socket endpoints fill a map with room for four");
    let edges = g.edge_count();
    let party = |ip: &str, severity| Party { endpoint: EndpointKey::host(ip.parse().expect("ip")), severity, alerts: true, logins: false };
    // Only the critical one is notable (a low finding waits for room).
    let ps = [party("203.0.113.99", Some(crate::terms::Severity::Critical)), party("192.0.2.7", Some(crate::terms::Severity::Low)), party("192.0.2.8", None)];
    g.add_parties(&ps, &s.endpoints, crowding);
    assert_eq!(g.slots.len(), 4, "the room stays the room: {:?}", g.slots);
    assert!(g.slots.contains(&NodeRef::Endpoint(ps[0].endpoint)), "the critical party has a slot of its own: {:?}", g.slots);
    let labels: Vec<&str> = g.groups.iter().map(|x| x.label.as_str()).collect();
    assert_eq!(labels, vec!["+3 more", "+2 parties"], "socket endpoints regrouped into the rest, the other parties folded");
    assert_eq!(g.slot_of(ps[2].endpoint), NodeRef::Group(1));
    assert_eq!(g.edge_count(), edges, "no edge lost or added");
    let talkers: u64 = g.talkers(EndpointKey::host("198.51.100.9".parse().expect("ip")), &s.sockets).iter().map(|t| t.1).sum();
    assert_eq!(talkers, 4, "relationships are read as before (two sockets, one shared by two owners, one unowned)");
}

#[test]
fn a_gone_snapshot_s_socket_table_is_written_into_by_the_next() {
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let first = b.build(web_host(1_000), info(), None);
    let table = first.sockets.as_ptr();
    // A copy shares nothing; the original goes, and its table with it.
    let copy = first.clone();
    drop(first);
    let second = b.build(web_host(2_000), info(), None);
    assert_eq!(second.sockets.as_ptr(), table, "the next snapshot reuses the table");
    assert_eq!(second.sockets.len(), copy.sockets.len());
    assert_eq!(second.sockets.iter().map(Socket::key).collect::<Vec<_>>(), copy.sockets.iter().map(Socket::key).collect::<Vec<_>>());
    // While a snapshot lives, its table is its own.
    let third = b.build(web_host(3_000), info(), None);
    assert_ne!(third.sockets.as_ptr(), second.sockets.as_ptr());
    assert_eq!(third.sockets.len(), 8);
}

#[test]
fn the_evaluator_is_lent_the_dump_s_emptied_row_table() {
    use crate::model::Finding;
    /// What the builder lent, seen from the evaluator.
    #[derive(Default)]
    struct Lent {
        room: Option<(usize, usize, usize)>,
    }
    impl Evaluator for Lent {
        fn evaluate(&mut self, _: &Snapshot, _: &History) -> Vec<Finding> {
            Vec::new()
        }
        fn lend_room(&mut self, room: Vec<RawSocket>) {
            self.room = Some((room.as_ptr() as usize, room.len(), room.capacity()));
        }
    }
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let obs = web_host(1);
    let (rows, at) = (obs.sockets.len(), obs.sockets.as_ptr() as usize);
    let mut lent = Lent::default();
    let s = b.build(obs, info(), Some(&mut lent));
    assert_eq!(s.sockets.len(), rows, "every row became a socket");
    assert_eq!(lent.room, Some((at, 0, rows)), "the rows' own memory, emptied, with room for as many rows");
}
