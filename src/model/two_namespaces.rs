//! A test host with two network namespaces: the observer's own (`host`)
//! and a container's (`web-ns`). Both reach 203.0.113.9:443; the container
//! also talks to its own loopback listener on 127.0.0.1:4444. The modules
//! that show namespaces (exports, filter, MCP, rules) test against it.

use std::sync::Arc;

use super::{
    Container, Evaluator, NamespaceInfo, NamespaceStatus, NetNs, Observation, Pid, ProcessFacts, Protocol, RawSocket, Runtime, Snapshot, SnapshotBuilder,
    SocketKey, SocketState, SourceInfo, SourceKind, TcpCounters, Workload,
};

/// The observer's own namespace.
pub const HOST_INODE: u32 = 4_026_531_840;
/// The container's namespace.
pub const CONTAINER_NS: NetNs = NetNs(4_026_532_301);
/// Its container id (short).
pub const CONTAINER_ID: &str = "0123456789ab";

fn sock(cookie: u64, state: SocketState, local: &str, remote: &str, inode: u32, owner: u32, netns: Option<NetNs>) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state,
        local: local.parse().expect("local"),
        remote: remote.parse().expect("remote"),
        inode,
        uid: 1000,
        owners: crate::model::Owners::one(Pid(owner)),
        tcp: Some(TcpCounters { bytes_acked: 100, bytes_received: 50, rtt_us: 10, min_rtt_us: None }),
        recv_queue: 0,
        send_queue: 0,
        netns,
    }
}

/// One refresh of the host at `t`.
pub fn observation(t: i64) -> Observation {
    let ns = Some(CONTAINER_NS);
    let container = Container {
        runtime: Runtime::Docker,
        id: CONTAINER_ID.into(),
        full_id: format!("{CONTAINER_ID}{}", "0".repeat(52)),
        name: Some("web".into()),
        ..Container::default()
    };
    Observation {
        taken_at_ms: t,
        sockets: vec![
            sock(1, SocketState::Established, "10.0.0.5:40000", "203.0.113.9:443", 11, 10, None),
            sock(2, SocketState::Established, "172.17.0.2:40001", "203.0.113.9:443", 21, 20, ns),
            sock(3, SocketState::Established, "127.0.0.1:40002", "127.0.0.1:4444", 22, 20, ns),
            sock(4, SocketState::Listen, "127.0.0.1:4444", "0.0.0.0:0", 23, 20, ns),
            sock(5, SocketState::Listen, "0.0.0.0:8080", "0.0.0.0:0", 12, 10, None),
        ],
        processes: vec![
            ProcessFacts { pid: 10, name: "curl".into(), exe: Some("/usr/bin/curl".into()), uid: 1000, ..ProcessFacts::default() },
            ProcessFacts {
                pid: 20,
                name: "agent".into(),
                exe: Some("/opt/agent".into()),
                uid: 1000,
                netns: ns,
                workload: Workload { container: Some(container), ..Workload::default() },
                ..ProcessFacts::default()
            },
        ],
        privileged: true,
        namespaces: vec![
            NamespaceInfo { inode: HOST_INODE, name: "host".into(), processes: 1, sockets: 2, status: NamespaceStatus::Own, read_at_ms: Some(t) },
            NamespaceInfo { inode: CONTAINER_NS.0, name: "web-ns".into(), processes: 1, sockets: 3, status: NamespaceStatus::Entered, read_at_ms: Some(t) },
        ],
        ..Observation::default()
    }
}

/// The snapshot of one refresh, with findings from `evaluator` if given.
pub fn snapshot(evaluator: Option<&mut dyn Evaluator>) -> Snapshot {
    let mut b = SnapshotBuilder::new(Arc::new(crate::spec::Spec::embedded()));
    b.build(observation(1_000), SourceInfo { kind: SourceKind::Replay, host: "test".into(), detail: String::new() }, evaluator)
}
