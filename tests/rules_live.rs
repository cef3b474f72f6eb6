//! Detection on real processes, on 127.0.0.0/8 only: each scenario starts
//! bounded children, collects live snapshots through the shipped packs, and
//! looks for the finding about those children. Every child is killed and
//! reaped by its guard.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use necromap::collect::{LinuxSource, Source};
use necromap::model::{Finding, Pid, Severity, Snapshot, SnapshotBuilder, Subject};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;

/// Kills and reaps a child when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    fn pid(&self) -> Pid {
        Pid(self.0.id())
    }
}

struct Watcher {
    source: LinuxSource,
    builder: SnapshotBuilder,
    engine: Engine,
}

impl Watcher {
    fn new() -> Self {
        Self {
            source: LinuxSource::open().expect("netlink"),
            builder: SnapshotBuilder::new(Arc::new(Spec::embedded())),
            engine: Engine::new(RuleSet::embedded(), IocSet::new()),
        }
    }

    fn snapshot(&mut self) -> Snapshot {
        let obs = self.source.collect().expect("collect");
        self.builder.build(obs, self.source.info(), Some(&mut self.engine))
    }

    /// Refresh every `every` until `found` returns a finding, for at most `limit`.
    fn until(&mut self, every: Duration, limit: Duration, mut found: impl FnMut(&Snapshot) -> Option<Finding>) -> Option<Finding> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let snap = self.snapshot();
            if let Some(f) = found(&snap) {
                return Some(f);
            }
            std::thread::sleep(every);
        }
        None
    }
}

fn about_pid(f: &Finding, snap: &Snapshot, pid: Pid) -> bool {
    match f.subject {
        Subject::Process { pid: p } => p == pid,
        Subject::Socket { pid: p, .. } => p == Some(pid),
        Subject::Endpoint { endpoint } => snap.sockets.iter().any(|s| s.raw.owners.contains(&pid) && s.raw.remote.ip() == endpoint.0),
    }
}

fn bash(script: &str, args: &[&str]) -> Reaped {
    Reaped(Command::new("bash").arg("-c").arg(script).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("bash"))
}

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
        Command::new(&copy)
            .args(["helper_listener", "--exact", "--nocapture", "--test-threads=1"])
            .env("NECROMAP_TEST_LISTEN", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
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
fn a_key_file_held_by_a_connected_process_is_seen() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join(".ssh").join("id_ed25519");
    std::fs::create_dir_all(key.parent().expect("parent")).expect("mkdir");
    std::fs::write(&key, "not a real key").expect("write");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let child = Reaped(connect_helper(listener.local_addr().expect("addr")).env("NECROMAP_TEST_OPEN", &key).spawn().expect("helper"));
    let (_peer, _) = listener.accept().expect("accept");
    let pid = child.pid();
    let mut w = Watcher::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut files = Vec::new();
    while Instant::now() < deadline && files.is_empty() {
        files = w.snapshot().process(pid).map(|p| p.facts.sensitive_files.clone()).unwrap_or_default();
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(files, vec![key.display().to_string()]);
    // The rule wants a public remote, which a test may not touch: its own
    // fixture in rules_packs covers the match.
}

#[test]
fn a_loop_connecting_every_second_is_a_beacon() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    // Ten connections about a second apart, each held 0.4 s, with jitter.
    let child = bash(
        &format!("for i in 1 2 3 4 5 6 7 8 9 10; do exec 3<>/dev/tcp/127.0.0.1/{port}; sleep 0.4; exec 3>&-; sleep 0.$((50 + RANDOM % 20)); done; sleep 5"),
        &[],
    );
    let pid = child.pid();
    let mut w = Watcher::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found = None;
    let mut held = Vec::new();
    while Instant::now() < deadline && found.is_none() {
        while let Ok((mut c, _)) = listener.accept() {
            let _ = c.write_all(b"ok");
            held.push(c);
        }
        let snap = w.snapshot();
        found = snap
            .findings
            .iter()
            .find(|f| f.rule_id.starts_with("beaconing") && matches!(f.subject, Subject::Endpoint { endpoint } if endpoint.0.is_loopback()))
            .cloned();
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(child);
    let f = found.expect("beacon found");
    assert!(f.trace.iter().any(|t| t.condition.starts_with("beacon_score_gte")), "{:?}", f.trace);
    let _ = pid;
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
