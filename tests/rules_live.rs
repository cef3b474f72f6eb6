//! Detection on real processes, on 127.0.0.0/8 only: each scenario starts
//! bounded children, collects live snapshots through the shipped packs, and
//! looks for the finding about those children. Every child is killed and
//! reaped by its guard.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Reaped, Watcher, about_pid, bash, spawn_when_not_busy};
use necromap::model::{Finding, Pid, Severity, Subject};

#[test]
fn a_bash_on_a_tcp_socket_is_a_critical_reverse_shell() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let stream = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (_peer, _) = listener.accept().expect("accept");
    let fd: OwnedFd = stream.into();
    let out: OwnedFd = fd.try_clone().expect("dup");
    let child =
        Reaped(Command::new("bash").arg("-c").arg("sleep 20").stdin(Stdio::from(fd)).stdout(Stdio::from(out)).stderr(Stdio::null()).spawn().expect("bash"));
    let pid = child.pid();
    let mut w = Watcher::new();
    let f = w.until(Duration::from_millis(200), Duration::from_secs(10), |s| {
        s.findings.iter().find(|f| f.rule_id == "reverse_shell_stdio" && about_pid(f, s, pid)).cloned()
    });
    let f = f.expect("reverse shell found");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.trace.iter().any(|t| t.value.contains("fd 0 → socket")), "{:?}", f.trace);
}

#[test]
fn a_stratum_command_line_connected_to_a_listener_is_a_miner() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let child = bash(&format!("exec 3<>/dev/tcp/127.0.0.1/{port}; sleep 20; true"), &["miner", "--url", "stratum+tcp://pool.example:3333"]);
    let (_peer, _) = listener.accept().expect("accept");
    let pid = child.pid();
    let mut w = Watcher::new();
    let f = w.until(Duration::from_millis(200), Duration::from_secs(10), |s| {
        s.findings.iter().find(|f| f.rule_id.starts_with("crypto_miner") && about_pid(f, s, pid)).cloned()
    });
    let f = f.expect("miner found");
    assert!(f.severity >= Severity::High, "{f:?}");
}

/// Not a test of its own: when `NECROMAP_TEST_LISTEN` is set, this binary
/// (copied under /tmp by the test below) listens on 127.0.0.1 for a while.
#[test]
fn helper_listener() {
    if std::env::var_os("NECROMAP_TEST_LISTEN").is_none() {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    println!("listening {}", l.local_addr().expect("addr"));
    std::thread::sleep(Duration::from_secs(20));
}

#[test]
fn a_listener_run_from_tmp_is_flagged_high() {
    let dir = tempfile::Builder::new().prefix("necromap-test-").tempdir_in("/tmp").expect("tmp");
    let copy = dir.path().join("kx");
    std::fs::copy(std::env::current_exe().expect("self"), &copy).expect("copy");
    let child = Reaped(
        spawn_when_not_busy(
            Command::new(&copy)
                .args(["helper_listener", "--exact", "--nocapture", "--test-threads=1"])
                .env("NECROMAP_TEST_LISTEN", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("run copy"),
    );
    let pid = child.pid();
    let mut w = Watcher::new();
    let f = w.until(Duration::from_millis(200), Duration::from_secs(15), |s| {
        s.findings.iter().find(|f| f.rule_id == "listener_odd_path" && about_pid(f, s, pid)).cloned()
    });
    let f = f.expect("odd listener found");
    assert_eq!(f.severity, Severity::High);
    assert!(f.trace.iter().any(|t| t.value.contains("/tmp/necromap-test-")), "{:?}", f.trace);
}

/// Not a test of its own: when `NECROMAP_TEST_CONNECT` is set, this binary
/// opens `NECROMAP_TEST_OPEN` (if set), connects to the address and waits.
#[test]
fn helper_connect() {
    let Some(addr) = std::env::var_os("NECROMAP_TEST_CONNECT") else { return };
    let _file = std::env::var_os("NECROMAP_TEST_OPEN").map(|p| std::fs::File::open(p).expect("open"));
    let _s = TcpStream::connect(addr.to_str().expect("addr")).expect("connect");
    std::thread::sleep(Duration::from_secs(20));
}

/// Run `helper_connect` of this test binary towards `addr`.
fn connect_helper(addr: std::net::SocketAddr) -> Command {
    let mut c = Command::new(std::env::current_exe().expect("self"));
    c.args(["helper_connect", "--exact", "--nocapture", "--test-threads=1"])
        .env("NECROMAP_TEST_CONNECT", addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn a_reverse_shell_line_on_the_parent_is_found_on_the_child() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let exe = std::env::current_exe().expect("self");
    // The parent's command line carries the one-liner; the child (this test
    // binary) holds the socket. `: …` keeps bash from exec'ing the child.
    let script = format!("'{}' helper_connect --exact --test-threads=1 >/dev/null 2>&1; : /dev/tcp/{}/{}", exe.display(), addr.ip(), addr.port());
    let parent = Reaped(Command::new("bash").arg("-c").arg(script).env("NECROMAP_TEST_CONNECT", addr.to_string()).stdin(Stdio::null()).spawn().expect("bash"));
    let (_peer, _) = listener.accept().expect("accept");
    let parent_pid = parent.pid();
    let mut w = Watcher::new();
    let f = w.until(Duration::from_millis(200), Duration::from_secs(10), |s| {
        s.findings
            .iter()
            .find(|f| {
                f.rule_id == "reverse_shell_cmdline"
                    && matches!(f.subject, Subject::Process { pid } if s.process(pid).is_some_and(|p| p.facts.ppid == parent_pid.0))
            })
            .cloned()
    });
    let f = f.expect("reverse-shell line on the parent found");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.trace.iter().any(|t| t.condition == "parent_cmdline_regex_any" && t.value.contains("/dev/tcp/")), "{:?}", f.trace);
}

#[test]
fn a_key_file_sent_over_a_loopback_connection_is_medium() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join(".ssh").join("id_rsa");
    std::fs::create_dir_all(key.parent().expect("parent")).expect("mkdir");
    std::fs::write(&key, "not a real key").expect("write");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let child = Reaped(connect_helper(listener.local_addr().expect("addr")).env("NECROMAP_TEST_OPEN", &key).spawn().expect("helper"));
    let (_peer, _) = listener.accept().expect("accept");
    let pid = child.pid();
    let mut w = Watcher::new();
    let f = w.until(Duration::from_millis(200), Duration::from_secs(10), |s| {
        s.findings.iter().find(|f| f.rule_id.starts_with("sensitive_file") && about_pid(f, s, pid)).cloned()
    });
    let f = f.expect("the key next to a loopback connection is flagged");
    // A local proxy or tunnel is one hop from anywhere: medium, not silence;
    // a public peer would make it high (rules_packs covers that).
    assert_eq!((f.rule_id.as_str(), f.severity), ("sensitive_file_local_peer", Severity::Medium));
    assert!(common::trace_text(&f).contains(&key.display().to_string()), "{:?}", f.trace);
}

/// A loop that connects to `addr` about once a second, ten times, holding
/// each connection 0.4 s (long enough for a poll to see it).
fn poll_loop(addr: std::net::SocketAddr) -> Reaped {
    let (ip, port) = (addr.ip(), addr.port());
    bash(&format!("for i in 1 2 3 4 5 6 7 8 9 10; do exec 3<>/dev/tcp/{ip}/{port}; sleep 0.4; exec 3>&-; sleep 0.$((50 + RANDOM % 20)); done; sleep 5"), &[])
}

/// Refresh until a finding of one of `rules` about the endpoint `ip` turns
/// up, accepting (and holding) connections on `listener` meanwhile. Each
/// test polls its own loopback address: findings about an endpoint are
/// keyed by address, and tests run side by side.
fn watch_polling(listener: &TcpListener, ip: std::net::IpAddr, rules: &[&str]) -> Option<Finding> {
    listener.set_nonblocking(true).expect("nonblocking");
    let mut w = Watcher::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut held = Vec::new();
    while Instant::now() < deadline {
        while let Ok((mut c, _)) = listener.accept() {
            let _ = c.write_all(b"ok");
            held.push(c);
        }
        let snap = w.snapshot();
        let found = snap
            .findings
            .iter()
            .find(|f| rules.contains(&f.rule_id.as_str()) && matches!(f.subject, Subject::Endpoint { endpoint } if endpoint.ip == ip))
            .cloned();
        if found.is_some() {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

#[test]
fn a_loop_polling_a_local_service_is_a_health_check_at_most_low() {
    // The listener is this test process: an ordinary local service.
    let listener = TcpListener::bind("127.0.0.5:0").expect("bind 127.0.0.5");
    let addr = listener.local_addr().expect("addr");
    let child = poll_loop(addr);
    let f = watch_polling(&listener, addr.ip(), &["local_service_polling", "beaconing", "beaconing_strong"]);
    drop(child);
    let f = f.expect("the polling rhythm is found");
    assert_eq!(f.rule_id, "local_service_polling", "{f:?}");
    assert_eq!(f.severity, Severity::Low);
    assert!(f.trace.iter().any(|t| t.condition.starts_with("beacon_score_gte")), "{:?}", f.trace);
    assert!(f.trace.iter().any(|t| t.value.contains("is a listener of")), "{:?}", f.trace);
}

#[test]
fn a_loop_polling_a_local_relay_is_a_beacon() {
    common::require("socat");
    // socat listens on loopback and relays to a second port: a tunnel's
    // entrance, which beacons use (ssh -L, chisel, socat).
    let upstream = TcpListener::bind("127.0.0.1:0").expect("bind");
    let relay_port = TcpListener::bind("127.0.0.6:0").expect("bind 127.0.0.6").local_addr().expect("addr").port();
    let mut c = Command::new("socat");
    c.arg(format!("TCP-LISTEN:{relay_port},bind=127.0.0.6,reuseaddr,fork")).arg(format!("TCP:127.0.0.1:{}", upstream.local_addr().expect("addr").port()));
    let relay_process = common::spawn_group(c);
    let mut w = Watcher::new();
    let listening =
        w.until(Duration::from_millis(100), Duration::from_secs(10), |s| s.listeners.values().any(|l| l.port == relay_port && l.pid.is_some()).then_some(()));
    assert!(listening.is_some(), "socat listens on {relay_port}");
    let relay: std::net::SocketAddr = ([127, 0, 0, 6], relay_port).into();
    let child = poll_loop(relay);
    let f = watch_polling(&upstream, relay.ip(), &["beaconing", "beaconing_strong"]);
    drop(child);
    drop(relay_process);
    let f = f.expect("beacon found");
    assert!(f.severity >= Severity::Medium, "{f:?}");
    assert!(f.trace.iter().any(|t| t.condition.starts_with("beacon_score_gte")), "{:?}", f.trace);
}

#[test]
fn one_process_touching_twenty_ports_is_a_fan_out() {
    let listeners: Vec<TcpListener> = (0..20).map(|_| TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2")).collect();
    let ports: Vec<String> = listeners.iter().map(|l| l.local_addr().expect("addr").port().to_string()).collect();
    let child = bash(&format!("for p in {}; do exec {{fd}}<>/dev/tcp/127.0.0.2/$p; done; sleep 20", ports.join(" ")), &[]);
    let pid = child.pid();
    let mut w = Watcher::new();
    let f = w.until(Duration::from_millis(200), Duration::from_secs(10), |s| {
        s.findings.iter().find(|f| f.rule_id == "fanout_port_scan" && about_pid(f, s, pid)).cloned()
    });
    let f = f.expect("fan-out found");
    assert!(f.trace.iter().any(|t| t.value.contains("ports on 127.0.0.2")), "{:?}", f.trace);
    drop(listeners);
}

#[test]
fn an_ordinary_local_web_server_and_client_raise_nothing_serious() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        listener.set_nonblocking(false).expect("blocking");
        for _ in 0..3 {
            let Ok((mut c, _)) = listener.accept() else { return };
            let mut buf = [0u8; 1024];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok");
            std::thread::sleep(Duration::from_millis(800));
        }
    });
    let mut w = Watcher::new();
    let clients: Vec<Reaped> = (0..3)
        .map(|_| {
            Reaped(
                Command::new("curl")
                    .args(["-s", "--max-time", "5", "-o", "/dev/null", &format!("http://127.0.0.1:{port}/")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("curl"),
            )
        })
        .collect();
    let pids: Vec<Pid> = clients.iter().map(Reaped::pid).chain([Pid(std::process::id())]).collect();
    let mut seen_client = false;
    for _ in 0..10 {
        let snap = w.snapshot();
        seen_client |= snap.sockets.iter().any(|s| s.raw.remote.port() == port && s.raw.owners.iter().any(|p| pids.contains(p)));
        // The server is this test process: when the checkout lives under
        // /tmp (as a fresh clone may), its listener is rightly flagged for
        // where it runs from, which is not about the web exchange.
        let me = Pid(std::process::id());
        let from_tmp = std::env::current_exe().is_ok_and(|e| ["/tmp", "/var/tmp", "/dev/shm"].iter().any(|p| e.starts_with(p)));
        let serious: Vec<&Finding> = snap
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Medium && pids.iter().any(|p| about_pid(f, &snap, *p)))
            .filter(|f| !(from_tmp && f.rule_id == "listener_odd_path" && about_pid(f, &snap, me)))
            .collect();
        assert!(serious.is_empty(), "findings on an ordinary web exchange: {serious:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(clients);
    let _ = server.join();
    assert!(seen_client, "the client's socket was observed");
}
