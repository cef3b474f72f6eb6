//! Other network namespaces (root): a listener and a client inside a fresh
//! namespace made with `unshare -n` appear with their namespace and owner,
//! apart from a listener on the same loopback address and port on the host.
//! The namespace dies with its process, which the test kills on drop.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use common::{Watcher, require, spawn_group};
use necromap::model::{Direction, EndpointKey, NamespaceStatus, NetNs, SocketState};

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The namespace inode of a process, from its `ns/net` link.
fn netns_of(pid: u32) -> Option<u32> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    link.to_str()?.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// The pid of the first child of `pid` (unshare execs sh, which forks python).
fn descendant_python(root: u32) -> Option<u32> {
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        let children = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
        for c in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
            if std::fs::read_to_string(format!("/proc/{c}/comm")).is_ok_and(|n| n.trim() == "python3") {
                return Some(c);
            }
            frontier.push(c);
        }
    }
    None
}

#[test]
fn a_listener_and_client_in_another_namespace_appear_with_namespace_and_owner() {
    assert!(is_root(), "this test enters another network namespace: run it as root (CI does)");
    require("unshare");
    require("ip");
    require("python3");
    // The same address and port on the host: must stay a different listener.
    let host_listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = host_listener.local_addr().expect("addr").port();
    let script = format!(
        "ip link set lo up && exec python3 -c \"
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', {port})); s.listen()
c = socket.create_connection(('127.0.0.1', {port})); a, _ = s.accept()
c.sendall(b'x' * 1000); a.recv(1000)
time.sleep(120)
\""
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", "sh", "-c", &script]);
    let child = spawn_group(cmd);

    let mut w = Watcher::new();
    let found = w.until(Duration::from_millis(100), Duration::from_secs(15), |snap| {
        let py = descendant_python(child.0.id()).or_else(|| {
            // `exec` may have replaced sh: the child itself is python.
            (std::fs::read_to_string(format!("/proc/{}/comm", child.0.id())).ok()?.trim() == "python3").then_some(child.0.id())
        })?;
        let inode = netns_of(py)?;
        let ns = Some(NetNs(inode));
        let listener = snap.sockets.iter().find(|s| s.state() == SocketState::Listen && s.raw.local.port() == port && s.raw.netns == ns)?;
        let client = snap.sockets.iter().find(|s| s.raw.remote.port() == port && s.raw.netns == ns && s.state() == SocketState::Established)?;
        // A socket made just before a refresh may get its owner one
        // refresh later (the owner cache re-reads fd tables that changed).
        (!listener.raw.owners.is_empty() && !client.raw.owners.is_empty()).then(|| (py, inode, listener.clone(), client.clone(), snap.clone()))
    });
    let (py, inode, listener, client, snap) = found.expect("the namespace's listener and client appear with owners within 15 s");
    assert_eq!(listener.owner().map(|p| p.0), Some(py), "owner of the namespace's listener");
    assert_eq!(client.owner().map(|p| p.0), Some(py), "owner of the namespace's client");
    assert_eq!(client.direction, Direction::Outbound);
    let ns = Some(NetNs(inode));
    assert_eq!(snap.process(necromap::model::Pid(py)).and_then(|p| p.facts.netns), ns, "the process carries its namespace");
    let info = snap.namespace(ns).expect("the namespace is listed");
    assert_eq!(info.status, NamespaceStatus::Entered);
    assert!(info.sockets >= 3, "listener, client and accepted socket counted: {info:?}");
    assert!(info.name.contains("python3") || info.name.starts_with("pid "), "a readable name: {}", info.name);

    // Same address and port on the host: a second, separate listener.
    let host = snap.sockets.iter().find(|s| s.state() == SocketState::Listen && s.raw.local.port() == port && s.raw.netns.is_none()).expect("host listener");
    assert_ne!(host.raw.listener_key(), listener.raw.listener_key());
    assert!(snap.listeners.contains_key(&listener.raw.listener_key()) && snap.listeners.contains_key(&host.raw.listener_key()));
    // The namespace's loopback is its own endpoint.
    let endpoint = EndpointKey::of("127.0.0.1".parse().expect("ip"), ns);
    assert!(snap.endpoints.contains_key(&endpoint), "endpoint {endpoint} in {:?}", snap.endpoints.keys().collect::<Vec<_>>());
    assert_eq!(client.endpoint(), endpoint);
    // Accepted socket: inbound to the namespace's listener, not the host's.
    let accepted = snap.sockets.iter().find(|s| s.raw.local.port() == port && s.raw.netns == ns && s.state() == SocketState::Established).expect("accepted");
    assert_eq!(accepted.listener(), Some(listener.raw.listener_key()));

    // Exports name the namespace: the listener's JSON row, and a finding a
    // rule makes on the namespace's client socket.
    let mut json = Vec::new();
    necromap::export::write_json(&snap, &mut json, false).expect("json");
    let doc: serde_json::Value = serde_json::from_slice(&json).expect("valid json");
    let row = doc["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .find(|l| l["port"].as_u64() == Some(u64::from(port)) && l["netns"].as_u64() == Some(u64::from(inode)));
    assert_eq!(row.and_then(|l| l["namespace"].as_str()), Some(info.name.as_str()), "the listener's row names its namespace");
    let mut rules = necromap::rules::RuleSet::empty();
    let pack = format!("version: 1\nrules:\n  - {{ id: ns_port, name: Port, severity: low, scope: connection, match: {{ remote_port_in: [{port}] }} }}\n");
    rules.add_text(&pack, "ns.yaml").expect("pack");
    let findings = necromap::rules::Engine::new(rules, necromap::rules::IocSet::new()).run(&snap, &necromap::model::History::default());
    let on_client = findings.iter().find(|f| f.id == format!("ns_port@{}", client.key())).expect("a finding on the namespace's client");
    assert_eq!(on_client.netns, ns, "the finding carries the socket's namespace");
    assert_eq!(snap.finding_namespace(on_client), Some((Some(inode), info.name.clone())));
    drop(child);
}
