//! Socket-destroy events on this host: short loopback connections the test
//! makes arrive through the [`EventPump`] once each, with their ports and
//! final byte counts; a refused connect is told apart from a completed one;
//! UDP closes arrive as UDP. Only 127.0.0.1 and `::1` are touched.
//!
//! Events are host-wide (every socket of this network namespace), so each
//! test picks out its own sockets by port. The tests run one at a time:
//! one of them counts the pump's threads.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use necromap::collect::netlink::{DestroyListener, EventPump};
use necromap::model::{DestroyedSocket, Protocol, SocketState};

mod common;

const CONNECTIONS: usize = 50;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The network namespace of this thread, as the id a collector would use.
fn netns() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net").map_or(0, |m| m.ino())
}

fn pump() -> EventPump {
    let pump = EventPump::start().expect("start the event thread");
    pump.add(netns(), DestroyListener::open().expect("joining the destroy groups works unprivileged"));
    pump
}

/// Take from the pump until `done` says the events gathered so far are
/// enough, or the deadline passes; returns everything gathered.
fn gather(pump: &EventPump, deadline: Duration, done: impl Fn(&[DestroyedSocket]) -> bool) -> Vec<DestroyedSocket> {
    let ns = netns();
    let until = Instant::now() + deadline;
    let mut seen = Vec::new();
    loop {
        let (events, stats) = pump.take();
        assert_eq!((stats.kernel_overruns, stats.dropped_queue_full), (0, 0), "{stats:?}");
        seen.extend(events.into_iter().map(|(id, e)| {
            assert_eq!(id, ns);
            e
        }));
        if done(&seen) || Instant::now() > until {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Serve `CONNECTIONS` clients: read each to its end, answer twice as many
/// bytes, close.
fn echo_twice(listener: TcpListener) -> std::thread::JoinHandle<Vec<SocketAddr>> {
    std::thread::spawn(move || {
        let mut peers = Vec::new();
        for _ in 0..CONNECTIONS {
            let (mut s, peer) = listener.accept().expect("accept");
            let mut got = Vec::new();
            s.read_to_end(&mut got).expect("read");
            s.write_all(&[b'y'; 512][..2 * got.len()]).expect("write");
            peers.push(peer);
        }
        peers
    })
}

#[test]
fn fifty_short_connections_arrive_once_each_with_ports_and_byte_counts() {
    let _serial = serial();
    let pump = pump();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = listener.local_addr().expect("addr");
    let serving = echo_twice(listener);

    // Client i sends i + 1 bytes and gets 2 (i + 1) back: every connection
    // has its own byte counts.
    let started = Instant::now();
    let mut sent_by_port = HashMap::new();
    for i in 0..CONNECTIONS {
        let mut c = TcpStream::connect(server).expect("connect");
        let sent = i + 1;
        c.write_all(&vec![b'x'; sent]).expect("write");
        c.shutdown(Shutdown::Write).expect("shutdown");
        let mut back = Vec::new();
        c.read_to_end(&mut back).expect("read");
        assert_eq!(back.len(), 2 * sent);
        sent_by_port.insert(c.local_addr().expect("addr").port(), sent as u64);
    }
    assert!(started.elapsed() < Duration::from_secs(5), "50 connections took {:?}", started.elapsed());
    let peers = serving.join().expect("server thread");
    assert_eq!(peers.len(), CONNECTIONS);

    let is_client = |e: &DestroyedSocket| e.remote == server && sent_by_port.contains_key(&e.local.port());
    let is_server = |e: &DestroyedSocket| e.local == server && peers.contains(&e.remote);
    let events = gather(&pump, Duration::from_secs(10), |seen| {
        seen.iter().filter(|e| is_client(e)).count() >= CONNECTIONS && seen.iter().filter(|e| is_server(e)).count() >= CONNECTIONS
    });

    let clients: Vec<_> = events.iter().filter(|e| is_client(e)).collect();
    assert_eq!(clients.len(), CONNECTIONS, "every client socket, once");
    for e in &clients {
        let sent = sent_by_port[&e.local.port()];
        let tcp = e.tcp.expect("tcp_info");
        assert_eq!(e.key.protocol, Protocol::Tcp);
        assert_eq!(e.state, SocketState::Close, "a TCP socket is freed in CLOSE");
        assert_eq!(e.remote.port(), server.port());
        // Our FIN is acknowledged, and the peer's FIN counts as a byte
        // received: each count is the payload plus at most one.
        assert!((sent..=sent + 2).contains(&tcp.bytes_acked), "{e:?}: sent {sent}");
        assert!((2 * sent..=2 * sent + 1).contains(&tcp.bytes_received), "{e:?}: received {}", 2 * sent);
        assert!(e.established(), "{e:?}");
        assert!(e.at_ms > 0);
    }
    let mut cookies: Vec<_> = clients.iter().map(|e| e.key).collect();
    cookies.sort();
    cookies.dedup();
    assert_eq!(cookies.len(), CONNECTIONS, "one cookie per socket");

    let servers: Vec<_> = events.iter().filter(|e| is_server(e)).collect();
    assert_eq!(servers.len(), CONNECTIONS, "every accepted socket, once");
    assert!(servers.iter().all(|e| e.established() && e.tcp.is_some_and(|t| t.bytes_received > 0)), "{servers:?}");
}

/// A TCP client bound to a known loopback port before it connects, so its
/// destroy event can be found even after the kernel reset its remote port.
fn refused_from_bound_port(closed_port: u16) -> SocketAddr {
    use rustix::net::{AddressFamily, SocketType, bind, connect, getsockname, ipproto, socket};
    let fd = socket(AddressFamily::INET, SocketType::STREAM, Some(ipproto::TCP)).expect("socket");
    bind(&fd, &SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
    let local = SocketAddr::try_from(getsockname(&fd).expect("getsockname")).expect("inet address");
    let refused = connect(&fd, &SocketAddr::from(([127, 0, 0, 1], closed_port)));
    assert_eq!(refused, Err(rustix::io::Errno::CONNREFUSED));
    local
}

#[test]
fn a_refused_connect_never_established_an_accepted_one_did() {
    let _serial = serial();
    let pump = pump();
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let refused = refused_from_bound_port(closed_port);

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (accepted, _) = listener.accept().expect("accept");
    let (client_addr, accepted_addr) = (client.local_addr().expect("addr"), accepted.local_addr().expect("addr"));
    drop(client);
    drop(accepted);

    let find = |seen: &[DestroyedSocket], local: SocketAddr| -> Option<DestroyedSocket> {
        seen.iter().find(|e| e.local == local && e.key.protocol == Protocol::Tcp).cloned()
    };
    let events = gather(&pump, Duration::from_secs(10), |seen| [refused, client_addr, accepted_addr].iter().all(|&a| find(seen, a).is_some()));
    let refused_event = find(&events, refused).expect("the refused socket's event");
    assert!(!refused_event.established(), "{refused_event:?}");
    // The kernel's disconnect after the RST forgot the remote port.
    assert_eq!(refused_event.remote.port(), 0, "{refused_event:?}");
    let client_event = find(&events, client_addr).expect("the client's event");
    assert!(client_event.established(), "{client_event:?}");
    assert_eq!(client_event.remote, accepted_addr);
    let accepted_event = find(&events, accepted_addr).expect("the accepted socket's event");
    assert!(accepted_event.established(), "{accepted_event:?}");
    assert_eq!(accepted_event.remote, client_addr);
}

#[test]
fn udp_closes_arrive_as_udp() {
    let _serial = serial();
    let pump = pump();
    let peer = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let connected = UdpSocket::bind("127.0.0.1:0").expect("bind");
    connected.connect(peer.local_addr().expect("addr")).expect("connect");
    connected.send(b"ping").expect("send");
    let mut buf = [0u8; 8];
    assert_eq!(peer.recv(&mut buf).expect("recv"), 4);
    let (connected_addr, peer_addr) = (connected.local_addr().expect("addr"), peer.local_addr().expect("addr"));
    drop(connected);
    drop(peer);
    // IPv6 loopback may be off in a container: then only IPv4 is checked.
    let v6 = UdpSocket::bind("[::1]:0").ok().map(|s| s.local_addr().expect("addr"));

    let find = |seen: &[DestroyedSocket], local: SocketAddr| seen.iter().find(|e| e.local == local && e.key.protocol == Protocol::Udp).cloned();
    let events = gather(&pump, Duration::from_secs(10), |seen| {
        find(seen, connected_addr).is_some() && find(seen, peer_addr).is_some() && v6.is_none_or(|a| find(seen, a).is_some())
    });
    let c = find(&events, connected_addr).expect("the connected socket's event");
    assert_eq!((c.state, c.remote, c.tcp), (SocketState::Udp, peer_addr, None));
    assert!(!c.established(), "UDP has no handshake");
    let p = find(&events, peer_addr).expect("the bound socket's event");
    assert_eq!(p.state, SocketState::Unconn);
    if let Some(a) = v6 {
        assert_eq!(find(&events, a).expect("the IPv6 socket's event").state, SocketState::Unconn);
    }
}

fn event_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("tasks")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == "necromap-events")
        .count()
}

/// Wait (bounded) for the count of pump threads to reach `n`: a new
/// thread names itself once it runs, not when `spawn` returns.
fn wait_for_event_threads(n: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let now = event_threads();
        if now == n || Instant::now() > until {
            return now;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_removed_namespace_stops_and_a_dropped_pump_leaves_no_thread() {
    let _serial = serial();
    let before = event_threads();
    let removed = pump();
    assert_eq!(wait_for_event_threads(before + 1), before + 1, "one named thread per pump");
    let control = pump();
    removed.remove(netns());
    // The removal is applied before the thread next polls; a second add
    // and remove round trip through the same queue makes sure of it.
    removed.add(1, DestroyListener::open().expect("open"));
    removed.remove(1);
    std::thread::sleep(Duration::from_millis(200));
    // Events of other sockets on this host may have come before removal.
    let (_, before_close) = removed.take();

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let client_addr = client.local_addr().expect("addr");
    drop(client);
    let seen = gather(&control, Duration::from_secs(10), |seen| seen.iter().any(|e| e.local == client_addr));
    assert!(seen.iter().any(|e| e.local == client_addr), "the control pump hears the close");
    let (events, stats) = removed.take();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(stats.received, before_close.received, "{stats:?}");

    drop(removed);
    drop(control);
    // A joined thread can stay listed in /proc/self/task for a moment
    // while the kernel finishes its exit: poll, bounded.
    assert_eq!(wait_for_event_threads(before), before, "dropping a pump joins its thread");
}

#[test]
fn an_overflowing_queue_is_counted_and_reading_carries_on() {
    let _serial = serial();
    // The smallest queue the kernel allows holds one event. Other processes'
    // sockets close into it too, so the test only counts its own.
    let mut listener = DestroyListener::with_queue(1).expect("open");
    let closes = 300;
    let mut ours = std::collections::HashSet::new();
    for _ in 0..closes {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        ours.insert(socket.local_addr().expect("addr"));
    }
    let mut events = Vec::new();
    // The kernel broadcasts from a workqueue: read every 100 ms (not at
    // each event, which could keep up) until it reports the overflow.
    let until = Instant::now() + Duration::from_secs(10);
    let mut overruns = 0;
    while overruns == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
        overruns += listener.recv_into(&mut events, None).expect("an overflow is not an error").overruns;
    }
    assert!(overruns >= 1, "{} events, no overrun reported", events.len());
    assert_eq!(listener.overruns(), overruns);
    let heard = events.iter().filter(|e| e.key.protocol == Protocol::Udp && ours.contains(&e.local)).count();
    assert!(heard < closes, "a one-event queue cannot have held {heard} of {closes}");

    // Once drained, the listener hears new events again. Other processes'
    // events may fill the one slot first: close fresh sockets until one of
    // ours gets through (bounded).
    let until = Instant::now() + Duration::from_secs(10);
    let mut markers = Vec::new();
    let mut later = Vec::new();
    let is_marker = |e: &DestroyedSocket, markers: &[SocketAddr]| e.key.protocol == Protocol::Udp && markers.contains(&e.local);
    while !later.iter().any(|e| is_marker(e, &markers)) && Instant::now() < until {
        while listener.recv_into(&mut later, None).expect("drain").events > 0 {}
        later.clear();
        let marker = UdpSocket::bind("127.0.0.1:0").expect("bind");
        markers.push(marker.local_addr().expect("addr"));
        drop(marker);
        listener.recv_into(&mut later, Some(Duration::from_millis(100))).expect("receive");
    }
    assert!(later.iter().any(|e| is_marker(e, &markers)), "the listener carries on after an overflow");
}

/// The network namespace of a process, when readable.
fn netns_of(pid: u32) -> Option<u64> {
    std::fs::metadata(format!("/proc/{pid}/ns/net")).ok().map(|m| m.ino())
}

#[test]
fn a_listener_hears_the_namespace_of_the_thread_that_opened_it() {
    let _serial = serial();
    assert!(rustix::process::geteuid().is_root(), "this test enters another network namespace: run it as root (CI does)");
    let host = netns();
    // A process alone in a new network namespace, for this thread to enter.
    let holder = common::Reaped(Command::new("unshare").args(["--net", "sleep", "60"]).stdin(Stdio::null()).spawn().expect("unshare(1) from util-linux"));
    let until = Instant::now() + Duration::from_secs(5);
    let inner = loop {
        match netns_of(holder.0.id()) {
            Some(ns) if ns != host => break ns,
            _ if Instant::now() > until => panic!("unshare --net did not enter a new namespace"),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let pump = pump();

    // On a thread of its own: enter the namespace, listen, close a socket
    // there. Its loopback is down, so the socket binds the wildcard address
    // and sends nothing.
    let path = format!("/proc/{}/ns/net", holder.0.id());
    let (listener, inner_socket) = std::thread::spawn(move || {
        let fd = std::fs::File::open(path).expect("open the namespace");
        rustix::thread::move_into_link_name_space(fd.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network)).expect("setns");
        assert_eq!(netns(), inner);
        let listener = DestroyListener::open().expect("open");
        let socket = UdpSocket::bind("0.0.0.0:0").expect("bind");
        let addr = socket.local_addr().expect("addr");
        drop(socket);
        (listener, addr)
    })
    .join()
    .expect("namespace thread");
    pump.add(inner, listener);
    let host_socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let host_addr = host_socket.local_addr().expect("addr");
    drop(host_socket);

    let until = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !(seen.iter().any(|(ns, e): &(u64, DestroyedSocket)| *ns == inner && e.local == inner_socket)
        && seen.iter().any(|(ns, e)| *ns == host && e.local == host_addr))
        && Instant::now() < until
    {
        seen.extend(pump.take().0);
        std::thread::sleep(Duration::from_millis(10));
    }
    let inner_events: Vec<_> = seen.iter().filter(|(ns, _)| *ns == inner).map(|(_, e)| e).collect();
    assert_eq!(inner_events.len(), 1, "only the socket closed in that namespace: {inner_events:?}");
    assert_eq!((inner_events[0].local, inner_events[0].key.protocol), (inner_socket, Protocol::Udp));
    assert!(seen.iter().any(|(ns, e)| *ns == host && e.local == host_addr), "the host listener hears the host");
}
