//! The connect tracer on this host (root only): child processes make short
//! loopback connections and the tracer names them, thread and process;
//! afterwards nothing is left behind: no tracing instance, no mount.
//! Only 127.0.0.1 and `::1` are touched.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use necromap::collect::trace::{ConnectOutcome, ConnectRecord, ConnectTracer, FILTER, TraceOptions, UNKNOWN_COMM};
use rustix::fs::{AtFlags, Dir, Mode, OFlags, mkdirat, openat, statat};
use rustix::mount::{FsMountFlags, FsOpenFlags, MountAttrFlags};

/// One tracer at a time: the tests look at the shared instances directory.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    assert!(rustix::process::geteuid().is_root(), "connect tracing needs root (CI runs as root)");
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Our own detached view of tracefs, to check the tracer's work without
/// going through it.
fn tracefs() -> OwnedFd {
    let fs = rustix::mount::fsopen("tracefs", FsOpenFlags::FSOPEN_CLOEXEC).expect("fsopen tracefs");
    rustix::mount::fsconfig_create(&fs).expect("fsconfig");
    rustix::mount::fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, MountAttrFlags::empty()).expect("fsmount")
}

fn instances(root: &OwnedFd) -> Vec<String> {
    let dir = openat(root, "instances", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).expect("instances dir");
    Dir::read_from(&dir).expect("readdir").filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
}

/// The most tracefs mounts any thread of this process sees (each thread's
/// mountinfo, in case one of them had a namespace of its own).
fn tracefs_mounts_seen_by_our_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("task dir")
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("mountinfo")).ok())
        .map(|info| info.lines().filter(|l| l.split_once(" - ").is_some_and(|(_, r)| r.starts_with("tracefs "))).count())
        .max()
        .unwrap_or(0)
}

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" }
}

fn net_ns_of_self() -> u64 {
    statat(rustix::fs::CWD, "/proc/self/ns/net", AtFlags::empty()).expect("own netns").st_ino
}

/// Take records until `done` says enough, or the deadline.
fn collect_until(tracer: &ConnectTracer, limit: Duration, mut done: impl FnMut(&[ConnectRecord]) -> bool) -> Vec<ConnectRecord> {
    let deadline = Instant::now() + limit;
    let mut all = Vec::new();
    loop {
        all.extend(tracer.take().0);
        if done(&all) || Instant::now() > deadline {
            return all;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const CLIENT: &str = r#"
import socket, sys, threading, time
port, closed, port6 = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
open("/proc/self/comm", "w").write("nm-probe 7")
for _ in range(10):
    s = socket.create_connection(("127.0.0.1", port))
    print("ok", s.getsockname()[1], flush=True)
    s.close()
    time.sleep(0.1)
try:
    socket.create_connection(("127.0.0.1", closed))
except ConnectionRefusedError:
    print("refused", flush=True)
def worker():
    open("/proc/thread-self/comm", "w").write("wrk-[7] x")
    s = socket.create_connection(("::1", port6))
    print("thread", threading.get_native_id(), s.getsockname()[1], flush=True)
    s.close()
    # /proc forgets a thread the moment it exits; see the record-tgid test.
    time.sleep(0.3)
t = threading.Thread(target=worker)
t.start()
t.join()
"#;

#[test]
fn short_connects_name_their_process_thread_and_ports() {
    let _serial = serial();
    let view = tracefs();
    let mounts_before = tracefs_mounts_seen_by_our_threads();
    // Connects complete in the kernel's backlog; nothing needs accepting.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let listener6 = TcpListener::bind("[::1]:0").expect("bind ::1");
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let (port, port6) = (listener.local_addr().expect("addr").port(), listener6.local_addr().expect("addr").port());

    let tracer = ConnectTracer::start().expect("tracer starts as root");
    eprintln!("{}", tracer.describe());
    let name = tracer.instance_name().to_string();
    assert!(instances(&view).contains(&name), "instance {name} exists while running");
    // The kernel answers a filter read in one go only (a second read at an
    // offset gets nothing), so no read_to_string.
    let filter_fd =
        openat(&view, format!("instances/{name}/events/sock/inet_sock_set_state/filter"), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).expect("filter");
    let mut buf = [0u8; 4096];
    let n = rustix::io::read(&filter_fd, &mut buf[..]).expect("read filter");
    drop(filter_fd);
    let filter = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(filter.trim(), FILTER);
    assert_eq!(tracefs_mounts_seen_by_our_threads(), mounts_before, "no mount visible to any of our threads");

    let started_ms = necromap::collect::now_ms();
    let child = Command::new(python())
        .args(["-c", CLIENT, &port.to_string(), &closed.port().to_string(), &port6.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let child_pid = child.id();
    let mut child = scopeguard(child);
    let out: Vec<String> = BufReader::new(child.0.stdout.take().expect("stdout")).lines().map_while(Result::ok).collect();
    assert!(child.0.wait().expect("wait").success(), "client failed: {out:?}");
    let ok_ports: Vec<u16> = out.iter().filter_map(|l| l.strip_prefix("ok ")?.parse().ok()).collect();
    let thread_line: Vec<u32> = out.iter().find_map(|l| l.strip_prefix("thread ")).expect("thread line").split(' ').filter_map(|x| x.parse().ok()).collect();
    assert_eq!((ok_ports.len(), out.iter().filter(|l| *l == "refused").count(), thread_line.len()), (10, 1, 2), "{out:?}");

    let ours = collect_until(&tracer, Duration::from_secs(10), |all| all.iter().filter(|r| r.pid == child_pid).count() >= 12);
    let ours: Vec<&ConnectRecord> = ours.iter().filter(|r| r.pid == child_pid).collect();
    let (_, stats) = tracer.take();
    eprintln!("{stats:?}");
    for r in &ours {
        eprintln!("{r:?}");
    }
    let now = necromap::collect::now_ms();
    let to_listener: Vec<&&ConnectRecord> = ours.iter().filter(|r| r.remote == SocketAddr::from(([127, 0, 0, 1], port))).collect();
    assert_eq!(to_listener.len(), 10);
    let mut seen_ports: Vec<u16> = to_listener.iter().map(|r| r.local.port()).collect();
    let mut want_ports = ok_ports.clone();
    seen_ports.sort_unstable();
    want_ports.sort_unstable();
    assert_eq!(seen_ports, want_ports, "local ports as the client saw them");
    for r in &to_listener {
        assert_eq!((r.tid, r.comm.as_str(), r.outcome), (child_pid, "nm-probe 7", ConnectOutcome::Established));
        assert_eq!(r.local.ip(), r.remote.ip());
        assert!((started_ms - 5..=now).contains(&r.at_ms), "at_ms {} within the run", r.at_ms);
        assert_eq!(r.net_ns, Some(net_ns_of_self()));
    }
    let refused = ours.iter().find(|r| r.remote == closed).expect("the refused connect");
    assert_eq!((refused.outcome, refused.comm.as_str()), (ConnectOutcome::Failed, "nm-probe 7"));
    assert_ne!(refused.local.port(), 0, "the port shows on the line leaving SYN_SENT");
    let threaded = ours.iter().find(|r| r.remote.port() == port6).expect("the connect from a thread");
    assert_eq!((threaded.tid, threaded.pid, threaded.comm.as_str()), (thread_line[0], child_pid, "wrk-[7] x"));
    assert_eq!(threaded.local.port(), thread_line[1] as u16);
    assert!(threaded.remote.is_ipv6());
    assert!(stats.received >= 12);
    assert_eq!((stats.unparsed_lines, stats.dropped_queue_full, stats.kernel_lost), (0, 0, 0));

    drop(tracer);
    assert!(!instances(&view).contains(&name), "instance {name} removed on drop");
    assert_eq!(tracefs_mounts_seen_by_our_threads(), mounts_before, "no mount left");
}

/// Processes that connect and exit at once: the pid is right even when
/// /proc no longer has them; the name is whatever was still knowable.
#[test]
fn processes_that_exit_right_after_connect_keep_their_pid() {
    let _serial = serial();
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let tracer = ConnectTracer::start().expect("tracer starts as root");
    let mut pids = Vec::new();
    for _ in 0..20 {
        let script = "import socket,sys; open('/proc/self/comm','w').write('nm-quick'); socket.socket().connect_ex(('127.0.0.1', int(sys.argv[1])))";
        let mut child = Command::new(python()).args(["-c", script, &closed.port().to_string()]).spawn().expect("python3 runs");
        pids.push(child.id());
        assert!(child.wait().expect("wait").success());
    }
    let all = collect_until(&tracer, Duration::from_secs(10), |all| pids.iter().all(|p| all.iter().any(|r| r.pid == *p)));
    let ours: Vec<&ConnectRecord> = all.iter().filter(|r| r.remote == closed).collect();
    let named = ours.iter().filter(|r| r.comm == "nm-quick").count();
    let unknown = ours.iter().filter(|r| r.comm == UNKNOWN_COMM).count();
    eprintln!(
        "{} quick connects: {named} named from /proc or the trace cache, {unknown} {UNKNOWN_COMM}, others {:?}",
        ours.len(),
        ours.iter().map(|r| &r.comm).collect::<Vec<_>>()
    );
    for pid in &pids {
        let r = ours.iter().find(|r| r.pid == *pid).unwrap_or_else(|| panic!("no record for child {pid}"));
        assert_eq!((r.tid, r.outcome), (*pid, ConnectOutcome::Failed));
    }
}

/// The tracepoint is global: a connect in another network namespace shows
/// too, with that namespace's inode so it is not mistaken for ours.
#[test]
fn connects_in_another_network_namespace_carry_its_inode() {
    let _serial = serial();
    for tool in ["unshare", "ip"] {
        assert!(Command::new(tool).arg("-V").stdout(Stdio::null()).status().is_ok_and(|s| s.success()), "{tool} is needed");
    }
    let tracer = ConnectTracer::start().expect("tracer starts as root");
    // A fresh namespace has only a loopback, down; the listener keeps
    // python alive (and its /proc readable) until the test has the record.
    let script = format!(
        "ip link set lo up && exec {} -c 'import socket,time; l=socket.create_server((\"127.0.0.1\", 7357)); socket.create_connection((\"127.0.0.1\", 7357)).close(); time.sleep(2)'",
        python()
    );
    let child = Guard(Command::new("unshare").args(["-n", "sh", "-c", &script]).spawn().expect("unshare runs"));
    let pid = child.0.id();
    let all = collect_until(&tracer, Duration::from_secs(10), |all| all.iter().any(|r| r.pid == pid));
    let r = all.iter().find(|r| r.pid == pid).expect("the connect inside the namespace");
    eprintln!("{r:?}");
    assert_eq!(r.remote, SocketAddr::from(([127, 0, 0, 1], 7357)));
    assert_eq!(r.outcome, ConnectOutcome::Established);
    assert!(r.net_ns.is_some_and(|ns| ns != net_ns_of_self()), "{:?} is another namespace", r.net_ns);
}

const THREADS: &str = r#"
import socket, sys, threading, time
def worker():
    socket.socket().connect_ex(("127.0.0.1", int(sys.argv[1])))
for _ in range(5):
    t = threading.Thread(target=worker)
    t.start()
    t.join()
time.sleep(0.5)
"#;

/// Five threads that connect and exit at once, in a process that lives
/// on: their records and how many carry the process id.
fn short_lived_threads(options: TraceOptions) -> (u32, Vec<ConnectRecord>) {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let tracer = ConnectTracer::start_with(options).expect("tracer starts as root");
    let mut child = Guard(Command::new(python()).args(["-c", THREADS, &closed.port().to_string()]).spawn().expect("python3 runs"));
    let pid = child.0.id();
    assert!(child.0.wait().expect("wait").success());
    let all = collect_until(&tracer, Duration::from_secs(5), |all| all.iter().filter(|r| r.remote == closed).count() >= 5);
    (pid, all.into_iter().filter(|r| r.remote == closed).collect())
}

/// A thread is gone from /proc the moment it exits (a process stays, as a
/// zombie, until reaped): its connect is still recorded, named by its
/// process when the lookup (or, with `record-tgid`, the kernel's table)
/// was in time, else by its own thread id, never by another process. The
/// kernel fills the `record-tgid` table lazily, so it narrows the window
/// without closing it (seen: 1 of 5 threads by its id under load).
#[test]
fn threads_that_exit_at_once_are_recorded_by_their_process_or_their_own_id() {
    let _serial = serial();
    for options in [TraceOptions::default(), TraceOptions { record_tgid: true }] {
        let (pid, recorded) = short_lived_threads(options);
        assert_eq!(recorded.len(), 5, "every thread's connect is recorded ({options:?})");
        for r in &recorded {
            assert_ne!(r.tid, pid, "the threads, not the main thread: {r:?}");
            assert!(r.pid == pid || r.pid == r.tid, "named by its process or its own id, never another: {r:?}");
        }
        let right = recorded.iter().filter(|r| r.pid == pid).count();
        eprintln!("{options:?}: {right} of 5 short-lived threads attributed to their process");
    }
}

#[test]
fn drop_removes_the_instance_even_when_a_test_panics_midway() {
    let _serial = serial();
    let view = tracefs();
    let name = Mutex::new(String::new());
    let result = std::panic::catch_unwind(|| {
        let tracer = ConnectTracer::start().expect("tracer starts as root");
        *name.lock().unwrap_or_else(PoisonError::into_inner) = tracer.instance_name().to_string();
        panic!("a failing assertion midway");
    });
    assert!(result.is_err());
    let name = name.into_inner().unwrap_or_else(PoisonError::into_inner);
    assert!(name.starts_with("necromap-"), "{name}");
    assert!(!instances(&view).contains(&name), "{name} removed while unwinding");
}

#[test]
fn instances_left_by_a_killed_run_are_removed_at_start() {
    let _serial = serial();
    let view = tracefs();
    // pid_max itself is never a running pid.
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").expect("pid_max").trim().to_string();
    let stale = format!("necromap-{pid_max}-0");
    mkdirat(&view, format!("instances/{stale}").as_str(), Mode::from_raw_mode(0o755)).expect("make a stale instance");
    let tracer = ConnectTracer::start().expect("tracer starts as root");
    assert!(!instances(&view).contains(&stale), "stale instance removed");
    assert!(tracer.describe().contains("removed 1 stale"), "{}", tracer.describe());
}

/// Kills and reaps the child if the test fails before waiting for it.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scopeguard(child: std::process::Child) -> Guard {
    Guard(child)
}
