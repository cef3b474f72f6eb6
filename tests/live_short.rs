//! Connections shorter than a refresh (root): the kernel's destroy events
//! and the connect tracepoint count every one of them, name the process,
//! and feed the beacon and scan rules. Traffic stays on 127.0.0.0/8; every
//! child is killed on drop.

mod common;

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Watcher, about_pid, require, spawn_group};
use necromap::model::{OwnerSource, Pid};

fn assert_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test names the process behind millisecond connections through the connect tracepoint: run it as root (CI does)"
    );
}

fn python(script: &str) -> common::Reaped {
    require("python3");
    let mut c = Command::new("python3");
    c.args(["-c", script]);
    spawn_group(c)
}

/// Accept and answer on a listener the test owns until the process ends.
fn serve(listener: TcpListener) {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).unwrap_or(0);
            let _ = s.write_all(&buf[..n]);
        }
    });
}

#[test]
fn fifty_short_connections_within_five_seconds_are_all_counted_with_bytes_and_owner() {
    assert_root();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    serve(listener);
    let mut w = Watcher::new();
    w.snapshot();
    // Each connection sends i+1 bytes, reads the echo and closes: a few
    // milliseconds each, all within five seconds.
    let child = python(&format!(
        "import socket, time
for i in range(50):
    c = socket.create_connection(('127.0.0.1', {port}))
    c.sendall(b'x' * (i + 1)); c.recv(256); c.close()
    time.sleep(0.08)
time.sleep(60)"
    ));
    let pid = Pid(child.0.id());
    let mut sent: BTreeSet<u64> = BTreeSet::new();
    let mut owners: BTreeSet<Option<Pid>> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent.len() < 50 && Instant::now() < deadline {
        let snap = w.snapshot();
        for c in snap.closed.iter().filter(|c| c.socket.remote.port() == port && c.socket.local.ip().is_loopback()) {
            // bytes_acked counts the SYN and the FIN as one byte each.
            let bytes = c.socket.tcp.map_or(0, |t| t.bytes_acked.saturating_sub(2));
            assert!(c.established, "a completed connection: {c:?}");
            sent.insert(bytes);
            owners.insert(c.pid);
            assert_ne!(c.owner_source, OwnerSource::Unknown, "the owner is known: {c:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(sent.len(), 50, "every connection counted once with its own byte count (1..=50 bytes sent): {sent:?}");
    assert_eq!(sent.iter().copied().collect::<Vec<_>>(), (1..=50).collect::<Vec<u64>>());
    assert_eq!(owners, BTreeSet::from([Some(pid)]), "each one names the python client");
}

#[test]
fn a_millisecond_beacon_every_three_seconds_is_scored_and_names_its_process() {
    assert_root();
    require("ncat");
    // A relay on loopback (ncat keeps accepting): polling it is not a
    // health check of a local service, so the beacon rules judge it.
    let probe = TcpListener::bind("127.0.0.9:0").expect("bind");
    let port = probe.local_addr().expect("addr").port();
    drop(probe);
    let mut relay = Command::new("ncat");
    relay.args(["-lk", "127.0.0.9", &port.to_string()]);
    let _relay = spawn_group(relay);
    let mut w = Watcher::new();
    assert!(
        w.until(Duration::from_millis(100), Duration::from_secs(10), |s| s.listeners.keys().any(|l| l.port == port).then_some(())).is_some(),
        "relay listening"
    );
    let child = python(&format!(
        "import socket, time
for i in range(14):
    c = socket.create_connection(('127.0.0.9', {port}))
    c.sendall(b'beacon'); time.sleep(0.01); c.close()
    time.sleep(3)
time.sleep(60)"
    ));
    let pid = Pid(child.0.id());
    let started = Instant::now();
    let mut finding = None;
    let mut starts = 0usize;
    while started.elapsed() < Duration::from_secs(44) {
        let snap = w.snapshot();
        starts = w.starts_of(pid);
        if finding.is_none() {
            finding = snap.findings.iter().find(|f| f.tags.iter().any(|t| t == "beacon") && about_pid_or_series(f, &snap, pid)).cloned();
        }
        if finding.is_some() && starts >= 12 {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(starts >= 12, "at least 12 connection starts counted for pid {pid} (each lived ~10 ms): {starts}");
    let f = finding.expect("a beacon finding");
    assert!(f.trace.iter().any(|t| t.condition.contains("beacon_score")), "{:?}", f.trace);
}

/// A beacon finding is about an endpoint: it names the process through
/// the series it scored (the beacon item's pid) or a socket it holds.
fn about_pid_or_series(f: &necromap::model::Finding, snap: &necromap::model::Snapshot, pid: Pid) -> bool {
    about_pid(f, snap, pid) || f.trace.iter().any(|t| t.value.contains(&format!("pid {pid}")) || t.value.contains(&format!("({pid})")))
}

#[test]
fn two_hundred_refused_connects_draw_the_scan_finding_with_the_pid() {
    assert_root();
    // Closed ports of 127.0.0.7: refused at once.
    let child = python(
        "import socket, time
time.sleep(1)
for port in range(20000, 20200):
    s = socket.socket(); s.connect_ex(('127.0.0.7', port)); s.close()
    time.sleep(0.02)
time.sleep(60)",
    );
    let pid = Pid(child.0.id());
    let mut w = Watcher::new();
    let found = w.until(Duration::from_millis(500), Duration::from_secs(25), |snap| {
        snap.findings
            .iter()
            .find(|f| f.rule_id == "fanout_port_scan" && matches!(f.subject, necromap::model::Subject::Process { pid: p } if p == pid))
            .map(|f| (f.clone(), snap.process(pid).map(|p| p.facts.name.clone())))
    });
    let (f, name) = found.expect("fanout_port_scan about the scanning process within 25 s");
    assert_eq!(name.as_deref(), Some("python3"), "the snapshot has the scanner's facts though it holds no socket");
    assert!(common::trace_text(&f).contains("127.0.0.7"), "{}", common::trace_text(&f));
}
