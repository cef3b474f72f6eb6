use std::sync::Arc;

use super::*;
use crate::model::{Observation, SourceInfo, SourceKind};
use crate::model::{Pid, ProcessFacts, Protocol, RawSocket, Snapshot, SnapshotBuilder, SocketState, TcpCounters, view};
use crate::spec::Spec;

fn sock(cookie: u64, state: SocketState, local: &str, remote: &str, owners: &[u32]) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state,
        local: local.parse().expect("local"),
        remote: remote.parse().expect("remote"),
        inode: cookie as u32 + 10,
        uid: 1000,
        owners: owners.iter().map(|&p| Pid(p)).collect(),
        tcp: Some(TcpCounters::default()),
        recv_queue: 0,
        send_queue: 0,
        netns: None,
    }
}

fn finding(rule: &str, severity: Severity, subject: Subject, tags: &[&str]) -> Finding {
    Finding { tags: tags.iter().map(ToString::to_string).collect(), ..Finding::bare(rule, severity, subject) }
}

fn key(cookie: u64) -> SocketKey {
    SocketKey { protocol: Protocol::Tcp, cookie }
}

fn ep(ip: &str) -> EndpointKey {
    EndpointKey::host(ip.parse().expect("ip"))
}

/// A listener, an accepted connection, two connections to a database (one
/// shared by a parent and child), one unowned connection; findings about a
/// process, an endpoint and sockets.
fn flagged() -> Snapshot {
    let obs = Observation {
        taken_at_ms: 1_000,
        sockets: vec![
            sock(1, SocketState::Listen, "0.0.0.0:443", "0.0.0.0:0", &[10]),
            sock(2, SocketState::Established, "10.0.0.5:443", "203.0.113.7:50000", &[10]),
            sock(3, SocketState::Established, "10.0.0.5:40000", "198.51.100.9:5432", &[20]),
            sock(4, SocketState::Established, "10.0.0.5:40001", "198.51.100.9:5432", &[20, 21]),
            sock(5, SocketState::Established, "10.0.0.5:40003", "198.51.100.10:80", &[]),
            // Same owner and endpoint as 3; same owner, an endpoint without findings.
            sock(6, SocketState::Established, "10.0.0.5:40004", "198.51.100.9:5432", &[20]),
            sock(7, SocketState::Established, "10.0.0.5:40005", "192.0.2.1:443", &[20]),
        ],
        processes: [(10, "nginx"), (20, "app"), (21, "app-child"), (30, "idle")]
            .into_iter()
            .map(|(pid, name)| ProcessFacts { pid, name: name.into(), ..ProcessFacts::default() })
            .collect(),
        privileged: true,
        ..Observation::default()
    };
    let mut b = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let mut s = b.build(obs, SourceInfo { kind: SourceKind::Replay, host: "test".into(), detail: String::new() }, None);
    s.set_findings(vec![
        finding("proc_rule", Severity::High, Subject::Process { pid: Pid(20) }, &["x"]),
        finding("ep_rule", Severity::Medium, Subject::Endpoint { endpoint: ep("198.51.100.9") }, &["y"]),
        finding("sock_rule", Severity::Critical, Subject::Socket { socket: key(2), pid: Some(Pid(10)) }, &["z", "x"]),
        finding("sock_rule", Severity::Low, Subject::Socket { socket: key(5), pid: None }, &[]),
        finding("proc_rule", Severity::Medium, Subject::Process { pid: Pid(21) }, &["x"]),
    ]);
    s
}

fn socket_facts(s: &Snapshot, cookie: u64) -> Option<&Facts> {
    s.socket(key(cookie)).and_then(|x| s.socket_facts(x))
}

fn rules(f: Option<&Facts>) -> Vec<&str> {
    f.map(|f| f.rule_ids.iter().map(String::as_str).collect()).unwrap_or_default()
}

#[test]
fn sockets_gather_their_own_their_owners_and_their_endpoints_findings() {
    let s = flagged();
    assert_eq!(socket_facts(&s, 1), None, "nothing about the listener or its owner as a process");
    let accepted = socket_facts(&s, 2).expect("socket finding");
    assert_eq!(accepted.severity, Severity::Critical);
    assert_eq!(s.worst_finding(accepted).map(|f| f.rule_id.as_str()), Some("sock_rule"));
    let db = socket_facts(&s, 3).expect("process and endpoint findings");
    assert_eq!(db.severity, Severity::High);
    assert_eq!(s.worst_finding(db).map(|f| (f.rule_id.as_str(), f.severity)), Some(("proc_rule", Severity::High)));
    assert_eq!(rules(Some(db)), ["ep_rule", "proc_rule"]);
    assert_eq!(db.tags, ["x", "y"]);
    let shared = socket_facts(&s, 4).expect("two owners");
    assert_eq!(shared.findings.len(), 3, "both owners' findings and the endpoint's");
    assert_eq!(rules(Some(shared)), ["ep_rule", "proc_rule"], "sorted, without duplicates");
    assert_eq!(socket_facts(&s, 5).map(|f| f.severity), Some(Severity::Low));
    assert_eq!(socket_facts(&s, 6), socket_facts(&s, 3), "same owner, same endpoint: same facts");
    assert_eq!(rules(socket_facts(&s, 7)), ["proc_rule"], "its owner's findings only");
}

#[test]
fn processes_and_endpoints_gather_their_own_and_their_sockets_findings() {
    let s = flagged();
    let nginx = s.index.process(Pid(10)).expect("its socket's finding");
    assert_eq!((nginx.severity, rules(Some(nginx))), (Severity::Critical, vec!["sock_rule"]));
    let app = s.index.process(Pid(20)).expect("its own finding");
    assert_eq!((app.severity, rules(Some(app))), (Severity::High, vec!["proc_rule"]), "not its endpoint's");
    assert_eq!(s.index.process(Pid(21)).map(|f| f.severity), Some(Severity::Medium));
    assert_eq!(s.index.process(Pid(30)), None);
    let db = s.index.endpoint(ep("198.51.100.9")).expect("its own finding");
    assert_eq!((db.severity, rules(Some(db))), (Severity::Medium, vec!["ep_rule"]), "not its talkers' process findings");
    assert_eq!(s.index.endpoint(ep("203.0.113.7")).map(|f| f.severity), Some(Severity::Critical), "a socket finding counts for its remote");
    assert_eq!(s.index.endpoint(ep("198.51.100.10")).map(|f| f.severity), Some(Severity::Low));
    assert_eq!(s.index.endpoint(ep("0.0.0.0")), None);
}

#[test]
fn the_index_agrees_with_scanning_every_finding() {
    let s = flagged();
    for (i, sock) in s.sockets.iter().enumerate() {
        let scanned: Vec<u32> = s.findings.iter().enumerate().filter(|(_, f)| view::finding_about_socket(f, sock)).map(|(j, _)| j as u32).collect();
        let indexed = s.index.socket(i).map(|f| f.findings.clone()).unwrap_or_default();
        assert_eq!(indexed, scanned, "socket {}", sock.key());
        let worst = scanned.first().map(|&j| j as usize);
        assert_eq!(s.index.socket(i).map(|f| f.worst), worst, "findings are sorted: the first is the worst");
    }
}

#[test]
fn changing_sockets_or_findings_keeps_the_index_in_step() {
    let mut s = flagged();
    assert_eq!(s.findings[0].severity, Severity::Critical, "set_findings sorts");
    s.retain_sockets(&crate::spec::Spec::embedded(), |x| x.key() != key(2));
    assert_eq!(socket_facts(&s, 3).map(|f| f.severity), Some(Severity::High), "positions moved, facts followed");
    assert_eq!(s.index.socket(s.sockets.len()), None);
    s.set_findings(Vec::new());
    assert!(s.sockets.iter().all(|x| s.socket_facts(x).is_none()));
    assert_eq!(s.index.distinct_sets(), 0);
}

/// The default list order: worst first, ties and sockets without a
/// finding in key order, every socket once.
#[test]
fn the_severity_order_is_worst_first_then_key_order() {
    let s = flagged();
    let cookies: Vec<u64> = s.order.by_severity.iter().map(|&i| s.sockets[i as usize].key().cookie).collect();
    // 2 critical; 3, 4, 6, 7 high (their owner); 5 low; the listener last.
    assert_eq!(cookies, [2, 3, 4, 6, 7, 5, 1]);
    let mut s = s;
    s.set_findings(Vec::new());
    assert_eq!(s.order.by_severity, (0..s.sockets.len() as u32).collect::<Vec<_>>());
}
