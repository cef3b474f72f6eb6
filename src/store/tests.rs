use std::net::IpAddr;
use std::sync::Arc;

use super::query::{alerts_since, baseline, counts, eve_offset, findings_since, processes_for_ip};
use super::recorder::Recorder;
use super::*;
use crate::collect::ReplaySource;
use crate::model::Severity;
use crate::rules::{Engine, IocSet, RuleSet};
use crate::spec::Spec;

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("events.db");
    (dir, path)
}

/// The demo host's snapshots, frame by frame.
fn demo_frames(n: usize) -> Vec<Arc<crate::model::Snapshot>> {
    let mut out = Vec::new();
    for f in 1..=n {
        let mut replay = ReplaySource::from_text(crate::DEMO_SCENARIO, crate::DEMO_NAME).expect("demo");
        let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
        out.push(Arc::new(replay.build_through(Arc::new(Spec::embedded()), Some(f), Some(&mut engine)).0.expect("frame")));
    }
    out
}

#[test]
fn migrations_run_once_and_a_newer_store_is_refused() {
    let (_dir, path) = temp_db();
    let conn = open(&path).expect("create");
    let v: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(v, schema::current_version());
    drop(conn);
    let conn = open(&path).expect("reopen: nothing to migrate");
    assert_eq!(counts(&conn).expect("counts").len(), 8);
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    assert!(matches!(open(&path), Err(StoreError::TooNew { found: 99, .. })));
}

#[test]
fn recorded_snapshots_round_trip() {
    let (_dir, path) = temp_db();
    let mut conn = open(&path).expect("open");
    let frames = demo_frames(3);
    let mut rec = Recorder::default();
    for f in &frames {
        write(&mut conn, &rec.record(f)).expect("write");
    }
    let reader = open_reader(&path).expect("reader");
    // The reverse shell's peer: bash talked to it, and findings name it.
    let ip: IpAddr = "203.0.113.200".parse().expect("ip");
    let procs = processes_for_ip(&reader, ip, 0).expect("processes");
    assert!(procs.iter().any(|p| p.pid == Some(3401) && p.comm.as_deref() == Some("bash")), "{procs:?}");
    let findings = findings_since(&reader, 0, Severity::Critical, None, 100).expect("findings");
    let shell = findings.iter().find(|f| f.rule_id == "reverse_shell_stdio").expect("stored finding");
    assert_eq!(shell.count, 3, "seen in three refreshes");
    assert_eq!(shell.pid, Some(3401));
    assert!(shell.last_seen_ms > shell.first_seen_ms);
    let about = findings_since(&reader, 0, Severity::Info, Some(ip), 100).expect("about ip");
    assert!(about.iter().all(|f| f.endpoint.as_deref() == Some("203.0.113.200")) && !about.is_empty());
}

#[test]
fn sockets_that_go_away_are_closed_with_bytes_and_duration() {
    let frames = demo_frames(40);
    let mut rec = Recorder::default();
    let mut closed = Vec::new();
    let mut opened = 0;
    for f in &frames {
        let b = rec.record(f);
        opened += b.events.iter().filter(|e| e.kind == EventKind::Opened).count();
        closed.extend(b.events.into_iter().filter(|e| e.kind == EventKind::Closed));
    }
    assert!(opened > 0, "the demo opens connections after the first frame");
    let tcp_closed = closed.iter().find(|e| e.protocol == "tcp" && e.duration_ms.is_some_and(|d| d > 0)).expect("a closed tcp connection");
    assert!(tcp_closed.bytes_sent.is_some() && tcp_closed.bytes_received.is_some(), "{tcp_closed:?}");
}

#[test]
fn connections_between_snapshots_are_stored_opened_and_closed_with_final_bytes() {
    use crate::model::{ClosedSocket, DestroyedSocket, Direction, OwnerSource, Pid, Protocol, SocketKey, SocketState, TcpCounters};
    let frames = demo_frames(2);
    let mut rec = Recorder::default();
    rec.record(&frames[0]);
    let mut next = (*frames[1]).clone();
    let short = |cookie: u64, seen: bool, bytes: u64| ClosedSocket {
        socket: DestroyedSocket {
            key: SocketKey { protocol: Protocol::Tcp, cookie },
            state: SocketState::Close,
            local: "10.0.0.5:40001".parse().expect("addr"),
            remote: "203.0.113.9:443".parse().expect("addr"),
            uid: 0,
            tcp: Some(TcpCounters { bytes_acked: bytes, bytes_received: 7, rtt_us: 0, min_rtt_us: Some(5) }),
            at_ms: next.taken_at_ms - 10,
        },
        netns: None,
        pid: Some(Pid(4242)),
        comm: Some("beacon".into()),
        owner_source: OwnerSource::ConnectTrace,
        direction: Direction::Outbound,
        started_ms: Some(next.taken_at_ms - 25),
        seen_in_dump: seen,
        established: true,
    };
    // One never seen by a snapshot; one the first frame showed (its final
    // bytes replace the last polled ones).
    let gone = frames[0].sockets.iter().find(|s| !s.raw.remote.ip().is_unspecified() && frames[1].socket(s.key()).is_none() && s.raw.tcp.is_some());
    let g = gone.expect("the demo closes a connection between its first two frames");
    next.closed.push(short(0xdead_beef, false, 99));
    next.closed.push(short(g.key().cookie, true, 123_456));
    let batch = rec.record(&Arc::new(next));
    let rows: Vec<_> = batch.events.iter().filter(|e| e.socket_id == SocketKey { protocol: Protocol::Tcp, cookie: 0xdead_beef }.to_string()).collect();
    assert_eq!(rows.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::Opened, EventKind::Closed]);
    assert_eq!((rows[1].bytes_sent, rows[1].bytes_received, rows[1].duration_ms), (Some(99), Some(7), Some(15)));
    assert_eq!((rows[1].pid, rows[1].comm.as_deref()), (Some(4242), Some("beacon")));
    let closed = batch.events.iter().find(|e| e.socket_id == g.key().to_string() && e.kind == EventKind::Closed).expect("closed row");
    assert_eq!(closed.bytes_sent, Some(123_456), "final bytes from the destroy event");
}

#[test]
fn alerts_offsets_baselines_and_retention() {
    let (_dir, path) = temp_db();
    let mut conn = open(&path).expect("open");
    let alert = crate::intel::eve::Alert {
        at_ms: 1_000,
        remote: "203.0.113.45".parse().expect("ip"),
        local: Some("10.0.0.5".parse().expect("ip")),
        src_ip: "203.0.113.45".parse().expect("ip"),
        src_port: None,
        dest_ip: "10.0.0.5".parse().expect("ip"),
        dest_port: None,
        proto: "ICMP".into(),
        direction: None,
        flow_id: Some(u64::MAX),
        signature_id: 2_100_366,
        signature: "GPL ICMP_INFO PING".into(),
        category: "Misc activity".into(),
        severity: 3,
        action: Some("allowed".into()),
    };
    let b = crate::baseline::Baseline {
        name: "default".into(),
        host: "h".into(),
        taken_at_ms: 5,
        processes: crate::model::KeySet::new(),
        remote_endpoints: crate::model::KeySet::new(),
        listeners: ["22/tcp/0/sshd".parse().expect("listener")].into(),
        remote_names: ["api.github.com".to_string()].into(),
    };
    let batch = Batch {
        alerts: vec![alert.clone(), crate::intel::eve::Alert { at_ms: 9_000_000, ..alert }],
        offsets: vec![("/var/log/suricata/eve.json".into(), EveOffset { inode: 42, offset: 1234, malformed: 2 })],
        baselines: vec![b.clone()],
        ..Batch::default()
    };
    write(&mut conn, &batch).expect("write");
    let got = alerts_since(&conn, 0, Some("203.0.113.45".parse().expect("ip")), 10).expect("alerts");
    assert_eq!(got.len(), 2);
    assert_eq!((got[1].signature_id, got[1].dest_port, got[1].severity), (2_100_366, None, 3));
    assert_eq!(eve_offset(&conn, "/var/log/suricata/eve.json").expect("offset"), Some(EveOffset { inode: 42, offset: 1234, malformed: 2 }));
    assert_eq!(baseline(&conn, "default").expect("baseline"), Some(b));
    assert_eq!(prune(&conn, 5_000).expect("prune"), 1, "the old alert goes, the new one stays");
    assert_eq!(alerts_since(&conn, 0, None, 10).expect("alerts").len(), 1);
}

#[test]
fn a_stored_socket_event_carries_the_remote_name_seen_at_the_time() {
    use crate::model::{EndpointKey, NameSource};
    let (_dir, path) = temp_db();
    let mut conn = open(&path).expect("open");
    let ip: IpAddr = "203.0.113.200".parse().expect("ip");
    let mut frame = (*demo_frames(1)[0]).clone();
    let e = frame.endpoints.get_mut(&EndpointKey::host(ip)).expect("the shell's peer");
    e.names = vec!["c2.evil.test".into()];
    e.hostname = Some("c2.evil.test".into());
    e.name_source = Some(NameSource::DnsAnswer);
    let mut rec = Recorder::default();
    let batch = rec.record(&Arc::new(frame));
    let ev = batch.events.iter().find(|e| e.remote_ip == ip.to_string()).expect("an event with the peer");
    assert_eq!(ev.remote_name.as_deref(), Some("c2.evil.test"));
    let unnamed: Vec<_> = batch.events.iter().filter(|e| e.remote_ip == "203.0.113.66").collect();
    assert!(!unnamed.is_empty() && unnamed.iter().all(|e| e.remote_name.is_none()), "no name, no guess");
    write(&mut conn, &batch).expect("write");
    let stored: Vec<Option<String>> = conn
        .prepare("SELECT remote_name FROM socket_events WHERE remote_ip = ?1")
        .expect("prepare")
        .query_map([ip.to_string()], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert!(!stored.is_empty() && stored.iter().all(|n| n.as_deref() == Some("c2.evil.test")), "{stored:?}");
}

#[test]
fn a_store_from_before_names_opens_and_migrates_keeping_its_rows() {
    let (_dir, path) = temp_db();
    {
        // A version-1 store, as the first release wrote it, with one event.
        let conn = rusqlite::Connection::open(&path).expect("create");
        conn.execute_batch(schema::MIGRATIONS[0]).expect("v1 schema");
        conn.pragma_update(None, "user_version", 1).expect("version");
        conn.execute(
            "INSERT INTO socket_events (at_ms, kind, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, uid)
             VALUES (5, 'opened', 'tcp:1', 'tcp', 'ESTABLISHED', 'outbound', '10.0.0.5', 40000, '192.0.2.7', 443, 0)",
            [],
        )
        .expect("old row");
    }
    let mut conn = open(&path).expect("an old store opens");
    let v: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(v, schema::current_version());
    let ip: IpAddr = "192.0.2.7".parse().expect("ip");
    let old = super::query::connections_with(&conn, ip, 0, 10).expect("query");
    assert_eq!(old.len(), 1, "the old row is kept");
    assert_eq!(old[0].remote_name, None, "rows from before names have none");
    // New rows carry their name.
    let ev = SocketEvent {
        at_ms: 6,
        kind: EventKind::Closed,
        socket_id: "tcp:1".into(),
        protocol: "tcp",
        state: "CLOSE",
        direction: "outbound".into(),
        local_ip: "10.0.0.5".into(),
        local_port: 40000,
        remote_ip: ip.to_string(),
        remote_port: 443,
        remote_name: Some("www.example.test".into()),
        pid: None,
        comm: None,
        exe: None,
        uid: 0,
        bytes_sent: None,
        bytes_received: None,
        duration_ms: None,
        netns: None,
        namespace: None,
    };
    write(&mut conn, &Batch { events: vec![ev], ..Batch::default() }).expect("write");
    let rows = super::query::connections_with(&conn, ip, 0, 10).expect("query");
    assert_eq!(rows.iter().map(|r| r.remote_name.as_deref()).collect::<Vec<_>>(), [None, Some("www.example.test")]);
}

#[test]
fn socket_events_and_findings_carry_their_namespace_even_for_short_connections() {
    use crate::model::two_namespaces::{CONTAINER_NS, HOST_INODE, snapshot};
    use crate::model::{ClosedSocket, DestroyedSocket, Direction, OwnerSource, Pid, SocketKey, SocketState};
    let mut frame = snapshot(None);
    // A connection in the container's namespace that no dump saw.
    let raw = frame.sockets.iter().find(|s| s.raw.netns == Some(CONTAINER_NS) && s.raw.remote.port() == 443).expect("container socket").raw.clone();
    let gone = DestroyedSocket::from_raw(&crate::model::RawSocket { key: SocketKey { cookie: 99, ..raw.key }, state: SocketState::Close, ..raw }, 900);
    frame.closed.push(ClosedSocket {
        socket: gone,
        netns: Some(CONTAINER_NS),
        pid: Some(Pid(20)),
        comm: None,
        owner_source: OwnerSource::Unknown,
        direction: Direction::Outbound,
        started_ms: Some(890),
        seen_in_dump: false,
        established: true,
    });
    let mut set = RuleSet::empty();
    set.add_text("version: 1\nrules:\n  - { id: p, name: P, severity: low, scope: process, match: { remote_port_in: [443] } }\n", "p.yaml").expect("pack");
    frame.set_findings(Engine::new(set, IocSet::new()).run(&frame, &crate::model::History::default()));
    let batch = Recorder::default().record(&Arc::new(frame));
    let short: Vec<_> = batch.events.iter().filter(|e| e.socket_id.ends_with("0000000000000063")).collect();
    assert_eq!(short.len(), 2, "opened and closed");
    assert!(short.iter().all(|e| e.netns == Some(CONTAINER_NS.0) && e.namespace.as_deref() == Some("web-ns")), "{short:?}");
    let host = batch.events.iter().find(|e| e.local_port == 40000).expect("host connection");
    assert_eq!((host.netns, host.namespace.as_deref()), (Some(HOST_INODE), Some("host")));
    let agent = batch.findings.iter().find(|f| f.pid == Some(20)).expect("the agent's finding");
    assert_eq!((agent.netns, agent.namespace.as_deref()), (Some(CONTAINER_NS.0), Some("web-ns")));

    let (_dir, path) = temp_db();
    let mut conn = open(&path).expect("open");
    write(&mut conn, &batch).expect("write");
    let stored: Vec<(Option<u32>, Option<String>)> = conn
        .prepare("SELECT netns, namespace FROM socket_events WHERE socket_id LIKE '%63' ORDER BY at_ms")
        .expect("sql")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(stored, vec![(Some(CONTAINER_NS.0), Some("web-ns".to_string())); 2]);
    let ns: Option<String> = conn.query_row("SELECT namespace FROM findings WHERE pid = 20", [], |r| r.get(0)).expect("finding");
    assert_eq!(ns.as_deref(), Some("web-ns"));
}

#[test]
fn a_store_from_before_namespaces_migrates_keeping_its_rows_without_one() {
    let (_dir, path) = temp_db();
    {
        // A version-2 store with one event and one finding.
        let conn = rusqlite::Connection::open(&path).expect("create");
        conn.execute_batch(schema::MIGRATIONS[0]).expect("v1 schema");
        conn.execute_batch(schema::MIGRATIONS[1]).expect("v2 schema");
        conn.pragma_update(None, "user_version", 2).expect("version");
        conn.execute(
            "INSERT INTO socket_events (at_ms, kind, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, uid, remote_name)
             VALUES (5, 'opened', 'tcp:1', 'tcp', 'ESTABLISHED', 'outbound', '10.0.0.5', 40000, '192.0.2.7', 443, 0, NULL)",
            [],
        )
        .expect("old event");
        conn.execute(
            "INSERT INTO findings (id, rule_id, rule_name, severity, tags, subject_kind, first_seen_ms, last_seen_ms, count)
             VALUES ('r@pid:1', 'r', 'R', 1, '', 'process', 5, 5, 1)",
            [],
        )
        .expect("old finding");
    }
    let conn = open(&path).expect("an old store opens");
    let v: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(v, schema::current_version());
    let ev: (String, Option<u32>, Option<String>) =
        conn.query_row("SELECT socket_id, netns, namespace FROM socket_events", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("old event kept");
    assert_eq!(ev, ("tcp:1".to_string(), None, None), "rows from before namespaces have none");
    let f: (String, Option<u32>) = conn.query_row("SELECT id, netns FROM findings", [], |r| Ok((r.get(0)?, r.get(1)?))).expect("old finding kept");
    assert_eq!(f, ("r@pid:1".to_string(), None));
}
