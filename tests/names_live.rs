//! Names, live (root): a DNS responder of the test's own on loopback
//! answers a real query while passive capture reads the answer off a
//! packet socket; reverse lookups go to the same kind of responder; `-n`
//! sends nothing. Traffic stays on 127.0.0.0/8; each responder thread and
//! each `Names` stops when the test ends (on drop, also on panic).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use necromap::names::{NameOptions, NameSource, Names};

const DEADLINE: Duration = Duration::from_secs(10);

fn assert_root() {
    assert!(rustix::process::geteuid().is_root(), "passive DNS reads a packet socket, which needs root: run this test as root (CI does)");
}

/// A DNS responder on loopback: `c2.example.test A 127.0.0.77` (TTL 300),
/// `78.0.0.127.in-addr.arpa PTR ptr-name.example.test`, NXDOMAIN for the
/// rest. Keeps the names it was asked; stops on drop.
struct Responder {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    fn bind(addr: SocketAddr) -> std::io::Result<Responder> {
        let socket = UdpSocket::bind(addr)?;
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let addr = socket.local_addr()?;
        let asked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (asked2, stop2) = (Arc::clone(&asked), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
                let Ok(q) = Message::from_vec(&buf[..n]) else { continue };
                let Some(query) = q.queries.first().cloned() else { continue };
                asked2.lock().expect("lock").push(query.name.to_ascii());
                let mut r = Message::response(q.metadata.id, OpCode::Query);
                r.add_query(query.clone());
                let c2 = Name::from_str("c2.example.test.").expect("name");
                let ptr = Name::from_str("78.0.0.127.in-addr.arpa.").expect("name");
                match query.query_type {
                    RecordType::A if query.name == c2 => {
                        r.add_answer(Record::from_rdata(c2, 300, RData::A(A::new(127, 0, 0, 77))));
                    }
                    RecordType::PTR if query.name == ptr => {
                        r.add_answer(Record::from_rdata(ptr, 300, RData::PTR(PTR(Name::from_str("ptr-name.example.test.").expect("name")))));
                    }
                    _ => r.metadata.response_code = ResponseCode::NXDomain,
                }
                let _ = socket.send_to(&r.to_vec().expect("encode"), from);
            }
        });
        Ok(Responder { addr, asked, stop, thread: Some(thread) })
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("lock").clone()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Poll `f` until it gives `Some` or the deadline passes.
fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64
}

/// The inode of a socket of this process (`/proc/self/fd/N` → `socket:[inode]`).
fn socket_inode(fd: i32) -> u32 {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("fd link");
    let link = link.to_string_lossy();
    link.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse().ok()).expect("socket inode")
}

#[test]
fn passive_capture_names_the_address_and_the_asker() {
    assert_root();
    // The capture filter keeps answers from port 53 only, so this responder
    // needs port 53: on an address of its own in 127/8, clear of any
    // resolver on 127.0.0.53.
    let responder = (153..=170)
        .find_map(|last| Responder::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 53)).ok())
        .expect("no free 127.0.0.x:53 for the test responder");
    let names = Names::start(NameOptions { passive: true, reverse: false, hosts_file: None, ..NameOptions::default() });
    assert!(names.health()[0].starts_with("passive DNS: reading answers"), "{:?}", names.health());
    let since = now_ms();

    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    client.connect(responder.addr).expect("connect");
    client.set_read_timeout(Some(DEADLINE)).expect("timeout");
    let mut q = Message::new(0x5151, MessageType::Query, OpCode::Query);
    q.add_query(Query::query(Name::from_str("c2.example.test.").expect("name"), RecordType::A));
    client.send(&q.to_vec().expect("encode")).expect("send");
    let mut buf = [0u8; 1500];
    let n = client.recv(&mut buf).expect("the responder answers");
    assert_eq!(Message::from_vec(&buf[..n]).expect("answer").answers.len(), 1);

    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77));
    let record = poll("the captured answer", || names.lookup(ip, now_ms()));
    assert_eq!(record.names, vec!["c2.example.test".to_string()]);
    assert_eq!(record.source, NameSource::DnsAnswer);
    let inode = socket_inode(client.as_raw_fd());
    let asker = record.asker.expect("the asking socket is found by sock_diag while it is open");
    assert_eq!(asker.inode, inode, "the asker is the test's own UDP socket");
    assert_eq!(asker.uid, 0);
    assert!(asker.netns.is_some());

    let queries = names.queries_since(since);
    let mine: Vec<_> = queries.iter().filter(|q| q.qname == "c2.example.test").collect();
    assert_eq!(mine.len(), 1, "the loopback echo is counted once: {queries:?}");
    assert_eq!(mine[0].addrs, vec![ip]);
    assert_eq!(mine[0].client, client.local_addr().expect("local"));
    let stats = names.stats();
    assert!(stats.duplicates >= 1, "loopback shows the answer twice: {stats:?}");
    assert!(stats.asker_found >= 1);
    // 127.0.0.77 was only in the answer: nobody asked for it.
    assert_eq!(responder.asked(), vec!["c2.example.test.".to_string()]);
}

#[test]
fn reverse_lookups_name_unnamed_addresses_and_skip_private_ones() {
    let responder = Responder::bind("127.0.0.1:0".parse().expect("addr")).expect("responder");
    let options =
        NameOptions { passive: false, reverse: true, dns_server: Some(responder.addr), ptr_private: true, hosts_file: None, ..NameOptions::default() };
    let names = Names::start(options.clone());
    assert_eq!(names.health()[1], format!("reverse lookups: via {}, 0 sent, 0 answered, 0 negative, 0 dropped", responder.addr));
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 78));
    names.want(ip);
    names.want(ip);
    let record = poll("the PTR answer", || names.lookup(ip, now_ms()));
    assert_eq!(record.names, vec!["ptr-name.example.test".to_string()]);
    assert_eq!(record.source, NameSource::Ptr);
    assert_eq!(responder.asked(), vec!["78.0.0.127.in-addr.arpa.".to_string()], "the second want was de-duplicated");
    // The second want was queued (and the worker skipped it), or, when
    // the answer came back between the two calls, not queued at all
    // (a CI run on a busy host saw 1).
    let wanted = names.stats().ptr_wanted;
    assert!(wanted == 1 || wanted == 2, "{wanted} wants queued");
    // Named now: wanting it again queues nothing.
    names.want(ip);
    assert_eq!(names.stats().ptr_wanted, wanted);
    drop(names);

    // Without ptr_private, loopback is never asked about. The public
    // address after it is the barrier: requests are handled in order.
    let names = Names::start(NameOptions { ptr_private: false, ..options });
    names.want(IpAddr::V4(Ipv4Addr::LOCALHOST));
    names.want(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    poll("the NXDOMAIN for 192.0.2.1", || (names.stats().ptr_negative == 1).then_some(()));
    assert_eq!(responder.asked(), vec!["78.0.0.127.in-addr.arpa.".to_string(), "1.2.0.192.in-addr.arpa.".to_string()]);
    assert!(names.lookup(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), now_ms()).is_none());
    let stats = names.stats();
    assert_eq!((stats.ptr_wanted, stats.ptr_sent, stats.ptr_rejected), (1, 1, 0));
}

#[test]
fn names_off_sends_nothing_and_knows_nothing() {
    let responder = Responder::bind("127.0.0.1:0".parse().expect("addr")).expect("responder");
    let names = Names::off();
    names.want(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 78)));
    names.want(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(names.health(), vec!["names off (-n)".to_string()]);
    assert_eq!(names.stats(), necromap::names::NameStats::default());
    let answer = necromap::names::DnsAnswer {
        client: "127.0.0.1:4000".parse().expect("addr"),
        server: responder.addr,
        qname: "c2.example.test".into(),
        records: vec![necromap::names::AnswerRecord { name: "c2.example.test".into(), addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77)), ttl: 300 }],
        cnames: vec![],
        id: 1,
    };
    names.insert_answer(&answer, None, now_ms());
    assert!(names.lookup(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77)), now_ms()).is_none());
    assert!(names.queries_since(0).is_empty());
    assert!(responder.asked().is_empty());
}

#[test]
fn hosts_file_names_are_the_fallback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hosts");
    std::fs::write(&path, "127.0.0.90 box.test box\n").expect("write");
    let names = Names::start(NameOptions { passive: false, reverse: false, hosts_file: Some(path), ..NameOptions::default() });
    let r = names.lookup(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 90)), now_ms()).expect("hosts name");
    assert_eq!((r.names, r.source), (vec!["box.test".to_string(), "box".to_string()], NameSource::Hosts));
    assert_eq!(names.health(), vec!["names from /etc/hosts only (no DNS answers read, no reverse lookups)".to_string()]);
}

#[test]
fn the_asker_is_the_socket_that_asked_never_its_peer() {
    let server = UdpSocket::bind("127.0.0.1:0").expect("server");
    let client = UdpSocket::bind("127.0.0.1:0").expect("client");
    client.connect(server.local_addr().expect("addr")).expect("connect");
    let (local, remote) = (client.local_addr().expect("addr"), server.local_addr().expect("addr"));
    let mut diag = necromap::names::diag::DiagLookup::open().expect("sock_diag");
    let asker = diag.udp_socket(local, remote).expect("the open client socket is found");
    assert_eq!(asker.inode, socket_inode(client.as_raw_fd()));
    assert_ne!(asker.inode, socket_inode(server.as_raw_fd()));
    drop(client);
    // Gone: nothing is found, and above all not the server's socket.
    assert_eq!(diag.udp_socket(local, remote), None);
}

mod common;

use common::mcp::{BIN, Server, TOKEN, call_tool, start_command};

/// A responder on a free 127.0.0.x:53 (the capture keeps answers from port 53).
fn responder() -> Responder {
    (171..=200)
        .find_map(|last| Responder::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 53)).ok())
        .expect("no free 127.0.0.x:53 for the test responder")
}

/// `necromap --mcp --http` on the live host with these extra flags.
fn live_server(flags: &[&str]) -> Server {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["--mcp", "--http", "127.0.0.1:0", "--no-store", "--no-trace"]).args(flags).env("NECROMAP_MCP_TOKEN", TOKEN);
    start_command(cmd)
}

/// A child that asks `server` for `c2.example.test` (keeping its UDP socket
/// open), then connects to the address it got, on `port`, and holds it.
fn resolving_child(server: SocketAddr, port: u16) -> common::Reaped {
    common::require("python3");
    let script = r#"
import socket, struct, sys, time
server = (sys.argv[1], int(sys.argv[2]))
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"".join(bytes([len(l)]) + l for l in b"c2.example.test".split(b".")) + b"\0" + struct.pack(">HH", 1, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(server)
u.send(q)
a = u.recv(1500)
addr = socket.inet_ntoa(a[-4:])
t = socket.create_connection((addr, int(sys.argv[3])))
time.sleep(60)
"#;
    let mut c = std::process::Command::new("python3");
    c.args(["-c", script, &server.ip().to_string(), &server.port().to_string(), &port.to_string()]);
    common::spawn_group(c)
}

#[test]
fn a_name_a_process_asked_for_reaches_mcp_and_matches_a_domain_ioc() {
    assert_root();
    let responder = responder();
    let dir = tempfile::tempdir().expect("tmp");
    let ioc = dir.path().join("domains.txt");
    std::fs::write(&ioc, "# tag: ioc\nexample.test\n").expect("ioc");
    let server = live_server(&["--ioc", &ioc.display().to_string(), "--dns-server", &responder.addr.to_string(), "--resolve-private"]);
    let c2 = std::net::TcpListener::bind("127.0.0.77:0").expect("listen on 127.0.0.77");
    let port = c2.local_addr().expect("addr").port();
    // The PTR side: a connection to 127.0.0.78, which nothing resolved.
    let quiet = std::net::TcpListener::bind("127.0.0.78:0").expect("listen on 127.0.0.78");
    let _to_quiet = std::net::TcpStream::connect(quiet.local_addr().expect("addr")).expect("connect 127.0.0.78");
    let _child = resolving_child(responder.addr, port);
    let _accepted = c2.accept().expect("the child connects to the address it resolved");

    let body = poll("the connection listed with its name", || {
        call_tool(server.addr, "list_connections", r#"{"remote_name":"c2.example.test","limit":10}"#).ok().filter(|b| b.contains(&format!("127.0.0.77:{port}")))
    });
    assert!(body.contains("c2.example.test"), "{body}");
    let ip =
        poll("analyze_ip says dns-answer", || call_tool(server.addr, "analyze_ip", r#"{"ip_address":"127.0.0.77"}"#).ok().filter(|b| b.contains("dns-answer")));
    assert!(ip.contains("c2.example.test"), "{ip}");
    let flagged = poll("the domain IOC finding", || {
        call_tool(server.addr, "get_suspicious_connections", r#"{"min_severity":"low","limit":50}"#).ok().filter(|b| b.contains("ioc_name_outbound"))
    });
    assert!(flagged.contains("c2.example.test (127.0.0.77)"), "the trace names the name and the address: {flagged}");
    let ptr = poll("the PTR name of 127.0.0.78", || {
        call_tool(server.addr, "analyze_ip", r#"{"ip_address":"127.0.0.78"}"#).ok().filter(|b| b.contains("ptr-name.example.test"))
    });
    assert!(ptr.contains("\\\"name_source\\\":\\\"ptr\\\""), "{ptr}");
    assert!(responder.asked().iter().any(|q| q == "78.0.0.127.in-addr.arpa."), "{:?}", responder.asked());
}

#[test]
fn no_resolve_sends_no_query_and_shows_no_name() {
    assert_root();
    let responder = responder();
    let server = live_server(&["-n", "--dns-server", &responder.addr.to_string(), "--resolve-private"]);
    let quiet = std::net::TcpListener::bind("127.0.0.79:0").expect("listen on 127.0.0.79");
    let _to_quiet = std::net::TcpStream::connect(quiet.local_addr().expect("addr")).expect("connect");
    let generation =
        |b: &str| b.split("\\\"generation\\\":").nth(1).and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()).and_then(|g| g.parse::<u64>().ok());
    let first = poll("the connection listed", || {
        call_tool(server.addr, "list_connections", r#"{"remote_address":"127.0.0.79","limit":10}"#)
            .ok()
            .filter(|b| b.contains("127.0.0.79"))
            .and_then(|b| generation(&b))
    });
    // Three more refreshes with the connection in view.
    let body = poll("three more refreshes", || {
        call_tool(server.addr, "list_connections", r#"{"remote_address":"127.0.0.79","limit":10}"#)
            .ok()
            .filter(|b| generation(b).is_some_and(|g| g >= first + 3))
    });
    assert!(!body.contains("remote_name\\\":\\\""), "no name with -n: {body}");
    assert!(responder.asked().is_empty(), "-n sent queries: {:?}", responder.asked());
}
