//! The ports bound passes wherever a group can reach the count, from
//! sockets open now, from connections started earlier in the window, and
//! from loopback in several namespaces; it refuses below it.

use std::sync::Arc;

use super::ports_may_reach;
use crate::model::{History, Protocol};
use crate::model::{
    NetNs, Observation, Owners, Pid, ProcessFacts, RawSocket, Snapshot, SnapshotBuilder, SocketKey, SocketState, SourceInfo, SourceKind, TcpCounters,
};
use crate::rules::engine::Context;
use crate::rules::{Engine, IocSet, RuleSet};

const PID: u32 = 4242;

/// An outbound socket of the scanner to `remote` (from namespace `netns`).
fn outbound(cookie: u64, remote: &str, netns: Option<NetNs>) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state: SocketState::Established,
        local: format!("10.0.0.5:{}", 30_000 + cookie % 20_000).parse().expect("local"),
        remote: remote.parse().expect("remote"),
        inode: (cookie % 1_000_000) as u32 + 5_000,
        uid: 1000,
        owners: Owners::one(Pid(PID)),
        tcp: Some(TcpCounters { bytes_acked: 1, bytes_received: 1, rtt_us: 100, min_rtt_us: None }),
        recv_queue: 0,
        send_queue: 0,
        netns,
    }
}

/// A refresh at `at_ms` in which the scanner holds one socket to each of
/// `remotes` (address, namespace).
fn refresh(at_ms: i64, remotes: &[(String, Option<NetNs>)]) -> Observation {
    let facts = ProcessFacts {
        pid: PID,
        ppid: 1,
        name: "scan".into(),
        cmdline: "scan".into(),
        exe: Some("/usr/bin/scan".into()),
        uid: 1000,
        ..ProcessFacts::default()
    };
    let sockets = remotes.iter().enumerate().map(|(i, (r, ns))| outbound(at_ms as u64 * 100 + i as u64, r, *ns)).collect();
    Observation { taken_at_ms: at_ms, privileged: true, processes: vec![facts], sockets, ..Observation::default() }
}

/// Ports `from..to` of `host`, seen from the observer's namespace.
fn ports(host: &str, from: u16, to: u16) -> Vec<(String, Option<NetNs>)> {
    (from..to).map(|p| (format!("{host}:{p}"), None)).collect()
}

/// The last of `refreshes` (two seconds apart), its builder's history, and
/// whether the bound passes for ten ports in a minute and the shipped scan
/// rule fires.
fn judge(refreshes: &[Vec<(String, Option<NetNs>)>]) -> (bool, bool) {
    let mut builder = SnapshotBuilder::new(Arc::new(crate::spec::Spec::embedded()));
    let source = || SourceInfo { kind: SourceKind::Replay, host: "scan".into(), detail: "test".into() };
    let mut last: Option<Snapshot> = None;
    for (i, remotes) in refreshes.iter().enumerate() {
        last = Some(builder.build(refresh(1_000_000 + 2_000 * i as i64, remotes), source(), None));
    }
    let last = last.expect("at least one refresh");
    let history: &History = builder.history();
    let ioc = IocSet::new();
    let ctx = Context::new(&last, history, &ioc, None);
    let passes = ports_may_reach(&ctx, last.taken_at_ms, 60_000, 10);
    let found = Engine::new(RuleSet::embedded(), IocSet::new()).run(&last, history);
    (passes, found.iter().any(|f| f.rule_id == "fanout_port_scan"))
}

#[test]
fn open_sockets_to_ten_ports_pass_and_nine_do_not() {
    assert_eq!(judge(&[ports("198.51.100.7", 8000, 8012)]), (true, true), "twelve ports open now");
    assert_eq!(judge(&[ports("198.51.100.7", 8000, 8009)]), (false, false), "nine ports");
    // Nine ports on each of two hosts: no one host reaches ten.
    let two: Vec<_> = ports("198.51.100.7", 8000, 8009).into_iter().chain(ports("198.51.100.8", 8000, 8009)).collect();
    assert_eq!(judge(&[two]), (false, false), "nine ports on each of two hosts");
}

#[test]
fn ports_started_earlier_in_the_window_count_with_those_open_now() {
    // Six ports a refresh ago (closed since), six others now; the first
    // refresh is empty, so both sets are connection starts.
    let (passes, fires) = judge(&[Vec::new(), ports("198.51.100.7", 8000, 8006), ports("198.51.100.7", 9000, 9006)]);
    assert!(fires, "the scan rule counts both refreshes' ports");
    assert!(passes, "so the bound must pass");
}

#[test]
fn loopback_in_two_namespaces_counts_every_namespaces_ports() {
    let ns = |n: u32, from: u16| -> Vec<(String, Option<NetNs>)> { (from..from + 6).map(|p| (format!("127.0.0.1:{p}"), Some(NetNs(n)))).collect() };
    let both: Vec<_> = ns(1, 8000).into_iter().chain(ns(2, 9000)).collect();
    let (passes, fires) = judge(&[both]);
    assert!(fires, "one process reached twelve ports of 127.0.0.1 across two namespaces");
    assert!(passes, "so the bound must pass");
}
