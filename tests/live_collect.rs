//! The live collector on this host: sockets the test itself opens on
//! loopback are found with the right owner, ports, states and counters.
//! Only 127.0.0.1 and `::1` are touched; every socket is closed at the end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use necromap::collect::{LinuxSource, Source, SourceKind};
use necromap::model::{Direction, Pid, Protocol, Snapshot, SnapshotBuilder, Socket, SocketState};
use necromap::spec::Spec;

fn snapshot(source: &mut LinuxSource, builder: &mut SnapshotBuilder) -> Snapshot {
    let obs = source.collect().expect("collect");
    builder.build(obs, source.info(), None)
}

/// TCP and UDP ports are separate spaces: a UDP socket may share its local
/// address with a TCP socket (another test's `TIME_WAIT`, say), so the
/// protocol is part of what is looked for.
fn find(s: &Snapshot, protocol: Protocol, local: SocketAddr, remote: Option<SocketAddr>) -> Option<&Socket> {
    s.sockets.iter().find(|x| x.raw.key.protocol == protocol && x.raw.local == local && remote.is_none_or(|r| x.raw.remote == r))
}

#[test]
fn finds_loopback_listener_client_and_accepted_socket_with_owner_and_counters() {
    let me = Pid(std::process::id());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_addr = listener.local_addr().expect("addr");
    let mut client = TcpStream::connect(server_addr).expect("connect");
    let (mut accepted, _) = listener.accept().expect("accept");
    let client_addr = client.local_addr().expect("addr");
    let payload = vec![7u8; 100_000];
    client.write_all(&payload).expect("write");
    let mut got = vec![0u8; payload.len()];
    accepted.read_exact(&mut got).expect("read");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
    let udp_addr = udp.local_addr().expect("addr");

    let mut source = LinuxSource::open().expect("netlink sock_diag works on Linux, even unprivileged");
    assert_eq!(source.info().kind, SourceKind::Netlink);
    let mut builder = SnapshotBuilder::new(Arc::new(Spec::embedded()));

    // tcp_info's bytes_acked counts what the peer acknowledged: give the
    // loopback ACK a moment (bounded).
    let deadline = Instant::now() + Duration::from_secs(5);
    let snap = loop {
        let s = snapshot(&mut source, &mut builder);
        let acked = find(&s, Protocol::Tcp, client_addr, Some(server_addr)).and_then(|x| x.raw.tcp).map_or(0, |t| t.bytes_acked);
        if acked >= payload.len() as u64 || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let lst = snap.sockets.iter().find(|x| x.raw.local == server_addr && x.state() == SocketState::Listen).expect("listener found");
    assert_eq!(lst.raw.owners, vec![me]);
    assert_eq!(lst.direction, Direction::Listen);

    let cl = find(&snap, Protocol::Tcp, client_addr, Some(server_addr)).expect("client socket found");
    assert_eq!(cl.state(), SocketState::Established);
    assert_eq!(cl.raw.owners, vec![me]);
    assert_eq!(cl.direction, Direction::Outbound);
    let counters = cl.raw.tcp.expect("tcp_info present");
    assert!(counters.bytes_acked >= payload.len() as u64, "bytes_acked {}", counters.bytes_acked);

    let acc = find(&snap, Protocol::Tcp, server_addr, Some(client_addr)).expect("accepted socket found");
    assert_eq!(acc.direction, Direction::Inbound);
    assert_eq!(acc.raw.owners, vec![me]);
    assert!(acc.raw.tcp.expect("tcp_info").bytes_received >= payload.len() as u64);

    let us = find(&snap, Protocol::Udp, udp_addr, None).expect("udp socket found");
    assert_eq!(us.state(), SocketState::Unconn);
    assert_eq!(us.raw.owners, vec![me]);

    let proc = snap.process(me).expect("this test process is a socket owner");
    assert!(proc.socket_count >= 4);
    assert_eq!(proc.facts.uid, rustix::process::getuid().as_raw());
    assert!(proc.facts.exe.as_deref().is_some_and(|e| e.contains("live_collect")), "{:?}", proc.facts.exe);
    assert!(snap.listeners.values().any(|x| x.port == server_addr.port() && x.pid == Some(me.0)));

    // Closing the client: the socket leaves (or goes to TIME_WAIT without an owner).
    drop(client);
    drop(accepted);
    let s = snapshot(&mut source, &mut builder);
    let after = find(&s, Protocol::Tcp, client_addr, Some(server_addr));
    assert!(after.is_none_or(|x| x.state() != SocketState::Established), "closed client still ESTABLISHED");
    drop(udp);
    drop(listener);
}

#[test]
fn ipv6_loopback_sockets_are_found() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("note: ::1 is not configured on this host; IPv6 is covered by the parser tests only");
        return;
    };
    let addr = listener.local_addr().expect("addr");
    let client = TcpStream::connect(addr).expect("connect");
    let mut source = LinuxSource::open().expect("netlink");
    let mut builder = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let snap = snapshot(&mut source, &mut builder);
    let c = find(&snap, Protocol::Tcp, client.local_addr().expect("addr"), Some(addr)).expect("v6 client socket");
    assert_eq!(c.state(), SocketState::Established);
    assert_eq!(c.raw.owners, vec![Pid(std::process::id())]);
    assert!(c.raw.remote.is_ipv6());
}

#[test]
fn a_v4_mapped_peer_on_a_dual_stack_socket_is_reported_as_ipv4() {
    let Ok(listener) = TcpListener::bind("[::]:0") else { return };
    let port = listener.local_addr().expect("addr").port();
    let Ok(client) = TcpStream::connect(("127.0.0.1", port)) else {
        eprintln!("note: this host's IPv6 sockets are v6-only; mapping covered by the parser tests");
        return;
    };
    let (accepted, peer) = listener.accept().expect("accept");
    let mut source = LinuxSource::open().expect("netlink");
    let mut builder = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let snap = snapshot(&mut source, &mut builder);
    let client_addr = client.local_addr().expect("addr");
    let a = snap
        .sockets
        .iter()
        .find(|x| x.raw.key.protocol == Protocol::Tcp && x.raw.local.port() == port && x.raw.remote == client_addr)
        .expect("accepted socket, normalised");
    assert!(a.raw.local.is_ipv4(), "{} (the kernel reported {peer})", a.raw.local);
    drop(accepted);
}

/// Unprivileged runs show every socket and say why some have no owner. As
/// root, the child drops to `nobody` with setpriv; otherwise it already runs
/// unprivileged.
#[test]
fn unprivileged_runs_show_every_socket_and_explain_missing_owners() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let root = rustix::process::geteuid().is_root();
    let bin = env!("CARGO_BIN_EXE_necromap");
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", bin]);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd.args(["snapshot", "--format", "json"]).output().expect("run necromap");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["health"]["privileged"], false);
    assert_eq!(doc["source"]["kind"], "netlink");
    let ours = doc["sockets"]
        .as_array()
        .expect("sockets")
        .iter()
        .find(|s| s["local_port"] == port && s["state"] == "LISTEN")
        .cloned()
        .expect("the listener is visible");
    if root {
        // The listener belongs to root: nobody sees it, without an owner, and is told why.
        assert!(ours["pid"].is_null());
        assert!(doc["health"]["unowned"]["not_permitted"].as_u64().expect("count") >= 1);
        let messages = doc["health"]["messages"].to_string();
        assert!(messages.contains("run as root"), "{messages}");
    } else {
        assert_eq!(ours["pid"], std::process::id());
    }
    drop(listener);
}

/// The portable fallback (netstat2 + sysinfo), used when netlink is
/// refused, finds the same loopback sockets and owners, without counters.
#[test]
fn the_portable_fallback_finds_loopback_sockets_and_owners() {
    use necromap::collect::PortableSource;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = TcpStream::connect(addr).expect("connect");
    let mut source = PortableSource::new("test: forced fallback".into());
    assert_eq!(source.info().kind, SourceKind::Portable);
    let obs = source.collect().expect("netstat2 lists sockets");
    assert!(obs.health.iter().any(|m| m.text.contains("forced fallback")), "the reason is shown");
    let snap = SnapshotBuilder::new(Arc::new(Spec::embedded())).build(obs, source.info(), None);
    let me = Pid(std::process::id());
    let lst = snap.sockets.iter().find(|x| x.raw.local == addr && x.state() == SocketState::Listen).expect("listener");
    assert_eq!(lst.raw.owners, vec![me]);
    let cl = find(&snap, Protocol::Tcp, client.local_addr().expect("addr"), Some(addr)).expect("client");
    assert_eq!(cl.state(), SocketState::Established);
    assert_eq!(cl.direction, Direction::Outbound);
    assert!(cl.raw.tcp.is_none(), "no tcp_info through netstat2");
    assert_eq!(snap.process(me).map(|p| p.facts.pid), Some(me.0));
}
