use super::*;
use crate::model::TcpCounters;

const OWN: u32 = 4_026_531_833;
const OTHER: u32 = 4_026_532_301;

fn raw(cookie: u64, state: SocketState, local: &str, remote: &str, owner: Option<u32>, netns: Option<NetNs>) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state,
        local: local.parse().expect("addr"),
        remote: remote.parse().expect("addr"),
        inode: if owner.is_some() { 1000 + cookie as u32 } else { 0 },
        uid: 0,
        owners: owner.map(Pid).into_iter().collect(),
        tcp: None,
        recv_queue: 0,
        send_queue: 0,
        netns,
    }
}

fn destroyed(cookie: u64, local: &str, remote: &str, connected: bool) -> DestroyedSocket {
    DestroyedSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state: SocketState::Close,
        local: local.parse().expect("addr"),
        remote: remote.parse().expect("addr"),
        uid: 0,
        tcp: Some(TcpCounters { bytes_acked: if connected { 12 } else { 0 }, bytes_received: 0, rtt_us: 0, min_rtt_us: connected.then_some(9) }),
        at_ms: 5_000,
    }
}

fn record(pid: u32, local: &str, remote: &str, outcome: ConnectOutcome) -> ConnectRecord {
    ConnectRecord {
        at_ms: 4_990,
        tid: pid,
        pid,
        comm: "beacon".into(),
        local: local.parse().expect("addr"),
        remote: remote.parse().expect("addr"),
        outcome,
        net_ns: Some(u64::from(OWN)),
    }
}

#[test]
fn a_socket_a_dump_saw_keeps_its_owner_even_two_dumps_later() {
    let mut c = Closing::new();
    let first = [raw(7, SocketState::Established, "10.0.0.5:40000", "203.0.113.9:443", Some(42), None)];
    assert!(c.attribute(Vec::new(), Vec::new(), false, &first, OWN, 1_000).is_empty());
    // Gone from the next dump; its event arrives one refresh later.
    c.attribute(Vec::new(), Vec::new(), false, &[], OWN, 2_000);
    let out = c.attribute(vec![(u64::from(OWN), destroyed(7, "10.0.0.5:40000", "203.0.113.9:443", true))], Vec::new(), false, &[], OWN, 3_000);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].pid, out[0].owner_source, out[0].seen_in_dump, out[0].netns), (Some(Pid(42)), OwnerSource::Dump, true, None));
    assert_eq!(c.stats.from_dump, 1);
}

#[test]
fn a_millisecond_connection_is_named_by_its_connect_record_and_accepted_ones_by_their_listener() {
    let mut c = Closing::new();
    let dump = [raw(1, SocketState::Listen, "127.0.0.1:8080", "0.0.0.0:0", Some(7), Some(NetNs(OTHER)))];
    let connect = record(99, "127.0.0.1:51000", "127.0.0.1:8080", ConnectOutcome::Established);
    let events = vec![
        (u64::from(OTHER), destroyed(20, "127.0.0.1:51000", "127.0.0.1:8080", true)),
        (u64::from(OTHER), destroyed(21, "127.0.0.1:8080", "127.0.0.1:51000", true)),
        (u64::from(OWN), destroyed(22, "127.0.0.1:51001", "127.0.0.1:9999", true)),
    ];
    let out = c.attribute(events, vec![connect], true, &dump, OWN, 5_000);
    let by_cookie = |k: u64| out.iter().find(|x| x.key().cookie == k).expect("closed");
    let client = by_cookie(20);
    assert_eq!((client.pid, client.owner_source, client.direction), (Some(Pid(99)), OwnerSource::ConnectTrace, Direction::Outbound));
    assert_eq!((client.started_ms, client.comm.as_deref(), client.netns), (Some(4_990), Some("beacon"), Some(NetNs(OTHER))));
    let server = by_cookie(21);
    assert_eq!((server.pid, server.owner_source, server.direction), (Some(Pid(7)), OwnerSource::Listener, Direction::Inbound));
    let unknown = by_cookie(22);
    assert_eq!((unknown.pid, unknown.owner_source), (None, OwnerSource::Unknown), "no dump, record or listener names it");
    assert_eq!((c.stats.from_trace, c.stats.from_listener, c.stats.unknown), (1, 1, 1));
}

#[test]
fn with_tracing_failed_connects_come_from_records_and_their_portless_events_are_not_counted_twice() {
    let mut c = Closing::new();
    let refused = record(5, "0.0.0.0:51002", "127.0.0.7:20001", ConnectOutcome::Failed);
    // The destroy event of a refused connect has lost its remote port.
    let event = (u64::from(OWN), destroyed(30, "0.0.0.0:51002", "127.0.0.7:0", false));
    let out = c.attribute(vec![event.clone()], vec![refused], true, &[], OWN, 5_000);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!((out[0].pid, out[0].established, out[0].socket.remote.port()), (Some(Pid(5)), false, 20001));
    // Without tracing the event is all there is: a failed attempt, owner unknown.
    let mut c = Closing::new();
    let out = c.attribute(vec![event], Vec::new(), false, &[], OWN, 5_000);
    assert_eq!((out.len(), out[0].established, out[0].pid), (1, false, None));
}

#[test]
fn a_record_waits_for_its_event_unless_a_dump_shows_the_socket() {
    let mut c = Closing::new();
    let r = record(9, "127.0.0.1:52000", "127.0.0.1:8080", ConnectOutcome::Established);
    assert!(c.attribute(Vec::new(), vec![r.clone()], true, &[], OWN, 1_000).is_empty());
    // The event arrives a refresh later and still finds its record.
    let out = c.attribute(vec![(u64::from(OWN), destroyed(40, "127.0.0.1:52000", "127.0.0.1:8080", true))], Vec::new(), true, &[], OWN, 2_000);
    assert_eq!(out[0].pid, Some(Pid(9)));
    // A record whose socket a dump shows is dropped: the dump counts it.
    let mut c = Closing::new();
    let open = [raw(41, SocketState::Established, "127.0.0.1:52000", "127.0.0.1:8080", Some(9), None)];
    c.attribute(Vec::new(), vec![r], true, &open, OWN, 1_000);
    let out = c.attribute(vec![(u64::from(OWN), destroyed(41, "127.0.0.1:52000", "127.0.0.1:8080", true))], Vec::new(), true, &[], OWN, 2_000);
    assert_eq!((out[0].owner_source, out[0].seen_in_dump), (OwnerSource::Dump, true));
    // A dump that caught the socket without its owner (closed before the
    // owner scan) keeps the record: the event is named by it.
    let mut c = Closing::new();
    let r = record(9, "127.0.0.1:52001", "127.0.0.1:8080", ConnectOutcome::Established);
    let ownerless = [raw(42, SocketState::Established, "127.0.0.1:52001", "127.0.0.1:8080", None, None)];
    c.attribute(Vec::new(), vec![r], true, &ownerless, OWN, 1_000);
    let out = c.attribute(vec![(u64::from(OWN), destroyed(42, "127.0.0.1:52001", "127.0.0.1:8080", true))], Vec::new(), true, &[], OWN, 2_000);
    assert_eq!((out[0].pid, out[0].owner_source, out[0].seen_in_dump), (Some(Pid(9)), OwnerSource::ConnectTrace, true));
}
